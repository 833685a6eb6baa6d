"""Error maps: each app's error style becomes the right class of the connector family."""

import httpx
import pytest

from ghlsync.apps.ekyte.errors import EKYTE_ERRORS
from ghlsync.apps.kayako.errors import KayakoErrorMap, KayakoNotFound, KayakoValidationError
from ghlsync.apps.kixie.errors import KIXIE_ERRORS
from ghlsync.core.errors import (
    ConnectorError,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    Validation,
)
from ghlsync.ghl.errors import GhlDuplicateContact, GhlErrorMap, GhlNotFound, GhlTransportError
from ghlsync.http.errors import ErrorMap, object_body, parse_retry_after, value_at
from tests.fixtures.http import FakeTime, Script, rest_client

GENERIC = ErrorMap(app="App")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, Validation),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (422, Validation),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (418, ConnectorError),
    ],
)
def test_the_status_table_picks_the_class(status: int, kind: type[ConnectorError]) -> None:
    # GIVEN an answer with that status / WHEN mapped / THEN the class from the table (5xx: ServerError)
    error = GENERIC.error_for(httpx.Response(status, json={"message": "m"}))
    assert type(error) is kind and error.status == status


def test_a_success_without_a_success_flag_is_no_error() -> None:
    # GIVEN a 200 / WHEN mapped by a map without a success flag / THEN no error
    assert GENERIC.error_for(httpx.Response(200, json={"success": False})) is None


def test_the_first_message_path_that_holds_text_is_the_message() -> None:
    # GIVEN a Kayako-style nested message / WHEN mapped / THEN it is read from errors.0.message
    error = GENERIC.error_for(httpx.Response(400, json={"errors": [{"message": "email is required"}]}))
    assert error is not None and error.message == "App 400: email is required"


def test_the_body_inspector_wins_over_the_table() -> None:
    # GIVEN an inspector that reads a 400 "already exists" as a conflict-free NotFound (any rule)
    def inspect(response: httpx.Response, body: object) -> ConnectorError | None:
        return NotFound("gone") if value_at(body, "code") == "GONE" else None

    error = ErrorMap(app="App", inspect=inspect).error_for(httpx.Response(400, json={"code": "GONE"}))
    # THEN the inspector's error is the answer
    assert isinstance(error, NotFound)


def test_ekyte_id_text_body_keeps_the_portuguese_text() -> None:
    # GIVEN eKyte's 404 {"id", "text"} / WHEN mapped / THEN NotFound with the original text
    response = httpx.Response(404, json={"id": 10, "text": "Empresa não encontrada"})
    error = EKYTE_ERRORS.error_for(response)
    assert isinstance(error, NotFound) and "Empresa não encontrada" in error.message


def test_ekyte_400_is_a_validation_error_with_its_text() -> None:
    # GIVEN eKyte's 400 / WHEN mapped / THEN a permanent Validation error carrying the text
    error = EKYTE_ERRORS.error_for(httpx.Response(400, json={"id": 6, "text": "Campo obrigatório"}))
    assert isinstance(error, Validation) and error.messages == ["eKyte 400: Campo obrigatório"]


def test_ekyte_empty_401_is_unauthorized() -> None:
    # GIVEN a wrong CompanyId: 401 with an empty body / WHEN mapped / THEN Unauthorized, reason as message
    error = EKYTE_ERRORS.error_for(httpx.Response(401))
    assert isinstance(error, Unauthorized) and error.message == "eKyte 401: Unauthorized"


def test_kixie_200_with_success_false_is_an_error() -> None:
    # GIVEN Kixie's HTTP 200 {"success": false, "error": ...} / WHEN mapped / THEN a permanent error
    response = httpx.Response(200, json={"success": False, "error": "function does not exist"})
    error = KIXIE_ERRORS.error_for(response)
    assert isinstance(error, Validation) and error.transient is False
    assert "function does not exist" in error.message and error.status == 200


