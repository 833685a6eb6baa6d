"""Checkpoints: how far a sweep has read each change feed of a connection.

Key layout (single table `SYNC_TABLE_NAME`):

| item       | pk                    | sk                                 | attributes               |
|------------|-----------------------|------------------------------------|--------------------------|
| checkpoint | `CKPT#<connectionId>` | `<feed>` (`ghl#contact`, `app`...) | `position`, `updated_at` |
| cursor     | `CKPT#<connectionId>` | `<name>` (`deletes`...)            | `cursor`, `updated_at`   |
| swept      | `CKPT#<connectionId>` | `swept#<feed>`                     | `position`, `updated_at` |

`position` is ISO 8601 UTC with microseconds, fixed width, so string order is time order.

A checkpoint only moves forward: `advance` is conditional on the stored position being older, so
two overlapping sweeps cannot move it back and make the next sweep re-read less than it must.
`swept#<feed>` is the instant up to which the feed was last read through (the start of a read that
reached its end, or the oldest change a bound left for later): the sweep's lag is now minus it.
It only moves forward, like a checkpoint.
A cursor is an opaque resume point for a round-robin walk (which links the next sweep checks for
deletes); it is simply overwritten: two overlapping sweeps at worst check some items twice.
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from ghlsync.store.dynamo import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _key(connection_id: str, feed: str) -> dict[str, str]:
    return {"pk": f"CKPT#{connection_id}", "sk": feed}


def _iso(instant: datetime) -> str:
    if instant.tzinfo is None:
        raise ValueError("checkpoint positions must be timezone-aware")
    # Fixed width (microseconds, UTC) so string order is time order in the condition below.
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(position: str) -> datetime:
    return datetime.strptime(position, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


SWEPT_PREFIX = "swept#"


class CheckpointStore:
    def __init__(self, table: "Table") -> None:
        self._table = table

    def get(self, connection_id: str, feed: str) -> datetime | None:
        item = self._table.get_item(Key=_key(connection_id, feed), ConsistentRead=True).get("Item")
        if item is None:
            return None
        return _parse(str(item["position"]))

    def advance(self, connection_id: str, feed: str, position: datetime) -> bool:
        """Move the checkpoint to `position` if that is later; False when it already was past it."""
        value = _iso(position)
        try:
            self._table.put_item(
                Item={
                    **_key(connection_id, feed),
                    "position": value,
                    "updated_at": _iso(datetime.now(UTC)),
                },
                ConditionExpression="attribute_not_exists(pk) OR #p < :p",
                ExpressionAttributeNames={"#p": "position"},
                ExpressionAttributeValues={":p": value},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def mark_swept(self, connection_id: str, feed: str, through: datetime) -> bool:
        """The feed was read through `through` (forward only)."""
        return self.advance(connection_id, f"{SWEPT_PREFIX}{feed}", through)

    def swept_through(self, connection_id: str, feed: str) -> datetime | None:
        return self.get(connection_id, f"{SWEPT_PREFIX}{feed}")

    def feeds(self, connection_id: str) -> dict[str, datetime]:
        """Every feed of the connection the sweep has read through, and when it was read through."""
        found: dict[str, datetime] = {}
        page = self._table.query(KeyConditionExpression=Key("pk").eq(f"CKPT#{connection_id}"))
        for item in page.get("Items", []):
            name = str(item["sk"])
            if name.startswith(SWEPT_PREFIX) and "position" in item:
                found[name.removeprefix(SWEPT_PREFIX)] = _parse(str(item["position"]))
        return found

    def get_cursor(self, connection_id: str, name: str) -> str | None:
        item = self._table.get_item(Key=_key(connection_id, name), ConsistentRead=True).get("Item")
        return None if item is None or "cursor" not in item else str(item["cursor"])

    def set_cursor(self, connection_id: str, name: str, cursor: str) -> None:
        self._table.put_item(
            Item={**_key(connection_id, name), "cursor": cursor, "updated_at": _iso(datetime.now(UTC))}
        )
