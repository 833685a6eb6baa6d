"""RestClient: the one send loop every connector (and the GHL client) uses.

Around each call the loop:

- adds the default headers and lets the authenticator put its credentials on the request (a login
  the authenticator needs goes through this same loop, under the same deadline);
- asks each budget plug-in before every attempt (pacing, a daily quota) and shows it every response;
- tells each observer (metrics) of every attempt's response or transport failure;
- asks the error map about every response (a 2xx body can carry an error);
- when the authenticator says a refused credential can be renewed, renews it and sends again, once;
- retries with full jitter, a wait drawn in [0, min(cap, base * 2^attempt)]:
  * 429 for every method (the side did not act on it), waiting what `Retry-After` says (seconds or
    an HTTP date, read against the wall clock); a Retry-After beyond `max_retry_after_s` is not slept
    on: the error is raised so the queue retries later;
  * 5xx, read timeouts and resets only for requests marked retry-safe: GET, PUT, DELETE by default;
    a POST only when the caller says repeating it cannot duplicate anything (an idempotency key, an
    upsert, a search);
  * a connection that was never established (nothing was sent) for every method;
- stops retrying at `max_retries`, or when the next wait would end past the call's deadline
  (`deadline_s` from the start of the call), so a Lambda never sleeps past its budget.

Every secret the authenticator knows is redacted from every raised error and every log line.
Not thread-safe: one client per worker and tenant.
"""

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from ghlsync.core.errors import ConnectorError, RateLimited, ServerError, redact
from ghlsync.http.auth import Authenticator, NoAuth
from ghlsync.http.budget import Budget
from ghlsync.http.call import Call, CallObserver
from ghlsync.http.errors import ErrorClassifier, parse_retry_after

RETRY_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Raised before any byte of the request left: repeating cannot duplicate anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The request itself cannot be sent (a programming or configuration error): never retried.
_UNSENDABLE = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL)


class RetryLog(Protocol):
    """Where the retry warning goes: a stdlib logger or the project's Powertools Logger."""

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...


def segment(value: str, what: str) -> str:
    """One path segment, percent-encoded: ids come from webhooks and apps, so "../x" must stay one
    segment, and an empty id must not silently turn /contacts/{id} into the list endpoint."""
    if not value or not value.strip():
        raise ValueError(f"{what} must not be empty")
    return quote(value, safe="")


class RetryLimits(Protocol):
    """The retry limits an app's connection settings carry (Kayako's, Payaca's)."""

    @property
    def max_retries(self) -> int: ...
    @property
    def max_retry_after_s(self) -> float: ...
    @property
    def max_total_wait_s(self) -> float: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    # A Retry-After longer than this is raised instead of slept on.
    max_retry_after_s: float = 30.0
    # The most one call may take, waits included; None: bounded by max_retries alone.
    deadline_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")

    @classmethod
    def within(cls, limits: RetryLimits, *, backoff_base_s: float, backoff_cap_s: float) -> "RetryPolicy":
        """The policy of a connection's settings: its retries, Retry-After cap and total wait."""
        return cls(
            max_retries=limits.max_retries,
            backoff_base_s=backoff_base_s,
            backoff_cap_s=backoff_cap_s,
            max_retry_after_s=limits.max_retry_after_s,
            deadline_s=limits.max_total_wait_s,
        )

    def backoff(self, attempt: int, rng: Callable[[], float]) -> float:
        """Full jitter: a random share of min(cap, base * 2^attempt)."""
        return rng() * min(self.backoff_cap_s, self.backoff_base_s * 2**attempt)


