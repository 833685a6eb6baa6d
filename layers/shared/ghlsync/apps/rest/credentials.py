"""A REST app's credentials, and the authenticator and budgets its spec asks for.

The credential fields are fixed; which of them a connection needs follows from its spec's auth
(`needed_credentials`): `connections_cli create` asks for exactly those, and the connector refuses
a connection whose secret lacks one.
"""

import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ghlsync.apps.rest.model import (
    ApiKeyAuthSpec,
    AppSpec,
    BasicAuthSpec,
    BearerAuthSpec,
    ClientCredentialsAuthSpec,
    RefreshTokenAuthSpec,
)
from ghlsync.http.auth import (
    ApiKeyAuth,
    Authenticator,
    BasicAuth,
    BearerAuth,
    ClientCredentialsAuth,
    RefreshTokenAuth,
)
from ghlsync.http.budget import Budget, DailyQuota, HeaderPacer, RequestPacer

WEBHOOK_SECRET = "webhook_secret"


class RestCredentials(BaseModel):
    """The connection secret of a REST app: the auth's credential and the webhook secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr | None = Field(default=None, min_length=1)
    api_key: SecretStr | None = Field(default=None, min_length=1)
    password: SecretStr | None = Field(default=None, min_length=1)
    client_secret: SecretStr | None = Field(default=None, min_length=1)
    refresh_token: SecretStr | None = Field(default=None, min_length=1)
    webhook_secret: SecretStr | None = Field(default=None, min_length=8)


def needed_credentials(spec: AppSpec) -> frozenset[str]:
    """The credential fields a connection with `spec` must have."""
    match spec.auth:
        case BearerAuthSpec():
            needed = {"token"}
        case ApiKeyAuthSpec():
            needed = {"api_key"}
        case BasicAuthSpec():
            needed = {"password"}
        case ClientCredentialsAuthSpec():
            needed = {"client_secret"}
        case RefreshTokenAuthSpec():
            needed = {"refresh_token"}
    if spec.inbound.webhooks is not None:
        needed.add(WEBHOOK_SECRET)
    return frozenset(needed)


class MissingCredential(ValueError):
    """The connection secret lacks a credential the spec's auth needs."""


def _secret(credentials: RestCredentials, name: str) -> str:
    value = getattr(credentials, name)
    if value is None:
        raise MissingCredential(f"the connection secret has no {name}, which this spec's auth needs")
    return str(value.get_secret_value())


class _StaticToken:
    """A TokenSource of one token: a rejection cannot be renewed."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self, location_id: str) -> str:
        return self._token

    def token_rejected(self, location_id: str, token: str) -> None:
        return None


def authenticator_for(
    spec: AppSpec,
    credentials: RestCredentials,
    *,
    persist: Callable[[dict[str, str]], None],
    wall_clock: Callable[[], float] = time.time,
) -> Authenticator:
    """`persist` stores changed credential fields (a rotated refresh token) in the connection's
    secret before they are used."""
    auth = spec.auth
    match auth:
        case BearerAuthSpec():
            return BearerAuth(_StaticToken(_secret(credentials, "token")), "app")
        case ApiKeyAuthSpec():
            return ApiKeyAuth(auth.name, _secret(credentials, "api_key"), places=(auth.place,))
        case BasicAuthSpec():
            return BasicAuth(auth.username, _secret(credentials, "password"))
        case ClientCredentialsAuthSpec():
            return ClientCredentialsAuth(
                auth.token_url,
                auth.client_id,
                _secret(credentials, "client_secret"),
                scope=auth.scope,
                credentials_in_body=auth.credentials_in_body,
                wall_clock=wall_clock,
            )
        case RefreshTokenAuthSpec():
            secret = credentials.client_secret
            return RefreshTokenAuth(
                auth.token_url,
                auth.client_id,
                _secret(credentials, "refresh_token"),
                persist=lambda rotated: persist({"refresh_token": rotated}),
                client_secret=None if secret is None else secret.get_secret_value(),
                scope=auth.scope,
                wall_clock=wall_clock,
            )


def budgets_for(
    spec: AppSpec,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    wall_clock: Callable[[], float],
) -> list[Budget]:
    limits = spec.rate_limits
    budgets: list[Budget] = []
    if limits.requests_per_second is not None:
        budgets.append(RequestPacer(limits.requests_per_second, sleep=sleep, clock=clock))
    if limits.remaining_header is not None:
        budgets.append(
            HeaderPacer(
                limits.remaining_header,
                limits.reset_header,
                max_wait_s=limits.max_retry_after_s,
                sleep=sleep,
                wall_clock=wall_clock,
                app=spec.name,
            )
        )
    if limits.daily_quota is not None:
        budgets.append(DailyQuota(limits.daily_quota, wall_clock=wall_clock, app=spec.name))
    return budgets
