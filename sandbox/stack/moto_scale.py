"""moto's DynamoDB at the cost of what a call touches, not of the whole table.

Two of moto 5.2.5's DynamoDB operations cost the size of the table on every call. The sync table
holds every link, shadow, audit row and backfill index row, and a backfill of N pairs makes O(N)
such calls, so in-process runs grew as N squared (the bench at 10,000 pairs did not finish):

- `DynamoDBBackend.transact_write_items` deep-copies every table a transaction names before it
  runs, to put the copies back if it is cancelled (one transaction per linked pair).
  `transact_write_items` below is moto's method with that one step changed: it keeps a deep copy
  of each touched item (or its absence) and puts those back. Same checks, same order, same
  exceptions (TransactionCanceledException with a reason per item, the item itself under
  ReturnValuesOnConditionCheckFailure=ALL_OLD; ValidationException for two operations on one item
  or more than 100 operations).
- `Table.query` on the table's own key reads every item of the table (`all_items`) and keeps
  those of the asked partition (one such query per backfill page). `query` below hands moto's
  own query only that partition's items, which are exactly the ones it would have kept.

Both are written against moto's code as it is, so `install()` refuses (raises `MotoChanged`)
when a method they replace or wrap is not, signature and body, the one they were checked against.
After a moto upgrade: compare each method with what is here, port any change, update `_CHECKED`.

Every part of the local stack that starts moto calls `install()`: the in-process World, `make
invoke`'s in-process moto and `make dev`'s moto server (it runs in this process).
"""

import copy
import hashlib
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

# moto's own methods, as imported (the tests run them beside the replacements).
MOTOS_TRANSACT_WRITE_ITEMS = DynamoDBBackend.transact_write_items
MOTOS_QUERY = Table.query
MOTOS_ALL_ITEMS = Table.all_items

# sha256 of each method's source in moto 5.2.5, the version the code here was read against.
_CHECKED_MOTO = "5.2.5"
_CHECKED = {
    "DynamoDBBackend.transact_write_items": (
        "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4"
    ),
    "Table.query": "002b4d00be6df07cf37f6cbe0132e5eb89455ae12a8e79b23db3fb492450f21e",
    "Table.all_items": "c80d2ee3c896acd0cab6ca35aaeae3ab3fb65858933f8a3403d4e027c240f31d",
}


class MotoChanged(RuntimeError):
    """A moto method this module replaces is not the one it was checked against."""


# ---- transact_write_items --------------------------------------------------------------------


@dataclass
class _ItemBefore:
    """One touched item as it was before the transaction (None: there was none)."""

    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None
    stream_length: int | None

    def restore(self) -> None:
        if self.range_key is not None:
            by_range = self.table.items[self.hash_key]
            if self.item is None:
                by_range.pop(self.range_key, None)
            else:
                by_range[self.range_key] = self.item
        elif self.item is None:
            self.table.items.pop(self.hash_key, None)
        else:
            self.table.items[self.hash_key] = self.item  # type: ignore[assignment]  # as moto does
        # moto's table copy also took back the stream records of the cancelled writes.
        shard = self.table.stream_shard
        if shard is not None and self.stream_length is not None:
            del shard.items[self.stream_length :]


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's transact_write_items, with a snapshot of each touched item instead of a deep copy
    of each touched table."""
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    befores: list[_ItemBefore] = []

    def roll_back() -> None:
        # Newest first: a stream truncation then lands on the oldest length.
        for before in reversed(befores):
            before.restore()

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any] | None] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            # The one change from moto: remember this item (get_item above validated its key).
            table = self.get_table(table_name)
            hash_key, range_key = self.get_keys_value(table, key)
            befores.append(
                _ItemBefore(
                    table=table,
                    hash_key=hash_key,
                    range_key=range_key,
                    # Update changes the stored item in place: keep a copy, not the item.
                    item=copy.deepcopy(current),
                    stream_length=None if table.stream_shard is None else len(table.stream_shard.items),
                )
            )
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            roll_back()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:
            errors.append((type(e).__name__, str(e), original_item))

    if any(code is not None for code, _, _ in errors):
        roll_back()
        raise TransactionCanceledException(errors)


# ---- query -------------------------------------------------------------------------------------

# The partition a query on this thread is scoped to: (table, its items). Thread-local because the
# moto server of `make dev` answers requests on several threads, and only the scoped query may
# see a partition in place of its table.
_scope = threading.local()
_QUERY_SIGNATURE = inspect.signature(MOTOS_QUERY)


def all_items(self: Table) -> list[Item]:
    """moto's all_items, or the items of the partition a query of this table is scoped to."""
    scoped: tuple[Table, list[Item]] | None = getattr(_scope, "partition", None)
    if scoped is not None and scoped[0] is self:
        return scoped[1]
    return MOTOS_ALL_ITEMS(self)


def query(self: Table, *args: Any, **kwargs: Any) -> Any:
    """moto's query; on the table's own key (no index), over the asked partition's items only."""
    arguments = _QUERY_SIGNATURE.bind(self, *args, **kwargs).arguments
    hash_key = arguments.get("hash_key")
    if arguments.get("index_name") or hash_key is None:
        return MOTOS_QUERY(self, *args, **kwargs)
    stored = self.items.get(hash_key)  # get: `items` is a defaultdict, a lookup must not add to it
    if stored is None:
        partition: list[Item] = []
    elif self.range_key_attr:
        partition = list(stored.values())
    else:
        partition = [stored]  # type: ignore[list-item]  # without a range key, the item itself
    _scope.partition = (self, partition)
    try:
        return MOTOS_QUERY(self, *args, **kwargs)
    finally:
        _scope.partition = None


# ---- install -----------------------------------------------------------------------------------

_REPLACEMENTS: list[tuple[type, str, Callable[..., Any]]] = [
    (DynamoDBBackend, "transact_write_items", transact_write_items),
    (Table, "query", query),
    (Table, "all_items", all_items),
]


def source_sha256(method: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(method).encode()).hexdigest()


def install() -> None:
    """Put the replacements in place in this process (again: no change), or raise MotoChanged and
    replace nothing."""
    import moto

    pending = [(owner, name, new) for owner, name, new in _REPLACEMENTS if getattr(owner, name) is not new]
    for owner, name, _ in pending:
        if source_sha256(getattr(owner, name)) != _CHECKED[f"{owner.__name__}.{name}"]:
            raise MotoChanged(
                f"moto {moto.__version__}'s {owner.__name__}.{name} is not the one {__name__} was "
                f"checked against (moto {_CHECKED_MOTO}; its signature or body changed). Port the "
                f"change to {__name__}, then update _CHECKED."
            )
    for owner, name, new in pending:
        setattr(owner, name, new)
