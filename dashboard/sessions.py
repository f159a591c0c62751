"""Server-side sessions for aiohttp-session: the cookie holds only a random id; the data and the
expiry live in SQLite and the expiry is checked on the server against the injected clock: an absolute
lifetime from sign-in, and an idle timeout (a session not used for that long ends).

Signing out deletes the row, so a copied cookie is worthless afterwards.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from dashboard.users import UserStore, to_ms
from mimamori.clock import Clock

log = logging.getLogger(__name__)

COOKIE_NAME = "mimamori_session"
TOUCH_EVERY_MS = 60_000  # how often a used session's last use is written (not on every request)


def to_ms_delta(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


class SqliteSessionStorage(AbstractStorage):
    def __init__(
        self,
        users: UserStore,
        clock: Clock,
        lifetime: timedelta,
        *,
        secure: bool,
        idle: timedelta | None = None,
    ) -> None:
        super().__init__(
            cookie_name=COOKIE_NAME,
            max_age=int(lifetime.total_seconds()),
            secure=secure,
            httponly=True,
            samesite="Strict",
        )
        self._users = users
        self._clock = clock
        self._lifetime = lifetime
        self._idle_ms = to_ms_delta(idle or lifetime)

    async def new_session(self) -> Session:
        return Session(None, data=None, new=True, max_age=None)

    async def load_session(self, request: web.Request) -> Session:
        session_id = self.load_cookie(request)
        if session_id is None:
            return await self.new_session()
        row = self._users.db.execute(
            "SELECT data, created_ms, expires_ms, seen_ms FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            return await self.new_session()
        now = to_ms(self._clock.now())
        seen = row[1] if row[3] is None else row[3]
        if row[2] <= now or seen + self._idle_ms <= now:
            self.forget(session_id)
            log.info("dashboard.session_expired reason=%s", "absolute" if row[2] <= now else "idle")
            return await self.new_session()
        if now - seen >= TOUCH_EVERY_MS:
            with self._users.transaction() as db:
                db.execute("UPDATE sessions SET seen_ms = ? WHERE id = ?", (now, session_id))
        return Session(
            session_id,
            data={"created": row[1] // 1000, "session": json.loads(row[0])},
            new=False,
            max_age=None,
        )

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        if session.empty:
            if session.identity is not None:
                self.forget(str(session.identity))
            self.save_cookie(response, "", max_age=None)
            return
        data = json.dumps(dict(session))
        if session.identity is None:
            session_id = secrets.token_urlsafe(32)
            now = self._clock.now()
            with self._users.transaction() as db:
                db.execute(
                    "INSERT INTO sessions (id, data, created_ms, expires_ms, seen_ms) VALUES (?, ?, ?, ?, ?)",
                    (session_id, data, to_ms(now), to_ms(now + self._lifetime), to_ms(now)),
                )
            session.set_new_identity(session_id)
        else:
            session_id = str(session.identity)
            with self._users.transaction() as db:
                db.execute("UPDATE sessions SET data = ? WHERE id = ?", (data, session_id))
        self.save_cookie(response, session_id, max_age=self.max_age)

    def is_live(self, session_id: object) -> bool:
        """Whether the session still exists and has neither expired nor idled out (checked again by
        long-lived streams, which do not count as use)."""
        row = self._users.db.execute(
            "SELECT expires_ms, coalesce(seen_ms, created_ms) FROM sessions WHERE id = ?", (str(session_id),)
        ).fetchone()
        now = to_ms(self._clock.now())
        return row is not None and row[0] > now and row[1] + self._idle_ms > now

    def forget(self, session_id: str) -> None:
        with self._users.transaction() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
