"""The change event: what ingress enqueues and the worker consumes, whatever its source.

One model for every source keeps the queue, the DLQ, redrive and the engine source-agnostic.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ghlsync.core.entities import EntityKind

GHL_SOURCE = "ghl"

# Event types of records a bulk job listed (a backfill's contacts and the children it queued, a
# bulk sync's, a refresh's), not changes someone just made: their `occurred_at` is when the record
# last changed, months ago for a backfilled one, so they feed no sync-latency metric.
BACKFILL_EVENT_TYPE = "Backfill"
BACKFILL_CHILD_EVENT_TYPE = "BackfillChild"
BULK_SYNC_EVENT_TYPE = "BulkSync"
REFRESH_EVENT_TYPE = "ScheduledRefresh"
LISTED_EVENT_TYPES = frozenset(
    {BACKFILL_EVENT_TYPE, BACKFILL_CHILD_EVENT_TYPE, BULK_SYNC_EVENT_TYPE, REFRESH_EVENT_TYPE}
)


class ChangeAction(StrEnum):
    UPSERT = "upsert"  # created or updated: the engine re-reads the source record
    DELETE = "delete"
    TAGS = "tags"  # the contact's tag set changed (GHL ContactTagUpdate, app tag events)
    # Tags to add to the contact (`data["tags"]`), from a source that keeps no tag set of its own
    # to compare against (a Kixie disposition mapped to a tag).
    ADD_TAGS = "add_tags"
    # An operator's choice for a recorded conflict (`data`: conflict_id, keep): the kept side's
    # values are written where they differ (ghlsync.sync.resolution).
    RESOLVE = "resolve"
    # One work item (page) of a connection's backfill job (`entity_id`: the job id, `data["step"]`):
    # handled by ghlsync.backfill, never by the engine.
    BACKFILL = "backfill"


class ChangeEvent(BaseModel):
    """One change on one side. Serialised as the SQS message body.

    - `event_id` is the idempotency key (GHL webhookId, or a hash of the app's body) and the
      FIFO deduplication id.
    - `location_id` is the FIFO message group: one GHL location's events stay in order.
    - `connection_id` is set for app-sourced events; GHL events fan out to every active
      connection of the location.
    - `entity_id` is the record's id on the source side; `parent_id` its contact's id there.
    - `occurred_at` is the source's own timestamp, for out-of-order skips.
    - `data` is the source payload fragment, kept for the audit trail and for fields the
      source cannot be re-read for (deleted records, GHL tag lists).
    - `record` is the changed record itself, as a canonical model dump (`model_dump(mode="json")`
      of the entity's canonical class), for sources whose records cannot be re-read (a Kixie call
      event carries its call): the engine uses it instead of reading the source again. None: the
      engine re-reads the source, as it does for every re-readable record.
    - `parent_record` is the parent contact as the source knows it (a canonical contact dump), for
      sources whose contacts cannot be re-read either: the engine matches it on the other side by
      its identity (a Kixie call names only the caller's number).
    - `hub_parent_id` names the parent contact by its id on the hub (GHL) instead, for a source
      that knows the contact only by the id we gave it (a Kixie scheduled activity names no
      number, only `contactid`: the `crmContactId` we wrote). The contact must be linked already.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, max_length=128)
    location_id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=64)
    connection_id: str | None = None
    entity: EntityKind
    action: ChangeAction
    entity_id: str = Field(min_length=1)
    parent_id: str | None = None
    occurred_at: datetime
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    event_type: str = Field(description="the source's own event name, e.g. ContactCreate")
    data: dict[str, Any] = Field(default_factory=dict)
    record: dict[str, Any] | None = None
    parent_record: dict[str, Any] | None = None
    hub_parent_id: str | None = Field(default=None, max_length=128)
    # Set by dlq_redrive so a redriven event can be told apart in the audit trail.
    redriven: bool = False

    @property
    def from_ghl(self) -> bool:
        return self.source == GHL_SOURCE

    @property
    def listed(self) -> bool:
        """A record a bulk job listed, not a change just made (`LISTED_EVENT_TYPES`)."""
        return self.event_type in LISTED_EVENT_TYPES
