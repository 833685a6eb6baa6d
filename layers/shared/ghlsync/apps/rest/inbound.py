"""How a spec's app tells us of changes, and what it can do: capabilities, webhooks, polled events.

- capabilities follow from the spec alone: an operation is declared when its request is there,
  tags by the tags mode, webhooks and a change feed by `inbound` (a full listing when the contact
  `list` exists), the name fields coupled when the app keeps one full name;
- webhooks are verified by HMAC over the exact bytes received (`HmacVerifier`), then read by the
  spec's body paths; an event name the spec does not list is acknowledged and ignored;
- a webhook delivery has no id of its own here: a hash of the exact body (per connection) is the
  event id; a polled record's is a hash of its entity, id and updated time.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ghlsync.apps.base import (
    Capabilities,
    ChangeFeed,
    EntitySupport,
    Flow,
    Inbound,
    InboundRequest,
    Operation,
    TagSupport,
    TagWrites,
)
from ghlsync.apps.rest.model import (
    AppSpec,
    Direction,
    EndpointTags,
    EntitySpec,
    FieldTags,
    Transform,
    WebhookSpec,
)
from ghlsync.apps.rest.transforms import UnreadableRecord, parse_time
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import MalformedWebhook
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.http.errors import value_at
from ghlsync.http.verify import HmacVerifier

SOURCE = "generic"
# What ingress answers a generic app's webhook it cannot queue now (the status most apps retry on):
# one for every spec, as ingress knows the app there, not yet the connection.
BUSY_STATUS = 503
_FLOWS = {Direction.BOTH: Flow.BOTH, Direction.TO_APP: Flow.TO_APP, Direction.FROM_APP: Flow.FROM_APP}
_OPERATIONS = {
    "get": Operation.READ,
    "find_by_email": Operation.FIND,
    "find_by_phone": Operation.FIND,
    "create": Operation.CREATE,
    "update": Operation.UPDATE,
    "delete": Operation.DELETE,
}


def _support(kind: EntityKind, entity: EntitySpec) -> EntitySupport:
    operations = {_OPERATIONS[name] for name in entity.requests() if name in _OPERATIONS}
    if kind is not EntityKind.CONTACT and entity.list is not None:
        operations.add(Operation.LIST)  # a contact `list` is the full pass, not records under one
    return EntitySupport(flow=_FLOWS[entity.flow], operations=frozenset(operations))


def capabilities_for(spec: AppSpec) -> Capabilities:
    tags = spec.tags
    if isinstance(tags, EndpointTags):
        support = TagSupport(
            writes=TagWrites.ADD_REMOVE if tags.remove is not None else TagWrites.ADD_ONLY,
            case_insensitive=tags.case_insensitive,
        )
    elif isinstance(tags, FieldTags):
        support = TagSupport(writes=TagWrites.ADD_REMOVE, case_insensitive=tags.case_insensitive)
    else:
        support = TagSupport(writes=TagWrites.NONE)
    polling, full_pass = spec.inbound.polling, spec.rules.full_pass
    feed = (
        ChangeFeed(
            ordered=polling is not None and polling.ordered,
            full_listing=spec.entities.contact.list is not None,
            full_pass_every=None if full_pass is None else timedelta(minutes=full_pass.every_minutes),
        )
        if polling is not None or full_pass is not None
        else None
    )
    full_name = any(f.transform is Transform.FULL_NAME for f in spec.entities.contact.fields)
    return Capabilities(
        entities={kind: _support(kind, entity) for kind, entity in spec.entities.present().items()},
        tags=support,
        inbound=Inbound(webhooks=spec.inbound.webhooks is not None, feed=feed, busy_status=BUSY_STATUS),
        coupled_fields=(frozenset({"first_name", "last_name"}),) if full_name else (),
        lists_contacts=spec.entities.contact.list is not None,
        # Deletes by a daily diff of the contact listing, unless the full pass filters it (a
        # contact outside the filter would look deleted).
        id_listing=frozenset({EntityKind.CONTACT})
        if spec.entities.contact.list is not None and not (full_pass and full_pass.filter)
        else frozenset(),
    )


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip() if isinstance(value, str | int) else ""
    return text or None


class WebhookReader:
    """Verifies and reads one connection's webhooks as its spec describes them."""

    def __init__(self, spec: WebhookSpec, secret: str, *, wall_clock: Callable[[], float]) -> None:
        self._spec = spec
        self._wall_clock = wall_clock
        self._verifier = HmacVerifier(
            secret,
            header=spec.signature_header,
            algorithm=spec.algorithm,
            encoding=spec.encoding,
            prefix=spec.prefix,
            timestamp_header=spec.timestamp_header,
            tolerance_s=spec.tolerance_s,
            wall_clock=wall_clock,
        )

    def verify(self, request: InboundRequest) -> None:
        self._verifier.verify(request.body, request.headers, request.query)

    def parse(self, request: InboundRequest, *, location_id: str, connection_id: str) -> list[ChangeEvent]:
        spec = self._spec
        try:
            body = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MalformedWebhook("the webhook body is not JSON") from None
        if not isinstance(body, dict):
            raise MalformedWebhook("the webhook body is not a JSON object")
        name = _text(value_at(body, spec.event_path))
        if name is None:
            raise MalformedWebhook(f"the webhook body has no event name at {spec.event_path}")
        meaning = spec.events.get(name)
        if meaning is None:
            return []  # an event this spec does not sync: acknowledged, nothing to do
        record_id = _text(value_at(body, spec.id_path))
        if record_id is None:
            raise MalformedWebhook(f"the webhook body has no record id at {spec.id_path}")
        parent_id = None
        if meaning.entity is not EntityKind.CONTACT:
            assert spec.parent_id_path is not None  # checks.py requires it for task/note events
            parent_id = _text(value_at(body, spec.parent_id_path))
            if parent_id is None:
                raise MalformedWebhook(f"the webhook body has no contact id at {spec.parent_id_path}")
        occurred_at = datetime.fromtimestamp(self._wall_clock(), UTC)
        if spec.occurred_at_path is not None:
            try:
                stated = parse_time(value_at(body, spec.occurred_at_path), spec.occurred_at_format, "event")
            except UnreadableRecord as error:
                raise MalformedWebhook(str(error)) from None
            occurred_at = stated or occurred_at
        digest = hashlib.sha256(connection_id.encode() + b"\n" + request.body).hexdigest()
        return [
            ChangeEvent(
                event_id=f"{SOURCE}-{digest}",
                location_id=location_id,
                source=SOURCE,
                connection_id=connection_id,
                entity=meaning.entity,
                action=ChangeAction(meaning.action),
                entity_id=record_id,
                parent_id=parent_id,
                occurred_at=occurred_at,
                event_type=name,
                data=body,
            )
        ]


def polled_event(
    *,
    location_id: str,
    connection_id: str,
    entity: EntityKind,
    record_id: str,
    parent_id: str | None,
    updated_at: datetime,
    kind: str,
) -> ChangeEvent:
    key = f"{connection_id}:{entity.value}:{record_id}:{updated_at.isoformat()}"
    return ChangeEvent(
        event_id=f"{SOURCE}-" + hashlib.sha256(key.encode()).hexdigest(),
        location_id=location_id,
        source=SOURCE,
        connection_id=connection_id,
        entity=entity,
        action=ChangeAction.UPSERT,
        entity_id=record_id,
        parent_id=parent_id,
        occurred_at=updated_at,
        event_type=kind,
    )
