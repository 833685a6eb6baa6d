"""Recorded conflicts: a field edited on both sides within the skew window (DESIGN §4 rule 3).

The engine keeps the hub's value and records the conflict here, with both sides' values, so that
an operator can read it and choose (`ghlsync conflicts resolve ID --keep ghl|app`); a resolution
goes through the sync queue and the engine like any change, and the row is closed by it.

Key layout (single table `SYNC_TABLE_NAME`):

| item     | pk                        | sk                          | gsi1pk                    | gsi1sk  |
|----------|---------------------------|-----------------------------|---------------------------|---------|
| conflict | `CONFLICT#<connectionId>` | `<openedAt>#<conflictId>`   | `CONFLICT#ID#<conflictId>`| `-`     |

A connection's conflicts are one query, newest first; one conflict by id is one GSI query. Unlike
audit rows, a conflict holds the two values (the operator must see what to choose between); like
them it expires through the table's TTL (`expires_at`, 90 days).
"""

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from pydantic import BaseModel, ConfigDict

from ghlsync.store.audit import DEFAULT_RETENTION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class ConflictStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class FieldValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ghl: Any = None
    app: Any = None


class Conflict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conflict_id: str
    connection_id: str
    location_id: str
    app: str
    entity: str
    ghl_id: str
    app_id: str
    event_id: str
    fields: dict[str, FieldValues]  # flattened field name -> both sides' values when it was opened
    ghl_time: datetime | None = None
    app_time: datetime | None = None
    opened_at: datetime
    status: ConflictStatus = ConflictStatus.OPEN
    kept: str | None = None  # "ghl" | "app", once resolved
    resolved_at: datetime | None = None
    expires_at: int


class ConflictNotFound(LookupError):
    """No stored conflict has this id (or it expired)."""


class ConflictStore:
    def __init__(
        self,
        table: "Table",
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self._table = table
        self._clock = clock
        self._retention = retention

    def open(
        self,
        *,
        connection_id: str,
        location_id: str,
        app: str,
        entity: str,
        ghl_id: str,
        app_id: str,
        event_id: str,
        fields: Mapping[str, tuple[Any, Any]],
        ghl_time: datetime | None,
        app_time: datetime | None,
    ) -> Conflict:
        """Record one conflict; the same event recorded again (a retry) keeps one row."""
        now = self._clock()
        digest = hashlib.sha256(f"{connection_id}|{entity}|{ghl_id}|{event_id}".encode()).hexdigest()
        conflict = Conflict(
            conflict_id=f"cf-{digest[:16]}",
            connection_id=connection_id,
            location_id=location_id,
            app=app,
            entity=entity,
            ghl_id=ghl_id,
            app_id=app_id,
            event_id=event_id,
            fields={name: FieldValues(ghl=pair[0], app=pair[1]) for name, pair in fields.items()},
            ghl_time=ghl_time,
            app_time=app_time,
            opened_at=now,
            expires_at=int((now + self._retention).timestamp()),
        )
        existing = self._find(conflict.conflict_id)
        if existing is not None:
            return existing
        self._table.put_item(Item=self._item(conflict))
        return conflict

    def get(self, conflict_id: str) -> Conflict:
        found = self._find(conflict_id)
        if found is None:
            raise ConflictNotFound(f"no conflict {conflict_id}")
        return found

    def for_connection(
        self, connection_id: str, *, status: ConflictStatus | None = None
    ) -> Iterator[Conflict]:
        """A connection's conflicts, newest first."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"CONFLICT#{connection_id}"),
            "ScanIndexForward": False,
        }
        if status is not None:
            kwargs["FilterExpression"] = Attr("status").eq(status.value)
        yield from self._query(kwargs)

    def count_open(self, connection_id: str) -> int:
        return sum(1 for _ in self.for_connection(connection_id, status=ConflictStatus.OPEN))

    def resolve(self, conflict: Conflict, kept: str) -> Conflict:
        """Close the conflict: `kept` ("ghl" or "app") is the side whose values were written."""
        resolved = conflict.model_copy(
            update={"status": ConflictStatus.RESOLVED, "kept": kept, "resolved_at": self._clock()}
        )
        self._table.put_item(Item=self._item(resolved))
        return resolved

    def _find(self, conflict_id: str) -> Conflict | None:
        kwargs = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(f"CONFLICT#ID#{conflict_id}"),
        }
        return next(self._query(kwargs), None)

    def _item(self, conflict: Conflict) -> dict[str, Any]:
        data = conflict.model_dump(mode="json", exclude={"fields"})
        return {
            **{k: v for k, v in data.items() if v is not None},
            # Values of any JSON type: stored as one JSON string, not as DynamoDB types.
            "fields_json": json.dumps({k: v.model_dump(mode="json") for k, v in conflict.fields.items()}),
            "pk": f"CONFLICT#{conflict.connection_id}",
            "sk": f"{conflict.opened_at.isoformat()}#{conflict.conflict_id}",
            "gsi1pk": f"CONFLICT#ID#{conflict.conflict_id}",
            "gsi1sk": "-",
        }

    def _query(self, kwargs: dict[str, Any]) -> Iterator[Conflict]:
        while True:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                data = {
                    k: v for k, v in item.items() if k not in {"pk", "sk", "gsi1pk", "gsi1sk", "fields_json"}
                }
                data["fields"] = json.loads(str(item["fields_json"]))
                data["expires_at"] = int(str(data["expires_at"]))
                yield Conflict.model_validate(data)
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last
