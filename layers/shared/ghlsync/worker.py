"""The sync worker: one SQS FIFO batch of ChangeEvents through the engine, failures mapped to SQS.

Per record:
- an Outcome: the record succeeds (SQS deletes it);
- PermanentSyncError: dead-lettered at once with its reason; the record succeeds;
- TransientSyncError (or any unexpected error): the record fails and stays on the queue, invisible
  for a full-jitter exponential backoff (or the error's `retry_after`, if longer). On the last
  allowed attempt (ApproximateReceiveCount >= max_receive_count) the worker dead-letters it itself,
  reason attached, and the record succeeds: SQS's own redrive policy (same count) would move it
  without any reason. That policy stays as the safety net.

FIFO order: once a record fails, the later records of its message group in the same batch fail too
without being tried (Powertools SqsFifoPartialProcessor, skip_group_on_error=True); other groups
go on. Those skipped records use up receives as well; one whose receives are spent is dead-lettered
with kind `blocked` rather than left for SQS to move silently.
"""

import math
import random
from collections.abc import Callable
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import SQSFifoMessageGroupCircuitBreakerError
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from ghlsync.config import Settings, get_settings
from ghlsync.core.events import ChangeEvent
from ghlsync.observability import logger, metrics
from ghlsync.observability.catalog import MetricName, sync_outcome_metric
from ghlsync.queue import REDRIVE_COUNT, FailureKind, SyncQueue
from ghlsync.sync.outcome import Outcome, PermanentSyncError, TransientSyncError

# SQS refuses visibility timeouts above 12 hours.
MAX_VISIBILITY_SECONDS = 43_200


class Engine(Protocol):
    def handle(self, event: ChangeEvent) -> Outcome: ...


def backoff_seconds(
    receive_count: int,
    *,
    base: int,
    cap: int,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> int:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2^(n-1))], at least retry_after."""
    ceiling = min(cap, base * 2 ** max(receive_count - 1, 0))
    delay = rng() * ceiling
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(math.ceil(delay), MAX_VISIBILITY_SECONDS)


def _retry_after(error: BaseException) -> float | None:
    """The wait the failure asked for (a 429's Retry-After), on the error or what it was raised from.

    The engine wraps client errors (`raise TransientSyncError(...) from GhlRateLimited(...)`), so
    the server's wish travels as the cause.
    """
    cause: BaseException | None = error
    while cause is not None:
        value = getattr(cause, "retry_after", None)
        if isinstance(value, int | float) and value > 0:
            return float(value)
        cause = cause.__cause__
    return None


def _receive_count(record: SQSRecord) -> int:
    return int(record.attributes.approximate_receive_count or "1")


def _redrive_count(record: SQSRecord) -> int:
    attribute = record.message_attributes[REDRIVE_COUNT]
    return int(attribute.string_value or 0) if attribute else 0


class SyncWorker:
    def __init__(
        self,
        engine: Engine,
        queue: SyncQueue,
        *,
        max_receive_count: int,
        retry_base_seconds: int,
        retry_max_seconds: int,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._max_receive_count = max_receive_count
        self._retry_base_seconds = retry_base_seconds
        self._retry_max_seconds = retry_max_seconds
        self._rng = rng

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings | None = None) -> "SyncWorker":
        settings = settings or get_settings()
        return cls(
            engine,
            SyncQueue.from_settings(settings),
            max_receive_count=settings.max_receive_count,
            retry_base_seconds=settings.retry_base_seconds,
            retry_max_seconds=settings.retry_max_seconds,
        )

    def process_batch(self, event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        """Run an SQS event through the engine; the answer lists the records SQS must keep."""
        processor = _FifoProcessor(self)
        return process_partial_response(
            event=event, record_handler=self.process_record, processor=processor, context=context
        )

    def process_record(self, record: SQSRecord) -> str:
        try:
            event = ChangeEvent.model_validate_json(record.body)
        except ValidationError as exc:
            self._dead_letter(
                record, f"not a ChangeEvent: {exc.error_count()} problem(s)", FailureKind.UNREADABLE
            )
            return "dead-lettered"
        log = {"event_id": event.event_id, "location_id": event.location_id, "event_type": event.event_type}
        try:
            outcome = self._engine.handle(event)
        except PermanentSyncError as exc:
            logger.warning("permanent sync failure", extra={**log, "reason": exc.reason})
            self._dead_letter(record, exc.reason, FailureKind.PERMANENT, event)
            return "dead-lettered"
        except Exception as exc:
            reason = exc.reason if isinstance(exc, TransientSyncError) else f"{type(exc).__name__}: {exc}"
            if self.is_last_attempt(record):
                logger.warning("retries exhausted", extra={**log, "reason": reason})
                self._dead_letter(record, reason, FailureKind.TRANSIENT, event)
                return "dead-lettered"
            self._back_off(record, exc)
            if not isinstance(exc, TransientSyncError):
                logger.exception("unexpected error in the sync engine", extra=log)
            metrics.add_metric(name=MetricName.SYNC_RETRIES, unit=MetricUnit.Count, value=1)
            raise
        metrics.add_metric(name=sync_outcome_metric(outcome.decision.value), unit=MetricUnit.Count, value=1)
        logger.info(
            "event handled", extra={**log, "decision": outcome.decision.value, "reason": outcome.reason}
        )
        return outcome.decision.value

    def is_last_attempt(self, record: SQSRecord) -> bool:
        return _receive_count(record) >= self._max_receive_count

    def dead_letter_blocked(self, record: SQSRecord) -> None:
        group = record.attributes.message_group_id
        self._dead_letter(
            record,
            f"receives used up waiting behind a failing message of group {group}",
            FailureKind.BLOCKED,
        )

    def _back_off(self, record: SQSRecord, error: Exception) -> None:
        delay = backoff_seconds(
            _receive_count(record),
            base=self._retry_base_seconds,
            cap=self._retry_max_seconds,
            retry_after=_retry_after(error),
            rng=self._rng,
        )
        try:
            self._queue.retry_later(record.receipt_handle, delay)
        except Exception:
            # The message still comes back after the queue's visibility timeout.
            logger.exception("could not set the retry delay", extra={"message_id": record.message_id})

    def _dead_letter(
        self, record: SQSRecord, reason: str, kind: FailureKind, event: ChangeEvent | None = None
    ) -> None:
        self._queue.dead_letter(
            event if event is not None else record.body,
            reason=reason,
            kind=kind,
            source_message_id=record.message_id,
            redrive_count=_redrive_count(record),
        )
        metrics.add_metric(name=MetricName.DEAD_LETTERED, unit=MetricUnit.Count, value=1)


class _FifoProcessor(SqsFifoPartialProcessor):
    """SqsFifoPartialProcessor that dead-letters (with a reason) a skipped record on its last receive."""

    def __init__(self, worker: SyncWorker) -> None:
        super().__init__(skip_group_on_error=True)
        # A batch whose records all failed is an ordinary answer (all listed), not a Lambda error:
        # raising would count as a function error and page someone for a retry that is planned.
        self.raise_on_entire_batch_failure = False
        self._worker = worker

    def failure_handler(self, record: Any, exception: Any) -> Any:
        if exception[0] is SQSFifoMessageGroupCircuitBreakerError and self._worker.is_last_attempt(record):
            try:
                self._worker.dead_letter_blocked(record)
            except Exception:
                logger.exception(
                    "could not dead-letter a blocked record", extra={"message_id": record.message_id}
                )
            else:
                return self.success_handler(record, "dead-lettered")
        return super().failure_handler(record, exception)
