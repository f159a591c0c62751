"""Indoor heat and cold (pure): a WBGT estimate from room temperature and humidity, and the rules.

``indoor_wbgt`` is the Ministry of the Environment's published estimate (Ono et al. 2014, the formula
its heat-stress site uses for its estimated values) with no sun and the indoor air speed of the
Japanese Society of Biometeorology's indoor chart (0.2 m/s): see docs/climate.md. ``ClimateWatch``
follows one household's rooms reading by reading and, given ``now``, says which finding is due:

- heat: a living room, bedroom, kitchen or other room at 厳重警戒 for longer than ``severe_for``
  (``severe_for_night`` at night, ``severe_for_alert_day`` by day under a heat alert) while the
  resident is home, or at 危険 for ``danger_for`` (two readings, not a spike) at any hour; never
  while the air conditioner's plug shows it running and the room is cooling. Bathrooms and toilets
  are left out (a bath is hot and humid on purpose);
- cold: the living room or the bedroom below ``cold_below_c`` for ``cold_for`` while home;
- heat shock (advice only, at most weekly): in winter, the bathroom ``heat_shock_gap_c`` colder than the
  living room.

Each stretch of the household is one episode, raised once: ``heat:<since>``, its 危険 part
``heat:<since>:danger:<at>`` (anew when 危険 returns after ``danger_rearm`` without), ``cold:<since>``.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from detection.findings import Explanation, Finding, FindingKind, Severity
from mimamori.config import ClimateConfig
from registry.models import Room


class HeatLevel(IntEnum):
    """The Japanese Society of Biometeorology's levels of daily-life heat stress, by WBGT (°C)."""

    SAFE = 0  # ほぼ安全, below 21
    CAUTION = 1  # 注意, 21 to 25
    ALERT = 2  # 警戒, 25 to 28
    SEVERE = 3  # 厳重警戒, 28 to 31
    DANGER = 4  # 危険, 31 and above


LEVEL_FLOORS: Final = (
    (HeatLevel.DANGER, 31.0),
    (HeatLevel.SEVERE, 28.0),
    (HeatLevel.ALERT, 25.0),
    (HeatLevel.CAUTION, 21.0),
)
LEVEL_NAMES: Final = {
    HeatLevel.SAFE: ("ほぼ安全", "safe"),
    HeatLevel.CAUTION: ("注意", "caution"),
    HeatLevel.ALERT: ("警戒", "alert"),
    HeatLevel.SEVERE: ("厳重警戒", "severe"),
    HeatLevel.DANGER: ("危険", "danger"),
}
"""(Japanese, English) name of each level."""

INDOOR_AIR_SPEED_MS: Final = 0.2
DEFAULT_HUMIDITY: Final = 60.0
"""Relative humidity assumed for a room with no humidity reading in the last ``humidity_stale``."""
HEAT_ROOMS: Final = frozenset({Room.LIVING, Room.BEDROOM, Room.KITCHEN, Room.OTHER})
COLD_ROOMS: Final = frozenset({Room.LIVING, Room.BEDROOM})
AIRCON_WORDS: Final = (
    "aircon",
    "air-con",
    "ac",
    "cooler",
    "heatpump",
    "eakon",
    "エアコン",
    "冷房",
    "クーラー",
)


def indoor_wbgt(temp_c: float, humidity: float) -> float:
    """WBGT (°C) indoors: 0.735·Ta + 0.0374·RH + 0.00292·Ta·RH − 0.0572·WS − 4.064, with WS 0.2 m/s."""
    return (
        0.735 * temp_c
        + 0.0374 * humidity
        + 0.00292 * temp_c * humidity
        - 0.0572 * INDOOR_AIR_SPEED_MS
        - 4.064
    )


def heat_level(wbgt: float) -> HeatLevel:
    for level, floor in LEVEL_FLOORS:
        if wbgt >= floor:
            return level
    return HeatLevel.SAFE


def is_air_conditioner(device: str) -> bool:
    """Whether a plug's name says an air conditioner is plugged in (``aircon-living``, ``ac``, エアコン)."""
    name = device.lower()
    words = name.replace("_", "-").split("-")
    return any(w in words if len(w) <= 3 else w in name for w in AIRCON_WORDS)


