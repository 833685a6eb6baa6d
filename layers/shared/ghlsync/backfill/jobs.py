"""A connection's backfill job: one row, advanced one work item (page) at a time.

    pk = "BACKFILL#<connection_id>"  sk = "JOB"   the job (`BackfillJob` as JSON) + job_id, step, status

Who may write: `start` is a conditional put that succeeds only when no job is running (two
operators starting at once: one gets the job, the other `JobRunning`); `advance` is conditional on
the job id and the step the work item was for, so a duplicate or stale work item (SQS delivers at
least once; an old job's item after a restart) cannot move the job or write its checkpoint. What a
page wrote before a crash is written again harmlessly (links exist: the engine merges through
them; the index is idempotent), so resuming from the last saved step loses and doubles nothing.
"""

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError
from pydantic import BaseModel, Field

from ghlsync.store.dynamo import is_condition_failure

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class Phase(StrEnum):
    INDEX_APP = "index_app"  # list the app, index it by identity key
    MATCH_HUB = "match_hub"  # list GHL: link matches, create the missing on the app
    CREATE_HUB = "create_hub"  # the app records no GHL contact claimed: create them on GHL
    DONE = "done"


class JobStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # GHL's daily budget (less the live reserve) is spent: resume after 00:00 UTC
    FINISHED = "finished"


class JobRunning(Exception):
    """Another backfill of the connection is running: it must finish (or be resumed) first."""


class BackfillJob(BaseModel):
    job_id: str
    connection_id: str
    location_id: str
    status: JobStatus = JobStatus.RUNNING
    phase: Phase = Phase.INDEX_APP
    cursor: str | None = None  # where the current phase's next page starts
    step: int = 0  # work items done; the next work item is for this step
    counts: dict[str, int] = Field(default_factory=dict)
    skipped: dict[str, int] = Field(default_factory=dict)  # reason -> records
    api_calls: int = 0
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    paused_until: datetime | None = None
    total_hub: int | None = None
    total_app: int | None = None

    def add(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    @property
    def records_done(self) -> int:
        return sum(self.counts.get(n, 0) for n in ("indexed", "listed_hub", "created_hub"))


def _key(connection_id: str) -> dict[str, str]:
    return {"pk": f"BACKFILL#{connection_id}", "sk": "JOB"}


class JobStore:
    def __init__(self, table: "Table") -> None:
        self._table = table

    def get(self, connection_id: str) -> BackfillJob | None:
        item = self._table.get_item(Key=_key(connection_id), ConsistentRead=True).get("Item")
        return None if item is None else BackfillJob.model_validate(json.loads(str(item["job"])))

    def start(self, job: BackfillJob) -> None:
        """Store a new job unless one is running or paused (JobRunning)."""
        try:
            self._table.put_item(
                Item={**_key(job.connection_id), **self._attributes(job)},
                ConditionExpression="attribute_not_exists(pk) OR #status = :finished",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":finished": JobStatus.FINISHED.value},
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise JobRunning(job.connection_id) from error
            raise

    def advance(self, job: BackfillJob, *, from_step: int) -> bool:
        """Save `job` if the stored one is still this job at `from_step`; False: someone else
        (a duplicate work item, a newer job) owns it now, and nothing was saved."""
        try:
            self._table.put_item(
                Item={**_key(job.connection_id), **self._attributes(job)},
                ConditionExpression="job_id = :job AND step = :step",
                ExpressionAttributeValues={":job": job.job_id, ":step": from_step},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    @staticmethod
    def _attributes(job: BackfillJob) -> dict[str, str | int]:
        return {
            "job": job.model_dump_json(),
            "job_id": job.job_id,
            "step": job.step,
            "status": job.status.value,
        }
