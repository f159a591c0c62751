"""Room climate for the dashboard (pure): the temperature and humidity chart of the last days, the hours
spent at each heat level this summer, and a household's current level (docs/climate.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from detection.climate import DEFAULT_HUMIDITY, HEAT_ROOMS, HeatLevel, heat_level, indoor_wbgt
from detection.rooms import RoomMap
from mimamori.contract import Kind
from store.base import ClimateReading

CHART_DAYS: Final = 7
CHART_LEFT: Final = 34
CHART_W: Final = 336  # 2 units an hour over 7 days
CHART_H: Final = 90
TEMP_RANGE: Final = (0.0, 40.0)  # °C shown, bottom to top
READING_GAP: Final = timedelta(minutes=20)  # a reading counts for at most this long (level hours)
CURRENT_WINDOW: Final = timedelta(minutes=30)  # the overview's 室温: readings this recent
SUMMER: Final = (6, 9)  # June to September, the months the heat-level hours add up


@dataclass(frozen=True, slots=True)
class ClimateLine:
    device: str
    room: str
    temperature: str  # SVG polyline points (hourly means)
    humidity: str
    latest_c: float | None
    latest_rh: float | None


@dataclass(frozen=True, slots=True)
class ClimateChart:
    days: tuple[date, ...]
    lines: tuple[ClimateLine, ...]  # empty: no climate sensor reported


@dataclass(frozen=True, slots=True)
class CurrentClimate:
    """The overview's 室温 column: the hottest room heard in the last 30 minutes."""

    temp_c: float
    level: HeatLevel


def climate_chart(
    readings: Iterable[ClimateReading], today: date, tz: ZoneInfo, rooms: RoomMap, household: str
) -> ClimateChart:
    """Hourly means of each sensor's temperature (°C on 0..40) and humidity (% on 0..100), local days."""
    days = tuple(today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS))
    first = days[0]
    sums: dict[tuple[str, Kind], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    latest: dict[tuple[str, Kind], float] = {}
    for r in readings:
        local = r.at.astimezone(tz)
        hour = (local.date() - first).days * 24 + local.hour
        if 0 <= hour < CHART_DAYS * 24:
            sums[(r.device, r.kind)][hour].append(r.value)
            latest[(r.device, r.kind)] = r.value
    devices = sorted({device for device, _ in sums})
    lines = []
    for device in devices:
        temp = _points(sums[(device, Kind.TEMPERATURE)], *TEMP_RANGE)
        hum = _points(sums[(device, Kind.HUMIDITY)], 0.0, 100.0)
        room = rooms.room(device, household).value
        lines.append(
            ClimateLine(
                device,
                room,
                temp,
                hum,
                latest.get((device, Kind.TEMPERATURE)),
                latest.get((device, Kind.HUMIDITY)),
            )
        )
    return ClimateChart(days, tuple(lines))


def _points(hours: Mapping[int, list[float]], low: float, high: float) -> str:
    out = []
    for hour in sorted(hours):
        values = hours[hour]
        mean = sum(values) / len(values)
        y = CHART_H - (min(max(mean, low), high) - low) / (high - low) * CHART_H
        out.append(f"{CHART_LEFT + hour * CHART_W / (CHART_DAYS * 24):.1f},{y:.1f}")
    return " ".join(out)


def summer_start(now: datetime, tz: ZoneInfo) -> datetime:
    """1 June of this summer (of last year's before June)."""
    local = now.astimezone(tz)
    year = local.year if local.month >= SUMMER[0] else local.year - 1
    return datetime(year, SUMMER[0], 1, tzinfo=tz)


def level_hours(readings: Iterable[ClimateReading], rooms: RoomMap, household: str) -> dict[HeatLevel, float]:
    """Hours the home's hottest living room/bedroom/kitchen spent at each level (from June to September)."""
    summer = (r for r in readings if SUMMER[0] <= r.at.month <= SUMMER[1])
    hours = dict.fromkeys(HeatLevel, 0.0)
    for level in _slots(summer, rooms, household).values():
        hours[level] += 5 / 60
    return {level: round(h, 1) for level, h in hours.items()}


def hot_hours_by_day(
    readings: Iterable[ClimateReading], rooms: RoomMap, household: str, tz: ZoneInfo
) -> dict[date, float]:
    """Per local day, the hours the home spent at 厳重警戒 or above (the digest's hot-room summary)."""
    out: dict[date, float] = defaultdict(float)
    for slot, level in _slots(readings, rooms, household).items():
        day = datetime.fromtimestamp(slot * 300, tz).date()
        out[day] += 5 / 60 if level >= HeatLevel.SEVERE else 0.0
    return {day: round(h, 1) for day, h in out.items()}


def _slots(readings: Iterable[ClimateReading], rooms: RoomMap, household: str) -> dict[int, HeatLevel]:
    """5-minute slots (epoch // 300) → the hottest level of the living rooms/bedrooms/kitchens then.

    Each temperature reading counts until the next one of its sensor (at most 20 minutes); the home's
    level at a moment is its hottest room's, so overlapping sensors are not counted twice."""
    humidity: dict[str, float] = {}
    per_slot: dict[int, HeatLevel] = {}
    last: dict[str, datetime] = {}
    for r in readings:
        if rooms.room(r.device, household) not in HEAT_ROOMS:
            continue
        if r.kind is Kind.HUMIDITY:
            humidity[r.device] = r.value
            continue
        level = heat_level(indoor_wbgt(r.value, humidity.get(r.device, DEFAULT_HUMIDITY)))
        since = last.get(r.device)
        last[r.device] = r.at
        start = r.at if since is None or r.at - since > READING_GAP else since
        for slot in range(int(start.timestamp()) // 300, int(r.at.timestamp()) // 300 + 1):
            if per_slot.get(slot, HeatLevel.SAFE) <= level:
                per_slot[slot] = level
    return per_slot


def current_climate(
    readings: Iterable[ClimateReading], rooms: RoomMap, now: datetime
) -> dict[str, CurrentClimate]:
    """Per household, the hottest living room/bedroom/kitchen among the newest readings (last 30 min)."""
    temps: dict[tuple[str, str], float] = {}
    hums: dict[tuple[str, str], float] = {}
    for r in readings:
        if now - r.at > CURRENT_WINDOW or rooms.room(r.device, r.household) not in HEAT_ROOMS:
            continue
        (temps if r.kind is Kind.TEMPERATURE else hums)[(r.household, r.device)] = r.value
    out: dict[str, CurrentClimate] = {}
    for (household, device), temp in temps.items():
        wbgt = indoor_wbgt(temp, hums.get((household, device), DEFAULT_HUMIDITY))
        here = CurrentClimate(temp, heat_level(wbgt))
        best = out.get(household)
        if best is None or (here.level, here.temp_c) > (best.level, best.temp_c):
            out[household] = here
    return out
