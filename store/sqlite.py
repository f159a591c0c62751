"""SQLite adapter of the Store port: the embedded default (WAL, one file)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from mimamori.contract import Event, format_time
from store.base import StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    message_id  TEXT PRIMARY KEY,
    household   TEXT NOT NULL,
    gateway     TEXT NOT NULL,
    device      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    value       REAL NOT NULL,
    observed_at TEXT NOT NULL,
    seq         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_household_time ON events (household, observed_at);
"""


class SqliteEventStore:
    """Events in one SQLite file. Opened lazily by :meth:`open`; the constructor does no I/O."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=10000")
        db.executescript(SCHEMA)
        self._db = db

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("store is not open", retryable=False)
        return self._db

    def write_events(self, events: Sequence[Event]) -> int:
        db = self._conn()
        rows = [
            (
                e.message_id,
                e.household,
                e.gateway,
                e.device,
                e.kind.value,
                e.value,
                format_time(e.observed_at),
                e.seq,
            )
            for e in events
        ]
        try:
            db.execute("BEGIN IMMEDIATE")
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            inserted = db.total_changes - before
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StoreError(f"sqlite write failed: {exc}", retryable=True) from exc
        return inserted

    def count_events(self, household: str | None = None) -> int:
        db = self._conn()
        if household is None:
            row = db.execute("SELECT count(*) FROM events").fetchone()
        else:
            row = db.execute("SELECT count(*) FROM events WHERE household = ?", (household,)).fetchone()
        return int(row[0])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
