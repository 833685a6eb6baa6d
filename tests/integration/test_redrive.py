"""dlq_redrive end to end: the real handler (and the CLI) over the template's queues in moto."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from ghlsync import queue, redrive_cli
from ghlsync.config import get_settings
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.observability import metrics
from ghlsync.queue import FailureKind, SyncQueue
from sandbox.stack.lambda_runtime import LambdaContext, load_handler
from tests.fixtures.aws import AwsResources


def change(
    entity_id: str, *, location_id: str = "loc-1", event_type: str = "ContactUpdate", day: int = 1
) -> ChangeEvent:
    return ChangeEvent(
        event_id=f"ev-{entity_id}",
        location_id=location_id,
        source="ghl",
        entity=EntityKind.CONTACT,
        action=ChangeAction.UPSERT,
        entity_id=entity_id,
        occurred_at=datetime(2026, 5, day, 12, tzinfo=UTC),
        event_type=event_type,
    )


@dataclass
class Redrive:
    aws: AwsResources
    queue: SyncQueue

    def invoke(self, action: str, *, max: int = 100, **match: Any) -> dict[str, Any]:
        event = {"action": action, "filter": match, "max": max}
        result: dict[str, Any] = load_handler("functions/dlq_redrive")(event, LambdaContext())
        return result

    def dead_letter(self, event: ChangeEvent, reason: str = "GHL 422", redrive_count: int = 0) -> None:
        """What the worker does when it gives up on a message."""
        self.queue.dead_letter(
            event,
            reason=reason,
            kind=FailureKind.PERMANENT,
            source_message_id=f"msg-{event.event_id}-{redrive_count}",
            redrive_count=redrive_count,
        )

    def main_queue(self) -> list[dict[str, Any]]:
        response = self.aws.sqs.receive_message(
            QueueUrl=self.aws.queue_url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [dict(message) for message in response.get("Messages", [])]


@pytest.fixture
def redrive(aws: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Redrive]:
    """GIVEN DlqRedriveFunction's environment (short DLQ polls: moto answers at once anyway)."""
    for name, value in aws.stack.function_environment("DlqRedriveFunction").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DLQ_RECEIVE_WAIT_SECONDS", "0")
    monkeypatch.setattr(metrics, "namespace", aws.env["POWERTOOLS_METRICS_NAMESPACE"])
    get_settings.cache_clear()
    queue.sqs_client.cache_clear()
    yield Redrive(aws, SyncQueue.from_settings())
    get_settings.cache_clear()
    queue.sqs_client.cache_clear()


def test_list_shows_reasons_and_loses_nothing(redrive: Redrive) -> None:
    # GIVEN two dead letters
    redrive.dead_letter(change("c-1"), reason="GHL 422: email invalid")
    redrive.dead_letter(change("c-2"), reason="GHL 400: bad phone")
    # WHEN listed twice in a row
    first = redrive.invoke("list")
    second = redrive.invoke("list")
    # THEN both listings show both, with reasons: nothing deleted, nothing left invisible
    assert first["count"] == second["count"] == 2
    reasons = {letter["event"]["entity_id"]: letter["failure_reason"] for letter in first["dead_letters"]}
    assert reasons == {"c-1": "GHL 422: email invalid", "c-2": "GHL 400: bad phone"}
    assert {letter["failure_kind"] for letter in first["dead_letters"]} == {"permanent"}


def test_list_filters_by_location(redrive: Redrive) -> None:
    # GIVEN dead letters of two locations WHEN listed for one THEN only its letters come back
    redrive.dead_letter(change("c-1", location_id="loc-1"))
    redrive.dead_letter(change("c-2", location_id="loc-2"))
    listed = redrive.invoke("list", location_id="loc-2")
    assert [letter["event"]["entity_id"] for letter in listed["dead_letters"]] == ["c-2"]


def test_list_respects_max(redrive: Redrive) -> None:
    # GIVEN three dead letters WHEN listed with max 2 THEN two come back
    for entity_id in ("c-1", "c-2", "c-3"):
        redrive.dead_letter(change(entity_id))
    assert redrive.invoke("list", max=2)["count"] == 2


def test_message_moved_by_sqs_lists_with_unknown_reason(redrive: Redrive) -> None:
    # GIVEN a message SQS's own redrive policy moved (original attributes, no failure reason)
    redrive.aws.sqs.send_message(
        QueueUrl=redrive.aws.dlq_url,
        MessageBody=change("c-1").model_dump_json(),
        MessageGroupId="loc-1",
        MessageDeduplicationId="ev-c-1",
    )
    # WHEN listed THEN it shows, with kind unknown and that explained
    [letter] = redrive.invoke("list")["dead_letters"]
    assert letter["failure_kind"] == "unknown"
    assert "no reason recorded" in letter["failure_reason"]


