"""A disaster check's tables in the escalation state file (``escalation/schema.sql``).

:class:`DisasterRecords` reads and writes them through an open :class:`EscalationRepository` (its
connection and its transactions), so a reply's "safe" and its audit line commit together. Methods raise
:class:`mimamori.sqlite.DatabaseError` when the database cannot be used.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from escalation.disaster.models import CheckHousehold, DisasterCheck, SafeBy
from escalation.repository import EscalationRepository
from mimamori.sqlite import DatabaseError, from_db_time, opt_db_time, opt_time, to_db_time
from registry.models import Need

_CHECK = (
    "id, organisation, area, requested_at, requested_by, started_at, ends_at, end_requested_by, ended_at,"
    " report"
)
_HOUSEHOLD = (
    "check_id, household, area, lives_alone, needs, resident, texted_at, last_activity_at, blind, safe_at,"
    " safe_by, help_at, asked_at, asked, visiting"
)
KEY_PREFIX = "disaster:"
"""Idempotency keys of a check's messages: ``disaster:<check>:<household>:<contact>``."""


class DisasterRecords:
    def __init__(self, repo: EscalationRepository) -> None:
        self.repo = repo

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.repo.db.execute(sql, args)
        except sqlite3.OperationalError as exc:
            raise DatabaseError(f"state query failed: {exc}", retryable="locked" in str(exc)) from exc

    # -- checks --------------------------------------------------------------------------------------
    def request(self, check: DisasterCheck) -> DisasterCheck | None:
        """Store a requested check; the open check in the way (same organisation, or either is every
        organisation's) instead, when there is one."""
        with self.repo.transaction():
            for other in self.open_checks():
                if other.organisation is None or check.organisation in (None, other.organisation):
                    return other
            self._exec(
                "INSERT INTO disaster_checks (id, organisation, area, requested_at, requested_by)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    check.id,
                    check.organisation,
                    check.area,
                    to_db_time(check.requested_at),
                    check.requested_by,
                ),
            )
        return None

    def check(self, check_id: str) -> DisasterCheck | None:
        row = self._exec(f"SELECT {_CHECK} FROM disaster_checks WHERE id = ?", (check_id,)).fetchone()  # noqa: S608
        return None if row is None else _check(row)

    def open_checks(self) -> list[DisasterCheck]:
        """Requested or running, oldest first."""
        rows = self._exec(
            f"SELECT {_CHECK} FROM disaster_checks WHERE ended_at IS NULL ORDER BY requested_at, id"  # noqa: S608
        )
        return [_check(r) for r in rows]

    def latest(self, organisation: str | None = None) -> DisasterCheck | None:
        """The open check (of ``organisation``, or every organisation's), else the newest ended one."""
        sql = f"SELECT {_CHECK} FROM disaster_checks"  # noqa: S608
        args: list[Any] = []
        if organisation is not None:
            sql += " WHERE organisation = ? OR organisation IS NULL"
            args.append(organisation)
        row = self._exec(sql + " ORDER BY ended_at IS NULL DESC, requested_at DESC LIMIT 1", args).fetchone()
        return None if row is None else _check(row)

    def start(
        self, check_id: str, started_at: datetime, ends_at: datetime, households: Iterable[CheckHousehold]
    ) -> None:
        with self.repo.transaction():
            self._exec(
                "UPDATE disaster_checks SET started_at = ?, ends_at = ? WHERE id = ? AND started_at IS NULL",
                (to_db_time(started_at), to_db_time(ends_at), check_id),
            )
            self.repo.db.executemany(
                "INSERT OR IGNORE INTO disaster_households (check_id, household, area, lives_alone, needs,"
                " resident, last_activity_at, blind) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        check_id,
                        h.household,
                        h.area,
                        int(h.lives_alone),
                        ",".join(h.needs),
                        h.resident,
                        opt_db_time(h.last_activity_at),
                        int(h.blind),
                    )
                    for h in households
                ],
            )

    def request_end(self, check_id: str, by: str) -> bool:
        cur = self._exec(
            "UPDATE disaster_checks SET end_requested_by = ? WHERE id = ? AND ended_at IS NULL"
            " AND end_requested_by IS NULL",
            (by, check_id),
        )
        return cur.rowcount == 1

    def end(self, check_id: str, at: datetime, report: str) -> bool:
        cur = self._exec(
            "UPDATE disaster_checks SET ended_at = ?, report = ? WHERE id = ? AND ended_at IS NULL",
            (to_db_time(at), report, check_id),
        )
        return cur.rowcount == 1

    # -- households ----------------------------------------------------------------------------------
    def households(self, check_id: str) -> list[CheckHousehold]:
        rows = self._exec(
            f"SELECT {_HOUSEHOLD} FROM disaster_households WHERE check_id = ? ORDER BY household",  # noqa: S608
            (check_id,),
        )
        return [_household(r) for r in rows]

    def household(self, check_id: str, household: str) -> CheckHousehold | None:
        row = self._exec(
            f"SELECT {_HOUSEHOLD} FROM disaster_households WHERE check_id = ? AND household = ?",  # noqa: S608
            (check_id, household),
        ).fetchone()
        return None if row is None else _household(row)

    def to_text(self, check_id: str, limit: int) -> list[CheckHousehold]:
        """Households whose resident is not texted yet (and not already safe), most in need first is not
        known here: in id order (every one is texted within minutes)."""
        rows = self._exec(
            f"SELECT {_HOUSEHOLD} FROM disaster_households WHERE check_id = ? AND texted_at IS NULL"  # noqa: S608
            " AND resident IS NOT NULL AND safe_at IS NULL ORDER BY household LIMIT ?",
            (check_id, limit),
        )
        return [_household(r) for r in rows]

    def mark_texted(self, check_id: str, household: str, at: datetime) -> None:
        self._exec(
            "UPDATE disaster_households SET texted_at = ? WHERE check_id = ? AND household = ?",
            (to_db_time(at), check_id, household),
        )

    def queued(self, check_id: str) -> int:
        """The check's messages still waiting in the SMS queue."""
        row = self._exec(
            "SELECT count(*) FROM sms_messages WHERE status IN ('queued', 'sending')"
            " AND idempotency_key >= ? AND idempotency_key < ?",
            (f"{KEY_PREFIX}{check_id}:", f"{KEY_PREFIX}{check_id};"),
        ).fetchone()
        return int(row[0])

    def sms_counts(self, check_id: str) -> dict[str, int]:
        """The check's messages by status."""
        rows = self._exec(
            "SELECT status, count(*) FROM sms_messages WHERE idempotency_key >= ? AND idempotency_key < ?"
            " GROUP BY status",
            (f"{KEY_PREFIX}{check_id}:", f"{KEY_PREFIX}{check_id};"),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def seen(self, check_id: str) -> dict[str, tuple[str | None, bool, bool]]:
        """Each household's (newest activity as stored, blind, safe): what a tick compares, unparsed."""
        rows = self._exec(
            "SELECT household, last_activity_at, blind, safe_at IS NOT NULL FROM disaster_households"
            " WHERE check_id = ?",
            (check_id,),
        )
        return {str(r[0]): (r[1], bool(r[2]), bool(r[3])) for r in rows}

    def update_seen(self, check_id: str, seen: Iterable[tuple[str, datetime | None, bool]]) -> None:
        """(household, newest activity, blind) as the alerts service sees them now."""
        self.repo.db.executemany(
            "UPDATE disaster_households SET last_activity_at = ?, blind = ?"
            " WHERE check_id = ? AND household = ?",
            [(opt_db_time(at), int(blind), check_id, h) for h, at, blind in seen],
        )

    def mark_safe(self, check_id: str, household: str, at: datetime, by: SafeBy) -> bool:
        """False when it was already safe (the first way counts)."""
        cur = self._exec(
            "UPDATE disaster_households SET safe_at = ?, safe_by = ? WHERE check_id = ? AND household = ?"
            " AND safe_at IS NULL",
            (to_db_time(at), by.value, check_id, household),
        )
        return cur.rowcount == 1

    def mark_help(self, check_id: str, household: str, at: datetime) -> bool:
        cur = self._exec(
            "UPDATE disaster_households SET help_at = ? WHERE check_id = ? AND household = ?"
            " AND help_at IS NULL",
            (to_db_time(at), check_id, household),
        )
        return cur.rowcount == 1

    def mark_asked(self, check_id: str, household: str, volunteer: str, at: datetime) -> None:
        self._exec(
            "UPDATE disaster_households SET asked_at = ?, asked = ? WHERE check_id = ? AND household = ?",
            (to_db_time(at), volunteer, check_id, household),
        )

    def set_visiting(self, check_id: str, household: str, contact: str) -> bool:
        cur = self._exec(
            "UPDATE disaster_households SET visiting = ? WHERE check_id = ? AND household = ?"
            " AND visiting IS NULL",
            (contact, check_id, household),
        )
        return cur.rowcount == 1

    def for_contact(self, contact_ids: Sequence[str]) -> list[CheckHousehold]:
        """Households of running checks whose resident (one of these contacts) was texted."""
        return self._of_running("resident", contact_ids, "h.texted_at IS NOT NULL")

    def _of_running(self, column: str, contact_ids: Sequence[str], where: str) -> list[CheckHousehold]:
        if not contact_ids:
            return []
        marks = ",".join("?" * len(contact_ids))
        rows = self._exec(
            f"SELECT {', '.join('h.' + c.strip() for c in _HOUSEHOLD.split(','))}"  # noqa: S608
            " FROM disaster_households h JOIN disaster_checks c ON c.id = h.check_id"
            f" WHERE c.started_at IS NOT NULL AND c.ended_at IS NULL AND h.{column} IN ({marks}) AND {where}",
            list(contact_ids),
        )
        return [_household(r) for r in rows]

    def asked(self, contact_ids: Sequence[str]) -> list[CheckHousehold]:
        """Households of running checks these contacts (volunteers) were asked to look at."""
        return self._of_running("asked", contact_ids, "h.asked_at IS NOT NULL")

    # -- volunteers asked by area ----------------------------------------------------------------------
    def add_ask(self, check_id: str, area: str, at: datetime, by: str) -> bool:
        cur = self._exec(
            "INSERT OR IGNORE INTO disaster_asks (check_id, area, asked_at, asked_by) VALUES (?, ?, ?, ?)",
            (check_id, area, to_db_time(at), by),
        )
        return cur.rowcount == 1

    def asked_areas(self, check_id: str) -> list[str]:
        rows = self._exec("SELECT area FROM disaster_asks WHERE check_id = ? ORDER BY asked_at", (check_id,))
        return [str(r[0]) for r in rows]

    def asks_sent_since(self, check_id: str, since: datetime) -> int:
        row = self._exec(
            "SELECT count(*) FROM disaster_households WHERE check_id = ? AND asked_at >= ?",
            (check_id, to_db_time(since)),
        ).fetchone()
        return int(row[0])

    # -- one-tap links -------------------------------------------------------------------------------
    def link_id(self, check_id: str, household: str, contact: str, expires_at: datetime) -> int:
        self._exec(
            "INSERT OR IGNORE INTO disaster_links (check_id, household, contact, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (check_id, household, contact, to_db_time(expires_at)),
        )
        row = self._exec(
            "SELECT id FROM disaster_links WHERE check_id = ? AND household = ? AND contact = ?",
            (check_id, household, contact),
        ).fetchone()
        return int(row[0])

    def link(self, link_id: int) -> tuple[str, str, str] | None:
        """(check, household, contact) of a link."""
        row = self._exec(
            "SELECT check_id, household, contact FROM disaster_links WHERE id = ?", (link_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))


def _check(r: Sequence[Any]) -> DisasterCheck:
    return DisasterCheck(
        id=r[0],
        organisation=r[1],
        area=r[2],
        requested_at=from_db_time(r[3]),
        requested_by=r[4],
        started_at=opt_time(r[5]),
        ends_at=opt_time(r[6]),
        end_requested_by=r[7],
        ended_at=opt_time(r[8]),
        report=r[9],
    )


def _household(r: Sequence[Any]) -> CheckHousehold:
    return CheckHousehold(
        check=r[0],
        household=r[1],
        area=r[2],
        lives_alone=bool(r[3]),
        needs=tuple(Need(n) for n in r[4].split(",") if n),
        resident=r[5],
        texted_at=opt_time(r[6]),
        last_activity_at=opt_time(r[7]),
        blind=bool(r[8]),
        safe_at=opt_time(r[9]),
        safe_by=SafeBy(r[10]) if r[10] else None,
        help_at=opt_time(r[11]),
        asked_at=opt_time(r[12]),
        asked=r[13],
        visiting=r[14],
    )
