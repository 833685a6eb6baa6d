"""The bodies the workflow API accepts, and the rules of the ids in its paths.

Bodies are JSON objects with camelCase fields; unknown fields are refused (a typo must not pass
as "nothing to change"). `appId` is the app's own id of the same task or note: given, the GHL
record is linked to it, so the sync engine treats the write as its own and never copies it back.
"""

import json
import re
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ghlsync.workflow.errors import BadRequest, Unprocessable

# GHL ids are 20-24 alphanumerics; anything else (`../x`, `%2F`) cannot name a record.
GHL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The app's own ids: digits, uuids, slugs, e-mail-like keys; no slashes, spaces or controls.
APP_ID = re.compile(r"^[A-Za-z0-9_.@:-]{1,128}$")
APP_REF_PREFIX = "app:"
MAX_TITLE = 500
MAX_TEXT = 50_000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskCreateBody(_Body):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    body: str | None = Field(default=None, max_length=MAX_TEXT)
    due_date: AwareDatetime | None = Field(default=None, alias="dueDate")
    completed: bool = False
    assignee: str | None = Field(default=None, max_length=320)
    app_id: str | None = Field(default=None, alias="appId", pattern=APP_ID.pattern)


class TaskUpdateBody(_Body):
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    body: str | None = Field(default=None, max_length=MAX_TEXT)
    due_date: AwareDatetime | None = Field(default=None, alias="dueDate")
    completed: bool | None = None
    assignee: str | None = Field(default=None, max_length=320)
    app_id: str | None = Field(default=None, alias="appId", pattern=APP_ID.pattern)

    def changed(self) -> frozenset[str]:
        """The canonical task fields this body sets."""
        return frozenset(self.model_fields_set - {"app_id"})


class TaskCompletedBody(_Body):
    completed: bool
    app_id: str | None = Field(default=None, alias="appId", pattern=APP_ID.pattern)


class NoteBody(_Body):
    body: str = Field(min_length=1, max_length=MAX_TEXT)
    app_id: str | None = Field(default=None, alias="appId", pattern=APP_ID.pattern)


def parse_body[B: _Body](raw: bytes, model: type[B]) -> B:
    """The body as `model`: BadRequest when it is not a JSON object, Unprocessable naming the
    first field at fault otherwise. Values are never echoed back (they may be personal data)."""
    try:
        data: Any = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False, include_context=False)[0]
        where = ".".join(str(step) for step in first["loc"]) or "body"
        raise Unprocessable(f"{where}: {first['msg']}", field=where) from None


def valid_ghl_id(value: str) -> bool:
    return bool(GHL_ID.match(value))


def contact_ref(value: str) -> tuple[str, str] | None:
    """`("ghl", id)` or `("app", id)` for a path's contact id (`app:<id>` names the app's own);
    None when it cannot name any record."""
    if value.startswith(APP_REF_PREFIX):
        app_id = value[len(APP_REF_PREFIX) :]
        return ("app", app_id) if APP_ID.match(app_id) else None
    return ("ghl", value) if GHL_ID.match(value) else None
