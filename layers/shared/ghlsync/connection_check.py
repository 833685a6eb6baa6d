"""`connections_cli check`: read-only calls against an app, one verdict per capability.

The test calls an operator makes before going live, through the connection's own connector:
the first read proves the credentials (auth), one change listing (the last hour, first item
only), one lookup of an address nobody has, one read of the record the listing returned, and the
connector's webhook check fed the stored secret the way the app will present it. Nothing is
written. Then the connection's GHL custom-field map is resolved against the location's field
definitions (`ghl fields`). Each verdict is `ok`, `failed: reason` or `not declared`; a
capability that is declared but had nothing to exercise says so. The last app line lists the
writes the app has no route for (eKyte: updating a person), which the engine audits as
unsupported.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from pydantic import SecretStr

from ghlsync.apps.base import (
    RECORD_OPS,
    Capabilities,
    Connector,
    InboundRequest,
    Operation,
    as_change_feed,
    as_contacts,
    as_webhooks,
)
from ghlsync.apps.spec import ConnectorSpec, InboundRoute
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import ConnectorError, WebhookRejected, redact
from ghlsync.core.events import ChangeEvent
from ghlsync.ghl.models import CustomFieldDefinition
from ghlsync.mapping.ghl_fields import resolve_field_map

# How far back the change listing looks for a record to read.
CHECK_WINDOW = timedelta(hours=1)
# An address no real person has (RFC 2606 `.invalid`): a lookup of it must find nothing.
PROBE_EMAIL = "ghlsync-check@example.invalid"
_ENTITIES = (EntityKind.CONTACT, EntityKind.TASK, EntityKind.NOTE)


@dataclass(frozen=True)
class Verdict:
    capability: str
    ok: bool | None  # None: not declared, or declared with nothing to exercise
    detail: str = ""

    def line(self) -> str:
        outcome = "ok" if self.ok else ("failed" if self.ok is False else "")
        text = ": ".join(part for part in (outcome, self.detail) if part)
        return f"{self.capability:<14} {text}"


@dataclass(frozen=True)
class _Declared:
    """The parts of a connector's capabilities the check reads (one place to follow their shape)."""

    readable: frozenset[EntityKind]
    finds_contacts: bool
    change_listing: bool
    webhooks: bool
    tags: bool


def _declared(capabilities: Capabilities) -> _Declared:
    return _Declared(
        readable=frozenset(kind for kind in _ENTITIES if capabilities.can(kind, Operation.READ)),
        finds_contacts=capabilities.can(EntityKind.CONTACT, Operation.FIND),
        change_listing=capabilities.inbound.feed is not None,
        webhooks=capabilities.inbound.webhooks,
        tags=capabilities.tags.can_add or capabilities.tags.can_remove,
    )


def check_connection(
    connector: Connector,
    spec: ConnectorSpec,
    credentials: Mapping[str, Any],
    *,
    connection_id: str,
    since: datetime,
) -> list[Verdict]:
    """Verdicts in a fixed order; when the first call fails, auth failed and nothing else runs."""
    declared = _declared(connector.capabilities)
    secrets = [str(v.get_secret_value() if isinstance(v, SecretStr) else v) for v in credentials.values()]
    reason = _reason(secrets)

    def first_change() -> ChangeEvent | None:
        return next(islice(as_change_feed(connector).list_changes(since), 1), None)

    def probe() -> int:
        return len(as_contacts(connector).find_contacts(email=PROBE_EMAIL, phone=None))

    listed: ChangeEvent | None = None
    found: int | None = None
    try:
        if declared.change_listing:
            listed = first_change()
        elif declared.finds_contacts:
            found = probe()
    except ConnectorError as error:
        return [Verdict("auth", False, reason(error))]
    verdicts = [Verdict("auth", True)]

    if declared.change_listing:
        what = "nothing" if listed is None else f"first: {listed.entity.value} {listed.entity_id}"
        verdicts.append(Verdict("list changes", True, f"since {since.isoformat()}, {what}"))
    else:
        verdicts.append(Verdict("list changes", None, "not declared"))

    if declared.finds_contacts:
        verdicts.append(
            _attempt("find contact", lambda: _found(found if found is not None else probe()), reason)
        )
    for entity in _ENTITIES:
        verdicts.append(_read_verdict(connector, entity, declared, listed, reason))
    verdicts.append(_tags_verdict(declared, listed))
    verdicts.append(_webhook_verdict(connector, spec, credentials, declared, connection_id))
    verdicts.append(_unsupported_verdict(connector))
    return verdicts


