"""Links between a GHL record and an app record, with the shadow of what was last synced.

A link is written as two items, one per direction, so either side's id finds it with one strongly
consistent GetItem. Both items carry the whole link (ids, shadows, version) and are always written
together in one TransactWriteItems, so they can never disagree.

Key layout (single table `SYNC_TABLE_NAME`):

| item               | pk                    | sk                   | attributes                          |
|--------------------|-----------------------|----------------------|-------------------------------------|
| link, GHL side key | `LINK#<connectionId>` | `<kind>#ghl#<ghlId>` | `link` (JSON), `version`, `state`   |
| link, app side key | `LINK#<connectionId>` | `<kind>#app#<appId>` | the same (+ `expires_at` if a tomb) |

`<kind>` is the canonical entity kind (`contact`, `task`, `note`). One partition per connection
keeps a connection's links listable by side and kind (`begins_with(sk, "contact#ghl#")`) for sweeps;
a connection's events are serial (one FIFO group per location), so the partition is never hot.

The GHL side item of an active link is also in `gsi1`, so the caller-ID lookup finds a contact by
phone and a contact's tasks and notes without scanning the partition:

| GHL side item of | gsi1pk                                      | gsi1sk                        |
|------------------|---------------------------------------------|-------------------------------|
| a contact        | `LINK#<connectionId>#phone#<E.164>`         | `contact#<ghlId>`             |
| a task, a note   | `LINK#<connectionId>#parent#<ghlContactId>` | `<kind>#<time>#<ghlId>`       |

`<time>` is the GHL side's source time, else the link's sync time (GHL notes and tasks carry no
modification time), in UTC at fixed width, so a query reads a contact's newest children first.

A contact is indexed only when its GHL phone is already E.164 (GHL stores phones so); a child
only when its GHL contact is known. The keys are rewritten with every save, so a changed phone or
a tombstone leaves the index at once (the GSI itself is eventually consistent). Links saved before
the index existed join it on their next save.

The shadow of each side (content hash, comparable fields including the tag set, the side's own
last source timestamp) lives in the `link` JSON attribute: JSON rather than DynamoDB maps because
shadow fields hold floats, nested custom-field values and datetimes DynamoDB cannot take as-is.

Writes are optimistic: `version` must still be what was read (or the items must not exist for a new
link), otherwise `LinkConflict` is raised and the caller retries with fresh state. A deleted record
leaves a tombstone (`state = deleted`, TTL `expires_at`) so late events for it are not resurrected.
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from ghlsync.core.entities import EntityKind

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TOMBSTONE_TTL_SECONDS = 90 * 24 * 3600
INDEX = "gsi1"
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class Side(StrEnum):
    GHL = "ghl"
    APP = "app"

    @property
    def other(self) -> "Side":
        return Side.APP if self is Side.GHL else Side.GHL


class LinkState(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class Shadow(BaseModel):
    """One side of a link: its record id and what that record looked like when last synced."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    # The contact id on the same side, for tasks and notes (their API paths need it).
    parent_id: str | None = None
    content_hash: str | None = None
    # Canonical `fields()` of the record as last read or written (None: never synced).
    fields: dict[str, Any] | None = None
    # The side's own clock: the newest `updated_at` / event `occurred_at` seen for this record.
    source_time: datetime | None = None

    @property
    def tags(self) -> frozenset[str]:
        return frozenset((self.fields or {}).get("tags", []))


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connection_id: str = Field(min_length=1)
    entity: EntityKind
    ghl: Shadow
    app: Shadow
    state: LinkState = LinkState.ACTIVE
    deleted_on: Side | None = None
    synced_at: datetime | None = None
    # Optimistic-lock counter; 0 means "not stored yet".
    version: int = 0

    def side(self, side: Side) -> Shadow:
        return self.ghl if side is Side.GHL else self.app

    def with_side(self, side: Side, shadow: Shadow) -> "Link":
        return self.model_copy(update={side.value: shadow})

    @property
    def active(self) -> bool:
        return self.state is LinkState.ACTIVE


class LinkConflict(Exception):
    """The link changed (or appeared) between read and write: retry with fresh state."""


def _pk(connection_id: str) -> str:
    return f"LINK#{connection_id}"


def _sk(entity: EntityKind, side: Side, record_id: str) -> str:
    return f"{entity.value}#{side.value}#{record_id}"


def _phone_pk(connection_id: str, phone: str) -> str:
    return f"{_pk(connection_id)}#phone#{phone}"


def _parent_pk(connection_id: str, ghl_contact_id: str) -> str:
    return f"{_pk(connection_id)}#parent#{ghl_contact_id}"


def _sortable(instant: datetime | None) -> str:
    # Fixed width, UTC: ISO strings then sort as the instants do; unknown sorts oldest.
    if instant is None:
        return ""
    aware = instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ghl_index_keys(link: Link) -> dict[str, str]:
    """The gsi1 keys of the link's GHL side item (see the module docstring); none for a tombstone."""
    if not link.active:
        return {}
    if link.entity is EntityKind.CONTACT:
        phone = (link.ghl.fields or {}).get("phone")
        if not isinstance(phone, str) or not _E164.match(phone):
            return {}
        return {"gsi1pk": _phone_pk(link.connection_id, phone), "gsi1sk": f"contact#{link.ghl.id}"}
    if link.ghl.parent_id is None:
        return {}
    return {
        "gsi1pk": _parent_pk(link.connection_id, link.ghl.parent_id),
        "gsi1sk": f"{link.entity.value}#{_sortable(link.ghl.source_time or link.synced_at)}#{link.ghl.id}",
    }


