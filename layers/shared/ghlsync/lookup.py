"""Caller-ID lookup: who is on the line, for a dialer's custom-CRM integration (Kixie).

Kixie calls `GET <url>?number=<E.164>` when a call rings or is placed and shows the answer on the
agent's screen (target-apps.md §3.3). We serve it at `GET /kixie/{connectionId}/lookup?number=…
&token=…` with GHL's data:

| status | body | when |
|--------|------|------|
| 200 | `{"found": true, "contact": {...}, "org": {"name"}?}` | the number is a contact of the location |
| 200 | `{"found": false}` | no, empty, malformed number (letters, too long); nobody has it; GHL failed |
| 401 | `{"message": "unauthorized"}` | no or a wrong token; an unknown, disabled, other app's connection |

Rules:
- Auth: Kixie cannot sign, so the URL carries the connection's `webhook_token` credential, compared
  in constant time (digests of equal length). Every refusal is the same 401: a caller learns
  nothing about which connections exist. The connection row and its token are cached per warm
  container for CALLER_LOOKUP_CREDENTIALS_TTL_SECONDS (60 s), so a rotated token (or a disabled
  connection) takes effect within that time.
- Number: E.164 as `sync.identity.normalize_phone` reads it (a national number needs the
  connection's `default_country`); ASCII only and at most `MAX_NUMBER_CHARS` long. Anything
  else is "not found" without a single read.
- Source: our own store first, the GHL contact linked for that phone (its GHL shadow, through the
  link store's phone index); when the store has none, ONE GHL call (`GET /contacts/search/
  duplicate?number=`) on a single-attempt client (no retries: the caller is waiting). Open tasks and
  the latest notes come from the contact's stored child links either way (no GHL call). A GHL
  failure answers "not found", is logged and counted, and is not cached.
- Cost: at most one GHL call per lookup; none when the answer is cached. Answers (found and not
  found) are cached per warm container, in a bounded LRU (`CACHE_SIZE`), for
  CALLER_LOOKUP_ANSWER_TTL_SECONDS (30 s): a contact edited meanwhile shows its change after it.
- Context: `contact.notes` (the newest `MAX_NOTES` note bodies) and `contact.tasks` (the
  `MAX_TASKS` open tasks due soonest: title and due date), each text cut to `MAX_TEXT_CHARS`, so an
  answer stays a few KB whatever the contact holds. Where Kixie shows these extra keys is not
  documented (target-apps.md lists the contact keys only): they follow its snake_case style.
"""

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from ghlsync.core.entities import EntityKind
from ghlsync.ghl.errors import GhlError
from ghlsync.ghl.models import Contact
from ghlsync.mapping import ghl as mapping
from ghlsync.observability import logger
from ghlsync.store.connections import Connection
from ghlsync.store.links import Link
from ghlsync.sync.identity import normalize_phone

TOKEN_CREDENTIAL = "webhook_token"
MAX_TOKEN_CHARS = 256
MAX_NUMBER_CHARS = 32
MAX_CONNECTION_ID_CHARS = 64
_CONNECTION_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
CACHE_SIZE = 1024
MAX_NOTES = 3
MAX_TASKS = 5
MAX_TEXT_CHARS = 280
# Open tasks are picked from this many of the contact's newest task links.
TASKS_READ = 50
GHL_CONTACT_URL = "https://app.gohighlevel.com/v2/location/{location_id}/contacts/detail/{contact_id}"
NOT_FOUND: dict[str, Any] = {"found": False}
_EARLIEST = datetime.min.replace(tzinfo=UTC)


class NotAuthorized(Exception):
    """The request does not open this connection (one answer for every reason)."""


class Source(StrEnum):
    """Where an answer came from: what the handler counts."""

    CACHE = "cache"
    STORE = "store"
    GHL = "ghl"
    NOBODY = "nobody"  # neither the store nor GHL knows the number
    MALFORMED = "malformed"
    GHL_FAILED = "ghl_failed"


@dataclass(frozen=True)
class LookupResult:
    answer: dict[str, Any]
    source: Source

    @property
    def ghl_calls(self) -> int:
        return 1 if self.source in (Source.GHL, Source.NOBODY, Source.GHL_FAILED) else 0


