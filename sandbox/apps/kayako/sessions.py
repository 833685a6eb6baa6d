"""Basic-then-session authentication (target-apps.md §1.3).

A request with `Authorization: Basic` opens a session: the response carries `session_id` and an
`X-CSRF-Token` header. Later requests send `X-Session-ID` (or `_session_id=`); POST, PUT and
DELETE must also send the CSRF token unless the authenticating request said `X-CSRF: false`.
An unknown or expired session answers 454 Session Not Found.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Session:
    session_id: str
    csrf_token: str
    user_id: int
    csrf_required: bool
    last_used_at: float


class SessionManager:
    def __init__(self, clock: Callable[[], float], idle_timeout_s: float | None = None) -> None:
        self.clock = clock
        self.idle_timeout_s = idle_timeout_s
        self.sessions: dict[str, Session] = {}

    def open(self, user_id: int, *, csrf_required: bool) -> Session:
        session = Session(
            session_id=secrets.token_urlsafe(24),
            csrf_token=secrets.token_urlsafe(24),
            user_id=user_id,
            csrf_required=csrf_required,
            last_used_at=self.clock(),
        )
        self.sessions[session.session_id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The live session, or None (unknown, expired or idle too long)."""
        session = self.sessions.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if self.idle_timeout_s is not None and now - session.last_used_at > self.idle_timeout_s:
            del self.sessions[session_id]
            return None
        session.last_used_at = now
        return session

    def close(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    def expire_all(self) -> int:
        """Forget every session (what a server-side session purge looks like to clients)."""
        count = len(self.sessions)
        self.sessions.clear()
        return count
