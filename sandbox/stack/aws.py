"""Create template.yaml's tables, queues and secrets in moto, so local runs and tests use the
template's real schema (keys, GSIs, TTL, FIFO attributes, redrive) instead of a hand-made copy.

Works with moto's in-process `mock_aws` and with a moto server (boto3 honours AWS_ENDPOINT_URL).
Against a server, provisioning is repeatable: resources that already exist are reused (a secret
keeps its value), so `make invoke` can run many times against one `make dev` stack.

Physical names follow CloudFormation's shape without its random suffix: an explicit name property
wins, else `<stack>-<LogicalId>` (`.fifo` added for FIFO queues; secrets use `<stack>/<LogicalId>`).
A property this module does not know is an error, not silently skipped, so the local stack cannot
quietly drift from the template.
"""

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from sandbox.stack.template import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_STACK_NAME,
    Intrinsics,
    PhysicalResource,
    Template,
    TemplateError,
    referenced_resources,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TableDescriptionTypeDef
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
SECRET_TYPE = "AWS::SecretsManager::Secret"

_TABLE_REQUEST_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
)
# Encryption at rest and backups change nothing a local run can observe.
_TABLE_PROPERTIES_WITHOUT_LOCAL_EFFECT = frozenset({"SSESpecification", "PointInTimeRecoverySpecification"})
_TABLE_PROPERTIES = frozenset({*_TABLE_REQUEST_PROPERTIES, "TableName", "TimeToLiveSpecification"})

# CloudFormation property -> SQS attribute of the same name.
_QUEUE_ATTRIBUTES = frozenset(
    {
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "DelaySeconds",
        "FifoQueue",
        "FifoThroughputLimit",
        "KmsDataKeyReusePeriodSeconds",
        "KmsMasterKeyId",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "SqsManagedSseEnabled",
        "VisibilityTimeout",
    }
)
_QUEUE_JSON_ATTRIBUTES = frozenset({"RedrivePolicy", "RedriveAllowPolicy"})
_QUEUE_PROPERTIES = frozenset({*_QUEUE_ATTRIBUTES, *_QUEUE_JSON_ATTRIBUTES, "QueueName"})

_SECRET_PROPERTIES = frozenset({"Name", "Description", "SecretString", "GenerateSecretString"})
# GenerateSecretString options that GetRandomPassword takes under the same names.
_PASSWORD_OPTIONS = (
    "PasswordLength",
    "ExcludeCharacters",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "ExcludeLowercase",
    "IncludeSpace",
    "RequireEachIncludedType",
)


class ProvisioningError(Exception):
    """A template resource cannot be created locally."""


class _Clients:
    """boto3 clients, created on first use: a template without secrets never builds that client."""

    def __init__(self, session: boto3.session.Session, region: str) -> None:
        self._session = session
        self._region = region

    @cached_property
    def dynamodb(self) -> "DynamoDBClient":
        return self._session.client("dynamodb", region_name=self._region)

    @cached_property
    def sqs(self) -> "SQSClient":
        return self._session.client("sqs", region_name=self._region)

    @cached_property
    def secretsmanager(self) -> "SecretsManagerClient":
        return self._session.client("secretsmanager", region_name=self._region)


Creator = Callable[[_Clients, str, str, Mapping[str, Any]], PhysicalResource]


@dataclass(frozen=True)
class ProvisionedStack:
    """The template's resources as created locally, and the resolver bound to them."""

    template: Template
    intrinsics: Intrinsics

    @property
    def resources(self) -> Mapping[str, PhysicalResource]:
        return self.intrinsics.resources

    def physical_ids(self) -> dict[str, str]:
        """LogicalId -> what !Ref returns (table name, queue URL, secret ARN)."""
        return {logical_id: resource.ref for logical_id, resource in self.resources.items()}

    def global_environment(self) -> dict[str, str]:
        """Globals.Function.Environment.Variables, resolved: what every function sees."""
        variables = self.template.global_function_properties.get("Environment", {}).get("Variables", {})
        return self.intrinsics.environment(variables)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        """One function's variables (Globals merged with its own), resolved."""
        return self.intrinsics.environment(self.template.function(logical_id).environment)


