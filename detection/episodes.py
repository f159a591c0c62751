"""Episodes: each finding is raised once per episode, across restarts.

An episode is ``(household, episode)``: all community findings of one quiet stretch share the
episode ``quiet:<last activity>``, so a stretch raises one of them, once. The SQLite log keeps raised
findings in the ``detection_episodes`` table of the alerts state file, with a ``delivered`` flag: a
finding handed to escalation stays pending until :meth:`SqliteEpisodes.ack` says an incident holds it,
so a crash between the two neither loses it nor (with an idempotent consumer) repeats it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from detection.findings import Explanation, Finding, FindingKind, Severity
from mimamori.sqlite import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS detection_episodes (
    household        TEXT NOT NULL,
    episode          TEXT NOT NULL,
    kind             TEXT NOT NULL,
    severity         TEXT NOT NULL,
    raised_at        TEXT NOT NULL,
    last_activity_at TEXT,
    device           TEXT,
    explanation      TEXT NOT NULL,
    delivered        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (household, episode)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS detection_episodes_pending ON detection_episodes (delivered, raised_at);
"""


class EpisodeLog(Protocol):
    def add(self, finding: Finding) -> bool:
        """Record a finding; False when its episode was already raised."""
        ...

    def seen(self, household: str, episode: str) -> bool: ...


class MemoryEpisodes:
    """Episodes in a set: for replay and benchmarks, where a run is one process."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, str]] = set()

    def add(self, finding: Finding) -> bool:
        key = (finding.household, finding.episode)
        if key in self._keys:
            return False
        self._keys.add(key)
        return True

    def seen(self, household: str, episode: str) -> bool:
        return (household, episode) in self._keys


class SqliteEpisodes:
    """Raised episodes in SQLite (WAL); the constructor does no I/O, :meth:`open` does."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._keys: set[tuple[str, str]] = set()

    def open(self, *, since: datetime | None = None) -> None:
        """Open the file and load the episodes raised since ``since`` (all when None)."""
        db = connect(self._path, synchronous="FULL")
        db.executescript(SCHEMA)
        rows = db.execute(
            "SELECT household, episode FROM detection_episodes WHERE raised_at >= ?",
            ("" if since is None else since.isoformat(),),
        )
        self._keys = {(h, e) for h, e in rows}
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("episode log is not open")
        return self._db

    def add(self, finding: Finding) -> bool:
        key = (finding.household, finding.episode)
        if key in self._keys:
            return False
        cursor = self._conn().execute(
            "INSERT OR IGNORE INTO detection_episodes VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (
                finding.household,
                finding.episode,
                finding.kind.value,
                finding.severity.value,
                finding.raised_at.isoformat(),
                None if finding.last_activity_at is None else finding.last_activity_at.isoformat(),
                finding.device,
                json.dumps({"key": finding.explanation.key, "params": dict(finding.explanation.params)}),
            ),
        )
        self._keys.add(key)
        return cursor.rowcount == 1

    def seen(self, household: str, episode: str) -> bool:
        return (household, episode) in self._keys

    def pending(self) -> list[Finding]:
        """Raised findings not yet acknowledged by escalation, oldest first."""
        rows = self._conn().execute(
            "SELECT household, episode, kind, severity, raised_at, last_activity_at, device, explanation"
            " FROM detection_episodes WHERE delivered = 0 ORDER BY raised_at"
        )
        return [_row_finding(row) for row in rows]

    def ack(self, findings: list[Finding]) -> None:
        """Escalation holds these findings (an incident is open for each); stop offering them."""
        self._conn().executemany(
            "UPDATE detection_episodes SET delivered = 1 WHERE household = ? AND episode = ?",
            [(f.household, f.episode) for f in findings],
        )

    def prune(self, before: datetime) -> int:
        """Forget delivered episodes raised before ``before``; returns how many."""
        cursor = self._conn().execute(
            "DELETE FROM detection_episodes WHERE delivered = 1 AND raised_at < ?", (before.isoformat(),)
        )
        return cursor.rowcount


def retention_start(now: datetime, days: int = 35) -> datetime:
    return now - timedelta(days=days)


def _row_finding(row: tuple[str, str, str, str, str, str | None, str | None, str]) -> Finding:
    household, episode, kind, severity, raised_at, last, device, explanation = row
    data = json.loads(explanation)
    return Finding(
        household=household,
        kind=FindingKind(kind),
        severity=Severity(severity),
        raised_at=datetime.fromisoformat(raised_at),
        episode=episode,
        last_activity_at=None if last is None else datetime.fromisoformat(last),
        explanation=Explanation(data["key"], data["params"]),
        device=device,
    )
