"""Which connector serves a connection: `connector_for(connection, *, http, secrets)`.

Every app is one `ConnectorSpec` exported as `SPEC` by its package (`ghlsync.apps.<app>`).
The registry knows only the package names and imports a package the first time a connection of
that app needs it, so a Lambda that serves Kayako never loads another app's code (cold start).

The connection's `app` picks the spec; its non-secret settings (`settings.app`) configure the
connector and its credentials come from `secrets` (Secrets Manager in production, via
`ghlsync.store.connections.ConnectionSecrets`). This module only needs the shape of a connection
and of a credential source, not the stores, so apps/ keeps depending on nothing above it.
"""

import importlib
import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Protocol

import httpx

from ghlsync.apps.base import Connector
from ghlsync.apps.spec import ConnectionShape, ConnectorSpec, RotatingCredentials

# app name -> the package that exports its SPEC. Adding an app is one line here.
APP_PACKAGES: Mapping[str, str] = {
    "ekyte": "ghlsync.apps.ekyte",
    "kayako": "ghlsync.apps.kayako",
    "kixie": "ghlsync.apps.kixie",
    "payaca": "ghlsync.apps.payaca",
    "generic": "ghlsync.apps.generic",
}


class CredentialSource(Protocol):
    def credentials(self, connection_id: str) -> dict[str, Any]: ...


def _persist_to(secrets: CredentialSource, connection_id: str) -> Callable[[dict[str, str]], None]:
    """How changed credentials reach `secrets` (ConnectionSecrets.update_credentials)."""

    def persist(changes: dict[str, str]) -> None:
        update = getattr(secrets, "update_credentials", None)
        if update is None:
            raise TypeError(f"{type(secrets).__name__} cannot store a rotated credential")
        update(connection_id, changes)

    return persist


class UnknownApp(LookupError):
    def __init__(self, app: str) -> None:
        super().__init__(f"no connector for app {app!r}; known: {', '.join(app_names())}")
        self.app = app


def app_names() -> tuple[str, ...]:
    """Every app a connection may name, sorted."""
    return tuple(sorted(APP_PACKAGES))


@cache
def spec_for(app: str) -> ConnectorSpec:
    """The app's spec, importing its package on first use; UnknownApp for any other name."""
    package = APP_PACKAGES.get(app)
    if package is None:
        raise UnknownApp(app)
    spec = importlib.import_module(package).SPEC
    if not isinstance(spec, ConnectorSpec) or spec.name != app:
        raise TypeError(f"{package}.SPEC must be the ConnectorSpec named {app!r}")
    return spec


def validate_app_config(app: str, settings: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
    """Raise ValueError (pydantic's ValidationError) unless the app's connector accepts both."""
    spec = spec_for(app)
    spec.validate_settings(settings)
    spec.validate_credentials(credentials)


def connector_for(
    connection: ConnectionShape,
    *,
    http: httpx.Client,
    secrets: CredentialSource,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Connector:
    spec = spec_for(connection.app)
    credentials: Any = spec.validate_credentials(secrets.credentials(connection.connection_id))
    if spec.rotating_credentials:
        credentials = RotatingCredentials(credentials, _persist_to(secrets, connection.connection_id))
    return spec.build(connection, http, credentials, sleep, clock)
