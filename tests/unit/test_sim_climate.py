"""The simulator's indoor climate (fast tier of benchmarks/climate.py): deterministic, an air-conditioner
user's rooms stay out of 厳重警戒 while home and awake, a non-user's reach it on a heat-wave afternoon,
and winter rooms cool without heating."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from detection.climate import HeatLevel, heat_level, indoor_wbgt
from firmware_sim.climate import (
    ClimateHabits,
    ClimateReading,
    House,
    IndoorClimate,
    Presence,
    Season,
    climate_events,
)
from firmware_sim.events import to_ms
from mimamori.contract import Kind

ZONE = ZoneInfo("Asia/Tokyo")
HEAT_WAVE = datetime(2026, 8, 21, 0, 0, tzinfo=ZONE)  # seed 1: 22 August reaches 37 °C outdoors
HOUSE = House(tau_h=4.0, summer_gain_c=1.5, winter_gain_c=5.0)


def day(uses_ac: bool, season: Season = Season.AUGUST, start: datetime = HEAT_WAVE) -> list[ClimateReading]:
    habits = ClimateHabits(
        uses_ac, heats=False, on_above_c=28.0, setpoint_c=27.0, ac_at_night=True, heat_to_c=20.0
    )
    climate = IndoorClimate(
        "h1", "Asia/Tokyo", season, 1, lambda _: Presence.AWAKE, to_ms(start), house=HOUSE, habits=habits
    )
    return [climate.step() for _ in range(2 * 288)]  # two days, every 5 minutes


def top_level(r: ClimateReading) -> HeatLevel:
    return max(heat_level(indoor_wbgt(t, h)) for t, h in list(zip(r.temps, r.humidities, strict=True))[:2])


def test_the_same_seed_gives_the_same_rooms() -> None:
    assert day(False)[-1] == day(False)[-1]


def test_a_non_user_reaches_severe_heat_and_an_air_conditioner_user_does_not() -> None:
    hot = day(False)
    cool = day(True)
    assert max(top_level(r) for r in hot) >= HeatLevel.SEVERE
    assert all(r.ac_w == 0.0 for r in hot)
    assert max(top_level(r) for r in cool[288:]) <= HeatLevel.ALERT  # once the unit has caught up
    assert any(r.ac_w > 100.0 for r in cool)


def test_an_unheated_winter_house_gets_cold_and_the_bathroom_colder() -> None:
    january = day(False, Season.JANUARY, datetime(2027, 1, 10, tzinfo=ZONE))
    living = [r.temps[0] for r in january]  # CLIMATE_ROOMS: living, bedroom, bathroom
    bathroom = [r.temps[2] for r in january]
    assert min(living) < 12.0
    assert sum(bathroom) / len(bathroom) < sum(living) / len(living) - 3.0


def test_readings_become_reports_of_each_room_and_the_plug() -> None:
    reading = day(True)[0]
    events = climate_events("h1", reading)
    assert [(e.device, e.kind) for e in events] == [
        ("living-temp", Kind.HUMIDITY),
        ("living-temp", Kind.TEMPERATURE),
        ("bedroom-temp", Kind.HUMIDITY),
        ("bedroom-temp", Kind.TEMPERATURE),
        ("bathroom-temp", Kind.HUMIDITY),
        ("bathroom-temp", Kind.TEMPERATURE),
        ("aircon", Kind.POWER),
    ]
