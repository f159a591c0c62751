"""Indoor climate of a simulated home: outdoor weather, the house's thermal lag, an air conditioner.

Deterministic from (seed, household, day) like the rest of the simulator, and drawn from its own
random streams, so adding climate sensors changes none of the activity a seed gives. Every
``STEP_MS`` each room's thermometer reports temperature (°C, 0.1) and relative humidity (%, 1), and
the air conditioner's plug its watts. See docs/climate.md ("The simulator").

- **Outdoor** (:class:`Season`): Tokyo in August (highs 30–34 °C, heat waves of 36–38 °C, dew point
  ~24 °C) or January (highs ~10 °C, lows ~1 °C, dry); a day's curve is lowest at 05:00, highest at 14:00.
- **The house** (:class:`House`): each room moves toward the outdoor temperature plus the house's gain
  (sun and people in summer, insulation in winter) with the house's time constant (3–8 h: the lag);
  the bedroom upstairs is warmer in summer, the bathroom on the north side colder in winter.
- **The resident** (:class:`ClimateHabits`): an air-conditioner user turns it on when the living room
  passes their threshold while home and awake, off when going out, and keeps it on at night or not; a
  non-user never does. In winter the same unit heats (for residents who heat) while home and awake.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from firmware_sim.events import SimEvent, to_datetime
from firmware_sim.kits import HouseRoom
from firmware_sim.routine import Activity
from mimamori.contract import Kind

STEP_MS: Final = 5 * 60_000
HOUR_MS: Final = 3_600_000
CLIMATE_ROOMS: Final = (HouseRoom.LIVING, HouseRoom.BEDROOM, HouseRoom.BATHROOM)
AC_DEVICE: Final = "aircon"
COOLED_ROOMS: Final = frozenset({HouseRoom.LIVING, HouseRoom.BEDROOM})
"""The one air conditioner serves the small home's living room and bedroom (not the bathroom)."""


def thermometer(room: HouseRoom) -> str:
    return f"{room.value}-temp"


class Season(StrEnum):
    AUGUST = "august"
    JANUARY = "january"


class Presence(StrEnum):
    AWAKE = "awake"  # at home, can act (turn the air conditioner on)
    ASLEEP = "asleep"  # at home, does not act: asleep, or fallen
    OUT = "out"


_OUT: Final = frozenset({Activity.OUT, Activity.TRANSIT})
_STILL: Final = frozenset({Activity.SLEEP, Activity.IN_BED, Activity.FALLEN})


def presence_of(activity: Activity) -> Presence:
    if activity in _OUT:
        return Presence.OUT
    return Presence.ASLEEP if activity in _STILL else Presence.AWAKE


@dataclass(frozen=True, slots=True)
class Weather:
    """One day's outdoor weather."""

    low_c: float
    high_c: float
    dew_c: float

    def at(self, local_hour: float) -> float:
        """Lowest at 05:00, highest at 14:00 (a cosine each way)."""
        h = local_hour
        if 5 <= h < 14:
            shape = (1 - math.cos(math.pi * (h - 5) / 9)) / 2
        else:
            shape = (1 + math.cos(math.pi * ((h - 14) % 24) / 15)) / 2
        return self.low_c + (self.high_c - self.low_c) * shape


def weather(season: Season, seed: int, day: int) -> Weather:
    """Tokyo's weather on ``day`` (date ordinal); heat waves last several days (drawn per 5-day block)."""
    rng = random.Random(f"weather:{seed}:{day}")
    block = random.Random(f"heatwave:{seed}:{day // 5}")
    if season is Season.AUGUST:
        wave = block.random() < 0.3
        high = rng.gauss(35.8 if wave else 31.8, 1.0)
        return Weather(high - rng.uniform(7.0, 9.0), high, rng.gauss(23.5, 1.2))
    high = rng.gauss(9.8, 2.5)
    return Weather(min(high - 4, rng.gauss(1.2, 2.0)), high, rng.gauss(-4.0, 3.0))


@dataclass(frozen=True, slots=True)
class House:
    tau_h: float  # thermal lag: hours for the room to go 63 % of the way toward outdoors
    summer_gain_c: float  # how much warmer than outdoors the house settles in summer (sun, roof, people)
    winter_gain_c: float  # ... in winter, unheated


@dataclass(frozen=True, slots=True)
class ClimateHabits:
    uses_ac: bool  # cools in summer
    heats: bool  # heats in winter
    on_above_c: float  # turns cooling on when the living room passes this
    setpoint_c: float
    ac_at_night: bool  # keeps cooling overnight
    heat_to_c: float


def draw(household: str, seed: int, ac_share: float = 0.6) -> tuple[House, ClimateHabits]:
    """The house and the resident's habits of one home (its own random stream)."""
    rng = random.Random(f"climate:{seed}:{household}")
    house = House(rng.uniform(3.0, 8.0), rng.uniform(0.5, 2.5), rng.uniform(4.0, 8.0))
    habits = ClimateHabits(
        uses_ac=rng.random() < ac_share,
        heats=rng.random() < 0.7,
        on_above_c=rng.uniform(27.5, 29.5),
        setpoint_c=rng.uniform(26.0, 28.0),
        ac_at_night=rng.random() < 0.6,
        heat_to_c=rng.uniform(19.0, 22.0),
    )
    return house, habits


@dataclass(frozen=True, slots=True)
class ClimateReading:
    """One 5-minute report: the room thermometers and the air conditioner's plug."""

    at: int  # epoch ms
    temps: tuple[float, ...]  # by CLIMATE_ROOMS
    humidities: tuple[float, ...]
    ac_w: float
    presence: Presence


