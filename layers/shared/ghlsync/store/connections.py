"""Connections: one GHL location linked to one app account, with its sync policies.

Key layout (single table `SYNC_TABLE_NAME`):

| item       | pk                    | sk     | gsi1pk             | gsi1sk / gsi2sk       | gsi2pk        |
|------------|-----------------------|--------|--------------------|-----------------------|---------------|
| connection | `CONN#<connectionId>` | `CONN` | `LOC#<locationId>` | `CONN#<connectionId>` | `CONNECTIONS` |

`gsi1` lists a location's connections (GHL events fan out to each active one); `gsi2` (the index
audit rows use, under their own keys) lists every connection for sweeps and operators in one
partition, so they never scan links and audit. A row stored before `gsi2` carried connections
joins it on its next save (`put`), or with `reindex()` (`connections_cli reindex`). The table holds
only non-secret settings; the app credentials and the webhook token live in Secrets Manager under
`<CONNECTION_SECRET_PREFIX><connectionId>` (`ConnectionSecrets`). The same secret keeps the
SHA-256 digest of the connection's workflow-API key under `WORKFLOW_KEY_DIGEST_FIELD`, a field of
the stack's, not the app's: `credentials()` leaves it out.
"""

import json
import secrets
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ghlsync.mapping.phones import DEFAULT_COUNTRY, is_known_region, region_for_calling_code
from ghlsync.store.dynamo import error_code, is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

SORT_KEY = "CONN"
ALL_CONNECTIONS_KEY = "CONNECTIONS"
ALL_CONNECTIONS_INDEX = "gsi2"
_KEYS = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"})
# The secret field that holds the workflow-API key's digest (ghlsync.workflow.keys), never the key.
WORKFLOW_KEY_DIGEST_FIELD = "ghlsync_workflow_api_key_sha256"


class ConnectionStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class ConflictPolicy(StrEnum):
    """Who wins a field both sides changed since the last sync (DESIGN §4 rule 3)."""

    GHL_WINS = "ghl_wins"
    APP_WINS = "app_wins"
    LWW = "lww"  # the later source timestamp, outside the skew window; inside it the hub (GHL) value


class DeletePolicy(StrEnum):
    """What a delete on one side does to the other (DESIGN §4 rule 6)."""

    DELETE = "delete"
    TAG = "tag"  # tag the survivor `deleted-in-<side>`; tasks and notes (no tags) are left alone
    IGNORE = "ignore"


class BackfillDirection(StrEnum):
    """What a backfill creates for the records only one side holds (matches are linked always)."""

    BOTH = "both"
    HUB_TO_APP = "hub_to_app"
    APP_TO_HUB = "app_to_hub"
    LINK_ONLY = "link_only"


class BackfillOnCreate(StrEnum):
    """What creating a connection does about the records both sides already hold."""

    NONE = "none"
    PLAN = "plan"  # print the plan; the operator confirms with `connections_cli backfill CONN`
    RUN = "run"  # start the job at once


class BackfillSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    direction: BackfillDirection = BackfillDirection.BOTH
    on_create: BackfillOnCreate = BackfillOnCreate.PLAN
    # The share of GHL's burst budget (100 / 10 s) a backfill may use: below (1 - share) of it
    # left, it waits for the window and leaves the rest to live traffic.
    burst_share: float = Field(default=0.5, gt=0, le=1)
    # The share of GHL's daily budget kept for live traffic: a backfill pauses below it.
    daily_reserve: float = Field(default=0.1, ge=0, lt=1)
    page_size: int = Field(default=100, ge=1, le=100)
    # Bring each linked or created pair's tasks, notes and app-side tags along
    # (ghlsync.backfill.children): a listing call per kind and side and one app read per pair, so
    # off unless asked for.
    children: bool = False


class ConnectionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    conflict_policy: ConflictPolicy = ConflictPolicy.LWW
    delete_policy: DeletePolicy = DeletePolicy.TAG
    # Two edits closer than this (by their sources' clocks) count as concurrent under `lww`.
    skew_seconds: float = Field(default=5.0, ge=0, le=3600)
    # Canonical custom-field key that holds the other side's record id on each side (identity
    # step 2); excluded from content merges so ids never travel as data.
    external_id_field: str = "external_id"
    # ISO 3166 alpha-2 region of phone numbers written without a country code ("US", "GB", "BR"),
    # for identity and for comparing phones (ghlsync.mapping.phones); None: such numbers are not
    # placed in any country, so they match nothing.
    default_country: str | None = DEFAULT_COUNTRY
    # GHL custom field id -> canonical custom-field key.
    ghl_custom_fields: dict[str, str] = Field(default_factory=dict)
    # GHL user id -> canonical assignee key (usually an email); unmapped users sync as no assignee.
    ghl_users: dict[str, str] = Field(default_factory=dict)
    # The app connector's own non-secret settings (base URL, field maps...), validated by it.
    app: dict[str, Any] = Field(default_factory=dict)
    # The workflow API refuses every write (403) for this connection: reads only. Set it when the
    # location's GHL token was granted read scopes only (`contacts.readonly`).
    read_only: bool = False
    backfill: BackfillSettings = Field(default_factory=BackfillSettings)
    # How often the sweep lists every record id on both sides and diffs the listing against the
    # links to find deletes no webhook reported (a delete is found within one such period).
    delete_scan_hours: float = Field(default=24.0, gt=0, le=24 * 31)

    @model_validator(mode="before")
    @classmethod
    def _from_calling_code(cls, data: Any) -> Any:
        """Rows stored before `default_country` carry `default_country_code`, a calling code ("1"),
        or null (national numbers unused): read it as that code's main region, or as None."""
        if not isinstance(data, dict) or "default_country_code" not in data:
            return data
        data = dict(data)
        code = data.pop("default_country_code")
        if "default_country" not in data:
            data["default_country"] = region_for_calling_code(code) if code is not None else None
        return data

    @field_validator("default_country")
    @classmethod
    def _known_region(cls, region: str | None) -> str | None:
        if region is None:
            return None
        region = region.strip().upper()
        if not is_known_region(region):
            raise ValueError(f"{region!r} is not an ISO 3166 alpha-2 region with a numbering plan")
        return region


class Connection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connection_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    location_id: str = Field(min_length=1, max_length=128)
    app: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")
    status: ConnectionStatus = ConnectionStatus.ACTIVE
    settings: ConnectionSettings = Field(default_factory=ConnectionSettings)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def active(self) -> bool:
        return self.status is ConnectionStatus.ACTIVE

    @property
    def webhook_path(self) -> str:
        return f"/webhooks/{self.app}/{self.connection_id}"


def new_connection_id() -> str:
    return f"conn_{secrets.token_hex(8)}"


class ConnectionNotFound(LookupError):
    def __init__(self, connection_id: str) -> None:
        super().__init__(f"no connection {connection_id}")
        self.connection_id = connection_id


