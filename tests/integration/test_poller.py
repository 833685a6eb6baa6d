"""The local SQS poller: Lambda-shaped batches, partial failures, visibility and DLQ redrive (moto)."""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sandbox.stack.poller import SqsPoller

pytestmark = pytest.mark.integration

SAM = Path(sys.executable).parent / "sam"
FIFO_ATTRIBUTES = {"MessageGroupId", "MessageDeduplicationId", "SequenceNumber"}


class Queues:
    def __init__(self, sqs: Any, url: str, dlq_url: str) -> None:
        self.sqs, self.url, self.dlq_url = sqs, url, dlq_url

    def send(self, body: str, group: str = "loc-1", **extra: Any) -> None:
        self.sqs.send_message(
            QueueUrl=self.url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body, **extra
        )

    def count(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


@pytest.fixture
def queues() -> Iterator[Queues]:
    """A FIFO queue redriving to a FIFO DLQ after 2 receives; visibility 0 so failures come straight back."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq_url = sqs.create_queue(QueueName="events-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        url = sqs.create_queue(
            QueueName="events.fifo",
            Attributes={
                "FifoQueue": "true",
                "VisibilityTimeout": "0",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
            },
        )["QueueUrl"]
        yield Queues(sqs, url, dlq_url)


def poller(queues: Queues, handler: Any, batch_size: int = 10) -> SqsPoller:
    return SqsPoller(queues.sqs, queues.url, handler, batch_size=batch_size, wait_seconds=0)


def test_batch_records_have_lambdas_sqs_event_shape(queues: Queues) -> None:
    # GIVEN a message with a string attribute on a FIFO queue
    queues.send("hello", MessageAttributes={"kind": {"DataType": "String", "StringValue": "contact"}})
    events: list[dict[str, Any]] = []
    # WHEN the poller delivers it
    poller(queues, events.append).poll_once()
    # THEN the record carries every field Lambda sets, FIFO attributes included
    (record,) = events[0]["Records"]
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["body"] == "hello"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":events.fifo")
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["attributes"]["MessageGroupId"] == "loc-1"
    assert set(record["attributes"]) >= FIFO_ATTRIBUTES
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "contact",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }


def test_record_keys_match_sams_reference_sqs_event(queues: Queues) -> None:
    # GIVEN SAM's reference SQS event
    sam = str(SAM) if SAM.exists() else shutil.which("sam")
    if sam is None:
        pytest.skip("sam CLI not installed")
    reference = json.loads(
        subprocess.run(  # noqa: S603 - the sam CLI from this venv, fixed arguments
            [sam, "local", "generate-event", "sqs", "receive-message"],
            capture_output=True,
            check=True,
            env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
            timeout=120,
        ).stdout
    )["Records"][0]
    queues.send("hello")
    events: list[dict[str, Any]] = []
    # WHEN the poller delivers a message
    poller(queues, events.append).poll_once()
    # THEN the record has the same keys, and the standard attributes plus FIFO's
    record = events[0]["Records"][0]
    assert set(record) == set(reference)
    assert set(record["attributes"]) == set(reference["attributes"]) | FIFO_ATTRIBUTES


def test_batch_size_caps_records_per_invocation(queues: Queues) -> None:
    for i in range(3):
        queues.send(f"m{i}", group=f"loc-{i}")
    sizes: list[int] = []
    poll = poller(queues, lambda event: sizes.append(len(event["Records"])), batch_size=2)
    poll.poll_once()
    assert sizes == [2]


def test_partial_failure_deletes_only_the_successful_records(queues: Queues) -> None:
    # GIVEN three messages, and a handler that reports the second as failed
    for body in ("a", "b", "c"):
        queues.send(body, group=f"g-{body}")

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "b"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    # WHEN one batch is processed
    result = poller(queues, handler).poll_once()
    # THEN two are deleted and "b" alone comes back, on its second receive
    assert (result.received, result.deleted, len(result.failed_ids)) == (3, 2, 1)
    again: list[dict[str, Any]] = []
    poller(queues, again.append).poll_once()
    assert [r["body"] for r in again[0]["Records"]] == ["b"]
    assert again[0]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_handler_exception_returns_the_whole_batch(queues: Queues) -> None:
    queues.send("a", group="g1")
    queues.send("b", group="g2")

    def handler(event: dict[str, Any]) -> None:
        raise RuntimeError("worker crashed")

    result = poller(queues, handler).poll_once()
    assert result.deleted == 0
    assert result.batch_error == "RuntimeError: worker crashed"
    assert queues.count(queues.url) == 2


def test_unknown_item_identifier_fails_the_whole_batch(queues: Queues) -> None:
    # GIVEN a handler that reports an id that was not in the batch (Lambda reads it as a full failure)
    queues.send("a", group="g1")
    queues.send("b", group="g2")
    result = poller(queues, lambda event: {"batchItemFailures": [{"itemIdentifier": "nope"}]}).poll_once()
    # THEN nothing is deleted
    assert result.deleted == 0
    assert queues.count(queues.url) == 2


def test_message_failing_max_receive_count_times_moves_to_the_dlq(queues: Queues) -> None:
    # GIVEN a message its handler always fails, on a queue with maxReceiveCount 2
    queues.send("poison")

    def always_fail(event: dict[str, Any]) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    poll = poller(queues, always_fail)
    # WHEN it has been received twice and the poller polls again
    received = [poll.poll_once().received for _ in range(3)]
    # THEN SQS moved it to the DLQ instead of delivering it a third time
    assert received == [1, 1, 0]
    assert queues.count(queues.url) == 0
    assert queues.count(queues.dlq_url) == 1


def test_in_flight_message_is_not_redelivered_before_its_visibility_timeout(queues: Queues) -> None:
    # GIVEN a queue whose visibility timeout is long
    queues.sqs.set_queue_attributes(QueueUrl=queues.url, Attributes={"VisibilityTimeout": "300"})
    queues.send("slow")
    poll = poller(
        queues, lambda event: {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    )
    # WHEN it fails once
    assert poll.poll_once().received == 1
    # THEN it stays invisible: the next poll gets nothing
    assert poll.poll_once().received == 0
