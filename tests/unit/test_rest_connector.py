"""The declarative REST connector over httpx.MockTransport: what a spec says is what goes on the
wire (auth, paging, field transforms, rules), for conventions the sandbox's two styles do not use."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ghlsync.apps.rest.connector import RestConnector
from ghlsync.apps.rest.credentials import RestCredentials
from ghlsync.apps.rest.loading import load_spec
from ghlsync.apps.rest.transforms import UnreadableRecord, to_app, to_canonical
from ghlsync.mapping.canonical import CanonicalContact

Handler = Callable[[httpx.Request], httpx.Response]
NOW = 1_800_000_000.0


def spec(**overrides: Any) -> dict[str, Any]:
    """A small app: OAuth2 refresh tokens, offset paging, a nested custom field, epoch times."""
    base: dict[str, Any] = {
        "name": "mini",
        "base_url": "https://mini.example/api",
        "auth": {
            "kind": "oauth2_refresh_token",
            "token_url": "https://mini.example/token",
            "client_id": "cid",
        },
        "paging": {"kind": "offset", "page_size": 2},
        "entities": {
            "contact": {
                "record": {
                    "single": "contact",
                    "list": "contacts",
                    "updated_at": "modified",
                    "updated_at_format": "epoch",
                },
                "get": {"path": "/people/{id}"},
                "create": {"method": "POST", "path": "/people", "record_key": "contact"},
                "list": {"path": "/people"},
                "fields": [
                    {"app": "given", "canonical": "first_name"},
                    {"app": "mail", "canonical": "email", "transform": "lower"},
                    {"app": "extra.tier", "canonical": "custom_fields.tier"},
                    {"app": "origin", "constant": "ghl-sync", "direction": "to_app"},
                    {"app": "score", "canonical": "custom_fields.score", "direction": "from_app"},
                ],
            },
            "task": {
                "record": {"single": "task", "parent_id": "person"},
                "get": {"path": "/tasks/{id}"},
                "create": {"method": "POST", "path": "/people/{contact_id}/tasks", "record_key": "task"},
                "fields": [{"app": "subject", "canonical": "title"}],
            },
        },
    }
    return {**base, **overrides}


def connector(
    handler: Handler, data: dict[str, Any], persisted: list[dict[str, str]] | None = None
) -> RestConnector:
    return RestConnector(
        httpx.Client(transport=httpx.MockTransport(handler)),
        load_spec(data),
        RestCredentials.model_validate({"refresh_token": "rt-1", "webhook_secret": "s" * 16}),
        name="generic",
        location_id="loc",
        connection_id="conn",
        sleep=lambda _: None,
        clock=lambda: NOW,
        wall_clock=lambda: NOW,
        persist=(persisted.append if persisted is not None else lambda _: None),
    )


def test_a_rotated_refresh_token_is_stored_before_the_access_token_is_used() -> None:
    # GIVEN a token endpoint that rotates the refresh token
    seen: list[str] = []
    persisted: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            seen.append("token:" + request.content.decode())
            return httpx.Response(
                200, json={"access_token": "at-1", "refresh_token": "rt-2", "expires_in": 3600}
            )
        seen.append(f"api:{request.headers['authorization']}:stored={persisted}")
        return httpx.Response(200, json={"contact": {"id": "p1", "given": "Ada", "modified": NOW}})

    # WHEN a contact is read
    contact = connector(handler, spec(), persisted).get_contact("p1")
    # THEN the refresh grant went first, and the new refresh token was stored before the API call
    assert contact is not None and contact.first_name == "Ada"
    assert "grant_type=refresh_token" in seen[0] and "refresh_token=rt-1" in seen[0]
    assert seen[1] == "api:Bearer at-1:stored=[{'refresh_token': 'rt-2'}]"


def test_offset_paging_reads_every_page_and_stops_at_a_short_one() -> None:
    offsets: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "at"})
        offset = int(request.url.params["offset"])
        offsets.append(f"{offset}/{request.url.params['limit']}")
        people = [{"id": f"p{i}", "modified": NOW} for i in range(offset, min(offset + 2, 3))]
        return httpx.Response(200, json={"contacts": people})

    events = list(connector(handler, spec()).list_all_changes())
    assert [e.entity_id for e in events] == ["p0", "p1", "p2"]
    assert offsets == ["0/2", "2/2"]


def test_the_full_pass_filter_rides_on_the_contact_listing() -> None:
    queries: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "at"})
        queries.append(dict(request.url.params))
        return httpx.Response(200, json={"contacts": []})

    data = spec(rules={"full_pass": {"filter": {"businessId": "42"}}})
    assert list(connector(handler, data).list_all_changes()) == []
    assert queries == [{"businessId": "42", "offset": "0", "limit": "2"}]


def test_link_header_paging_follows_rel_next() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "at"})
        if request.url.params.get("after") == "p1":
            return httpx.Response(200, json={"contacts": [{"id": "p2", "modified": NOW}]})
        link = '<https://mini.example/api/people?after=p1>; rel="next"'
        return httpx.Response(200, json={"contacts": [{"id": "p1", "modified": NOW}]}, headers={"Link": link})

    events = list(connector(handler, spec(paging={"kind": "link"})).list_all_changes())
    assert [e.entity_id for e in events] == ["p1", "p2"]


def test_a_next_link_off_the_specs_base_url_is_refused_not_followed() -> None:
    # GIVEN an app whose first page points its next link at another host
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "at"})
        hosts.append(request.url.host)
        link = '<https://elsewhere.example/api/people?after=p1>; rel="next"'
        return httpx.Response(200, json={"contacts": [{"id": "p1", "modified": NOW}]}, headers={"Link": link})

    # WHEN every contact is listed
    with pytest.raises(UnreadableRecord, match="off its base URL"):
        list(connector(handler, spec(paging={"kind": "link"})).list_all_changes())
    # THEN no request (and no credential) went to the other host
    assert hosts == ["mini.example"]


def test_a_contact_listing_resumes_at_the_offset_its_cursor_names() -> None:
    # GIVEN three contacts, two to a page
    offsets: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "at"})
        offset = int(request.url.params["offset"])
        offsets.append(request.url.params["offset"])
        people = [{"id": f"p{i}", "modified": NOW} for i in range(offset, min(offset + 2, 3))]
        return httpx.Response(200, json={"contacts": people})

    # WHEN the listing starts from the first page's cursor
    pages = list(connector(handler, spec()).contact_pages(start="2", page_size=100))
    # THEN it asked for offset 2 only, and that page ends the listing
    assert offsets == ["2"]
    assert [[c.id for c in p.contacts] for p in pages] == [["p2"]] and pages[-1].next_cursor is None


def test_new_contact_task_templates_are_created_with_the_contact() -> None:
    # GIVEN a rule attaching a welcome task to every contact this connector creates
    bodies: list[tuple[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "at"})
        bodies.append((request.url.path, json.loads(request.content)))
        if request.url.path == "/api/people":
            return httpx.Response(201, json={"contact": {"id": "p9", "given": "Ada", "modified": NOW}})
        return httpx.Response(201, json={"task": {"id": "t1", "subject": "Welcome call", "person": "p9"}})

    data = spec(rules={"new_contact_tasks": [{"title": "Welcome call", "due_in_days": 2}]})
    # WHEN a contact is created
    connector(handler, data).create_contact(CanonicalContact(first_name="Ada", email="Ada@Example.com"))
    # THEN the contact (record key, constant, lower-cased e-mail) and then its task were posted
    assert bodies == [
        ("/api/people", {"contact": {"given": "Ada", "mail": "ada@example.com", "origin": "ghl-sync"}}),
        ("/api/people/p9/tasks", {"task": {"subject": "Welcome call"}}),
    ]


def test_fields_nest_and_one_way_fields_stay_one_way() -> None:
    entity = load_spec(spec()).entities.contact
    record = {"given": "Ada", "extra": {"tier": "gold"}, "score": 7, "origin": "elsewhere"}
    canonical = to_canonical(entity, record, default_country=None, what="contact")
    assert canonical == {"first_name": "Ada", "custom_fields": {"tier": "gold", "score": 7}}
    written = to_app(
        entity, {"first_name": "Ada", "custom_fields": {"tier": "gold", "score": 7}}, default_country=None
    )
    assert written == {"given": "Ada", "extra": {"tier": "gold"}, "origin": "ghl-sync"}


def test_an_update_sends_only_the_changed_fields_and_a_cleared_one_as_null() -> None:
    entity = load_spec(spec()).entities.contact
    written = to_app(
        entity,
        {"first_name": None, "email": "a@b.c"},
        default_country=None,
        changed=frozenset({"first_name"}),
    )
    assert written == {"given": None}


def test_an_epoch_update_time_is_read_as_utc() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "at"})
        return httpx.Response(200, json={"contact": {"id": "p1", "modified": 1_700_000_000}})

    contact = connector(handler, spec()).get_contact("p1")
    assert contact is not None and contact.updated_at == datetime.fromtimestamp(1_700_000_000, UTC)


def test_polling_applies_the_full_pass_filter_and_writes_since_in_its_format() -> None:
    # GIVEN a contact change listing with an epoch `since`, and a full-pass filter
    queries: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "at"})
        queries.append(dict(request.url.params))
        return httpx.Response(200, json={"contacts": [{"id": "p1", "modified": 1_700_000_100}]})

    data = spec(rules={"full_pass": {"filter": {"businessId": "42"}}}, inbound={"polling": {}})
    data["entities"]["contact"]["list_changed_since"] = {
        "path": "/people",
        "query": {"changed_after": "{since}"},
        "since_format": "epoch",
        "paging": {"kind": "none"},
    }
    # WHEN the changes since a moment are listed
    since = datetime.fromtimestamp(1_700_000_000, UTC)
    events = list(connector(handler, data).list_changes(since))
    # THEN the listing carried both, and the changed contact came back as an upsert
    assert queries == [{"changed_after": "1700000000", "businessId": "42"}]
    assert [(e.entity_id, e.occurred_at) for e in events] == [
        ("p1", datetime.fromtimestamp(1_700_000_100, UTC))
    ]


def test_a_full_pass_without_polling_declares_a_feed_for_its_cadence_only() -> None:
    # GIVEN a spec with a full pass every 2 hours and no polling
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json={"contacts": []})

    data = spec(rules={"full_pass": {"filter": {"businessId": "42"}, "every_minutes": 120}})
    app = connector(handler, data)
    # THEN its feed carries the cadence, and listing the changes asks the app nothing
    feed = app.capabilities.inbound.feed
    assert feed is not None and feed.full_pass_every == timedelta(hours=2) and feed.full_listing
    assert list(app.list_changes(datetime.fromtimestamp(NOW, UTC))) == [] and calls == []
