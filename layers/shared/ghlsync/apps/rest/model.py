"""The spec of a REST app: what a declarative connector is built from (typed, closed: extra="forbid").

A spec names the app's base URL and auth, and per entity (contact, task, note) the requests that
exist, where records sit in the answers, how lists page, how fields map to the canonical entity,
how tags are written, how the app tells us of changes, its rate limits and the sync rules it asks
for. An operation the spec leaves out is absent: the connector declares it unsupported and the
engine never calls it. Shapes only here; the cross-checks that need the whole spec (placeholders,
references to operations) are `ghlsync.apps.rest.checks`, run by `AppSpec` after the shapes.
"""

from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ghlsync.core.entities import EntityKind


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- auth ---------------------------------------------------------------------------------------
class BearerAuthSpec(_Closed):
    """`Authorization: Bearer <token>`; the token is the credential `token`."""

    kind: Literal["bearer"]


class ApiKeyAuthSpec(_Closed):
    """The credential `api_key` under `name`, in a header or the query."""

    kind: Literal["api_key"]
    name: str = Field(min_length=1)
    place: Literal["header", "query"] = "header"


class BasicAuthSpec(_Closed):
    """HTTP Basic: `username` here, the credential `password`."""

    kind: Literal["basic"]
    username: str = Field(min_length=1)


class ClientCredentialsAuthSpec(_Closed):
    """OAuth2 client credentials at `token_url`; the credential `client_secret`."""

    kind: Literal["oauth2_client_credentials"]
    token_url: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    scope: str | None = None
    credentials_in_body: bool = False


class RefreshTokenAuthSpec(_Closed):
    """OAuth2 refresh token at `token_url`: the credentials `refresh_token` (and `client_secret`
    when the app has one). A rotated refresh token is stored before the new access token is used."""

    kind: Literal["oauth2_refresh_token"]
    token_url: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    scope: str | None = None


AuthSpec = Annotated[
    BearerAuthSpec | ApiKeyAuthSpec | BasicAuthSpec | ClientCredentialsAuthSpec | RefreshTokenAuthSpec,
    Field(discriminator="kind"),
]


# -- paging -------------------------------------------------------------------------------------
class OffsetPaging(_Closed):
    kind: Literal["offset"]
    offset_param: str = "offset"
    limit_param: str = "limit"
    page_size: int = Field(default=50, ge=1, le=1000)
    total_path: str | None = None


class PageNumberPaging(_Closed):
    kind: Literal["page"]
    page_param: str = "page"
    size_param: str = "page_size"
    page_size: int = Field(default=50, ge=1, le=1000)
    first_page: int = Field(default=1, ge=0)
    total_pages_path: str | None = None


class CursorPaging(_Closed):
    """The next page's cursor is in the body at `cursor_path`, sent back in `cursor_param`."""

    kind: Literal["cursor"]
    cursor_param: str = "cursor"
    cursor_path: str = "next_cursor"
    limit_param: str | None = "limit"
    page_size: int = Field(default=50, ge=1, le=1000)


class LinkPaging(_Closed):
    """RFC 8288 `Link: <url>; rel="next"`; the first request carries `limit_param`."""

    kind: Literal["link"]
    limit_param: str | None = None
    page_size: int = Field(default=50, ge=1, le=1000)


class NoPaging(_Closed):
    kind: Literal["none"]


PagingSpec = Annotated[
    OffsetPaging | PageNumberPaging | CursorPaging | LinkPaging | NoPaging, Field(discriminator="kind")
]


