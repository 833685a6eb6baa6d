"""Dry run: the stack reads both sides and plans, but every write is recorded instead of sent.

`DryRunConnector` wraps a Connector: reads (get/find/list, webhook parsing) go to the real
connector; writes (create/update/delete, tag changes) are logged as "would ..." lines, kept in a
`WriteLog`, and answered with what the real call would plausibly return (the record with a
`dry-run-N` id for a create, the record itself for an update), so the engine carries on planning
the rest of the event. The engine's own bookkeeping (links, shadows, audit) still lands in the
local moto tables, which is what makes a second event about the same record plan an update
instead of a second create.

The layer has no dry-run switch, so `install()` wraps the connectors the engine's wiring hands out
(`ghlsync.sync.wiring.ConnectorCache.hub_for` / `app_for`) for as long as the dev stack runs.
"""

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ghlsync.apps.base import WRITE_METHODS
from ghlsync.mapping.canonical import Canonical, CanonicalContact, CanonicalNote, CanonicalTask

EMPTY: tuple[Any, ...] = (None, "", [], {})


@dataclass(frozen=True)
class PlannedWrite:
    side: str  # the connector's name: ghl, kayako, ...
    method: str
    target: str  # the record (and parent) ids the write addresses
    detail: str  # what would be sent: field names and values, tags

    def __str__(self) -> str:
        return f"would {self.side}.{self.method}({self.target}) {self.detail}".rstrip()


@dataclass
class WriteLog:
    """Every write a dry run held back, in order; `log` shows each as it is planned."""

    log: Callable[[str], None] = lambda _: None
    writes: list[PlannedWrite] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, write: PlannedWrite) -> None:
        with self._lock:
            self.writes.append(write)
        self.log(str(write))

    def new_id(self) -> str:
        with self._lock:
            return f"dry-run-{next(self._ids)}"


class DryRunConnector:
    """A Connector whose writes are recorded in a WriteLog instead of performed.

    Records the dry run "created" exist nowhere but here: reads of their `dry-run-N` ids are
    answered from this overlay (and their children listed from it), so a later event about the
    same record plans an update, not a second create or a delete.
    """

    def __init__(self, inner: Any, writes: WriteLog, overlay: dict[str, Canonical]) -> None:
        self._inner = inner
        self._writes = writes
        self._overlay = overlay

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name in WRITE_METHODS:
            return lambda *args, **kwargs: self._planned(name, args, kwargs)
        if name.startswith("get_"):
            return lambda *ids: self._overlay[ids[-1]] if ids[-1] in self._overlay else attribute(*ids)
        if name in ("list_tasks", "list_notes"):
            return lambda contact_id: self._children(attribute, contact_id, name)
        return attribute

    def _children(self, list_real: Callable[[str], list[Any]], contact_id: str, name: str) -> list[Any]:
        kind = CanonicalTask if name == "list_tasks" else CanonicalNote
        planned = [r for r in self._overlay.values() if isinstance(r, kind) and r.parent_id == contact_id]
        return planned if contact_id in self._overlay else [*list_real(contact_id), *planned]

    def _planned(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        ids = [str(a) for a in args if isinstance(a, str)]
        records = [a for a in [*args, *kwargs.values()] if isinstance(a, Canonical)]
        changed = next((a for a in [*args, *kwargs.values()] if isinstance(a, frozenset)), None)
        record = records[0] if records else None
        detail = _describe(record, changed)
        self._writes.record(PlannedWrite(str(self._inner.name), method, ", ".join(ids), detail))
        if method.startswith("delete_"):
            self._overlay.pop(ids[-1], None)
        if record is None:
            return None  # deletes and tag changes return nothing
        if method.startswith("create_"):
            parent = {"parent_id": ids[0]} if ids and not isinstance(record, CanonicalContact) else {}
            created = record.model_copy(update={"id": self._writes.new_id(), **parent})
            self._overlay[str(created.id)] = created
            return created
        updated = record.model_copy(update={"id": ids[-1] if ids else record.id})
        if updated.id in self._overlay:
            self._overlay[str(updated.id)] = updated
        return updated


def _describe(record: Canonical | None, changed: frozenset[Any] | None) -> str:
    """Field names and values a write would send (tags for tag changes)."""
    if record is None:
        return "" if changed is None else "tags " + ", ".join(sorted(str(t) for t in changed))
    content = record.fields()
    keys = sorted(changed) if changed is not None else sorted(k for k, v in content.items() if v not in EMPTY)
    return " ".join(f"{key}={content[key]!r}" for key in keys if key in content)


def install(writes: WriteLog) -> Callable[[], None]:
    """Wrap every connector the engine gets from now on; returns the function that undoes it."""
    from ghlsync.sync import wiring

    cache = wiring.ConnectorCache
    original_hub, original_app = cache.hub_for, cache.app_for
    # One overlay per side and connection, kept across connector rebuilds (settings changes).
    overlays: dict[tuple[str, str], dict[str, Canonical]] = {}

    def hub_for(self: Any, connection: Any) -> Any:
        overlay = overlays.setdefault(("ghl", connection.connection_id), {})
        return DryRunConnector(original_hub(self, connection), writes, overlay)

    def app_for(self: Any, connection: Any) -> Any:
        overlay = overlays.setdefault(("app", connection.connection_id), {})
        return DryRunConnector(original_app(self, connection), writes, overlay)

    cache.hub_for = hub_for  # type: ignore[method-assign]
    cache.app_for = app_for  # type: ignore[method-assign]

    def uninstall() -> None:
        cache.hub_for = original_hub  # type: ignore[method-assign]
        cache.app_for = original_app  # type: ignore[method-assign]

    return uninstall
