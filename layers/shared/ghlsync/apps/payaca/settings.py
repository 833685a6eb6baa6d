"""Per-connection Payaca settings (non-secret) and credentials (from the connection's secret).

Payaca's public API is new and small (target-apps.md §4): what is documented is used as
documented; every inferred path and every [PROPOSAL] endpoint is a setting here, with the
proposal as its default, so a connection can follow the live OpenAPI file without a release.
"""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ghlsync.mapping.payaca import PayacaMappingConfig

DEFAULT_BASE_URL = "https://api.payaca.com/v1"
PAGE_LIMIT = 100  # `limit` is 1-100 (documented on tax rates only: assumed everywhere)


class PayacaSettings(PayacaMappingConfig):
    """Where the API is, how hard to retry, which proposed endpoints to use, how records map."""

    base_url: str = DEFAULT_BASE_URL
    max_retries: int = Field(default=3, ge=0, le=10)
    # A Retry-After longer than this is not slept on: the event goes back to the queue instead.
    max_retry_after_s: float = Field(default=20.0, ge=0)
    # Total time one call may spend sleeping between attempts (keeps Lambda inside its timeout).
    max_total_wait_s: float = Field(default=20.0, ge=0)
    # offset/limit paging, `limit` per page.
    page_size: int = Field(default=50, ge=1, le=PAGE_LIMIT)

    # -- documented operations, inferred paths ---------------------------------------------
    customer_upsert_path: str = "customers"  # POST: "Customers: Create or update"
    customer_path: str = "customers/{id}"  # GET: "Customers: Get"; update below
    customer_update_method: Literal["PATCH", "PUT"] = "PATCH"  # "Customers: Update" (method inferred)
    customer_tags_path: str = "customers/{id}/tags"  # POST {"tagNames"}: "Adds Tags to a Customer"
    # Webhook event names of customer changes: not among the documented examples (inferred).
    customer_events: frozenset[str] = frozenset({"customer.created", "customer.updated"})

    # -- [PROPOSAL] endpoints (target-apps.md §4.7) ----------------------------------------
    # Find by email: GET customers?email=. Off: finding relies on the upsert alone (no lookup;
    # the upsert's "several matches -> the earliest created" rule then decides).
    find_by_email: bool = True
    customer_search_path: str = "customers"
    # Every customer, for a backfill: the same GET without `email`, paged by offset/limit (the
    # path is the API's auth example; that it lists every customer is inferred). Off: a backfill
    # of the connection is refused (nothing to match against).
    list_customers: bool = True
    # The customer's projects (stage tags are derived from them; notes/tasks attach to the newest).
    customer_projects_path: str = "customers/{id}/projects"
    # Tag removal: DELETE customers/{id}/tags {"tagNames"}. Off: tags are add-only.
    tag_removal: bool = False
    # GHL notes -> Payaca: POST projects/{id}/notes {"note"} on the customer's newest project.
    notes_to_payaca: bool = False
    project_notes_path: str = "projects/{id}/notes"
    # GHL tasks -> Payaca: GET/POST projects/{id}/tasks, PATCH tasks/{id}.
    tasks_to_payaca: bool = False
    project_tasks_path: str = "projects/{id}/tasks"
    task_path: str = "tasks/{id}"

    @model_validator(mode="after")
    def _urls(self) -> Self:
        if not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        for name in (
            "customer_path",
            "customer_tags_path",
            "customer_projects_path",
            "project_notes_path",
            "project_tasks_path",
            "task_path",
        ):
            if "{id}" not in getattr(self, name):
                raise ValueError(f"{name} must contain {{id}}")
        return self

    @property
    def api_base(self) -> str:
        return self.base_url.rstrip("/")


class PayacaCredentials(BaseModel):
    """The connection secret: the API key pair (My Company > Integrations > Create API key; the
    secret is shown once) and the webhook secret Payaca signs deliveries with (copied from Payaca's
    webhook settings: Payaca does not document letting you choose it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(min_length=1)
    client_secret: SecretStr = Field(min_length=1)
    webhook_secret: SecretStr = Field(min_length=8)
