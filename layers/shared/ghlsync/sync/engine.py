"""The sync engine: one change event in, decisions and writes out (DESIGN §4).

`SyncEngine.handle(event)` finds the connections the event concerns (a GHL event fans out to every
active connection of its location; an app event names its connection) and, for each, runs one
`SyncRun` (sync.context): look up the link, drop stale events and echoes, re-read the record where
it changed (a webhook payload is never trusted for content; a record that cannot be re-read comes
carried in the event), merge against the shadows, write the difference to the other side, store
the new shadows, and write one audit row.

The steps live beside this module, one per concern (the same code runs in both directions; only
`Side` differs): `sync.contacts` (upsert, identity, tags), `sync.children` (tasks and notes under
their contact), `sync.deletes` (confirmation, delete policy, tombstones), `sync.merging` (the 3-way
merge and the shadows it leaves), `sync.mirrors` (apps that cannot be read back: contacts written
by upsert, per-contact digests of tasks and notes, tags an app asks to add). Before any step runs,
the app's declared capabilities decide whether the flow exists at all: an entity the app does not
sync, or that does not flow in the event's direction, and any operation a side does not declare, is
audited `skipped: unsupported`.

Failures: connector errors with `transient` True (429/5xx/timeouts) become TransientSyncError,
other connector errors PermanentSyncError; a link written concurrently is transient (retry reads
fresh state). Every failure is audited before it propagates; nothing is swallowed.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx

from ghlsync.apps.base import Connector
from ghlsync.core.entities import EntityKind
from ghlsync.core.errors import ConnectorError
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.mapping.canonical import Canonical
from ghlsync.observability import logger
from ghlsync.observability.catalog import MetricName
from ghlsync.store.audit import AuditStore
from ghlsync.store.conflicts import ConflictStore
from ghlsync.store.connections import Connection
from ghlsync.store.links import LinkConflict, LinkStore, Side
from ghlsync.sync.children import sync_child
from ghlsync.sync.contacts import sync_contact, sync_contact_tags
from ghlsync.sync.context import StepResult, SyncRun, Tally, Unsupported
from ghlsync.sync.deletes import sync_delete
from ghlsync.sync.mirrors import sync_added_tags, sync_digest, sync_upserted_contact
from ghlsync.sync.outcome import Decision, Outcome, PermanentSyncError, SyncError, TransientSyncError
from ghlsync.sync.resolution import resolve_conflict
from ghlsync.sync.telemetry import SyncMetrics

_DECISION_WEIGHT = {Decision.SKIPPED: 0, Decision.ECHO: 1, Decision.APPLIED: 2, Decision.CONFLICT: 3}


class ConnectionLookup(Protocol):
    def get(self, connection_id: str) -> Connection | None: ...
    def for_location(self, location_id: str) -> list[Connection]: ...


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
        conflicts: ConflictStore | None = None,
    ) -> None:
        """`conflicts` defaults to the conflict rows of the audit's table (one table holds both)."""
        self._connections = connections
        self._links = links
        self._audit = audit
        self._hub_for = hub_for
        self._app_for = app_for
        self._metrics = metrics
        self._tenant_active = tenant_active
        self._clock = clock
        self._conflicts = conflicts if conflicts is not None else ConflictStore(audit.table)

    def handle(self, event: ChangeEvent) -> Outcome:
        if self._tenant_active is not None and not self._tenant_active(event.location_id):
            return self._skip_without_connection(event, "tenant not active")
        # A resolution names its connection whichever side it keeps.
        if event.from_ghl and event.action is not ChangeAction.RESOLVE:
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

    def sync_listed_contact(self, connection: Connection, event: ChangeEvent, record: Canonical) -> Outcome:
        """A hub contact a bulk job listed, synced to this one connection as its upsert event would
        be (same steps, links, shadows and audit row), from the listed `record` instead of a re-read,
        its digest (for an app that keeps one) in the same write. Failures raise as in `handle`."""
        return self._handle_for(connection, event, listed=record, with_digest=True)

    def sync_listed_pair(
        self, connection: Connection, event: ChangeEvent, record: Canonical, counterpart: Canonical, via: str
    ) -> Outcome:
        """A contact a backfill listed on the event's side and the record it matched on the other
        side's listing (by `via`): linked and merged as the live path links an identity match, with
        no lookup and no re-read. A contact linked meanwhile (a live event got there first) is
        merged through its link instead."""
        return self._handle_for(connection, event, listed=record, counterpart=(counterpart, via))

    def record_ambiguous(self, connection: Connection, event: ChangeEvent, reason: str) -> Outcome:
        """An identity a backfill found ambiguous across its listings: the conflict is audited as
        the live identity step audits it, and nothing is linked or merged."""
        outcome = Outcome(decision=Decision.CONFLICT, reason=f"ambiguous identity: {reason}")
        tally = Tally()
        tally.ghl_id = event.entity_id if event.from_ghl else None
        self._record(connection, event, tally, outcome)
        self.count("identity_conflict", event, connection)
        self.count("sync_conflict", event, connection)
        return outcome

    def _handle_for(
        self,
        connection: Connection,
        event: ChangeEvent,
        *,
        listed: Canonical | None = None,
        with_digest: bool = False,
        counterpart: tuple[Canonical, str] | None = None,
    ) -> Outcome:
        tally = Tally()
        try:
            run = SyncRun(
                connection=connection,
                event=event,
                links=self._links,
                connectors={Side.GHL: self._hub_for, Side.APP: self._app_for},
                metrics=self._metrics,
                clock=self._clock,
                tally=tally,
                listed=listed,
                with_digest=with_digest,
                counterpart=counterpart,
            )
            result = (
                resolve_conflict(run, self._conflicts)
                if event.action is ChangeAction.RESOLVE
                else _apply(run)
            )
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
            reason="; ".join(part for part in (result.reason, *tally.remarks) if part),
            writes=tally.writes,
            fields_changed=frozenset(tally.fields_changed),
        )
        self._record(connection, event, tally, outcome)
        self._open_conflicts(connection, event, tally)
        self.count(f"sync_{outcome.decision.value}", event, connection)
        if outcome.writes:
            self.count("sync_writes", event, connection, outcome.writes)
        if event.action is ChangeAction.RESOLVE:
            if outcome.decision is Decision.APPLIED:
                self._emit_one(MetricName.CONFLICTS_RESOLVED, connection, event)
        elif outcome.writes and not event.listed:
            # A listed record's source time is when it last changed (a backfilled contact's, months
            # ago), not when a change was made: it says nothing of how fast changes sync.
            self._measure_latency(connection, event)
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

    def count(self, name: str, event: ChangeEvent, connection: Connection | None, value: int = 1) -> None:
        self._metrics.count(
            name,
            app=connection.app if connection is not None else "none",
            location_id=event.location_id,
            connection_id=connection.connection_id if connection is not None else None,
            value=value,
        )

    def _measure_latency(self, connection: Connection, event: ChangeEvent) -> None:
        """How long an applied change took to reach the other side: from the source's own timestamp
        and from when the stack received it (webhook or sweep), in milliseconds."""
        applied = self._clock()
        self._metrics.emit(
            {
                MetricName.SYNC_LATENCY_FROM_SOURCE: _millis(applied - event.occurred_at),
                MetricName.SYNC_LATENCY_FROM_RECEIPT: _millis(applied - event.received_at),
            },
            dimensions={"app": connection.app, "direction": "to_app" if event.from_ghl else "to_ghl"},
            location_id=event.location_id,
            connection_id=connection.connection_id,
        )

    def _open_conflicts(self, connection: Connection, event: ChangeEvent, tally: Tally) -> None:
        """Record the run's conflicts (both values) for an operator to resolve."""
        for link, found in tally.conflicts:
            self._conflicts.open(
                connection_id=connection.connection_id,
                location_id=event.location_id,
                app=connection.app,
                entity=link.entity.value,
                ghl_id=link.ghl.id,
                app_id=link.app.id,
                event_id=event.event_id,
                fields={c.field: (c.ghl_value, c.app_value) for c in found},
                ghl_time=found[0].ghl_time,
                app_time=found[0].app_time,
            )
            self._emit_one(MetricName.CONFLICTS_OPENED, connection, event)

    def _emit_one(self, name: MetricName, connection: Connection, event: ChangeEvent) -> None:
        self._metrics.emit(
            {name: 1},
            dimensions={"app": connection.app},
            location_id=event.location_id,
            connection_id=connection.connection_id,
        )

    def _record_failure(self, connection: Connection, event: ChangeEvent, tally: Tally, reason: str) -> None:
        failed = Outcome(Decision.FAILED, reason, tally.writes, frozenset(tally.fields_changed))
        self._record(connection, event, tally, failed)
        self.count("sync_failed", event, connection)
        logger.warning(
            "sync failed",
            extra={
                "location_id": event.location_id,
                "connection_id": connection.connection_id,
                "event_id": event.event_id,
                "reason": reason,
            },
        )

    def _record(self, connection: Connection, event: ChangeEvent, tally: Tally, outcome: Outcome) -> None:
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
        self._metrics.count(
            "sync_skipped", app="none", location_id=event.location_id, connection_id=connection_id
        )
        return Outcome(decision=Decision.SKIPPED, reason=reason)


