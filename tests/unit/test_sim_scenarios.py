"""Injected scenarios change exactly what they should, from t0 on, and are written to the ground truth."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from firmware_sim.cli import parse_scenario
from firmware_sim.events import SimEvent, to_ms
from firmware_sim.homes import HouseholdSpec
from firmware_sim.scenarios import Scenario, ScenarioKind
from firmware_sim.simulate import DEFAULT_START, build_homes, generate, random_scenarios
from mimamori.contract import Kind, is_activity

TOKYO = ZoneInfo("Asia/Tokyo")
HOME = HouseholdSpec("h1", kit="full")
DAYS = 6
SEED = 11


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(
        DEFAULT_START + timedelta(days=day), datetime.min.time(), tzinfo=TOKYO
    ) + timedelta(hours=hour, minutes=minute)


def run(*scenarios: Scenario) -> list[SimEvent]:
    return generate([HOME], DAYS, SEED, scenarios).events


def activity(events: list[SimEvent], previous: dict[str, float] | None = None) -> list[SimEvent]:
    previous = {} if previous is None else previous
    out = []
    for e in events:
        if is_activity(e.kind, e.value, previous.get(e.device)):
            out.append(e)
        if e.kind is Kind.POWER:
            previous[e.device] = e.value
    return out


def between(events: list[SimEvent], lo: datetime, hi: datetime) -> list[SimEvent]:
    return [e for e in events if to_ms(lo) <= e.at < to_ms(hi)]


def test_before_t0_a_scenario_changes_nothing() -> None:
    plain = run()
    t0 = at(3, 10)
    fallen = run(Scenario("h1", ScenarioKind.FALL, t0))
    assert between(plain, at(0, 0), t0 - timedelta(minutes=3)) == between(
        fallen, at(0, 0), t0 - timedelta(minutes=3)
    )


def test_fall_means_silence_but_devices_stay_alive() -> None:
    t0 = at(2, 20, 30)  # evening: often in front of the TV
    events = run(Scenario("h1", ScenarioKind.FALL, t0))
    after = between(events, t0 + timedelta(minutes=2), at(DAYS, 0))
    before = {e.device: e.value for e in events if e.kind is Kind.POWER and e.at < after[0].at}
    # Only the TV, left on, switching itself off hours later (its no-operation auto-off).
    assert [(e.device, e.value < 20) for e in activity(after, before)] in ([], [("tv", True)])
    assert {e.kind for e in after} >= {Kind.CHECKIN, Kind.BATTERY}
    assert activity(between(events, at(2, 6), t0))


def test_bath_fall_the_bathroom_sensor_saw_the_person_go_in_and_nothing_after() -> None:
    home = build_homes([HOME], SEED, DEFAULT_START)[0]
    day, bath = next((d, b) for d in range(DEFAULT_START.toordinal() + 1, DEFAULT_START.toordinal() + DAYS)
                     if (b := home.bath(d)))  # fmt: skip
    t0_ms = (bath[0] + bath[1]) // 2
    t0 = datetime.fromtimestamp(t0_ms / 1000, TOKYO)
    events = run(Scenario("h1", ScenarioKind.BATH_FALL, t0))
    seen = activity(between(events, datetime.fromtimestamp(bath[0] / 1000, TOKYO), t0))
    assert [e.device for e in seen[-1:]] == ["bathroom-motion"]  # going in (and the bath) seen
    assert not activity(between(events, t0 + timedelta(minutes=2), at(DAYS, 0)))
    plain = activity(between(run(), t0 + timedelta(minutes=2), t0 + timedelta(hours=2)))
    assert plain  # without the fall, the evening went on
    assert day >= DEFAULT_START.toordinal() + 1


def test_fall_with_rescue_shows_the_door_then_nobody() -> None:
    t0, found = at(2, 11), at(2, 19)
    events = run(Scenario("h1", ScenarioKind.FALL, t0, found))
    quiet = activity(between(events, t0 + timedelta(minutes=2), found - timedelta(seconds=5)))
    assert not quiet
    rescue = activity(between(events, found - timedelta(seconds=5), found + timedelta(minutes=40)))
    assert any(e.device == "main-door" for e in rescue)
    assert not activity(between(events, found + timedelta(hours=1), at(DAYS, 0)))


def test_night_wandering_opens_the_main_door_and_nobody_comes_back() -> None:
    t0 = at(3, 2, 40)
    events = run(Scenario("h1", ScenarioKind.NIGHT_WANDERING, t0))
    around = between(events, t0 - timedelta(minutes=1), t0 + timedelta(minutes=1))
    assert any(e.device == "main-door" and e.value == 1 for e in around)
    assert any(e.device == "hall-motion" and e.value == 1 for e in around)
    assert not activity(between(events, t0 + timedelta(minutes=3), at(DAYS, 0)))


def test_away_trip_is_quiet_between_the_two_doors() -> None:
    t0, back = at(1, 9), at(3, 16)
    events = run(Scenario("h1", ScenarioKind.AWAY, t0, back))
    assert not activity(between(events, t0 + timedelta(minutes=3), back - timedelta(seconds=2)))
    returning = between(events, back - timedelta(seconds=2), back + timedelta(minutes=5))
    assert any(e.device == "main-door" and e.value == 1 for e in returning)
    assert activity(between(events, back + timedelta(minutes=5), at(DAYS, 0)))


def test_missed_wakeup_keeps_the_bedroom_quiet_until_the_end() -> None:
    homes = build_homes([HOME], SEED, DEFAULT_START)
    wake = homes[0].wake(DEFAULT_START.toordinal() + 2)
    t0 = datetime.fromtimestamp(wake / 1000, TOKYO)
    end = t0 + timedelta(hours=3)
    events = run(Scenario("h1", ScenarioKind.MISSED_WAKEUP, t0, end))
    moving = activity(between(events, t0, end))
    assert all(e.device == "bedroom-motion" for e in moving)
    assert len(moving) <= 3
    assert len(activity(between(events, end, end + timedelta(hours=2)))) > 5


def test_illness_lowers_activity_over_days() -> None:
    plain = run()
    ill = run(Scenario("h1", ScenarioKind.ILLNESS, at(1, 12), ramp_days=2))
    healthy_late = len(activity(between(plain, at(4, 0), at(6, 0))))
    ill_late = len(activity(between(ill, at(4, 0), at(6, 0))))
    assert ill_late < 0.75 * healthy_late


def test_help_button_press() -> None:
    t0 = at(1, 15)
    events = run(Scenario("h1", ScenarioKind.HELP_BUTTON, t0))
    presses = [e for e in events if e.kind is Kind.BUTTON]
    assert [(e.at, e.value) for e in presses] == [(to_ms(t0), 1.0)]


def test_battery_death_runs_down_then_silence_then_a_new_battery() -> None:
    t0, end = at(3, 12), at(4, 18)
    events = run(Scenario("h1", ScenarioKind.BATTERY_DEATH, t0, end, device="kitchen-motion"))
    levels = [
        e.value
        for e in events
        if e.device == "kitchen-motion" and e.kind is Kind.BATTERY and e.at < to_ms(t0)
    ]
    assert levels[-1] < levels[0] / 2
    assert not [e for e in between(events, t0, end) if e.device == "kitchen-motion"]
    later = [e for e in between(events, end, at(DAYS, 0)) if e.device == "kitchen-motion"]
    assert any(e.kind is Kind.BATTERY and e.value >= 99 for e in later)


def test_stuck_sensor_reports_once_then_only_checkins() -> None:
    t0, end = at(2, 9), at(3, 9)
    events = run(Scenario("h1", ScenarioKind.STUCK_SENSOR, t0, end, device="living-motion"))
    stuck = [e for e in between(events, t0, end) if e.device == "living-motion"]
    assert (stuck[0].kind, stuck[0].value) == (Kind.MOTION, 1.0)
    assert {e.kind for e in stuck[1:]} <= {Kind.CHECKIN, Kind.BATTERY}
    assert len(stuck) > 10


def test_gateway_power_loss_drops_everything() -> None:
    t0, end = at(2, 8), at(2, 13)
    assert not between(run(Scenario("h1", ScenarioKind.GATEWAY_POWER_LOSS, t0, end)), t0, end)
    assert between(run(), t0, end)


def test_clock_skew_shifts_the_reported_time_only() -> None:
    t0, end = at(2, 8), at(2, 20)
    plain = between(run(), t0, end)
    skewed = between(run(Scenario("h1", ScenarioKind.CLOCK_SKEW, t0, end, offset_s=-900)), t0, end)
    assert [e.at for e in skewed] == [e.at for e in plain]
    assert all(e.observed == e.at - 900_000 for e in skewed)


def test_duplicates_repeat_a_report_with_its_own_timestamp() -> None:
    t0, end = at(2, 0), at(3, 0)
    plain = between(run(), t0, end)
    duplicated = between(
        run(Scenario("h1", ScenarioKind.DUPLICATES, t0, end, rate=0.3)), t0, end + timedelta(minutes=1)
    )
    extra = len(duplicated) - len(plain)
    assert 0.2 * len(plain) < extra < 0.4 * len(plain)
    keys = [(e.device, e.kind, e.value, e.observed) for e in duplicated]
    assert len(set(keys)) == len(plain)


def test_truth_lists_scenarios_with_local_times() -> None:
    t0 = at(2, 10)
    truth = generate([HOME], 3, SEED, [Scenario("h1", ScenarioKind.FALL, t0)]).truth()
    assert truth["scenarios"] == [
        {
            "household": "h1",
            "kind": "fall",
            "t0": "2026-11-04T10:00:00.000+09:00",
            "end": None,
            "device": None,
            "offset_s": 0.0,
            "rate": 0.2,
            "ramp_days": 3.0,
        }
    ]
    home = truth["households"][0]
    assert home["usual"]["latest_wake"] > home["usual"]["wake_mean"]
    assert home["days"][2]["date"] == "2026-11-04"


def test_random_scenarios_are_varied_and_reproducible() -> None:
    homes = build_homes(20, 3, DEFAULT_START)
    a = random_scenarios(homes, DEFAULT_START, 7, 3, 12)
    assert a == random_scenarios(homes, DEFAULT_START, 7, 3, 12)
    assert {s.kind for s in a} == set(ScenarioKind)
    assert len({s.household for s in a}) == 12
    generate(20, 7, 3, a)  # every one of them can be simulated


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "kind=fall,household=home-0003,t0=2+10:30",
            Scenario("home-0003", ScenarioKind.FALL, at(2, 10, 30)),
        ),
        (
            "kind=away,household=a,t0=2026-11-03T09:00+09:00,end=2026-11-05T18:00",
            Scenario("a", ScenarioKind.AWAY, at(1, 9), at(3, 18)),
        ),
        (
            "kind=clock_skew,household=a,t0=1+00:00,end=2+00:00,offset=-300,device=kettle",
            Scenario("a", ScenarioKind.CLOCK_SKEW, at(1, 0), at(2, 0), device="kettle", offset_s=-300),
        ),
    ],
)
def test_parse_scenario(text: str, expected: Scenario) -> None:
    assert parse_scenario(text, DEFAULT_START, "Asia/Tokyo") == expected


@pytest.mark.parametrize(
    "text",
    [
        "kind=flood,household=a,t0=1+00:00",
        "household=a,t0=1+00:00",
        "kind=fall,household=a,t0=yesterday",
        "kind=battery_death,household=a,t0=1+00:00",
        "kind=fall,household=a,t0=1+00:00,colour=red",
    ],
)
def test_parse_scenario_rejects_nonsense(text: str) -> None:
    with pytest.raises(SystemExit, match="scenario"):
        parse_scenario(text, date(2026, 11, 2), "Asia/Tokyo")


def test_presence_sensors_stay_occupied_while_the_person_lies_after_a_bath_fall() -> None:
    """The optional presence kit: every occupancy device alternates occupied / clear (never the same
    state twice); a bath collapse leaves the bathroom's sensor occupied with nothing after; the bed pad
    is occupied at night."""
    spec = HouseholdSpec("h1", kit="presence")
    home = build_homes([spec], SEED, DEFAULT_START)[0]
    day = next(
        d for d in range(DEFAULT_START.toordinal() + 1, DEFAULT_START.toordinal() + DAYS) if home.bath(d)
    )
    start, end = home.bath(day)  # type: ignore[misc]
    t0 = datetime.fromtimestamp((start + end) / 2000, TOKYO)
    events = generate([spec], DAYS, SEED, [Scenario("h1", ScenarioKind.BATH_FALL, t0)]).events
    occupancy = [e for e in events if e.kind is Kind.OCCUPANCY]
    states: dict[str, float] = {}
    for e in occupancy:
        assert states.get(e.device) != e.value, (e.device, e.at)
        states[e.device] = e.value
    bath = [e for e in occupancy if e.device == "bathroom-presence"]
    assert bath[-1].value == 1.0
    assert bath[-1].at < to_ms(t0)  # the person went in before the fall: no edge at or after it
    assert not [e for e in occupancy if e.at >= to_ms(t0) + 60_000]  # nobody moves anywhere after
    assert any(e.device == "bed-pad" and e.value == 1.0 for e in between(occupancy, at(0, 19), at(1, 4)))
