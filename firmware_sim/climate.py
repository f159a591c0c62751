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
from datetime import date
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from firmware_sim.events import SimEvent, to_datetime
from firmware_sim.kits import HouseRoom
from firmware_sim.routine import Activity
from firmware_sim.sensors import Raw
from mimamori.contract import Kind

STEP_MS: Final = 5 * 60_000
HOUR_MS: Final = 3_600_000
CLIMATE_ROOMS: Final = (HouseRoom.LIVING, HouseRoom.BEDROOM, HouseRoom.BATHROOM)
AC_DEVICE: Final = "aircon"
COOLED_ROOMS: Final = frozenset({HouseRoom.LIVING, HouseRoom.BEDROOM})
"""The one air conditioner serves the small home's living room and bedroom (not the bathroom)."""
_COOLED: Final = tuple(room in COOLED_ROOMS for room in CLIMATE_ROOMS)
QUARTER_MS: Final = 15 * 60_000
HEATER_C: Final = 38.0  # a fan heater on high in a small closed room
HEATER_DEW_C: Final = 23.0


def thermometer(room: HouseRoom) -> str:
    return f"{room.value}-temp"


THERMOMETERS: Final = tuple(thermometer(room) for room in CLIMATE_ROOMS)


class Season(StrEnum):
    AUGUST = "august"  # the summer model (June to September)
    JANUARY = "january"  # the winter model (December to March)
    MILD = "mild"  # April, May, October, November: neither cooled nor heated


