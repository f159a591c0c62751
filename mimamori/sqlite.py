"""The one way Mimamori opens a SQLite file: WAL, a busy timeout, and times stored as UTC text.

Every SQLite user (the store, the registry and escalation state, episodes, dashboard accounts, the
gateway's outbox, privacy export) calls :func:`connect`, so that the journal mode, durability and lock
waiting are chosen in one place and named where they differ.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Synchronous = Literal["OFF", "NORMAL", "FULL"]

BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another process's lock before SQLite says ``database is locked``."""


class DatabaseError(Exception):
    """A database could not be used (``retryable`` when it was busy or locked)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def connect(
    path: Path,
    *,
    synchronous: Synchronous = "NORMAL",
    foreign_keys: bool = False,
    create: bool = True,
    threads: bool = True,
) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode (callers ``BEGIN`` their own transactions) with WAL.

    ``synchronous="FULL"`` for data that must survive a power cut the moment a write returns (the
    gateway's outbox, alert state); ``NORMAL`` where losing the last instants on power loss is
    harmless. ``create=False`` opens an existing file only (raises :class:`sqlite3.OperationalError`
    when it is missing). ``threads`` lets the connection be used from another thread than its
    creator's (the dashboard and the alerts service hand it to executors). Raises
    :class:`sqlite3.Error` when the file cannot be opened.
    """
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        target: str | Path = path
    else:
        target = path.resolve().as_uri() + "?mode=rw"
    db = sqlite3.connect(target, uri=not create, isolation_level=None, check_same_thread=not threads)
    try:
        db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if create:
            db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        if foreign_keys:
            db.execute("PRAGMA foreign_keys=ON")
    except BaseException:
        db.close()
        raise
    return db


def to_db_time(value: datetime) -> str:
    """An aware time as stored: ISO 8601 in UTC, to the microsecond. Naive times are refused."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def opt_time(value: str | None) -> datetime | None:
    return None if value is None else from_db_time(value)


def opt_db_time(value: datetime | None) -> str | None:
    return None if value is None else to_db_time(value)