def provision(
    template: Template,
    *,
    session: boto3.session.Session | None = None,
    stack_name: str = DEFAULT_STACK_NAME,
    parameter_overrides: Mapping[str, str] | None = None,
) -> ProvisionedStack:
    """Create every table, queue and secret of `template` (dependencies first) and return them."""
    session = session or boto3.session.Session()
    region = session.region_name or DEFAULT_REGION
    resources: dict[str, PhysicalResource] = {}
    # The resolver reads `resources` as it fills up: each resource sees those created before it.
    intrinsics = Intrinsics(
        parameters={**template.parameter_defaults(), **(parameter_overrides or {})},
        resources=resources,
        stack_name=stack_name,
        region=region,
        account_id=os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID),
    )
    clients = _Clients(session, region)
    for logical_id in _creation_order(template):
        resource = template.resources[logical_id]
        create = _CREATORS[resource["Type"]]
        try:
            properties = intrinsics.resolve(resource.get("Properties") or {})
            resources[logical_id] = create(clients, stack_name, logical_id, properties)
        except TemplateError as error:
            raise ProvisioningError(f"{logical_id}: {error}") from error
        except ClientError as error:
            raise ProvisioningError(f"{logical_id}: AWS refused: {error}") from error
        except BotoCoreError as error:
            endpoint = os.environ.get("AWS_ENDPOINT_URL", "AWS")
            raise ProvisioningError(f"{logical_id}: cannot reach {endpoint}: {error}") from error
    return ProvisionedStack(template=template, intrinsics=intrinsics)


def _creation_order(template: Template) -> list[str]:
    wanted = {
        logical_id: resource
        for logical_id, resource in template.resources.items()
        if resource.get("Type") in _CREATORS
    }
    graph = {
        logical_id: referenced_resources(resource.get("Properties") or {}, template) & wanted.keys()
        for logical_id, resource in wanted.items()
    }
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise ProvisioningError(f"resources refer to each other in a cycle: {error.args[1]}") from error


def _check_properties(
    logical_id: str,
    properties: Mapping[str, Any],
    known: frozenset[str],
    ignored: frozenset[str] = frozenset(),
) -> None:
    unknown = sorted(set(properties) - known - ignored)
    if unknown:
        raise ProvisioningError(
            f"{logical_id}: sandbox/stack/aws.py cannot create {', '.join(unknown)} locally; "
            "teach it before using them"
        )


# ---- DynamoDB ---------------------------------------------------------------------------------


