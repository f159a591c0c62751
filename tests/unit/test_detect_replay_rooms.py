"""Replays with rooms, no flags: the real sample (a kit that sees neither the living room nor the bedroom)
and simulated homes (a bath collapse seen by a bathroom sensor; a kit that cannot see the evening)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from detection.baseline import Baseline
from detection.findings import Audience, Finding
from detection.model import FixedProfiles
from detection.replay import Event, Rejections, Replayer, read_events
from detection.rooms import Room, RoomMap
from firmware_sim.homes import HouseholdSpec
from firmware_sim.scenarios import Scenario, ScenarioKind
from firmware_sim.simulate import DEFAULT_START, build_homes, generate
from tests.support.processes import run_once

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real_home_a"
SEED = 4  # a resident who bathes most evenings
DAYS = 16


def replayed(events: list[Event], tz: str, until: float) -> tuple[list[Finding], Replayer]:
    replayer = Replayer(FixedProfiles(tz))  # no flags: every switch on auto, rooms from the names
    replayer.feed(events)
    replayer.run_until(until)
    return [f for f in replayer.findings if f.audience is Audience.COMMUNITY], replayer


def baseline_of(replayer: Replayer, household: str) -> Baseline:
    return replayer.engine.state(household).baseline


def test_the_real_sample_with_the_rooms_its_names_give() -> None:
    assert (REAL / "home_a_events.csv").exists(), "the real sample is missing: ../shared/data/real_home_a"
    events = read_events(REAL / "home_a_events.csv", Rejections())
    rooms = RoomMap()
    assert {d: rooms.room(d).value for d in sorted({e[2] for e in events})} == {
        "basin": "bathroom",
        "cabinet": "other",
        "cooktop": "kitchen",
        "cupboard": "kitchen",
        "fridge": "kitchen",
        "maindoor": "entrance",
        "microwave": "kitchen",
        "shower": "bathroom",
        "toaster": "kitchen",
        "toilet_flush": "toilet",
    }
    found, replayer = replayed(events, "Europe/Madrid", events[-1][0])
    base = baseline_of(replayer, "home_a")
    # no sensor sees the living room or the bedroom: the evening check is on by itself
    assert not base.sees(Room.LIVING)
    assert not base.sees(Room.BEDROOM)
    # sleep begins after the basin or the toilet: the kit cannot see the resident leave them, so no
    # stay rule there (such a home must not be alarmed every night)
    assert base.stay(Room.BATHROOM) == (0, 0)
    assert base.stay(Room.TOILET) == (0, 0)
    asleep_or_out = []
    for line in (REAL / "home_a_labels.csv").read_text(encoding="utf-8").splitlines()[1:]:
        start, end, activity = line.split(",")
        if activity in ("Sleeping", "Leaving"):
            asleep_or_out.append((datetime.fromisoformat(start), datetime.fromisoformat(end)))
    warm = datetime.fromtimestamp(events[0][0]).astimezone() + timedelta(days=7)  # the learning week
    scored = [f for f in found if f.raised_at >= warm]
    assert [f for f in scored if any(a <= f.raised_at < b for a, b in asleep_or_out)] == []
    assert len(scored) <= 1  # as measured: 0.16 a day


def sim_events(household: str, scenarios: Sequence[Scenario], kit: str = "full") -> tuple[list[Event], str]:
    result = generate([HouseholdSpec(household, kit=kit)], DAYS, SEED, scenarios)
    activity = ("motion", "door", "power", "button")
    events = [
        (e.observed / 1000, e.household, e.device, e.kind.value, e.value)
        for e in result.events
        if e.kind.value in activity
    ]
    return sorted(events), result.homes[0].tz


def test_a_bath_collapse_is_raised_within_the_hour_and_says_the_bathroom() -> None:
    home = build_homes([HouseholdSpec("h1", kit="full")], SEED, DEFAULT_START)[0]
    first = DEFAULT_START.toordinal()
    bath = next(b for day in range(first + 12, first + DAYS - 1) if (b := home.bath(day)))
    t0 = (bath[0] + (bath[1] - bath[0]) // 2) / 1000
    scenario = Scenario("h1", ScenarioKind.BATH_FALL, datetime.fromtimestamp(t0).astimezone())
    events, tz = sim_events("h1", [scenario])
    found, replayer = replayed(events, tz, t0 + 24 * 3600)
    assert baseline_of(replayer, "h1").stay(Room.BATHROOM)[1] > 0
    (alarm,) = [f for f in found if f.raised_at.timestamp() >= t0][:1]
    assert alarm.explanation.key == "inactivity.bathroom"
    assert 0 < alarm.raised_at.timestamp() - t0 <= 3600


def test_a_kit_that_cannot_see_the_evening_gets_the_check_by_itself() -> None:
    events, tz = sim_events("h2", [], kit="sparse")
    _, replayer = replayed(events, tz, events[-1][0])
    base = baseline_of(replayer, "h2")
    assert not base.sees(Room.LIVING)
    assert not base.sees(Room.BEDROOM)
    assert base.sees(Room.ENTRANCE)
    assert base.sees(Room.KITCHEN)
    full, tz = sim_events("h3", [])
    _, replayer = replayed(full, tz, full[-1][0])
    assert baseline_of(replayer, "h3").sees(Room.LIVING)  # the full kit sees it: the check stays off


def test_replay_command_takes_rooms_from_a_file_and_refuses_a_bad_one(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(
        "ts,household,device,kind,value\n"
        "2026-03-02T07:00:00+09:00,h1,pir1,motion,1\n"
        "2026-03-02T07:10:00+09:00,h1,back-door,door,1\n",
        encoding="utf-8",
    )
    rooms = tmp_path / "rooms.csv"
    rooms.write_text("device,room\npir1,bathroom\nback-door,entrance\n", encoding="utf-8")
    out = tmp_path / "findings.jsonl"
    common = ["replay", "--events", str(events), "--tz", "Asia/Tokyo", "--out", str(out)]
    done = run_once(*common, "--devices", str(rooms))
    assert done.returncode == 0, done.stderr
    assert "replay: rooms back-door=entrance, pir1=bathroom (? inferred from the name)" in done.stderr
    inferred = run_once(*common)
    assert "replay: rooms back-door=other?, pir1=other? (? inferred from the name)" in inferred.stderr
    rooms.write_text("pir1,garage\n", encoding="utf-8")
    bad = run_once(*common, "--devices", str(rooms))
    assert bad.returncode == 2
    assert "--devices" in bad.stderr
    assert "unknown room 'garage'" in bad.stderr
    wrong = run_once(*common, "--evening-check", "sometimes")
    assert wrong.returncode == 2
    assert "expected auto, on or off" in wrong.stderr
