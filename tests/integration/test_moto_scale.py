"""sandbox.stack.moto_scale: TransactWriteItems and Query answer exactly as moto's own do.

Each behaviour runs against moto's own methods and the sandbox's replacements, through boto3 and
template.yaml's sync table, so the two cannot drift apart on what the project relies on.
"""

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from sandbox.stack import moto_scale
from tests.fixtures.aws import AwsResources

pytestmark = pytest.mark.integration

IMPLEMENTATIONS = {
    "motos-own": (moto_scale.MOTOS_TRANSACT_WRITE_ITEMS, moto_scale.MOTOS_QUERY, moto_scale.MOTOS_ALL_ITEMS),
    "sandbox": (moto_scale.transact_write_items, moto_scale.query, moto_scale.all_items),
}


@pytest.fixture(params=list(IMPLEMENTATIONS))
def moto_answering(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, aws: AwsResources) -> str:
    """GIVEN moto answering with moto's own methods, or with the sandbox's."""
    transact_write_items, query, all_items = IMPLEMENTATIONS[request.param]
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact_write_items)
    monkeypatch.setattr(Table, "query", query)
    monkeypatch.setattr(Table, "all_items", all_items)
    return str(request.param)


@pytest.fixture
def transact(moto_answering: str, aws: AwsResources) -> Callable[[list[dict[str, Any]]], Any]:
    # The resource's client: plain Python values, serialised by boto3.
    client = aws.table.meta.client
    return lambda items: client.transact_write_items(TransactItems=items)


def _key(sk: str) -> dict[str, Any]:
    return {"pk": "T#1", "sk": sk}


def _put(table: str, sk: str, value: str) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": {**_key(sk), "value": value}}}


def _update(table: str, sk: str, value: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": _key(sk),
            "UpdateExpression": "SET #v = :v",
            "ExpressionAttributeNames": {"#v": "value"},
            "ExpressionAttributeValues": {":v": value},
        }
    }


def _delete(table: str, sk: str) -> dict[str, Any]:
    return {"Delete": {"TableName": table, "Key": _key(sk)}}


