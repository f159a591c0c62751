"""The simulator's indoor climate (fast tier of benchmarks/climate.py): deterministic, an air-conditioner
user's rooms stay out of 厳重警戒 while home and awake, a non-user's reach it on a heat-wave afternoon,
and winter rooms cool without heating."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from detection.climate import HeatLevel, heat_level, indoor_wbgt
from detection.replay import Rejections, read_events
from firmware_sim.climate import (
    STEP_MS,
    ClimateHabits,
    House,
    IndoorClimate,
    IndoorReport,
    Presence,
    Season,
    climate_events,
)
from firmware_sim.events import SimEvent, to_datetime, to_ms
from firmware_sim.files import write_csv
from firmware_sim.homes import HouseholdSpec
from firmware_sim.kits import AIRCON, ROOM_THERMOMETERS
from firmware_sim.simulate import build_homes, generate, stream
from mimamori.contract import Kind

ZONE = ZoneInfo("Asia/Tokyo")
HEAT_WAVE = datetime(2026, 8, 21, 0, 0, tzinfo=ZONE)  # seed 1: 22 August reaches 37 °C outdoors
HOUSE = House(tau_h=4.0, summer_gain_c=1.5, winter_gain_c=5.0)


def day(uses_ac: bool, season: Season = Season.AUGUST, start: datetime = HEAT_WAVE) -> list[IndoorReport]:
    habits = ClimateHabits(
        uses_ac, heats=False, on_above_c=28.0, setpoint_c=27.0, ac_at_night=True, heat_to_c=20.0
    )
    climate = IndoorClimate(
        "h1", "Asia/Tokyo", season, 1, lambda _: Presence.AWAKE, to_ms(start), house=HOUSE, habits=habits
    )
    return [climate.step() for _ in range(2 * 288)]  # two days, every 5 minutes


def top_level(r: IndoorReport) -> HeatLevel:
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


def split(events: list[SimEvent]) -> tuple[list[SimEvent], list[SimEvent]]:
    """(the room thermometers' and the air conditioner's reports, the rest)."""
    climate = {d.id for d in (*ROOM_THERMOMETERS, AIRCON)}
    return [e for e in events if e.device in climate], [e for e in events if e.device not in climate]


def test_generate_reports_each_room_every_5_minutes_for_homes_with_room_sensors() -> None:
    plain = generate(4, 2, seed=3, start=date(2026, 8, 20))
    fitted = generate(4, 2, seed=3, start=date(2026, 8, 20), climate_share=1.0)
    assert [h.kit.name for h in fitted.homes] == [h.kit.name + "+climate" for h in plain.homes]
    climate, rest = split(fitted.events)
    assert rest == plain.events  # the activity a seed gives is the same with room sensors
    assert not split(plain.events)[0]
    for home in fitted.homes:
        mine = [e for e in climate if e.household == home.household]
        temps = [e for e in mine if e.device == "living-temp" and e.kind is Kind.TEMPERATURE]
        assert len(temps) == 2 * 288  # two days, every 5 minutes
        assert {e.at - f.at for e, f in zip(temps[1:], temps, strict=False)} == {STEP_MS}
        readings = {(e.device, e.kind) for e in mine if e.kind not in (Kind.CHECKIN, Kind.BATTERY)}
        assert readings == {
            *((d.id, k) for d in ROOM_THERMOMETERS for k in (Kind.TEMPERATURE, Kind.HUMIDITY)),
            ("aircon", Kind.POWER),
        }  # besides their check-ins and battery reports, as every device
        assert all(20 <= e.value <= 45 for e in mine if e.kind is Kind.TEMPERATURE)  # August indoors


def test_a_streamed_run_reports_the_same_rooms_as_generate() -> None:
    start = date(2026, 12, 1)
    whole = generate(4, 1, seed=5, start=start, climate_share=0.5)
    homes = build_homes(4, 5, start, climate_share=0.5)
    assert [h.kit.climate for h in homes] == [True, True, True, False]  # drawn
    lo = to_datetime(min(h.midnight(start.toordinal()) for h in homes))
    hi = to_datetime(max(h.midnight(start.toordinal() + 1) for h in homes))
    windows = [e for w in stream(homes, lo, hi, timedelta(minutes=7)) for e in w]
    assert split(windows)[0] == split(whole.events)[0]


def test_replay_ignores_room_climate_rows(tmp_path: Path) -> None:
    result = generate(2, 1, seed=3, start=date(2026, 8, 20), climate_share=1.0)
    path = tmp_path / "events.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        write_csv(result.events, out, {h.household: h.zone for h in result.homes})
    rejections = Rejections()
    replayed = read_events(path, rejections)
    rooms = sum(1 for e in result.events if e.kind in (Kind.TEMPERATURE, Kind.HUMIDITY))
    assert rooms == 2 * 288 * 6
    assert not rejections.total
    assert rejections.ignored >= rooms
    assert not [e for e in replayed if e[3] in ("temperature", "humidity")]


def test_a_heater_left_on_high_in_winter_makes_the_living_room_severe_until_it_is_turned_down() -> None:
    noon = datetime(2026, 12, 3, 11, 0, tzinfo=ZONE)
    off = noon + timedelta(hours=6)
    spec = HouseholdSpec("h1", kit="standard", climate=True, heater=(noon, off))
    (home,) = build_homes([spec], 7, date(2026, 12, 2))
    events = home.events_between(noon - timedelta(hours=1), off + timedelta(hours=1))
    living: dict[int, dict[Kind, float]] = {}
    for e in events:
        if e.device == "living-temp" and e.kind in (Kind.TEMPERATURE, Kind.HUMIDITY):
            living.setdefault(e.at, {})[e.kind] = e.value
    levels = {at: heat_level(indoor_wbgt(r[Kind.TEMPERATURE], r[Kind.HUMIDITY])) for at, r in living.items()}
    before = [lv for at, lv in levels.items() if at < to_ms(noon)]
    during = [lv for at, lv in levels.items() if to_ms(noon) + 3 * 3_600_000 <= at < to_ms(off)]
    after = [lv for at, lv in levels.items() if at >= to_ms(off) + 1_800_000]
    assert max(before) < HeatLevel.ALERT
    assert min(during) >= HeatLevel.SEVERE  # 厳重警戒 from about two hours on
    assert max(after) < HeatLevel.SEVERE
