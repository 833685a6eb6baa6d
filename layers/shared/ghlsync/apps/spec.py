"""ConnectorSpec: everything the stack needs to know about one app, declared in one object.

Each app package (`ghlsync.apps.<app>`) exports `SPEC`. The registry builds connectors from it,
`connections_cli create` asks for exactly its credentials and prints its routes, and
`connections_cli check` reads its capabilities. Nothing here imports an app: this module only
describes the shape, so the registry can load an app package when a connection needs it.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, get_args
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, SecretStr

from ghlsync.apps.base import Capabilities, Connector


class _Settings(Protocol):
    @property
    def app(self) -> Mapping[str, Any]: ...


class ConnectionShape(Protocol):
    """What a connector needs of a connection row (apps/ knows nothing of the stores)."""

    @property
    def connection_id(self) -> str: ...
    @property
    def location_id(self) -> str: ...
    @property
    def app(self) -> str: ...
    @property
    def settings(self) -> _Settings: ...


@dataclass(frozen=True)
class InboundRoute:
    """An HTTP route of the stack that the app calls, and how the app proves it is the app.

    `path` is a template with `{connectionId}`. The shared secret is the credential field
    `secret_field`, presented in the query parameter `query_param` and/or the header `header`
    (either is accepted); `secret_field=None` means the route carries no shared secret (it is
    signed, or public by nature).
    """

    method: str
    path: str
    purpose: str
    secret_field: str | None = None
    query_param: str | None = None
    header: str | None = None

    def path_for(self, connection_id: str) -> str:
        return self.path.replace("{connectionId}", connection_id)

    def url_for(self, api_url: str, connection_id: str, secret: str | None) -> str:
        """The URL to paste into the app: the secret rides in the query when the route takes it
        there (apps that can only be given a URL), otherwise the app must send `header`."""
        url = api_url.rstrip("/") + self.path_for(connection_id)
        if self.query_param and secret is not None:
            url += "?" + urlencode({self.query_param: secret})
        return url


def _holds_secret(annotation: Any) -> bool:
    """`SecretStr`, or a union/optional that contains it."""
    return annotation is SecretStr or any(_holds_secret(arg) for arg in get_args(annotation))


# (connection, http, validated credentials, sleep, clock) -> the connector serving that connection
BuildConnector = Callable[
    [ConnectionShape, httpx.Client, Any, Callable[[float], None], Callable[[], float]], Connector
]


# (the new connection's connector, the stack's API URL) -> lines for the operator. Run by
# `connections_cli create` before anything is stored, for apps whose webhooks are registered
# through their own API (Kixie): it must be idempotent (a repeat updates, never duplicates).
AfterCreate = Callable[[Connector, str], Sequence[str]]


class _ConnectorClass(Protocol):
    """A connector built the apps' usual way (Kayako, Payaca): settings model plus credentials."""

    def __call__(
        self,
        http: httpx.Client,
        settings: Any,
        *,
        secret: Any,
        location_id: str,
        connection_id: str,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> Connector: ...


def connector_builder(connector: _ConnectorClass, settings_model: type[BaseModel]) -> BuildConnector:
    """The `build` of a spec whose connector takes the connection's validated settings and its
    credentials, location and connection ids, sleep and clock."""

    def build(
        connection: ConnectionShape,
        http: httpx.Client,
        credentials: Any,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> Connector:
        app = dict(connection.settings.app)
        # The connection's region for national phone numbers also holds for an app that reads
        # numbers itself (Kixie's PowerList keys), unless its own settings name another.
        country = getattr(connection.settings, "default_country", None)
        if "default_country" in settings_model.model_fields and "default_country" not in app and country:
            app["default_country"] = country
        return connector(
            http,
            settings_model.model_validate(app),
            secret=credentials,
            location_id=connection.location_id,
            connection_id=connection.connection_id,
            sleep=sleep,
            clock=clock,
        )

    return build


@dataclass(frozen=True)
class RotatingCredentials:
    """What `build` receives for a spec with `rotating_credentials`: the validated credentials and
    `persist`, which stores changed fields (a rotated refresh token) in the connection's secret
    before they are used."""

    values: Any
    persist: Callable[[dict[str, str]], None]


# (the connection's non-secret settings) -> the credential fields it needs; None: all of them.
CredentialsNeeded = Callable[[Mapping[str, Any]], frozenset[str]]


@dataclass(frozen=True)
class ConnectorSpec:
    """One app, described.

    - `settings_model` validates the connection's non-secret `settings.app`;
    - `credentials_model` validates the connection secret; its `SecretStr` fields are secret;
    - `generated_credentials` are made by `connections_cli create` (random tokens the operator
      pastes into the app); every other credential field is asked of the operator;
    - `build` receives the credentials already validated by `credentials_model`;
    - `setup` tells the operator, in a few lines, what to configure in the app;
    - `after_create` registers the connection with the app itself (its webhooks), when the app
      lets an API do what `setup` would otherwise ask of the operator;
    - `credentials_needed` narrows the credential fields to those a connection's settings need
      (the generic connector: its spec's auth decides); it raises ValueError on invalid settings;
    - `rotating_credentials`: `build` receives `RotatingCredentials`, to store a rotated token;
    - `refresh_every`: for an app refreshed on a schedule (`ghlsync.refresh`), how often, in
      seconds, from the connection's `settings.app` (None: that connection turned it off).
    """

    name: str
    settings_model: type[BaseModel]
    credentials_model: type[BaseModel]
    capabilities: Capabilities
    build: BuildConnector
    webhooks: tuple[InboundRoute, ...] = ()
    lookups: tuple[InboundRoute, ...] = ()
    generated_credentials: frozenset[str] = frozenset()
    setup: str = ""
    after_create: AfterCreate | None = None
    credentials_needed: CredentialsNeeded | None = None
    rotating_credentials: bool = False
    refresh_every: Callable[[Mapping[str, Any]], float | None] | None = None

    def __post_init__(self) -> None:
        fields = set(self.credentials_model.model_fields)
        unknown = self.generated_credentials - fields
        if unknown:
            raise ValueError(
                f"{self.name}: generated credentials {sorted(unknown)} are not credential fields"
            )
        for route in (*self.webhooks, *self.lookups):
            if route.secret_field is not None and route.secret_field not in fields:
                raise ValueError(
                    f"{self.name}: route {route.path} names unknown secret {route.secret_field!r}"
                )

    @property
    def secret_credentials(self) -> frozenset[str]:
        """Credential fields typed `SecretStr`: never echoed, prompted without echo, never argv."""
        return frozenset(
            name
            for name, field in self.credentials_model.model_fields.items()
            if _holds_secret(field.annotation)
        )

    @property
    def asked_credentials(self) -> tuple[str, ...]:
        """The credential fields the operator supplies, in the model's order."""
        return tuple(
            name for name in self.credentials_model.model_fields if name not in self.generated_credentials
        )

    def credential_fields(self, settings: Mapping[str, Any]) -> tuple[tuple[str, ...], frozenset[str]]:
        """(asked, generated) credential fields for a connection with these settings."""
        if self.credentials_needed is None:
            return self.asked_credentials, self.generated_credentials
        needed = self.credentials_needed(settings)
        asked = tuple(name for name in self.asked_credentials if name in needed)
        return asked, self.generated_credentials & needed

    def validate_settings(self, settings: Mapping[str, Any]) -> BaseModel:
        return self.settings_model.model_validate(dict(settings))

    def validate_credentials(self, credentials: Mapping[str, Any]) -> BaseModel:
        return self.credentials_model.model_validate(dict(credentials))
