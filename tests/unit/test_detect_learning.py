"""Learning from outcomes and the household's sensitivity: the pure adjustment, its effect on when a
quiet stretch is raised, and the outcomes escalation keeps for it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cli import build_parser
from detection.baseline import learn
from detection.cost import SettingCost, sensitivity_costs
from detection.engine import Engine
from detection.episodes import MemoryEpisodes
from detection.findings import Explanation, Finding, FindingKind, Severity
from detection.learning import ALL_DAY, Rule, adjustments, factor, feedback_of, rule_of
from detection.model import FixedProfiles, Profile, Tuning
from detection.profiles import StateProfiles
from detection.replay import Event
from detection.rooms import RoomMap
from escalation.commands import StaffCommands
from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.models import Outcome
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from registry.households_import import import_data, read_file
from registry.models import Feedback, Household, Sensitivity
from registry.repository import Registry
from tests.support.detect_routine import TZ, at, routine

TUNING = Tuning()
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "households.example.yaml"


def fb(days_ago: float, *, emergency: bool = False, rule: str = "quiet", band: int = 4) -> Feedback:
    closed = NOW - timedelta(days=days_ago)
    return Feedback("h1", f"inc-{days_ago}-{emergency}-{rule}-{band}", closed, emergency, rule, band)


@dataclass
class FactorCase:
    name: str
    feedback: list[Feedback]
    expected: float
    rule: Rule = Rule.QUIET
    band: int = 4


STEP, TIGHTEN, DECAY_DAYS = TUNING.learn_step, TUNING.learn_tighten_step, TUNING.learn_decay_s / 86400

FACTOR_CASES = [
    FactorCase("no outcomes: as learned", [], 1.0),
    FactorCase("a false alarm just closed loosens by one step", [fb(0)], 1 + STEP),
    FactorCase("half faded after half the decay", [fb(DECAY_DAYS / 2)], 1 + STEP / 2),
    FactorCase("gone after the decay", [fb(DECAY_DAYS)], 1.0),
    FactorCase("bounded: three false alarms never pass the maximum", [fb(0), fb(1), fb(2)], TUNING.learn_max),
    FactorCase("another band of the day is not touched", [fb(0, band=5)], 1.0),
    FactorCase("another rule is not touched", [fb(0, rule="bathroom", band=ALL_DAY)], 1.0),
    FactorCase(
        "a stay rule learns over the whole day",
        [fb(0, rule="toilet", band=ALL_DAY)],
        1 + STEP,
        Rule.TOILET,
        ALL_DAY,
    ),
    FactorCase("a real emergency never loosens: it tightens", [fb(0, emergency=True)], 1 - TIGHTEN),
    FactorCase(
        "false alarms before an emergency stop counting",
        [fb(10), fb(5), fb(1, emergency=True)],
        1 - TIGHTEN * (1 - 1 / DECAY_DAYS),
    ),
    FactorCase(
        "a false alarm after an emergency counts again",
        [fb(10, emergency=True), fb(1)],
        1 + STEP * (1 - 1 / DECAY_DAYS) - TIGHTEN * (1 - 10 / DECAY_DAYS),
    ),
    FactorCase(
        "tightening is bounded",
        [fb(0, emergency=True), fb(1, emergency=True), fb(2, emergency=True)],
        TUNING.learn_min,
    ),
    FactorCase("an outcome closed after now does not count yet (replay stays causal)", [fb(-1)], 1.0),
]


@pytest.mark.parametrize("case", FACTOR_CASES, ids=lambda c: c.name)
def test_factor(case: FactorCase) -> None:
    assert factor(case.feedback, case.rule, case.band, NOW.timestamp(), TUNING) == pytest.approx(
        case.expected
    )


@pytest.mark.parametrize(
    ("kind", "key", "expected"),
    [
        (FindingKind.INACTIVITY, "inactivity", Rule.QUIET),
        (FindingKind.INACTIVITY, "inactivity.prior", Rule.QUIET),
        (FindingKind.INACTIVITY, "inactivity.bathroom", Rule.BATHROOM),
        (FindingKind.INACTIVITY, "inactivity.toilet", Rule.TOILET),
        (FindingKind.LONG_ABSENCE, "long_absence", Rule.OUTING),
        (FindingKind.MISSED_WAKEUP, "missed_wakeup", None),  # the next relearn takes a late morning in
        (FindingKind.EVENING_QUIET, "evening_quiet", None),
        (FindingKind.HELP_BUTTON, "help_button", None),
        (FindingKind.LOW_BATTERY, "low_battery", None),
    ],
)
def test_rule_of(kind: FindingKind, key: str, expected: Rule | None) -> None:
    assert rule_of(kind, key) is expected


def test_feedback_keeps_the_local_band_of_the_stretch() -> None:
    started = datetime(2026, 12, 3, 4, 10, tzinfo=UTC)  # 13:10 in Tokyo: band 4 (12:00-15:00)
    kept = feedback_of(
        "h1", "i1", "inactivity", "inactivity", started, "Asia/Tokyo", emergency=False, closed_at=NOW
    )
    assert kept == Feedback("h1", "i1", NOW, False, "quiet", 4)
    bath = feedback_of(
        "h1", "i2", "inactivity", "inactivity.bathroom", started, "Asia/Tokyo", emergency=True, closed_at=NOW
    )
    assert bath is not None
    assert (bath.rule, bath.band, bath.emergency) == ("bathroom", ALL_DAY, True)
    assert (
        feedback_of(
            "h1",
            "i3",
            "missed_wakeup",
            "missed_wakeup",
            started,
            "Asia/Tokyo",
            emergency=False,
            closed_at=NOW,
        )
        is None
    )
    assert (
        feedback_of(
            "h1", "i4", "inactivity", "inactivity", None, "Asia/Tokyo", emergency=False, closed_at=NOW
        )
        is None
    )


def test_adjustments_say_what_moved_and_until_when() -> None:
    found = adjustments(
        [fb(2), fb(1), fb(0, rule="toilet", band=ALL_DAY), fb(DECAY_DAYS + 1, band=2)], NOW, TUNING
    )
    assert [(a.rule, a.band, a.false_alarms) for a in found] == [
        (Rule.QUIET, 4, 2),
        (Rule.TOILET, ALL_DAY, 1),
    ]
    assert found[0].factor == pytest.approx(round(1 + STEP * (2 - 3 / DECAY_DAYS), 2))
    assert found[0].fades_at == NOW - timedelta(days=1) + timedelta(days=DECAY_DAYS)


# -- the detector: the same stretch raised later or sooner --------------------------------------

BASE = learn(*routine(21), TZ, at(21, "12:00"), TUNING)


@dataclass
class DueCase:
    name: str
    feedback: list[tuple[int, bool, int]] = field(
        default_factory=list
    )  # (days before day 21, emergency, band)
    sensitivity: float = 1.0
    stretch: float = 1.0  # the expected threshold over the learned one (after the floor)


DUE_CASES = [
    DueCase("as learned"),
    DueCase("a false alarm in the band", [(3, False, 4)], stretch=1 + STEP * (1 - 3 / DECAY_DAYS)),
    DueCase("a false alarm in another band changes nothing", [(3, False, 2)]),
    DueCase("a false alarm then an emergency: not loosened", [(5, False, 4), (3, True, 4)]),
    DueCase("sensitivity low", sensitivity=0.85, stretch=1 / 0.85),
    DueCase("sensitivity low and a false alarm", [(0, False, 4)], 0.85, (1 + STEP) / 0.85),
]


@pytest.mark.parametrize("case", DUE_CASES, ids=lambda c: c.name)
def test_quiet_stretch_due(case: DueCase) -> None:
    """A stretch from 13:00 on day 21 (band 4): raised at the slot's threshold x the household's stretch."""
    feedback = [
        Feedback("h1", f"i{n}", datetime.fromtimestamp(at(21 - d, "13:00"), UTC), e, "quiet", band)
        for n, (d, e, band) in enumerate(case.feedback)
    ]
    profiles = FixedProfiles(TZ, sensitivity=case.sensitivity, feedback={"h1": feedback})
    engine = Engine(profiles, MemoryEpisodes(), TUNING)
    engine.relearned("h1", BASE, at(21, "12:00"))
    engine.activity("h1", at(21, "13:00"), "kitchen-motion")
    due = engine.due("h1", at(21, "13:01"))
    assert due is not None
    assert due.kind is FindingKind.INACTIVITY
    learned = BASE.threshold_s(False, 13 * 60)
    expected = min(TUNING.max_threshold_s, max(TUNING.min_threshold_s, learned * case.stretch))
    assert due.at - at(21, "13:00") == pytest.approx(expected, abs=1)


def test_high_sensitivity_keeps_the_floor() -> None:
    profiles = FixedProfiles(TZ, sensitivity=1.2)
    engine = Engine(profiles, MemoryEpisodes(), TUNING)
    engine.relearned("h1", BASE, at(21, "12:00"))
    engine.activity("h1", at(21, "13:00"), "kitchen-motion")
    due = engine.due("h1", at(21, "13:01"))
    learned = BASE.threshold_s(False, 13 * 60)
    assert due is not None
    assert due.at - at(21, "13:00") == pytest.approx(max(TUNING.min_threshold_s, learned / 1.2), abs=1)


# -- escalation keeps the outcomes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "kept"),
    [
        (Outcome.FALSE_ALARM, False),
        (Outcome.HOSPITAL, True),
        (Outcome.EMERGENCY_HANDLED, True),
        (Outcome.SAFE, None),
    ],
)
def test_closing_an_incident_keeps_what_detection_learns(
    tmp_path: Path, outcome: Outcome, kept: bool | None
) -> None:
    repo = EscalationRepository(tmp_path / "state.sqlite3")
    repo.open()
    try:
        assert import_data(repo, read_file(EXAMPLE), NOW).rejected == []
        started = NOW - timedelta(hours=3)  # 18:00 in Tokyo: band 6
        finding = Finding(
            household="demo-0001",
            kind=FindingKind.INACTIVITY,
            severity=Severity.URGENT,
            raised_at=NOW,
            episode=f"quiet:{int(started.timestamp())}",
            last_activity_at=started,
            explanation=Explanation("inactivity", {"since": "18:00"}),
        )
        opened = EscalationEngine(repo, EngineSettings("http://localhost", b"k" * 32)).open_from_finding(
            finding, NOW
        )
        assert opened is not None
        closed = StaffCommands(repo).close(
            opened.id, outcome, "", "care_manager:sato", NOW + timedelta(minutes=20)
        )
        assert closed.refused == ""
        found = repo.feedback("demo-0001", NOW - timedelta(days=1))
        if kept is None:
            assert found == []
        else:
            assert found == [Feedback("demo-0001", opened.id, NOW + timedelta(minutes=20), kept, "quiet", 6)]
        later = FakeClock(NOW + timedelta(days=1))
        assert (
            list(StateProfiles(repo, later).profile("demo-0001").feedback) == found
        )  # what the live detector reads
    finally:
        repo.close()


def test_sensitivity_is_kept_per_household(tmp_path: Path) -> None:
    repo = EscalationRepository(tmp_path / "state.sqlite3")
    repo.open()
    try:
        assert import_data(repo, read_file(EXAMPLE), NOW).rejected == []
        assert repo.sensitivity("demo-0001") is Sensitivity.STANDARD
        repo.set_sensitivity("demo-0001", Sensitivity.LOW)
        assert repo.sensitivity("demo-0001") is Sensitivity.LOW
        assert repo.sensitivity("demo-0002") is Sensitivity.STANDARD
        assert repo.sensitivities() == {"demo-0001": Sensitivity.LOW}  # what detection's profiles read
        assert StateProfiles(repo, FakeClock(NOW)).profile("demo-0001").sensitivity == 0.85
        repo.set_sensitivity("demo-0001", Sensitivity.STANDARD)
        assert repo.sensitivity("demo-0001") is Sensitivity.STANDARD
    finally:
        repo.close()


def test_a_reset_drops_the_adjustment_from_the_live_profile(tmp_path: Path) -> None:
    """A care manager's reset: the live detector's profile (refreshed every tick) holds no outcome, and
    the next stretch is judged at the threshold learned from the history alone."""
    repo = EscalationRepository(tmp_path / "state.sqlite3")
    repo.open()
    try:
        repo.upsert_household(Household("h1", "Sato", "", time_zone=TZ))
        closed = datetime.fromtimestamp(at(18, "13:00"), UTC)
        repo.add_feedback(Feedback("h1", "inc-1", closed, False, "quiet", 4))
        clock = FakeClock(datetime.fromtimestamp(at(21, "13:00"), UTC))
        profiles = StateProfiles(repo, clock)
        engine = Engine(profiles, MemoryEpisodes(), TUNING)
        engine.relearned("h1", BASE, at(21, "12:00"))
        learned = max(TUNING.min_threshold_s, BASE.threshold_s(False, 13 * 60))

        def wait_s(since: str) -> float:
            engine.activity("h1", at(21, since), "kitchen-motion")
            due = engine.due("h1", at(21, since) + 60)
            assert due is not None
            assert due.kind is FindingKind.INACTIVITY
            return due.at - at(21, since)

        assert wait_s("13:00") > learned + 60  # loosened by the false alarm
        assert repo.clear_feedback("h1") == 1
        clock.advance(timedelta(minutes=1))  # the profiles' next refresh (one tick)
        assert profiles.profile("h1").feedback == ()
        assert wait_s("13:01") == pytest.approx(learned, abs=1)
        assert repo.clear_feedback("h1") == 0
    finally:
        repo.close()


# -- the cost of a sensitivity on the household's own history -----------------------------------


def test_sensitivity_cost_on_the_household_history() -> None:
    """56 days of a routine with an afternoon nap a day of 40-90 min, and a longer one than ever each
    week of the window: higher sensitivity, more alarms and shorter waits; the probes are the window's
    days x 3 hours where the resident was just seen (29 local days: the window ends at noon)."""
    times, _ = routine(57)
    records = {30: 150, 37: 165, 44: 180, 51: 195}
    naps = {day: (at(day, "13:30"), records.get(day, 40 + (day * 37) % 51)) for day in range(57)}
    times = [t for t in times if not any(s <= t < s + m * 60 for s, m in naps.values())]
    events = [(t, "h1", "kitchen-motion", "motion", 1.0) for t in times]
    now = datetime.fromtimestamp(at(56, "12:00"), UTC)
    costs = sensitivity_costs(events, times, [0] * len(times), Profile("h1", TZ), now, weeks=4, tuning=TUNING)
    by = {c.sensitivity: c for c in costs}
    assert list(by) == [Sensitivity.LOW, Sensitivity.STANDARD, Sensitivity.HIGH]
    low, standard, high = by[Sensitivity.LOW], by[Sensitivity.STANDARD], by[Sensitivity.HIGH]
    assert low.alarms <= standard.alarms <= high.alarms
    assert high.alarms > low.alarms
    assert low.wait_median_s is not None
    assert standard.wait_median_s is not None
    assert high.wait_median_s is not None
    assert low.wait_median_s > standard.wait_median_s >= high.wait_median_s
    assert standard.days == 29
    assert 28 * 2 <= standard.probes <= 29 * 3  # 10:00, 14:00 (unless napping), 18:00


def test_sensitivity_cost_judges_a_probe_by_what_the_presence_sensors_said() -> None:
    """A presence-kit home: the kitchen's presence sensor says occupied 15 min before each probe (10:00,
    14:00, 18:00) and clear 10 min after it. At the probe the resident is there and not moving, so a
    collapse is a lying-still stretch (the kitchen's longest, 20 min, + 10) rather than the time slot's
    90-min floor; the same home without the sensor waits for the floor."""
    times, _ = routine(57)
    device = {t: "kitchen-motion" for t in times}
    for day in range(57):  # the night's toilet and the last activity before bed are not in the kitchen
        device[at(day, "02:00")] = "toilet-motion"
        device[at(day, "22:00")] = "bedroom-motion"
    plain = [(t, "h1", device[t], "motion", 1.0) for t in times]
    presence = [
        (at(day, clock) + shift, "h1", "kitchen-presence", "occupancy", value)
        for day in range(57)
        for clock in ("10:00", "14:00", "18:00")
        for shift, value in ((-15 * 60, 1.0), (10 * 60, 0.0))
    ]
    rooms = RoomMap()
    now = datetime.fromtimestamp(at(56, "12:00"), UTC)

    def standard(events: list[Event]) -> SettingCost:
        active = sorted(e for e in events if e[3] != "occupancy" or e[4] >= 1)
        times = [e[0] for e in active]
        places = [rooms.place(e[2], e[3]) for e in active]
        costs = sensitivity_costs(
            sorted(events), times, places, Profile("h1", TZ), now, tuning=TUNING, rooms=rooms
        )
        return next(c for c in costs if c.sensitivity is Sensitivity.STANDARD)

    without, with_presence = standard(plain), standard(plain + presence)
    assert without.probes == with_presence.probes >= 28 * 3 - 2
    assert without.wait_median_s == 70 * 60  # from 09:40 (motion) to the 90-min floor
    assert with_presence.wait_median_s == 15 * 60  # from 09:45 (occupied) to its 30-min limit
    assert with_presence.alarms == without.alarms == 0


def test_replay_command_applies_the_state_files_sensitivity_and_outcomes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stretch from 13:00 on day 21: as learned without --state; with a false alarm closed the day before
    in that band and the household set to low, raised that much later; a missing state file is refused."""
    times, _ = routine(21)
    rows = [datetime.fromtimestamp(t, UTC).isoformat() for t in [*times, at(21, "13:00")]]
    events = tmp_path / "events.csv"
    events.write_text(
        "ts,household,device,kind,value\n" + "".join(f"{ts},h1,kitchen-motion,motion,1\n" for ts in rows),
        encoding="utf-8",
    )
    state = tmp_path / "state.sqlite3"
    repo = Registry(state)
    repo.open()
    repo.upsert_household(Household("h1", "Hanako", ""))
    repo.add_feedback(
        Feedback("h1", "inc-1", datetime.fromtimestamp(at(20, "13:00"), UTC), False, "quiet", 4)
    )
    repo.set_sensitivity("h1", Sensitivity.LOW)
    repo.close()
    out = tmp_path / "findings.jsonl"
    until = datetime.fromtimestamp(at(22, "00:00"), UTC).isoformat()
    common = ["replay", "--events", str(events), "--tz", TZ, "--until", until, "--out", str(out)]

    def replay_command(*extra: str) -> int:
        args = build_parser().parse_args([*common, *extra])
        code: int = args.func(args)
        return code

    def raised_after_13() -> float:
        found = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        quiet = [f for f in found if f["kind"] == "inactivity"]
        assert len(quiet) == 1, found
        return datetime.fromisoformat(quiet[0]["raised_at"]).timestamp() - at(21, "13:00")

    assert replay_command() == 0
    learned = raised_after_13()
    assert replay_command("--state", str(state)) == 0
    assert "1 households with their own sensitivity, 1 outcomes learned from" in capsys.readouterr().err
    stretch = (1 + STEP * (1 - 1 / DECAY_DAYS)) / 0.85
    assert raised_after_13() == pytest.approx(learned * stretch, abs=60)  # ticks are a minute apart
    assert replay_command("--state", str(tmp_path / "nope.sqlite3")) == 2
    assert "no such file" in capsys.readouterr().err