class LinkStore:
    def __init__(self, table: "Table") -> None:
        self._table = table

    def get(self, connection_id: str, entity: EntityKind, side: Side, record_id: str) -> Link | None:
        """The link of `record_id` on `side`, active or tombstone; strongly consistent."""
        response = self._table.get_item(
            Key={"pk": _pk(connection_id), "sk": _sk(entity, side, record_id)}, ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            return None
        return Link.model_validate_json(str(item["link"]))

    def save(self, link: Link, *, previous: Link | None, expires_at: int | None = None) -> Link:
        """Write both directions of `link` atomically; returns the stored link (version bumped).

        `previous` is the link as read (None for a new link). If its ids differ from the new ones
        (a link re-pointed), the stale direction items are deleted in the same transaction.
        """
        stored = link.model_copy(update={"version": (previous.version if previous else 0) + 1})
        body = stored.model_dump_json()
        pk = _pk(link.connection_id)
        new_keys = {_sk(link.entity, Side.GHL, link.ghl.id), _sk(link.entity, Side.APP, link.app.id)}
        old_keys = (
            {_sk(previous.entity, Side.GHL, previous.ghl.id), _sk(previous.entity, Side.APP, previous.app.id)}
            if previous
            else set()
        )
        items: list[dict[str, Any]] = []
        for sk in sorted(new_keys):
            item: dict[str, Any] = {
                "pk": pk,
                "sk": sk,
                "link": body,
                "version": stored.version,
                "state": stored.state.value,
            }
            if expires_at is not None:
                item["expires_at"] = expires_at
            if sk == _sk(link.entity, Side.GHL, link.ghl.id):
                item.update(_ghl_index_keys(stored))
            put: dict[str, Any] = {"TableName": self._table.name, "Item": item}
            if sk in old_keys and previous is not None:
                put["ConditionExpression"] = "version = :v"
                put["ExpressionAttributeValues"] = {":v": previous.version}
            else:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            items.append({"Put": put})
        for sk in sorted(old_keys - new_keys):
            items.append(
                {
                    "Delete": {
                        "TableName": self._table.name,
                        "Key": {"pk": pk, "sk": sk},
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": previous.version if previous else 0},
                    }
                }
            )
        self._transact(items)
        return stored

    def delete(self, link: Link) -> None:
        """Remove both directions of a stored link (version-checked)."""
        pk = _pk(link.connection_id)
        items = [
            {
                "Delete": {
                    "TableName": self._table.name,
                    "Key": {"pk": pk, "sk": _sk(link.entity, side, link.side(side).id)},
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": link.version},
                }
            }
            for side in Side
        ]
        self._transact(items)

    def iter_links(
        self,
        connection_id: str,
        entity: EntityKind,
        side: Side = Side.GHL,
        *,
        after: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Link]:
        """Every link (active and tombstones) of one kind for a connection, one item per link, in
        record-id order of `side`. `after` resumes after that record id (it need not exist any
        more); `page_size` caps the items read per query, for callers that stop early."""
        condition = Key("pk").eq(_pk(connection_id)) & Key("sk").begins_with(f"{entity.value}#{side.value}#")
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True}
        if after is not None:
            kwargs["ExclusiveStartKey"] = {"pk": _pk(connection_id), "sk": _sk(entity, side, after)}
        if page_size is not None:
            kwargs["Limit"] = page_size
        while True:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                yield Link.model_validate_json(str(item["link"]))
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def contacts_by_phone(self, connection_id: str, phone: str, *, limit: int = 10) -> list[Link]:
        """The active contact links whose GHL side holds `phone` (E.164), at most `limit`, by GHL
        id. Read from gsi1: eventually consistent, fine for a lookup, not for a write decision."""
        if not _E164.match(phone):
            return []
        return self._query_index(_phone_pk(connection_id, phone), "contact#", limit=limit, newest_first=False)

    def children_of(
        self, connection_id: str, entity: EntityKind, ghl_contact_id: str, *, limit: int
    ) -> list[Link]:
        """The active `entity` links under a GHL contact, newest first (see `<time>` above), at most
        `limit` (one gsi1 query)."""
        return self._query_index(
            _parent_pk(connection_id, ghl_contact_id), f"{entity.value}#", limit=limit, newest_first=True
        )

    def _query_index(self, pk: str, sk_prefix: str, *, limit: int, newest_first: bool) -> list[Link]:
        response = self._table.query(
            IndexName=INDEX,
            KeyConditionExpression=Key("gsi1pk").eq(pk) & Key("gsi1sk").begins_with(sk_prefix),
            ScanIndexForward=not newest_first,
            Limit=limit,
        )
        # Only active links carry index keys (`_ghl_index_keys`): no tombstone is read here.
        return [Link.model_validate_json(str(item["link"])) for item in response.get("Items", [])]

    def _transact(self, items: list[dict[str, Any]]) -> None:
        # The resource's client (re)serialises plain Python values, like the Table methods do.
        try:
            self._table.meta.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons:
                    raise LinkConflict("link changed concurrently; retry with fresh state") from error
            raise
