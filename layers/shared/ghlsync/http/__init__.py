"""The one HTTP plumbing every connector and the GHL client use (imports only ghlsync.core).

client (RestClient, RetryPolicy, segment), call (Call, Send), auth (authenticators), errors
(error maps), paging (paginators with loop guards), verify (webhook verifiers), budget (pacing
plug-ins, DailyQuota). Import from the submodules: this package imports nothing on its own, so a
Lambda loads only what it uses.
"""
