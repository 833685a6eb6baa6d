"""sandbox.stack.aws: the template's tables, queues and secrets, created in in-process moto."""

import json
import string
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent

import boto3
import pytest
from moto import mock_aws

from sandbox.stack.aws import ProvisioningError, provision
from sandbox.stack.invoke import FAKE_CREDENTIALS
from sandbox.stack.template import Template, load_template, parse_template

FIXTURE_TEMPLATE = load_template(
    Path(__file__).resolve().parent.parent / "template" / "fixtures" / "template.yaml"
)


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


def template_from(text: str, tmp_path: Path) -> Template:
    return Template(path=tmp_path / "template.yaml", document=parse_template(dedent(text)))


def test_table_has_the_template_keys_indexes_and_ttl(session: boto3.session.Session) -> None:
    # GIVEN a table with a GSI and TTL WHEN provisioned THEN moto's table matches the declaration
    provision(FIXTURE_TEMPLATE, session=session)
    client = session.client("dynamodb")
    table = client.describe_table(TableName="ghl-sync-Table")["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert [(index["IndexName"], index["Projection"]) for index in table["GlobalSecondaryIndexes"]] == [
        ("by-kind", {"ProjectionType": "KEYS_ONLY"})
    ]
    ttl = client.describe_time_to_live(TableName="ghl-sync-Table")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_fifo_queue_redrives_to_its_dead_letter_queue(session: boto3.session.Session) -> None:
    # GIVEN a FIFO queue whose redrive refers to a DLQ declared after it THEN the DLQ exists first
    stack = provision(FIXTURE_TEMPLATE, session=session)
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical_ids()["Queue"], AttributeNames=["All"]
    )["Attributes"]
    assert (attributes["FifoQueue"], attributes["ContentBasedDeduplication"]) == ("true", "false")
    assert attributes["VisibilityTimeout"] == "120"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": stack.resources["DeadLetters"].attributes["Arn"],
        "maxReceiveCount": 3,
    }


def test_parameter_override_changes_the_receive_count(session: boto3.session.Session) -> None:
    stack = provision(FIXTURE_TEMPLATE, session=session, parameter_overrides={"MaxReceiveCount": "9"})
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=stack.physical_ids()["Queue"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 9


def test_physical_names_follow_the_stack_name(session: boto3.session.Session) -> None:
    ids = provision(FIXTURE_TEMPLATE, session=session, stack_name="demo").physical_ids()
    assert ids["Table"] == "demo-Table"
    assert ids["Queue"].endswith("/demo-Queue.fifo")
    assert ":secret:demo/app-" in ids["Secret"]


def test_generated_secret_renders_its_template(session: boto3.session.Session) -> None:
    # GIVEN GenerateSecretString with a JSON template, a key, a length and no punctuation
    stack = provision(FIXTURE_TEMPLATE, session=session)
    secret = session.client("secretsmanager").get_secret_value(SecretId=stack.physical_ids()["Secret"])
    document = json.loads(secret["SecretString"])
    # THEN the template keys stay and the generated key holds a password as specified
    assert document["client_id"] == ""
    assert len(document["signing_key"]) == 40
    assert set(document["signing_key"]) <= set(string.ascii_letters + string.digits)


def test_provisioning_again_reuses_resources_and_keeps_secret_values(session: boto3.session.Session) -> None:
    # GIVEN a stack provisioned once (as on a long-running moto server) and a secret a developer edited
    first = provision(FIXTURE_TEMPLATE, session=session)
    secrets = session.client("secretsmanager")
    secrets.put_secret_value(SecretId=first.physical_ids()["Secret"], SecretString='{"client_id": "mine"}')
    # WHEN provisioned again THEN the same resources come back and the secret keeps its value
    second = provision(FIXTURE_TEMPLATE, session=session)
    assert second.physical_ids() == first.physical_ids()
    value = secrets.get_secret_value(SecretId=second.physical_ids()["Secret"])["SecretString"]
    assert json.loads(value) == {"client_id": "mine"}


def test_existing_table_with_another_schema_is_refused(session: boto3.session.Session) -> None:
    # GIVEN a table of the same name but other keys, left from an older template
    session.client("dynamodb").create_table(
        TableName="ghl-sync-Table",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    with pytest.raises(ProvisioningError, match="already exists with another schema"):
        provision(FIXTURE_TEMPLATE, session=session)


def test_unknown_resource_property_is_refused_not_skipped(
    session: boto3.session.Session, tmp_path: Path
) -> None:
    # GIVEN a table property the provisioner does not implement THEN it says so instead of drifting
    template = template_from(
        """
        Resources:
          Table:
            Type: AWS::DynamoDB::Table
            Properties:
              BillingMode: PAY_PER_REQUEST
              AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
              KeySchema: [{AttributeName: pk, KeyType: HASH}]
              StreamSpecification: {StreamViewType: NEW_IMAGE}
        """,
        tmp_path,
    )
    with pytest.raises(ProvisioningError, match=r"Table: .*cannot create StreamSpecification"):
        provision(template, session=session)


def test_secret_with_a_plain_value_is_stored_as_is(session: boto3.session.Session, tmp_path: Path) -> None:
    template = template_from(
        """
        Resources:
          Plain: {Type: AWS::SecretsManager::Secret, Properties: {SecretString: "s3cr3t"}}
        """,
        tmp_path,
    )
    stack = provision(template, session=session)
    value = session.client("secretsmanager").get_secret_value(SecretId=stack.physical_ids()["Plain"])
    assert value["SecretString"] == "s3cr3t"


def test_generate_secret_string_needs_template_and_key_together(
    session: boto3.session.Session, tmp_path: Path
) -> None:
    template = template_from(
        """
        Resources:
          Half:
            Type: AWS::SecretsManager::Secret
            Properties: {GenerateSecretString: {GenerateStringKey: password}}
        """,
        tmp_path,
    )
    with pytest.raises(ProvisioningError, match="needs both SecretStringTemplate and GenerateStringKey"):
        provision(template, session=session)


def test_reference_to_a_resource_not_created_locally_names_it(
    session: boto3.session.Session, tmp_path: Path
) -> None:
    template = template_from(
        """
        Resources:
          Api: {Type: AWS::Serverless::Api}
          Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${Api}-q"}}
        """,
        tmp_path,
    )
    with pytest.raises(ProvisioningError, match="Queue: cannot resolve !Ref Api"):
        provision(template, session=session)


def test_function_environment_resolves_against_the_created_resources(session: boto3.session.Session) -> None:
    stack = provision(FIXTURE_TEMPLATE, session=session)
    environment = stack.function_environment("EchoFunction")
    assert environment["TABLE_NAME"] == "ghl-sync-Table"
    assert environment["QUEUE_URL"] == stack.physical_ids()["Queue"]
    assert environment["ECHO_ONLY"] == "yes"
    assert "ECHO_ONLY" not in stack.global_environment()