@dataclass(frozen=True, slots=True)
class ClimateTuning:
    severe_for: timedelta = timedelta(hours=2)  # 厳重警戒 for this long while home, by day
    severe_for_night: timedelta = timedelta(hours=1)  # ... at night (asleep, nobody notices)
    severe_for_alert_day: timedelta = timedelta(hours=1)  # ... by day under a heat alert (熱中症警戒アラート)
    danger_for: timedelta = timedelta(minutes=10)  # 危険 this long: two readings, not a spike
    danger_rearm: timedelta = timedelta(hours=3)  # 危険 again after this long without: a new alert
    night_start_h: int = 22
    night_end_h: int = 6
    ac_on_w: float = 100.0  # the air conditioner's plug at or above this: running
    cooling_window: timedelta = timedelta(minutes=30)
    cooling_drop_c: float = 0.5  # the room is this much below its highest of the window: cooling
    stale: timedelta = timedelta(minutes=30)  # a room not heard for this long is not judged
    humidity_stale: timedelta = timedelta(hours=1)
    cold_below_c: float = 10.0
    cold_for: timedelta = timedelta(hours=3)
    heat_shock_gap_c: float = 10.0
    heat_shock_months: frozenset[int] = frozenset({11, 12, 1, 2, 3})


def climate_tuning_from(config: ClimateConfig) -> ClimateTuning:
    """The watch's tuning from the ``[climate]`` configuration section."""
    return ClimateTuning(
        severe_for=timedelta(minutes=config.severe_day_min),
        severe_for_night=timedelta(minutes=config.severe_night_min),
        severe_for_alert_day=timedelta(minutes=config.alert_day_severe_min),
        danger_for=timedelta(minutes=config.danger_min),
        cold_below_c=config.cold_below_c,
        cold_for=timedelta(hours=config.cold_hours),
        heat_shock_gap_c=config.heat_shock_gap_c,
    )


@dataclass(slots=True)
class RoomClimate:
    """What one room's sensor said lately."""

    room: Room
    temp_c: float = 0.0
    humidity: float | None = None
    humidity_at: datetime | None = None
    at: datetime | None = None
    severe: bool = False  # at 厳重警戒 or above
    danger_since: datetime | None = None  # at 危険 since (first reading)
    # the window's (epoch s, temperature) pairs, flat in one array (compact: 100k homes); only those
    # warmer than every later one (each can still be the window's highest): temperatures decrease
    recent: array[float] = field(default_factory=lambda: array("d"))

    def fresh_humidity(self, tuning: ClimateTuning) -> bool:
        return (
            self.humidity_at is not None
            and self.at is not None
            and self.at - self.humidity_at <= tuning.humidity_stale
        )

    def wbgt(self, tuning: ClimateTuning) -> float:
        humidity, at, humidity_at = self.humidity, self.at, self.humidity_at  # fresh_humidity, inline
        if humidity is None or humidity_at is None or at is None or at - humidity_at > tuning.humidity_stale:
            humidity = DEFAULT_HUMIDITY
        return indoor_wbgt(self.temp_c, humidity)

    def cooling(self, tuning: ClimateTuning) -> bool:
        recent = self.recent  # temperatures decrease along it: the first is the highest
        highest = recent[1] if recent else self.temp_c
        return self.temp_c <= highest - tuning.cooling_drop_c