def test_kixie_200_with_success_true_is_no_error() -> None:
    # GIVEN a successful Kixie answer / WHEN mapped / THEN no error
    assert KIXIE_ERRORS.error_for(httpx.Response(200, json={"success": True, "result": {}})) is None


def test_kixie_success_false_is_raised_by_the_client_without_retry(fake_time: FakeTime) -> None:
    # GIVEN a client on Kixie's map and a 200 success:false answer
    script = Script([httpx.Response(200, json={"success": False, "error": "bad key"})])
    # WHEN a call is made / THEN the client raises it after one request
    with pytest.raises(Validation, match="bad key"):
        rest_client(script, fake_time, errors=KIXIE_ERRORS).request("GET", "x")
    assert len(script.requests) == 1


def test_kayako_map_reads_errors_0_code_and_parameter() -> None:
    # GIVEN Kayako's error envelope / WHEN mapped / THEN its class, code and parameter are kept
    body = {"status": 400, "errors": [{"code": "FIELD_REQUIRED", "parameter": "email", "message": "m"}]}
    error = KayakoErrorMap().error_for(httpx.Response(400, json=body))
    assert isinstance(error, KayakoValidationError)
    assert (error.code, error.parameter) == ("FIELD_REQUIRED", "email")


def test_kayako_map_passes_successes() -> None:
    # GIVEN a 200 / WHEN mapped / THEN no error; a 404 is NotFound
    assert KayakoErrorMap().error_for(httpx.Response(200, json={})) is None
    assert isinstance(KayakoErrorMap().error_for(httpx.Response(404, json={})), KayakoNotFound)


def test_ghl_map_keeps_the_duplicate_contact_id() -> None:
    # GIVEN GHL's duplicate answer / WHEN mapped / THEN the existing contact is named
    body = {"message": "duplicate", "meta": {"contactId": "c9", "matchingField": "email"}}
    error = GhlErrorMap().error_for(httpx.Response(400, json=body))
    assert isinstance(error, GhlDuplicateContact) and error.existing_id == "c9"


def test_ghl_map_reads_a_400_not_found_as_not_found() -> None:
    # GIVEN GHL's 400 "Contact not found" / WHEN mapped / THEN NotFound
    error = GhlErrorMap().error_for(httpx.Response(400, json={"message": "Contact not found"}))
    assert isinstance(error, GhlNotFound)


def test_each_map_names_its_own_transport_error() -> None:
    # GIVEN a lost answer / WHEN each map builds the error / THEN each side's subclass, sent flag kept
    ghl = GhlErrorMap().transport_error("x", request_sent=False)
    generic = GENERIC.transport_error("x", request_sent=True)
    assert isinstance(ghl, GhlTransportError) and ghl.request_sent is False
    assert isinstance(generic, TransportError) and generic.request_sent is True


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), (" 2.5 ", 2.5), ("-1", None), ("soon", None), (None, None), ("", None)],
)
def test_retry_after_delta_seconds(value: str | None, seconds: float | None) -> None:
    # GIVEN a Retry-After value / WHEN parsed without a clock / THEN seconds, or None when unusable
    assert parse_retry_after(value) == seconds


def test_retry_after_http_date_needs_a_clock() -> None:
    # GIVEN an HTTP date 30 s after "now" / WHEN parsed with and without a clock
    date = "Thu, 01 Jan 2026 00:00:30 GMT"
    now = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    # THEN 30 s with the clock; unknown without; a date in the past is 0
    assert parse_retry_after(date, now=now) == 30.0
    assert parse_retry_after(date) is None
    assert parse_retry_after(date, now=now + 60) == 0.0


@pytest.mark.parametrize("content", [b"not json", b"[1, 2]"])
def test_a_success_body_that_is_not_a_json_object_is_the_sides_fault(content: bytes) -> None:
    # GIVEN a 200 whose body is not a JSON object
    response = httpx.Response(200, content=content)
    # WHEN it is read as an object
    with pytest.raises(ServerError) as caught:
        object_body(response, "Acme")
    # THEN it is a transient server error naming the side
    assert caught.value.transient and "Acme answered" in caught.value.message
