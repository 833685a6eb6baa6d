"""A local SQS event source mapping: long-polls a queue and invokes a handler with batches.

What it reproduces of Lambda's SQS poller:
- batches of up to `batch_size` records in Lambda's SQS event shape (all system attributes,
  message attributes, md5OfBody, eventSource/eventSourceARN/awsRegion);
- `ReportBatchItemFailures`: only the records the handler did not list in `batchItemFailures`
  are deleted; the listed ones stay in flight until the visibility timeout, then come back;
- a handler that raises (or returns a malformed response) fails the whole batch: nothing is
  deleted, every record comes back after the visibility timeout;
- the queue's own redrive policy (maxReceiveCount → DLQ) is left to SQS, as in AWS: moto moves
  a message to the DLQ on the receive after its count reaches maxReceiveCount.
"""

import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.stack.background import BackgroundLoop

Invoke = Callable[[dict[str, Any]], Any]

SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "MessageGroupId",
    "MessageDeduplicationId",
    "SequenceNumber",
)


@dataclass(frozen=True)
class SqsSource:
    """One `Type: SQS` event of a function (its event source mapping)."""

    function: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool


def sqs_sources_from_template(
    template: Mapping[str, Any], resolve: Callable[[Any], Any] = lambda value: value
) -> list[SqsSource]:
    """Every enabled SQS event of every function; `resolve` turns `!GetAtt Queue.Arn` into the ARN."""
    found: list[SqsSource] = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "SQS":
                continue
            props = event.get("Properties", {})
            if resolve(props.get("Enabled", True)) in (False, "false"):
                continue
            response_types = resolve(props.get("FunctionResponseTypes", []))
            found.append(
                SqsSource(
                    function=logical_id,
                    queue_arn=str(resolve(props["Queue"])),
                    # Lambda's default batch size for SQS.
                    batch_size=int(resolve(props.get("BatchSize", 10))),
                    report_batch_item_failures="ReportBatchItemFailures" in response_types,
                )
            )
    return found


@dataclass
class PollResult:
    received: int = 0
    deleted: int = 0
    failed_ids: list[str] = field(default_factory=list)
    batch_error: str | None = None  # the handler raised: the whole batch returns to the queue


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """Lambda's record for one ReceiveMessage result (attributes as Lambda presents them)."""
    received_attributes = message.get("Attributes", {})
    attributes = {
        name: received_attributes[name] for name in SYSTEM_ATTRIBUTES if name in received_attributes
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: _lambda_message_attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda spells message attributes camelCase and always lists both list members."""
    converted: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = value["BinaryValue"]
    return converted


def failed_message_ids(response: Any, batch_ids: Sequence[str]) -> list[str]:
    """The ids Lambda keeps on the queue for this handler response (ReportBatchItemFailures).

    Lambda reads None, `{}` and an empty or null `batchItemFailures` as full success, and a
    response it cannot read (not an object, an item without a known `itemIdentifier`) as a
    failure of the whole batch.
    """
    if response is None:
        return []
    if not isinstance(response, dict):
        return list(batch_ids)
    ids: list[str] = []
    for item in response.get("batchItemFailures") or []:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in batch_ids:
            return list(batch_ids)
        ids.append(str(identifier))
    return ids


class SqsPoller:
    """Polls one queue for one function, like an event source mapping with batch item failures."""

    def __init__(
        self,
        sqs: Any,  # boto3 SQS client
        queue_url: str,
        invoke: Invoke,
        *,
        batch_size: int = 10,
        report_batch_item_failures: bool = True,
        wait_seconds: int = 1,
        region: str = "us-east-1",
        log: Callable[[str], None] = lambda _: None,
    ) -> None:
        if not 1 <= batch_size <= 10:
            raise ValueError("an SQS batch holds 1 to 10 messages")
        self._sqs = sqs
        self._queue_url = queue_url
        self._invoke = invoke
        self._batch_size = batch_size
        self._report_failures = report_batch_item_failures
        self._wait_seconds = wait_seconds
        self._region = region
        self._log = log
        self._queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._loop = BackgroundLoop("sqs-poller", self._run)

    @property
    def queue_arn(self) -> str:
        return self._queue_arn

    def poll_once(self, wait_seconds: int | None = None) -> PollResult:
        """Receive one batch, invoke the handler, delete what succeeded."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_seconds if wait_seconds is None else wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return PollResult()
        records = [sqs_record(m, queue_arn=self._queue_arn, region=self._region) for m in messages]
        ids = [r["messageId"] for r in records]
        try:
            response = self._invoke({"Records": records})
        except Exception as exc:
            self._log(f"batch of {len(records)} failed, all return to the queue: {type(exc).__name__}: {exc}")
            self._log(traceback.format_exc())
            return PollResult(
                received=len(records), failed_ids=ids, batch_error=f"{type(exc).__name__}: {exc}"
            )
        # Without ReportBatchItemFailures Lambda ignores the response: a return is a full success.
        failed = failed_message_ids(response, ids) if self._report_failures else []
        succeeded = [r for r in records if r["messageId"] not in failed]
        if succeeded:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(succeeded)
                ],
            )
        summary = f"batch of {len(records)}: {len(succeeded)} done"
        if failed:
            counts = [
                r["attributes"].get("ApproximateReceiveCount", "?")
                for r in records
                if r["messageId"] in failed
            ]
            summary += f", {len(failed)} back to the queue (receive counts {', '.join(counts)})"
        self._log(summary)
        return PollResult(received=len(records), deleted=len(succeeded), failed_ids=failed)

    # -- background loop --------------------------------------------------------------------
    def start(self) -> None:
        self._loop.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._loop.stop(timeout)

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # the endpoint went away or hiccupped: keep polling, like Lambda
                if stopping.is_set():
                    return
                self._log(f"poll failed: {type(exc).__name__}: {exc}")
                stopping.wait(1.0)
