"""Indoor heat and cold (pure): a WBGT estimate from room temperature and humidity, and the rules.

``indoor_wbgt`` is the Ministry of the Environment's published estimate (Ono et al. 2014, the formula
its heat-stress site uses for its estimated values) with no sun and the indoor air speed of the
Japanese Society of Biometeorology's indoor chart (0.2 m/s): see docs/climate.md. ``ClimateWatch``
follows one household's rooms reading by reading and, given ``now``, says which finding is due:

- heat: a living room, bedroom, kitchen or other room at 厳重警戒 for longer than ``severe_for``
  (``severe_for_night`` at night) while the resident is home, or at 危険 for ``danger_for`` (two
  readings, not a spike) at any hour; never while the air conditioner's plug shows it running and the
  room is cooling. Bathrooms and toilets are left out (a bath is hot and humid on purpose);
- cold: the living room or the bedroom below ``cold_below_c`` for ``cold_for`` while home;
- heat shock (advice only): in winter, the bathroom ``heat_shock_gap_c`` colder than the living room.

Each stretch is one episode (``heat:<room>:<since>``, the 危険 part its own), so it is raised once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Final
from zoneinfo import ZoneInfo

from detection.findings import Explanation, Finding, FindingKind, Severity
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
    danger_for: timedelta = timedelta(minutes=10)  # 危険 this long: two readings, not a spike
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


@dataclass(slots=True)
class RoomClimate:
    """What one room's sensor said lately."""

    room: Room
    temp_c: float = 0.0
    humidity: float | None = None
    humidity_at: datetime | None = None
    at: datetime | None = None
    severe_since: datetime | None = None  # the stretch at 厳重警戒 or above began (first reading)
    danger_since: datetime | None = None
    cold_since: datetime | None = None
    recent: deque[tuple[datetime, float]] = field(default_factory=deque)  # temperatures of the window

    def wbgt(self, tuning: ClimateTuning) -> float:
        fresh = (
            self.humidity_at is not None
            and self.at is not None
            and self.at - self.humidity_at <= tuning.humidity_stale
        )
        return indoor_wbgt(
            self.temp_c, self.humidity if fresh and self.humidity is not None else DEFAULT_HUMIDITY
        )

    def cooling(self, tuning: ClimateTuning) -> bool:
        highest = max((t for _, t in self.recent), default=self.temp_c)
        return self.temp_c <= highest - tuning.cooling_drop_c


