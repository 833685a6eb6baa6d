"""What the engine reports for one change event, and the two ways it can fail.

The worker maps these onto SQS: an Outcome deletes the message; TransientSyncError leaves it on
the queue for another attempt (and, after maxReceiveCount, the DLQ); PermanentSyncError sends it
to the DLQ at once with the reason attached.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class Decision(StrEnum):
    APPLIED = "applied"
    ECHO = "echo"  # our own write coming back: dropped, counted as echo_suppressed
    CONFLICT = "conflict"  # both sides changed a field inside the skew window: hub value kept
    SKIPPED = "skipped"  # out of order, unsupported entity, inactive tenant, ... (reason says which)
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    reason: str = ""
    writes: int = 0  # API calls that changed something on either side
    fields_changed: frozenset[str] = field(default_factory=frozenset)


class SyncError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientSyncError(SyncError):
    """Worth retrying: 429, 5xx, timeouts, a lease held by someone else."""


class PermanentSyncError(SyncError):
    """Retrying cannot fix it: a 4xx other than 429, a mapping that cannot be applied."""
