"""The sync engine: identity, shadows and echo suppression, conflicts, tag deltas."""
