"""GHL sandbox: seeded fault injection through the in-process transport."""

import httpx
import pytest

from sandbox.ghl import FakeClock, GhlSandbox
from tests.fixtures.ghl import GHL_BASE_URL, GHL_HEADERS, GHL_LOCATION_ID, GHL_PIT


def _sandbox(seed: int = 0, **switches: bool) -> tuple[GhlSandbox, httpx.Client]:
    sb = GhlSandbox(clock=FakeClock(), seed=seed, **switches)
    sb.add_location(GHL_LOCATION_ID, token=GHL_PIT)
    return sb, httpx.Client(base_url=GHL_BASE_URL, transport=sb.transport(), headers=GHL_HEADERS)


def _outcomes(client: httpx.Client, count: int) -> list[str]:
    outcomes = []
    for _ in range(count):
        try:
            outcomes.append(str(client.get("/contacts/", params={"locationId": GHL_LOCATION_ID}).status_code))
        except httpx.TransportError as exc:
            outcomes.append(type(exc).__name__)
    return outcomes


def test_the_same_seed_gives_the_same_faults():
    # GIVEN two sandboxes with the same seed and the same mixed fault rates
    runs = []
    for _ in range(2):
        sb, client = _sandbox(seed=42)
        sb.faults.configure(rate_429=0.1, rate_5xx=0.1, rate_timeout=0.1, rate_reset=0.1)
        # WHEN the same 60 requests are made
        runs.append(_outcomes(client, 60))
    # THEN the outcomes match one for one, and every kind of fault occurred
    assert runs[0] == runs[1]
    assert {"200", "429", "ReadTimeout", "RemoteProtocolError"} <= set(runs[0])
    assert {"500", "502", "503"} & set(runs[0])


def test_another_seed_gives_other_faults():
    # GIVEN two sandboxes with different seeds
    runs = []
    for seed in (1, 2):
        sb, client = _sandbox(seed=seed)
        sb.faults.configure(rate_5xx=0.5)
        runs.append(_outcomes(client, 40))
    # WHEN / THEN their fault sequences differ
    assert runs[0] != runs[1]


@pytest.mark.parametrize(("retry_after_on_429", "retry_after"), [(False, None), (True, "10")])
def test_injected_429_is_answered_by_the_app_without_applying(retry_after_on_429, retry_after):
    # GIVEN every request is rate limited by fault injection, Retry-After switched off or on
    sb, client = _sandbox(retry_after_on_429=retry_after_on_429)
    sb.faults.configure(rate_429=1.0)
    # WHEN a contact is created
    response = client.post("/contacts/", json={"locationId": GHL_LOCATION_ID, "firstName": "A"})
    # THEN a 429 (with Retry-After only when switched on), nothing created, and the log counts it
    assert response.status_code == 429
    assert response.headers.get("Retry-After") == retry_after
    assert sb.store.contacts(GHL_LOCATION_ID) == []
    assert sb.request_log == [("POST", "/contacts/", 429)]


def test_a_timeout_can_happen_after_the_write():
    # GIVEN every request times out after being applied
    sb, client = _sandbox()
    sb.faults.configure(rate_timeout=1.0, timeout_applied_share=1.0)
    # WHEN a contact is created
    with pytest.raises(httpx.ReadTimeout):
        client.post("/contacts/", json={"locationId": GHL_LOCATION_ID, "firstName": "A"})
    # THEN the client saw a timeout but the contact exists
    assert len(sb.store.contacts(GHL_LOCATION_ID)) == 1
    assert sb.request_log == [("POST", "/contacts/", 201)]


def test_a_timeout_can_happen_before_the_write():
    # GIVEN every request times out before reaching the app
    sb, client = _sandbox()
    sb.faults.configure(rate_timeout=1.0, timeout_applied_share=0.0)
    # WHEN a contact is created
    with pytest.raises(httpx.ReadTimeout):
        client.post("/contacts/", json={"locationId": GHL_LOCATION_ID, "firstName": "A"})
    # THEN nothing was created; the log shows a request that got no answer
    assert sb.store.contacts(GHL_LOCATION_ID) == []
    assert sb.request_log == [("POST", "/contacts/", 0)]


def test_a_reset_raises_remote_protocol_error_and_applies_nothing():
    # GIVEN every request is reset
    sb, client = _sandbox()
    sb.faults.configure(rate_reset=1.0)
    # WHEN a contact is created
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/contacts/", json={"locationId": GHL_LOCATION_ID, "firstName": "A"})
    # THEN nothing was created
    assert sb.store.contacts(GHL_LOCATION_ID) == []


def test_the_token_endpoint_and_admin_api_are_spared_by_default():
    # GIVEN every request would fail
    sb, client = _sandbox()
    sb.faults.configure(rate_5xx=1.0)
    # WHEN the admin API and the token endpoint are called
    keys = client.get("/_sandbox/keys")
    token = client.post(
        "/oauth/token", data={"client_id": "x", "client_secret": "y", "grant_type": "refresh_token"}
    )
    # THEN they answer normally
    assert keys.status_code == 200
    assert token.status_code == 401


def test_rates_must_be_shares():
    # GIVEN a fault injector / WHEN rates add up to more than 1 / THEN it is refused
    sb, _ = _sandbox()
    with pytest.raises(ValueError, match="add up to at most 1"):
        sb.faults.configure(rate_429=0.6, rate_5xx=0.6)


def test_seeding_is_deterministic_with_tasks_and_notes():
    # GIVEN two sandboxes with the same seed
    def seeded() -> tuple[list[str], list[str], int]:
        sb, _ = _sandbox(seed=5)
        sb.register_webhook("https://receiver.example/hook")
        ids = sb.seed(GHL_LOCATION_ID, contacts=3, tasks_per_contact=2, notes_per_contact=1)
        location = sb.store.location(GHL_LOCATION_ID)
        task_ids = [t for contact_id in ids for t in location.tasks[contact_id]]
        return ids, task_ids, len(sb.deliveries)

    # WHEN each seeds 3 contacts with 2 tasks and 1 note
    first, second = seeded(), seeded()
    # THEN the ids are identical and the seeded data is complete, without webhooks
    assert first == second
    assert (len(first[0]), len(first[1]), first[2]) == (3, 6, 0)
