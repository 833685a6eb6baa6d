"""The bottom layer: shapes every other package shares, importing nothing of the project.

`EntityKind`, the queued `ChangeEvent`, the connector error family and the webhook rejections live
here so that `ghl/`, `apps/`, `mapping/` and `http/` can all speak them without importing each
other (DESIGN §3: dependencies point one way, and this is where they end).
"""
