"""The audit trail: one row per sync decision (applied, echo, conflict, skipped, failed).

Key layout (single table `SYNC_TABLE_NAME`):

| item     | pk                     | sk                             | gsi1pk                   | gsi2pk     |
|----------|------------------------|--------------------------------|--------------------------|------------|
| audit    | `AUDIT#<connectionId>` | `<recordedAt>#<eventId>#<seq>` | `AUDIT#LOC#<locationId>` | record key |

gsi1sk and gsi2sk equal sk.

Decisions taken before any connection applies (no active connection, tenant inactive) use
pk `AUDIT#LOC#<locationId>`. `recordedAt` is ISO 8601 UTC, so rows sort by time.

Every question an operator asks is one query on a key, never a scan: a connection's rows since an
instant (pk, sk from the instant's ISO string), a location's (gsi1), a record's (gsi2). The record
key is the GHL id (`AUDIT#REC#<ghlId>`), the hub identity every side's rows share once linked; a
row that names no GHL id (an app record never linked) is keyed by its connection and the source's
id (`AUDIT#REC#<connectionId>#<sourceId>`).

Rows expire through the table's TTL attribute `expires_at` (default 90 days). Rows hold ids,
field names and reasons, never field values: the trail must not become a second copy of the
contacts' personal data.
"""

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from pydantic import BaseModel, ConfigDict, Field

from ghlsync.core.events import GHL_SOURCE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

DEFAULT_RETENTION = timedelta(days=90)
_KEYS = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"})


class AuditRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    location_id: str
    connection_id: str | None = None
    event_id: str
    event_type: str
    source: str
    entity: str
    action: str
    decision: str
    reason: str = ""
    source_id: str
    ghl_id: str | None = None
    app_id: str | None = None
    fields_changed: list[str] = Field(default_factory=list)
    writes: int = 0
    recorded_at: datetime
    expires_at: int


class AuditStore:
    def __init__(
        self,
        table: "Table",
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self.table = table
        self._clock = clock
        self._retention = retention
        # Two rows for the same event in the same instant (fan-out) must not overwrite each other.
        self._seq = itertools.count()

    def record(
        self,
        *,
        location_id: str,
        connection_id: str | None,
        event_id: str,
        event_type: str,
        source: str,
        entity: str,
        action: str,
        decision: str,
        reason: str,
        source_id: str,
        ghl_id: str | None = None,
        app_id: str | None = None,
        fields_changed: frozenset[str] = frozenset(),
        writes: int = 0,
    ) -> AuditRecord:
        now = self._clock()
        record = AuditRecord(
            location_id=location_id,
            connection_id=connection_id,
            event_id=event_id,
            event_type=event_type,
            source=source,
            entity=entity,
            action=action,
            decision=decision,
            reason=reason,
            source_id=source_id,
            ghl_id=ghl_id,
            app_id=app_id,
            fields_changed=sorted(fields_changed),
            writes=writes,
            recorded_at=now,
            expires_at=int((now + self._retention).timestamp()),
        )
        sk = f"{now.isoformat()}#{event_id}#{next(self._seq):06d}"
        item: dict[str, Any] = {
            k: v for k, v in record.model_dump(mode="json").items() if v is not None and v != [] and v != ""
        }
        item.update(
            {
                "pk": _partition(connection_id, location_id),
                "sk": sk,
                "gsi1pk": f"AUDIT#LOC#{location_id}",
                "gsi1sk": sk,
                "gsi2pk": record_key(
                    ghl_id or (source_id if source == GHL_SOURCE else None), connection_id, source_id
                ),
                "gsi2sk": sk,
            }
        )
        self.table.put_item(Item=item)
        return record

    def for_connection(
        self,
        connection_id: str,
        *,
        since: datetime | None = None,
        decision: str | None = None,
        newest_first: bool = False,
    ) -> Iterator[AuditRecord]:
        """A connection's rows (oldest first unless `newest_first`), from `since` on, of one decision."""
        condition: Any = Key("pk").eq(_partition(connection_id, ""))
        if since is not None:
            condition = condition & Key("sk").gte(since.astimezone(UTC).isoformat())
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": not newest_first}
        if decision is not None:
            kwargs["FilterExpression"] = Attr("decision").eq(decision)
        yield from self._query(kwargs)

    def for_record(self, record_id: str, *, connection_id: str | None = None) -> Iterator[AuditRecord]:
        """The rows of one record, newest first: `record_id` is its GHL id or, with `connection_id`,
        the id of an app record that was never linked."""
        key = record_key(None, connection_id, record_id) if connection_id else record_key(record_id, None, "")
        yield from self._query(
            {"IndexName": "gsi2", "KeyConditionExpression": Key("gsi2pk").eq(key), "ScanIndexForward": False}
        )

    def for_location(self, location_id: str) -> Iterator[AuditRecord]:
        """A location's rows across its connections, oldest first (eventually consistent GSI)."""
        yield from self._query(
            {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq(f"AUDIT#LOC#{location_id}")}
        )

    def _query(self, kwargs: dict[str, Any]) -> Iterator[AuditRecord]:
        while True:
            page = self.table.query(**kwargs)
            for item in page.get("Items", []):
                data = {k: v for k, v in item.items() if k not in _KEYS}
                yield AuditRecord.model_validate(_plain(data))
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last


def record_key(ghl_id: str | None, connection_id: str | None, source_id: str) -> str:
    return f"AUDIT#REC#{ghl_id}" if ghl_id else f"AUDIT#REC#{connection_id or '-'}#{source_id}"


def _partition(connection_id: str | None, location_id: str) -> str:
    return f"AUDIT#{connection_id}" if connection_id else f"AUDIT#LOC#{location_id}"


def _plain(value: Any) -> Any:
    """DynamoDB Decimals back to ints (audit numbers are counts and epoch seconds)."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