@dataclass(slots=True)
class ClimateWatch:
    """One household's rooms and air conditioner; feed readings in time order, ask ``due(now)``.

    A *stretch* is the household's: hot from the first reading of any room at 厳重警戒 until no room
    is; cold from the first reading of the living room or bedroom below the floor until none is. One
    stretch is one episode, whichever room is hottest (or coldest) in it."""

    household: str
    time_zone: str
    tuning: ClimateTuning = field(default_factory=ClimateTuning)
    rooms: dict[str, RoomClimate] = field(default_factory=dict)  # by device
    ac_watts: float = 0.0
    ac_at: datetime | None = None
    hot_since: datetime | None = None
    danger_episode: str | None = None  # this stretch reached 危険 (never raised again as 厳重警戒)
    danger_last: datetime | None = None  # when it was last at 危険
    cold_since: datetime | None = None

    def temperature(self, device: str, room: Room, at: datetime, temp_c: float) -> None:
        r = self.rooms.get(device)
        if r is None:
            r = self.rooms[device] = RoomClimate(room)
        tuning = self.tuning
        t = at.timestamp()
        r.temp_c, r.at = temp_c, at
        recent = r.recent
        while recent and recent[-1] <= temp_c:  # never the window's highest again: not kept
            del recent[-2:]
        recent.append(t)
        recent.append(temp_c)
        if t - recent[0] > tuning.cooling_window.total_seconds():
            window = tuning.cooling_window.total_seconds()
            old = 2
            while old < len(recent) and t - recent[old] > window:
                old += 2
            del recent[:old]
        level = heat_level(r.wbgt(tuning))
        r.severe = level >= HeatLevel.SEVERE
        r.danger_since = (r.danger_since or at) if level >= HeatLevel.DANGER else None
        hot = cold = False
        floor = tuning.cold_below_c
        for x in self.rooms.values():
            if x.severe and x.room in HEAT_ROOMS:
                hot = True
            if x.room in COLD_ROOMS and x.at is not None and x.temp_c < floor:
                cold = True
        if hot:
            self.hot_since = self.hot_since or at
        else:
            self.hot_since, self.danger_episode, self.danger_last = None, None, None
        self.cold_since = (self.cold_since or at) if cold else None

    def humidity(self, device: str, room: Room, at: datetime, humidity: float) -> None:
        r = self.rooms.get(device)
        if r is None:
            r = self.rooms[device] = RoomClimate(room)
        r.humidity, r.humidity_at = humidity, at

    def air_conditioner(self, at: datetime, watts: float) -> None:
        self.ac_watts, self.ac_at = watts, at

    def level(self, now: datetime) -> HeatLevel | None:
        """The highest heat level of the rooms heard lately (None: no climate sensor heard)."""
        levels = [heat_level(r.wbgt(self.tuning)) for _, r in self._heard(now) if r.room in HEAT_ROOMS]
        return max(levels, default=None)

    def _heard(self, now: datetime) -> list[tuple[str, RoomClimate]]:
        return [(d, r) for d, r in self.rooms.items() if r.at is not None and now - r.at <= self.tuning.stale]

    def due(self, now: datetime, *, at_home: bool, alert_day: bool = False) -> list[Finding]:
        """The findings whose time has come at ``now`` (the caller raises each episode once);
        ``alert_day``: a heat alert is out for the home's area today (厳重警戒 is raised sooner by day)."""
        heard = self._heard(now)
        out: list[Finding] = []
        if at_home:
            heat = self._heat(heard, now, alert_day)
            if heat is not None:
                out.append(heat)
            cold = self._cold(heard, now)
            if cold is not None:
                out.append(cold)
        shock = self._heat_shock(heard, now)
        if shock is not None:
            out.append(shock)
        return out

    def _heat(self, heard: list[tuple[str, RoomClimate]], now: datetime, alert_day: bool) -> Finding | None:
        t = self.tuning
        if self.hot_since is None:
            return None
        ac_running = self.ac_at is not None and self.ac_watts >= t.ac_on_w
        hot = [
            (r.wbgt(t), d, r)
            for d, r in heard
            if r.room in HEAT_ROOMS and r.severe and not (ac_running and r.cooling(t))
        ]
        if not hot:
            return None
        _, device, r = max(hot, key=lambda x: x[0])
        episode = f"heat:{_ms(self.hot_since)}"
        if any(x.danger_since is not None and now - x.danger_since >= t.danger_for for _, _, x in hot):
            if (
                self.danger_episode is None
                or self.danger_last is None
                or now - self.danger_last > t.danger_rearm
            ):
                self.danger_episode = (
                    f"{episode}:danger:{_ms(now)}"  # a day's heat after a cooler night: anew
                )
            self.danger_last = now
        if self.danger_episode is not None:
            return self._finding(
                FindingKind.HEAT, Severity.URGENT, now, self.danger_episode, r, device, self.hot_since
            )
        local = local_time(now, self.time_zone)
        night = local.hour >= t.night_start_h or local.hour < t.night_end_h
        by_day = min(t.severe_for, t.severe_for_alert_day) if alert_day else t.severe_for
        if now - self.hot_since >= (t.severe_for_night if night else by_day):
            return self._finding(FindingKind.HEAT, Severity.WARNING, now, episode, r, device, self.hot_since)
        return None

    def _cold(self, heard: list[tuple[str, RoomClimate]], now: datetime) -> Finding | None:
        t = self.tuning
        if self.cold_since is None or now - self.cold_since < t.cold_for:
            return None
        cold = [(r.temp_c, d, r) for d, r in heard if r.room in COLD_ROOMS and r.temp_c < t.cold_below_c]
        if not cold:
            return None
        _, device, r = min(cold, key=lambda x: x[0])
        episode = f"cold:{_ms(self.cold_since)}"
        return self._finding(FindingKind.COLD, Severity.WARNING, now, episode, r, device, self.cold_since)

    def _heat_shock(self, heard: list[tuple[str, RoomClimate]], now: datetime) -> Finding | None:
        if local_time(now, self.time_zone).month not in self.tuning.heat_shock_months:
            return None  # as heat_shock() says, without looking for the rooms
        living = next((r.temp_c for _, r in heard if r.room is Room.LIVING), None)
        bathroom = next((r.temp_c for _, r in heard if r.room is Room.BATHROOM), None)
        return heat_shock(self.household, self.time_zone, living, bathroom, now, self.tuning)

    def _finding(
        self,
        kind: FindingKind,
        severity: Severity,
        now: datetime,
        episode: str,
        r: RoomClimate,
        device: str,
        since: datetime,
    ) -> Finding:
        wbgt = r.wbgt(self.tuning)
        ja, en = LEVEL_NAMES[heat_level(wbgt)]
        params: dict[str, str | int | float] = {
            "room": r.room.value,
            "temp_c": round(r.temp_c),
            "wbgt": round(wbgt),
            "level_ja": ja,
            "level_en": en,
            "hours": round((now - since).total_seconds() / 3600, 1),
        }
        if (
            kind is FindingKind.HEAT
            and local_time(now, self.time_zone).month in self.tuning.heat_shock_months
        ):
            params["heating"] = 1  # hot in winter: the heating is too high (the advice says so)
        key = kind.value
        if r.fresh_humidity(self.tuning):
            params["humidity"] = round(r.humidity or 0.0)
        elif kind is FindingKind.HEAT:
            key = "heat.no_humidity"
        return Finding(self.household, kind, severity, now, episode, None, Explanation(key, params), device)


