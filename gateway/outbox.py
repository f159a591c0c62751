"""A durable SQLite outbox: put → publish → delete by ``seq`` once ingest says the events are stored.

Each row carries the gateway sequence number its event was encoded with; ingest's end-to-end
acknowledgement names those numbers (``contract.Ack``), so rows are deleted by seq, never "up to"
anything. A row the upstream broker refuses for good (too large) moves to ``dead_letters`` with its
reason instead of being retried forever.

Bounded by ``max_events``. When it is full the policy says what gives: ``drop_oldest`` (default:
the newest readings matter most to someone waiting for news) or ``refuse_new``. Either way every
dropped event is counted and the start of each full episode is logged at ERROR — data is being lost
and someone must look at the home's uplink.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from mimamori.sqlite import connect

log = logging.getLogger(__name__)

T = TypeVar("T")


class FullPolicy(StrEnum):
    DROP_OLDEST = "drop_oldest"
    REFUSE_NEW = "refuse_new"


Row = tuple[int, str, bytes, int | None]
"""id, topic, payload, the event's gateway sequence number (None only for rows of an old outbox
whose payload had none)."""


class Outbox:
    """Events waiting to go upstream, in one SQLite file that survives power loss (WAL, synchronous=FULL)."""

    def __init__(
        self, path: Path, max_events: int = 200_000, policy: FullPolicy = FullPolicy.DROP_OLDEST
    ) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self._path = path
        self._max = max_events
        self._policy = policy
        self._db: sqlite3.Connection | None = None
        self._depth = 0
        self._full = False
        self.dropped = 0

    def open(self) -> None:
        db = connect(self._path, synchronous="FULL", threads=False)
        db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " topic TEXT NOT NULL, payload BLOB NOT NULL, seq INTEGER)"
        )
        if "seq" not in {row[1] for row in db.execute("PRAGMA table_info(outbox)")}:
            _add_seq_column(db)
        db.execute("CREATE INDEX IF NOT EXISTS outbox_seq ON outbox (seq)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " dead_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
            " topic TEXT NOT NULL, payload BLOB NOT NULL, reason TEXT NOT NULL)"
        )
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS device_state (device TEXT NOT NULL, kind TEXT NOT NULL,"
            " value REAL NOT NULL, PRIMARY KEY (device, kind))"
        )
        self._db = db
        self._depth = int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("outbox is not open")
        return self._db

    def put_many(
        self,
        topic: str,
        items: Sequence[T],
        encode: Callable[[T, int], bytes],
        state: Mapping[tuple[str, str], float] | None = None,
    ) -> int:
        """Store ``items`` in one transaction, each encoded with its own gateway sequence number (never
        repeated, even across restarts), together with the devices' last known ``state`` (see
        :meth:`device_state`). Returns how many were stored (fewer under ``refuse_new``)."""
        if not items and not state:
            return 0
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
            seq = int(row[0]) if row else 0
            keep = list(items)
            over = self._depth + len(keep) - self._max
            dropped = 0
            if over > 0 and self._policy is FullPolicy.REFUSE_NEW:
                dropped = min(over, len(keep))
                keep = keep[: len(keep) - dropped]
            elif over > 0:
                oldest = min(over, self._depth)
                db.execute(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (oldest,)
                )
                self._depth -= oldest
                dropped = oldest + max(0, over - oldest)
                keep = keep[max(0, over - oldest) :]
            rows = [(topic, encode(item, seq + n + 1), seq + n + 1) for n, item in enumerate(keep)]
            db.executemany("INSERT INTO outbox (topic, payload, seq) VALUES (?, ?, ?)", rows)
            db.execute(
                "INSERT INTO meta VALUES ('seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (seq + len(keep),),
            )
            if state:
                db.executemany(
                    "INSERT INTO device_state VALUES (?, ?, ?)"
                    " ON CONFLICT(device, kind) DO UPDATE SET value = excluded.value",
                    [(device, kind, value) for (device, kind), value in state.items()],
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._depth += len(rows)
        self._account(dropped)
        return len(rows)

    def _account(self, dropped: int) -> None:
        if dropped:
            self.dropped += dropped
            if not self._full:
                self._full = True
                log.error(
                    "gateway.outbox_full policy=%s max_events=%s dropping=%s (readings lost: check uplink)",
                    self._policy.value,
                    self._max,
                    dropped,
                )
        elif self._full and self._depth < self._max * 0.9:
            self._full = False
            log.warning("gateway.outbox_recovered depth=%s dropped_total=%s", self._depth, self.dropped)

    def device_state(self) -> dict[tuple[str, str], float]:
        """The last state committed per (device, kind), e.g. a sensor's occupancy."""
        rows = self._conn().execute("SELECT device, kind, value FROM device_state")
        return {(str(d), str(k)): float(v) for d, k, v in rows}

    def peek_after(self, floor: int, limit: int) -> list[Row]:
        """The oldest rows with id > ``floor`` (live events)."""
        return self._rows(
            "SELECT id, topic, payload, seq FROM outbox WHERE id > ? ORDER BY id LIMIT ?", floor, limit
        )

    def peek_upto(self, floor: int, limit: int) -> list[Row]:
        """The oldest rows with id <= ``floor`` (the backlog)."""
        return self._rows(
            "SELECT id, topic, payload, seq FROM outbox WHERE id <= ? ORDER BY id LIMIT ?", floor, limit
        )

    def _rows(self, sql: str, floor: int, limit: int) -> list[Row]:
        if limit <= 0:
            return []
        return [
            (int(r[0]), str(r[1]), bytes(r[2]), None if r[3] is None else int(r[3]))
            for r in self._conn().execute(sql, (floor, limit))
        ]

    def max_id(self) -> int:
        row = self._conn().execute("SELECT max(id) FROM outbox").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def delete(self, ids: list[int]) -> None:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        deleted = sum(db.execute("DELETE FROM outbox WHERE id = ?", (i,)).rowcount for i in ids)
        db.execute("COMMIT")
        self._depth -= deleted
        self._account(0)

    def delete_seqs(self, seqs: Sequence[int]) -> list[int]:
        """Delete the rows of these gateway sequence numbers (ingest has them); returns their ids."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            ids = [
                int(row[0])
                for seq in seqs
                for row in db.execute("DELETE FROM outbox WHERE seq = ? RETURNING id", (seq,))
            ]
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._depth -= len(ids)
        self._account(0)
        return ids

    def dead_letter(self, row_id: int, reason: str) -> None:
        """Move one row to ``dead_letters`` (kept for a person to look at), in one transaction."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            moved = db.execute(
                "INSERT INTO dead_letters (topic, payload, reason) SELECT topic, payload, ? FROM outbox"
                " WHERE id = ?",
                (reason, row_id),
            ).rowcount
            db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._depth -= moved
        self._account(0)

    def dead_letters(self) -> list[tuple[str, bytes, str]]:
        """Rows the upstream broker refused for good: topic, payload, reason (oldest first)."""
        rows = self._conn().execute("SELECT topic, payload, reason FROM dead_letters ORDER BY id")
        return [(str(t), bytes(p), str(r)) for t, p, r in rows]

    def depth(self) -> int:
        return self._depth

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _add_seq_column(db: sqlite3.Connection) -> None:
    """An outbox from before end-to-end acknowledgements: give its rows their events' seq."""
    db.execute("ALTER TABLE outbox ADD COLUMN seq INTEGER")
    for row_id, payload in db.execute("SELECT id, payload FROM outbox").fetchall():
        try:
            seq = json.loads(payload).get("seq")
        except (UnicodeDecodeError, ValueError, AttributeError):
            seq = None
        db.execute("UPDATE outbox SET seq = ? WHERE id = ?", (seq if isinstance(seq, int) else None, row_id))
