"""Workflow API auth and contact scope: keys per connection, rotation, read-only, app:<id> links."""

from collections.abc import Iterator
from typing import Any

import pytest

from ghlsync.connections_cli import issue_workflow_key
from ghlsync.core.entities import EntityKind
from ghlsync.store.audit import AuditStore
from ghlsync.store.connections import (
    Connection,
    ConnectionSecrets,
    ConnectionSettings,
    ConnectionStatus,
    ConnectionStore,
)
from ghlsync.store.links import Link, LinkState, LinkStore, Shadow
from ghlsync.workflow.errors import NotAuthorized, NotFound, WritesRefused
from ghlsync.workflow.service import WorkflowApi
from tests.fixtures.aws import AwsResources

CONNECTION_ID = "conn-wf-1"
PREFIX = "ghl-sync/connections/"


class NoConnectors:
    """Auth and scope decisions make no GHL or app call."""

    def ghl_client_for(self, connection: Connection) -> Any:
        raise AssertionError("no GHL client may be built for an auth decision")

    def app_for(self, connection: Connection) -> Any:
        raise AssertionError("no app connector may be built for an auth decision")

    def field_map_for(self, connection: Connection) -> Any:
        raise AssertionError("no field map may be resolved for an auth decision")


@pytest.fixture
def vault(aws: AwsResources) -> ConnectionSecrets:
    return ConnectionSecrets(aws.secrets, PREFIX)


@pytest.fixture
def api(aws: AwsResources, vault: ConnectionSecrets) -> Iterator[WorkflowApi]:
    yield WorkflowApi(
        connections=ConnectionStore(aws.table),
        keys=vault,
        links=LinkStore(aws.table),
        audit=AuditStore(aws.table),
        connectors=NoConnectors(),
    )


def _connection(aws: AwsResources, vault: ConnectionSecrets, **settings: Any) -> Connection:
    connection = Connection(
        connection_id=CONNECTION_ID,
        location_id="locWf000000000000001",
        app="kayako",
        settings=ConnectionSettings(**settings),
    )
    vault.put(CONNECTION_ID, {"email": "agent@x.test", "password": "pw", "webhook_token": "t" * 24})
    ConnectionStore(aws.table).put(connection)
    return connection


def test_the_issued_key_opens_its_connection(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi
) -> None:
    # GIVEN a connection with a key issued as connections_cli issues it
    _connection(aws, vault)
    key = issue_workflow_key(vault, CONNECTION_ID)
    # THEN the key opens the connection
    assert api.authorize(CONNECTION_ID, key).connection_id == CONNECTION_ID


def test_only_the_digest_is_stored_beside_the_app_credentials(
    aws: AwsResources, vault: ConnectionSecrets
) -> None:
    # GIVEN a key issued for a connection
    _connection(aws, vault)
    key = issue_workflow_key(vault, CONNECTION_ID)
    # THEN the secret holds no key, and the app's credentials stay as they were
    raw = aws.secrets.get_secret_value(SecretId=PREFIX + CONNECTION_ID)["SecretString"]
    assert key not in raw
    assert vault.credentials(CONNECTION_ID) == {
        "email": "agent@x.test",
        "password": "pw",
        "webhook_token": "t" * 24,
    }


@pytest.mark.parametrize("presented", [None, "", "wfk_not-the-key"])
def test_no_key_or_a_wrong_key_is_not_authorized(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi, presented: str | None
) -> None:
    # GIVEN a connection with a key WHEN another (or none) is presented THEN 401
    _connection(aws, vault)
    issue_workflow_key(vault, CONNECTION_ID)
    with pytest.raises(NotAuthorized):
        api.authorize(CONNECTION_ID, presented)


def test_a_connection_without_a_key_opens_to_no_key(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi
) -> None:
    # GIVEN a connection that was never given a key THEN every key is refused
    _connection(aws, vault)
    with pytest.raises(NotAuthorized):
        api.authorize(CONNECTION_ID, "wfk_anything")


