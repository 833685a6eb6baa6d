"""sandbox.stack.setup: a connection given a `workflow_api_key` gets it as connections_cli issues keys."""

from ghlsync.store.connections import ConnectionSecrets
from ghlsync.workflow.keys import key_matches
from sandbox.stack.setup import AppConnection, StackSetup
from tests.fixtures.aws import AwsResources

CREDENTIALS = {"email": "agent@x.test", "password": "pw", "webhook_token": "t" * 24}
SETTINGS = {"base_url": "https://acme.kayako.test/api/v1"}


def _setup(aws: AwsResources) -> StackSetup:
    return StackSetup(
        aws.table,
        aws.secrets,
        token_secret_prefix=aws.env["TOKEN_SECRET_PREFIX"],
        connection_secret_prefix=aws.env["CONNECTION_SECRET_PREFIX"],
    )


def _vault(aws: AwsResources) -> ConnectionSecrets:
    return ConnectionSecrets(aws.secrets, aws.env["CONNECTION_SECRET_PREFIX"])


def test_a_dev_key_is_stored_as_the_connections_workflow_key(aws: AwsResources) -> None:
    # GIVEN a connection wanted with the fixed dev key (as DESIGN §5 fixes for conn-dev-payaca)
    wanted = AppConnection(
        "kayako", SETTINGS, CREDENTIALS, connection_id="conn-dev-x", workflow_api_key="dev-key-1"
    )
    # WHEN the stack sets it up
    _setup(aws).add_connection("devLocation000000001", wanted)
    # THEN that key opens it, and the app's credentials are as given
    assert key_matches("dev-key-1", _vault(aws).workflow_key_digest("conn-dev-x"))
    assert _vault(aws).credentials("conn-dev-x") == CREDENTIALS


def test_a_connection_wanted_without_a_key_has_none(aws: AwsResources) -> None:
    # GIVEN a connection wanted without a key (Kayako's dev connection) THEN it gets no key
    _setup(aws).add_connection(
        "devLocation000000001", AppConnection("kayako", SETTINGS, CREDENTIALS, "conn-dev-y")
    )
    assert _vault(aws).workflow_key_digest("conn-dev-y") is None


def test_a_key_issued_later_replaces_the_dev_key(aws: AwsResources) -> None:
    # GIVEN a connection with the dev key WHEN a key is issued for it (as rotate-key does)
    setup = _setup(aws)
    setup.add_connection(
        "devLocation000000001",
        AppConnection(
            "kayako", SETTINGS, CREDENTIALS, connection_id="conn-dev-z", workflow_api_key="dev-key-2"
        ),
    )
    issued = setup.issue_workflow_key("conn-dev-z")
    # THEN only the new key opens it
    digest = _vault(aws).workflow_key_digest("conn-dev-z")
    assert key_matches(issued, digest) and not key_matches("dev-key-2", digest)