class RestClient:
    def __init__(
        self,
        http: httpx.Client,
        *,
        base_url: str,
        errors: ErrorClassifier,
        authenticator: Authenticator | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        budgets: Sequence[Budget] = (),
        observers: Sequence[CallObserver] = (),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        name: str = "HTTP",
        log_context: Mapping[str, str] | None = None,
        log: RetryLog | None = None,
        retry_after_header: str = "retry-after",
    ) -> None:
        self._http = http
        self._retry_after_header = retry_after_header.lower()
        self._base_url = base_url.rstrip("/")
        self._errors = errors
        self.authenticator: Authenticator = authenticator if authenticator is not None else NoAuth()
        self._headers = dict(headers or {})
        self.retry = retry if retry is not None else RetryPolicy()
        self._budgets = tuple(budgets)
        self._observers = tuple(observers)
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng
        self._name = name
        self._log_context = dict(log_context or {})
        self._log: RetryLog = log if log is not None else logging.getLogger("ghlsync.http")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_safe: bool | None = None,
        authenticate: bool = True,
    ) -> httpx.Response:
        """Send one call (retries included) and return its successful response; raise the error
        map's error otherwise. `retry_safe` defaults to True for GET, HEAD, OPTIONS, PUT, DELETE."""
        call = Call(
            method=method,
            path=path,
            params=dict(params or {}),
            json=json,
            data=data,
            headers=dict(headers or {}),
            retry_safe=method in RETRY_SAFE_METHODS if retry_safe is None else retry_safe,
        )
        deadline = None if self.retry.deadline_s is None else self._clock() + self.retry.deadline_s
        return self._exchange(call, deadline, authenticate=authenticate)

    def url(self, path: str) -> str:
        if path.startswith(("https://", "http://")):
            return path
        return f"{self._base_url}/{path.lstrip('/')}"

    def _exchange(self, call: Call, deadline: float | None, *, authenticate: bool) -> httpx.Response:
        def send_unauthenticated(inner: Call) -> httpx.Response:
            return self._exchange(inner, deadline, authenticate=False)

        attempt = 0
        renewed = False
        while True:
            outgoing = call.copy()
            outgoing.headers = {**self._headers, **outgoing.headers}
            if authenticate:
                self.authenticator.apply(outgoing, send_unauthenticated)
            for budget in self._budgets:
                budget.before_request()
            try:
                response = self._http.request(
                    outgoing.method,
                    self.url(outgoing.path),
                    params=outgoing.params or None,
                    json=outgoing.json,
                    data=outgoing.data,
                    headers=outgoing.headers,
                )
            except _UNSENDABLE as exc:
                raise self._scrub(
                    self._errors.unsendable(f"{call.method} {call.path} cannot be sent: {exc}")
                ) from None
            except httpx.TransportError as exc:
                sent = not isinstance(exc, _NOT_SENT)
                error = self._scrub(
                    self._errors.transport_error(
                        f"{call.method} {call.path} failed: {type(exc).__name__}: {exc}", request_sent=sent
                    )
                )
                self._observe(call, None, error)
                if call.retry_safe or not sent:
                    wait = self.retry.backoff(attempt, self._rng)
                    if self._may_wait(attempt, wait, deadline):
                        self._back_off(call, attempt, error, wait)
                        attempt += 1
                        continue
                raise error from None

            for budget in self._budgets:
                budget.after_response(response)
            found = self._errors.error_for(response)
            self._observe(call, response, found)
            if found is None:
                return response
            error = self._scrub(found)
            if authenticate and not renewed and self.authenticator.renew(outgoing, error):
                renewed = True
                continue
            retry_wait = self._retry_wait(call, response, error, attempt)
            if retry_wait is not None and self._may_wait(attempt, retry_wait, deadline):
                self._back_off(call, attempt, error, retry_wait)
                attempt += 1
                continue
            raise error

    def _observe(self, call: Call, response: httpx.Response | None, error: ConnectorError | None) -> None:
        for observer in self._observers:
            observer.observed(call, response, error)

    def _retry_wait(
        self, call: Call, response: httpx.Response, error: ConnectorError, attempt: int
    ) -> float | None:
        """How long to wait before repeating this answered call, or None when it must not be."""
        if isinstance(error, RateLimited):
            header = parse_retry_after(response.headers.get(self._retry_after_header), now=self._wall_clock())
            if header is not None:
                error.retry_after = header
            if error.retry_after is None:
                return self.retry.backoff(attempt, self._rng)
            if error.retry_after > self.retry.max_retry_after_s:
                return None  # waiting that long wastes the invocation; the queue retries later
            return error.retry_after
        if isinstance(error, ServerError) and call.retry_safe:
            return self.retry.backoff(attempt, self._rng)
        return None

    def _may_wait(self, attempt: int, wait: float, deadline: float | None) -> bool:
        if attempt >= self.retry.max_retries:
            return False
        return deadline is None or self._clock() + wait <= deadline

    def _scrub(self, error: ConnectorError) -> ConnectorError:
        error.redact_secrets(*self.authenticator.secrets())
        return error

    def _back_off(self, call: Call, attempt: int, error: ConnectorError, delay: float) -> None:
        self._log.warning(
            f"{self._name} request failed; retrying",
            extra={
                "method": call.method,
                "path": redact(call.path, *self.authenticator.secrets()),
                "status": error.status,
                "error": type(error).__name__,
                "attempt": attempt + 1,
                "delay_s": round(delay, 3),
                **self._log_context,
            },
        )
        self._sleep(delay)
