"""template.yaml follows the project's SAM rules, and tests build their AWS resources from it."""

import ast
import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.stack.template import REPO_ROOT, FunctionSpec, load_template
from tests.fixtures.aws import AwsResources

TEMPLATE = load_template(REPO_ROOT / "template.yaml")
FUNCTIONS = TEMPLATE.functions()
SAM = REPO_ROOT / ".venv" / "bin" / "sam"
IAM_RESOURCE_TYPES = {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}


def _events_of_type(event_type: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (function.logical_id, name, event.get("Properties") or {})
        for function in FUNCTIONS
        for name, event in (function.properties.get("Events") or {}).items()
        if event.get("Type") == event_type
    ]


def _statements() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every inline IAM statement: functions' Policies and AWS::IAM::* resources."""
    for function in FUNCTIONS:
        for policy in function.properties.get("Policies") or []:
            # A string is a managed policy; a one-key dict without Statement is a SAM policy template.
            if isinstance(policy, dict) and "Statement" in policy:
                for statement in policy["Statement"]:
                    yield function.logical_id, statement
    for logical_id, resource in TEMPLATE.resources.items():
        if resource.get("Type") not in IAM_RESOURCE_TYPES:
            continue
        properties = resource.get("Properties") or {}
        documents = [properties.get("PolicyDocument")] + [
            policy.get("PolicyDocument") for policy in properties.get("Policies") or []
        ]
        for document in documents:
            for statement in (document or {}).get("Statement", []):
                yield logical_id, statement


def _literals(value: Any) -> list[str]:
    """The plain strings of an Action/Resource value, including the text of a !Sub."""
    items = value if isinstance(value, list) else [value]
    literals = []
    for item in items:
        if isinstance(item, str):
            literals.append(item)
        elif isinstance(item, dict) and "Fn::Sub" in item:
            body = item["Fn::Sub"]
            literals.append(body if isinstance(body, str) else body[0])
    return literals


def _defines_handler(function: FunctionSpec) -> bool:
    _, _, name = function.handler.rpartition(".")
    tree = ast.parse(function.handler_file.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return True
    return False


@pytest.mark.skipif(not SAM.exists(), reason="sam CLI is not installed in .venv (make venv installs it)")
def test_sam_validate_lint_passes() -> None:
    # GIVEN the template WHEN sam validates it with cfn-lint THEN it reports no error or warning
    result = subprocess.run(  # noqa: S603 - fixed argv, our own venv's sam
        [str(SAM), "validate", "--lint"],
        cwd=REPO_ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_iam_statement_grants_every_action() -> None:
    # GIVEN every inline IAM statement THEN none allows "*" or a whole service ("svc:*")
    offenders = [
        (owner, action)
        for owner, statement in _statements()
        for action in _literals(statement.get("Action"))
        if action == "*" or action.endswith(":*")
    ]
    assert offenders == []


def test_no_iam_statement_applies_to_every_resource() -> None:
    # GIVEN every inline IAM statement THEN none has "*" as its resource
    offenders = [
        (owner, resource)
        for owner, statement in _statements()
        for resource in _literals(statement.get("Resource"))
        if resource == "*"
    ]
    assert offenders == []


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.logical_id)
def test_function_runs_python_3_13(function: FunctionSpec) -> None:
    assert function.runtime == "python3.13"


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.logical_id)
def test_function_uses_the_shared_layer(function: FunctionSpec) -> None:
    assert {"Ref": "SharedLayer"} in (function.properties.get("Layers") or [])


def test_shared_layer_is_built_with_python_3_13() -> None:
    # GIVEN the layer (its own BuildMethod: ghlsync/ sits at the layer root, not under python/)
    metadata = TEMPLATE.resources["SharedLayer"].get("Metadata") or {}
    assert metadata.get("BuildMethod") == "python3.13"


@pytest.mark.parametrize(
    ("function_id", "event_name", "properties"),
    _events_of_type("ScheduleV2"),
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_schedule_has_generated_name_retries_and_dead_letters(
    function_id: str, event_name: str, properties: dict[str, Any]
) -> None:
    # GIVEN an EventBridge Scheduler trigger THEN a failed invocation is retried, then dead-lettered
    assert properties.get("OmitName") is True
    assert properties.get("RetryPolicy")
    assert properties.get("DeadLetterConfig")


@pytest.mark.parametrize(
    ("function_id", "event_name", "properties"),
    _events_of_type("SQS"),
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_sqs_trigger_reports_batch_item_failures(
    function_id: str, event_name: str, properties: dict[str, Any]
) -> None:
    # GIVEN an SQS trigger THEN one failed message does not redeliver the whole batch
    assert "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda function: function.logical_id)
def test_function_code_defines_its_handler(function: FunctionSpec) -> None:
    # GIVEN a function's CodeUri and Handler THEN that file exists and defines the handler
    assert function.handler == "app.lambda_handler"
    assert function.handler_file.is_file(), f"missing {function.handler_file.relative_to(REPO_ROOT)}"
    assert _defines_handler(function)


def test_aws_fixture_table_has_the_template_keys_and_indexes(aws: AwsResources) -> None:
    # GIVEN the aws fixture WHEN the sync table is described THEN keys, GSIs and TTL are the template's
    declared = TEMPLATE.resources["SyncTable"]["Properties"]
    table = aws.table.meta.client.describe_table(TableName=aws.table.name)["Table"]
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(declared["AttributeDefinitions"], key=str)
    assert [(index["IndexName"], index["KeySchema"]) for index in table["GlobalSecondaryIndexes"]] == [
        (index["IndexName"], index["KeySchema"]) for index in declared["GlobalSecondaryIndexes"]
    ]
    ttl = aws.table.meta.client.describe_time_to_live(TableName=aws.table.name)["TimeToLiveDescription"]
    assert ttl == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": declared["TimeToLiveSpecification"]["AttributeName"],
    }


def test_aws_fixture_queue_dead_letters_after_the_template_receive_count(aws: AwsResources) -> None:
    # GIVEN the aws fixture THEN the sync queue is FIFO and redrives to the DLQ after MaxReceiveCount
    attributes = aws.sqs.get_queue_attributes(QueueUrl=aws.queue_url, AttributeNames=["All"])["Attributes"]
    dlq_arn = aws.sqs.get_queue_attributes(QueueUrl=aws.dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    assert attributes["FifoQueue"] == "true"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": int(TEMPLATE.parameter_defaults()["MaxReceiveCount"]),
    }


def test_aws_fixture_sets_the_globals_environment(aws: AwsResources) -> None:
    # GIVEN the aws fixture THEN every Globals variable is set, resource ones to the provisioned ids
    declared = TEMPLATE.global_function_properties["Environment"]["Variables"]
    assert set(aws.env) == set(declared)
    assert os.environ["SYNC_TABLE_NAME"] == aws.table.name
    assert os.environ["SYNC_QUEUE_URL"] == aws.queue_url
    assert os.environ["SYNC_DLQ_URL"] == aws.dlq_url


def test_template_functions_are_read_from_this_repository() -> None:
    # A guard for the checks above: they only mean something if the template declares functions.
    assert FUNCTIONS, "template.yaml declares no AWS::Serverless::Function"
    assert all(function.code_dir.is_relative_to(REPO_ROOT / "functions") for function in FUNCTIONS)
