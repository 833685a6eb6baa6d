"""The signed OAuth `state`: issued for install links, verified by the callback."""

import base64
import json
from urllib.parse import parse_qs, urlparse

import pytest

from ghlsync.ghl.oauth import InvalidState, authorization_url, make_state, verify_state

KEY = "state-signing-key-for-tests"
ISSUED = 1_767_225_600.0
MAX_AGE = 3600


def test_a_fresh_state_verifies_and_carries_its_issue_time():
    # GIVEN a state issued now
    state = make_state(KEY, ISSUED, nonce="nonce-0001")
    # WHEN it comes back ten minutes later
    payload = verify_state(state, KEY, ISSUED + 600, MAX_AGE)
    # THEN it is accepted with its issue time and nonce
    assert (payload.iat, payload.nonce) == (int(ISSUED), "nonce-0001")


def test_each_state_gets_its_own_nonce():
    # GIVEN / WHEN two states issued at the same second
    first, second = make_state(KEY, ISSUED), make_state(KEY, ISSUED)
    # THEN they differ
    assert first != second


def test_a_state_signed_with_another_key_is_rejected():
    # GIVEN a state signed with a different key
    state = make_state("some-other-signing-key", ISSUED)
    # WHEN / THEN verification fails on the signature
    with pytest.raises(InvalidState, match="signature"):
        verify_state(state, KEY, ISSUED, MAX_AGE)


def test_a_state_whose_payload_was_altered_is_rejected():
    # GIVEN a valid state whose payload is rewritten to look newer, signature kept
    state = make_state(KEY, ISSUED)
    _, signature = state.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"iat": ISSUED + 9999, "nonce": "x" * 16}).encode())
    # WHEN / THEN the signature no longer matches
    with pytest.raises(InvalidState, match="signature"):
        verify_state(f"{forged.decode().rstrip('=')}.{signature}", KEY, ISSUED, MAX_AGE)


def test_a_state_older_than_the_max_age_is_rejected():
    # GIVEN a state issued just over an hour ago
    state = make_state(KEY, ISSUED)
    # WHEN / THEN it has expired
    with pytest.raises(InvalidState, match="expired"):
        verify_state(state, KEY, ISSUED + MAX_AGE + 1, MAX_AGE)


def test_a_state_issued_in_the_future_is_rejected():
    # GIVEN a state dated ten minutes ahead of the verifier's clock (more than the skew allowance)
    state = make_state(KEY, ISSUED + 600)
    # WHEN / THEN it is refused
    with pytest.raises(InvalidState, match="future"):
        verify_state(state, KEY, ISSUED, MAX_AGE)


@pytest.mark.parametrize("garbage", ["", "no-dot-at-all", ".sig", "payload.", "e30.!!!", "a.b.c"])
def test_malformed_states_are_rejected(garbage):
    # GIVEN / WHEN / THEN anything that is not <payload>.<signature> signed by us is refused
    with pytest.raises(InvalidState):
        verify_state(garbage, KEY, ISSUED, MAX_AGE)


def test_an_empty_signing_key_is_refused():
    # GIVEN / WHEN / THEN signing with an empty key is a configuration error, not a weak state
    with pytest.raises(ValueError, match="empty"):
        make_state("", ISSUED)


def test_the_install_link_carries_client_redirect_scopes_and_state():
    # GIVEN a state
    state = make_state(KEY, ISSUED)
    # WHEN the install link is built
    url = authorization_url("app-client", "https://x.example/oauth/callback", ["contacts.readonly"], state)
    # THEN GHL's consent screen receives every parameter
    query = parse_qs(urlparse(url).query)
    assert url.startswith("https://marketplace.gohighlevel.com/v2/oauth/chooselocation?")
    assert query == {
        "response_type": ["code"],
        "client_id": ["app-client"],
        "redirect_uri": ["https://x.example/oauth/callback"],
        "scope": ["contacts.readonly"],
        "state": [state],
    }
