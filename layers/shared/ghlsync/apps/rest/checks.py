"""Cross-checks of a spec whose shapes are valid: every problem, each as `path: message`.

The rules (each refused when loading the spec, never found at 2 a.m.):
- a template uses only the placeholders its operation offers (`PLACEHOLDERS`) and every one it
  needs (`REQUIRED`);
- every entity can be read back by id (`get`): the engine re-reads each record a change names;
- a field names a canonical field of its entity, a transform fits it, and no two fields read
  into the same canonical field;
- what refers to an operation finds it: tags as a field need the contact `update`, polling needs
  a `list_changed_since`, webhook events name declared entities, task rules need the task
  `create`, the full pass needs the contact `list`;
- a date format is `iso`, `epoch`, `epoch_ms` or a strftime format.
"""

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ghlsync.core.entities import EntityKind

if TYPE_CHECKING:
    from ghlsync.apps.rest.model import AppSpec, EntitySpec, FieldSpec, RequestSpec

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
CONTACT, TASK, NOTE = EntityKind.CONTACT, EntityKind.TASK, EntityKind.NOTE

# (entity, operation) -> the placeholders its templates may use.
PLACEHOLDERS: dict[tuple[EntityKind, str], frozenset[str]] = {
    (CONTACT, "get"): frozenset({"id"}),
    (CONTACT, "find_by_email"): frozenset({"email"}),
    (CONTACT, "find_by_phone"): frozenset({"phone"}),
    (CONTACT, "create"): frozenset(),
    (CONTACT, "update"): frozenset({"id"}),
    (CONTACT, "delete"): frozenset({"id"}),
    (CONTACT, "list"): frozenset(),
    (CONTACT, "list_changed_since"): frozenset({"since"}),
    **{
        (kind, operation): names
        for kind in (TASK, NOTE)
        for operation, names in {
            "get": frozenset({"id", "contact_id"}),
            "create": frozenset({"contact_id"}),
            "update": frozenset({"id", "contact_id"}),
            "delete": frozenset({"id", "contact_id"}),
            "list": frozenset({"contact_id"}),
            "list_changed_since": frozenset({"since"}),
        }.items()
    },
}
REQUIRED: dict[str, frozenset[str]] = {
    "get": frozenset({"id"}),
    "update": frozenset({"id"}),
    "delete": frozenset({"id"}),
    "find_by_email": frozenset({"email"}),
    "find_by_phone": frozenset({"phone"}),
    "list_changed_since": frozenset({"since"}),
}
CHILD_REQUIRED = {"create": frozenset({"contact_id"}), "list": frozenset({"contact_id"})}
TAG_PLACEHOLDERS = frozenset({"id", "tags", "tag"})

CANONICAL_FIELDS: dict[EntityKind, frozenset[str]] = {
    CONTACT: frozenset(
        {
            "first_name",
            "last_name",
            "full_name",
            "email",
            "phone",
            "company_name",
            "address_line1",
            "city",
            "state",
            "postal_code",
        }
    ),
    TASK: frozenset({"title", "body", "due_date", "completed", "assignee"}),
    NOTE: frozenset({"body"}),
}
CUSTOM_PREFIX = "custom_fields."
DATE_FORMATS = frozenset({"iso", "epoch", "epoch_ms"})


def placeholders(template: Any) -> Iterator[str]:
    """Every `{name}` in a template: a string, or the strings inside a JSON-like value."""
    if isinstance(template, str):
        yield from _PLACEHOLDER.findall(template)
    elif isinstance(template, dict):
        for value in template.values():
            yield from placeholders(value)
    elif isinstance(template, list):
        for value in template:
            yield from placeholders(value)


def _request_problems(
    path: str, request: "RequestSpec", offered: frozenset[str], required: frozenset[str]
) -> list[str]:
    problems = []
    used: set[str] = set()
    for part, template in (("path", request.path), ("query", request.query), ("body", request.body)):
        for name in placeholders(template):
            used.add(name)
            if name not in offered:
                hint = f" (offered: {', '.join('{' + n + '}' for n in sorted(offered))})" if offered else ""
                problems.append(f"{path}.{part}: unknown placeholder {{{name}}}{hint}")
    for name in sorted(required - used):
        problems.append(f"{path}: must use the placeholder {{{name}}}")
    problems.extend(_format_problems(f"{path}.since_format", request.since_format))
    return problems


def _format_problems(path: str, fmt: str | None) -> list[str]:
    if fmt is None or fmt in DATE_FORMATS or "%" in fmt:
        return []
    return [f"{path}: {fmt!r} is not iso, epoch, epoch_ms or a strftime format"]


