"""Kixie's webhook registry, managed by `call` (target-apps.md §3.4).

    POST /app/v1/api/postWebhook     {"apikey", "businessid", "call": "postWebhook", "eventname",
                                      "location", "name", "headers", "direction", "callresult",
                                      "disposition", "runtime"}
    POST /app/v1/api/postWebhook     the same with "call": "putWebhook", "webhookid"   (update)
    POST /app/v1/api/getWebhooks     {"apikey", "businessid", "call": "getWebhooks"}
    POST /app/v1/api/deleteWebhooks  {"apikey", "businessid", "call": "removeWebhook", "webhookid"}

Which path answers which `call` is data (`MANAGEMENT_CALLS`), because the casing differs between
Kixie's docs and live use: only `/postWebhook` (capital W) was seen to work, `/postwebhook`
answers "function does not exist". The update and delete paths are unconfirmed, so `putWebhook`
is also answered on its own `/putWebhook`. `headers` is a JSON-encoded string
`"[{\"name\":\"X-Token\",\"value\":\"…\"}]"` or the literal false; those headers ride on every
delivery. Posting the same registration twice makes two (Kixie does not de-duplicate).

Answers (their shape is unconfirmed): a created or updated registration is `{"success": true,
"data": <registration>}`, the list `{"success": true, "data": [<registration>, …]}`, a removal
`{"success": true}`; a registration reads back with the fields it was posted with.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sandbox.apps.kixie.answers import UNKNOWN_FUNCTION, Json, KixieError, missing

MANAGEMENT_CALLS: Mapping[str, frozenset[str]] = {
    "/app/v1/api/postWebhook": frozenset({"postWebhook", "putWebhook"}),
    "/app/v1/api/putWebhook": frozenset({"putWebhook"}),
    "/app/v1/api/getWebhooks": frozenset({"getWebhooks"}),
    "/app/v1/api/deleteWebhooks": frozenset({"removeWebhook"}),
}
# Webhook event names, with Kixie's casing (`SMS`, `disposition`); `powerdialattempt` may be
# dashboard-only, so the API refuses it.
EVENT_NAMES = frozenset(
    {
        "endcall",
        "startcall",
        "answeredcall",
        "SMS",
        "disposition",
        "voicemail",
        "scheduledactivity",
        "cisummary",
    }
)
FILTERS: Mapping[str, frozenset[str] | None] = {
    "direction": frozenset({"all", "incoming", "outgoing"}),
    "callresult": frozenset({"all", "answered", "missed"}),
    "disposition": None,  # "all" or a disposition name
    "runtime": frozenset({"realtime"}),
}
MAX_HEADERS = 10


@dataclass
class Registration:
    webhookid: str
    eventname: str
    location: str
    name: str
    headers: list[dict[str, str]] = field(default_factory=list)
    filters: dict[str, str] = field(
        default_factory=lambda: {k: "all" for k in FILTERS} | {"runtime": "realtime"}
    )

    def json(self) -> Json:
        return {
            "webhookid": self.webhookid,
            "eventname": self.eventname,
            "location": self.location,
            "name": self.name,
            "headers": json.dumps(self.headers) if self.headers else False,
            **self.filters,
        }

    def custom_headers(self) -> dict[str, str]:
        return {h["name"]: h["value"] for h in self.headers}

    def wants(self, eventname: str, data: Json) -> bool:
        """Does this registration receive the event? Its name, then its direction and call
        result filters (read from the call record, or an SMS's direction)."""
        if eventname != self.eventname:
            return False
        details = data.get("callDetails")
        record: Json = details if isinstance(details, dict) else data
        direction = record.get("calltype") or record.get("direction")
        if self.filters["direction"] != "all" and direction != self.filters["direction"]:
            return False
        result = record.get("callstatus")
        return self.filters["callresult"] == "all" or result in (None, self.filters["callresult"])


def parse_headers(value: object) -> list[dict[str, str]]:
    """`headers`: false, or a JSON-encoded string of [{"name", "value"}] (a bare list is refused)."""
    if value is None or value is False:
        return []
    if not isinstance(value, str):
        raise KixieError('headers must be false or a JSON-encoded string like [{"name":..,"value":..}]')
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise KixieError("headers is not valid JSON") from None
    if (
        not isinstance(parsed, list)
        or len(parsed) > MAX_HEADERS
        or not all(
            isinstance(h, dict)
            and isinstance(h.get("name"), str)
            and h["name"].strip()
            and isinstance(h.get("value"), str)
            for h in parsed
        )
    ):
        raise KixieError(f'headers is a list of at most {MAX_HEADERS} {{"name", "value"}} strings')
    return [{"name": h["name"].strip(), "value": h["value"]} for h in parsed]


def _location(body: Json) -> str:
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise missing("location")
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise KixieError("location must be an http(s) URL")
    return location


def _filters(body: Json, current: Mapping[str, str]) -> dict[str, str]:
    chosen = dict(current)
    for name, allowed in FILTERS.items():
        if name not in body:
            continue
        value = body[name]
        if not isinstance(value, str) or not value or (allowed is not None and value not in allowed):
            raise KixieError(f"{name} must be one of {', '.join(sorted(allowed or {'all'}))}")
        chosen[name] = value
    return chosen


class WebhookRegistry:
    def __init__(self, management_calls: Mapping[str, frozenset[str]] = MANAGEMENT_CALLS) -> None:
        self.management_calls = management_calls
        self.registrations: dict[str, Registration] = {}
        self._next_id = 70_001
        self._operations: dict[str, Callable[[Json], Json]] = {
            "postWebhook": self.create,
            "putWebhook": self.update,
            "getWebhooks": self.listing,
            "removeWebhook": self.remove,
        }

    def manage(self, path: str, body: Json) -> Json:
        """One management request: the `call` must be one its path answers."""
        call = body.get("call")
        if not isinstance(call, str) or call not in self.management_calls.get(path, frozenset()):
            raise KixieError(UNKNOWN_FUNCTION)
        return self._operations[call](body)

    def create(self, body: Json) -> Json:
        eventname = body.get("eventname")
        if eventname not in EVENT_NAMES:
            raise KixieError(f"eventname must be one of {', '.join(sorted(EVENT_NAMES))}")
        name = body.get("name", "")
        if not isinstance(name, str):
            raise KixieError("name must be a string")
        registration = Registration(
            webhookid=str(self._next_id),
            eventname=str(eventname),
            location=_location(body),
            name=name,
            headers=parse_headers(body.get("headers")),
        )
        registration.filters = _filters(body, registration.filters)
        self._next_id += 1
        self.registrations[registration.webhookid] = registration
        return {"data": registration.json()}

    def _registration(self, body: Json) -> Registration:
        webhookid = body.get("webhookid")
        if webhookid in (None, "") or isinstance(webhookid, bool) or not isinstance(webhookid, str | int):
            raise missing("webhookid")
        found = self.registrations.get(str(webhookid))
        if found is None:
            raise KixieError(f"webhook {webhookid} does not exist")
        return found

    def update(self, body: Json) -> Json:
        """putWebhook: the fields sent replace the registration's; everything is checked first."""
        registration = self._registration(body)
        eventname = body.get("eventname", registration.eventname)
        if eventname not in EVENT_NAMES:
            raise KixieError(f"eventname must be one of {', '.join(sorted(EVENT_NAMES))}")
        location = _location(body) if "location" in body else registration.location
        headers = parse_headers(body["headers"]) if "headers" in body else registration.headers
        filters = _filters(body, registration.filters)
        name = body.get("name", registration.name)
        if not isinstance(name, str):
            raise KixieError("name must be a string")
        registration.eventname, registration.location, registration.name = str(eventname), location, name
        registration.headers, registration.filters = headers, filters
        return {"data": registration.json()}

    def listing(self, body: Json) -> Json:
        return {"data": [r.json() for r in self.registrations.values()]}

    def remove(self, body: Json) -> Json:
        del self.registrations[self._registration(body).webhookid]
        return {}

    def for_event(self, eventname: str, data: Json) -> list[Registration]:
        return [r for r in self.registrations.values() if r.wants(eventname, data)]
