"""Tenants: one row per GHL location that installed the app (OAuth) or was set up with a PIT.

Key layout (sync table):
    pk = "TENANT#<location_id>"   sk = "TENANT"
    location_id, company_id, status, status_reason, auth_kind,
    installed_at, uninstalled_at, retain_until, token_expires_at   (ISO 8601 UTC strings)
    gsi1pk = "TOKEN_EXPIRY"   gsi1sk = "<token_expires_at, YYYY-MM-DDTHH:MM:SSZ>#<location_id>"
        present only while the tenant is active, uses OAuth and its token expiry is known: the
        token_refresh schedule queries this index for tokens that expire soon.
    expires_at  epoch seconds of retain_until (TTL): an uninstalled tenant's row goes away after
        its retention period; a reinstall before then removes it again.

One GSI partition holds every refreshable tenant; at the scale of one Marketplace app (thousands of
locations, one query every 30 minutes) that is far from DynamoDB's per-partition limits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ghlsync.store.dynamo import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SORT_KEY = "TENANT"
TOKEN_EXPIRY_INDEX = "gsi1"
TOKEN_EXPIRY_PARTITION = "TOKEN_EXPIRY"


class TenantStatus(StrEnum):
    ACTIVE = "active"
    RECONNECT_NEEDED = "reconnect_needed"  # the refresh token was rejected: the location must reinstall
    UNINSTALLED = "uninstalled"


class AuthKind(StrEnum):
    OAUTH = "oauth"
    PIT = "pit"
    AGENCY = "agency"  # a location of a Company install: its token is minted from the agency's


class Tenant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    location_id: str = Field(min_length=1, max_length=128)
    company_id: str | None = None
    status: TenantStatus = TenantStatus.ACTIVE
    status_reason: str = ""
    installed_at: AwareDatetime
    uninstalled_at: AwareDatetime | None = None
    retain_until: AwareDatetime | None = None
    auth_kind: AuthKind = AuthKind.OAUTH
    token_expires_at: AwareDatetime | None = None
    # What GHL's rate-limit headers last left of the location's budget, percent (`ghlsync status`).
    ghl_window_headroom_percent: float | None = None
    ghl_daily_headroom_percent: float | None = None
    ghl_budget_seen_at: AwareDatetime | None = None


class TenantNotFound(LookupError):
    def __init__(self, location_id: str) -> None:
        super().__init__(f"no tenant for location {location_id}")
        self.location_id = location_id


def tenant_key(location_id: str) -> dict[str, str]:
    return {"pk": f"TENANT#{location_id}", "sk": SORT_KEY}


def expiry_sort_key(expires_at: datetime, location_id: str) -> str:
    return f"{_sortable(expires_at)}#{location_id}"


class TenantStore:
    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def register(self, tenant: Tenant) -> None:
        """Create or re-activate a tenant (install, reinstall).

        An upsert, not a put: the INSTALL webhook and the OAuth callback both register the same
        location in either order, and the one that knows no token expiry must not erase the other's.
        """
        sets: dict[str, Any] = {
            "location_id": tenant.location_id,
            "status": tenant.status.value,
            "status_reason": tenant.status_reason,
            "installed_at": _iso(tenant.installed_at),
            "auth_kind": tenant.auth_kind.value,
        }
        removes = ["uninstalled_at", "retain_until", "expires_at"]
        if tenant.company_id is not None:
            sets["company_id"] = tenant.company_id
        if tenant.auth_kind in (AuthKind.PIT, AuthKind.AGENCY):
            # Neither is refreshed on schedule (a PIT never, an agency location's token is minted).
            removes += ["token_expires_at", "gsi1pk", "gsi1sk"]
        elif tenant.token_expires_at is not None:
            sets["token_expires_at"] = _iso(tenant.token_expires_at)
            if tenant.status is TenantStatus.ACTIVE:
                sets["gsi1pk"] = TOKEN_EXPIRY_PARTITION
                sets["gsi1sk"] = expiry_sort_key(tenant.token_expires_at, tenant.location_id)
            else:
                removes += ["gsi1pk", "gsi1sk"]
        self._update(tenant.location_id, sets, removes)

    def get(self, location_id: str) -> Tenant | None:
        item = self._table.get_item(Key=tenant_key(location_id), ConsistentRead=True).get("Item")
        return Tenant.model_validate(item) if item else None

    def set_status(self, location_id: str, status: TenantStatus, reason: str = "") -> None:
        """Change the status; only active OAuth tenants stay in the token-expiry index."""
        sets: dict[str, Any] = {"status": status.value, "status_reason": reason}
        removes: list[str] = []
        if status is TenantStatus.ACTIVE:
            current = self.get(location_id)
            if current is None:
                raise TenantNotFound(location_id)
            if current.auth_kind is AuthKind.OAUTH and current.token_expires_at is not None:
                sets["gsi1pk"] = TOKEN_EXPIRY_PARTITION
                sets["gsi1sk"] = expiry_sort_key(current.token_expires_at, location_id)
        else:
            removes = ["gsi1pk", "gsi1sk"]
        self._update(location_id, sets, removes, must_exist=True)

    def note_ghl_budget(self, location_id: str, window: float | None, daily: float | None) -> bool:
        """Keep the budget headroom GHL last reported for the location; False without a tenant row."""
        sets: dict[str, Any] = {"ghl_budget_seen_at": _iso(datetime.fromtimestamp(self._clock(), UTC))}
        for name, value in (("ghl_window_headroom_percent", window), ("ghl_daily_headroom_percent", daily)):
            if value is not None:
                sets[name] = Decimal(str(value))
        try:
            self._update(location_id, sets, [], must_exist=True)
        except TenantNotFound:
            return False
        return True

    def mark_uninstalled(self, location_id: str, retain_days: int) -> None:
        now = datetime.fromtimestamp(self._clock(), UTC)
        retain_until = now + timedelta(days=retain_days)
        sets = {
            "status": TenantStatus.UNINSTALLED.value,
            "status_reason": "app uninstalled",
            "uninstalled_at": _iso(now),
            "retain_until": _iso(retain_until),
            "expires_at": int(retain_until.timestamp()),
        }
        self._update(location_id, sets, ["gsi1pk", "gsi1sk"], must_exist=True)

    def record_token_expiry(self, location_id: str, expires_at: datetime) -> bool:
        """Move an active OAuth tenant along the token-expiry index after a refresh.

        False (and nothing written) when the tenant is missing or not active: an inactive tenant
        is not refreshed on schedule.
        """
        try:
            self._table.update_item(
                Key=tenant_key(location_id),
                UpdateExpression="SET token_expires_at = :exp, gsi1pk = :gpk, gsi1sk = :gsk",
                ConditionExpression="attribute_exists(pk) AND #status = :active AND auth_kind = :oauth",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":exp": _iso(expires_at),
                    ":gpk": TOKEN_EXPIRY_PARTITION,
                    ":gsk": expiry_sort_key(expires_at, location_id),
                    ":active": TenantStatus.ACTIVE.value,
                    ":oauth": AuthKind.OAUTH.value,
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def expiring_before(self, instant: datetime) -> Iterator[Tenant]:
        """Active OAuth tenants whose token expires before `instant`, soonest first."""
        query: dict[str, Any] = {
            "IndexName": TOKEN_EXPIRY_INDEX,
            "KeyConditionExpression": Key("gsi1pk").eq(TOKEN_EXPIRY_PARTITION)
            & Key("gsi1sk").lt(_sortable(instant)),
        }
        while True:
            page = self._table.query(**query)
            for item in page.get("Items", []):
                yield Tenant.model_validate(item)
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _update(
        self, location_id: str, sets: dict[str, Any], removes: list[str], *, must_exist: bool = False
    ) -> None:
        names = {f"#a{i}": name for i, name in enumerate([*sets, *removes])}
        placeholders = {name: alias for alias, name in names.items()}
        expression = "SET " + ", ".join(f"{placeholders[name]} = :v{i}" for i, name in enumerate(sets))
        if removes:
            expression += " REMOVE " + ", ".join(placeholders[name] for name in removes)
        arguments: dict[str, Any] = {
            "Key": tenant_key(location_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {f":v{i}": value for i, value in enumerate(sets.values())},
        }
        if must_exist:
            arguments["ConditionExpression"] = "attribute_exists(pk)"
        try:
            self._table.update_item(**arguments)
        except ClientError as exc:
            if must_exist and is_condition_failure(exc):
                raise TenantNotFound(location_id) from exc
            raise


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def _sortable(instant: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order in the index."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
