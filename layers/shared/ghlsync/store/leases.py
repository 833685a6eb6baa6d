"""Leases: a short, exclusive claim on a name (one location's token refresh), shared by every process.

Key layout (sync table):
    pk = "LEASE#<name>"   sk = "LEASE"
    owner       who holds the lease (a per-process id)
    expires_at  epoch seconds (Number), the table's TTL attribute

DynamoDB deletes expired items only eventually (often hours later), so `acquire` treats an item
whose `expires_at` has passed as free instead of waiting for TTL to remove it. A holder that dies
without releasing blocks others for at most `ttl_s`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ghlsync.store.dynamo import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SORT_KEY = "LEASE"


def lease_key(name: str) -> dict[str, str]:
    return {"pk": f"LEASE#{name}", "sk": SORT_KEY}


class LeaseStore:
    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def acquire(self, name: str, owner: str, ttl_s: float) -> bool:
        """Take the lease if it is free, expired, or already ours (then extend it). True when held."""
        now = self._clock()
        try:
            self._table.put_item(
                Item={**lease_key(name), "owner": owner, "expires_at": math.ceil(now + ttl_s)},
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now OR #owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":now": math.floor(now), ":owner": owner},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def release(self, name: str, owner: str) -> None:
        """Give the lease back. A lease that expired and was taken by someone else is theirs: kept."""
        try:
            self._table.delete_item(
                Key=lease_key(name),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
