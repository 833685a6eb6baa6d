"""`connections_cli backfill CONN [--plan] [--no-wait]` and `connections_cli status CONN`.

`--plan` lists both sides from this machine and prints what the job would do, writing nothing.
Without it the job is started (or a paused one resumed at once) in AWS: its work items go on the sync
queue and the worker runs them; this command then shows its progress from the job row until it
finishes (`--no-wait`: start it and return). `status` prints the job row once, and for a paused
job when it resumes by itself (ghlsync.backfill.resume).
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from ghlsync.backfill.jobs import BackfillJob, JobRunning, JobStatus, JobStore
from ghlsync.backfill.pages import Tallies
from ghlsync.backfill.runner import BackfillRefused, BackfillRunner
from ghlsync.store.connections import BackfillOnCreate, Connection

# GHL's burst budget (ghl-api.md §3.2): 100 requests per 10 s per location.
GHL_REQUESTS_PER_SECOND = 10.0


class BackfillCliError(Exception):
    """An operator's mistake (a refused plan or run): connections_cli prints it and exits 2."""


def after_create(connection: Connection) -> list[str]:
    """What a new connection's `backfill.on_create` asks for: the job started (`run`), or the
    operator told how to see the plan and confirm it (`plan`, the default)."""
    on_create = connection.settings.backfill.on_create
    conn = connection.connection_id
    if on_create is BackfillOnCreate.NONE:
        return []
    if on_create is BackfillOnCreate.RUN:
        from ghlsync.backfill.service import default_runner

        job = default_runner().start(connection)
        return [f"backfill {job.job_id} started: `connections_cli status {conn}` shows its progress"]
    return [
        "records both sides held before this connection are not synced until a backfill links them:",
        f"  connections_cli backfill {conn} --plan   (what it would do; writes nothing)",
        f"  connections_cli backfill {conn}          (confirm: runs it in AWS)",
    ]


def print_plan(tallies: Tallies, out: TextIO) -> None:
    counts = tallies.counts
    linked = {k.removeprefix("to_link_by_"): v for k, v in counts.items() if k.startswith("to_link_by_")}
    out.write(
        f"app records listed: {counts.get('indexed', 0)}, "
        f"GHL contacts listed: {counts.get('listed_hub', 0)}\n"
    )
    out.write(
        f"to link: {sum(linked.values())}"
        + "".join(f" ({v} by {k})" for k, v in sorted(linked.items()))
        + "\n"
    )
    out.write(f"to create on the app: {counts.get('to_create_on_app', 0)}\n")
    out.write(f"to create on GHL: {counts.get('to_create_on_hub', 0)}\n")
    out.write(f"ambiguous (recorded as conflicts, not merged): {counts.get('ambiguous', 0)}\n")
    out.writelines(f"skipped {n}: {reason}\n" for reason, n in sorted(tallies.skipped.items()))


def progress_line(job: BackfillJob, connection: Connection) -> str:
    """Records done, rate, and the ETA the GHL budget allows (the job's share of the burst)."""
    done = job.records_done
    # The listings' totals may count records that are not contacts (Kayako's agents).
    total = (
        done if job.status is JobStatus.FINISHED else max((job.total_app or 0) + (job.total_hub or 0), done)
    )
    elapsed = max((job.updated_at - job.started_at).total_seconds(), 0.0)
    rate = done / elapsed if elapsed > 0 else 0.0
    left = max(total - done, 0)
    ghl_rate = GHL_REQUESTS_PER_SECOND * connection.settings.backfill.burst_share
    eta = left / rate if rate > 0 else left / ghl_rate
    line = (
        f"backfill {job.job_id}: {job.status.value}, {job.phase.value}, {done} of {total or '?'} records, "
        f"{rate:.1f}/s, ETA {eta:.0f} s"
    )
    if job.status is JobStatus.PAUSED and job.paused_until is not None:
        line += f", paused until {job.paused_until.isoformat()}"
    return line


def resume_line(job: BackfillJob) -> str | None:
    """When a paused job resumes by itself, and how to resume it sooner; None: not paused."""
    if job.status is not JobStatus.PAUSED or job.paused_until is None:
        return None
    at = job.paused_until.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"resumes by itself at the first scheduled tick (hourly) after {at}, when GHL's daily "
        f"budget is back; `connections_cli backfill {job.connection_id}` resumes it now"
    )


def print_status(job: BackfillJob, connection: Connection, out: TextIO) -> None:
    out.write(progress_line(job, connection) + "\n")
    if (resuming := resume_line(job)) is not None:
        out.write(resuming + "\n")
    out.writelines(f"  {name} {n}\n" for name, n in sorted(job.counts.items()))
    out.writelines(f"  skipped {n}: {reason}\n" for reason, n in sorted(job.skipped.items()))


def run_backfill(
    connection: Connection,
    runner: BackfillRunner,
    jobs: JobStore,
    out: TextIO,
    err: TextIO,
    *,
    plan: bool,
    wait: bool,
    requeue: bool = False,
    poll: Callable[[], None] = lambda: time.sleep(5),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """0: planned, or the job finished (or was started, `wait` False); 1: paused (GHL's daily
    budget): the schedule resumes it after GHL's day resets (`status` says when)."""
    try:
        if plan:
            print_plan(runner.plan(connection), out)
            return 0
        job = runner.start(connection, requeue=requeue)
    except (BackfillRefused, JobRunning) as error:
        raise BackfillCliError(
            f"a backfill of {error} is running: see `status` (--requeue if its work item was lost)"
            if isinstance(error, JobRunning)
            else str(error)
        ) from error
    out.write(f"backfill {job.job_id} {job.status.value} for {connection.connection_id}\n")
    while wait:
        poll()
        current = jobs.get(connection.connection_id)
        if current is None or current.job_id != job.job_id:
            break
        err.write(progress_line(current, connection) + "\n")
        if current.status is not JobStatus.RUNNING:
            print_status(current, connection, out)
            return 0 if current.status is JobStatus.FINISHED else 1
    return 0