@dataclass(slots=True)
class ClimateWatch:
    """One household's rooms and air conditioner; feed readings in time order, ask ``due(now)``."""

    household: str
    time_zone: str
    tuning: ClimateTuning = field(default_factory=ClimateTuning)
    rooms: dict[str, RoomClimate] = field(default_factory=dict)  # by device
    ac_watts: float = 0.0
    ac_at: datetime | None = None

    def temperature(self, device: str, room: Room, at: datetime, temp_c: float) -> None:
        r = self.rooms.get(device)
        if r is None:
            r = self.rooms[device] = RoomClimate(room)
        r.temp_c, r.at = temp_c, at
        r.recent.append((at, temp_c))
        while r.recent and at - r.recent[0][0] > self.tuning.cooling_window:
            r.recent.popleft()
        level = heat_level(r.wbgt(self.tuning))
        r.severe_since = (r.severe_since or at) if level >= HeatLevel.SEVERE else None
        r.danger_since = (r.danger_since or at) if level >= HeatLevel.DANGER else None
        r.cold_since = (r.cold_since or at) if temp_c < self.tuning.cold_below_c else None

    def humidity(self, device: str, room: Room, at: datetime, humidity: float) -> None:
        r = self.rooms.get(device)
        if r is None:
            r = self.rooms[device] = RoomClimate(room)
        r.humidity, r.humidity_at = humidity, at

    def air_conditioner(self, at: datetime, watts: float) -> None:
        self.ac_watts, self.ac_at = watts, at

    def level(self, now: datetime) -> HeatLevel | None:
        """The highest heat level of the rooms heard lately (None: no climate sensor heard)."""
        levels = [
            heat_level(r.wbgt(self.tuning))
            for r in self.rooms.values()
            if r.at is not None and now - r.at <= self.tuning.stale and r.room in HEAT_ROOMS
        ]
        return max(levels, default=None)

    def due(self, now: datetime, *, at_home: bool) -> list[Finding]:
        """The findings whose time has come at ``now`` (the caller raises each episode once)."""
        t = self.tuning
        local = now.astimezone(ZoneInfo(self.time_zone))
        night = local.hour >= t.night_start_h or local.hour < t.night_end_h
        ac_cooling = self.ac_at is not None and self.ac_watts >= t.ac_on_w
        out: list[Finding] = []
        living: RoomClimate | None = None
        bathroom: RoomClimate | None = None
        for device, r in self.rooms.items():
            if r.at is None or now - r.at > t.stale:
                continue
            if r.room is Room.LIVING and living is None:
                living = r
            if r.room is Room.BATHROOM and bathroom is None:
                bathroom = r
            if not at_home:
                continue
            if r.room in HEAT_ROOMS and not (ac_cooling and r.cooling(t)):
                finding = self._heat(device, r, now, night)
                if finding is not None:
                    out.append(finding)
            if r.room in COLD_ROOMS and r.cold_since is not None and now - r.cold_since >= t.cold_for:
                out.append(
                    self._finding(
                        FindingKind.COLD,
                        Severity.WARNING,
                        now,
                        f"cold:{device}:{_ms(r.cold_since)}",
                        "cold",
                        r,
                        device,
                        now - r.cold_since,
                    )
                )
        if (
            living is not None
            and bathroom is not None
            and local.month in t.heat_shock_months
            and living.temp_c - bathroom.temp_c >= t.heat_shock_gap_c
        ):
            out.append(
                Finding(
                    self.household,
                    FindingKind.HEAT_SHOCK,
                    Severity.INFO,
                    now,
                    f"heat_shock:{local.date().isoformat()}",
                    None,
                    Explanation(
                        "heat_shock", {"bath_c": round(bathroom.temp_c), "living_c": round(living.temp_c)}
                    ),
                )
            )
        return out

    def _heat(self, device: str, r: RoomClimate, now: datetime, night: bool) -> Finding | None:
        t = self.tuning
        if r.severe_since is None:
            return None
        episode = f"heat:{device}:{_ms(r.severe_since)}"
        if r.danger_since is not None and now - r.danger_since >= t.danger_for:
            return self._finding(
                FindingKind.HEAT,
                Severity.URGENT,
                now,
                f"{episode}:danger",
                "heat",
                r,
                device,
                now - r.severe_since,
            )
        if now - r.severe_since >= (t.severe_for_night if night else t.severe_for):
            return self._finding(
                FindingKind.HEAT, Severity.WARNING, now, episode, "heat", r, device, now - r.severe_since
            )
        return None

    def _finding(
        self,
        kind: FindingKind,
        severity: Severity,
        now: datetime,
        episode: str,
        key: str,
        r: RoomClimate,
        device: str,
        lasted: timedelta,
    ) -> Finding:
        wbgt = r.wbgt(self.tuning)
        ja, en = LEVEL_NAMES[heat_level(wbgt)]
        params: dict[str, str | int | float] = {
            "room": r.room.value,
            "temp_c": round(r.temp_c),
            "wbgt": round(wbgt),
            "level_ja": ja,
            "level_en": en,
            "hours": round(lasted.total_seconds() / 3600, 1),
        }
        fresh = (
            r.humidity_at is not None
            and r.at is not None
            and r.at - r.humidity_at <= self.tuning.humidity_stale
        )
        if fresh:
            params["humidity"] = round(r.humidity or 0.0)
        elif kind is FindingKind.HEAT:
            key = "heat.no_humidity"
        return Finding(self.household, kind, severity, now, episode, None, Explanation(key, params), device)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)
