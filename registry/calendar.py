"""The care calendar: planned absences (day service, short stays, hospital visits) and their occurrences.

One input model validates an entry for the households import and the dashboard alike; a pure
function expands entries into dated occurrences (aware UTC) in the household's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from registry.models import CalendarEntry

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LABEL_MAX = 20  # keeps the not-back explanation within one Japanese SMS segment
MAX_DAYS = 92  # a dated entry longer than this is a move, not an absence


class CalendarIn(BaseModel):
    """One calendar entry as typed in a households file or the dashboard.

    Weekly: ``weekly: [tue, thu]``, ``start``/``end`` (an end not after the start ends the next day).
    Dated: ``date`` (one day: ``start`` to ``end`` that day) or ``from``/``to`` (``start`` on the first
    day to ``end`` on the last).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    label: str = Field("", max_length=LABEL_MAX)
    weekly: list[Weekday] | None = Field(None, min_length=1, max_length=7)
    day: date | None = Field(None, alias="date")
    first: date | None = Field(None, alias="from")
    to: date | None = None
    start: time
    end: time

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [name for name, v in (("weekly", self.weekly), ("date", self.day), ("from", self.first)) if v]
        if len(kinds) != 1:
            raise ValueError("give exactly one of weekly, date or from")
        if self.to is not None and self.first is None:
            raise ValueError("'to' goes with 'from'")
        if self.weekly is not None:
            if len(set(self.weekly)) != len(self.weekly):
                raise ValueError("weekly: each day at most once")
            if self.start == self.end:
                raise ValueError("end must differ from start")
            return self
        first, last = self.days()
        if last < first or last - first > timedelta(days=MAX_DAYS):
            raise ValueError(f"'to' must be on or after 'from', within {MAX_DAYS} days")
        if datetime.combine(last, self.end) <= datetime.combine(first, self.start):
            raise ValueError("end must be after start")
        return self

    def days(self) -> tuple[date, date]:
        """First and last day of a dated entry."""
        first = self.day or self.first
        assert first is not None  # a dated entry (validated)
        return first, self.to or first

    def entry(self, household: str, entry_id: int = 0) -> CalendarEntry:
        if self.weekly is not None:
            days = tuple(sorted(WEEKDAYS.index(d) for d in self.weekly))
            return CalendarEntry(entry_id, household, self.label, self.start, self.end, days)
        first, last = self.days()
        return CalendarEntry(entry_id, household, self.label, self.start, self.end, (), first, last)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One absence of a calendar entry: from ``start`` to ``end`` (aware UTC), beginning on local ``day``."""

    entry: CalendarEntry
    day: date
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """Stable per entry and day (the not-back episode)."""
        return f"{self.entry.id}:{self.day.isoformat()}"


def occurrences(
    entries: Iterable[CalendarEntry], tz_name: str, since: datetime, until: datetime
) -> list[Occurrence]:
    """Occurrences that overlap ``[since, until)``, by start; local times read in ``tz_name``."""
    tz = ZoneInfo(tz_name)
    first = since.astimezone(tz).date() - timedelta(days=1)  # yesterday's may run past midnight
    last = until.astimezone(tz).date()

    def at(day: date, t: time) -> datetime:
        return datetime.combine(day, t, tzinfo=tz).astimezone(UTC)

    found: list[Occurrence] = []
    for e in entries:
        if e.weekly:
            day = first
            while day <= last:
                if day.weekday() in e.weekdays:
                    end_day = day + timedelta(days=1) if e.end <= e.start else day
                    found.append(Occurrence(e, day, at(day, e.start), at(end_day, e.end)))
                day += timedelta(days=1)
        elif e.first_day is not None and e.last_day is not None:
            found.append(Occurrence(e, e.first_day, at(e.first_day, e.start), at(e.last_day, e.end)))
    return sorted((o for o in found if o.start < until and o.end > since), key=lambda o: o.start)
