"""The sync engine: one change event in, decisions and writes out (DESIGN §4).

`SyncEngine.handle(event)` finds the connections the event concerns (a GHL event fans out to every
active connection of its location; an app event names its connection) and, for each, runs one
`_Sync`: look up the link, drop stale events and echoes, re-read the record where it changed (a
webhook payload is never trusted for content), merge against the shadows, write
the difference to the other side, store the new shadows, and write one audit row.

Flows (the same code runs in both directions; only `Side` differs):
- contact upsert: link -> echo/stale -> 3-way merge both ways; unlinked -> identity lookup
  (external id, email, phone) -> link to the match, or create on the other side; ambiguous ->
  conflict, nothing merged.
- contact tags (GHL ContactTagUpdate carries the full list): a list equal to the shadow is an echo;
  any other list is confirmed by re-reading the contact (a payload is a snapshot that may predate
  our own later writes), then the difference from the shadow goes out as add/remove calls.
- task / note upsert: under the LINKED parent contact; an unlinked parent is synced first. A GHL
  TaskCreate without contactId (a known GHL gap) is resolved through the task's own link when the
  task is known, and otherwise skipped with reason "task without contactId" (metric
  `task_without_contact`); the next sweep picks such tasks up from the contact's task list.
- deletes: confirmed by a fresh read (a record that still exists means a stale delete), then the
  connection's delete policy on the other side; the link becomes a tombstone so late events for
  either record are skipped instead of resurrecting it.

Failures: connector errors with `transient` True (429/5xx/timeouts) become TransientSyncError,
other connector errors PermanentSyncError; a link written concurrently is transient (retry reads
fresh state). Every failure is audited before it propagates; nothing is swallowed.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from ghlsync.apps.base import Connector
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import ConnectorError, Duplicate
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.mapping.canonical import CanonicalContact, CanonicalNote, CanonicalTask
from ghlsync.observability import logger
from ghlsync.store.audit import AuditStore
from ghlsync.store.connections import Connection, DeletePolicy
from ghlsync.store.links import TOMBSTONE_TTL_SECONDS, Link, LinkConflict, LinkState, LinkStore, Shadow, Side
from ghlsync.sync import conflicts, identity, tags
from ghlsync.sync.outcome import Decision, Outcome, PermanentSyncError, SyncError, TransientSyncError
from ghlsync.sync.shadows import fields_after_write, is_echo, is_stale, latest, normalize, rebuild
from ghlsync.sync.telemetry import SyncMetrics

Child = CanonicalTask | CanonicalNote
_DECISION_WEIGHT = {Decision.SKIPPED: 0, Decision.ECHO: 1, Decision.APPLIED: 2, Decision.CONFLICT: 3}


class ConnectionLookup(Protocol):
    def get(self, connection_id: str) -> Connection | None: ...
    def for_location(self, location_id: str) -> list[Connection]: ...


@dataclass
class _Result:
    decision: Decision
    reason: str = ""


@dataclass
class _Tally:
    """What one connection's run did, for the outcome and the audit row."""

    writes: int = 0
    fields_changed: set[str] = field(default_factory=set)
    ghl_id: str | None = None
    app_id: str | None = None


