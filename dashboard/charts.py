"""Pure chart models for the household page, in the household's local time: the days x hours heat map,
today's timeline per sensor kind, and the wake-up / bedtime trend. Templates draw them as SVG."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from mimamori.contract import Event, Kind
from store.base import HourlyActivity

HEAT_LEVELS: Final = 4
PASSIVE_KINDS: Final = frozenset({Kind.BATTERY, Kind.CHECKIN, Kind.TEMPERATURE, Kind.HUMIDITY})
WAKE_WINDOW: Final = (4 * 60, 14 * 60)  # first activity in this local window is the wake-up
BED_WINDOW: Final = (17 * 60, 28 * 60)  # last activity in this window (to 04:00 next day) is bedtime


# heat map layout in SVG user units: day labels on the left, hour labels on top
HEAT_LEFT: Final = 64
HEAT_TOP: Final = 14
HEAT_CELL_W: Final = 14
HEAT_CELL_H: Final = 5


@dataclass(frozen=True, slots=True)
class HeatCell:
    row: int  # day index, 0 = oldest
    hour: int  # local hour 0..23
    count: int
    level: int  # 0 (none) .. HEAT_LEVELS
    x: int  # SVG position, precomputed: the template draws thousands of cells
    y: int
    title: str  # "2026-11-26 07:00 · 8"


@dataclass(frozen=True, slots=True)
class HeatMap:
    days: tuple[date, ...]
    cells: tuple[HeatCell, ...]  # only hours with activity
    max_count: int

    def day_labels(self, every: int = 7) -> list[tuple[int, date]]:
        return [(i, d) for i, d in enumerate(self.days) if (len(self.days) - 1 - i) % every == 0]


def local_days(today: date, days: int) -> tuple[date, ...]:
    return tuple(today - timedelta(days=days - 1 - i) for i in range(days))


def window_utc(today: date, days: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC bounds of the ``days`` local days ending with ``today`` (inclusive)."""
    start = datetime.combine(today - timedelta(days=days - 1), time(0), tz)
    end = datetime.combine(today + timedelta(days=1), time(0), tz)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def heat_map(rollups: Iterable[HourlyActivity], today: date, days: int, tz: ZoneInfo) -> HeatMap:
    day_list = local_days(today, days)
    first = day_list[0]
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for roll in rollups:
        local = roll.hour.astimezone(tz)
        row = (local.date() - first).days
        if 0 <= row < days:
            totals[(row, local.hour)] += roll.count
    peak = max(totals.values(), default=0)
    cells = tuple(
        HeatCell(
            row,
            hour,
            count,
            _level(count, peak),
            HEAT_LEFT + hour * HEAT_CELL_W,
            HEAT_TOP + row * HEAT_CELL_H,
            f"{day_list[row].isoformat()} {hour:02d}:00 · {count}",
        )
        for (row, hour), count in sorted(totals.items())
    )
    return HeatMap(day_list, cells, peak)


def _level(count: int, peak: int) -> int:
    if count <= 0 or peak <= 0:
        return 0
    return max(1, min(HEAT_LEVELS, -(-count * HEAT_LEVELS // peak)))


@dataclass(frozen=True, slots=True)
class Lane:
    device: str
    kind: str
    minutes: tuple[int, ...]  # minutes since local midnight of each of today's events


@dataclass(frozen=True, slots=True)
class Timeline:
    day: date
    lanes: tuple[Lane, ...]  # one per sensor, by device name
    now_minute: int


def timeline(events: Iterable[Event], today: date, tz: ZoneInfo, now: datetime) -> Timeline:
    """Today's events per sensor (battery and check-in reports left out: they are not activity)."""
    per_device: dict[tuple[str, str], list[int]] = defaultdict(list)
    for event in events:
        local = event.observed_at.astimezone(tz)
        if local.date() == today and event.kind not in PASSIVE_KINDS:
            per_device[(event.device, event.kind.value)].append(local.hour * 60 + local.minute)
    local_now = now.astimezone(tz)
    now_minute = local_now.hour * 60 + local_now.minute if local_now.date() == today else 24 * 60
    lanes = tuple(Lane(device, kind, tuple(m)) for (device, kind), m in sorted(per_device.items()))
    return Timeline(today, lanes, now_minute)


@dataclass(frozen=True, slots=True)
class DayRhythm:
    day: date
    wake_minute: int | None  # minutes after local midnight
    bed_minute: int | None  # may exceed 1440 (after midnight)


def rhythm(times: Sequence[datetime], days: tuple[date, ...], tz: ZoneInfo) -> tuple[DayRhythm, ...]:
    """Wake-up (first activity 04:00-14:00) and bedtime (last activity 17:00-04:00) per local day."""
    wake: dict[date, int] = {}
    bed: dict[date, int] = {}
    for at in times:
        local = at.astimezone(tz)
        minute = local.hour * 60 + local.minute
        day = local.date()
        if WAKE_WINDOW[0] <= minute < WAKE_WINDOW[1] and day not in wake:
            wake[day] = minute
        if minute >= BED_WINDOW[0]:
            bed[day] = max(bed.get(day, 0), minute)
        elif minute < BED_WINDOW[1] - 24 * 60:
            previous = day - timedelta(days=1)
            bed[previous] = max(bed.get(previous, 0), minute + 24 * 60)
    return tuple(DayRhythm(d, wake.get(d), bed.get(d)) for d in days)


def clock_label(minute: int) -> str:
    minute %= 24 * 60
    return f"{minute // 60:02d}:{minute % 60:02d}"
