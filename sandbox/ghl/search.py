"""Listing and searching contacts: the deprecated GET /contacts/ cursor, business listing, and
POST /contacts/search (page/pageLimit, searchAfter, filters, sort); the location-wide task search
(POST /locations/{locationId}/tasks/search)."""

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.ghl.errors import unprocessable
from sandbox.ghl.serialize import full_name
from sandbox.ghl.state import Contact, Location, Task, parse_iso_ms
from sandbox.ghl.validation import normalize_phone

# page * pageLimit may reach this many records; deeper pages need searchAfter (GHL docs).
SEARCH_WINDOW = 10_000
SEARCH_MAX_PAGE_LIMIT = 500
LIST_MAX_LIMIT = 100
# TaskSearchParamsDto's documented default page; its maximum is undocumented (this fake's own cap).
TASK_SEARCH_DEFAULT_LIMIT = 25
TASK_SEARCH_MAX_LIMIT = 100


def matches_query(contact: Contact, query: str) -> bool:
    """Free-text match over name, email, phone and company, case-insensitive."""
    needle = query.strip().lower()
    if not needle:
        return True
    haystack = [
        full_name(contact),
        contact.fields.get("email"),
        contact.fields.get("phone"),
        contact.fields.get("companyName"),
    ]
    return any(needle in value.lower() for value in haystack if value)


def by_date_added(contacts: Sequence[Contact]) -> list[Contact]:
    return sorted(contacts, key=lambda c: (c.date_added_ms, c.id))


@dataclass(frozen=True)
class ListPage:
    contacts: list[Contact]
    total: int
    current_page: int
    has_next: bool


