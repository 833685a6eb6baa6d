"""Bulk sync (backfill) of a connection: list both sides once, match by identity, link the pairs,
create what is missing per the connection's direction; a job of pages on the sync queue
(`runner`), the page rules (`pages`, `matching`), the app index (`index`), the job row (`jobs`)."""
