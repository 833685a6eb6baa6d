"""What `ghlsync status`, `audit` and `conflicts` answer, read from the stores and the queues.

- status: per connection its app, health, when its sweep last read every feed through and the
  worst feed's lag, its dead letters, its open conflicts and its location's GHL budget headroom.
  Health is the first that applies: `disabled` (the connection), the tenant's status when not
  active (`reconnect_needed`, `uninstalled`), `failing` (its newest audit row is a failure),
  `check failed` (its last scheduled check, ghlsync.scheduled_check, failed), `dead letters` (some
  of its events are in the DLQ), else `ok`. The last check's verdict is a column of its own.
- audit: rows of a record or of a connection, newest first: ids, field names and reasons, never
  values (the audit rows hold none).
- conflicts: list and show (both values: the operator chooses between them), and resolve, which
  queues a RESOLVE event on the location's message group: the worker applies it through the
  engine like any change (ghlsync.sync.resolution), in order with the record's other changes.
"""

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from ghlsync.core.events import GHL_SOURCE, ChangeAction, ChangeEvent
from ghlsync.queue import DeadLetter
from ghlsync.scheduled_check import last_verdict
from ghlsync.store.audit import AuditRecord, AuditStore
from ghlsync.store.checkpoints import CheckpointStore
from ghlsync.store.conflicts import Conflict, ConflictStatus, ConflictStore
from ghlsync.store.connections import Connection, ConnectionStatus
from ghlsync.store.tenants import TenantStatus, TenantStore
from ghlsync.sync.resolution import RESOLVABLE

AUDIT_COLUMNS = (
    "recorded_at",
    "decision",
    "entity",
    "action",
    "source",
    "ghl_id",
    "app_id",
    "fields",
    "reason",
)


@dataclass(frozen=True)
class ConnectionHealth:
    connection_id: str
    location_id: str
    app: str
    health: str
    last_sweep: str | None  # when every feed was last read through (the oldest of them)
    sweep_lag_s: int | None
    dead_letters: int
    open_conflicts: int
    ghl_daily_headroom_percent: float | None
    ghl_window_headroom_percent: float | None
    check: str | None  # the last scheduled check: `ok` or `failed: <capabilities>`
    checked_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def connection_health(
    connection: Connection,
    *,
    tenants: TenantStore,
    checkpoints: CheckpointStore,
    conflicts: ConflictStore,
    audit: AuditStore,
    dead_letters: Iterable[DeadLetter],
    now: datetime,
) -> ConnectionHealth:
    tenant = tenants.get(connection.location_id)
    feeds = checkpoints.feeds(connection.connection_id)
    oldest = min(feeds.values()) if feeds else None
    letters = sum(1 for letter in dead_letters if _concerns(letter, connection))
    newest = next(audit.for_connection(connection.connection_id, newest_first=True), None)
    verdict = last_verdict(checkpoints, connection.connection_id)
    if connection.status is not ConnectionStatus.ACTIVE:
        health = connection.status.value
    elif tenant is not None and tenant.status is not TenantStatus.ACTIVE:
        health = tenant.status.value
    elif newest is not None and newest.decision == "failed":
        health = "failing"
    elif verdict is not None and verdict.failed:
        health = "check failed"
    elif letters:
        health = "dead letters"
    else:
        health = "ok"
    return ConnectionHealth(
        connection_id=connection.connection_id,
        location_id=connection.location_id,
        app=connection.app,
        health=health,
        last_sweep=oldest.isoformat() if oldest else None,
        sweep_lag_s=int((now - oldest).total_seconds()) if oldest else None,
        dead_letters=letters,
        open_conflicts=conflicts.count_open(connection.connection_id),
        ghl_daily_headroom_percent=tenant.ghl_daily_headroom_percent if tenant else None,
        ghl_window_headroom_percent=tenant.ghl_window_headroom_percent if tenant else None,
        check=verdict.summary if verdict else None,
        checked_at=verdict.checked_at.isoformat() if verdict else None,
    )


def _concerns(letter: DeadLetter, connection: Connection) -> bool:
    """A dead letter is the connection's when it names it, or when it is a GHL event of its location
    (a GHL event fans out to every connection of the location)."""
    event = letter.event
    if event is None:
        return False
    if event.connection_id is not None:
        return event.connection_id == connection.connection_id
    return event.location_id == connection.location_id


def audit_rows(records: Iterator[AuditRecord], limit: int) -> list[dict[str, Any]]:
    """Rows as an operator reads them: ids, field names, reasons; nothing else of the record."""
    return [
        {
            "recorded_at": r.recorded_at.isoformat(),
            "connection_id": r.connection_id,
            "event_id": r.event_id,
            "event_type": r.event_type,
            "decision": r.decision,
            "entity": r.entity,
            "action": r.action,
            "source": r.source,
            "ghl_id": r.ghl_id,
            "app_id": r.app_id,
            "fields": ",".join(r.fields_changed),
            "reason": r.reason,
        }
        for r in islice(records, limit)
    ]


def conflict_summary(conflict: Conflict) -> dict[str, Any]:
    return {
        "conflict_id": conflict.conflict_id,
        "status": conflict.status.value,
        "connection_id": conflict.connection_id,
        "app": conflict.app,
        "entity": conflict.entity,
        "ghl_id": conflict.ghl_id,
        "app_id": conflict.app_id,
        "fields": ",".join(sorted(conflict.fields)),
        "opened_at": conflict.opened_at.isoformat(),
        "kept": conflict.kept,
    }


def resolution_event(conflict: Conflict, keep: str, now: datetime) -> ChangeEvent:
    """The RESOLVE event that applies `keep` (ghl | app) to a conflict, from the kept side."""
    if conflict.status is ConflictStatus.RESOLVED:
        raise ValueError(f"conflict {conflict.conflict_id} is already resolved (kept {conflict.kept})")
    if keep not in {"ghl", "app"}:
        raise ValueError("--keep is ghl or app")
    entity = next((kind for kind in RESOLVABLE if kind.value == conflict.entity), None)
    if entity is None:
        raise ValueError(
            f"conflict {conflict.conflict_id} is on a {conflict.entity}: edit it on the side to keep instead"
        )
    return ChangeEvent(
        event_id=f"resolve-{conflict.conflict_id}-{keep}",
        location_id=conflict.location_id,
        source=GHL_SOURCE if keep == "ghl" else conflict.app,
        connection_id=conflict.connection_id,
        entity=entity,
        action=ChangeAction.RESOLVE,
        entity_id=conflict.ghl_id if keep == "ghl" else conflict.app_id,
        occurred_at=now,
        received_at=now,
        event_type="ConflictResolved",
        data={"conflict_id": conflict.conflict_id, "keep": keep},
    )


def table(rows: list[dict[str, Any]], columns: Iterable[str]) -> str:
    """Rows as aligned text columns (the people's view; --json is the scripts')."""
    names = list(columns)
    cells = [[_cell(row.get(name)) for name in names] for row in rows]
    widths = [max([len(name), *(len(r[i]) for r in cells)]) for i, name in enumerate(names)]
    lines = ["  ".join(name.upper().ljust(widths[i]) for i, name in enumerate(names)).rstrip()]
    lines += ["  ".join(value.ljust(widths[i]) for i, value in enumerate(r)).rstrip() for r in cells]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