def list_page(
    contacts: Sequence[Contact],
    *,
    limit: int,
    start_after: int | None,
    start_after_id: str | None,
    query: str,
) -> ListPage:
    """Deprecated GET /contacts/: ordered by dateAdded then id; the cursor is the last item seen."""
    ordered = [c for c in by_date_added(contacts) if matches_query(c, query)]
    if start_after is not None:
        cursor = (start_after, start_after_id or "")
        ordered_after = [c for c in ordered if (c.date_added_ms, c.id) > cursor]
    else:
        ordered_after = ordered
    skipped = len(ordered) - len(ordered_after)
    page = ordered_after[:limit]
    return ListPage(page, len(ordered), skipped // limit + 1, len(ordered_after) > limit)


# --- POST /contacts/search ---

SORTABLE = {
    "dateAdded": lambda c: c.date_added_ms,
    "dateUpdated": lambda c: c.date_updated_ms,
    "firstNameLowerCase": lambda c: (c.fields.get("firstName") or "").lower(),
    "lastNameLowerCase": lambda c: (c.fields.get("lastName") or "").lower(),
    "email": lambda c: (c.fields.get("email") or "").lower(),
    "businessName": lambda c: (c.fields.get("companyName") or "").lower(),
    "source": lambda c: c.fields.get("source") or "",
    "dnd": lambda c: bool(c.fields.get("dnd")),
}


def _field_value(contact: Contact, field_name: str) -> Any:
    if field_name == "id":
        return contact.id
    if field_name == "tags":
        return contact.tags
    if field_name == "dateAdded":
        return contact.date_added_ms
    if field_name == "dateUpdated":
        return contact.date_updated_ms
    if field_name == "businessId":
        return contact.business_id
    if field_name in {"firstNameLowerCase", "lastNameLowerCase"}:
        raw = contact.fields.get(field_name.removesuffix("LowerCase"))
        return raw.lower() if raw else None
    if field_name.startswith("customFields."):
        return contact.fields.get("customFields", {}).get(field_name.split(".", 1)[1])
    if field_name == "businessName":
        return contact.fields.get("companyName")
    return contact.fields.get(field_name)


FILTERABLE = {
    "id", "email", "phone", "tags", "dateAdded", "dateUpdated", "firstNameLowerCase", "lastNameLowerCase",
    "businessId", "businessName", "companyName", "source", "type", "city", "state", "country", "postalCode",
    "assignedTo", "timezone", "website", "dnd", "address1",
}  # fmt: skip


def _comparable(field_name: str, value: Any, region: str) -> Any:
    """Filter values as stored: ISO or epoch-ms dates -> ms, emails lower-cased, phones E.164."""
    if field_name in {"dateAdded", "dateUpdated"}:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
        epoch_ms = parse_iso_ms(value) if isinstance(value, str) else None
        if epoch_ms is None:
            raise unprocessable(
                [f"filters value for {field_name} must be an ISO 8601 date or epoch milliseconds"]
            )
        return epoch_ms
    if field_name == "email" and isinstance(value, str):
        return value.strip().lower()
    if field_name == "phone" and isinstance(value, str):
        return normalize_phone(value, region) or value
    if isinstance(value, str):
        return value.lower() if field_name.endswith("LowerCase") else value
    return value


def _stored(field_name: str, contact: Contact) -> Any:
    value = _field_value(contact, field_name)
    if field_name == "email" and isinstance(value, str):
        return value.lower()
    return value


Predicate = Callable[[Contact], bool]


def compile_filter(spec: Any, region: str) -> Predicate:
    """`{field, operator, value}` or `{group: AND|OR, filters: [...]}`; unknown ones are 422.
    Phone values are read in `region`, the location's country."""
    if not isinstance(spec, dict):
        raise unprocessable(["each value in filters must be an object"])
    if "group" in spec:
        parts = [compile_filter(item, region) for item in spec.get("filters") or []]
        if spec["group"] == "OR":
            return lambda c: any(p(c) for p in parts)
        if spec["group"] == "AND":
            return lambda c: all(p(c) for p in parts)
        raise unprocessable(["group must be one of the following values: AND, OR"])
    field_name, op, value = spec.get("field"), spec.get("operator"), spec.get("value")
    if field_name not in FILTERABLE and not (
        isinstance(field_name, str) and field_name.startswith("customFields.")
    ):
        raise unprocessable([f"filter field {field_name} is not supported"])
    assert isinstance(field_name, str)
    if op in {"exists", "not_exists"}:
        wanted = op == "exists"
        return lambda c: (_stored(field_name, c) not in (None, "", [])) == wanted
    if op == "range":
        if not isinstance(value, dict) or not set(value) <= {"gt", "gte", "lt", "lte"} or not value:
            raise unprocessable(["range value must be an object with gt, gte, lt or lte"])
        bounds = {op: _comparable(field_name, bound, region) for op, bound in value.items()}
        return lambda c: _in_range(_stored(field_name, c), bounds)
    if op in {"eq", "not_eq"}:
        target = _comparable(field_name, value, region)
        positive = op == "eq"
        if field_name == "tags":
            return lambda c: (target in c.tags) == positive
        return lambda c: (_stored(field_name, c) == target) == positive
    if op in {"contains", "not_contains"}:
        positive = op == "contains"
        if field_name == "tags":
            wanted_tags = value if isinstance(value, list) else [value]
            return lambda c: all(tag in c.tags for tag in wanted_tags) == positive
        needle = str(value).lower()
        return lambda c: (needle in str(_stored(field_name, c) or "").lower()) == positive
    raise unprocessable([f"operator {op} is not supported"])


_RANGE_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _in_range(value: Any, bounds: dict[str, Any]) -> bool:
    if value is None:
        return False
    return all(_RANGE_OPERATORS[op](value, bound) for op, bound in bounds.items())


@dataclass(frozen=True)
class SearchResult:
    contacts: list[tuple[Contact, list[Any]]]  # each with its searchAfter cursor
    total: int


def search(contacts: Sequence[Contact], body: dict[str, Any], *, region: str) -> SearchResult:
    """Run a validated SearchBodyV2DTO body (phones read in `region`). Default order: dateAdded
    ascending, then id."""
    page_limit = int(body["pageLimit"])
    if not 1 <= page_limit <= SEARCH_MAX_PAGE_LIMIT:
        raise unprocessable(
            [f"pageLimit must not be greater than {SEARCH_MAX_PAGE_LIMIT} and not less than 1"]
        )
    search_after = body.get("searchAfter")
    if search_after is not None and body.get("page") is not None:
        raise unprocessable(["page must not be sent together with searchAfter"])
    page = int(body.get("page") or 1)
    if page < 1:
        raise unprocessable(["page must not be less than 1"])
    if search_after is None and page * page_limit > SEARCH_WINDOW:
        raise unprocessable(
            [f"page * pageLimit must not exceed {SEARCH_WINDOW}; use searchAfter to read further"]
        )
    predicates = [compile_filter(item, region) for item in body.get("filters") or []]
    selected = [
        c for c in contacts if all(p(c) for p in predicates) and matches_query(c, body.get("query") or "")
    ]

    sort_specs = body.get("sort") or [{"field": "dateAdded", "direction": "asc"}]
    keys = _sort_keys(sort_specs)

    def cursor(contact: Contact) -> list[Any]:
        return [key(contact) for key, _ in keys] + [contact.id]

    ordered = _ordered(selected, keys)
    if search_after is not None:
        if len(search_after) != len(keys) + 1:
            raise unprocessable([f"searchAfter must have {len(keys) + 1} values"])
        position = _position_after(ordered, keys, search_after)
        window = ordered[position : position + page_limit]
    else:
        window = ordered[(page - 1) * page_limit : page * page_limit]
    return SearchResult([(c, cursor(c)) for c in window], len(selected))


SortKey = tuple[Callable[[Contact], Any], bool]  # (key, descending)


def _sort_keys(specs: Any) -> list[SortKey]:
    if not isinstance(specs, list) or len(specs) > 2:
        raise unprocessable(["sort must contain at most 2 elements"])
    keys: list[SortKey] = []
    for spec in specs:
        field_name = spec.get("field") if isinstance(spec, dict) else None
        direction = spec.get("direction", "asc") if isinstance(spec, dict) else None
        if field_name not in SORTABLE or direction not in {"asc", "desc"}:
            raise unprocessable([f"sort field {field_name} with direction {direction} is not supported"])
        keys.append((SORTABLE[field_name], direction == "desc"))
    return keys


def _ordered(contacts: list[Contact], keys: list[SortKey]) -> list[Contact]:
    ordered = sorted(contacts, key=lambda c: c.id)  # id breaks ties (ascending), like the cursor
    for key, descending in reversed(keys):
        ordered.sort(key=key, reverse=descending)
    return ordered


def _position_after(ordered: list[Contact], keys: list[SortKey], cursor: list[Any]) -> int:
    """Index of the first contact strictly after `cursor` in the sort order."""

    def after(contact: Contact) -> bool:
        for (key, descending), bound in zip(keys, cursor, strict=False):
            mine = key(contact)
            if mine != bound:
                return mine < bound if descending else mine > bound
        return contact.id > cursor[-1]

    for index, contact in enumerate(ordered):
        if after(contact):
            return index
    return len(ordered)


def search_location_tasks(location: Location, body: dict[str, Any]) -> list[Task]:
    """One page of the location's tasks, oldest added first, filtered as TaskSearchParamsDto says:
    `contactId` / `assignedTo` (any of), `completed`, `businessId` (its contacts' tasks), `query`
    (in the title, case-insensitive); `skip` then `limit`."""
    limit = int(body.get("limit", TASK_SEARCH_DEFAULT_LIMIT))
    skip = int(body.get("skip", 0))
    if not 1 <= limit <= TASK_SEARCH_MAX_LIMIT or skip < 0:
        raise unprocessable([f"limit must be 1 to {TASK_SEARCH_MAX_LIMIT}; skip must not be negative"])
    contacts = set(body.get("contactId") or location.tasks)
    assignees = set(body.get("assignedTo") or [])
    business = body.get("businessId")
    needle = str(body.get("query") or "").strip().lower()
    found = [
        task
        for contact_id in contacts
        for task in location.tasks.get(contact_id, {}).values()
        if ("completed" not in body or task.completed is body["completed"])
        and (not assignees or task.assigned_to in assignees)
        and (business is None or _business_of(location, contact_id) == business)
        and needle in task.title.lower()
    ]
    found.sort(key=lambda task: (task.date_added_ms, task.id))
    return found[skip : skip + limit]


def _business_of(location: Location, contact_id: str) -> str | None:
    contact = location.contacts.get(contact_id)
    return contact.business_id if contact is not None else None
