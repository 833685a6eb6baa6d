"""One readable log stream for the whole local stack.

Every component writes `HH:MM:SS.mmm [component] message` lines through one lock, so the gateway,
the poller, the schedules, the sandboxes and the handlers' own Powertools logs interleave cleanly.
Powertools emits one JSON object per record; `HandlerLogWriter` turns each into
`[<function>] LEVEL message key=value ...`, naming the function that is running in that thread.
"""

import contextvars
import io
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TextIO

# The function whose handler runs in the current thread ("" outside handlers).
current_function: contextvars.ContextVar[str] = contextvars.ContextVar("current_function", default="")

# Powertools keys that say nothing a reader of the local stream needs.
_POWERTOOLS_NOISE = frozenset(
    {"level", "message", "timestamp", "service", "location", "xray_trace_id", "sampling_rate"}
    | {"cold_start", "function_name", "function_memory_size", "function_arn", "function_request_id"}
)


class LogStream:
    """Thread-safe line writer with a component prefix."""

    def __init__(self, out: TextIO | None = None, clock: Callable[[], float] = time.time) -> None:
        self._out = out if out is not None else sys.stderr
        self._clock = clock
        self._lock = threading.Lock()

    def emit(self, component: str, message: str) -> None:
        stamp = datetime.fromtimestamp(self._clock()).strftime("%H:%M:%S.%f")[:-3]
        lines = message.rstrip("\n").splitlines() or [""]
        with self._lock:
            for line in lines:
                self._out.write(f"{stamp} [{component}] {line}\n")
            self._out.flush()

    def component(self, name: str) -> Callable[[str], None]:
        """A `log(message)` callable bound to one component name."""
        return lambda message: self.emit(name, message)


@contextmanager
def running_function(name: str) -> Iterator[None]:
    """Attribute the handler logs written inside this block to `name`."""
    token = current_function.set(name)
    try:
        yield
    finally:
        current_function.reset(token)


class HandlerLogWriter:
    """A file-like sink for Powertools' StreamHandler that re-renders its JSON records."""

    def __init__(self, stream: LogStream) -> None:
        self._stream = stream
        self._pending = threading.local()

    def write(self, text: str) -> int:
        buffered: str = getattr(self._pending, "text", "") + text
        *complete, rest = buffered.split("\n")
        self._pending.text = rest
        for line in complete:
            if line.strip():
                self._stream.emit(current_function.get() or "handler", render_record(line))
        return len(text)

    def flush(self) -> None:
        """Lines are emitted as soon as they are complete; nothing is held back."""


class StdoutRouter(io.TextIOBase):
    """A sys.stdout that sends what handlers print (EMF metrics, stray prints) to the stream.

    Powertools prints metrics straight to stdout (single_metric ignores POWERTOOLS_METRICS_DISABLED);
    inside a handler's thread those lines become readable `[function] metric ...` lines, anything
    printed elsewhere goes to the real stdout untouched.
    """

    def __init__(self, stream: LogStream, fallback: TextIO) -> None:
        self._handlers = HandlerLogWriter(stream)
        self._fallback = fallback

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if current_function.get():
            return self._handlers.write(text)
        return self._fallback.write(text)

    def flush(self) -> None:
        self._fallback.flush()


def render_record(line: str) -> str:
    """`INFO message key=value ...` from a Powertools JSON line; any other text as it is."""
    try:
        record: Any = json.loads(line)
    except ValueError:
        return line
    if isinstance(record, dict) and "_aws" in record:
        return _render_metrics(record)
    if not isinstance(record, dict) or "message" not in record:
        return line
    extras = " ".join(
        f"{key}={_compact(value)}" for key, value in record.items() if key not in _POWERTOOLS_NOISE
    )
    text = f"{record.get('level', 'INFO')} {_compact(record['message'])}"
    return f"{text} {extras}" if extras else text


def _render_metrics(record: dict[str, Any]) -> str:
    """`metric name=value ... key=dimension ...` from one CloudWatch EMF blob."""
    names = [m["Name"] for d in record["_aws"].get("CloudWatchMetrics", []) for m in d.get("Metrics", [])]
    values = " ".join(f"{name}={_compact(_single(record.get(name)))}" for name in names)
    context = " ".join(
        f"{key}={_compact(value)}" for key, value in record.items() if key not in {"_aws", "service", *names}
    )
    return f"metric {values} {context}".rstrip()


def _single(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)
