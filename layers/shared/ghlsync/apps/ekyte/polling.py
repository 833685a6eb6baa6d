"""eKyte's inbound side: no webhooks, so the sweep polls (target-apps.md §2.1).

`/polling/persons` and `/polling/tasks` show the last 15 minutes (one call each per poll); a
checkpoint older than that is recovered through the BI API's date filters. A changed client task
also brings its comments, as notes of its contact. Event ids are stable per id + update time, so
the sweep and the queue de-duplicate repeats.
"""

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ghlsync.apps.ekyte.api import EkyteApi
from ghlsync.apps.ekyte.settings import EkyteSettings
from ghlsync.core.entities import EntityKind
from ghlsync.core.events import ChangeAction, ChangeEvent
from ghlsync.mapping.ekyte import EkytePerson, EkyteTask, contacts_of, task_to_canonical
from ghlsync.mapping.ekyte_comments import EkyteComment, comment_to_note

SOURCE = "ekyte"  # the connector's name, the events' source


class EkytePolling:
    """The change feeds of `EkyteConnector` (which provides the API, settings and persons index)."""

    api: EkyteApi
    _settings: EkyteSettings
    _location_id: str
    _connection_id: str

    if TYPE_CHECKING:  # EkyteConnector's

        def persons(self, name: str | None = None) -> list[EkytePerson]: ...

    # -- inbound: polling ---------------------------------------------------------------------
    def list_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        """Persons and the workspace's tasks changed since `since` among what the last 15 minutes
        show (one call each). Tasks whose description names no contact of
        ours are not for GHL. De-duplicated downstream by id + update time (stable event ids)."""
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        yield from self._person_changes(since)
        listed = self.api.get("polling/tasks")
        yield from self._task_changes((t for t in listed or [] if isinstance(t, dict)), since)

    def list_all_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        """The recovery past the 15-minute window: the workspace's tasks created or resolved since
        `since` through the BI API (`{data, paging}`), and the persons the window still shows
        (eKyte lists older persons by name only: those made in the gap are found again when they
        change, or by the scheduled refresh)."""
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        yield from self._person_changes(since)
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        seen: set[int] = set()
        for date_filter in ("createdFrom", "resolvedDateFrom"):
            params: dict[str, str | int] = {
                "workspaceId": self._settings.workspace_id,
                date_filter: stamp,
                "includeComments": 1,
            }
            fresh = (
                t for t in self.api.bi_items(self._settings.bi_tasks_path, params) if t.get("id") not in seen
            )
            for event in self._task_changes(fresh, since):
                seen.add(int(event.entity_id))
                yield event

    def _person_changes(self, since: datetime) -> Iterator[ChangeEvent]:
        for person in self.persons():
            changed = person.changed_at
            if changed is None or changed < since:
                continue
            for contact in contacts_of(person):
                assert contact.id is not None
                yield self._event(
                    EntityKind.CONTACT, contact.id, None, changed, "person.polled", contact.fields()
                )

    def _task_changes(self, listed: Iterable[dict[str, Any]], since: datetime) -> Iterator[ChangeEvent]:
        for raw in listed:
            task = EkyteTask.model_validate(raw)
            if task.workspace_id is not None and task.workspace_id != self._settings.workspace_id:
                continue
            canonical = task_to_canonical(task)
            changed = task.changed_at
            if canonical.parent_id is None or changed is None or changed < since:
                continue
            yield self._event(EntityKind.TASK, str(task.id), canonical.parent_id, changed, "task.polled", raw)
            yield from self._comment_changes(task.id, canonical.parent_id, raw.get("comments"), since)

    def _comment_changes(
        self, task_id: int, contact_id: str, carried: Any, since: datetime
    ) -> Iterator[ChangeEvent]:
        """The task's comments made since `since`, as notes of its contact: those the listing
        carried (BI `includeComments`), else one MCP read, only for a task that changed (a comment
        touches its task, so a quiet poll reads none)."""
        if carried is None:
            if not self.api.has_mcp:
                return
            result = self.api.call_tool(
                self._settings.mcp_list_comments_tool, {"taskId": task_id}, repeatable=True
            )
            structured = result.get("structuredContent") if isinstance(result, dict) else None
            carried = structured.get("items") if isinstance(structured, dict) else structured
        for raw in carried if isinstance(carried, list) else []:
            if not isinstance(raw, dict):
                continue
            comment = EkyteComment.model_validate(raw)
            changed = comment.changed_at
            if changed is None or changed < since or not comment.message.strip():
                continue
            note = comment_to_note(comment, contact_id)
            assert note.id is not None
            event = self._event(EntityKind.NOTE, note.id, contact_id, changed, "comment.polled", raw)
            yield event.model_copy(update={"record": note.model_dump(mode="json")})

    def _event(
        self,
        entity: EntityKind,
        entity_id: str,
        parent_id: str | None,
        changed: datetime,
        kind: str,
        data: dict[str, Any],
    ) -> ChangeEvent:
        key = f"{self._connection_id}:{entity.value}:{entity_id}:{changed.isoformat()}"
        return ChangeEvent(
            event_id="ekyte-" + hashlib.sha256(key.encode()).hexdigest(),
            location_id=self._location_id,
            source=SOURCE,
            connection_id=self._connection_id,
            entity=entity,
            action=ChangeAction.UPSERT,
            entity_id=entity_id,
            parent_id=parent_id,
            occurred_at=changed,
            event_type=kind,
            data=data,
        )
