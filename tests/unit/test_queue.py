"""Pure parts of the queue and the worker: ids, filters, dead-letter reading, backoff, requests."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.queue import NO_REASON, DeadLetter, DeadLetterFilter, FailureKind, RedriveRequest, sqs_id
from ghlsync.worker import MAX_VISIBILITY_SECONDS, backoff_seconds


def event(**fields: object) -> ChangeEvent:
    values: dict[str, object] = {
        "event_id": "wh-1",
        "location_id": "loc-1",
        "source": "ghl",
        "entity": EntityKind.CONTACT,
        "action": ChangeAction.UPSERT,
        "entity_id": "c-1",
        "occurred_at": datetime(2026, 5, 1, 12, tzinfo=UTC),
        "event_type": "ContactUpdate",
        **fields,
    }
    return ChangeEvent.model_validate(values)


def test_sqs_id_keeps_a_valid_id() -> None:
    # GIVEN an id made of allowed characters THEN it is used as is
    assert sqs_id("wh-1:redrive:2") == "wh-1:redrive:2"


@pytest.mark.parametrize("value", ["a" * 129, "has space", "ünïcode"], ids=["too-long", "space", "unicode"])
def test_sqs_id_hashes_what_sqs_would_refuse(value: str) -> None:
    # GIVEN an id SQS refuses (too long, forbidden characters) THEN a stable 71-character hash stands in
    assert sqs_id(value).startswith("sha256:")
    assert len(sqs_id(value)) == 71
    assert sqs_id(value) == sqs_id(value)


def test_empty_filter_matches_everything() -> None:
    # GIVEN no criteria THEN any event matches
    assert DeadLetterFilter().matches(event())


def test_filter_needs_every_given_field_to_match() -> None:
    # GIVEN location and type criteria THEN an event matching only one of them does not match
    match = DeadLetterFilter(location_id="loc-1", event_type="ContactDelete")
    assert not match.matches(event())
    assert match.matches(event(event_type="ContactDelete"))


def test_filter_time_range_is_inclusive_on_occurred_at() -> None:
    # GIVEN a range whose bounds equal the event's timestamp THEN it matches; a later range does not
    instant = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert DeadLetterFilter(occurred_after=instant, occurred_before=instant).matches(event())
    assert not DeadLetterFilter(occurred_after=datetime(2026, 5, 2, tzinfo=UTC)).matches(event())


def test_filter_on_connection() -> None:
    # GIVEN a connection criterion THEN GHL events (no connection) do not match, the app's do
    match = DeadLetterFilter(connection_id="conn-1")
    assert not match.matches(event())
    assert match.matches(event(source="kayako", connection_id="conn-1"))


def test_dead_letter_reads_the_attached_reason() -> None:
    # GIVEN a DLQ message the worker wrote THEN its reason, kind, time and redrive count are read back
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": event().model_dump_json(),
        "MessageAttributes": {
            "failure_reason": {"DataType": "String", "StringValue": "GHL said 422"},
            "failure_kind": {"DataType": "String", "StringValue": "permanent"},
            "failed_at": {"DataType": "String", "StringValue": "2026-05-01T12:00:00+00:00"},
            "redrive_count": {"DataType": "Number", "StringValue": "2"},
        },
    }
    letter = DeadLetter.from_message(message)  # type: ignore[arg-type]
    assert (letter.failure_kind, letter.failure_reason, letter.redrive_count) == (
        FailureKind.PERMANENT,
        "GHL said 422",
        2,
    )
    assert letter.event is not None and letter.event.event_id == "wh-1"


def test_dead_letter_moved_by_sqs_has_unknown_kind() -> None:
    # GIVEN a message SQS moved itself (no failure attributes) THEN it lists as unknown, with that explained
    message = {"MessageId": "m-1", "ReceiptHandle": "r-1", "Body": event().model_dump_json()}
    letter = DeadLetter.from_message(message)  # type: ignore[arg-type]
    assert (letter.failure_kind, letter.failure_reason, letter.redrive_count) == (
        FailureKind.UNKNOWN,
        NO_REASON,
        0,
    )


def test_dead_letter_with_a_foreign_body_has_no_event() -> None:
    # GIVEN a DLQ body that is not a ChangeEvent THEN it is still listed, with event None
    letter = DeadLetter.from_message({"MessageId": "m-1", "ReceiptHandle": "r", "Body": "hello"})
    assert letter.event is None
    assert "receipt_handle" not in letter.model_dump()


@pytest.mark.parametrize("receive_count,ceiling", [(1, 10), (2, 20), (3, 40), (7, 640), (8, 900), (30, 900)])
def test_backoff_is_full_jitter_under_a_capped_exponential(receive_count: int, ceiling: int) -> None:
    # GIVEN base 10 s, cap 900 s THEN the delay spans [0, min(cap, base * 2^(n-1))]
    assert backoff_seconds(receive_count, base=10, cap=900, rng=lambda: 0.0) == 0
    assert backoff_seconds(receive_count, base=10, cap=900, rng=lambda: 1.0) == ceiling
    assert backoff_seconds(receive_count, base=10, cap=900, rng=lambda: 0.5) == ceiling // 2


def test_backoff_honours_a_longer_retry_after() -> None:
    # GIVEN a 429 asking for 42.5 s and a jitter draw of 0 THEN the wait is the server's (rounded up)
    assert backoff_seconds(1, base=10, cap=900, retry_after=42.5, rng=lambda: 0.0) == 43


def test_backoff_keeps_a_longer_jitter_over_a_short_retry_after() -> None:
    # GIVEN retry_after 1 s and a jitter of 30 s THEN the longer wait wins
    assert backoff_seconds(4, base=10, cap=900, retry_after=1, rng=lambda: 0.375) == 30


def test_backoff_never_exceeds_what_sqs_accepts() -> None:
    # GIVEN a retry_after beyond 12 hours THEN the visibility timeout stays at SQS's maximum
    assert backoff_seconds(1, base=10, cap=900, retry_after=10**6, rng=lambda: 0.0) == MAX_VISIBILITY_SECONDS


def test_redrive_request_reads_the_function_event() -> None:
    # GIVEN the documented event shape THEN it parses, with "filter" into the filter model
    request = RedriveRequest.model_validate(
        {"action": "redrive", "filter": {"location_id": "loc-1"}, "max": 5}
    )
    assert (request.action, request.match.location_id, request.max) == ("redrive", "loc-1", 5)


@pytest.mark.parametrize(
    "document",
    [
        {"action": "delete"},
        {"action": "list", "filter": {"locaton_id": "typo"}},
        {"action": "list", "max": 0},
    ],
    ids=["unknown-action", "unknown-filter-field", "max-zero"],
)
def test_redrive_request_refuses_what_it_cannot_honour(document: dict[str, object]) -> None:
    # GIVEN a request with a typo or nonsense THEN it is refused rather than half-applied
    with pytest.raises(ValidationError):
        RedriveRequest.model_validate(document)