def _check_absent(table: str, sk: str) -> dict[str, Any]:
    return {
        "ConditionCheck": {
            "TableName": table,
            "Key": _key(sk),
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _items(aws: AwsResources) -> dict[str, str]:
    return {item["sk"]: item["value"] for item in aws.table.scan(ConsistentRead=True)["Items"]}


def _seed(aws: AwsResources) -> None:
    for sk, value in (("updated", "before"), ("deleted", "before"), ("guard", "present")):
        aws.table.put_item(Item={"pk": "T#1", "sk": sk, "value": value})


def test_a_cancelled_transaction_leaves_every_item_as_it_was(
    aws: AwsResources, transact: Callable[[list[dict[str, Any]]], Any]
) -> None:
    # GIVEN three items, and a transaction that puts, updates and deletes before a condition fails
    _seed(aws)
    table = aws.table.name
    items = [
        _put(table, "put", "new"),
        _update(table, "updated", "after"),
        _delete(table, "deleted"),
        _check_absent(table, "guard"),
    ]
    # WHEN it runs
    with pytest.raises(ClientError) as raised:
        transact(items)
    # THEN it is cancelled and the table is exactly as before: no put, no update, no delete
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _items(aws) == {"updated": "before", "deleted": "before", "guard": "present"}


def test_a_cancelled_transaction_gives_a_reason_per_item_with_the_old_item(
    aws: AwsResources, transact: Callable[[list[dict[str, Any]]], Any]
) -> None:
    # GIVEN an item that a condition check (ReturnValuesOnConditionCheckFailure=ALL_OLD) wants absent
    _seed(aws)
    table = aws.table.name
    # WHEN a transaction of a put and that check runs
    with pytest.raises(ClientError) as raised:
        transact([_put(table, "put", "new"), _check_absent(table, "guard")])
    # THEN the put's reason is None and the check's is ConditionalCheckFailed with the item
    reasons = raised.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["value"] == {"S": "present"}


def test_a_transaction_whose_conditions_hold_applies_every_write(
    aws: AwsResources, transact: Callable[[list[dict[str, Any]]], Any]
) -> None:
    # GIVEN two items
    _seed(aws)
    table = aws.table.name
    # WHEN a transaction puts, updates, deletes and checks an absent item
    transact(
        [
            _put(table, "put", "new"),
            _update(table, "updated", "after"),
            _delete(table, "deleted"),
            _check_absent(table, "nothing"),
        ]
    )
    # THEN every write is there
    assert _items(aws) == {"put": "new", "updated": "after", "guard": "present"}


def test_two_operations_on_one_item_are_refused_and_roll_back(
    aws: AwsResources, transact: Callable[[list[dict[str, Any]]], Any]
) -> None:
    # GIVEN a transaction whose third operation names the item its first one put
    _seed(aws)
    table = aws.table.name
    items = [_put(table, "put", "new"), _update(table, "updated", "after"), _delete(table, "put")]
    # WHEN it runs
    with pytest.raises(ClientError) as raised:
        transact(items)
    # THEN moto's ValidationException, and nothing written
    error = raised.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
    )
    assert _items(aws) == {"updated": "before", "deleted": "before", "guard": "present"}


def test_more_than_100_operations_are_refused(
    aws: AwsResources, transact: Callable[[list[dict[str, Any]]], Any]
) -> None:
    # GIVEN 101 puts / WHEN they run in one transaction / THEN ValidationException, nothing written
    with pytest.raises(ClientError) as raised:
        transact([_put(aws.table.name, f"put{n}", "new") for n in range(101)])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert _items(aws) == {}


def _seed_partitions(aws: AwsResources) -> None:
    with aws.table.batch_writer() as batch:
        for pk in ("P#1", "P#2", "P#3"):
            for n in range(7):
                batch.put_item(Item={"pk": pk, "sk": f"R#{n:02d}", "gsi1pk": "G", "gsi1sk": f"{pk}{n:02d}"})
            batch.put_item(Item={"pk": pk, "sk": "K#key", "gsi1pk": "G", "gsi1sk": f"{pk}K"})


def _pages(aws: AwsResources, **query: Any) -> list[tuple[list[str], Any]]:
    """Every page of a query, as (its sort keys, its LastEvaluatedKey)."""
    pages = []
    while True:
        answer = aws.table.query(**query)
        pages.append(([str(item["sk"]) for item in answer["Items"]], answer.get("LastEvaluatedKey")))
        if "LastEvaluatedKey" not in answer:
            return pages
        query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


@pytest.mark.parametrize("forward", [True, False], ids=["ascending", "descending"])
def test_a_query_on_the_key_pages_one_partition_in_order(
    aws: AwsResources, moto_answering: str, forward: bool
) -> None:
    # GIVEN three partitions of eight items
    _seed_partitions(aws)
    # WHEN one is queried for its R# items, 3 a page
    pages = _pages(
        aws,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :r)",
        ExpressionAttributeValues={":pk": "P#2", ":r": "R#"},
        Limit=3,
        ScanIndexForward=forward,
    )
    # THEN its seven R# items come in order, 3 + 3 + 1, each page but the last pointing at the next
    expected = [f"R#{n:02d}" for n in range(7)]
    if not forward:
        expected.reverse()
    assert [keys for keys, _ in pages] == [expected[0:3], expected[3:6], expected[6:]]
    assert [last["sk"] if last else None for _, last in pages] == [expected[2], expected[5], None]


def test_a_query_of_an_index_still_reads_every_partition(aws: AwsResources, moto_answering: str) -> None:
    # GIVEN three partitions whose items share one gsi1 partition
    _seed_partitions(aws)
    # WHEN gsi1 is queried
    answer = aws.table.query(
        IndexName="gsi1", KeyConditionExpression="gsi1pk = :g", ExpressionAttributeValues={":g": "G"}
    )
    # THEN it finds the items of all three
    assert answer["Count"] == 24


def test_a_query_of_an_empty_partition_finds_nothing_and_adds_nothing(
    aws: AwsResources, moto_answering: str
) -> None:
    # GIVEN items in other partitions / WHEN an absent partition is queried
    _seed_partitions(aws)
    answer = aws.table.query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": "P#9"})
    # THEN nothing, and the table still holds what it held
    assert answer["Items"] == []
    assert aws.table.scan(Select="COUNT")["Count"] == 24
