"""The sync queue (SQS FIFO) and its dead-letter queue: enqueue, dead-letter, list, redrive.

Main queue messages: body = ChangeEvent JSON, MessageGroupId = location id (one location's events
stay in order), MessageDeduplicationId = event id (a redrive uses `<event_id>:redrive:<n>` so
the same event can run again), attribute `redrive_count` once redriven.

Dead letters: the worker sends them itself, with the reason attached as message attributes
(`failure_reason`, `failure_kind`, `failed_at`, `source_message_id`, `redrive_count`). Each one
gets its own message group (the source message id): FIFO hands out a group's messages only one
window at a time, so a shared group would hide every dead letter behind the first one while an
operator lists or filters them. Messages that SQS itself moved after maxReceiveCount (the safety
net) keep their original attributes and list with kind `unknown`.

Listing never loses anything: messages are received with a visibility timeout, never deleted,
and made visible again as soon as the scan ends. A redrive deletes a dead letter only after the
main queue accepted its copy.
"""

import hashlib
import string
import time
from collections.abc import Callable, Generator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ghlsync.config import Settings, get_settings
from ghlsync.core.events import ChangeEvent
from ghlsync.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, MessageTypeDef

REDRIVE_COUNT = "redrive_count"
FAILURE_REASON = "failure_reason"
FAILURE_KIND = "failure_kind"
FAILED_AT = "failed_at"
SOURCE_MESSAGE_ID = "source_message_id"

# SQS message attribute values are limited only by the message size; keep reasons readable.
MAX_REASON_CHARS = 1000
# Group and deduplication ids: at most 128 characters from this set (SQS rules).
_SQS_ID_CHARS = frozenset(string.ascii_letters + string.digits + string.punctuation)
_SQS_ID_MAX = 128
_SQS_BATCH = 10
NO_REASON = "moved by the queue's redrive policy; no reason recorded"


class QueueUnavailable(Exception):
    """SQS did not take the message. Ingress answers 429 so that GHL retries."""


class FailureKind(StrEnum):
    PERMANENT = "permanent"  # the engine said retrying cannot help
    TRANSIENT = "transient"  # retries exhausted (maxReceiveCount) on a transient failure
    BLOCKED = "blocked"  # out of receives while waiting behind a failing message of its group
    UNREADABLE = "unreadable"  # the body is not a ChangeEvent
    UNKNOWN = "unknown"  # moved by SQS's own redrive policy: no reason was recorded


def sqs_id(value: str) -> str:
    """A valid SQS group/deduplication id for `value`: itself when allowed, else its SHA-256."""
    if len(value) <= _SQS_ID_MAX and all(char in _SQS_ID_CHARS for char in value):
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _string(value: str) -> "MessageAttributeValueTypeDef":
    return {"DataType": "String", "StringValue": value}


def _number(value: int) -> "MessageAttributeValueTypeDef":
    return {"DataType": "Number", "StringValue": str(value)}


class DeadLetterFilter(BaseModel):
    """Which dead letters a list or redrive applies to; every given field must match."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    location_id: str | None = None
    connection_id: str | None = None
    event_type: str | None = None
    # On the event's own source timestamp (occurred_at), inclusive bounds.
    occurred_after: AwareDatetime | None = None
    occurred_before: AwareDatetime | None = None

    def matches(self, event: ChangeEvent) -> bool:
        return (
            (self.location_id is None or event.location_id == self.location_id)
            and (self.connection_id is None or event.connection_id == self.connection_id)
            and (self.event_type is None or event.event_type == self.event_type)
            and (self.occurred_after is None or event.occurred_at >= self.occurred_after)
            and (self.occurred_before is None or event.occurred_at <= self.occurred_before)
        )


class DeadLetter(BaseModel):
    """One message of the DLQ as an operator sees it."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    event: ChangeEvent | None = Field(description="None when the body is not a ChangeEvent")
    body: str = Field(exclude=True)
    receipt_handle: str = Field(exclude=True)
    failure_kind: FailureKind
    failure_reason: str
    failed_at: datetime | None = None
    redrive_count: int = 0

    @classmethod
    def from_message(cls, message: "MessageTypeDef") -> "DeadLetter":
        attributes = {
            name: value.get("StringValue", "") for name, value in message.get("MessageAttributes", {}).items()
        }
        body = message.get("Body", "")
        try:
            event: ChangeEvent | None = ChangeEvent.model_validate_json(body)
        except ValidationError:
            event = None
        kind = attributes.get(FAILURE_KIND, "")
        failed_at = attributes.get(FAILED_AT)
        return cls(
            message_id=message.get("MessageId", ""),
            event=event,
            body=body,
            receipt_handle=message.get("ReceiptHandle", ""),
            failure_kind=FailureKind(kind) if kind in FailureKind else FailureKind.UNKNOWN,
            failure_reason=attributes.get(
                FAILURE_REASON, "moved by the queue's redrive policy; no reason recorded"
            ),
            failed_at=datetime.fromisoformat(failed_at) if failed_at else None,
            redrive_count=int(attributes.get(REDRIVE_COUNT, "0") or 0),
        )


