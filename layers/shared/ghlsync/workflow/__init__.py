"""The workflow API: apps that hold no GHL token load a contact bundle and act on its tasks and notes.

`service.WorkflowApi` is the domain (auth, contact resolution, the bundle, the writes and the links
they leave); `keys`, `bundle` and `requests` are its pure rules; `errors` the answers it can give.
The handler (functions/workflow_api) only parses the request and maps `errors` to HTTP.
"""
