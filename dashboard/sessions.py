"""Server-side sessions for aiohttp-session: the cookie holds only a random id; the data and the
expiry live in SQLite and the expiry is checked on the server against the injected clock.

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


class SqliteSessionStorage(AbstractStorage):
    def __init__(self, users: UserStore, clock: Clock, lifetime: timedelta, *, secure: bool) -> None:
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

    async def new_session(self) -> Session:
        return Session(None, data=None, new=True, max_age=None)

    async def load_session(self, request: web.Request) -> Session:
        session_id = self.load_cookie(request)
        if session_id is None:
            return await self.new_session()
        row = self._users.db.execute(
            "SELECT data, created_ms, expires_ms FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            return await self.new_session()
        if row[2] <= to_ms(self._clock.now()):
            self.forget(session_id)
            log.info("dashboard.session_expired")
            return await self.new_session()
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
                    "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                    (session_id, data, to_ms(now), to_ms(now + self._lifetime)),
                )
            session.set_new_identity(session_id)
        else:
            session_id = str(session.identity)
            with self._users.transaction() as db:
                db.execute("UPDATE sessions SET data = ? WHERE id = ?", (data, session_id))
        self.save_cookie(response, session_id, max_age=self.max_age)

    def is_live(self, session_id: object) -> bool:
        """Whether the session still exists and has not expired (checked again by long-lived streams)."""
        row = self._users.db.execute(
            "SELECT expires_ms FROM sessions WHERE id = ?", (str(session_id),)
        ).fetchone()
        return row is not None and row[0] > to_ms(self._clock.now())

    def forget(self, session_id: str) -> None:
        with self._users.transaction() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
