"""Volunteer activity records: per volunteer and month, the alerts received, answered and claimed, the
visits made (claimed alerts closed with an outcome) and the drills answered, with points from a
configurable rule (ボランティアポイント), so that a town's point scheme is fed without retyping.

Everything is read from what escalation already records (the message queue, the audit log, the
escalation log, incidents, drills); nothing is counted twice and nothing new is written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from escalation.models import Outcome
from escalation.repository import EscalationRepository
from mimamori.config import PointsConfig
from registry.models import Contact, ContactRole, Language

VISIT_OUTCOMES: tuple[Outcome, ...] = (
    Outcome.SAFE,
    Outcome.FALSE_ALARM,
    Outcome.NO_ANSWER_AT_DOOR,
    Outcome.HOSPITAL,
    Outcome.EMERGENCY_HANDLED,
    Outcome.OTHER,
)
"""A claimed alert closed with one of these was a visit (activity resumed or superseded was not)."""
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class PointsRule:
    """Points per counted activity (``[volunteers] points`` in the configuration)."""

    alert: int = 0
    answered: int = 1
    claimed: int = 0
    visit: int = 3
    drill: int = 1


def points_rule(points: PointsConfig) -> PointsRule:
    return PointsRule(points.alert, points.answered, points.claimed, points.visit, points.drill)


@dataclass(frozen=True, slots=True)
class VolunteerRecord:
    """One volunteer's month."""

    contact: str
    name: str
    alerts: int = 0  # incidents alerted about
    answered: int = 0  # incidents answered (by SMS or on the one-tap page)
    claimed: int = 0
    visits: dict[Outcome, int] = field(default_factory=dict)  # claimed incidents closed, by outcome
    drills: int = 0  # chain health drills answered

    @property
    def visit_count(self) -> int:
        return sum(self.visits.values())

    def points(self, rule: PointsRule) -> int:
        return (
            rule.alert * self.alerts
            + rule.answered * self.answered
            + rule.claimed * self.claimed
            + rule.visit * self.visit_count
            + rule.drill * self.drills
        )


def month_span(month: str, time_zone: str) -> tuple[datetime, datetime]:
    """The start and end (aware UTC) of ``YYYY-MM`` in ``time_zone``; ValueError for a bad month."""
    m = MONTH.match(month)
    if m is None:
        raise ValueError(f"month must be YYYY-MM, not {month!r}")
    year, mon = int(m.group(1)), int(m.group(2))
    zone = ZoneInfo(time_zone)
    start = datetime(year, mon, 1, tzinfo=zone)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_of(now: datetime, time_zone: str) -> str:
    return now.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m")


def volunteers(repo: EscalationRepository, organisation: str | None = None) -> list[Contact]:
    """The volunteers, or those serving ``organisation`` (in its pool, or in a chain of one of its
    households), by id."""
    everyone = [c for c in repo.contacts() if c.role is ContactRole.VOLUNTEER]
    if organisation is None:
        return everyone
    homes = {h.id for h in repo.households(organisation=organisation)}
    return [c for c in everyone if organisation in c.pools or homes & set(repo.households_of(c.id))]


def records(
    repo: EscalationRepository, month: str, time_zone: str, organisation: str | None = None
) -> list[VolunteerRecord]:
    """One record per volunteer (of ``organisation``) for ``month`` (local to ``time_zone``)."""
    start, end = month_span(month, time_zone)
    people = volunteers(repo, organisation)
    counts: dict[str, dict[str, int]] = {c.id: {} for c in people}
    visits: dict[str, dict[Outcome, int]] = {c.id: {} for c in people}
    for contact, measure, detail, n in repo.volunteer_activity(start, end):
        if contact not in counts:
            continue
        if measure == "visit":
            visits[contact][Outcome(detail)] = n
        else:
            counts[contact][measure] = n
    return [
        VolunteerRecord(
            c.id,
            c.name,
            counts[c.id].get("alerts", 0),
            counts[c.id].get("answered", 0),
            counts[c.id].get("claimed", 0),
            visits[c.id],
            counts[c.id].get("drills", 0),
        )
        for c in people
    ]


CSV_COLUMNS = (
    "contact",
    "name",
    "alerts",
    "answered",
    "claimed",
    "visits",
    *(f"visit_{o.value}" for o in VISIT_OUTCOMES),
    "drills",
    "points",
)


def row(r: VolunteerRecord, rule: PointsRule) -> list[str | int]:
    """One volunteer's record in the order of :data:`CSV_COLUMNS`."""
    outcomes = [r.visits.get(o, 0) for o in VISIT_OUTCOMES]
    return [
        r.contact,
        r.name,
        r.alerts,
        r.answered,
        r.claimed,
        r.visit_count,
        *outcomes,
        r.drills,
        r.points(rule),
    ]


def to_csv(found: Sequence[VolunteerRecord], rule: PointsRule) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(row(r, rule) for r in found)
    return out.getvalue()


def month_label(month: str, lang: Language) -> str:
    """「2026年11月」 / "November 2026"."""
    start = datetime.strptime(month, "%Y-%m")  # noqa: DTZ007  (a calendar month, no moment)
    return f"{start.year}年{start.month}月" if lang is Language.JA else start.strftime("%B %Y")