class SyncEngine:
    def __init__(
        self,
        *,
        connections: ConnectionLookup,
        links: LinkStore,
        audit: AuditStore,
        hub_for: Callable[[Connection], Connector],
        app_for: Callable[[Connection], Connector],
        metrics: SyncMetrics,
        tenant_active: Callable[[str], bool] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._connections = connections
        self._links = links
        self._audit = audit
        self._hub_for = hub_for
        self._app_for = app_for
        self._metrics = metrics
        self._tenant_active = tenant_active
        self._clock = clock

    def handle(self, event: ChangeEvent) -> Outcome:
        if self._tenant_active is not None and not self._tenant_active(event.location_id):
            return self._skip_without_connection(event, "tenant not active")
        if event.from_ghl:
            targets = [c for c in self._connections.for_location(event.location_id) if c.active]
            if not targets:
                return self._skip_without_connection(event, "no active connection for the location")
        else:
            connection = self._connections.get(event.connection_id) if event.connection_id else None
            if connection is None or connection.location_id != event.location_id:
                return self._skip_without_connection(event, "unknown connection")
            if not connection.active:
                return self._skip_without_connection(event, "connection disabled", connection.connection_id)
            targets = [connection]

        outcomes: list[Outcome] = []
        errors: list[SyncError] = []
        for connection in targets:
            try:
                outcomes.append(self._handle_for(connection, event))
            except SyncError as error:
                errors.append(error)
        if errors:
            # A transient failure anywhere retries the whole event; the connections that already
            # applied it see an echo on the retry.
            raise next((e for e in errors if isinstance(e, TransientSyncError)), errors[0])
        return _combine(outcomes)

    def _handle_for(self, connection: Connection, event: ChangeEvent) -> Outcome:
        tally = _Tally()
        try:
            run = _Sync(self, connection, event, tally)
            result = run.execute()
        except LinkConflict as error:
            self._record_failure(connection, event, tally, f"transient: {error}")
            raise TransientSyncError(str(error)) from error
        except SyncError as error:
            self._record_failure(connection, event, tally, error.reason)
            raise
        except Exception as error:
            sync_error = classify(error)
            self._record_failure(connection, event, tally, f"{type(error).__name__}: {error}")
            if sync_error is None:
                raise
            raise sync_error from error
        outcome = Outcome(
            decision=result.decision,
            reason=result.reason,
            writes=tally.writes,
            fields_changed=frozenset(tally.fields_changed),
        )
        self._record(connection, event, tally, outcome)
        self.count(f"sync_{outcome.decision.value}", event, connection.connection_id)
        if outcome.writes:
            self.count("sync_writes", event, connection.connection_id, outcome.writes)
        logger.info(
            "sync decision",
            extra={
                "location_id": event.location_id,
                "connection_id": connection.connection_id,
                "event_id": event.event_id,
                "entity": event.entity.value,
                "action": event.action.value,
                "decision": outcome.decision.value,
                "reason": outcome.reason,
                "writes": outcome.writes,
            },
        )
        return outcome

    def count(self, name: str, event: ChangeEvent, connection_id: str | None, value: int = 1) -> None:
        self._metrics.count(name, location_id=event.location_id, connection_id=connection_id, value=value)

    def _record_failure(self, connection: Connection, event: ChangeEvent, tally: _Tally, reason: str) -> None:
        failed = Outcome(Decision.FAILED, reason, tally.writes, frozenset(tally.fields_changed))
        self._record(connection, event, tally, failed)
        self.count("sync_failed", event, connection.connection_id)
        logger.warning(
            "sync failed",
            extra={
                "location_id": event.location_id,
                "connection_id": connection.connection_id,
                "event_id": event.event_id,
                "reason": reason,
            },
        )

    def _record(self, connection: Connection, event: ChangeEvent, tally: _Tally, outcome: Outcome) -> None:
        """The decision's audit row (DESIGN §4 rule 8)."""
        self._audit.record(
            location_id=event.location_id,
            connection_id=connection.connection_id,
            event_id=event.event_id,
            event_type=event.event_type,
            source=event.source,
            entity=event.entity.value,
            action=event.action.value,
            decision=outcome.decision.value,
            reason=outcome.reason,
            source_id=event.entity_id,
            ghl_id=tally.ghl_id,
            app_id=tally.app_id,
            fields_changed=outcome.fields_changed,
            writes=outcome.writes,
        )

    def _skip_without_connection(
        self, event: ChangeEvent, reason: str, connection_id: str | None = None
    ) -> Outcome:
        self._audit.record(
            location_id=event.location_id,
            connection_id=connection_id,
            event_id=event.event_id,
            event_type=event.event_type,
            source=event.source,
            entity=event.entity.value,
            action=event.action.value,
            decision=Decision.SKIPPED.value,
            reason=reason,
            source_id=event.entity_id,
        )
        self.count("sync_skipped", event, connection_id)
        return Outcome(decision=Decision.SKIPPED, reason=reason)


def classify(error: Exception) -> SyncError | None:
    """The sync error a connector/client failure amounts to (DESIGN §4 rule 7); None if not one."""
    description = f"{type(error).__name__}: {error}"
    if isinstance(error, ConnectorError):
        return TransientSyncError(description) if error.transient else PermanentSyncError(description)
    if isinstance(error, httpx.TimeoutException | httpx.TransportError):
        return TransientSyncError(description)
    return None


def _combine(outcomes: list[Outcome]) -> Outcome:
    if len(outcomes) == 1:
        return outcomes[0]
    decision = max((o.decision for o in outcomes), key=lambda d: _DECISION_WEIGHT.get(d, 0))
    return Outcome(
        decision=decision,
        reason="; ".join(o.reason for o in outcomes if o.reason),
        writes=sum(o.writes for o in outcomes),
        fields_changed=frozenset().union(*(o.fields_changed for o in outcomes)),
    )


class _Sync:
    """One event applied to one connection."""

    def __init__(self, engine: SyncEngine, connection: Connection, event: ChangeEvent, tally: _Tally) -> None:
        self.engine = engine
        self.links = engine._links
        self.connection = connection
        self.event = event
        self.tally = tally
        self.settings = connection.settings
        self.source = Side.GHL if event.from_ghl else Side.APP
        self._connectors: dict[Side, Connector] = {}

    # -- plumbing -------------------------------------------------------------------------

    def on(self, side: Side) -> Connector:
        if side not in self._connectors:
            build = self.engine._hub_for if side is Side.GHL else self.engine._app_for
            self._connectors[side] = build(self.connection)
        return self._connectors[side]

    def side_name(self, side: Side) -> str:
        return "ghl" if side is Side.GHL else self.connection.app

    def wrote(self, count: int = 1, fields: Iterable[str] = ()) -> None:
        self.tally.writes += count
        self.tally.fields_changed.update(fields)

    def note_ids(self, side: Side, record_id: str | None, entity: EntityKind) -> None:
        """Remember the ids for the audit row: the event's own entity wins over its parent contact."""
        primary = entity is self.event.entity
        if side is Side.GHL and (primary or self.tally.ghl_id is None):
            self.tally.ghl_id = record_id
        if side is Side.APP and (primary or self.tally.app_id is None):
            self.tally.app_id = record_id

    def now(self) -> datetime:
        return self.engine._clock()

    def get_link(self, entity: EntityKind, side: Side, record_id: str) -> Link | None:
        return self.links.get(self.connection.connection_id, entity, side, record_id)

    # -- dispatch -------------------------------------------------------------------------

    def execute(self) -> _Result:
        event = self.event
        self.note_ids(self.source, event.entity_id, event.entity)
        if (
            event.entity is EntityKind.APPOINTMENT
            or event.entity not in self.on(Side.APP).capabilities.entities
        ):
            return _Result(
                Decision.SKIPPED, f"unsupported: {self.connection.app} does not sync {event.entity}s"
            )
        if event.action is ChangeAction.DELETE:
            return self.delete()
        if event.entity is EntityKind.CONTACT:
            if event.action is ChangeAction.TAGS:
                return self.contact_tags()
            result, _ = self.sync_contact(self.source, event.entity_id, event.occurred_at)
            return result
        return self.sync_child(event.entity, event.entity_id, event.parent_id)

    # -- contacts -------------------------------------------------------------------------

    def sync_contact(
        self, source: Side, contact_id: str, occurred_at: datetime | None
    ) -> tuple[_Result, Link | None]:
        target = source.other
        link = self.get_link(EntityKind.CONTACT, source, contact_id)
        if link is not None and not link.active:
            return _Result(Decision.SKIPPED, f"linked record was deleted on {link.deleted_on}"), None
        if link is not None:
            self.note_ids(target, link.side(target).id, EntityKind.CONTACT)
            if is_stale(occurred_at, link.side(source)):
                return _Result(Decision.SKIPPED, "stale"), link
        record = self.on(source).get_contact(contact_id)
        if record is None:
            return _Result(Decision.SKIPPED, f"{self.side_name(source)} contact not found"), link
        record = normalize(record)

        if link is not None:
            if is_echo(record, link.side(source)):
                self.engine.count("echo_suppressed", self.event, self.connection.connection_id)
                return _Result(Decision.ECHO, "echo of our own write"), link
            other = self.on(target).get_contact(link.side(target).id)
            if other is None:
                return self.apply_delete(link, deleted_on=target, why="linked record gone"), None
            return self.merge_contacts(link, source, record, normalize(other), occurred_at)

        match = identity.find_match(
            record,
            self.on(target),
            external_id_field=self.settings.external_id_field,
            default_country_code=self.settings.default_country_code,
            linked_to_other=lambda target_id: self._linked_to_other(target, target_id),
        )
        if isinstance(match, identity.Ambiguous):
            self.engine.count("identity_conflict", self.event, self.connection.connection_id)
            return _Result(Decision.CONFLICT, f"ambiguous identity: {match.reason}"), None
        if isinstance(match, identity.Matched) and match.record.id:
            other = self.on(target).get_contact(match.record.id) or match.record
            return self._link_and_merge(source, record, normalize(other), occurred_at, via=match.via)
        return self._create_contact(source, record, occurred_at)

    def _linked_to_other(self, side: Side, record_id: str) -> bool:
        existing = self.get_link(EntityKind.CONTACT, side, record_id)
        return existing is not None and existing.active

    def _link_and_merge(
        self,
        source: Side,
        record: CanonicalContact,
        other: CanonicalContact,
        occurred_at: datetime | None,
        *,
        via: str,
    ) -> tuple[_Result, Link | None]:
        target = source.other
        assert other.id is not None and record.id is not None
        # A tombstone on the target record (its old counterpart was deleted) is replaced.
        previous = self.get_link(EntityKind.CONTACT, target, other.id)
        shadows = {source: Shadow(id=record.id), target: Shadow(id=other.id)}
        link = Link(
            connection_id=self.connection.connection_id,
            entity=EntityKind.CONTACT,
            ghl=shadows[Side.GHL],
            app=shadows[Side.APP],
            version=previous.version if previous else 0,
        )
        result, stored = self.merge_contacts(link, source, record, other, occurred_at, previous=previous)
        if result.decision is Decision.APPLIED and not result.reason:
            result.reason = f"linked by {via}"
        return result, stored

    def _create_contact(
        self, source: Side, record: CanonicalContact, occurred_at: datetime | None
    ) -> tuple[_Result, Link | None]:
        target = source.other
        assert record.id is not None
        content = record.model_copy(
            update={
                "id": None,
                "updated_at": None,
                "custom_fields": {
                    k: v for k, v in record.custom_fields.items() if k != self.settings.external_id_field
                },
            }
        )
        try:
            created = self.on(target).create_contact(content)
        except Duplicate as duplicate:
            # The side refused a duplicate our lookup did not see (GHL search lags writes): that is
            # the match.
            other = self.on(target).get_contact(duplicate.existing_id)
            if other is None:
                raise
            return self._link_and_merge(source, record, normalize(other), occurred_at, via="duplicate")
        created = normalize(created)
        if not created.id:
            raise PermanentSyncError(f"{self.side_name(target)} returned a contact without an id")
        self.wrote(1, content.fields().keys())
        self.note_ids(target, created.id, EntityKind.CONTACT)
        self.note_ids(source, record.id, EntityKind.CONTACT)
        shadows = {
            source: self._shadow(record, source, occurred_at),
            target: Shadow(
                id=created.id,
                content_hash=created.content_hash(),
                fields=created.fields(),
                source_time=created.updated_at,
            ),
        }
        link = Link(
            connection_id=self.connection.connection_id,
            entity=EntityKind.CONTACT,
            ghl=shadows[Side.GHL],
            app=shadows[Side.APP],
            synced_at=self.now(),
        )
        previous = self.get_link(EntityKind.CONTACT, target, created.id)
        stored = self.links.save(link, previous=previous)
        return _Result(Decision.APPLIED, f"created on {self.side_name(target)}"), stored

    def _shadow[C: CanonicalContact | CanonicalTask | CanonicalNote](
        self, record: C, side: Side, occurred_at: datetime | None, previous: Shadow | None = None
    ) -> Shadow:
        """The shadow of a side we read but did not write."""
        assert record.id is not None
        return Shadow(
            id=record.id,
            parent_id=getattr(record, "parent_id", None) or (previous.parent_id if previous else None),
            content_hash=record.content_hash(),
            fields=record.fields(),
            source_time=latest(
                record.updated_at,
                occurred_at if side is self.source else None,
                previous.source_time if previous else None,
            ),
        )

    def merge_contacts(
        self,
        link: Link,
        source: Side,
        record: CanonicalContact,
        other: CanonicalContact,
        occurred_at: datetime | None,
        *,
        previous: Link | None = None,
    ) -> tuple[_Result, Link]:
        current = {source: record, source.other: other}
        plan = self._plan(link, current)
        ghl_tags, app_tags = tags.merge(
            current[Side.GHL].tags,
            link.ghl.tags if link.ghl.fields is not None else None,
            current[Side.APP].tags,
            link.app.tags if link.app.fields is not None else None,
        )
        wanted_tags = {Side.GHL: ghl_tags, Side.APP: app_tags}
        new_link = link
        for side in Side:
            rec = current[side]
            assert rec.id is not None
            self.note_ids(side, rec.id, EntityKind.CONTACT)
            writes = plan.writes_for(side)
            delta = tags.diff(rec.tags, wanted_tags[side])
            returned = rec
            if writes:
                updated = rebuild(rec, conflicts.unflatten_into(rec.fields(), writes))
                returned = normalize(
                    self.on(side).update_contact(rec.id, updated, conflicts.top_level(set(writes)))
                )
                self.wrote(1, conflicts.top_level(set(writes)))
            if delta.add:
                self.on(side).add_tags(rec.id, delta.add)
                self.wrote(1, {"tags"})
            if delta.remove:
                self.on(side).remove_tags(rec.id, delta.remove)
                self.wrote(1, {"tags"})
            new_link = new_link.with_side(
                side,
                self._side_after(
                    rec, returned, frozenset(writes), wanted_tags[side], side, occurred_at, link
                ),
            )
        return self._finish(new_link, plan, previous if previous is not None else link)

    def _side_after(
        self,
        before: CanonicalContact | CanonicalTask | CanonicalNote,
        returned: CanonicalContact | CanonicalTask | CanonicalNote,
        written: frozenset[str],
        wanted_tags: frozenset[str] | None,
        side: Side,
        occurred_at: datetime | None,
        link: Link,
    ) -> Shadow:
        old = link.side(side)
        if written:
            coupled = self.on(side).capabilities.coupled_fields
            written = written.union(*(group for group in coupled if group & written))
            content = fields_after_write(before.fields(), returned.fields(), written)
        else:
            content = before.fields()
        if wanted_tags is not None:
            content["tags"] = sorted(wanted_tags)
        assert before.id is not None
        return Shadow(
            id=before.id,
            parent_id=getattr(before, "parent_id", None) or old.parent_id,
            content_hash=rebuild(before, content).content_hash(),
            fields=content,
            # The pre-write read time, not the write's: an edit that raced our write stays newer
            # than the shadow, so its event is not dropped as stale.
            source_time=latest(
                before.updated_at, occurred_at if side is self.source else None, old.source_time
            ),
        )

    def _plan(self, link: Link, current: dict[Side, Any]) -> conflicts.MergePlan:
        views: dict[Side, conflicts.SideView] = {}
        for side in Side:
            base = link.side(side).fields
            views[side] = conflicts.SideView(
                current=conflicts.flatten(current[side].fields()),
                base=conflicts.flatten(base) if base is not None else None,
                time=current[side].updated_at or link.side(side).source_time,
            )
        return conflicts.merge(
            views[Side.GHL],
            views[Side.APP],
            policy=self.settings.conflict_policy,
            skew=timedelta(seconds=self.settings.skew_seconds),
            exclude=frozenset({f"{conflicts.CUSTOM_PREFIX}{self.settings.external_id_field}"}),
        )

    def _finish(self, link: Link, plan: conflicts.MergePlan, previous: Link) -> tuple[_Result, Link]:
        stored = self.links.save(
            link.model_copy(update={"synced_at": self.now()}),
            previous=previous if previous.version else None,
        )
        if plan.conflicts:
            names = ", ".join(c.field for c in plan.conflicts)
            self.engine.count(
                "sync_field_conflicts", self.event, self.connection.connection_id, len(plan.conflicts)
            )
            self.tally.fields_changed.update(conflicts.top_level({c.field for c in plan.conflicts}))
            return _Result(
                Decision.CONFLICT, f"edited on both sides within the skew window: {names}; kept ghl value"
            ), stored
        if self.tally.writes == 0:
            return _Result(Decision.APPLIED, "already in sync"), stored
        return _Result(Decision.APPLIED), stored

    def contact_tags(self) -> _Result:
        event, source = self.event, self.source
        target = source.other
        link = self.get_link(EntityKind.CONTACT, source, event.entity_id)
        if link is None:
            # Never synced: a tag change is as good a reason as any to sync the whole contact.
            result, _ = self.sync_contact(source, event.entity_id, event.occurred_at)
            return result
        if not link.active:
            return _Result(Decision.SKIPPED, f"linked record was deleted on {link.deleted_on}")
        self.note_ids(target, link.side(target).id, EntityKind.CONTACT)
        if is_stale(event.occurred_at, link.side(source)):
            return _Result(Decision.SKIPPED, "stale")
        # The payload's list is a snapshot from when the webhook fired: if it equals the shadow it
        # is our own write coming back; otherwise it may be an intermediate state our own later
        # writes already moved past, so the current list is re-read before anything is written.
        listed = event.data.get("tags")
        listed_tags = (
            tags.normalize_tags(listed)
            if isinstance(listed, list) and all(isinstance(t, str) for t in listed)
            else None
        )
        if listed_tags == link.side(source).tags:
            self.engine.count("echo_suppressed", self.event, self.connection.connection_id)
            return _Result(Decision.ECHO, "tag set equals the shadow")
        record = self.on(source).get_contact(event.entity_id)
        if record is None:
            return _Result(Decision.SKIPPED, f"{self.side_name(source)} contact not found")
        now_tags = normalize(record).tags
        delta = tags.diff(link.side(source).tags, now_tags)
        if delta.empty:
            self.engine.count("echo_suppressed", self.event, self.connection.connection_id)
            return _Result(Decision.ECHO, "tag set equals the shadow")
        target_id = link.side(target).id
        if delta.add:
            self.on(target).add_tags(target_id, delta.add)
            self.wrote(1, {"tags"})
        if delta.remove:
            self.on(target).remove_tags(target_id, delta.remove)
            self.wrote(1, {"tags"})
        updated = link
        for side, new_tags in ((source, now_tags), (target, delta.apply(link.side(target).tags))):
            shadow = link.side(side)
            content = {**(shadow.fields or {}), "tags": sorted(new_tags)}
            updated = updated.with_side(
                side,
                shadow.model_copy(
                    update={
                        "fields": content,
                        "content_hash": CanonicalContact.model_validate(content).content_hash(),
                        "source_time": latest(shadow.source_time, event.occurred_at)
                        if side is source
                        else shadow.source_time,
                    }
                ),
            )
        self.links.save(updated.model_copy(update={"synced_at": self.now()}), previous=link)
        return _Result(Decision.APPLIED, f"tags +{len(delta.add)} -{len(delta.remove)}")

    # -- tasks and notes ------------------------------------------------------------------

    def sync_child(self, entity: EntityKind, child_id: str, parent_id: str | None) -> _Result:
        source, target = self.source, self.source.other
        event = self.event
        link = self.get_link(entity, source, child_id)
        if parent_id is None and link is not None:
            parent_id = link.side(source).parent_id
        if parent_id is None:
            self.engine.count(f"{entity.value}_without_contact", event, self.connection.connection_id)
            return _Result(Decision.SKIPPED, f"{entity.value} without contactId")
        if link is not None and not link.active:
            return _Result(Decision.SKIPPED, f"linked record was deleted on {link.deleted_on}")
        if link is not None:
            self.note_ids(target, link.side(target).id, entity)
            if is_stale(event.occurred_at, link.side(source)):
                return _Result(Decision.SKIPPED, "stale")

        parent_link = self.get_link(EntityKind.CONTACT, source, parent_id)
        if parent_link is not None and not parent_link.active:
            return _Result(Decision.SKIPPED, "parent contact was deleted")
        if parent_link is None:
            parent_result, parent_link = self.sync_contact(source, parent_id, None)
            if parent_link is None or not parent_link.active:
                decision = (
                    Decision.CONFLICT if parent_result.decision is Decision.CONFLICT else Decision.SKIPPED
                )
                return _Result(decision, f"parent contact not linked: {parent_result.reason}")
        target_parent = parent_link.side(target).id

        record = self._get_child(source, entity, parent_id, child_id)
        if record is None:
            return _Result(Decision.SKIPPED, f"{self.side_name(source)} {entity.value} not found")
        record = normalize(record).model_copy(update={"parent_id": parent_id})

        if link is not None:
            if is_echo(record, link.side(source)):
                self.engine.count("echo_suppressed", event, self.connection.connection_id)
                return _Result(Decision.ECHO, "echo of our own write")
            target_shadow = link.side(target)
            other = self._get_child(
                target, entity, target_shadow.parent_id or target_parent, target_shadow.id
            )
            if other is None:
                return self.apply_delete(link, deleted_on=target, why="linked record gone")
            other = normalize(other).model_copy(
                update={"parent_id": target_shadow.parent_id or target_parent}
            )
            result, _ = self.merge_children(link, record, other)
            return result

        # Never create before a lookup: a record on the target with the same content under the same
        # contact and not linked yet is one an earlier attempt created (and crashed before linking).
        for candidate in self._list_children(target, entity, target_parent):
            candidate = normalize(candidate)
            if (
                candidate.id
                and candidate.content_hash() == record.content_hash()
                and self.get_link(entity, target, candidate.id) is None
            ):
                candidate = candidate.model_copy(update={"parent_id": target_parent})
                return self._link_child(entity, record, candidate, writes=False)
        created = self._create_child(target, entity, target_parent, record)
        created = normalize(created).model_copy(update={"parent_id": target_parent})
        self.wrote(1, record.fields().keys())
        return self._link_child(entity, record, created, writes=True)

    def _link_child(self, entity: EntityKind, record: Child, other: Child, *, writes: bool) -> _Result:
        source, target = self.source, self.source.other
        assert other.id is not None
        self.note_ids(target, other.id, entity)
        shadows = {
            source: self._shadow(record, source, self.event.occurred_at),
            target: self._shadow(other, target, None),
        }
        link = Link(
            connection_id=self.connection.connection_id,
            entity=entity,
            ghl=shadows[Side.GHL],
            app=shadows[Side.APP],
            synced_at=self.now(),
        )
        previous = self.get_link(entity, target, other.id)
        self.links.save(link, previous=previous)
        verb = "created" if writes else "linked existing"
        return _Result(Decision.APPLIED, f"{verb} {entity.value} on {self.side_name(target)}")

    def merge_children(self, link: Link, record: Child, other: Child) -> tuple[_Result, Link]:
        current: dict[Side, Child] = {self.source: record, self.source.other: other}
        plan = self._plan(link, current)
        new_link = link
        for side in Side:
            rec = current[side]
            assert rec.id is not None and rec.parent_id is not None
            writes = plan.writes_for(side)
            returned: Child = rec
            if writes:
                updated = rebuild(rec, conflicts.unflatten_into(rec.fields(), writes))
                connector = self.on(side)
                if isinstance(updated, CanonicalTask):
                    returned = connector.update_task(rec.parent_id, rec.id, updated, frozenset(writes))
                else:
                    returned = connector.update_note(rec.parent_id, rec.id, updated)
                returned = normalize(returned)
                self.wrote(1, writes.keys())
            new_link = new_link.with_side(
                side,
                self._side_after(rec, returned, frozenset(writes), None, side, self.event.occurred_at, link),
            )
        return self._finish(new_link, plan, link)

    def _get_child(self, side: Side, entity: EntityKind, parent_id: str, child_id: str) -> Child | None:
        connector = self.on(side)
        if entity is EntityKind.TASK:
            return connector.get_task(parent_id, child_id)
        return connector.get_note(parent_id, child_id)

    def _list_children(self, side: Side, entity: EntityKind, parent_id: str) -> list[Child]:
        connector = self.on(side)
        if entity is EntityKind.TASK:
            return list(connector.list_tasks(parent_id))
        return list(connector.list_notes(parent_id))

    def _create_child(self, side: Side, entity: EntityKind, parent_id: str, record: Child) -> Child:
        content = record.model_copy(update={"id": None, "updated_at": None, "parent_id": parent_id})
        connector = self.on(side)
        if isinstance(content, CanonicalTask):
            return connector.create_task(parent_id, content)
        return connector.create_note(parent_id, content)

    # -- deletes --------------------------------------------------------------------------

    def delete(self) -> _Result:
        event, source = self.event, self.source
        link = self.get_link(event.entity, source, event.entity_id)
        if link is None:
            return _Result(Decision.SKIPPED, "not linked")
        if not link.active:
            return _Result(Decision.SKIPPED, "already deleted")
        self.note_ids(source.other, link.side(source.other).id, event.entity)
        # Deletes are not re-read for content, but a record that still exists means the delete is
        # stale (or forged): nothing is deleted on its word.
        shadow = link.side(source)
        if event.entity is EntityKind.CONTACT:
            still_there = self.on(source).get_contact(event.entity_id) is not None
        else:
            parent = event.parent_id or shadow.parent_id
            still_there = (
                parent is not None
                and self._get_child(source, event.entity, parent, event.entity_id) is not None
            )
        if still_there:
            return _Result(Decision.SKIPPED, "stale delete: the record still exists")
        return self.apply_delete(link, deleted_on=source, why="deleted")

    def apply_delete(self, link: Link, *, deleted_on: Side, why: str) -> _Result:
        survivor = deleted_on.other
        shadow = link.side(survivor)
        policy = self.settings.delete_policy
        connector = self.on(survivor)
        action = "left alone"
        if policy is DeletePolicy.DELETE:
            if link.entity is EntityKind.CONTACT:
                connector.delete_contact(shadow.id)
            elif link.entity is EntityKind.TASK:
                connector.delete_task(shadow.parent_id or "", shadow.id)
            else:
                connector.delete_note(shadow.parent_id or "", shadow.id)
            self.wrote(1)
            action = "deleted"
        elif policy is DeletePolicy.TAG and link.entity is EntityKind.CONTACT:
            marker = tags.deleted_tag(self.side_name(deleted_on))
            connector.add_tags(shadow.id, frozenset({marker}))
            self.wrote(1, {"tags"})
            action = f"tagged {marker}"
        tombstone = link.model_copy(
            update={"state": LinkState.DELETED, "deleted_on": deleted_on, "synced_at": self.now()}
        )
        self.links.save(
            tombstone, previous=link, expires_at=int(self.now().timestamp()) + TOMBSTONE_TTL_SECONDS
        )
        return _Result(
            Decision.APPLIED,
            f"{why} on {self.side_name(deleted_on)}; {self.side_name(survivor)} record {action} "
            f"(delete policy {policy.value})",
        )