@pytest.mark.parametrize("connection_id", ["conn-unknown", "../conn-wf-1", "", "c" * 65])
def test_an_unknown_or_malformed_connection_answers_like_a_wrong_key(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi, connection_id: str
) -> None:
    # GIVEN a key of a real connection WHEN another connection id is named THEN the same 401
    _connection(aws, vault)
    key = issue_workflow_key(vault, CONNECTION_ID)
    with pytest.raises(NotAuthorized) as refused:
        api.authorize(connection_id, key)
    assert refused.value.message == "missing or invalid X-Api-Key for this connection"


def test_rotating_the_key_retires_the_old_one(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi
) -> None:
    # GIVEN a key, then a rotation
    _connection(aws, vault)
    old = issue_workflow_key(vault, CONNECTION_ID)
    new = issue_workflow_key(vault, CONNECTION_ID)
    # THEN the new key opens the connection and the old one no longer does
    assert api.authorize(CONNECTION_ID, new).connection_id == CONNECTION_ID
    with pytest.raises(NotAuthorized):
        api.authorize(CONNECTION_ID, old)


def test_a_disabled_connection_is_refused_even_with_its_key(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi
) -> None:
    # GIVEN a disabled connection and its key THEN 403
    _connection(aws, vault)
    key = issue_workflow_key(vault, CONNECTION_ID)
    ConnectionStore(aws.table).set_status(CONNECTION_ID, ConnectionStatus.DISABLED)
    with pytest.raises(WritesRefused):
        api.authorize(CONNECTION_ID, key)


def test_a_read_only_connection_refuses_writes_with_the_reason(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi
) -> None:
    # GIVEN a read-only connection THEN writes are refused and the message says why
    connection = _connection(aws, vault, read_only=True)
    with pytest.raises(WritesRefused) as refused:
        api.require_writes(connection)
    assert "read-only" in refused.value.message


def test_a_writable_connection_allows_writes(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi
) -> None:
    # GIVEN a connection with default settings THEN writes are allowed
    api.require_writes(_connection(aws, vault))


def _contact_link(aws: AwsResources, ghl_id: str, app_id: str, state: LinkState = LinkState.ACTIVE) -> None:
    link = Link(
        connection_id=CONNECTION_ID,
        entity=EntityKind.CONTACT,
        ghl=Shadow(id=ghl_id),
        app=Shadow(id=app_id),
        state=state,
    )
    LinkStore(aws.table).save(link, previous=None)


def test_an_app_id_names_the_linked_ghl_contact(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi
) -> None:
    # GIVEN a contact link GHL g1 <-> app 42
    connection = _connection(aws, vault)
    _contact_link(aws, "g1", "42")
    # THEN app:42 names GHL contact g1, and g1 knows its app id
    assert api.contact_in_scope(connection, "app:42") == api.contact_in_scope(connection, "g1")
    assert api.contact_in_scope(connection, "g1").app_id == "42"


def test_an_unlinked_ghl_id_has_no_app_id(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi
) -> None:
    # GIVEN no link for g9 THEN it is named as is, with no app id
    scope = api.contact_in_scope(_connection(aws, vault), "g9")
    assert scope.ghl_id == "g9" and scope.app_id is None


@pytest.mark.parametrize("reference", ["app:404", "app:7", "../x", "app:../x"])
def test_an_unlinked_deleted_or_malformed_app_id_is_not_found(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi, reference: str
) -> None:
    # GIVEN app 7 linked but deleted, app 404 never linked, and ids that name nothing THEN 404
    connection = _connection(aws, vault)
    _contact_link(aws, "g7", "7", state=LinkState.DELETED)
    with pytest.raises(NotFound):
        api.contact_in_scope(connection, reference)


def test_another_connections_link_does_not_resolve(
    aws: AwsResources, vault: ConnectionSecrets, api: WorkflowApi
) -> None:
    # GIVEN app 42 linked on another connection THEN app:42 is not found on this one
    connection = _connection(aws, vault)
    other = Link(
        connection_id="conn-other", entity=EntityKind.CONTACT, ghl=Shadow(id="g1"), app=Shadow(id="42")
    )
    LinkStore(aws.table).save(other, previous=None)
    with pytest.raises(NotFound):
        api.contact_in_scope(connection, "app:42")