@dataclass
class RedriveReport:
    redriven: list[str] = field(default_factory=list)  # event ids sent back to the main queue
    not_matching: int = 0
    unreadable: int = 0  # bodies that are not ChangeEvents stay in the DLQ for a human
    error: str | None = None  # why the redrive stopped early, if it did

    def as_dict(self) -> dict[str, Any]:
        return {
            "redriven": len(self.redriven),
            "event_ids": self.redriven,
            "not_matching": self.not_matching,
            "unreadable": self.unreadable,
            "error": self.error,
        }


@cache
def sqs_client() -> "SQSClient":
    return boto3.client("sqs")


class SyncQueue:
    def __init__(
        self,
        sqs: "SQSClient",
        queue_url: str,
        dlq_url: str,
        *,
        clock: Callable[[], float] = time.time,
        receive_wait_seconds: int = 1,
        hold_seconds: int = 300,
    ) -> None:
        """`receive_wait_seconds` > 0 makes DLQ scans long-poll: a short poll samples only some SQS
        servers and may answer "empty" while messages remain. `hold_seconds` is how long a scan
        keeps the messages it has seen invisible (so it does not see them twice)."""
        self._sqs = sqs
        self.queue_url = queue_url
        self.dlq_url = dlq_url
        self._clock = clock
        self._receive_wait_seconds = receive_wait_seconds
        self._hold_seconds = hold_seconds

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "SyncQueue":
        settings = settings or get_settings()
        return cls(
            sqs_client(),
            settings.sync_queue_url,
            settings.sync_dlq_url,
            receive_wait_seconds=settings.dlq_receive_wait_seconds,
        )

    # ---- main queue ---------------------------------------------------------------------------

    def enqueue(
        self,
        event: ChangeEvent,
        *,
        deduplication_id: str | None = None,
        redrive_count: int = 0,
        group_id: str | None = None,
    ) -> str:
        """Send one event (group = its location, unless `group_id`: a backfill's work items keep
        their own order without holding up the location's live events); returns the SQS message
        id. Raises QueueUnavailable."""
        attributes: dict[str, MessageAttributeValueTypeDef] = {}
        if redrive_count:
            attributes[REDRIVE_COUNT] = _number(redrive_count)
        try:
            response = self._sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=event.model_dump_json(),
                MessageGroupId=sqs_id(group_id or event.location_id),
                MessageDeduplicationId=sqs_id(deduplication_id or event.event_id),
                MessageAttributes=attributes,
            )
        except (ClientError, BotoCoreError) as exc:
            raise QueueUnavailable(f"sync queue refused event {event.event_id}: {exc}") from exc
        return response["MessageId"]

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        """Keep a failed message invisible for `delay_seconds` (the backoff before its next attempt)."""
        self._sqs.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_seconds
        )

    # ---- dead letters -------------------------------------------------------------------------

    def dead_letter(
        self,
        body: ChangeEvent | str,
        *,
        reason: str,
        kind: FailureKind,
        source_message_id: str,
        redrive_count: int = 0,
    ) -> None:
        """Put a message on the DLQ with why it failed. Idempotent per source message for 5 minutes."""
        attributes: dict[str, MessageAttributeValueTypeDef] = {
            FAILURE_REASON: _string(reason[:MAX_REASON_CHARS] or "no reason given"),
            FAILURE_KIND: _string(kind.value),
            FAILED_AT: _string(datetime.fromtimestamp(self._clock(), UTC).isoformat()),
            SOURCE_MESSAGE_ID: _string(source_message_id),
            REDRIVE_COUNT: _number(redrive_count),
        }
        self._sqs.send_message(
            QueueUrl=self.dlq_url,
            MessageBody=body.model_dump_json() if isinstance(body, ChangeEvent) else body,
            MessageGroupId=sqs_id(source_message_id),
            MessageDeduplicationId=sqs_id(source_message_id),
            MessageAttributes=attributes,
        )

    def dead_letters(self, *, match: DeadLetterFilter | None = None, limit: int = 100) -> list[DeadLetter]:
        """Up to `limit` dead letters that match, oldest first as SQS hands them out. Deletes nothing."""
        match = match or DeadLetterFilter()
        found: list[DeadLetter] = []
        with closing(self._scan(deleted=set())) as letters:
            for letter in letters:
                # An unreadable body cannot match a filter, but an unfiltered list shows it.
                selected = match.matches(letter.event) if letter.event else match == DeadLetterFilter()
                if selected:
                    found.append(letter)
                if len(found) >= limit:
                    break
        return found

    def redrive(self, *, match: DeadLetterFilter | None = None, limit: int = 100) -> RedriveReport:
        """Send up to `limit` matching dead letters back to the main queue, then delete them.

        Each copy keeps its event_id, is marked `redriven`, and gets the deduplication id
        `<event_id>:redrive:<n>` so FIFO deduplication does not swallow it. Stops at the first
        send that fails; what was not sent stays in the DLQ.
        """
        match = match or DeadLetterFilter()
        report = RedriveReport()
        deleted: set[str] = set()
        with closing(self._scan(deleted=deleted)) as letters:
            for letter in letters:
                if letter.event is None:
                    report.unreadable += 1
                    continue
                if not match.matches(letter.event):
                    report.not_matching += 1
                    continue
                attempt = letter.redrive_count + 1
                event = letter.event.model_copy(update={"redriven": True})
                try:
                    self.enqueue(
                        event,
                        deduplication_id=f"{event.event_id}:redrive:{attempt}",
                        redrive_count=attempt,
                    )
                except QueueUnavailable as exc:
                    report.error = str(exc)
                    break
                self._sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=letter.receipt_handle)
                deleted.add(letter.message_id)
                report.redriven.append(event.event_id)
                if len(report.redriven) >= limit:
                    break
        return report

    def _scan(self, *, deleted: set[str]) -> Generator[DeadLetter]:
        """Every DLQ message once, held invisible while the scan runs and released when it ends.

        The caller adds to `deleted` the message ids it deleted meanwhile; those are not released.
        """
        held: dict[str, str] = {}
        try:
            while True:
                response = self._sqs.receive_message(
                    QueueUrl=self.dlq_url,
                    MaxNumberOfMessages=_SQS_BATCH,
                    VisibilityTimeout=self._hold_seconds,
                    WaitTimeSeconds=self._receive_wait_seconds,
                    MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                )
                messages = response.get("Messages", [])
                fresh = [message for message in messages if message.get("MessageId", "") not in held]
                if not fresh:
                    return
                for message in fresh:
                    held[message.get("MessageId", "")] = message.get("ReceiptHandle", "")
                    yield DeadLetter.from_message(message)
        finally:
            self._release([handle for message_id, handle in held.items() if message_id not in deleted])

    def _release(self, receipt_handles: list[str]) -> None:
        for start in range(0, len(receipt_handles), _SQS_BATCH):
            chunk = receipt_handles[start : start + _SQS_BATCH]
            try:
                self._sqs.change_message_visibility_batch(
                    QueueUrl=self.dlq_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                        for index, handle in enumerate(chunk)
                    ],
                )
            except (ClientError, BotoCoreError):
                # They become visible anyway once hold_seconds pass; nothing is lost.
                logger.exception("could not release scanned dead letters early")


class RedriveRequest(BaseModel):
    """What an operator asks of the DLQ (the dlq_redrive function's event, the CLI's arguments)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    action: Literal["list", "redrive"]
    match: DeadLetterFilter = Field(default_factory=DeadLetterFilter, alias="filter")
    max: int = Field(default=100, ge=1, le=10_000)


def handle_redrive_request(queue: SyncQueue, request: RedriveRequest) -> dict[str, Any]:
    if request.action == "list":
        letters = queue.dead_letters(match=request.match, limit=request.max)
        return {
            "count": len(letters),
            "dead_letters": [letter.model_dump(mode="json") for letter in letters],
        }
    report = queue.redrive(match=request.match, limit=request.max)
    metrics.add_metric(name="DeadLettersRedriven", unit=MetricUnit.Count, value=len(report.redriven))
    logger.info("redrive finished", extra=report.as_dict())
    return report.as_dict()