# ---- pure rules ----------------------------------------------------------------------------------
def parse_number(raw: str | None, default_country: str | None = None) -> str | None:
    """The E.164 number Kixie asked about, or None for anything that is not one."""
    if raw is None or len(raw) > MAX_NUMBER_CHARS or not raw.isascii():
        return None
    text = raw.strip()
    # An unencoded "+" in a query string reaches us as a space: " 14155550100" was "+14155550100".
    if raw.startswith(" ") and text.isdigit():
        text = f"+{text}"
    return normalize_phone(text, default_country)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


# A digest no presented token can match: compared against when the connection has no token, so a
# refusal costs the same whatever its reason.
_NO_TOKEN = _digest(secrets.token_hex(32))


def token_matches(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison of the presented token with the connection's."""
    if not presented or len(presented) > MAX_TOKEN_CHARS:
        return False
    wanted = _digest(expected) if expected else _NO_TOKEN
    return hmac.compare_digest(_digest(presented), wanted) and expected is not None


def _cut(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


def contact_answer(
    location_id: str, contact_id: str, fields: dict[str, Any], notes: list[Link], tasks: list[Link]
) -> dict[str, Any]:
    """Kixie's "found" answer for a GHL contact: its canonical `fields` (a shadow's, or read from
    GHL) and its stored note and task links (newest first, as `LinkStore.children_of` gives them)."""
    open_tasks = [task.ghl.fields or {} for task in tasks if not (task.ghl.fields or {}).get("completed")]
    # Soonest due first; a task without a due date after every dated one.
    open_tasks.sort(key=lambda task: (task.get("due_date") is None, str(task.get("due_date") or "")))
    contact: dict[str, Any] = {
        "contact_id": contact_id,
        "first_name": fields.get("first_name") or "",
        "last_name": fields.get("last_name") or "",
        "email": fields.get("email") or "",
        "phone_number": fields.get("phone") or "",
        "url": GHL_CONTACT_URL.format(location_id=location_id, contact_id=contact_id),
        "notes": [_cut((note.ghl.fields or {}).get("body")) for note in notes[:MAX_NOTES]],
        "tasks": [
            {"title": _cut(task.get("title")), "due_date": task.get("due_date")}
            for task in open_tasks[:MAX_TASKS]
        ],
    }
    answer: dict[str, Any] = {"found": True, "contact": contact}
    if fields.get("company_name"):
        answer["org"] = {"name": _cut(fields["company_name"])}
    return answer


class TtlCache[K, V]:
    """A bounded LRU whose entries expire `ttl_s` after they were put (per warm container)."""

    def __init__(self, *, ttl_s: float, max_size: int, clock: Callable[[], float]) -> None:
        self._ttl_s = ttl_s
        self._max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (self._clock() + self._ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


# ---- the service ---------------------------------------------------------------------------------
class ConnectionReader(Protocol):
    def get(self, connection_id: str) -> Connection | None: ...


class CredentialReader(Protocol):
    def credential(self, connection_id: str, name: str) -> str | None: ...


class LinkIndex(Protocol):
    """What the lookup reads of `ghlsync.store.links.LinkStore`."""

    def contacts_by_phone(self, connection_id: str, phone: str) -> list[Link]: ...
    def children_of(
        self, connection_id: str, entity: EntityKind, ghl_contact_id: str, *, limit: int
    ) -> list[Link]: ...


class DuplicateSearch(Protocol):
    """What the lookup calls of `ghlsync.ghl.client.GhlClient`."""

    def find_duplicate(self, *, email: str | None = None, phone: str | None = None) -> Contact | None: ...


class GhlClients(Protocol):
    """What the lookup needs of `ghlsync.sync.wiring.ConnectorCache`."""

    def ghl_single_attempt_client_for(self, connection: Connection) -> DuplicateSearch: ...
    def field_map_for(self, connection: Connection) -> mapping.GhlFieldMap: ...


@dataclass(frozen=True)
class _Door:
    """What the credentials cache keeps per connection id: the connection the token opens, if any."""

    connection: Connection | None
    token: str | None


class CallerLookup:
    def __init__(
        self,
        *,
        app: str,
        connections: ConnectionReader,
        credentials: CredentialReader,
        links: LinkIndex,
        ghl: GhlClients,
        credentials_ttl_s: float,
        answer_ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._app = app
        self._connections = connections
        self._credentials = credentials
        self._links = links
        self._ghl = ghl
        self._doors: TtlCache[str, _Door] = TtlCache(
            ttl_s=credentials_ttl_s, max_size=cache_size, clock=clock
        )
        self._answers: TtlCache[tuple[str, str], dict[str, Any]] = TtlCache(
            ttl_s=answer_ttl_s, max_size=cache_size, clock=clock
        )

    def lookup(self, connection_id: str, token: str | None, number: str | None) -> LookupResult:
        connection = self.authorize(connection_id, token)
        phone = parse_number(number, connection.settings.default_country)
        if phone is None:
            return LookupResult(NOT_FOUND, Source.MALFORMED)
        key = (connection.connection_id, phone)
        cached = self._answers.get(key)
        if cached is not None:
            return LookupResult(cached, Source.CACHE)
        result = self._from_store(connection, phone) or self._from_ghl(connection, phone)
        if result.source is not Source.GHL_FAILED:
            self._answers.put(key, result.answer)
        return result

    def authorize(self, connection_id: str, token: str | None) -> Connection:
        """The active connection of this app that `token` opens; NotAuthorized otherwise."""
        well_formed = (
            bool(connection_id)
            and len(connection_id) <= MAX_CONNECTION_ID_CHARS
            and set(connection_id) <= _CONNECTION_ID_CHARS
        )
        door = self._door(connection_id) if well_formed and token else _Door(None, None)
        if not token_matches(token, door.token) or door.connection is None:
            raise NotAuthorized("missing or invalid token for this connection")
        return door.connection

    def _door(self, connection_id: str) -> _Door:
        door = self._doors.get(connection_id)
        if door is None:
            connection = self._connections.get(connection_id)
            opens = connection is not None and connection.app == self._app and connection.active
            door = (
                _Door(connection, self._credentials.credential(connection_id, TOKEN_CREDENTIAL))
                if opens
                else _Door(None, None)
            )
            self._doors.put(connection_id, door)
        return door

    def _from_store(self, connection: Connection, phone: str) -> LookupResult | None:
        linked = self._links.contacts_by_phone(connection.connection_id, phone)
        if not linked:
            return None
        # Two GHL contacts sharing a phone (a location allowing duplicates): the latest edited one.
        newest = max(linked, key=lambda link: (link.ghl.source_time or _EARLIEST, link.ghl.id))
        answer = self._answer(connection, newest.ghl.id, newest.ghl.fields or {})
        return LookupResult(answer, Source.STORE)

    def _from_ghl(self, connection: Connection, phone: str) -> LookupResult:
        client = self._ghl.ghl_single_attempt_client_for(connection)
        try:
            found = client.find_duplicate(phone=phone)
        except GhlError as error:
            # The number is PII: the log names the connection and the failure only.
            logger.warning(
                "caller lookup: GHL failed, answered not found",
                extra={
                    "connection_id": connection.connection_id,
                    "error": type(error).__name__,
                    "status": error.status,
                },
            )
            return LookupResult(NOT_FOUND, Source.GHL_FAILED)
        if found is None:
            return LookupResult(NOT_FOUND, Source.NOBODY)
        fields = self._ghl.field_map_for(connection)
        contact = mapping.contact_to_canonical(found, fields)
        return LookupResult(self._answer(connection, found.id, contact.fields()), Source.GHL)

    def _answer(self, connection: Connection, contact_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        connection_id = connection.connection_id
        notes = self._links.children_of(connection_id, EntityKind.NOTE, contact_id, limit=MAX_NOTES)
        tasks = self._links.children_of(connection_id, EntityKind.TASK, contact_id, limit=TASKS_READ)
        return contact_answer(connection.location_id, contact_id, fields, notes, tasks)


def default_caller_lookup(app: str) -> CallerLookup:
    """The lookup over the environment's sync table and connection secrets, and the container's
    connectors (`wiring.default_connectors`: the location's GHL clients)."""
    from ghlsync.config import get_settings
    from ghlsync.store.connections import ConnectionSecrets, ConnectionStore
    from ghlsync.store.dynamo import secrets_client, sync_table
    from ghlsync.store.links import LinkStore
    from ghlsync.sync import wiring

    table = sync_table()
    settings = get_settings()
    return CallerLookup(
        app=app,
        connections=ConnectionStore(table),
        credentials=ConnectionSecrets(secrets_client(), settings.connection_secret_prefix),
        links=LinkStore(table),
        ghl=wiring.default_connectors(),
        credentials_ttl_s=settings.caller_lookup_credentials_ttl_seconds,
        answer_ttl_s=settings.caller_lookup_answer_ttl_seconds,
    )
