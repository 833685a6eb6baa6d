"""Per-connection Kayako settings (non-secret) and credentials (from the connection's secret)."""

import re
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ghlsync.mapping.kayako import KayakoMappingConfig

_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class KayakoSettings(KayakoMappingConfig):
    """Where the instance is, how hard to retry, and (inherited) how records map."""

    # https://{subdomain}.kayako.com/api/v1, unless base_url (the sandbox, a proxy) is given.
    subdomain: str | None = None
    base_url: str | None = None
    max_retries: int = Field(default=3, ge=0, le=10)
    # A Retry-After longer than this is not slept on: the event goes back to the queue instead.
    max_retry_after_s: float = Field(default=20.0, ge=0)
    # Total time one call may spend sleeping between attempts (keeps Lambda inside its timeout).
    max_total_wait_s: float = Field(default=45.0, ge=0)
    page_size: int = Field(default=100, ge=1, le=100)
    # When GHL changes a contact's e-mail, delete the user's former primary address after making
    # the new one primary, so the old address is free for someone else. Kayako's public API
    # reference does not list DELETE identities/emails/:id; Kayako's own agent app calls it and
    # its help centre documents removing a non-primary address. False keeps the old address as a
    # secondary identity (Kayako's default behaviour); another user can then not take it.
    replace_changed_email: bool = True
    # Users whose last read (record, ETag, tags) is kept for the update that follows it. The
    # engine reads a user and then writes it, so one is the hot case; the bound keeps a warm
    # Lambda's memory flat however many users it has read.
    read_cache_size: int = Field(default=32, ge=0, le=1024)

    @model_validator(mode="after")
    def _has_location(self) -> Self:
        if self.base_url is None and self.subdomain is None:
            raise ValueError("set subdomain (or base_url)")
        if self.subdomain is not None and not _SUBDOMAIN.match(self.subdomain):
            raise ValueError("subdomain must be a DNS label such as 'acme'")
        if self.base_url is not None and not self.base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        return self

    @property
    def api_base(self) -> str:
        return (self.base_url or f"https://{self.subdomain}.kayako.com/api/v1").rstrip("/")


class KayakoCredentials(BaseModel):
    """The connection secret: a dedicated agent login (no 2FA) and the automation endpoint token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str = Field(min_length=3)
    password: SecretStr
    # The token Kayako's automation endpoint URL carries (?token=) or sends (X-Ghlsync-Token).
    webhook_token: SecretStr = Field(min_length=16)
