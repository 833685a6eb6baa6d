"""eKyte task comments ⇄ canonical notes (flow 3: notes added in eKyte reach the GHL contact).

A comment hangs under a task; the task's footer names its contact (`ghlsync.mapping.ekyte`), so a
comment is a note of that contact. Its id is `comment-<id>`, the id a GHL note written as a task
comment is linked under, so our own comments come back as echoes. Pure: no HTTP, no AWS.
"""

from datetime import datetime

from pydantic import Field

from ghlsync.mapping.canonical import CanonicalNote
from ghlsync.mapping.ekyte import _aware, _Record


class EkyteComment(_Record):
    id: int
    task_id: int | None = Field(default=None, alias="taskId")
    message: str = ""
    creation_date: datetime | None = Field(default=None, alias="creationDate")
    updated_at: datetime | None = Field(default=None, alias="updatedAt")

    @property
    def changed_at(self) -> datetime | None:
        return _aware(self.updated_at or self.creation_date)


def comment_note_id(comment_id: int) -> str:
    return f"comment-{comment_id}"


def comment_to_note(comment: EkyteComment, contact_id: str) -> CanonicalNote:
    return CanonicalNote(
        id=comment_note_id(comment.id),
        parent_id=contact_id,
        updated_at=comment.changed_at,
        body=comment.message.strip(),
    )