def _field_problems(path: str, kind: EntityKind, field: "FieldSpec") -> list[str]:
    from ghlsync.apps.rest.model import Transform

    if field.canonical is None:
        return []
    name = field.canonical
    known = CANONICAL_FIELDS[kind]
    custom = kind is CONTACT and name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX)
    if name not in known and not custom:
        return [f"{path}.canonical: unknown {kind.value} field {name!r} (known: {', '.join(sorted(known))})"]
    problems = []
    if (name == "full_name") != (field.transform is Transform.FULL_NAME):
        problems.append(f"{path}.transform: `full_name` goes with the full_name transform, and only it")
    if field.transform is Transform.E164 and name != "phone":
        problems.append(f"{path}.transform: e164 is for the phone field")
    if field.transform in (Transform.DATETIME, Transform.DATE) and not (name == "due_date" or custom):
        problems.append(f"{path}.transform: {field.transform.value} is for a date field (due_date)")
    if field.transform is Transform.DATETIME:
        problems.extend(_format_problems(f"{path}.format", field.format))
    return problems


def _entity_problems(path: str, kind: EntityKind, entity: "EntitySpec") -> list[str]:
    problems = []
    requests = entity.requests()
    if "get" not in requests:
        problems.append(f"{path}.get: required: the engine re-reads every record a change names")
    for operation, request in requests.items():
        offered = PLACEHOLDERS.get((kind, operation))
        if offered is None:
            problems.append(f"{path}.{operation}: {kind.value}s have no {operation}")
            continue
        required = REQUIRED.get(operation, frozenset())
        if kind is not CONTACT:
            required |= CHILD_REQUIRED.get(operation, frozenset())
        problems.extend(_request_problems(f"{path}.{operation}", request, offered, required))
    if kind is not CONTACT and "list_changed_since" in requests and entity.record.parent_id is None:
        problems.append(f"{path}.record.parent_id: required: listed changes must name their contact")
    problems.extend(_format_problems(f"{path}.record.updated_at_format", entity.record.updated_at_format))
    read_into: dict[str, int] = {}
    for index, field in enumerate(entity.fields):
        problems.extend(_field_problems(f"{path}.fields.{index}", kind, field))
        if field.canonical is not None and field.direction.value != "to_app":
            if field.canonical in read_into:
                problems.append(
                    f"{path}.fields.{index}.canonical: {field.canonical} is already read from "
                    f"fields.{read_into[field.canonical]}"
                )
            read_into.setdefault(field.canonical, index)
    return problems


def spec_problems(spec: "AppSpec") -> list[str]:
    """Every cross-check problem of `spec`, as `path: message` lines (none: the spec is usable)."""
    from ghlsync.apps.rest.model import EndpointTags, FieldTags

    entities = spec.entities.present()
    problems: list[str] = []
    for kind, entity in entities.items():
        problems.extend(_entity_problems(f"entities.{kind.value}", kind, entity))
    contact = spec.entities.contact
    if isinstance(spec.tags, FieldTags) and contact.update is None:
        problems.append("tags.field: needs entities.contact.update (the list is written with it)")
    if isinstance(spec.tags, EndpointTags):
        for name in ("add", "remove"):
            request = getattr(spec.tags, name)
            if request is None:
                continue
            used = set(placeholders(request.path)) | set(placeholders(request.body))
            problems.extend(_request_problems(f"tags.{name}", request, TAG_PLACEHOLDERS, frozenset({"id"})))
            if not used & {"tags", "tag"}:
                problems.append(f"tags.{name}: must use {{tags}} (the list) or {{tag}} (one call per tag)")
    webhooks, polling = spec.inbound.webhooks, spec.inbound.polling
    if webhooks is not None:
        children = False
        for name, event in webhooks.events.items():
            if event.entity not in entities:
                problems.append(
                    f"inbound.webhooks.events.{name}.entity: no entities.{event.entity.value} in this spec"
                )
            children = children or event.entity is not CONTACT
        if children and webhooks.parent_id_path is None:
            problems.append(
                "inbound.webhooks.parent_id_path: required: task and note events name their contact"
            )
        problems.extend(_format_problems("inbound.webhooks.occurred_at_format", webhooks.occurred_at_format))
    if polling is not None and contact.list_changed_since is None:
        problems.append("inbound.polling: needs entities.contact.list_changed_since")
    if spec.rules.new_contact_tasks and (spec.entities.task is None or spec.entities.task.create is None):
        problems.append("rules.new_contact_tasks: needs entities.task.create")
    if spec.rules.full_pass is not None and contact.list is None:
        problems.append("rules.full_pass: needs entities.contact.list")
    return problems
