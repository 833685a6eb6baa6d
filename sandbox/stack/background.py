"""One daemon thread running a loop until it is told to stop (the poller's and the schedules')."""

import threading
from collections.abc import Callable


class BackgroundLoop:
    """`run(stopping)` runs on its own thread from start() until stop(); it should return soon
    after `stopping` is set (wait on it instead of sleeping)."""

    def __init__(self, name: str, run: Callable[[threading.Event], None]) -> None:
        self.name = name
        self._run = run
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.stopping.clear()
        self._thread = threading.Thread(target=self._run, args=(self.stopping,), name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
