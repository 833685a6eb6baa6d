"""Runtime settings, read once from the environment (template.yaml sets every variable)."""

from functools import lru_cache

from pydantic import Field
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
    ghl_api_version: str = "2021-07-28"
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