def _unsupported_verdict(connector: Connector) -> Verdict:
    """The writes to records the app holds that it has no route for: changes needing them are
    audited `skipped: unsupported by <app>`, never applied."""
    capabilities = connector.capabilities
    missing = [
        f"{operation.value} {entity.value}"
        for entity in _ENTITIES
        if (support := capabilities.support(entity)) is not None and support.to_app
        for operation in (Operation.UPDATE, Operation.DELETE)
        if not support.can(operation) and not (entity is EntityKind.CONTACT and capabilities.upserts_contacts)
    ]
    if not missing:
        return Verdict("unsupported", None, "none")
    return Verdict(
        "unsupported", None, f"{', '.join(missing)}: audited skipped, unsupported by {connector.name}"
    )


def _reason(secrets: list[str]) -> Callable[[Exception], str]:
    def reason(error: Exception) -> str:
        return redact(f"{type(error).__name__}: {error}", *secrets)

    return reason


def _attempt(capability: str, call: Callable[[], str], reason: Callable[[Exception], str]) -> Verdict:
    try:
        return Verdict(capability, True, call())
    except ConnectorError as error:
        return Verdict(capability, False, reason(error))


def _found(count: int) -> str:
    if count:
        return f"{count} record(s) hold {PROBE_EMAIL}, which nobody should"
    return f"no record holds {PROBE_EMAIL}, as expected"


def _read_verdict(
    connector: Connector,
    entity: EntityKind,
    declared: _Declared,
    listed: ChangeEvent | None,
    reason: Callable[[Exception], str],
) -> Verdict:
    capability = f"read {entity.value}"
    if entity not in declared.readable:
        return Verdict(capability, None, "not declared")
    if listed is None or listed.entity is not entity:
        return Verdict(capability, None, f"declared; no recent {entity.value} to read")
    record_id, parent_id = listed.entity_id, listed.parent_id or ""

    def read() -> str:
        if RECORD_OPS[entity].read(connector, parent_id, record_id) is None:
            raise _Unreadable(f"the listed {entity.value} {record_id} reads as missing")
        return f"{entity.value} {record_id}"

    try:
        return Verdict(capability, True, read())
    except (ConnectorError, _Unreadable) as error:
        return Verdict(capability, False, reason(error))


class _Unreadable(Exception):
    """A record the listing just returned could not be read back."""


def _tags_verdict(declared: _Declared, listed: ChangeEvent | None) -> Verdict:
    if not declared.tags:
        return Verdict("tags", None, "not declared")
    if listed is not None and listed.entity is EntityKind.CONTACT:
        return Verdict("tags", True, "read with the contact")
    return Verdict("tags", None, "declared; read with a contact, none read")


def _webhook_verdict(
    connector: Connector,
    spec: ConnectorSpec,
    credentials: Mapping[str, Any],
    declared: _Declared,
    connection_id: str,
) -> Verdict:
    if not declared.webhooks or not spec.webhooks:
        return Verdict("webhooks", None, "not declared")
    shared = [route for route in spec.webhooks if route.secret_field]
    if not shared:
        return Verdict("webhooks", None, "declared; signed by the app, not checkable from here")
    for route in shared:
        try:
            as_webhooks(connector).verify_webhook(_as_the_app_sends_it(route, credentials, connection_id))
        except WebhookRejected as error:
            return Verdict("webhooks", False, f"{route.path_for(connection_id)}: {error}")
    paths = ", ".join(route.path_for(connection_id) for route in shared)
    return Verdict("webhooks", True, f"{paths} accept(s) the stored secret")


def _as_the_app_sends_it(
    route: InboundRoute, credentials: Mapping[str, Any], connection_id: str
) -> InboundRequest:
    """An empty request carrying the route's shared secret where the app puts it."""
    value = credentials.get(route.secret_field) if route.secret_field else None
    secret = (
        value.get_secret_value() if isinstance(value, SecretStr) else (None if value is None else str(value))
    )
    query = {route.query_param: secret} if secret is not None and route.query_param else {}
    headers = {route.header.lower(): secret} if secret is not None and route.header and not query else {}
    return InboundRequest(
        body=b"{}", headers=headers, query=query, path_params={"connectionId": connection_id}
    )


def ghl_fields_verdict(
    refs: Mapping[str, str],
    definitions: Callable[[], Sequence[CustomFieldDefinition]],
    *,
    external_id_field: str | None,
) -> Verdict:
    """Every field of the connection's `ghl_custom_fields` against the location's definitions
    (one GET): unknown ids and keys, and fields whose type cannot hold what is mapped onto them,
    fail the check (ghlsync.mapping.ghl_fields), because GHL drops or refuses their values."""
    if not refs:
        return Verdict("ghl fields", None, "none mapped")
    try:
        found = definitions()
    except ConnectorError as error:
        return Verdict("ghl fields", False, f"could not read the location's custom fields: {error}")
    resolution = resolve_field_map(refs, found, external_id_field=external_id_field)
    if resolution.problems:
        return Verdict("ghl fields", False, "; ".join(resolution.problems))
    return Verdict("ghl fields", True, f"{len(resolution.by_id)} mapped field(s) exist in the location")
