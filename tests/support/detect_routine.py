"""A fixed, hand-written daily routine for detector unit tests (not a simulator: no randomness)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TZ = "Asia/Tokyo"
ZONE = ZoneInfo(TZ)
START = datetime(2026, 3, 2, tzinfo=ZONE)  # a Monday


def at(day: int, clock: str) -> float:
    """Epoch seconds of local ``clock`` ("07:10", "07:10:05") on day ``day`` after START."""
    hour, minute, *second = (int(x) for x in clock.split(":"))
    return (START + timedelta(days=day, hours=hour, minutes=minute, seconds=sum(second))).timestamp()


def routine(
    days: int, wake: str = "07:00", bed: str = "22:00", every_min: int = 20, weekend_wake: str | None = None
) -> tuple[list[float], list[bool]]:
    """Activity every ``every_min`` from wake to bed, one night toilet at 02:00; no door."""
    times: list[float] = []
    for day in range(days):
        weekend = (START + timedelta(days=day)).weekday() >= 5
        start = at(day, weekend_wake if weekend and weekend_wake else wake)
        end = at(day, bed)
        times.append(at(day, "02:00"))
        t = start
        while t <= end:
            times.append(t)
            t += every_min * 60
    times.sort()
    return times, [False] * len(times)


BEDTIME_VISITS = ("23:00", "23:45", "d+1 00:30", None)  # None: to bed at 20:00, no visit


def when(day: int, clock: str) -> float:
    """Like :func:`at`; ``"d+1 00:30"`` is on the next day."""
    if clock.startswith("d+1 "):
        return at(day + 1, clock[4:])
    return at(day, clock)


def sparse_routine(days: int) -> list[float]:
    """A kit that cannot see the evening: activity every 30 min from 07:00 to 19:30, then a bathroom
    visit before bed at 23:00, 23:45 or 00:30, or (one night in four) to bed at 20:00 unseen."""
    times: list[float] = []
    for day in range(days):
        t = at(day, "07:00")
        while t <= at(day, "19:30"):
            times.append(t)
            t += 30 * 60
        visit = BEDTIME_VISITS[day % len(BEDTIME_VISITS)]
        times.append(at(day, "20:00") if visit is None else when(day, visit))
    return sorted(times)