# -- requests and records -----------------------------------------------------------------------
class RequestSpec(_Closed):
    """One call. `path` and the strings of `query` and `body` are templates with `{placeholder}`s
    (which ones an operation offers: `checks.PLACEHOLDERS`); a string that is exactly one
    placeholder keeps the value's type (`{tags}` stays a list). The mapped record is merged into
    `body` at its root, or under `record_key`. `paging` overrides the spec's paging for a list."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    path: str = Field(min_length=1)
    query: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | None = None
    record_key: str | None = None
    paging: PagingSpec | None = None
    # How `{since}` is written: "iso" (ISO 8601 UTC with Z), "epoch" or a strftime format.
    since_format: str = "iso"
    # Whether repeating the call after a timeout is harmless (an upsert): POSTs are not by default.
    retry_safe: bool | None = None


class RecordSpec(_Closed):
    """Where a record is in an answer: `single` and `list` are dotted paths into the envelope
    ("" or absent: the body itself, a bare object or array), the rest paths inside a record."""

    single: str = ""
    list: str = ""
    id: str = "id"
    updated_at: str | None = "updated_at"
    # "iso" (ISO 8601, a naive time is UTC), "epoch", "epoch_ms" or a strftime format (UTC).
    updated_at_format: str = "iso"
    # The parent contact's id inside a task or note record.
    parent_id: str | None = None


class Direction(StrEnum):
    BOTH = "both"
    TO_APP = "to_app"  # written to the app, never read back into GHL
    FROM_APP = "from_app"  # read from the app, never written to it


class Transform(StrEnum):
    NONE = "none"
    LOWER = "lower"  # lower-cased both ways (e-mails)
    E164 = "e164"  # phone numbers, `default_country` for national ones
    FULL_NAME = "full_name"  # one app field <-> first_name + last_name (canonical `full_name`)
    DATETIME = "datetime"  # `format`: iso, epoch, epoch_ms or strftime (UTC)
    DATE = "date"  # `format`: a strftime date format (default %Y-%m-%d)
    ENUM = "enum"  # `values`: app value -> canonical value (both ways)


class FieldSpec(_Closed):
    """One field: `app` (a dotted path in the app's record: nesting) <-> `canonical` (a canonical
    field, `custom_fields.<key>`, or `full_name`). `constant` instead of `canonical` writes a fixed
    value to the app. `direction` makes a field one-way."""

    app: str = Field(min_length=1)
    canonical: str | None = None
    constant: Any = None
    transform: Transform = Transform.NONE
    format: str | None = None
    values: dict[str, Any] | None = None
    default_country: str | None = None
    direction: Direction = Direction.BOTH

    @model_validator(mode="after")
    def _source(self) -> Self:
        if (self.canonical is None) == (self.constant is None):
            raise ValueError("give exactly one of `canonical` and `constant`")
        if self.constant is not None and self.direction is Direction.FROM_APP:
            raise ValueError("a constant is written to the app: its direction cannot be from_app")
        if self.transform is Transform.ENUM and not self.values:
            raise ValueError("the enum transform needs `values` (app value -> canonical value)")
        return self


OPERATIONS = (
    "get",
    "find_by_email",
    "find_by_phone",
    "create",
    "update",
    "delete",
    "list",
    "list_changed_since",
)


class EntitySpec(_Closed):
    """One kind of record: its requests (an absent one is an operation the app does not have;
    `list` is every contact, the full pass, or the tasks/notes under one contact), where records
    sit in answers, its field map, and which way it flows ("both", "to_app": GHL -> app only,
    "from_app")."""

    # Before `list` below: in this class body the name `list` is the field from there on.
    fields: list[FieldSpec] = Field(min_length=1)
    record: RecordSpec = Field(default_factory=RecordSpec)
    flow: Direction = Direction.BOTH
    get: RequestSpec | None = None
    find_by_email: RequestSpec | None = None
    find_by_phone: RequestSpec | None = None
    create: RequestSpec | None = None
    update: RequestSpec | None = None
    delete: RequestSpec | None = None
    list: RequestSpec | None = None
    list_changed_since: RequestSpec | None = None

    def requests(self) -> dict[str, RequestSpec]:
        """The operations the app has, by name."""
        return {name: request for name in OPERATIONS if (request := getattr(self, name)) is not None}


class EntitiesSpec(_Closed):
    contact: EntitySpec
    task: EntitySpec | None = None
    note: EntitySpec | None = None

    def present(self) -> dict[EntityKind, EntitySpec]:
        found = {EntityKind.CONTACT: self.contact, EntityKind.TASK: self.task, EntityKind.NOTE: self.note}
        return {kind: spec for kind, spec in found.items() if spec is not None}


# -- tags ---------------------------------------------------------------------------------------
class EndpointTags(_Closed):
    """Tags written by their own requests (`{id}` the contact; `{tags}` the list, or `{tag}` in
    the path for one call per tag). `read` is where the contact record lists its tags."""

    mode: Literal["endpoints"]
    add: RequestSpec
    remove: RequestSpec | None = None
    read: str | None = "tags"
    case_insensitive: bool = False


class FieldTags(_Closed):
    """Tags are one list field of the contact, written whole with the contact's `update` request:
    the new list is the app's current list with the delta applied, so a tag nobody removed stays."""

    mode: Literal["field"]
    field: str = Field(min_length=1)
    case_insensitive: bool = False


