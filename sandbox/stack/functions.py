"""The template's functions run in this process, as the dev stack hosts them (one warm container
each), and the cold start that makes a new stack import the layer afresh."""

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from sandbox.stack.lambda_runtime import LambdaContext, load_handler
from sandbox.stack.logstream import HandlerLogWriter, LogStream, running_function
from sandbox.stack.template import DEFAULT_STACK_NAME, Template


class FunctionHost:
    """Runs the template's functions in this process.

    One warm "container" per function: invocations of one function are serialised (handlers
    build their clients lazily once per container and need not be thread-safe), different
    functions run in parallel, as they would in Lambda. Handlers load on first use, so a
    function whose code is missing fails its own invocations only.
    """

    def __init__(
        self, template: Template, stream: LogStream, *, stack_name: str = DEFAULT_STACK_NAME
    ) -> None:
        self._template = template
        self._stream = stream
        self._stack_name = stack_name
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self._locks = {logical_id: threading.Lock() for logical_id in template.function_ids()}
        self._log_writer = HandlerLogWriter(stream)

    def short_name(self, logical_id: str) -> str:
        """The function's folder name (ghl_webhook, sync_worker...): what the log prefix shows."""
        return self._template.function(logical_id).code_dir.name

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        spec = self._template.function(logical_id)
        context = LambdaContext(
            function_name=f"{self._stack_name}-{logical_id}",
            memory_limit_in_mb=spec.memory_size,
            timeout_seconds=spec.timeout,
            log_group_name=f"/aws/lambda/{self._stack_name}-{logical_id}",
        )
        with self._locks[logical_id], running_function(spec.code_dir.name):
            handler = self._handlers.get(logical_id)
            if handler is None:
                handler = load_handler(spec.code_dir, spec.handler)
                self._handlers[logical_id] = handler
                self._capture_powertools_logs()
            self._forget_previous_correlation_id()
            return handler(event, context)

    @staticmethod
    def _forget_previous_correlation_id() -> None:
        """In Lambda each function has its own process and Logger; here they share one, so the
        correlation id one function set would otherwise label the next function's lines."""
        observability = sys.modules.get("ghlsync.observability")
        if observability is not None:
            observability.logger.remove_keys(["correlation_id"])

    def _capture_powertools_logs(self) -> None:
        service = os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
        for handler in logging.getLogger(service).handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is not self._log_writer:
                handler.setStream(self._log_writer)


# Modules that make up "the container": the layer, the loaded functions, and the dry-run wrapper
# (it subclasses nothing but checks the layer's classes with isinstance).
_CONTAINER_MODULES = ("ghlsync", "_lambda_", "sandbox.stack.dryrun")


def _is_container_module(name: str) -> bool:
    return name.startswith(_CONTAINER_MODULES)


def cold_start() -> Callable[[], None]:
    """Make the next handler import the layer afresh, under the current environment: a new container.

    The layer builds per-container objects at import and on first use (Logger and Metrics read
    POWERTOOLS_* when created, clients are `functools.cache`d); in a process that imported it
    earlier under another environment (a test run, or a stack running next to a hand invocation)
    those would be wrong. The modules present before are set aside and put back by the returned
    function, so code outside keeps the objects it already holds.
    """
    saved = {name: module for name, module in sys.modules.items() if _is_container_module(name)}
    for name in saved:
        del sys.modules[name]

    def restore() -> None:
        for name in [name for name in sys.modules if _is_container_module(name)]:
            del sys.modules[name]
        sys.modules.update(saved)

    return restore