def classify(error: Exception) -> SyncError | None:
    """The sync error a connector/client failure amounts to (DESIGN §4 rule 7); None if not one."""
    description = f"{type(error).__name__}: {error}"
    if isinstance(error, ConnectorError):
        return TransientSyncError(description) if error.transient else PermanentSyncError(description)
    if isinstance(error, httpx.TimeoutException | httpx.TransportError):
        return TransientSyncError(description)
    return None


def _millis(elapsed: timedelta) -> float:
    return max(0.0, round(elapsed.total_seconds() * 1000, 3))


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


def _apply(run: SyncRun) -> StepResult:
    """The step the event calls for, if the app declares the flow (else skipped `unsupported`)."""
    event = run.event
    run.note_ids(run.source, event.entity_id, event.entity)
    try:
        if event.action is ChangeAction.ADD_TAGS:
            # Tags, not a contact, move here: the target's declared tag writes govern them.
            return sync_added_tags(run)
        refusal = _undeclared_flow(run)
        if refusal is not None:
            return StepResult(Decision.SKIPPED, refusal)
        app = run.capabilities(Side.APP)
        if event.from_ghl and event.entity in app.digests:
            return sync_digest(run)
        upserted = event.from_ghl and event.entity is EntityKind.CONTACT and app.upserts_contacts
        if upserted and event.action is not ChangeAction.DELETE:
            return sync_upserted_contact(run)
        if event.action is ChangeAction.DELETE:
            return sync_delete(run)
        if event.entity is EntityKind.CONTACT:
            if event.action is ChangeAction.TAGS:
                return sync_contact_tags(run)
            result, _ = sync_contact(run, run.source, event.entity_id, event.occurred_at)
            return result
        return sync_child(run, event.entity, event.entity_id, event.parent_id)
    except Unsupported as unsupported:
        return StepResult(Decision.SKIPPED, unsupported.reason)


def _undeclared_flow(run: SyncRun) -> str | None:
    """Why the event's entity does not flow between the two sides of this connection; None if it does."""
    event, app = run.event, run.connection.app
    support = run.capabilities(Side.APP).support(event.entity)
    if support is None or run.capabilities(Side.GHL).support(event.entity) is None:
        return f"unsupported: {app} does not sync {event.entity}s"
    if event.from_ghl and not support.to_app:
        return f"unsupported: {event.entity}s do not flow from ghl to {app}"
    if not event.from_ghl and not support.from_app:
        return f"unsupported: {event.entity}s do not flow from {app} to ghl"
    return None
