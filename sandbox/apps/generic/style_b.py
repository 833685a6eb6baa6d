"""Style B of the generic fake: API key in the query, bare JSON, page numbers, PascalCase fields with
`FirstName`/`LastName`, tags as a replace-the-list field, no webhooks (polling by `ModifiedSince`).

    GET    /b/Contacts?page&pageSize&ModifiedSince&Email&Phone&Company   bare array (ascending ModifiedOn)
    POST   /b/Contacts                          200 with the record
    GET|PATCH|PUT|DELETE /b/Contacts/{Id}       PATCH/PUT are partial; `Tags` replaces the list;
                                                DELETE: 200 {}
    GET    /b/Contacts/{Id}/Tasks|Notes         the contact's tasks / notes (paged)
    GET    /b/Tasks|Notes?ModifiedSince&page&pageSize, POST /b/Tasks|Notes (with `ContactId`)
    GET|PATCH|PUT|DELETE /b/Tasks/{Id}, /b/Notes/{Id}

Every request carries `?api_key=`. Pages are 1-based (`pageSize` 1-100, default 25); a page
shorter than `pageSize` is the last. Times are `%Y-%m-%d %H:%M:%S` in UTC without a zone,
`ModifiedSince` inclusive; `DueDate` is `%Y-%m-%d`. With a rate limit set, every answer carries
`X-RateLimit-Remaining` and `X-RateLimit-Reset` (unix seconds when the minute's budget resets).
Errors: `{"Message", "ErrorCode", "Field"}`. A deleted record is only seen missing from a listing.
"""

import hmac
from functools import partial
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, Response, request

from sandbox.apps.generic.store import ApiError, Contact, Json, Kind, Note, Record, Task, invalid
from sandbox.apps.generic.styles import (
    FieldReader,
    Style,
    choice,
    email,
    int_arg,
    json_body,
    json_response,
    moment,
    read_body,
    tag_list,
    text,
    time_arg,
    utc_format,
    utc_from_format,
)
from sandbox.fakes.ratelimit import Verdict

if TYPE_CHECKING:
    from sandbox.apps.generic.sandbox import GenericSandbox

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
render_time, parse_time = utc_format(TIME_FORMAT), utc_from_format(TIME_FORMAT)
render_date, parse_date = utc_format(DATE_FORMAT), utc_from_format(DATE_FORMAT)


def _name_part(name: str, store_as: str) -> FieldReader:
    def read(value: Any) -> Json:
        if value is not None and not isinstance(value, str):
            raise invalid(name, "must be a string")
        return {store_as: (value or "").strip()}

    return read


def _contact_id(value: Any) -> Json:
    if not isinstance(value, str) or not value:
        raise invalid("ContactId", "must be a contact's Id")
    return {"contact_id": value}


FIELDS: dict[Kind, dict[str, FieldReader]] = {
    "contact": {
        "FirstName": _name_part("FirstName", "first_name"),
        "LastName": _name_part("LastName", "last_name"),
        "Email": email("Email"),
        "Phone": text("Phone", "phone"),
        "Company": text("Company", "company"),
        "Tags": tag_list("Tags"),
    },
    "task": {
        "Subject": text("Subject", "title", required=True),
        "Details": text("Details", "body", nullable=False),
        "DueDate": moment("DueDate", "due_at", parse_date),
        "Status": choice("Status", "done", {"Open": False, "Completed": True}),
    },
    "note": {"Text": text("Text", "body", required=True)},
}
# Tasks and notes name their contact when created; it never changes.
CREATE_ONLY: dict[str, FieldReader] = {"ContactId": _contact_id}
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "contact": (),
    "task": ("ContactId", "Subject"),
    "note": ("ContactId", "Text"),
}


class StyleB(Style):
    name = "b"
    api_path = "/b"
    record_paths = {"contact": "/Contacts", "task": "/Tasks", "note": "/Notes"}
    update_methods = ("PATCH", "PUT")

    def authorised(self, sb: "GenericSandbox", req: Request) -> bool:
        key = req.args.get("api_key", "")
        return any(hmac.compare_digest(key, known) for known in sb.keys)

    def error_body(self, error: ApiError) -> Json:
        return {"Message": error.message, "ErrorCode": error.code, "Field": error.field}

    def limit_headers(self, verdict: Verdict | None, resets_at: int) -> dict[str, str]:
        if verdict is None:
            return {}
        return {"X-RateLimit-Remaining": str(verdict.remaining[0]), "X-RateLimit-Reset": str(resets_at)}

    def render(self, record: Record) -> Json:
        common = {"Id": record.id, "ModifiedOn": render_time(record.updated_at)}
        if isinstance(record, Contact):
            return {
                **common,
                "FirstName": record.first_name,
                "LastName": record.last_name,
                "Email": record.email,
                "Phone": record.phone,
                "Company": record.company,
                "Tags": list(record.tags),
                "CreatedOn": render_time(record.created_at),
            }
        if isinstance(record, Task):
            status = "Completed" if record.done else "Open"
            return {**common, "ContactId": record.contact_id, "Subject": record.title, "Details": record.body,
                    "DueDate": render_date(record.due_at), "Status": status}  # fmt: skip
        assert isinstance(record, Note)
        return {**common, "ContactId": record.contact_id, "Text": record.body}

    def read(self, kind: Kind, body: Json, *, creating: bool) -> Json:
        table = {**FIELDS[kind], **CREATE_ONLY} if creating and kind != "contact" else FIELDS[kind]
        return read_body(table, body, required=REQUIRED[kind] if creating else ())

    def one(self, record: Record, *, created: bool = False) -> Response:
        return json_response(self.render(record))

    def many(self, records: list[Record]) -> Response:
        page = int_arg("page", 1, minimum=1)
        size = int_arg("pageSize", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
        return json_response([self.render(r) for r in records[(page - 1) * size : page * size]])

    def deleted(self) -> Response:
        return json_response({})

    def add_collection_routes(self, app: Flask, sb: "GenericSandbox") -> None:
        store, api = sb.store, self.api_path

        def changed(kind: Kind) -> Response:
            since = time_arg("ModifiedSince", parse_time)
            args = request.args
            if kind == "contact":
                return self.many(
                    store.listing(
                        kind,
                        since=since,
                        email=args.get("Email"),
                        phone=args.get("Phone"),
                        company=args.get("Company"),
                    )
                )
            return self.many(store.listing(kind, since=since))

        def create(kind: Kind) -> Response:
            values = self.read(kind, json_body(), creating=True)
            if kind != "contact" and values["contact_id"] not in store.records["contact"]:
                raise invalid("ContactId", f"no contact {values['contact_id']}")
            return self.one(store.create(kind, values))

        def children(kind: Kind, contact_id: str) -> Response:
            return self.many(store.listing(kind, contact_id=contact_id))

        for kind, path in self.record_paths.items():
            app.add_url_rule(f"{api}{path}", f"list_{kind}s", partial(changed, kind), methods=["GET"])
            app.add_url_rule(f"{api}{path}", f"create_{kind}", partial(create, kind), methods=["POST"])
            if kind != "contact":
                rule = f"{api}/Contacts/<contact_id>{path}"
                app.add_url_rule(rule, f"list_contact_{kind}s", partial(children, kind), methods=["GET"])
