"""sync_worker end to end: the real handler fed by a Lambda-like SQS poller over the template's FIFO
queue in moto; a scripted engine stands in for the sync engine (the worker only needs `handle`)."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from ghlsync import queue
from ghlsync.config import get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.observability import metrics
from ghlsync.queue import SyncQueue
from ghlsync.sync.outcome import Decision, Outcome, PermanentSyncError, TransientSyncError
from ghlsync.worker import SyncWorker
from sandbox.stack.lambda_runtime import LambdaContext, load_module
from sandbox.stack.poller import PollResult, SqsPoller, sqs_record
from tests.fixtures.aws import AwsResources


class RateLimited(Exception):
    """What a client raises on 429; the engine re-raises it as the cause of a TransientSyncError."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("429")
        self.retry_after = retry_after


@dataclass
class ScriptedEngine:
    """Answers per entity id: an exception to raise (every time) or an Outcome; records every call."""

    failures: dict[str, Exception] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)

    def handle(self, event: ChangeEvent) -> Outcome:
        self.seen.append(event.entity_id)
        failure = self.failures.get(event.entity_id)
        if failure is not None:
            raise failure
        return Outcome(Decision.APPLIED, writes=1)


def change(entity_id: str, location_id: str = "loc-1") -> ChangeEvent:
    return ChangeEvent(
        event_id=f"ev-{entity_id}",
        location_id=location_id,
        source="ghl",
        entity=EntityKind.CONTACT,
        action=ChangeAction.UPSERT,
        entity_id=entity_id,
        occurred_at=datetime(2026, 5, 1, 12, tzinfo=UTC),
        event_type="ContactUpdate",
    )


