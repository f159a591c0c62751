"""The weekly digest for care-plan review: one row per local day of a Monday-to-Sunday week (pure)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from dashboard.charts import clock_label, rhythm
from dashboard.views import IncidentView
from store.base import HourlyActivity

NIGHT_HOURS = range(0, 5)


@dataclass(frozen=True, slots=True)
class DigestDay:
    day: date
    events: int
    active_hours: int
    night_events: int
    wake_minute: int | None
    bed_minute: int | None
    incidents_opened: int
    hot_hours: float | None = None  # at 厳重警戒 or above (docs/climate.md); None: no room sensor


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


EARLIEST_WEEK: Final = date(2000, 1, 3)
LATEST_WEEK: Final = date(2199, 12, 30)


def parse_week(value: str | None, today: date) -> date:
    """The Monday of the week named by ``YYYY-MM-DD`` (any day of it), or of last week by default.
    Raises ValueError for a day outside 2000–2199 (whose neighbouring weeks a page could not name)."""
    if value:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return week_start(today) - timedelta(days=7)
        if not EARLIEST_WEEK <= day <= LATEST_WEEK:
            raise ValueError(f"week {value[:10]} is outside {EARLIEST_WEEK.year}–{LATEST_WEEK.year}")
        return week_start(day)
    return week_start(today) - timedelta(days=7)


def digest_days(
    start: date,
    rollups: Iterable[HourlyActivity],
    times: Sequence[datetime],
    incidents: Iterable[IncidentView],
    tz: ZoneInfo,
) -> list[DigestDay]:
    days = tuple(start + timedelta(days=i) for i in range(7))
    events: dict[date, int] = defaultdict(int)
    hours: dict[date, set[int]] = defaultdict(set)
    night: dict[date, int] = defaultdict(int)
    for roll in rollups:
        local = roll.hour.astimezone(tz)
        events[local.date()] += roll.count
        hours[local.date()].add(local.hour)
        if local.hour in NIGHT_HOURS:
            night[local.date()] += roll.count
    opened: dict[date, int] = defaultdict(int)
    for incident in incidents:
        opened[incident.opened_at.astimezone(tz).date()] += 1
    rhythms = {r.day: r for r in rhythm(times, days, tz)}
    return [
        DigestDay(
            d, events[d], len(hours[d]), night[d], rhythms[d].wake_minute, rhythms[d].bed_minute, opened[d]
        )
        for d in days
    ]


CSV_HEADER = (
    "household",
    "date",
    "activity_events",
    "active_hours",
    "night_events",
    "wake_up",
    "bedtime",
    "incidents_opened",
)
HOT_COLUMN = "hours_severe_heat"  # only for homes with room sensors (docs/climate.md)


def digest_csv(household: str, days: Sequence[DigestDay]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    hot = any(d.hot_hours is not None for d in days)
    writer.writerow((*CSV_HEADER, HOT_COLUMN) if hot else CSV_HEADER)
    for d in days:
        row = (
            household,
            d.day.isoformat(),
            d.events,
            d.active_hours,
            d.night_events,
            "" if d.wake_minute is None else clock_label(d.wake_minute),
            "" if d.bed_minute is None else clock_label(d.bed_minute),
            d.incidents_opened,
        )
        writer.writerow((*row, d.hot_hours) if hot else row)
    return out.getvalue()
