"""Dashboard accounts in SQLite: users (argon2 hashes), their organisation and role, household
assignments, failed-login records, second factors (TOTP secrets, hashed recovery codes:
:mod:`dashboard.second_factor`).

Staff see only their organisation's households: care managers those assigned to them, viewers those of
their area (all of the organisation without one), organisation administrators all of it; platform
administrators see every household (docs/community.md, *Roles*). Files from before organisations gain
the columns on open: their users are in ``default``, and their ``admin`` is the platform administrator.
The same file holds the server-side sessions (:mod:`dashboard.sessions`). The constructor does no
I/O; :meth:`UserStore.open` creates the file and the tables.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mimamori.contract import ID_RE
from mimamori.sqlite import connect
from registry.models import DEFAULT_ORGANISATION

USERNAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH: Final = 12

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS users (
    username      TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    language      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS assignments (
    username  TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    household TEXT NOT NULL,
    PRIMARY KEY (username, household)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS login_failures (
    key     TEXT NOT NULL,
    at_ms   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at_ms);
CREATE TABLE IF NOT EXISTS sessions (
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_ms);
CREATE TABLE IF NOT EXISTS second_factors (
    username    TEXT PRIMARY KEY REFERENCES users (username) ON DELETE CASCADE,
    totp_secret TEXT NOT NULL,
    last_step   INTEGER,  -- the newest TOTP time step used: never accepted again
    enrolled_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recovery_codes (
    username  TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_ms   INTEGER,
    PRIMARY KEY (username, code_hash)
) WITHOUT ROWID;
"""


class StaffRole(StrEnum):
    CARE_MANAGER = "care_manager"  # sees and edits the households assigned to them
    ORG_ADMIN = "org_admin"  # everything of one organisation: users, households, contacts, policies
    VIEWER = "viewer"  # reads the organisation's households (of one area when given), edits nothing
    ADMIN = "admin"  # the platform administrator: every organisation


class UserError(Exception):
    """A user could not be created or changed; the message says why."""


@dataclass(frozen=True, slots=True)
class User:
    username: str
    display_name: str
    role: StaffRole
    language: str  # "ja" or "en"
    organisation: str = DEFAULT_ORGANISATION
    area: str = ""  # viewers: the one area they read ("": the whole organisation)

    @property
    def is_admin(self) -> bool:
        """The platform administrator (every organisation)."""
        return self.role is StaffRole.ADMIN

    @property
    def manages(self) -> bool:
        """May manage users, households and policies (of its organisation, or all for the platform)."""
        return self.role in (StaffRole.ADMIN, StaffRole.ORG_ADMIN)

    @property
    def read_only(self) -> bool:
        return self.role is StaffRole.VIEWER


@dataclass(frozen=True, slots=True)
class SecondFactor:
    totp_secret: str
    last_step: int | None
    recovery_left: int


SELECT_USERS: Final = "SELECT username, display_name, role, language, organisation, area FROM users"
MAX_NAME: Final = 80


def _user(row: sqlite3.Row | tuple[str, ...]) -> User:
    return User(row[0], row[1], StaffRole(row[2]), row[3], row[4], row[5])


def _check(user: User) -> None:
    if user.language not in ("ja", "en"):
        raise UserError("language: ja or en")
    if not ID_RE.match(user.organisation):
        raise UserError("organisation: 1-64 characters a-z 0-9 _ -")
    if len(user.display_name) > MAX_NAME or len(user.area) > 40:
        raise UserError(f"name: at most {MAX_NAME} characters; area: at most 40")


