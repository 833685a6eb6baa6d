"""What an API style of the generic fake is: its auth, field names and formats, envelope, paging,
error shape and routes over the shared store. `Style` holds what both styles do the same way
(the record routes, the body checks); `style_a` and `style_b` hold only their differences.

A body is checked against the style's field table: each field of the style's names has a reader
that turns its value into neutral store fields, or raises a 422 naming the field. An unknown or
read-only field is a 422 too (a real API rejects what it does not store, which is how a spec
file's field map finds out it is wrong); a body that is not a JSON object is a 400.
"""

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, Response, request

from sandbox.apps.generic.store import ApiError, Json, Kind, Record, bad_request, invalid
from sandbox.fakes.faults import Fault, FaultKind
from sandbox.fakes.ratelimit import Verdict

if TYPE_CHECKING:
    from sandbox.apps.generic.sandbox import GenericSandbox

FieldReader = Callable[[Any], Json]
"""A body field's value -> the neutral store fields it sets (raises `invalid`)."""


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=dict(headers or {}), content_type="application/json")


def json_body() -> Json:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise bad_request("the body must be a JSON object")
    return data


def int_arg(name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise bad_request(f"{name} must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise bad_request(f"{name} must be between {minimum} and {maximum or 'any'}")
    return value


def time_arg(name: str, parse: Callable[[str], float]) -> float | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise bad_request(f"{name} is not a time this API reads: {raw!r}") from None


# -- field readers, shared by both styles' tables --------------------------------------------
def text(name: str, store_as: str, *, nullable: bool = True, required: bool = False) -> FieldReader:
    def read(value: Any) -> Json:
        if value is None and nullable and not required:
            return {store_as: None}
        if not isinstance(value, str) or (required and not value.strip()):
            raise invalid(name, "must be a non-empty string" if required else "must be a string")
        return {store_as: value}

    return read


def email(name: str) -> FieldReader:
    def read(value: Any) -> Json:
        if value is not None and (not isinstance(value, str) or "@" not in value.strip()[1:-1]):
            raise invalid(name, "must be an e-mail address or null")
        return {"email": value.strip() if isinstance(value, str) else None}

    return read


def tag_list(name: str) -> FieldReader:
    def read(value: Any) -> Json:
        if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
            raise invalid(name, "must be a list of non-empty strings")
        return {"tags": list(dict.fromkeys(value))}

    return read


def choice(name: str, store_as: str, values: Mapping[str, Any]) -> FieldReader:
    def read(value: Any) -> Json:
        if value not in values:
            raise invalid(name, f"must be one of {', '.join(map(str, values))}")
        return {store_as: values[value]}

    return read


def moment(name: str, store_as: str, parse: Callable[[str], float]) -> FieldReader:
    def read(value: Any) -> Json:
        if value is None:
            return {store_as: None}
        try:
            return {store_as: parse(value) if isinstance(value, str) else parse("")}
        except ValueError:
            raise invalid(name, "is not a date this API reads") from None

    return read


def read_body(table: Mapping[str, FieldReader], body: Json, *, required: tuple[str, ...] = ()) -> Json:
    """The neutral fields `body` sets; `required` fields must be present (when creating)."""
    unknown = sorted(set(body) - set(table))
    if unknown:
        raise invalid(unknown[0], "is not a field this API accepts here")
    missing = [name for name in required if body.get(name) is None]
    if missing:
        raise invalid(missing[0], "is required")
    values: Json = {}
    for name, value in body.items():
        values.update(table[name](value))
    return values


def utc_from_format(fmt: str) -> Callable[[str], float]:
    def parse(value: str) -> float:
        return datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()

    return parse


def utc_format(fmt: str) -> Callable[[float | None], str | None]:
    def render(at: float | None) -> str | None:
        return None if at is None else datetime.fromtimestamp(at, UTC).strftime(fmt)

    return render


class Style(ABC):
    name: str
    api_path: str  # base URL = the fake's origin + this
    record_paths: Mapping[Kind, str]  # kind -> the collection path of its records (no api_path)
    update_methods: tuple[str, ...] = ("PATCH",)

    # -- what a style must say ----------------------------------------------------------------
    @abstractmethod
    def authorised(self, sb: "GenericSandbox", req: Request) -> bool: ...

    @abstractmethod
    def error_body(self, error: ApiError) -> Json: ...

    @abstractmethod
    def render(self, record: Record) -> Json: ...

    @abstractmethod
    def read(self, kind: Kind, body: Json, *, creating: bool) -> Json:
        """The neutral fields of a create or update body of `kind` (422 on a bad field)."""

    @abstractmethod
    def one(self, record: Record, *, created: bool = False) -> Response: ...

    @abstractmethod
    def many(self, records: list[Record]) -> Response:
        """One page of `records` (the whole listing, in order), in the style's envelope."""

    @abstractmethod
    def deleted(self) -> Response: ...

    @abstractmethod
    def add_collection_routes(self, app: Flask, sb: "GenericSandbox") -> None:
        """Listing and creating records, and tags: where the styles differ."""

    def limit_headers(self, verdict: Verdict | None, resets_at: int) -> dict[str, str]:
        """Rate-limit headers on every API answer (none unless the style sends them)."""
        return {}

    # -- what both do the same way ------------------------------------------------------------
    def error(self, error: ApiError, headers: Mapping[str, str] | None = None) -> Response:
        return json_response(self.error_body(error), error.status, headers)

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind is FaultKind.RATE_LIMIT:
            limited = ApiError(429, "rate_limited", "too many requests")
            return self.error(limited, {"Retry-After": "1", **self.limit_headers(None, 0)})
        return self.error(ApiError(fault.status or 500, "server_error", "internal server error"))

    def add_routes(self, app: Flask, sb: "GenericSandbox") -> None:
        """GET/PATCH/DELETE of one record of each kind, then the style's collection routes."""
        store = sb.store

        def get(kind: Kind, record_id: str) -> Response:
            return self.one(store.get(kind, record_id))

        def update(kind: Kind, record_id: str) -> Response:
            store.get(kind, record_id)
            return self.one(store.update(kind, record_id, self.read(kind, json_body(), creating=False)))

        def delete(kind: Kind, record_id: str) -> Response:
            store.delete(kind, record_id)
            return self.deleted()

        for kind, path in self.record_paths.items():
            rule = f"{self.api_path}{path}/<record_id>"
            app.add_url_rule(rule, f"get_{kind}", partial(get, kind), methods=["GET"])
            app.add_url_rule(rule, f"update_{kind}", partial(update, kind), methods=list(self.update_methods))
            app.add_url_rule(rule, f"delete_{kind}", partial(delete, kind), methods=["DELETE"])
        self.add_collection_routes(app, sb)