def heat_shock(
    household: str,
    time_zone: str,
    living_c: float | None,
    bathroom_c: float | None,
    now: datetime,
    tuning: ClimateTuning,
) -> Finding | None:
    """The heat-shock advice due at ``now`` (at most weekly) from the living room's and the bathroom's
    newest temperatures (None: not heard lately)."""
    local = local_time(now, time_zone)
    if local.month not in tuning.heat_shock_months or living_c is None or bathroom_c is None:
        return None
    if living_c - bathroom_c < tuning.heat_shock_gap_c:
        return None
    return Finding(
        household,
        FindingKind.HEAT_SHOCK,
        Severity.INFO,
        now,
        "heat_shock:{}-W{:02d}".format(*local.isocalendar()[:2]),  # advice: at most weekly
        None,
        Explanation("heat_shock", {"bath_c": round(bathroom_c), "living_c": round(living_c)}),
    )


@lru_cache(maxsize=64)
def local_time(now: datetime, time_zone: str) -> datetime:
    """``now`` in ``time_zone`` (cached: a pass judges many homes of one zone at one ``now``)."""
    return now.astimezone(ZoneInfo(time_zone))


def calm_range(tuning: ClimateTuning) -> tuple[float, float]:
    """Temperatures (°C) at which a room can be neither at 厳重警戒 (even at 100 % humidity) nor cold:
    ``low <= t < high``, the high end rounded down to the contract's 0.1 °C."""
    severe = dict(LEVEL_FLOORS)[HeatLevel.SEVERE]
    at_zero = indoor_wbgt(0.0, 100.0)  # the estimate is linear in temperature at a given humidity
    floor = (severe - at_zero) / (indoor_wbgt(1.0, 100.0) - at_zero)
    return tuning.cold_below_c, math.floor(floor * 10) / 10


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
