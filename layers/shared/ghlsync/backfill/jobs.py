"""A connection's backfill job: one row, advanced one work item (page) at a time.

    pk = "BACKFILL#<connection_id>"  sk = "JOB"   the job (`BackfillJob` as JSON) + job_id, step, status
    a paused job also: gsi2pk = "BACKFILL#PAUSED"  gsi2sk = <paused_until, ISO UTC>

`gsi2` (the index connections and audit rows use, under their own keys) lists the paused jobs by
when they may resume, so the scheduled tick finds the due ones with one query whatever the number
of connections (`due`); any other save of the row drops it from that partition.

Who may write: `start` is a conditional put that succeeds only when no job is running (two
operators starting at once: one gets the job, the other `JobRunning`); `advance` is conditional on
the job id and the step the work item was for, so a duplicate or stale work item (SQS delivers at
least once; an old job's item after a restart) cannot move the job or write its checkpoint;
`resume` is conditional on the job being paused at that step, so of two resumes (two scheduled
ticks, a tick and an operator) one wins and queues the next work item, the other does nothing. What a
page wrote before a crash is written again harmlessly (links exist: the engine merges through
them; the index is idempotent), so resuming from the last saved step loses and doubles nothing.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
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
    PAUSED = "paused"  # GHL's daily budget (less the live reserve) is spent: resume at `paused_until`
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


PAUSED_KEY = "BACKFILL#PAUSED"
PAUSED_INDEX = "gsi2"


def _key(connection_id: str) -> dict[str, str]:
    return {"pk": f"BACKFILL#{connection_id}", "sk": "JOB"}


def _instant(moment: datetime) -> str:
    """A sortable UTC instant: ISO strings of one format compare as the instants do."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


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

    def resume(self, job: BackfillJob) -> bool:
        """Mark the paused `job` running again if the stored one is still it, paused at its step;
        False: another resume (or a newer job) got there first, and nothing was saved."""
        assert job.status is JobStatus.PAUSED
        running = job.model_copy(update={"status": JobStatus.RUNNING})
        try:
            self._table.put_item(
                Item={**_key(job.connection_id), **self._attributes(running)},
                ConditionExpression="job_id = :job AND step = :step AND #status = :paused",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":job": job.job_id,
                    ":step": job.step,
                    ":paused": JobStatus.PAUSED.value,
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        job.status = JobStatus.RUNNING
        return True

    def due(self, now: datetime) -> Iterator[BackfillJob]:
        """The paused jobs whose `paused_until` is at or before `now`, soonest first. The index is
        eventually consistent: a job listed may have moved on meanwhile (`resume` then refuses)."""
        kwargs: dict[str, Any] = {
            "IndexName": PAUSED_INDEX,
            "KeyConditionExpression": Key("gsi2pk").eq(PAUSED_KEY) & Key("gsi2sk").lte(_instant(now)),
        }
        while True:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                yield BackfillJob.model_validate(json.loads(str(item["job"])))
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    @staticmethod
    def _attributes(job: BackfillJob) -> dict[str, str | int]:
        attributes: dict[str, str | int] = {
            "job": job.model_dump_json(),
            "job_id": job.job_id,
            "step": job.step,
            "status": job.status.value,
        }
        if job.status is JobStatus.PAUSED and job.paused_until is not None:
            attributes |= {"gsi2pk": PAUSED_KEY, "gsi2sk": _instant(job.paused_until)}
        return attributes