def to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class UserStore:
    """Users, assignments, failed logins and sessions in one SQLite file (WAL)."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self._path = path
        self._hasher = hasher or PasswordHasher()
        self._db: sqlite3.Connection | None = None
        self._dummy_hash: str | None = None

    def open(self) -> None:
        db = connect(self._path, synchronous="FULL", foreign_keys=True)
        db.executescript(SCHEMA)
        if "seen_ms" not in {row[1] for row in db.execute("PRAGMA table_info(sessions)")}:
            db.execute("ALTER TABLE sessions ADD COLUMN seen_ms INTEGER")  # idle timeout (files before it)
        if "organisation" not in {row[1] for row in db.execute("PRAGMA table_info(users)")}:
            # files from before organisations: everyone is in the default one
            db.execute(
                f"ALTER TABLE users ADD COLUMN organisation TEXT NOT NULL DEFAULT '{DEFAULT_ORGANISATION}'"
            )
            db.execute("ALTER TABLE users ADD COLUMN area TEXT NOT NULL DEFAULT ''")
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("user store is not open")
        return self._db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # users

    def add_user(
        self,
        username: str,
        display_name: str,
        role: StaffRole,
        password: str,
        *,
        language: str = "ja",
        organisation: str = DEFAULT_ORGANISATION,
        area: str = "",
        now: datetime,
    ) -> User:
        if not USERNAME_RE.match(username):
            raise UserError("username: 2-64 characters a-z 0-9 . _ - starting with a letter or digit")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
        user = User(username, display_name.strip() or username, role, language, organisation, area.strip())
        _check(user)
        hashed = self._hasher.hash(password)
        try:
            with self.transaction() as db:
                db.execute(
                    "INSERT INTO users (username, display_name, role, language, password_hash, created_ms,"
                    " organisation, area) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        username,
                        user.display_name,
                        role.value,
                        language,
                        hashed,
                        to_ms(now),
                        organisation,
                        user.area,
                    ),
                )
        except sqlite3.IntegrityError:
            raise UserError(f"user {username!r} already exists") from None
        return user

    def save_user(self, user: User) -> None:
        """Changes a user's name, role, language, organisation and area (not the password)."""
        _check(user)
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE users SET display_name = ?, role = ?, language = ?, organisation = ?, area = ?"
                " WHERE username = ?",
                (
                    user.display_name,
                    user.role.value,
                    user.language,
                    user.organisation,
                    user.area,
                    user.username,
                ),
            ).rowcount
        if not changed:
            raise UserError(f"no user {user.username!r}")

    def set_password(self, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?",
                (self._hasher.hash(password), username),
            ).rowcount
        if not changed:
            raise UserError(f"no user {username!r}")

    def user(self, username: str) -> User | None:
        row = self.db.execute(SELECT_USERS + " WHERE username = ?", (username,)).fetchone()
        return None if row is None else _user(row)

    def users(self, organisation: str | None = None) -> list[User]:
        """Every user (or those of one organisation), by user name."""
        if organisation is None:
            rows = self.db.execute(SELECT_USERS + " ORDER BY username")
        else:
            rows = self.db.execute(
                SELECT_USERS + " WHERE organisation = ? ORDER BY username", (organisation,)
            )
        return [_user(r) for r in rows]

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches; None otherwise (same work whether or not the user exists)."""
        row = self.db.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash("not-a-password-of-anyone")
            self._verify(self._dummy_hash, password)
            return None
        stored: str = row[0]
        if not self._verify(stored, password):
            return None
        if self._hasher.check_needs_rehash(stored):
            with self.transaction() as db:
                db.execute(
                    "UPDATE users SET password_hash = ? WHERE username = ?",
                    (self._hasher.hash(password), username),
                )
        return self.user(username)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    # assignments

    def assign(self, username: str, household: str) -> None:
        if self.user(username) is None:
            raise UserError(f"no user {username!r}")
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO assignments VALUES (?, ?)", (username, household))

    def unassign(self, username: str, household: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM assignments WHERE username = ? AND household = ?", (username, household))

    def assigned(self, username: str) -> frozenset[str]:
        rows = self.db.execute("SELECT household FROM assignments WHERE username = ?", (username,))
        return frozenset(r[0] for r in rows)

    def set_assigned(self, username: str, households: Collection[str]) -> None:
        """Replaces a user's assignments."""
        with self.transaction() as db:
            db.execute("DELETE FROM assignments WHERE username = ?", (username,))
            db.executemany(
                "INSERT INTO assignments VALUES (?, ?)", [(username, h) for h in sorted(households)]
            )

    # second factor

    def second_factor(self, username: str) -> SecondFactor | None:
        row = self.db.execute(
            "SELECT totp_secret, last_step FROM second_factors WHERE username = ?", (username,)
        ).fetchone()
        if row is None:
            return None
        left = self.db.execute(
            "SELECT count(*) FROM recovery_codes WHERE username = ? AND used_ms IS NULL", (username,)
        ).fetchone()[0]
        return SecondFactor(row[0], row[1], int(left))

    def enrol_second_factor(
        self, username: str, secret: str, step: int, recovery_hashes: list[str], now: datetime
    ) -> None:
        """Keep ``secret`` (confirmed with the code of ``step``) and fresh recovery codes, replacing any."""
        with self.transaction() as db:
            db.execute("DELETE FROM recovery_codes WHERE username = ?", (username,))
            db.execute(
                "INSERT OR REPLACE INTO second_factors VALUES (?, ?, ?, ?)",
                (username, secret, step, to_ms(now)),
            )
            db.executemany(
                "INSERT INTO recovery_codes VALUES (?, ?, NULL)", [(username, h) for h in recovery_hashes]
            )

    def use_totp_step(self, username: str, step: int) -> bool:
        """Record ``step`` as used; False when it (or a later one) was used already (a replay)."""
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE second_factors SET last_step = ? WHERE username = ?"
                " AND (last_step IS NULL OR last_step < ?)",
                (step, username, step),
            ).rowcount
        return bool(changed)

    def use_recovery_code(self, username: str, code_hash: str, now: datetime) -> bool:
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE recovery_codes SET used_ms = ?"
                " WHERE username = ? AND code_hash = ? AND used_ms IS NULL",
                (to_ms(now), username, code_hash),
            ).rowcount
        return bool(changed)

    def remove_second_factor(self, username: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM recovery_codes WHERE username = ?", (username,))
            db.execute("DELETE FROM second_factors WHERE username = ?", (username,))

    # failed logins (throttling)

    def record_failure(self, keys: tuple[str, ...], at: datetime) -> None:
        with self.transaction() as db:
            db.executemany("INSERT INTO login_failures VALUES (?, ?)", [(k, to_ms(at)) for k in keys])

    def failures_since(self, key: str, since: datetime) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM login_failures WHERE key = ? AND at_ms >= ?", (key, to_ms(since))
        ).fetchone()
        return int(row[0])

    def clear_failures(self, key: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM login_failures WHERE key = ?", (key,))

    def prune(self, now: datetime, keep_failures_ms: int) -> int:
        """Delete expired sessions and old failure records; returns how many rows went."""
        with self.transaction() as db:
            gone = db.execute("DELETE FROM sessions WHERE expires_ms <= ?", (to_ms(now),)).rowcount
            gone += db.execute(
                "DELETE FROM login_failures WHERE at_ms < ?", (to_ms(now) - keep_failures_ms,)
            ).rowcount
        return gone
