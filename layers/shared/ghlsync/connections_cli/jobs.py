"""`connections_cli bulk-sync | refresh` (the resumable contact jobs, run in this process) and
`backfill | status` (a job in AWS, ghlsync.backfill.cli), with their progress on `err`."""

import argparse
import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TextIO

from ghlsync.connections_cli.common import CliError, connection_or_error
from ghlsync.store.connections import ConnectionStore

if TYPE_CHECKING:
    from ghlsync.bulk_sync import BulkSync


def bulk_sync(
    args: argparse.Namespace, store: ConnectionStore, out: TextIO, err: TextIO, now: Callable[[], datetime]
) -> int:
    """Runs the job (ghlsync.bulk_sync) in this process with the caller's AWS credentials; exit
    status 0 when it finished, 1 when it stopped early (quota spent, a failure): run it again."""
    from ghlsync.bulk_sync import BulkSync

    return _contact_job(BulkSync, args, store, out, err, now)


def refresh(
    args: argparse.Namespace, store: ConnectionStore, out: TextIO, err: TextIO, now: Callable[[], datetime]
) -> int:
    """The connection's business-enriched refresh (ghlsync.refresh) in this process."""
    from ghlsync.refresh import BusinessRefresh

    return _contact_job(BusinessRefresh, args, store, out, err, now)


def _contact_job(
    job_class: "type[BulkSync]",
    args: argparse.Namespace,
    store: ConnectionStore,
    out: TextIO,
    err: TextIO,
    now: Callable[[], datetime],
) -> int:
    from ghlsync.bulk_sync import BulkSyncRefused, Stop
    from ghlsync.store.checkpoints import CheckpointStore
    from ghlsync.store.dynamo import sync_table
    from ghlsync.sync import wiring

    connection = connection_or_error(store, args.connection_id)
    if not connection.active:
        raise CliError(f"connection {args.connection_id} is {connection.status.value}")
    connectors = wiring.default_connectors()
    report = None if args.json else partial(_report_progress, err, args.command)
    try:
        job = job_class(
            connection,
            engine=wiring.default_engine(),
            hub=connectors.hub_for(connection),
            app=connectors.app_for(connection),
            checkpoints=CheckpointStore(sync_table()),
            now=now,
            report=report,
            page_size=args.page_size,
        )
        with _lambda_output_to(err):
            stop, progress, message = job.run(tag=getattr(args, "tag", None), restart=args.restart)
    except BulkSyncRefused as refused:
        raise CliError(str(refused)) from refused
    if args.json:
        summary = {"status": stop.value, "message": message, **progress.model_dump(mode="json")}
        out.write(json.dumps(summary, sort_keys=True) + "\n")
    else:
        out.write(f"{message}\n")
        out.write(f"  synced {progress.synced}, unchanged {progress.unchanged}, failed {progress.failed}\n")
        out.writelines(f"  skipped {count}: {reason}\n" for reason, count in sorted(progress.skipped.items()))
    return 0 if stop is Stop.FINISHED else 1


def backfill(args: argparse.Namespace, store: ConnectionStore, out: TextIO, err: TextIO) -> int:
    """`backfill` and `status` (ghlsync.backfill.cli)."""
    from ghlsync.backfill import cli
    from ghlsync.backfill.jobs import JobStore
    from ghlsync.backfill.service import default_runner
    from ghlsync.store.dynamo import sync_table

    connection = connection_or_error(store, args.connection_id)
    jobs = JobStore(sync_table())
    if args.command == "status":
        job = jobs.get(connection.connection_id)
        if job is None:
            out.write(f"no backfill of {connection.connection_id} yet\n")
            return 0
        cli.print_status(job, connection, out)
        return 0
    try:
        with _lambda_output_to(err):
            return cli.run_backfill(
                connection,
                default_runner(),
                jobs,
                out,
                err,
                plan=args.plan,
                wait=not args.no_wait,
                requeue=args.requeue,
            )
    except cli.BackfillCliError as error:
        raise CliError(str(error)) from error


@contextmanager
def _lambda_output_to(err: TextIO) -> Iterator[None]:
    """While the job runs here: the engine's warnings on `err`, its info logs and EMF metric lines
    (for CloudWatch, which a terminal is not) nowhere, so stdout holds only the summary."""
    from ghlsync.observability import logger

    handler = logger.registered_handler
    stream = handler.setStream(err) if isinstance(handler, logging.StreamHandler) else None
    level = logger.log_level
    logger.setLevel(logging.WARNING)
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
        if stream is not None and isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)


def _report_progress(err: TextIO, job: str, progress: Any, rate: float) -> None:
    total = progress.total if progress.total is not None else "?"
    skipped = sum(progress.skipped.values())
    err.write(
        f"{job}: {progress.done} of {total} contacts (synced {progress.synced}, "
        f"skipped {skipped}, failed {progress.failed}), {rate:.1f}/s\n"
    )
    err.flush()