@dataclass
class Worker:
    aws: AwsResources
    engine: ScriptedEngine
    queue: SyncQueue
    jitter: list[float]

    def send(self, *events: ChangeEvent) -> None:
        for event in events:
            self.queue.enqueue(event)

    def poll(self) -> PollResult:
        """One Lambda invocation with the next batch (up to 10), failed records left on the queue."""
        handler = load_module("functions/sync_worker").lambda_handler
        poller = SqsPoller(self.aws.sqs, self.aws.queue_url, lambda event: handler(event, LambdaContext()))
        return poller.poll_once(wait_seconds=0)

    def dead_letters(self) -> list[dict[str, Any]]:
        response = self.aws.sqs.receive_message(
            QueueUrl=self.aws.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        return [dict(message) for message in response.get("Messages", [])]

    def main_queue_depth(self) -> int:
        attributes = self.aws.sqs.get_queue_attributes(
            QueueUrl=self.aws.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


def reason_of(message: dict[str, Any]) -> tuple[str, str]:
    attributes = message["MessageAttributes"]
    return attributes["failure_kind"]["StringValue"], attributes["failure_reason"]["StringValue"]


@pytest.fixture
def worker(aws: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    """GIVEN SyncWorkerFunction's environment, its handler wired to a scripted engine.

    The backoff's random draw is scripted too: 0.0 makes a failed message visible again at once
    (so the next poll sees it), 1.0 keeps it away for the full exponential delay.
    """
    for name, value in aws.stack.function_environment("SyncWorkerFunction").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(metrics, "namespace", aws.env["POWERTOOLS_METRICS_NAMESPACE"])
    get_settings.cache_clear()
    queue.sqs_client.cache_clear()
    engine = ScriptedEngine()
    jitter = [0.0]
    settings = get_settings()
    sync_queue = SyncQueue.from_settings(settings)
    built = SyncWorker(
        engine,
        sync_queue,
        max_receive_count=settings.max_receive_count,
        retry_base_seconds=settings.retry_base_seconds,
        retry_max_seconds=settings.retry_max_seconds,
        rng=lambda: jitter[0],
    )
    monkeypatch.setattr(load_module("functions/sync_worker"), "worker", lambda: built)
    yield Worker(aws, engine, sync_queue, jitter)
    get_settings.cache_clear()
    queue.sqs_client.cache_clear()


def test_a_batch_that_succeeds_is_deleted_in_order(worker: Worker) -> None:
    # GIVEN three events of one location WHEN the worker runs THEN all are applied in order and deleted
    worker.send(change("c-1"), change("c-2"), change("c-3"))
    result = worker.poll()
    assert (result.received, result.deleted, result.failed_ids) == (3, 3, [])
    assert worker.engine.seen == ["c-1", "c-2", "c-3"]
    assert worker.main_queue_depth() == 0


def test_a_failure_holds_back_the_rest_of_its_group_but_not_other_groups(worker: Worker) -> None:
    # GIVEN loc-1: c-1 (fails transiently), c-2; loc-2: c-3
    worker.jitter[0] = 1.0
    worker.engine.failures["c-1"] = TransientSyncError("GHL 503")
    worker.send(change("c-1"), change("c-2"), change("c-3", location_id="loc-2"))
    # WHEN one batch is processed
    result = worker.poll()
    # THEN c-2 is not tried (it would overtake c-1) and both stay queued; loc-2 goes on
    assert "c-2" not in worker.engine.seen
    assert worker.engine.seen.count("c-3") == 1
    assert (result.received, result.deleted, len(result.failed_ids)) == (3, 1, 2)
    assert worker.main_queue_depth() == 2


def test_a_transient_failure_waits_out_its_backoff(worker: Worker) -> None:
    # GIVEN a transient failure and a full jitter draw (delay = base * 2^0 seconds)
    worker.jitter[0] = 1.0
    worker.engine.failures["c-1"] = TransientSyncError("GHL 503")
    worker.send(change("c-1"))
    worker.poll()
    # WHEN the worker polls again at once THEN the message is still invisible (backing off), not lost
    assert worker.poll().received == 0
    assert worker.main_queue_depth() == 1


def test_a_transient_failure_without_backoff_is_retried(worker: Worker) -> None:
    # GIVEN a failure once, and a zero jitter draw WHEN polled twice THEN the second poll retries it
    worker.engine.failures["c-1"] = TransientSyncError("GHL 503")
    worker.send(change("c-1"))
    worker.poll()
    del worker.engine.failures["c-1"]
    assert worker.poll().deleted == 1
    assert worker.engine.seen == ["c-1", "c-1"]


def test_retry_after_from_the_underlying_429_is_honoured(worker: Worker) -> None:
    # GIVEN a transient failure caused by a 429 asking for 60 s, and a zero jitter draw
    try:
        raise TransientSyncError("rate limited") from RateLimited(retry_after=60)
    except TransientSyncError as error:
        worker.engine.failures["c-1"] = error
    worker.send(change("c-1"))
    worker.poll()
    # WHEN polled again at once THEN it is not retried before the server's 60 s
    assert worker.poll().received == 0


def test_a_permanent_failure_is_dead_lettered_at_once_with_its_reason(worker: Worker) -> None:
    # GIVEN the engine reports a permanent failure
    worker.engine.failures["c-1"] = PermanentSyncError("GHL 422: email invalid")
    worker.send(change("c-1"))
    # WHEN processed THEN the record succeeds (deleted) and the DLQ holds it with the reason
    assert worker.poll().deleted == 1
    [dead] = worker.dead_letters()
    assert reason_of(dead) == ("permanent", "GHL 422: email invalid")
    assert ChangeEvent.model_validate_json(dead["Body"]).event_id == "ev-c-1"
    assert worker.main_queue_depth() == 0


def test_the_last_allowed_attempt_of_a_transient_failure_is_dead_lettered_with_its_reason(
    worker: Worker,
) -> None:
    # GIVEN an event that keeps failing transiently, retried at once each time
    worker.engine.failures["c-1"] = TransientSyncError("GHL 503 again")
    worker.send(change("c-1"))
    # WHEN it has been tried MAX_RECEIVE_COUNT times
    for _ in range(get_settings().max_receive_count):
        worker.poll()
    # THEN the worker dead-lettered it itself, with the reason, before SQS could move it silently
    assert len(worker.engine.seen) == get_settings().max_receive_count
    [dead] = worker.dead_letters()
    assert reason_of(dead) == ("transient", "GHL 503 again")
    assert worker.main_queue_depth() == 0


def test_an_unexpected_error_is_retried_then_dead_lettered_with_its_type(worker: Worker) -> None:
    # GIVEN an engine bug (not a SyncError) that happens every time
    worker.engine.failures["c-1"] = KeyError("mapping")
    worker.send(change("c-1"))
    for _ in range(get_settings().max_receive_count):
        worker.poll()
    # THEN it ends in the DLQ like a transient failure, the error type named in the reason
    [dead] = worker.dead_letters()
    kind, reason = reason_of(dead)
    assert (kind, reason.startswith("KeyError")) == ("transient", True)


def test_a_body_that_is_not_a_change_event_is_dead_lettered_as_unreadable(worker: Worker) -> None:
    # GIVEN a message that is not a ChangeEvent
    worker.aws.sqs.send_message(
        QueueUrl=worker.aws.queue_url, MessageBody="{}", MessageGroupId="loc-1", MessageDeduplicationId="x"
    )
    # WHEN processed THEN it goes to the DLQ as unreadable and the engine never sees it
    assert worker.poll().deleted == 1
    [dead] = worker.dead_letters()
    assert reason_of(dead)[0] == "unreadable"
    assert worker.engine.seen == []


def test_a_held_back_record_out_of_receives_is_dead_lettered_as_blocked(worker: Worker) -> None:
    # GIVEN c-1 failing transiently, and c-2 behind it in the same group already at its last receive
    worker.jitter[0] = 1.0
    worker.engine.failures["c-1"] = TransientSyncError("GHL 503")
    worker.send(change("c-1"), change("c-2"))
    messages = worker.aws.sqs.receive_message(
        QueueUrl=worker.aws.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    arn = worker.aws.sqs.get_queue_attributes(QueueUrl=worker.aws.queue_url, AttributeNames=["QueueArn"])
    records = [sqs_record(m, queue_arn=arn["Attributes"]["QueueArn"], region="us-east-1") for m in messages]
    records[1]["attributes"]["ApproximateReceiveCount"] = str(get_settings().max_receive_count)
    # WHEN the batch is processed
    handler = load_module("functions/sync_worker").lambda_handler
    response = handler({"Records": records}, LambdaContext())
    # THEN c-1 stays for a retry; c-2 is not run but dead-lettered with why, instead of moved silently
    assert response["batchItemFailures"] == [{"itemIdentifier": records[0]["messageId"]}]
    assert worker.engine.seen == ["c-1"]
    [dead] = worker.dead_letters()
    assert reason_of(dead)[0] == "blocked"


def test_a_batch_whose_records_all_fail_is_answered_not_raised(worker: Worker) -> None:
    # GIVEN one event that fails transiently (not its last attempt)
    worker.jitter[0] = 1.0
    worker.engine.failures["c-1"] = TransientSyncError("GHL 503")
    worker.send(change("c-1"))
    [message] = worker.aws.sqs.receive_message(
        QueueUrl=worker.aws.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    arn = worker.aws.sqs.get_queue_attributes(QueueUrl=worker.aws.queue_url, AttributeNames=["QueueArn"])
    record = sqs_record(message, queue_arn=arn["Attributes"]["QueueArn"], region="us-east-1")
    # WHEN the handler runs THEN it lists the record as failed instead of raising (no Lambda error)
    response = load_module("functions/sync_worker").lambda_handler({"Records": [record]}, LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
