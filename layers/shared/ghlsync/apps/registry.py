"""Which connector serves a connection: `connector_for(connection, *, http, secrets)`.

The connection's `app` picks the connector; its non-secret settings (`settings.app`) configure it
and its credentials come from `secrets` (Secrets Manager in production, via
`ghlsync.store.connections.ConnectionSecrets`). This module only needs the shape of a connection
and of a credential source, not the stores, so apps/ keeps depending on nothing above it.
"""

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from ghlsync.apps.base import Connector


class _Settings(Protocol):
    @property
    def app(self) -> Mapping[str, Any]: ...


class ConnectionSpec(Protocol):
    @property
    def connection_id(self) -> str: ...
    @property
    def location_id(self) -> str: ...
    @property
    def app(self) -> str: ...
    @property
    def settings(self) -> _Settings: ...


class CredentialSource(Protocol):
    def credentials(self, connection_id: str) -> dict[str, Any]: ...


class UnknownApp(LookupError):
    def __init__(self, app: str) -> None:
        super().__init__(f"no connector for app {app!r}; known: {', '.join(sorted(CONNECTORS))}")
        self.app = app


def _kayako(
    connection: ConnectionSpec,
    http: httpx.Client,
    secrets: CredentialSource,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Connector:
    from ghlsync.apps.kayako import KayakoConnector, KayakoCredentials, KayakoSettings

    return KayakoConnector(
        http,
        KayakoSettings.model_validate(dict(connection.settings.app)),
        secret=KayakoCredentials.model_validate(secrets.credentials(connection.connection_id)),
        location_id=connection.location_id,
        connection_id=connection.connection_id,
        sleep=sleep,
        clock=clock,
    )


CONNECTORS: dict[str, Callable[..., Connector]] = {"kayako": _kayako}


def validate_app_config(app: str, settings: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
    """Raise ValueError (pydantic's ValidationError) unless the app's connector accepts both."""
    if app not in CONNECTORS:
        raise UnknownApp(app)
    if app == "kayako":
        from ghlsync.apps.kayako import KayakoCredentials, KayakoSettings

        KayakoSettings.model_validate(dict(settings))
        KayakoCredentials.model_validate(dict(credentials))


def connector_for(
    connection: ConnectionSpec,
    *,
    http: httpx.Client,
    secrets: CredentialSource,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Connector:
    build = CONNECTORS.get(connection.app)
    if build is None:
        raise UnknownApp(connection.app)
    return build(connection, http, secrets, sleep, clock)