class ConnectionStore:
    def __init__(self, table: "Table") -> None:
        self._table = table

    def put(self, connection: Connection) -> None:
        item = json.loads(connection.model_dump_json())
        item.update(
            {
                "pk": f"CONN#{connection.connection_id}",
                "sk": SORT_KEY,
                "gsi1pk": f"LOC#{connection.location_id}",
                "gsi1sk": f"CONN#{connection.connection_id}",
                "gsi2pk": ALL_CONNECTIONS_KEY,
                "gsi2sk": f"CONN#{connection.connection_id}",
                # Settings hold floats and free-form app settings: JSON avoids DynamoDB's Decimal.
                "settings": connection.settings.model_dump_json(),
            }
        )
        self._table.put_item(Item=item)

    def get(self, connection_id: str) -> Connection | None:
        response = self._table.get_item(
            Key={"pk": f"CONN#{connection_id}", "sk": SORT_KEY}, ConsistentRead=True
        )
        item = response.get("Item")
        return _from_item(item) if item else None

    def for_location(self, location_id: str) -> list[Connection]:
        """Every connection of a location (any status), by id."""
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(f"LOC#{location_id}")
            & Key("gsi1sk").begins_with("CONN#"),
        }
        found: list[Connection] = []
        while True:
            page = self._table.query(**kwargs)
            found.extend(_from_item(item) for item in page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return found
            kwargs["ExclusiveStartKey"] = last

    def all(self) -> Iterator[Connection]:
        """Every connection, by id: one query of the connections' partition of `gsi2` (eventually
        consistent: a connection saved a moment ago may show from the next call on)."""
        kwargs: dict[str, Any] = {
            "IndexName": ALL_CONNECTIONS_INDEX,
            "KeyConditionExpression": Key("gsi2pk").eq(ALL_CONNECTIONS_KEY),
        }
        while True:
            page = self._table.query(**kwargs)
            yield from (_from_item(item) for item in page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def reindex(self) -> int:
        """Put every connection row the index does not list yet into it (rows stored before it
        carried connections); returns how many. A one-off scan of the whole table."""
        kwargs: dict[str, Any] = {
            "FilterExpression": Attr("sk").eq(SORT_KEY)
            & Attr("pk").begins_with("CONN#")
            & Attr("gsi2pk").not_exists()
        }
        moved = 0
        while True:
            page = self._table.scan(**kwargs)
            for item in page.get("Items", []):
                self._table.update_item(
                    Key={"pk": item["pk"], "sk": SORT_KEY},
                    UpdateExpression="SET gsi2pk = :pk, gsi2sk = :sk",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":pk": ALL_CONNECTIONS_KEY, ":sk": str(item["pk"])},
                )
                moved += 1
            last = page.get("LastEvaluatedKey")
            if not last:
                return moved
            kwargs["ExclusiveStartKey"] = last

    def set_status(self, connection_id: str, status: ConnectionStatus) -> None:
        try:
            self._table.update_item(
                Key={"pk": f"CONN#{connection_id}", "sk": SORT_KEY},
                UpdateExpression="SET #s = :s, updated_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": status.value, ":now": datetime.now(UTC).isoformat()},
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise ConnectionNotFound(connection_id) from error
            raise


def _from_item(item: dict[str, Any]) -> Connection:
    data = {k: v for k, v in item.items() if k not in _KEYS}
    data["settings"] = ConnectionSettings.model_validate_json(str(data["settings"]))
    return Connection.model_validate(data)


class ConnectionSecrets:
    """App credentials and webhook token of each connection, one Secrets Manager secret each.

    The secret is a JSON object; its keys are the app connector's business (e.g. Kayako's
    `email`, `password`, `webhook_token`). Values never reach the table or a log line.
    """

    def __init__(self, client: "SecretsManagerClient", prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def secret_id(self, connection_id: str) -> str:
        return f"{self._prefix}{connection_id}"

    def put(self, connection_id: str, values: dict[str, str]) -> None:
        body = json.dumps(values)
        try:
            self._client.create_secret(
                Name=self.secret_id(connection_id),
                SecretString=body,
                Description="ghl-sync app connection credentials",
            )
        except ClientError as error:
            if error_code(error) != "ResourceExistsException":
                raise
            self._client.put_secret_value(SecretId=self.secret_id(connection_id), SecretString=body)

    def credentials(self, connection_id: str) -> dict[str, Any]:
        """The app's credentials: the secret without the stack's own fields."""
        return {k: v for k, v in self._stored(connection_id).items() if k != WORKFLOW_KEY_DIGEST_FIELD}

    def credential(self, connection_id: str, name: str) -> str | None:
        """One of the app's credentials (e.g. `webhook_token`); None when the connection has no
        secret, or the secret no such non-empty string."""
        if name == WORKFLOW_KEY_DIGEST_FIELD:
            return None
        try:
            value = self._stored(connection_id).get(name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise
        return value if isinstance(value, str) and value else None

    def workflow_key_digest(self, connection_id: str) -> str | None:
        """The stored digest of the connection's workflow-API key; None when it has no key (or no
        secret at all)."""
        try:
            stored = self._stored(connection_id)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise
        digest = stored.get(WORKFLOW_KEY_DIGEST_FIELD)
        return digest if isinstance(digest, str) and digest else None

    def update_credentials(self, connection_id: str, changes: Mapping[str, str]) -> None:
        """Store changed credential fields (a rotated refresh token, before it is used), keeping
        the others and the workflow key's digest."""
        stored = self._stored(connection_id)
        stored.update(changes)
        self._client.put_secret_value(SecretId=self.secret_id(connection_id), SecretString=json.dumps(stored))

    def set_workflow_key_digest(self, connection_id: str, digest: str) -> None:
        """Replace the workflow-API key's digest (the old key stops working), keeping the rest."""
        stored = self._stored(connection_id)
        stored[WORKFLOW_KEY_DIGEST_FIELD] = digest
        self._client.put_secret_value(SecretId=self.secret_id(connection_id), SecretString=json.dumps(stored))

    def _stored(self, connection_id: str) -> dict[str, Any]:
        response = self._client.get_secret_value(SecretId=self.secret_id(connection_id))
        value = json.loads(response["SecretString"])
        if not isinstance(value, dict):
            raise ValueError(f"secret of connection {connection_id} is not a JSON object")
        return value
