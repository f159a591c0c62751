"""The pure detector and its engine with a fixed clock: each finding and its boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from detection.baseline import Baseline, learn
from detection.detector import HouseholdStatus
from detection.engine import Engine
from detection.episodes import MemoryEpisodes, SqliteEpisodes
from detection.findings import Audience, Finding, FindingKind
from detection.model import AwayWindow, FixedProfiles, Profile, Tuning
from tests.support.detect_routine import TZ, at, routine

TUNING = Tuning()
H = "h1"


def trained(days: int = 21) -> Baseline:
    """Routine: up at 07:00, active every 20 min until 22:00, toilet at 02:00; learned at noon."""
    times, doors = routine(days)
    return learn(times, doors, TZ, at(days, "12:00"), TUNING)


BASE = trained()


class Profiles:
    def __init__(self, profile: Profile) -> None:
        self.value = profile

    def profile(self, household: str) -> Profile:
        return self.value


@dataclass
class Case:
    name: str
    acts: list[tuple[str, str]]  # (clock on day 21, device)
    expect: FindingKind | None
    due: str | float | None  # clock (day 21, or "d22 07:40") or epoch of the first tick that raises it
    night_exit: bool = False
    away: list[tuple[str, str]] = field(default_factory=list)


def when(text: str) -> float:
    if text.startswith("d"):
        day, clock = text[1:].split(" ")
        return at(int(day), clock)
    return at(21, text)


INACTIVE = BASE.threshold_s(False, 13 * 60)
WAKE = BASE.wake_latest_min * 60 + TUNING.wake_margin_s

CASES = [
    Case(
        "daytime quiet beyond the slot threshold",
        [("13:00", "kitchen-motion")],
        FindingKind.INACTIVITY,
        f"{13 + int(INACTIVE // 3600):02d}:{int(INACTIVE % 3600 // 60):02d}",
    ),
    Case(
        "bedtime, then no wake-up: sleep is quiet, the wake-up decides",
        [("22:00", "bed-motion")],
        FindingKind.MISSED_WAKEUP,
        f"d22 {int(WAKE // 3600):02d}:{int(WAKE % 3600 // 60):02d}",
    ),
    Case(
        "quiet in the living room in the evening, before the usual bedtime: its own floor",
        [("19:00", "living-motion")],
        FindingKind.INACTIVITY,
        at(21, "19:00") + TUNING.living_floor_s,  # the slot is on the floor; usual gap 20 min + 25 < 60
    ),
    Case(
        "night toilet, then no wake-up",
        [("02:00", "toilet-motion")],
        FindingKind.MISSED_WAKEUP,
        f"{int(WAKE // 3600):02d}:{int(WAKE % 3600 // 60):02d}",
    ),
    Case(
        "out by the main door: gentle long absence",
        [("10:00", "hall-motion"), ("10:02", "main-door")],
        FindingKind.LONG_ABSENCE,
        "d21 16:02",
    ),
    Case(
        "back through the main door: at home again",
        [("10:00", "main-door"), ("12:00", "main-door")],
        FindingKind.INACTIVITY,
        at(21, "12:00") + BASE.threshold_s(False, 12 * 60),
    ),
    Case(
        "back through the main door, the hall sensor seeing the resident step in before it closes: at home",
        [
            ("10:00", "main-door"),
            ("12:00:00", "main-door"),
            ("12:00:02", "hall-motion"),
            ("12:00:08", "main-door"),
        ],
        FindingKind.INACTIVITY,
        at(21, "12:00:08") + BASE.threshold_s(False, 12 * 60),
    ),
    Case(
        "out by the main door, the hall sensor seeing the resident step out before it closes: still out",
        [
            ("10:00", "hall-motion"),
            ("10:02", "main-door"),
            ("10:02:03", "hall-motion"),
            ("10:02:09", "main-door"),
        ],
        FindingKind.LONG_ABSENCE,
        at(21, "10:02:09") + TUNING.prior_outing_s,
    ),
    Case("night exit, enabled", [("01:00", "main-door")], FindingKind.NIGHT_EXIT, "01:30", night_exit=True),
    Case(
        "night exit, not enabled: long absence only",
        [("01:00", "main-door")],
        FindingKind.LONG_ABSENCE,
        "07:00",
    ),
    Case(
        "away period suppresses, then the outing rule from its end",
        [("13:00", "kitchen-motion")],
        FindingKind.LONG_ABSENCE,
        "d22 00:00",
        away=[("13:30", "d21 18:00")],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_community_findings_fire_exactly_when_due(case: Case) -> None:
    away = tuple(
        AwayWindow(datetime.fromtimestamp(when(a), UTC), datetime.fromtimestamp(when(b), UTC))
        for a, b in case.away
    )
    profiles = Profiles(Profile(H, TZ, case.night_exit, away))
    engine = Engine(profiles, MemoryEpisodes(), TUNING)
    engine.relearned(H, BASE, at(21, "00:00"))
    for clock, device in case.acts:
        engine.activity(H, when(clock), device)
    due = when(case.due) if isinstance(case.due, str) else case.due
    start = when(case.acts[-1][0])
    assert engine.tick(start) == []
    if due is None:
        assert engine.tick(start + 48 * 3600) == []
        return
    assert engine.tick(due - 60) == [], "not one minute early"
    found = engine.tick(due)
    assert [f.kind for f in found] == [case.expect]
    assert found[0].last_activity_at == datetime.fromtimestamp(start, UTC)
    assert engine.tick(due + 3600) == [], "once per episode"


def test_outing_limit_from_learned_outings_is_used() -> None:
    # the prior outing limit (6 h) applies with no outings learned: 10:02 + 6 h = 16:02 (see the table)
    assert BASE.outing_limit_s == TUNING.prior_outing_s


def test_help_button_is_urgent_and_immediate() -> None:
    engine = Engine(FixedProfiles(TZ), MemoryEpisodes(), TUNING)
    engine.press(H, at(21, "10:00"), "help-button")
    found = engine.tick(at(21, "10:01"))
    assert [(f.kind, f.severity.value, f.audience) for f in found] == [
        (FindingKind.HELP_BUTTON, "urgent", Audience.COMMUNITY)
    ]
    assert found[0].episode == f"button:{int(at(21, '10:00'))}"


def test_blind_households_are_never_reported_as_inactive() -> None:
    engine = Engine(FixedProfiles(TZ), MemoryEpisodes(), TUNING)
    engine.relearned(H, BASE, at(21, "00:00"))
    engine.activity(H, at(21, "13:00"), "kitchen-motion")
    engine.set_blind(H, True, at(21, "13:10"))
    assert engine.tick(at(21, "23:00")) == []
    assert engine.snapshot(H, at(21, "23:00")).status is HouseholdStatus.BLIND
    engine.set_blind(H, False, at(21, "23:00"))
    assert [f.kind for f in engine.tick(at(21, "23:01"))] == [FindingKind.INACTIVITY]


def test_new_activity_ends_the_episode() -> None:
    engine = Engine(FixedProfiles(TZ), MemoryEpisodes(), TUNING)
    engine.relearned(H, BASE, at(21, "00:00"))
    engine.activity(H, at(21, "13:00"), "kitchen-motion")
    engine.activity(H, at(21, "13:50"), "kitchen-motion")  # before the 13:00 stretch was due
    assert engine.tick(at(21, "13:00") + INACTIVE) == []
    assert len(engine.tick(at(21, "13:50") + INACTIVE)) == 1


@pytest.mark.parametrize(
    ("minutes_after", "status"),
    [
        (10, HouseholdStatus.ACTIVE),
        (INACTIVE / 60 - 1, HouseholdStatus.ACTIVE),
        (INACTIVE / 60, HouseholdStatus.QUIET),
    ],
)
def test_classify(minutes_after: float, status: HouseholdStatus) -> None:
    engine = Engine(FixedProfiles(TZ), MemoryEpisodes(), TUNING)
    engine.relearned(H, BASE, at(21, "00:00"))
    engine.activity(H, at(21, "13:00"), "kitchen-motion")
    assert engine.snapshot(H, at(21, "13:00") + minutes_after * 60).status is status


def test_classify_away() -> None:
    period = AwayWindow(
        datetime.fromtimestamp(at(21, "08:00"), UTC), datetime.fromtimestamp(at(22, "08:00"), UTC)
    )
    engine = Engine(Profiles(Profile(H, TZ, away=(period,))), MemoryEpisodes(), TUNING)
    engine.activity(H, at(21, "07:00"), "kitchen-motion")
    assert engine.snapshot(H, at(21, "09:00")).status is HouseholdStatus.AWAY


def test_restart_neither_loses_nor_repeats(tmp_path: Path) -> None:
    path = tmp_path / "alerts.sqlite3"

    def fresh() -> tuple[Engine, SqliteEpisodes]:
        log = SqliteEpisodes(path)
        log.open()
        engine = Engine(FixedProfiles(TZ), log, TUNING)
        engine.relearned(H, BASE, at(21, "00:00"))
        engine.activity(H, at(21, "13:00"), "kitchen-motion")
        return engine, log

    first, log = fresh()
    raised = first.tick(at(21, "13:00") + INACTIVE)
    assert [f.kind for f in raised] == [FindingKind.INACTIVITY]
    assert [f.episode for f in log.pending()] == [raised[0].episode]
    log.close()
    # restart: the same stretch is not raised again, and it is still pending until acknowledged
    second, log = fresh()
    assert second.tick(at(21, "13:00") + INACTIVE + 600) == []
    pending = log.pending()
    assert [(f.kind, f.episode, f.explanation) for f in pending] == [
        (raised[0].kind, raised[0].episode, raised[0].explanation)
    ]
    log.ack(pending)
    assert log.pending() == []
    log.close()


def test_restart_while_down_still_raises(tmp_path: Path) -> None:
    log = SqliteEpisodes(tmp_path / "alerts.sqlite3")
    log.open()
    engine = Engine(FixedProfiles(TZ), log, TUNING)
    engine.relearned(H, BASE, at(21, "00:00"))
    engine.activity(H, at(21, "13:00"), "kitchen-motion")
    # the process was down when the deadline passed: the first tick after start raises it
    found: list[Finding] = engine.tick(at(21, "20:00"))
    assert [f.kind for f in found] == [FindingKind.INACTIVITY]
    assert found[0].raised_at == datetime.fromtimestamp(at(21, "20:00"), UTC)
    log.close()


def test_late_events_never_move_activity_back() -> None:
    engine = Engine(FixedProfiles(TZ), MemoryEpisodes(), TUNING)
    engine.activity(H, at(21, "13:00"), "kitchen-motion")
    engine.activity(H, at(21, "12:00"), "kitchen-motion")
    assert engine.state(H).last == at(21, "13:00")


def test_slow_decline_goes_to_the_care_manager_once_a_week() -> None:
    times, _ = routine(21)
    recent, _ = routine(28, every_min=60)
    times = times + [t for t in recent if t >= at(21, "00:00")]
    declining = learn(times, [False] * len(times), TZ, at(28, "12:00"), TUNING)
    assert declining.decline is not None
    engine = Engine(FixedProfiles(TZ), MemoryEpisodes(), TUNING)
    engine.relearned(H, declining, at(28, "12:00"))
    found = engine.tick(at(28, "12:01"))
    assert [(f.kind, f.audience) for f in found] == [(FindingKind.SLOW_DECLINE, Audience.CARE_MANAGER)]
    engine.relearned(H, declining, at(29, "12:00"))  # the next day's relearn, same week
    assert engine.tick(at(29, "12:01")) == []