def test_redrive_sends_back_with_a_fresh_dedup_id_then_deletes(redrive: Redrive) -> None:
    # GIVEN a dead letter of an event the main queue already saw (its event_id was the dedup id)
    redrive.queue.enqueue(change("c-1"))
    [first] = redrive.main_queue()
    redrive.aws.sqs.delete_message(QueueUrl=redrive.aws.queue_url, ReceiptHandle=first["ReceiptHandle"])
    redrive.dead_letter(change("c-1"))
    # WHEN redriven
    report = redrive.invoke("redrive")
    # THEN it is back on the main queue, same event_id, marked redriven, dedup id <event_id>:redrive:1
    assert report["redriven"] == 1
    [message] = redrive.main_queue()
    event = ChangeEvent.model_validate_json(message["Body"])
    assert (event.event_id, event.redriven) == ("ev-c-1", True)
    assert message["Attributes"]["MessageDeduplicationId"] == "ev-c-1:redrive:1"
    assert message["Attributes"]["MessageGroupId"] == "loc-1"
    # AND the dead letter is gone
    assert redrive.invoke("list")["count"] == 0


def test_second_redrive_of_the_same_event_gets_the_next_dedup_id(redrive: Redrive) -> None:
    # GIVEN an event that failed again after one redrive (the worker carries redrive_count over)
    redrive.dead_letter(change("c-1"), redrive_count=1)
    # WHEN redriven again THEN its dedup id is :redrive:2, so FIFO does not swallow it
    redrive.invoke("redrive")
    [message] = redrive.main_queue()
    assert message["Attributes"]["MessageDeduplicationId"] == "ev-c-1:redrive:2"
    assert message["MessageAttributes"]["redrive_count"]["StringValue"] == "2"


def test_redrive_by_type_and_time_range_leaves_the_rest(redrive: Redrive) -> None:
    # GIVEN letters of two types on two days
    redrive.dead_letter(change("c-1", event_type="ContactUpdate", day=1))
    redrive.dead_letter(change("c-2", event_type="ContactUpdate", day=3))
    redrive.dead_letter(change("c-3", event_type="ContactDelete", day=1))
    # WHEN ContactUpdate events of day 1 (up to day 2) are redriven
    report = redrive.invoke(
        "redrive", event_type="ContactUpdate", occurred_before="2026-05-02T00:00:00+00:00"
    )
    # THEN only c-1 moved; the other two remain in the DLQ
    assert report["event_ids"] == ["ev-c-1"]
    remaining = {letter["event"]["entity_id"] for letter in redrive.invoke("list")["dead_letters"]}
    assert remaining == {"c-2", "c-3"}


def test_unreadable_dead_letter_is_listed_but_never_redriven(redrive: Redrive) -> None:
    # GIVEN a dead letter whose body is not a ChangeEvent
    redrive.queue.dead_letter(
        "garbage", reason="not a ChangeEvent", kind=FailureKind.UNREADABLE, source_message_id="m"
    )
    # WHEN redriving everything THEN it stays (reported), and an unfiltered list still shows it
    assert redrive.invoke("redrive")["unreadable"] == 1
    [letter] = redrive.invoke("list")["dead_letters"]
    assert (letter["event"], letter["failure_kind"]) == (None, "unreadable")


def test_a_failed_send_stops_the_redrive_and_keeps_the_dead_letter(
    redrive: Redrive, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a dead letter, and a main queue that refuses messages
    redrive.dead_letter(change("c-1"))
    client = queue.sqs_client()

    def refuse(**_: Any) -> None:
        raise client.exceptions.QueueDoesNotExist({"Error": {"Code": "QueueDoesNotExist"}}, "SendMessage")

    with monkeypatch.context() as patch:
        patch.setattr(client, "send_message", refuse)
        report = redrive.invoke("redrive")
    # THEN the report says why it stopped, and the dead letter is still there (visible again)
    assert (report["redriven"], report["error"] is not None) == (0, True)
    assert redrive.invoke("list")["count"] == 1


def test_cli_lists_with_filters(redrive: Redrive, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN dead letters of two locations WHEN the CLI lists one location THEN it prints just those, exit 0
    redrive.dead_letter(change("c-1", location_id="loc-1"))
    redrive.dead_letter(change("c-2", location_id="loc-2"))
    assert redrive_cli.main(["list", "--location", "loc-1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [letter["event"]["entity_id"] for letter in printed["dead_letters"]] == ["c-1"]


def test_cli_lists_a_table_for_people(redrive: Redrive, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN one dead letter WHEN the CLI lists without --json THEN a header and one line with its location
    redrive.dead_letter(change("c-1", location_id="loc-1"))
    assert redrive_cli.main(["list"]) == 0
    header, *lines = capsys.readouterr().out.strip().splitlines()
    assert header.split()[:3] == ["MESSAGE_ID", "FAILED_AT", "LOCATION_ID"]
    assert len(lines) == 1 and "loc-1" in lines[0]


def test_cli_refuses_a_bad_time_bound(redrive: Redrive, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a time bound that is not ISO 8601 WHEN the CLI runs THEN exit 2 with the problem on stderr
    assert redrive_cli.main(["redrive", "--after", "last tuesday"]) == 2
    assert "occurred_after" in capsys.readouterr().err
