"""The one stack-setup path of World and `make dev`: a GHL location, and one connection per app.

    setup = StackSetup(table, secrets_client, token_secret_prefix=..., connection_secret_prefix=...)
    setup.add_location(location_id, token, installed_at=now)
    connection = setup.add_connection(location_id, AppConnection("kayako", settings, credentials))

What an operator does after `sam deploy`, in the same order and through the same layer code:
the location's private-integration token goes to its token secret and the tenant row is
registered (as the dev stack documents); each connection is made as `python -m
ghlsync.connections_cli create` makes it: the app's settings and credentials validated by the app's
connector (`validate_app_config`), the secret written first, then the connection row (a row is never
without its secret); a connection given a `workflow_api_key` gets it as `connections_cli` issues
keys. Aiming each app's webhooks at the connection is the caller's next step
(`AppSandbox.register_webhooks`, or instructions for a real service).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from ghlsync.store.connections import Connection

# The layer is imported when a StackSetup is made, not with this module: the dev stack imports the
# layer afresh after its cold start (sandbox.stack.functions.cold_start), and objects of an earlier
# import must not be mixed with it.


@dataclass(frozen=True)
class AppConnection:
    """One connection to create: what `connections_cli create` is given."""

    app: str
    settings: dict[str, Any]
    credentials: dict[str, str]
    connection_id: str | None = None  # None: a new random id, as the CLI makes
    sync_settings: dict[str, Any] = field(default_factory=dict)  # conflict policy, skew...
    # The connection's workflow-API key (a fixed dev fixture); None: the connection gets none.
    workflow_api_key: str | None = None


class StackSetup:
    def __init__(
        self, table: "Table", secrets_client: Any, *, token_secret_prefix: str, connection_secret_prefix: str
    ) -> None:
        from ghlsync.store.connections import ConnectionSecrets, ConnectionStore
        from ghlsync.store.tenants import TenantStore
        from ghlsync.store.tokens import TokenStore

        self.tokens = TokenStore(secrets_client, token_secret_prefix)
        self.tenants = TenantStore(table)
        self.connections = ConnectionStore(table)
        self.connection_secrets = ConnectionSecrets(secrets_client, connection_secret_prefix)

    def add_location(self, location_id: str, token: str, *, installed_at: datetime) -> None:
        """A location on a private-integration token: its token secret, then its tenant row."""
        from ghlsync.store.tenants import AuthKind, Tenant
        from ghlsync.store.tokens import PrivateIntegrationToken

        self.tokens.put(location_id, PrivateIntegrationToken(access_token=token))
        self.tenants.register(
            Tenant(location_id=location_id, installed_at=installed_at, auth_kind=AuthKind.PIT)
        )

    def add_connection(
        self, location_id: str, wanted: AppConnection, *, created_at: datetime | None = None
    ) -> "Connection":
        """Validate, store the secret, then the row (as connections_cli create does). `created_at`:
        the stack's clock (World's is a fake one), where a first sweep reads the feeds from."""
        from ghlsync.apps.registry import validate_app_config
        from ghlsync.store.connections import (
            ConflictPolicy,
            Connection,
            ConnectionSettings,
            new_connection_id,
        )

        validate_app_config(wanted.app, wanted.settings, wanted.credentials)
        sync_settings = dict(wanted.sync_settings)
        if "conflict_policy" in sync_settings:
            sync_settings["conflict_policy"] = ConflictPolicy(sync_settings["conflict_policy"])
        connection = Connection(
            connection_id=wanted.connection_id or new_connection_id(),
            location_id=location_id,
            app=wanted.app,
            settings=ConnectionSettings(**sync_settings, app=wanted.settings),
        )
        if created_at is not None:
            connection = connection.model_copy(update={"created_at": created_at})
        self.connection_secrets.put(connection.connection_id, wanted.credentials)
        if wanted.workflow_api_key is not None:
            self.issue_workflow_key(connection.connection_id, wanted.workflow_api_key)
        self.connections.put(connection)
        return connection

    def issue_workflow_key(self, connection_id: str, key: str | None = None) -> str:
        """A workflow-API key for the connection, as `connections_cli create` / `rotate-key` make
        it (a new random one unless `key` is given); returns the key."""
        from ghlsync.connections_cli import issue_workflow_key

        return issue_workflow_key(self.connection_secrets, connection_id, key)
