"""GHL's failures as the workflow API's answers (one mapping, for reads and writes alike).

| GHL / the client says | answer |
|-----------------------|--------|
| not found (404, or GHL's 400 "not found") | 404 |
| 403 "the token does not have access to this location" | 404: another location's record |
| 401 missing scope | 403: the token lacks the scope (read-only install) |
| 401 otherwise (after the client's one token refresh) | 502: the stack's token is broken |
| 422 | 422 with GHL's messages |
| 429 after the client's retries | 429 with `Retry-After` (GHL's, else DEFAULT_RETRY_AFTER_S) |
| 5xx, timeouts, unexpected bodies | 502 |
"""

import math
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from ghlsync.core.errors import ConnectorError, Forbidden, NotFound, RateLimited, Validation
from ghlsync.ghl.errors import GhlUnauthorized
from ghlsync.workflow import errors

DEFAULT_RETRY_AFTER_S = 10


@contextmanager
def ghl_answers(*, write: bool, missing: str) -> Iterator[None]:
    """GHL's failures as the workflow API's answers."""
    try:
        yield
    except NotFound:
        raise errors.NotFound(missing) from None
    except RateLimited as limited:
        retry_after = max(1, math.ceil(limited.retry_after or DEFAULT_RETRY_AFTER_S))
        raise errors.RateLimited(
            "GHL's request budget for this location is spent; retry later", retry_after=retry_after
        ) from None
    except Forbidden:
        # GHL's 403 is "the token does not have access to this location": for a location-scoped
        # token that is a record of another location, answered as not found (never leak existence).
        raise errors.NotFound(missing) from None
    except GhlUnauthorized as refused:
        if refused.kind == "missing_scope":
            raise errors.WritesRefused(
                "GHL refused the call: this location's token lacks the scope for it "
                "(contacts.write for writes); nothing was written"
            ) from None
        raise errors.Unavailable("GHL refused the stack's token for this location") from None
    except Validation as invalid:
        raise errors.Unprocessable(f"GHL refused the values: {'; '.join(invalid.messages)}") from None
    except (ConnectorError, httpx.HTTPError):
        raise errors.Unavailable(
            "GHL did not answer in time; nothing is known to be written, retry later"
            if write
            else "GHL did not answer in time; retry later"
        ) from None
