"""A durable SQLite outbox: put → peek → publish → delete by id after the broker's acknowledgement."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mimamori.contract import Event


class Outbox:
    """Events waiting to go upstream, in one SQLite file that survives power loss."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " topic TEXT NOT NULL, payload BLOB NOT NULL)"
        )
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self._db = db

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("outbox is not open")
        return self._db

    def next_seq(self) -> int:
        """A gateway sequence number that never repeats, even across restarts."""
        db = self._conn()
        row = db.execute(
            "INSERT INTO meta VALUES ('seq', 1)"
            " ON CONFLICT(key) DO UPDATE SET value = value + 1 RETURNING value"
        ).fetchone()
        return int(row[0])

    def put(self, topic: str, event: Event) -> int:
        cur = self._conn().execute(
            "INSERT INTO outbox (topic, payload) VALUES (?, ?)", (topic, event.encode())
        )
        return int(cur.lastrowid or 0)

    def peek(self, limit: int) -> list[tuple[int, str, bytes]]:
        rows = self._conn().execute("SELECT id, topic, payload FROM outbox ORDER BY id LIMIT ?", (limit,))
        return [(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]

    def delete(self, ids: list[int]) -> None:
        self._conn().executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def depth(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
