"""The scheduled sweep: convergence for what webhooks missed (DESIGN §2, §4 rule 6).

Webhooks give latency; sweeps give convergence. Every run, for each active connection of an
active tenant:

1. Change feeds. GHL (`GhlHub.list_changes`: contacts by `dateUpdated`, oldest first) and the app
   (`list_changes`, when its capabilities declare a change feed) are read from the feed's
   checkpoint. Each change is compared with the link's shadow: one the shadow already reflects
   (same or older source timestamp, or a tombstoned link) is skipped; the rest are enqueued on the
   sync FIFO queue as the connector produced them. Their event ids are stable for the same
   (side, entity, id, updated_at), so a repeat within 5 minutes is dropped by FIFO deduplication
   and a later one is a no-op for the engine (stale / echo).
2. Checkpoints. A checkpoint is the instant the next read starts from, and only moves forward;
   it is written only after every enqueue before it succeeded. After a feed was read to its end
   it moves to the newest change seen minus the overlap (default 2 minutes: clock skew between
   servers, and GHL's search index, which can show a change a few seconds late). At most
   `SWEEP_MAX_EVENTS_PER_FEED` changes are enqueued per feed and run; the next run starts at the
   oldest change left over (an ordered feed, GHL's, stops reading there; an unordered one, an
   app's, is read to its end to find it). A feed cut short by the time budget resumes after the
   last change handled if it is ordered, and does not move if not (unseen changes may be older
   than the ones seen). A connection without a checkpoint is read from its creation.
   A feed that sees only a bounded window (`ChangeFeed.window`; eKyte: the last 15 minutes) whose
   checkpoint is older than the window has a gap: it is reported (`feed_gaps`, metric
   `SweepFeedGaps`, a warning naming the interval) and, when the connector offers a full listing,
   recovered by reading every record changed since the checkpoint through it (the checkpoint then
   moves to the listing's start); without one, the window is read and the gap stays in the report
   for an operator (a backfill). A windowed feed read to its end moves to the read's start minus
   the overlap even when it showed nothing, so a quiet feed never drifts out of its window.
   A connector whose feed asks for a scheduled full pass (`ChangeFeed.full_pass_every`; the
   generic connector's `rules.full_pass`) gets one more feed, `app#full`, on the runs at least that
   cadence after the last complete pass: its full listing from the epoch, each record enqueued
   unless its link already reflects it, under the same bounds (a pass cut short runs again).
3. GHL tasks. GHL keeps no modification time for tasks and sends no TaskUpdate webhook, so the
   hub's `snapshot_feed` (the location-wide task search, `GHL_TASK_SEARCH`) lists the open tasks
   and each one whose content differs from its link's shadow is enqueued (`ghlsync.sweep.feeds`);
   with the search off, the task lists of `SWEEP_TASK_LISTS_PER_RUN` linked contacts are read per
   run in rotation instead.
4. Deletes no webhook reported (`ghlsync.sweep.deletes`): a diff of full id listings against the
   links once per `delete_scan_hours` (a connection setting, default daily) for the kinds a side
   can list, and a bounded rotation of link reads only for the kinds it cannot (notes; every kind
   of an app without id listings), which skips the app-side read of a record the app's feed showed
   in the same run (GHL's search index lags, so GHL is still read). The engine
   confirms a DELETE by a fresh read and applies the connection's delete policy, leaving a
   tombstone.

Cost of a quiet run: the change feeds' calls only (one page per timestamped feed, the pages of
open GHL tasks), plus the rotation's reads where a kind cannot be listed and has links; the delete
diff's listings come once per period.

Bounds: the Lambda's remaining time (minus `SWEEP_RESERVE_SECONDS`) is checked before each change
is pulled from a feed (a page is fetched only when a change is pulled) and before each link check
or listed record;
each feed enqueues at most `SWEEP_MAX_EVENTS_PER_FEED` changes per run; connections left when time
runs out are counted as `not_reached`. A connection whose feed or check fails (app
down, token missing) is reported in `failed` with the stage and the error; the others go on.
"""

from ghlsync.sweep.deletes import DELETES_CURSOR
from ghlsync.sweep.feeds import APP_FEED, APP_FULL_PASS, GHL_FEED
from ghlsync.sweep.model import Deadline, Queue, SweepSettings, SweepSummary, delete_event_id
from ghlsync.sweep.runner import Sweeper, build_sweeper, default_sweeper

__all__ = [
    "APP_FEED",
    "APP_FULL_PASS",
    "DELETES_CURSOR",
    "GHL_FEED",
    "Deadline",
    "Queue",
    "SweepSettings",
    "SweepSummary",
    "Sweeper",
    "build_sweeper",
    "default_sweeper",
    "delete_event_id",
]