class IndoorClimate:
    """One home's rooms, stepped every 5 minutes from ``start`` (epoch ms)."""

    def __init__(
        self,
        household: str,
        tz: str,
        season: Season,
        seed: int,
        presence: Callable[[int], Presence],
        start: int,
        *,
        ac_share: float = 0.6,
        house: House | None = None,
        habits: ClimateHabits | None = None,
    ) -> None:
        """``house`` and ``habits`` are drawn from the seed unless given (a scenario pins them)."""
        self.household = household
        self.season = season
        self.seed = seed
        self.zone = ZoneInfo(tz)
        drawn_house, drawn_habits = draw(household, seed, ac_share)
        self.house, self.habits = house or drawn_house, habits or drawn_habits
        self._presence = presence
        self._noise = random.Random(f"sensor:{seed}:{household}")
        self.at = start
        self._weather: dict[int, Weather] = {}
        w, hour = self._local(start)
        outdoor = w.at(hour)
        gain = self.house.summer_gain_c if season is Season.AUGUST else self.house.winter_gain_c
        self._temps = [outdoor + gain + self._offset(room) for room in CLIMATE_ROOMS]
        self._ac_on = False

    def _local(self, at: int) -> tuple[Weather, float]:
        """The day's weather and the local hour (fractional) at ``at``."""
        local = to_datetime(at).astimezone(self.zone)
        day = local.date().toordinal()
        w = self._weather.get(day)
        if w is None:
            w = self._weather[day] = weather(self.season, self.seed, day)
        return w, local.hour + local.minute / 60

    def _offset(self, room: HouseRoom) -> float:
        if self.season is Season.AUGUST:
            return 0.8 if room is HouseRoom.BEDROOM else 0.0
        return {HouseRoom.BEDROOM: -1.0, HouseRoom.BATHROOM: -4.0}.get(room, 0.0)

    def step(self) -> ClimateReading:
        """Advance 5 minutes; the readings at the new time."""
        self.at += STEP_MS
        at = self.at
        presence = self._presence(at)
        h = self.habits
        living = self._temps[0]
        summer = self.season is Season.AUGUST
        if summer and h.uses_ac:
            if presence is Presence.OUT or (presence is Presence.ASLEEP and not h.ac_at_night):
                self._ac_on = False
            elif presence is Presence.AWAKE and living >= h.on_above_c:
                self._ac_on = True
        elif not summer and h.heats:
            self._ac_on = presence is Presence.AWAKE
        else:
            self._ac_on = False
        w, local_hour = self._local(at)
        outdoor = w.at(local_hour)
        gain = self.house.summer_gain_c if summer else self.house.winter_gain_c
        sun = 0.5 if summer and 11 <= local_hour < 18 else 0.0  # the roof and west walls in the afternoon
        k = STEP_MS / (self.house.tau_h * HOUR_MS)
        target_ac = h.setpoint_c if summer else h.heat_to_c
        for i, room in enumerate(CLIMATE_ROOMS):
            eq = outdoor + gain + sun + self._offset(room)
            t = self._temps[i] + (eq - self._temps[i]) * k
            if self._ac_on and room in COOLED_ROOMS:
                t += (target_ac - t) * (STEP_MS / (0.5 * HOUR_MS))  # the unit pulls the room to its setting
            self._temps[i] = t
        # the plug: the harder the unit works (the room far from its setting, outdoors far from it), the more
        work = abs(self._temps[0] - target_ac) * 60.0 + abs(outdoor - target_ac) * 25.0
        ac_w = min(1200.0, 180.0 + work) if self._ac_on else 0.0
        dew = w.dew_c
        dry_dew = min(dew, 16.0) if self._ac_on and summer else dew
        temps: list[float] = []
        hums: list[float] = []
        for i, room in enumerate(CLIMATE_ROOMS):
            t = self._temps[i] + self._noise.gauss(0.0, 0.15)
            d = dry_dew if room in COOLED_ROOMS else dew
            if room is HouseRoom.BATHROOM and not summer:
                d = min(d, t - 8.0)  # unheated: the air stays dry as it cools
            temps.append(round(t, 1))
            hums.append(float(round(relative_humidity(t, d))))
        return ClimateReading(at, tuple(temps), tuple(hums), round(ac_w, 1), presence)


def climate_events(household: str, reading: ClimateReading, *, aircon: bool = True) -> list[SimEvent]:
    """A reading as the simulator's reports: each room's humidity then temperature, and the air
    conditioner's plug (``aircon``: the home has one on a smart plug)."""
    out = []
    for i, room in enumerate(CLIMATE_ROOMS):
        device = thermometer(room)
        out.append(SimEvent(reading.at, household, device, Kind.HUMIDITY, reading.humidities[i], reading.at))
        out.append(SimEvent(reading.at, household, device, Kind.TEMPERATURE, reading.temps[i], reading.at))
    if aircon:
        out.append(SimEvent(reading.at, household, AC_DEVICE, Kind.POWER, reading.ac_w, reading.at))
    return out


def relative_humidity(temp_c: float, dew_c: float) -> float:
    """RH (%) of air at ``temp_c`` with dew point ``dew_c`` (Magnus), kept within 20..98 %."""

    def vapour(t: float) -> float:
        return math.exp(17.625 * t / (243.04 + t))

    return max(20.0, min(98.0, 100.0 * vapour(min(dew_c, temp_c)) / vapour(temp_c)))