def season_of(day: date) -> Season:
    """The model a home's climate uses from ``day`` (a run keeps the season of its first day)."""
    if 6 <= day.month <= 9:
        return Season.AUGUST
    if day.month == 12 or day.month <= 3:
        return Season.JANUARY
    return Season.MILD


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
    if season is Season.MILD:
        high = rng.gauss(19.5, 3.0)
        return Weather(high - rng.uniform(6.0, 8.0), high, rng.gauss(10.0, 3.0))
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
class IndoorReport:
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
        heater: tuple[int, int] | None = None,
    ) -> None:
        """``house`` and ``habits`` are drawn from the seed unless given (a scenario pins them).
        ``heater``: from..until (epoch ms) a kerosene fan heater runs on high in the closed living room
        (the demo's afternoon): the room heads for ``HEATER_C`` within about an hour, and the heater's
        combustion (as much water as kerosene burnt) keeps its air at a ``HEATER_DEW_C`` dew point."""
        self._heater = heater
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
        self._bucket = -1
        self._bucket_local: tuple[Weather, float] = (Weather(0.0, 0.0, 0.0), 0.0)
        w, hour = self._local(start)
        outdoor = w.at(hour)
        self._offsets = tuple(self._gain() + self._offset(room) for room in CLIMATE_ROOMS)
        self._temps = [outdoor + offset for offset in self._offsets]
        self._ac_on = False

    def _local(self, at: int) -> tuple[Weather, float]:
        """The day's weather and the local hour (fractional, whole minutes) at ``at``; looked up once
        per quarter hour (every zone's offset is a whole number of quarter hours)."""
        bucket = at // QUARTER_MS
        if bucket != self._bucket:
            local = to_datetime(bucket * QUARTER_MS).astimezone(self.zone)
            day = local.date().toordinal()
            w = self._weather.get(day)
            if w is None:
                w = self._weather[day] = weather(self.season, self.seed, day)
            self._bucket, self._bucket_local = bucket, (w, local.hour + local.minute / 60)
        w, hour = self._bucket_local
        return w, hour + (at - bucket * QUARTER_MS) // 60_000 / 60

    def _gain(self) -> float:
        if self.season is Season.MILD:
            return (self.house.summer_gain_c + self.house.winter_gain_c) / 2
        return self.house.summer_gain_c if self.season is Season.AUGUST else self.house.winter_gain_c

    def _offset(self, room: HouseRoom) -> float:
        if self.season is Season.MILD:
            return -1.0 if room is HouseRoom.BATHROOM else 0.0
        if self.season is Season.AUGUST:
            return 0.8 if room is HouseRoom.BEDROOM else 0.0
        return {HouseRoom.BEDROOM: -1.0, HouseRoom.BATHROOM: -4.0}.get(room, 0.0)

    def step(self) -> IndoorReport:
        """Advance 5 minutes; the readings at the new time."""
        self.at += STEP_MS
        at = self.at
        presence = self._presence(at)
        h = self.habits
        living = self._temps[0]
        summer = self.season is Season.AUGUST
        if presence is Presence.AWAKE:  # only the resident switches it (asleep or fallen: left as it is)
            leaving = self._presence(at + STEP_MS)  # going out or to bed within 5 minutes: off first
            if summer and h.uses_ac:
                if leaving is Presence.OUT or (leaving is Presence.ASLEEP and not h.ac_at_night):
                    self._ac_on = False
                elif living >= h.on_above_c:
                    self._ac_on = True
            elif self.season is Season.JANUARY and h.heats:
                self._ac_on = leaving is Presence.AWAKE
        w, local_hour = self._local(at)
        outdoor = w.at(local_hour)
        sun = 0.5 if summer and 11 <= local_hour < 18 else 0.0  # the roof and west walls in the afternoon
        k = STEP_MS / (self.house.tau_h * HOUR_MS)
        target_ac = h.setpoint_c if summer else h.heat_to_c
        temps_now = self._temps
        heating = self._heater is not None and self._heater[0] <= at < self._heater[1]
        for i, cooled in enumerate(_COOLED):
            eq = outdoor + sun + self._offsets[i]
            t = temps_now[i] + (eq - temps_now[i]) * k
            if heating and i == 0:  # the living room
                t += (HEATER_C - t) * (STEP_MS / HOUR_MS)
            if cooled and self._ac_on and (t > target_ac if summer else t < target_ac):
                t += (target_ac - t) * (STEP_MS / (0.5 * HOUR_MS))  # the unit pulls the room to its setting
            temps_now[i] = t
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
            if heating and room is HouseRoom.LIVING:  # its vapour builds up as the room heats
                d = max(d, min(HEATER_DEW_C, t - 10.0))
            if room is HouseRoom.BATHROOM and self.season is Season.JANUARY:
                d = min(d, t - 8.0)  # unheated: the air stays dry as it cools
            temps.append(round(t, 1))
            hums.append(float(round(relative_humidity(t, d))))
        return IndoorReport(at, tuple(temps), tuple(hums), round(ac_w, 1), presence)


def climate_raws(reading: IndoorReport, *, aircon: bool = True) -> list[Raw]:
    """A reading as the devices' reports: each room's humidity then temperature, and the air
    conditioner's plug (``aircon``: the home has one on a smart plug)."""
    at = reading.at
    out: list[Raw] = []
    for device, humidity, temp in zip(THERMOMETERS, reading.humidities, reading.temps, strict=True):
        out.append((at, device, Kind.HUMIDITY, humidity))
        out.append((at, device, Kind.TEMPERATURE, temp))
    if aircon:
        out.append((at, AC_DEVICE, Kind.POWER, reading.ac_w))
    return out


def climate_events(household: str, reading: IndoorReport, *, aircon: bool = True) -> list[SimEvent]:
    """:func:`climate_raws` as the simulator's reports of ``household``."""
    return [SimEvent(at, household, d, k, v, at) for at, d, k, v in climate_raws(reading, aircon=aircon)]


def relative_humidity(temp_c: float, dew_c: float) -> float:
    """RH (%) of air at ``temp_c`` with dew point ``dew_c`` (Magnus), kept within 20..98 %."""

    def vapour(t: float) -> float:
        return math.exp(17.625 * t / (243.04 + t))

    return max(20.0, min(98.0, 100.0 * vapour(min(dew_c, temp_c)) / vapour(temp_c)))
