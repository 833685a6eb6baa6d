"""The app side's listing, indexed by identity key, for one backfill job.

A job lists the app once, page by page, and keeps what it needs to match and to create from here
rather than in memory (a Lambda invocation handles one page; the job outlives it):

    pk = "BKIDX#<job_id>"  sk = "K#<key>"     ids        string set of app record ids
    pk = "BKIDX#<job_id>"  sk = "R#<app_id>"  record     canonical contact (JSON)
                                              claimed_by the hub contact it was paired with
    every item: expires_at (the table's TTL attribute), a week after it was written

Writing a page again (a retried work item) changes nothing: ids are a set, records are put whole,
a claim is conditional on being free or already this contact's. `MemoryIndex` is the same index in
a dict, for `--plan` (which writes nothing anywhere).
"""

import json
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.store.dynamo import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TTL_SECONDS = 7 * 24 * 3600
_BATCH_GET = 100  # DynamoDB's BatchGetItem limit


class KeyIndex(Protocol):
    def add(self, records: Iterable[tuple[CanonicalContact, list[str]]]) -> None: ...
    def lookup(self, keys: Iterable[str]) -> dict[str, frozenset[str]]: ...
    def record(self, app_id: str) -> tuple[CanonicalContact, str | None] | None: ...
    def claim(self, app_id: str, hub_id: str) -> bool: ...
    def unclaimed(self, start: str | None, size: int) -> tuple[list[CanonicalContact], str | None]: ...


class MemoryIndex:
    def __init__(self) -> None:
        self._ids: dict[str, set[str]] = {}
        self._records: dict[str, CanonicalContact] = {}
        self._claims: dict[str, str] = {}

    def add(self, records: Iterable[tuple[CanonicalContact, list[str]]]) -> None:
        for record, keys in records:
            assert record.id is not None
            self._records[record.id] = record
            for key in keys:
                self._ids.setdefault(key, set()).add(record.id)

    def lookup(self, keys: Iterable[str]) -> dict[str, frozenset[str]]:
        return {key: frozenset(self._ids[key]) for key in keys if key in self._ids}

    def record(self, app_id: str) -> tuple[CanonicalContact, str | None] | None:
        found = self._records.get(app_id)
        return None if found is None else (found, self._claims.get(app_id))

    def claim(self, app_id: str, hub_id: str) -> bool:
        return self._claims.setdefault(app_id, hub_id) == hub_id

    def unclaimed(self, start: str | None, size: int) -> tuple[list[CanonicalContact], str | None]:
        ids = sorted(self._records)
        at = int(start) if start else 0
        chunk = ids[at : at + size]
        following = str(at + size) if at + size < len(ids) else None
        return [self._records[i] for i in chunk if i not in self._claims], following


class DynamoIndex:
    def __init__(self, table: "Table", job_id: str, clock: Any = time.time) -> None:
        self._table = table
        self._pk = f"BKIDX#{job_id}"
        self._clock = clock

    def _expires(self) -> int:
        return int(self._clock()) + TTL_SECONDS

    def add(self, records: Iterable[tuple[CanonicalContact, list[str]]]) -> None:
        expires = self._expires()
        keyed: dict[str, set[str]] = {}
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for record, keys in records:
                assert record.id is not None
                batch.put_item(
                    Item={
                        "pk": self._pk,
                        "sk": f"R#{record.id}",
                        "record": record.model_dump_json(),
                        "expires_at": expires,
                    }
                )
                for key in keys:
                    keyed.setdefault(key, set()).add(record.id)
        for key, ids in keyed.items():
            self._table.update_item(
                Key={"pk": self._pk, "sk": f"K#{key}"},
                UpdateExpression="ADD ids :ids SET expires_at = :exp",
                ExpressionAttributeValues={":ids": ids, ":exp": expires},
            )

    def lookup(self, keys: Iterable[str]) -> dict[str, frozenset[str]]:
        wanted = sorted(set(keys))
        found: dict[str, frozenset[str]] = {}
        client = self._table.meta.client
        for at in range(0, len(wanted), _BATCH_GET):
            request: Any = {
                self._table.name: {
                    "Keys": [{"pk": self._pk, "sk": f"K#{k}"} for k in wanted[at : at + _BATCH_GET]]
                }
            }
            while request:
                answer = client.batch_get_item(RequestItems=request)
                for item in answer["Responses"].get(self._table.name, []):
                    found[str(item["sk"])[2:]] = frozenset(str(i) for i in item.get("ids", set()))
                request = answer.get("UnprocessedKeys") or None
        return found

    def record(self, app_id: str) -> tuple[CanonicalContact, str | None] | None:
        item = self._table.get_item(Key={"pk": self._pk, "sk": f"R#{app_id}"}, ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            return None
        claimed = item.get("claimed_by")
        return CanonicalContact.model_validate(json.loads(str(item["record"]))), (
            str(claimed) if claimed else None
        )

    def claim(self, app_id: str, hub_id: str) -> bool:
        try:
            self._table.update_item(
                Key={"pk": self._pk, "sk": f"R#{app_id}"},
                UpdateExpression="SET claimed_by = :hub",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(claimed_by) OR claimed_by = :hub)"
                ),
                ExpressionAttributeValues={":hub": hub_id},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def unclaimed(self, start: str | None, size: int) -> tuple[list[CanonicalContact], str | None]:
        query: Any = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :r)",
            "ExpressionAttributeValues": {":pk": self._pk, ":r": "R#"},
            "Limit": size,
            "ConsistentRead": True,
        }
        if start:
            query["ExclusiveStartKey"] = {"pk": self._pk, "sk": start}
        answer = self._table.query(**query)
        records = [
            CanonicalContact.model_validate(json.loads(str(item["record"])))
            for item in answer["Items"]
            if not item.get("claimed_by")
        ]
        last = answer.get("LastEvaluatedKey")
        return records, str(last["sk"]) if last else None
