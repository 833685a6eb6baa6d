"""boto3 handles for the stores, built lazily once per container, and DynamoDB helpers.

Only ghlsync.store (and ghlsync.queue) talk to boto3; everything above receives these handles.
"""

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from ghlsync.config import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_secretsmanager.client import SecretsManagerClient


@cache
def sync_table() -> "Table":
    return boto3.resource("dynamodb").Table(get_settings().sync_table_name)


@cache
def secrets_client() -> "SecretsManagerClient":
    return boto3.client("secretsmanager")


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_condition_failure(exc: ClientError) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"
