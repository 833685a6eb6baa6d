"""Real-services mode and dry run: the same stack pointed elsewhere, or planning without writing."""

import io
from collections.abc import Iterator

import pytest

from sandbox.apps import registered_apps
from sandbox.stack.dev import DevConfig, DevStack, StackError, config_from_args, parse_args

pytestmark = pytest.mark.integration

FREE_PORTS = {
    "gateway_port": 0,
    "moto_port": 0,
    "ghl_port": 0,
    "app_ports": {app.app: 0 for app in registered_apps()},
}


@pytest.fixture
def dry_stack() -> Iterator[DevStack]:
    config = DevConfig(**FREE_PORTS, background=False, dry_run=True)
    with DevStack(config, out=io.StringIO()) as started:
        yield started


def settle(stack: DevStack) -> None:
    while stack.deliver_webhooks() + stack.drain():
        pass


def writes(requests: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    return [r for r in requests if r[0] != "GET" and "/search" not in r[1]]


def test_dry_run_plans_the_write_but_sends_nothing(dry_stack: DevStack) -> None:
    # GIVEN a dry-run stack
    location = dry_stack.config.location_id
    # WHEN a GHL contact is created and its webhook goes through the stack
    dry_stack.ghl.ui_create_contact(location, firstName="Ada", lastName="Lovelace", email="ada@dry.example")
    settle(dry_stack)
    # THEN the eKyte person, Kayako user, Payaca customer and generic contact creations are planned,
    # and Kayako received no write
    assert dry_stack.planned_writes is not None
    planned = [str(w) for w in dry_stack.planned_writes.writes]
    assert sorted(planned) == [
        f"would {app}.create_contact() email='ada@dry.example' first_name='Ada' last_name='Lovelace'"
        for app in ("ekyte", "generic", "kayako", "payaca")
    ]
    assert writes([tuple(r) for r in dry_stack.kayako.request_log]) == []
    assert dry_stack.kayako.store.find_identity("email", "ada@dry.example") is None


def test_dry_run_plans_an_update_for_a_record_it_planned_to_create(dry_stack: DevStack) -> None:
    # GIVEN a contact whose creation in Kayako was only planned
    location = dry_stack.config.location_id
    contact = dry_stack.ghl.ui_create_contact(
        location, firstName="Ada", lastName="L", email="ada@dry.example"
    )
    settle(dry_stack)
    # WHEN it changes again in GHL
    dry_stack.ghl.ui_update_contact(location, contact.id, lastName="King")
    settle(dry_stack)
    # THEN the plan is an update of that same (planned) record, not a second create nor a delete
    assert dry_stack.planned_writes is not None
    kayako = [w for w in dry_stack.planned_writes.writes if w.side == "kayako"]
    assert [w.method for w in kayako] == ["create_contact", "update_contact"]
    # Planned ids count every app's creates: Kayako's is the n-th create of the plan.
    creates = [w for w in dry_stack.planned_writes.writes if w.method == "create_contact"]
    assert kayako[1].target == f"dry-run-{creates.index(kayako[0]) + 1}"


def test_real_ghl_mode_starts_no_ghl_sandbox_and_points_handlers_at_the_url() -> None:
    # GIVEN a real GHL base URL (nothing is called at start)
    config = DevConfig(**FREE_PORTS, background=False, ghl_base_url="https://services.leadconnectorhq.com")
    # WHEN the stack starts
    with DevStack(config, out=io.StringIO()) as stack:
        # THEN no GHL sandbox runs and the functions' GHL_API_BASE_URL is the real one
        assert stack.ghl is None
        assert stack.env["GHL_API_BASE_URL"] == "https://services.leadconnectorhq.com"
        assert stack.kayako is not None


def test_real_ghl_needs_its_token_from_the_environment() -> None:
    args = parse_args(["--ghl-base-url", "https://services.leadconnectorhq.com", "--location-id", "abc"])
    with pytest.raises(StackError, match="GHL_PRIVATE_INTEGRATION_TOKEN"):
        config_from_args(args, {})
    config = config_from_args(args, {"GHL_PRIVATE_INTEGRATION_TOKEN": "pit-real"})
    assert (config.location_id, config.location_token) == ("abc", "pit-real")


def test_real_kayako_needs_the_agent_password_from_the_environment() -> None:
    args = parse_args(
        ["--kayako-url", "https://acme.kayako.com/api/v1", "--kayako-email", "sync@acme.example"]
    )
    with pytest.raises(StackError, match="KAYAKO_PASSWORD"):
        config_from_args(args, {})
    config = config_from_args(args, {"KAYAKO_PASSWORD": "pw"})
    assert (config.app_base_urls["kayako"], config.app_logins["kayako"]) == (
        "https://acme.kayako.com/api/v1",
        {"email": "sync@acme.example", "password": "pw"},
    )
