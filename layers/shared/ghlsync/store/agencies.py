"""Agencies: one row per GHL company that installed the app for many locations (a Company install).

Key layout (sync table):
    pk = "AGENCY#<company_id>"   sk = "AGENCY"
        company_id, app_id, status (TenantStatus values), install_to_future_locations, installed_at
        gsi1pk = "AGENCIES"   gsi1sk = <company_id>   while active: what the reconcile walks
    pk = "AGENCY#<company_id>"   sk = "LOCATION#<location_id>"
        one member row per location of the install (its tenant row says auth_kind "agency")

The agency's own tokens live in the token store under `agency_token_key(company_id)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ghlsync.store.tenants import TenantStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

AGENCY_SORT_KEY = "AGENCY"
MEMBER_PREFIX = "LOCATION#"
ACTIVE_AGENCIES_PARTITION = "AGENCIES"
INDEX = "gsi1"


def agency_token_key(company_id: str) -> str:
    """The token store key of a company's agency token (GHL ids never contain '_', so no location
    id can take it)."""
    return f"agency_{company_id}"


class Agency(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    company_id: str = Field(min_length=1, max_length=128)
    app_id: str = Field(min_length=1)
    status: TenantStatus = TenantStatus.ACTIVE
    install_to_future_locations: bool = False
    installed_at: AwareDatetime


class AgencyStore:
    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._clock = clock

    def register(self, agency: Agency) -> None:
        """Create or re-activate (a reinstall replaces the row; its members are kept)."""
        self._table.put_item(
            Item={
                **_key(agency.company_id),
                **agency.model_dump(mode="json"),
                "gsi1pk": ACTIVE_AGENCIES_PARTITION,
                "gsi1sk": agency.company_id,
            }
        )

    def get(self, company_id: str) -> Agency | None:
        item = self._table.get_item(Key=_key(company_id), ConsistentRead=True).get("Item")
        return Agency.model_validate(item) if item else None

    def active(self) -> Iterator[Agency]:
        query: dict[str, Any] = {
            "IndexName": INDEX,
            "KeyConditionExpression": Key("gsi1pk").eq(ACTIVE_AGENCIES_PARTITION),
        }
        while True:
            page = self._table.query(**query)
            for item in page.get("Items", []):
                yield Agency.model_validate(item)
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_status(self, company_id: str, status: TenantStatus) -> None:
        """Only an active agency stays in the reconcile's index."""
        expression = "SET #status = :status"
        values: dict[str, Any] = {":status": status.value}
        if status is TenantStatus.ACTIVE:
            expression += ", gsi1pk = :gpk, gsi1sk = :gsk"
            values |= {":gpk": ACTIVE_AGENCIES_PARTITION, ":gsk": company_id}
        else:
            expression += " REMOVE gsi1pk, gsi1sk"
        self._table.update_item(
            Key=_key(company_id),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def add_location(self, company_id: str, location_id: str) -> None:
        now = datetime.fromtimestamp(self._clock(), UTC).isoformat()
        self._table.put_item(
            Item={
                "pk": f"AGENCY#{company_id}",
                "sk": MEMBER_PREFIX + location_id,
                "location_id": location_id,
                "added_at": now,
            }
        )

    def remove_location(self, company_id: str, location_id: str) -> None:
        self._table.delete_item(Key={"pk": f"AGENCY#{company_id}", "sk": MEMBER_PREFIX + location_id})

    def locations(self, company_id: str) -> set[str]:
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"AGENCY#{company_id}")
            & Key("sk").begins_with(MEMBER_PREFIX),
            "ConsistentRead": True,
        }
        found: set[str] = set()
        while True:
            page = self._table.query(**query)
            found.update(str(item["location_id"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _key(company_id: str) -> dict[str, str]:
    return {"pk": f"AGENCY#{company_id}", "sk": AGENCY_SORT_KEY}
