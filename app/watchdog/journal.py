"""The watchdog's own SQLite file: the outages it is following and the notices it owes.

Restart-proof: an outage already told is not told again after a restart, and a notice that could not
be sent yet (the provider was down) is retried until it goes. Its own file, so that a broken or locked
state file cannot silence the watchdog.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from app.watchdog.outage import Notice, NoticeKind, Outage, Part, Route
from mimamori.sqlite import connect, from_db_time, opt_time, to_db_time

SCHEMA = """
CREATE TABLE IF NOT EXISTS outages (route TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notices (
    key        TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sms_done   INTEGER NOT NULL DEFAULT 0,
    mail_done  INTEGER NOT NULL DEFAULT 0,
    folded     INTEGER NOT NULL DEFAULT 0  -- told by the alerts service's platform incident instead
);
"""


class Journal:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        db = connect(self._path, synchronous="FULL")
        db.executescript(SCHEMA)
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("watchdog journal is not open")
        return self._db

    def outages(self) -> dict[Route, Outage]:
        rows = self.db.execute("SELECT route, body FROM outages")
        return {Route(route): _outage(json.loads(body)) for route, body in rows}

    def save(self, outages: dict[Route, Outage], notices: list[Notice]) -> None:
        """The new outages and the notices they owe, in one transaction (before anything is sent)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM outages")
            for route, outage in outages.items():
                db.execute(
                    "INSERT INTO outages VALUES (?, ?)", (route.value, json.dumps(_outage_json(outage)))
                )
            for n in notices:
                db.execute(
                    "INSERT OR IGNORE INTO notices (key, body, created_at) VALUES (?, ?, ?)",
                    (n.key, json.dumps(_notice_json(n)), to_db_time(n.at)),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def owed(self) -> list[tuple[Notice, bool, bool]]:
        """Notices not yet sent on every channel: (notice, sms done, mail done), oldest first."""
        rows = self.db.execute(
            "SELECT body, sms_done, mail_done FROM notices"
            " WHERE sms_done = 0 OR mail_done = 0 ORDER BY created_at"
        )
        return [(_notice(json.loads(body)), bool(sms), bool(mail)) for body, sms, mail in rows]

    def done(self, notice: Notice, *, sms: bool = False, mail: bool = False) -> None:
        if sms:
            self.db.execute("UPDATE notices SET sms_done = 1 WHERE key = ?", (notice.key,))
        if mail:
            self.db.execute("UPDATE notices SET mail_done = 1 WHERE key = ?", (notice.key,))

    def fold(self, notice: Notice) -> None:
        """``notice`` is told by someone else (the alerts service's platform incident): not sent."""
        self.db.execute(
            "UPDATE notices SET sms_done = 1, mail_done = 1, folded = 1 WHERE key = ?", (notice.key,)
        )

    def folded(self, route: Route, since: datetime) -> bool:
        """Whether the outage of ``route`` that began at ``since`` was folded."""
        rows = self.db.execute("SELECT body FROM notices WHERE folded = 1")
        return any(
            (n := _notice(json.loads(body))).route is route
            and n.since == since
            and n.kind is NoticeKind.OUTAGE
            for (body,) in rows
        )

    def notices(self) -> list[Notice]:
        """Every notice ever owed, oldest first (tests, `mimamori watchdog --status`)."""
        rows = self.db.execute("SELECT body FROM notices ORDER BY created_at")
        return [_notice(json.loads(body)) for (body,) in rows]


def _outage_json(o: Outage) -> dict[str, Any]:
    return {
        "route": o.route.value,
        "failing_since": {p.value: to_db_time(t) for p, t in o.failing_since.items()},
        "told_at": None if o.told_at is None else to_db_time(o.told_at),
        "began_at": None if o.began_at is None else to_db_time(o.began_at),
        "parts_told": [p.value for p in o.parts_told],
        "passing_since": None if o.passing_since is None else to_db_time(o.passing_since),
        "amounts": {p.value: n for p, n in o.amounts.items()},
    }


def _outage(d: dict[str, Any]) -> Outage:
    return Outage(
        route=Route(d["route"]),
        failing_since={Part(p): from_db_time(t) for p, t in d["failing_since"].items()},
        told_at=opt_time(d["told_at"]),
        began_at=opt_time(d["began_at"]),
        parts_told=tuple(Part(p) for p in d["parts_told"]),
        passing_since=opt_time(d["passing_since"]),
        amounts={Part(p): int(n) for p, n in d["amounts"].items()},
    )


def _notice_json(n: Notice) -> dict[str, Any]:
    return {
        "route": n.route.value,
        "kind": n.kind.value,
        "parts": [p.value for p in n.parts],
        "amounts": list(n.amounts),
        "since": to_db_time(n.since),
        "at": to_db_time(n.at),
    }


def _notice(d: dict[str, Any]) -> Notice:
    return Notice(
        route=Route(d["route"]),
        kind=NoticeKind(d["kind"]),
        parts=tuple(Part(p) for p in d["parts"]),
        amounts=tuple(int(n) for n in d["amounts"]),
        since=from_db_time(d["since"]),
        at=from_db_time(d["at"]),
    )
