"""Volunteers' availability: the windows in which one may be asked, and resting.

One input model validates a window for the households import; one pure function says whether a
volunteer may be asked at a moment, in the time zone of the household to be served.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from registry.models import Availability

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
REST_ZONE = ZoneInfo("Asia/Tokyo")
"""A ``resting_until`` given as a bare date rests through that day here."""


class AvailabilityIn(BaseModel):
    """``{days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}`` (an end not after the start
    ends the next day)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[Weekday] = Field(min_length=1, max_length=7)
    start: time
    end: time

    @model_validator(mode="after")
    def _sound(self) -> Self:
        if len(set(self.days)) != len(self.days):
            raise ValueError("days: each day at most once")
        if self.start == self.end:
            raise ValueError("end must differ from start")
        return self

    def window(self) -> Availability:
        return Availability(tuple(sorted(WEEKDAYS.index(d) for d in self.days)), self.start, self.end)


def rest_end(value: date | datetime) -> datetime:
    """Aware UTC: a date rests through that day (Japan time), a time with an offset until then."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("resting_until needs a time zone, e.g. 2026-12-20T18:00:00+09:00")
        return value.astimezone(UTC)
    return datetime.combine(value + timedelta(days=1), time(), REST_ZONE).astimezone(UTC)


def within(windows: Sequence[Availability], at: datetime, time_zone: str) -> bool:
    """Whether ``at`` falls in one of ``windows`` (local to ``time_zone``); no windows: always."""
    if not windows:
        return True
    local = at.astimezone(ZoneInfo(time_zone))
    t = local.time().replace(tzinfo=None)
    today, yesterday = local.weekday(), (local.weekday() - 1) % 7
    for w in windows:
        if w.start < w.end:
            if today in w.weekdays and w.start <= t < w.end:
                return True
        elif (today in w.weekdays and t >= w.start) or (yesterday in w.weekdays and t < w.end):
            return True  # a window past midnight belongs to the day it began
    return False


def askable(
    windows: Sequence[Availability], resting_until: datetime | None, at: datetime, time_zone: str
) -> bool:
    """A volunteer may be asked at ``at``: not resting, and within their windows."""
    return (resting_until is None or at >= resting_until) and within(windows, at, time_zone)
