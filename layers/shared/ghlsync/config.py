"""Runtime settings, read once from the environment (template.yaml sets every variable)."""

from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from pydantic import AwareDatetime, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GHL_PRODUCTION_API = "https://services.leadconnectorhq.com"


class Settings(BaseSettings):
    """Every knob ghl-sync reads from the environment. Names are the env vars, upper-cased."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    sync_table_name: str = "ghl-sync"
    idempotency_table_name: str = "ghl-sync-idempotency"
    sync_queue_url: str = ""
    sync_dlq_url: str = ""

    ghl_api_base_url: str = GHL_PRODUCTION_API
    # The `Version` header of GHL calls: 2021-07-28 (built and tested on it) or v3 (ghl/versions.py).
    ghl_api_version: Literal["2021-07-28", "v3"] = "2021-07-28"
    # Secrets Manager: the Marketplace app's client_id / client_secret / state signing key.
    ghl_app_secret_id: str = "ghl-sync/ghl-app"
    # One secret per location lives under this prefix: <prefix><locationId>.
    token_secret_prefix: str = "ghl-sync/locations/"
    # One secret per app connection lives under this prefix: <prefix><connectionId>.
    connection_secret_prefix: str = "ghl-sync/connections/"
    # Refresh every OAuth token that expires within this many seconds.
    token_refresh_window_seconds: int = Field(default=4 * 3600, ge=60)
    # How long one refresher may hold a location's refresh lease.
    token_lease_seconds: int = Field(default=60, ge=5)
    # Seconds an OAuth `state` stays valid between the install link and the callback.
    oauth_state_max_age_seconds: int = Field(default=3600, ge=60)

    # ---- webhook ingress and the event spine (ghl_webhook, app_webhook, sync_worker, dlq_redrive)
    # Comma-separated base64 SPKI DER public keys; several allow a key rotation to overlap.
    ghl_webhook_ed25519_public_keys: str = ""
    ghl_webhook_rsa_public_keys: str = ""
    # From this instant the legacy RSA x-wh-signature is refused (GHL: 2026-07-01; one source says 09-01).
    ghl_rsa_signature_cutoff: AwareDatetime = datetime(2026, 7, 1, tzinfo=UTC)
    # Oldest signed `timestamp` accepted. GHL retries a 429 six times ~10 min apart (~70 min) and a
    # retry may carry the first attempt's timestamp, so the window must outlast the retries.
    webhook_max_age_seconds: int = Field(default=90 * 60, ge=60)
    # ---- workflow API (functions/workflow_api): larger request bodies answer 413 before parsing.
    workflow_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    # Larger bodies are refused with 413 before any parsing.
    webhook_max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=10 * 1024 * 1024)
    # How long a webhook/event id is remembered; longer than GHL's ~70 min retry window.
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=24 * 3600)
    # After UNINSTALL a location's data is kept this long, then expires.
    uninstall_retain_days: int = Field(default=30, ge=0)
    # Must equal the queue's redrive maxReceiveCount: the worker dead-letters the last attempt itself.
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    # Full-jitter exponential backoff between attempts of a transiently failing event.
    retry_base_seconds: int = Field(default=10, ge=1)
    retry_max_seconds: int = Field(default=900, ge=1, le=43_200)
    # Most one GHL call may spend waiting between its retries (429 Retry-After, backoff), so a
    # worker invocation (30 s) ends inside its timeout; past it the event goes back to the queue.
    ghl_max_wait_seconds: float = Field(default=20.0, ge=0, le=600)
    # When GHL's daily budget starts again, as an hour of the UTC day: a backfill paused by it
    # resumes then (ghlsync.backfill.resume). UNCONFIRMED: GHL documents 200,000 requests "per
    # day" and sends no reset header; 0 (midnight UTC) is the proposal, the sandbox's day.
    ghl_daily_reset_utc_hour: int = Field(default=0, ge=0, le=23)
    # The location-wide task search (POST /locations/{id}/tasks/search, scope
    # locations/tasks.readonly) as the sweep's GHL task feed and task-id listing. UNCONFIRMED in
    # use (the spec documents no item shape): off, the sweep reads linked contacts' task lists in
    # rotation instead. Open tasks only in the feed; items per call (the spec's default is 25).
    ghl_task_search: bool = True
    ghl_task_search_open_only: bool = True
    ghl_task_search_page_size: int = Field(default=100, ge=1, le=100)
    # Long-poll wait of DLQ scans (a short poll may answer "empty" while messages remain).
    dlq_receive_wait_seconds: int = Field(default=1, ge=0, le=20)
    # ---- caller-ID lookup (functions/caller_lookup), per warm container: how long a connection's
    # token is trusted after it was read (a rotated token takes over within it), and how long an
    # answer is reused (0: every lookup reads the store).
    caller_lookup_credentials_ttl_seconds: float = Field(default=60.0, ge=0, le=3600)
    caller_lookup_answer_ttl_seconds: float = Field(default=30.0, ge=0, le=3600)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
