"""Kayako connector memory: the reads kept for the next update are bounded (issue 7, bug 4).

The Kayako side is an httpx.MockTransport answering session, user and tag reads in-process.
"""

import json
import re

import httpx

from ghlsync.apps.kayako import KayakoConnector, KayakoSettings
from ghlsync.apps.kayako.connector import RecentReads
from ghlsync.mapping.canonical import CanonicalContact
from ghlsync.mapping.kayako import KayakoUser
from tests.fixtures.kayako import kayako_credentials

_USER = re.compile(r"/api/v1/users/(\d+)$")


def _kayako_users(requests: list[str]) -> httpx.MockTransport:
    """Every user id exists, with no identities and no tags; PUT answers with the user."""

    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/session"):
            return httpx.Response(200, json={"session_id": "s-1"}, headers={"X-CSRF-Token": "c-1"})
        if request.url.path.endswith("/tags"):
            return httpx.Response(200, json={"status": 200, "data": [], "total_count": 0})
        match = _USER.search(request.url.path)
        assert match is not None, request.url
        user = {"id": int(match.group(1)), "full_name": "Some One", "resource_type": "user"}
        return httpx.Response(200, content=json.dumps({"status": 200, "data": user}), headers={"ETag": '"e"'})

    return httpx.MockTransport(handle)


def _connector(requests: list[str], **settings: object) -> KayakoConnector:
    return KayakoConnector(
        httpx.Client(transport=_kayako_users(requests)),
        KayakoSettings.model_validate({"base_url": "https://acme.kayako.test/api/v1", **settings}),
        secret=kayako_credentials(),
        location_id="loc-1",
        connection_id="conn-1",
        sleep=lambda _: None,
        clock=lambda: 0.0,
    )


def test_recent_reads_keep_at_most_their_size_and_the_newest() -> None:
    # GIVEN room for 32 reads
    reads = RecentReads(32)
    # WHEN 1000 users are read
    for user_id in range(1, 1001):
        reads.put(user_id, (KayakoUser(id=user_id), None, []))
    # THEN 32 are kept: the newest, not the oldest
    assert len(reads) == 32
    assert reads.take(1000) is not None and reads.take(968) is None


def test_a_size_of_zero_keeps_nothing() -> None:
    reads = RecentReads(0)
    reads.put(1, (KayakoUser(id=1), None, []))
    assert len(reads) == 0


def test_the_connector_forgets_old_reads_and_rereads_before_updating_them() -> None:
    # GIVEN a connector keeping 2 reads, that has read users 1, 2 and 3
    requests: list[str] = []
    connector = _connector(requests, read_cache_size=2)
    for user_id in (1, 2, 3):
        connector.get_contact(str(user_id))
    contact = CanonicalContact(first_name="Other", last_name="Name")
    changed = frozenset({"first_name"})
    # WHEN the most recent and the oldest are updated
    requests.clear()
    connector.update_contact("3", contact, changed)
    fresh = list(requests)
    requests.clear()
    connector.update_contact("1", contact, changed)
    # THEN the most recent update used the kept read; the oldest was forgotten and read again
    assert fresh == ["PUT /api/v1/users/3"]
    assert requests[0] == "GET /api/v1/users/1"