class NoTags(_Closed):
    mode: Literal["none"]


TagsSpec = Annotated[EndpointTags | FieldTags | NoTags, Field(discriminator="mode")]


# -- inbound ------------------------------------------------------------------------------------
class EventSpec(_Closed):
    entity: EntityKind
    action: Literal["upsert", "delete"] = "upsert"


class WebhookSpec(_Closed):
    """HMAC-signed webhooks at POST /webhooks/generic/{connectionId}, under the credential
    `webhook_secret`. With `timestamp_header` the signed bytes are `<timestamp>.<body>`."""

    signature_header: str = Field(min_length=1)
    algorithm: Literal["sha256", "sha1"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = ""
    timestamp_header: str | None = None
    tolerance_s: float = Field(default=300.0, gt=0)
    event_path: str = "event"
    id_path: str = "id"
    parent_id_path: str | None = None
    occurred_at_path: str | None = None
    occurred_at_format: str = "iso"
    # The app's event names -> what they mean; any other event is acknowledged and ignored.
    events: dict[str, EventSpec] = Field(min_length=1)


class PollingSpec(_Closed):
    """The sweep lists each entity's `list_changed_since` on its schedule."""

    ordered: bool = False


class InboundSpec(_Closed):
    webhooks: WebhookSpec | None = None
    polling: PollingSpec | None = None


# -- rate limits and rules ----------------------------------------------------------------------
class RateLimitSpec(_Closed):
    retry_after_header: str = "Retry-After"
    remaining_header: str | None = None
    # Seconds until the window resets (a delta, or epoch seconds when larger than a day).
    reset_header: str | None = None
    requests_per_second: float | None = Field(default=None, gt=0)
    daily_quota: int | None = Field(default=None, ge=1)
    max_retries: int = Field(default=3, ge=0, le=10)
    max_retry_after_s: float = Field(default=20.0, ge=0)
    max_total_wait_s: float = Field(default=20.0, ge=0)


class TaskTemplate(_Closed):
    title: str = Field(min_length=1)
    body: str | None = None
    due_in_days: int | None = Field(default=None, ge=0)


class FullPassSpec(_Closed):
    """A scheduled full pass: every `every_minutes` the sweep lists every contact of the contact
    `list` request with `filter` added to its query (e.g. `{businessId: "42"}`), then every task
    and note, and syncs what its links do not already reflect. The filter also rides on polling's
    contact listing, so only the contacts it selects sync from the app. The cadence is rounded up
    to the sweep's schedule (SweepSchedule, 5 minutes by default)."""

    filter: dict[str, str] = Field(default_factory=dict)
    every_minutes: int = Field(default=1440, ge=5)


class RulesSpec(_Closed):
    # Tasks created in the app, once, right after the connector creates a contact there.
    new_contact_tasks: list[TaskTemplate] = Field(default_factory=list)
    full_pass: FullPassSpec | None = None


class AppSpec(_Closed):
    """A REST app, described (see the module docstring and examples/README.md)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    base_url: str = Field(pattern=r"^https?://")
    auth: AuthSpec
    headers: dict[str, str] = Field(default_factory=dict)
    paging: PagingSpec = Field(default_factory=lambda: NoPaging(kind="none"))
    entities: EntitiesSpec
    tags: TagsSpec = Field(default_factory=lambda: NoTags(mode="none"))
    inbound: InboundSpec = Field(default_factory=InboundSpec)
    rate_limits: RateLimitSpec = Field(default_factory=RateLimitSpec)
    rules: RulesSpec = Field(default_factory=RulesSpec)
    # Region of phone numbers written without a country code (the e164 transform's default).
    default_country: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        from ghlsync.apps.rest.checks import spec_problems

        problems = spec_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self
