"""The care calendar: validation, storage, import, expansion into away windows, and the not-back rule."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from detection.detector import not_back_due
from detection.engine import Engine
from detection.episodes import MemoryEpisodes
from detection.explain import render
from detection.findings import Audience, FindingKind, Severity
from detection.model import AwayWindow, Profile, Tuning
from detection.profiles import StateProfiles, calendar_windows
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from registry.calendar import CalendarIn, occurrences
from registry.households_import import import_data, read_file
from registry.models import CalendarEntry, Household
from tests.conftest import FIXED_NOW

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "households.example.yaml"
TOKYO = "Asia/Tokyo"
JST = timedelta(hours=9)


def jst(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """A Tokyo wall-clock time as aware UTC."""
    return datetime(y, mo, d, h, mi, tzinfo=UTC) - JST


DAY_SERVICE = CalendarEntry(1, "h1", "デイサービス", time(9), time(16), weekdays=(1, 3))  # Tue, Thu
NIGHT = CalendarEntry(2, "h1", "", time(22), time(6), weekdays=(4,))  # Fri 22:00 - Sat 06:00
SHORT_STAY = CalendarEntry(
    3, "h1", "ショートステイ", time(10), time(15), (), date(2026, 12, 21), date(2026, 12, 24)
)
VISIT = CalendarEntry(4, "h1", "通院", time(9, 30), time(12), (), date(2026, 12, 9), date(2026, 12, 9))

# -- validation ---------------------------------------------------------------------------------------

GOOD: list[tuple[dict[str, Any], CalendarEntry]] = [
    ({"label": "デイサービス", "weekly": ["thu", "tue"], "start": "09:00", "end": "16:00"}, DAY_SERVICE),
    ({"weekly": ["fri"], "start": "22:00", "end": "06:00"}, NIGHT),
    (
        {
            "label": "ショートステイ",
            "from": "2026-12-21",
            "to": "2026-12-24",
            "start": "10:00",
            "end": "15:00",
        },
        SHORT_STAY,
    ),
    ({"label": "通院", "date": "2026-12-09", "start": "09:30", "end": "12:00"}, VISIT),
]


@pytest.mark.parametrize(("raw", "entry"), GOOD)
def test_good_entries(raw: dict[str, Any], entry: CalendarEntry) -> None:
    assert CalendarIn.model_validate(raw).entry("h1", entry.id) == entry


BAD: list[tuple[dict[str, Any], str]] = [
    ({"start": "09:00", "end": "16:00"}, "exactly one of weekly, date or from"),
    ({"weekly": ["tue"], "date": "2026-12-09", "start": "09:00", "end": "16:00"}, "exactly one"),
    ({"weekly": ["tue", "tue"], "start": "09:00", "end": "16:00"}, "each day at most once"),
    ({"weekly": ["tuesday"], "start": "09:00", "end": "16:00"}, "Input should be"),
    ({"weekly": [], "start": "09:00", "end": "16:00"}, "at least 1 item"),
    ({"weekly": ["tue"], "start": "09:00", "end": "09:00"}, "end must differ from start"),
    ({"date": "2026-12-09", "start": "12:00", "end": "09:00"}, "end must be after start"),
    ({"from": "2026-12-24", "to": "2026-12-21", "start": "10:00", "end": "15:00"}, "on or after 'from'"),
    ({"from": "2026-01-01", "to": "2026-12-31", "start": "10:00", "end": "15:00"}, "within 92 days"),
    ({"date": "2026-12-09", "to": "2026-12-10", "start": "09:00", "end": "10:00"}, "'to' goes with 'from'"),
    ({"date": "2026-12-09", "start": "25:00", "end": "10:00"}, "time"),
    ({"date": "2026-12-09", "start": "09:00", "end": "10:00", "label": "あ" * 21}, "at most 20"),
    ({"date": "2026-12-09", "start": "09:00", "end": "10:00", "every": "week"}, "Extra inputs"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD)
def test_bad_entries_are_refused_with_a_reason(raw: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        CalendarIn.model_validate(raw)


# -- expansion ----------------------------------------------------------------------------------------

# (entries, since, until, expected (key, start, end))
EXPANSION: list[tuple[str, list[CalendarEntry], datetime, datetime, list[tuple[str, datetime, datetime]]]] = [
    (
        "weekly Tue/Thu, Tokyo, around Thu 2026-12-03",
        [DAY_SERVICE],
        jst(2026, 12, 1, 0),
        jst(2026, 12, 5, 0),
        [
            ("1:2026-12-01", jst(2026, 12, 1, 9), jst(2026, 12, 1, 16)),
            ("1:2026-12-03", jst(2026, 12, 3, 9), jst(2026, 12, 3, 16)),
        ],
    ),
    (
        "an occurrence partly inside the range counts",
        [DAY_SERVICE],
        jst(2026, 12, 3, 15),
        jst(2026, 12, 3, 15, 30),
        [("1:2026-12-03", jst(2026, 12, 3, 9), jst(2026, 12, 3, 16))],
    ),
    (
        "an occurrence that ended at since does not",
        [DAY_SERVICE],
        jst(2026, 12, 3, 16),
        jst(2026, 12, 4, 9),
        [],
    ),
    (
        "crossing midnight: Friday 22:00 to Saturday 06:00, seen from Saturday morning",
        [NIGHT],
        jst(2026, 12, 5, 3),
        jst(2026, 12, 5, 4),
        [("2:2026-12-04", jst(2026, 12, 4, 22), jst(2026, 12, 5, 6))],
    ),
    (
        "short stay from the first day's start to the last day's end",
        [SHORT_STAY, VISIT],
        jst(2026, 12, 20, 0),
        jst(2026, 12, 22, 0),
        [("3:2026-12-21", jst(2026, 12, 21, 10), jst(2026, 12, 24, 15))],
    ),
    (
        "hospital visit on one day, and the day service the same morning",
        [DAY_SERVICE, VISIT],
        jst(2026, 12, 9, 0),
        jst(2026, 12, 9, 23),
        [("4:2026-12-09", jst(2026, 12, 9, 9, 30), jst(2026, 12, 9, 12))],
    ),
]


@pytest.mark.parametrize(
    ("entries", "since", "until", "expected"), [c[1:] for c in EXPANSION], ids=[c[0] for c in EXPANSION]
)
def test_occurrences(
    entries: list[CalendarEntry],
    since: datetime,
    until: datetime,
    expected: list[tuple[str, datetime, datetime]],
) -> None:
    found = occurrences(entries, TOKYO, since, until)
    assert [(o.key, o.start, o.end) for o in found] == expected
    assert all(o.start.tzinfo is UTC for o in found)


def test_windows_around_now_are_calendar_away_windows() -> None:
    windows = calendar_windows([DAY_SERVICE], TOKYO, jst(2026, 12, 3, 12))  # Thu noon: Tue, Thu; Sat none
    assert [(w.occurrence, w.label, w.set_by) for w in windows] == [
        ("1:2026-12-01", "デイサービス", "calendar"),
        ("1:2026-12-03", "デイサービス", "calendar"),
    ]


# -- the not-back rule (pure) -------------------------------------------------------------------------

THU = AwayWindow(jst(2026, 12, 3, 9), jst(2026, 12, 3, 16), "calendar", "1:2026-12-03", "デイサービス")
ONE_OFF = AwayWindow(jst(2026, 12, 3, 9), jst(2026, 12, 3, 16), "care_manager:sato")
VISIT_AFTER = AwayWindow(jst(2026, 12, 3, 16, 30), jst(2026, 12, 3, 20), "contact:c-1")  # straight to family
NEXT_TUE = AwayWindow(jst(2026, 12, 8, 9), jst(2026, 12, 8, 16), "calendar", "1:2026-12-08", "デイサービス")

# (case, last activity, windows, now, expected due time or None)
NOT_BACK: list[tuple[str, datetime, tuple[AwayWindow, ...], datetime, datetime | None]] = [
    (
        "left for day service, nothing since",
        jst(2026, 12, 3, 8, 50),
        (THU,),
        jst(2026, 12, 3, 17),
        jst(2026, 12, 3, 17),
    ),
    ("due before it is reached", jst(2026, 12, 3, 8, 50), (THU,), jst(2026, 12, 3, 12), jst(2026, 12, 3, 17)),
    ("back home at 16:20", jst(2026, 12, 3, 16, 20), (THU,), jst(2026, 12, 3, 18), None),
    ("one-off away periods never raise it", jst(2026, 12, 3, 8, 50), (ONE_OFF,), jst(2026, 12, 3, 18), None),
    (
        "away again before it was due: due an hour after that ends",
        jst(2026, 12, 3, 8, 50),
        (THU, VISIT_AFTER),
        jst(2026, 12, 3, 17),
        jst(2026, 12, 3, 21),
    ),
    (
        "an away period after the due time does not move it",
        jst(2026, 12, 3, 8, 50),
        (THU, replace(VISIT_AFTER, start=jst(2026, 12, 3, 17, 30))),
        jst(2026, 12, 3, 18),
        jst(2026, 12, 3, 17),
    ),
    (
        "an absence not yet begun does not count",
        jst(2026, 12, 3, 20),
        (NEXT_TUE,),
        jst(2026, 12, 4, 12),
        None,
    ),
]


@pytest.mark.parametrize(
    ("last", "windows", "now", "expected"), [c[1:] for c in NOT_BACK], ids=[c[0] for c in NOT_BACK]
)
def test_not_back_due(
    last: datetime, windows: tuple[AwayWindow, ...], now: datetime, expected: datetime | None
) -> None:
    found = not_back_due(last.timestamp(), Profile("h1", TOKYO, away=windows), Tuning(), now.timestamp())
    assert (None if found is None else found[0]) == (None if expected is None else expected.timestamp())


def test_the_margin_is_a_knob() -> None:
    tuning = Tuning(not_back_margin_s=30 * 60.0)
    found = not_back_due(jst(2026, 12, 3, 8).timestamp(), Profile("h1", away=(THU,)), tuning, 0.0 + 2e9)
    assert found is not None
    assert found[0] == jst(2026, 12, 3, 16, 30).timestamp()


# -- through the registry, the profiles and the engine ------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> EscalationRepository:
    r = EscalationRepository(tmp_path / "state.sqlite3")
    r.open()
    r.upsert_household(Household("h1", "山田花子", "桜町2-5", time_zone=TOKYO))
    return r


def test_calendar_is_stored_replaced_and_removed(repo: EscalationRepository) -> None:
    repo.set_calendar("h1", [VISIT, DAY_SERVICE])
    stored = repo.calendar("h1")
    assert [(e.label, e.weekdays, e.first_day) for e in stored] == [
        ("デイサービス", (1, 3), None),
        ("通院", (), date(2026, 12, 9)),
    ]
    repo.set_calendar("h1", [DAY_SERVICE, VISIT])  # the same entries: nothing changes, ids included
    assert repo.calendar("h1") == stored
    repo.remove_calendar_entry(stored[0].id)
    assert [e.label for e in repo.calendar("h1")] == ["通院"]


def test_a_state_file_from_before_the_calendar_gains_its_table(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = EscalationRepository(path)
    old.open()
    old.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE calendar_entries")
    reopened = EscalationRepository(path)
    reopened.open()
    assert reopened.calendar("h1") == []
    reopened.close()


def test_the_example_file_imports_its_calendar_and_bad_entries_are_rejected(
    repo: EscalationRepository,
) -> None:
    data = read_file(EXAMPLE)
    assert import_data(repo, data, FIXED_NOW).rejected == []
    assert [e.label for e in repo.calendar("demo-0001")] == [
        "デイサービス",
        "通院",
        "ショートステイ",
    ]  # weekly, then by day
    before = repo.calendar("demo-0001")
    assert import_data(repo, data, FIXED_NOW).rejected == []
    assert repo.calendar("demo-0001") == before  # importing again changes nothing
    data["households"][0]["calendar"] = [{"weekly": ["tue"], "start": "09:00", "end": "09:00"}]
    report = import_data(repo, data, FIXED_NOW)
    assert report.rejected == [
        "households[0] (demo-0001): calendar.0: Value error, end must differ from start"
    ]
    assert repo.calendar("demo-0001") == before  # the rejected household is left as it was
    del data["households"][0]["calendar"]
    assert import_data(repo, data, FIXED_NOW).rejected == []
    assert repo.calendar("demo-0001") == before  # no calendar key: the calendar is kept


def test_day_service_is_away_then_not_back_is_raised_once(repo: EscalationRepository) -> None:
    repo.set_calendar("h1", [DAY_SERVICE])
    clock = FakeClock(jst(2026, 12, 3, 8, 50))  # Thursday
    profiles = StateProfiles(repo, clock, ttl_s=0)
    engine = Engine(profiles, MemoryEpisodes())
    engine.activity("h1", clock.now().timestamp(), "main-door")  # leaves for the day service
    found = []
    minute = clock.now()
    while minute < jst(2026, 12, 4, 8):  # tick every minute until the next morning
        minute += timedelta(minutes=1)
        clock.set(minute)
        found += [(f, minute) for f in engine.tick(minute.timestamp())]
        if minute == jst(2026, 12, 3, 12):
            assert engine.snapshot("h1", minute.timestamp()).status.value == "away"
    assert [f.kind for f, _ in found][:1] == [FindingKind.NOT_BACK]
    not_back = [(f, at) for f, at in found if f.kind is FindingKind.NOT_BACK]
    assert len(not_back) == 1
    finding, at = not_back[0]
    assert at == jst(2026, 12, 3, 17)  # 16:00 + the 60 min margin, on the minute
    assert (finding.audience, finding.severity, finding.episode) == (
        Audience.CARE_MANAGER,
        Severity.WARNING,
        "not_back:1:2026-12-03",
    )
    assert render(finding.explanation, "ja") == "デイサービスから16:00の予定を過ぎても帰宅の気配なし"
    assert render(finding.explanation, "en") == "No sign of return from デイサービス, expected by 16:00"
    # the community path is not hurried by it: the long-absence rule still counts from 16:00
    assert all(f.kind is not FindingKind.INACTIVITY for f, _ in found)


def test_coming_home_in_time_raises_nothing(repo: EscalationRepository) -> None:
    repo.set_calendar("h1", [DAY_SERVICE])
    clock = FakeClock(jst(2026, 12, 3, 8, 50))
    engine = Engine(StateProfiles(repo, clock, ttl_s=0), MemoryEpisodes())
    engine.activity("h1", clock.now().timestamp(), "main-door")
    found = []
    minute = clock.now()
    while minute < jst(2026, 12, 3, 20):
        minute += timedelta(minutes=1)
        clock.set(minute)
        if minute == jst(2026, 12, 3, 16, 40):
            engine.activity("h1", minute.timestamp(), "main-door")
            engine.activity("h1", minute.timestamp() + 30, "kitchen-motion")
        found += engine.tick(minute.timestamp())
    assert [f.kind for f in found] == []


def _run(engine: Engine[Any], clock: FakeClock, until: datetime) -> list[tuple[FindingKind, datetime]]:
    found = []
    minute = clock.now()
    while minute < until:
        minute += timedelta(minutes=1)
        clock.set(minute)
        found += [(f.kind, minute) for f in engine.tick(minute.timestamp())]
    return found


def test_an_absence_across_midnight_is_not_back_the_next_morning(repo: EscalationRepository) -> None:
    repo.set_calendar("h1", [NIGHT])  # Friday 22:00 to Saturday 06:00 (overnight respite)
    clock = FakeClock(jst(2026, 12, 4, 21, 40))
    engine = Engine(StateProfiles(repo, clock, ttl_s=0), MemoryEpisodes())
    engine.activity("h1", clock.now().timestamp(), "main-door")
    found = _run(engine, clock, jst(2026, 12, 5, 9))
    assert (FindingKind.NOT_BACK, jst(2026, 12, 5, 7)) in found
    assert [k for k, _ in found].count(FindingKind.NOT_BACK) == 1


def test_a_blind_home_is_never_not_back(repo: EscalationRepository) -> None:
    repo.set_calendar("h1", [DAY_SERVICE])
    clock = FakeClock(jst(2026, 12, 3, 8, 50))
    engine = Engine(StateProfiles(repo, clock, ttl_s=0), MemoryEpisodes())
    engine.activity("h1", clock.now().timestamp(), "main-door")
    engine.set_blind("h1", True, jst(2026, 12, 3, 15).timestamp())
    assert [k for k, _ in _run(engine, clock, jst(2026, 12, 3, 20))] == []
