"""Per-connection eKyte settings (non-secret) and credentials (from the connection's secret).

eKyte publishes no API reference (target-apps.md §2): its integration API is known from its own n8n
node. What that code leaves open (the production base, the BI key, the MCP tool names) is a
setting here with the reference's proposal as its default (README: ⚠ UNCONFIRMED).
"""

from datetime import timedelta
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ghlsync.mapping.ekyte import EkyteMappingConfig

DEFAULT_BASE_URL = "https://api.ekyte.com/n8n"  # or .../zapier; staging: https://apistaging.ekyte.com/n8n
DEFAULT_BI_BASE_URL = "https://api.ekyte.com"
DEFAULT_MCP_URL = "https://api.ekyte.com/mcp"
POLLING_WINDOW_MINUTES = 15  # what eKyte's /polling/* feeds show


class EkyteSettings(EkyteMappingConfig):
    """Where the three surfaces are, how hard to retry, how far the polling feeds see."""

    base_url: str = DEFAULT_BASE_URL
    # The eKyte user the sync acts as (`UserEmail`): a member of the company with access to the
    # workspace.
    user_email: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    bi_base_url: str = DEFAULT_BI_BASE_URL
    # The BI task listing ([3P] path, `{data, paging}` envelope).
    bi_tasks_path: str = "v1.2/tasks"
    mcp_url: str = DEFAULT_MCP_URL
    # eKyte's MCP tool names ([3P] listing): the only documented route to task updates and comments.
    mcp_update_task_tool: str = "update_task"
    mcp_comment_tool: str = "create_task_comment"
    mcp_list_comments_tool: str = "list_task_comments"
    max_retries: int = Field(default=3, ge=0, le=10)
    max_retry_after_s: float = Field(default=20.0, ge=0)
    max_total_wait_s: float = Field(default=20.0, ge=0)
    # How far back the /polling/* feeds see (eKyte: the last 15 minutes).
    polling_window_minutes: int = Field(default=POLLING_WINDOW_MINUTES, ge=1, le=1440)
    # The scheduled business-enriched refresh (ghlsync.refresh): every this many hours; 0 = only on
    # demand (`connections_cli refresh`).
    refresh_every_hours: float = Field(default=24, ge=0, le=24 * 31)

    @model_validator(mode="after")
    def _urls(self) -> Self:
        for name in ("base_url", "bi_base_url", "mcp_url"):
            if not getattr(self, name).startswith(("https://", "http://")):
                raise ValueError(f"{name} must be an http(s) URL")
        return self

    @property
    def refresh_every_s(self) -> float | None:
        return self.refresh_every_hours * 3600 if self.refresh_every_hours > 0 else None

    @property
    def polling_window(self) -> timedelta:
        return timedelta(minutes=self.polling_window_minutes)


class EkyteCredentials(BaseModel):
    """The connection secret: the integration key of the company (`apiKey` + `CompanyId`), the BI
    key (the integration key when absent: whether they are one key is unconfirmed) and,
    optionally, the acting user's MCP token (Configurações > Usuário): with it, existing tasks are
    updated and notes can become task comments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr = Field(min_length=1)
    company_id: int = Field(ge=1)
    bi_api_key: SecretStr | None = None
    mcp_token: SecretStr | None = None

    @field_validator("mcp_token", "bi_api_key", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