def table_request(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The CreateTable arguments of a template table's properties (keys, indexes, billing)."""
    return {key: properties[key] for key in _TABLE_REQUEST_PROPERTIES if key in properties}


def _create_table(
    clients: _Clients, stack_name: str, logical_id: str, properties: Mapping[str, Any]
) -> PhysicalResource:
    _check_properties(logical_id, properties, _TABLE_PROPERTIES, _TABLE_PROPERTIES_WITHOUT_LOCAL_EFFECT)
    name = str(properties.get("TableName") or f"{stack_name}-{logical_id}")
    request = table_request(properties)
    client = clients.dynamodb
    try:
        description = client.create_table(TableName=name, **request)["TableDescription"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
        description = client.describe_table(TableName=name)["Table"]
        _check_existing_table(name, description, request)
    else:
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    attributes = {"Arn": description["TableArn"]}
    if "LatestStreamArn" in description:
        attributes["StreamArn"] = description["LatestStreamArn"]
    return PhysicalResource(logical_id, TABLE_TYPE, ref=name, attributes=attributes)


def _check_existing_table(name: str, existing: "TableDescriptionTypeDef", request: Mapping[str, Any]) -> None:
    """A table left by an earlier run (moto server) is reused only if it has the template's keys."""
    wanted_indexes = sorted(index["IndexName"] for index in request.get("GlobalSecondaryIndexes", []))
    existing_indexes = sorted(index["IndexName"] for index in existing.get("GlobalSecondaryIndexes", []))
    if existing["KeySchema"] != request["KeySchema"] or wanted_indexes != existing_indexes:
        raise ProvisioningError(
            f"table {name} already exists with another schema (keys {existing['KeySchema']}, "
            f"indexes {existing_indexes}); restart the moto server to recreate it"
        )


# ---- SQS --------------------------------------------------------------------------------------


def _create_queue(
    clients: _Clients, stack_name: str, logical_id: str, properties: Mapping[str, Any]
) -> PhysicalResource:
    _check_properties(logical_id, properties, _QUEUE_PROPERTIES)
    fifo = properties.get("FifoQueue") is True
    name = str(properties.get("QueueName") or f"{stack_name}-{logical_id}{'.fifo' if fifo else ''}")
    attributes = {key: _attribute_value(properties[key]) for key in _QUEUE_ATTRIBUTES & properties.keys()}
    for key in _QUEUE_JSON_ATTRIBUTES & properties.keys():
        attributes[key] = json.dumps(_redrive_document(properties[key]))
    try:
        url = clients.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    except ClientError as error:
        if error.response["Error"]["Code"] in {"QueueAlreadyExists", "QueueNameExists"}:
            raise ProvisioningError(
                f"queue {name} already exists with other attributes; restart the moto server to recreate it"
            ) from error
        raise
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return PhysicalResource(
        logical_id, QUEUE_TYPE, ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url}
    )


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _redrive_document(policy: Mapping[str, Any]) -> dict[str, Any]:
    # `maxReceiveCount: !Ref Parameter` resolves to a string; SQS stores the number.
    document = dict(policy)
    if isinstance(document.get("maxReceiveCount"), str):
        document["maxReceiveCount"] = int(document["maxReceiveCount"])
    return document


# ---- Secrets Manager --------------------------------------------------------------------------


def _create_secret(
    clients: _Clients, stack_name: str, logical_id: str, properties: Mapping[str, Any]
) -> PhysicalResource:
    _check_properties(logical_id, properties, _SECRET_PROPERTIES)
    name = str(properties.get("Name") or f"{stack_name}/{logical_id}")
    client = clients.secretsmanager
    try:
        existing = client.describe_secret(SecretId=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    else:
        # Keep what an earlier run (or a developer) stored: regenerating would log everyone out.
        return PhysicalResource(
            logical_id, SECRET_TYPE, ref=existing["ARN"], attributes={"Id": existing["ARN"]}
        )
    request: dict[str, Any] = {"Name": name, "SecretString": _secret_string(client, logical_id, properties)}
    if "Description" in properties:
        request["Description"] = str(properties["Description"]).strip()
    arn = client.create_secret(**request)["ARN"]
    return PhysicalResource(logical_id, SECRET_TYPE, ref=arn, attributes={"Id": arn})


def _secret_string(client: "SecretsManagerClient", logical_id: str, properties: Mapping[str, Any]) -> str:
    if "SecretString" in properties:
        return str(properties["SecretString"])
    generate = properties.get("GenerateSecretString")
    if not isinstance(generate, Mapping):
        raise ProvisioningError(f"{logical_id}: a secret needs SecretString or GenerateSecretString")
    _check_properties(
        logical_id, generate, frozenset({*_PASSWORD_OPTIONS, "SecretStringTemplate", "GenerateStringKey"})
    )
    options = {key: generate[key] for key in _PASSWORD_OPTIONS if key in generate}
    password = client.get_random_password(**options)["RandomPassword"]
    template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
    if template is None and key is None:
        return password
    if template is None or key is None:
        raise ProvisioningError(
            f"{logical_id}: GenerateSecretString needs both SecretStringTemplate and GenerateStringKey, "
            "or neither"
        )
    try:
        document = json.loads(template)
    except json.JSONDecodeError as error:
        raise ProvisioningError(f"{logical_id}: SecretStringTemplate is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise ProvisioningError(f"{logical_id}: SecretStringTemplate must be a JSON object")
    document[key] = password
    return json.dumps(document)


_CREATORS: dict[str, Creator] = {
    TABLE_TYPE: _create_table,
    QUEUE_TYPE: _create_queue,
    SECRET_TYPE: _create_secret,
}
