"""The evening check (auto, on, off) with a fixed clock: what it learns, when it fires, its boundaries.

The routine is a sparse kit's: seen from 07:00 to 19:30 (kitchen, bathroom), then a bathroom visit
before bed at 23:00, 23:45 or 00:30; one night in four the resident goes to bed at 20:00 with no
visit. Nothing sees the living room, so an evening collapse looks like an early night until morning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from detection.baseline import Baseline, learn
from detection.detector import community_due, evening_due
from detection.engine import Engine
from detection.episodes import MemoryEpisodes
from detection.explain import render
from detection.findings import FindingKind
from detection.model import FixedProfiles, Profile, Tuning
from detection.replay import replay
from detection.rooms import INDEX, Room
from registry.models import Switch
from tests.support.detect_routine import BEDTIME_VISITS, TZ, ZONE, at, sparse_routine, when
from tests.support.processes import run_once

TUNING = Tuning()
DAYS = 21


def trained() -> Baseline:
    times = sparse_routine(DAYS)
    return learn(times, [False] * len(times), TZ, at(DAYS, "12:00"), TUNING)


BASE = trained()


def test_learns_the_evening_from_the_nights() -> None:
    # every night whose next day is summarised: 20 of the 21 days' evenings
    assert BASE.evening_nights == DAYS - 1
    assert BASE.retire_earliest_min == 20 * 60  # the early nights
    assert BASE.retire_latest_min == 1440 + 30  # 00:30 the next morning
    # the longest quiet while still up: 19:30 until the 00:30 visit
    assert BASE.evening_quiet_min == 5 * 60


def test_the_earliest_start_of_sleep_is_the_recent_nights() -> None:
    # the early nights (to bed at 20:00 unseen) stopped 8 days ago: a bathroom visit at 23:00 instead
    times: list[float] = []
    for day in range(DAYS):
        times += [at(day, "07:00") + k * 30 * 60 for k in range(26)]  # 07:00-19:30
        visit = BEDTIME_VISITS[day % len(BEDTIME_VISITS)] or ("23:00" if day >= DAYS - 8 else None)
        times.append(at(day, "20:00") if visit is None else when(day, visit))
    base = learn(times, [False] * len(times), TZ, at(DAYS, "12:00"), TUNING)
    assert base.retire_earliest_min == 23 * 60  # the last 7 nights', not the 20:00 of the nights before
    assert (base.retire_latest_min, base.evening_quiet_min) == (1440 + 30, 5 * 60)  # over all 20 nights
    assert BASE.retire_earliest_min == 20 * 60  # where an early night is among the last 7


@dataclass
class Case:
    name: str
    start: str  # last activity, on day DAYS ("d+1 00:10" for after midnight)
    raised: str | None  # when the evening check is due, or None: it does not apply
    baseline: Baseline = BASE


# the rule: quiet since before 20:00 - 30 min, longer than 5 h + 35 min by 00:30 + 30 min; raised once it
# is, but not sooner than 1 h before 01:00
CASES = [
    Case(
        "quiet since 17:00, all evening: not sooner than 1 h before the latest bedtime's + 30 min",
        "17:00",
        "d+1 00:00",
    ),
    Case("quiet since 18:50: once longer than any evening quiet", "18:50", "d+1 00:25"),
    Case("the last moment the quiet is long enough", "19:25", "d+1 01:00"),
    Case("a minute later: not longer than a usual evening quiet", "19:26", None),
    Case("afternoon before noon is not the evening", "11:59", None),
    Case("from noon it is", "12:00", "d+1 00:00"),
    Case("after the earliest bedtime - margin: an ordinary early night", "19:30", None),
    Case("after midnight: the bedtime visit of a normal night", "d+1 00:10", None),
    Case("too few nights learned: not used", "17:00", None, replace(BASE, evening_nights=6)),
    Case(
        "bedtimes learned later move the deadline",
        "17:00",
        "d+1 01:30",
        replace(BASE, retire_latest_min=1440 + 120, retire_earliest_min=21 * 60),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_evening_due_and_its_boundaries(case: Case) -> None:
    due = evening_due(when(DAYS, case.start), case.baseline, TZ, TUNING)
    if case.raised is None:
        assert due is None
        return
    assert due is not None
    assert (due.at, due.kind) == (when(DAYS, case.raised), FindingKind.EVENING_QUIET)


SEES_LIVING = replace(BASE, rooms=BASE.rooms | 1 << INDEX[Room.LIVING])


@pytest.mark.parametrize(
    ("switch", "baseline", "applies"),
    [
        (Switch.OFF, BASE, False),
        (Switch.ON, BASE, True),
        (Switch.AUTO, BASE, True),  # no living-room or bedroom activity ever seen: it turns itself on
        (Switch.AUTO, SEES_LIVING, False),  # the kit sees the evening: not needed
        (Switch.ON, SEES_LIVING, True),  # the care manager's override
        (Switch.AUTO, replace(BASE, rooms=1 << INDEX[Room.BEDROOM]), False),
    ],
)
def test_switched_or_automatic_and_only_when_sooner(
    switch: Switch, baseline: Baseline, applies: bool
) -> None:
    start = at(DAYS, "19:00")
    profile = Profile("h1", TZ, evening_check=switch)
    due = community_due(start, False, baseline, profile, TUNING, Room.KITCHEN)
    if applies:
        assert (due.kind, due.at) == (FindingKind.EVENING_QUIET, when(DAYS, "d+1 00:35"))
    else:
        # without it, the early nights' long quiet from 20:00 makes 19:00 look ordinary until morning
        assert due.kind is FindingKind.INACTIVITY
        assert due.at > when(DAYS, "d+1 06:00")
    # probably out (main door): the outing rules, never the evening check
    out = community_due(start, True, baseline, Profile("h1", TZ, evening_check=switch), TUNING)
    assert out.kind is FindingKind.LONG_ABSENCE


def test_engine_raises_it_once_with_an_explanation() -> None:
    profiles = FixedProfiles(TZ)
    engine = Engine(profiles, MemoryEpisodes(), TUNING)
    engine.relearned("h1", BASE, at(DAYS, "00:00"))
    engine.activity("h1", at(DAYS, "19:00"), "kitchen-motion")
    due = when(DAYS, "d+1 00:35")  # 19:00 + the longest evening quiet (5 h) + 35 min
    assert engine.tick(due - 60) == []
    (found,) = engine.tick(due)
    assert found.kind is FindingKind.EVENING_QUIET
    assert found.last_activity_at == datetime.fromtimestamp(at(DAYS, "19:00"), UTC)
    assert (
        render(found.explanation, "ja")
        == "台所で3/23 19:00以降 動きなし。普段は毎晩20:00より後にも動きあり(7日間の学習)"
    )
    assert render(found.explanation, "en") == (
        "Kitchen: no activity since 3/23 19:00; every evening there was activity after 20:00 "
        "(learned over 7 days)"
    )
    assert engine.tick(due + 3600) == []


def test_replay_finds_an_evening_collapse_only_with_the_check() -> None:
    events = [(t, "h1", "kitchen-motion", "motion", 1.0) for t in sparse_routine(DAYS)]
    events = [e for e in events if e[0] <= at(DAYS - 1, "19:00")]  # collapse after 19:00 on the last day
    until = at(DAYS, "12:00")
    with_check = list(replay(events, FixedProfiles(TZ), until, TUNING))  # auto: the kit cannot see it
    without = list(replay(events, FixedProfiles(TZ, evening_check=Switch.OFF), until, TUNING))
    last_kind = [f.kind for f in with_check][-1]
    assert last_kind is FindingKind.EVENING_QUIET
    assert with_check[-1].raised_at == datetime.fromtimestamp(when(DAYS - 1, "d+1 00:35"), UTC)
    assert FindingKind.EVENING_QUIET not in {f.kind for f in without}
    assert without[-1].raised_at > datetime.fromtimestamp(when(DAYS - 1, "d+1 06:00"), UTC)
    # on the untouched nights before (the early ones included), the check raised nothing
    collapse = datetime.fromtimestamp(at(DAYS - 1, "19:00"), UTC)
    assert [f for f in with_check if f.kind is FindingKind.EVENING_QUIET and f.raised_at < collapse] == []


def test_replay_command_switches_the_evening_check(tmp_path: Path) -> None:
    collapse = at(DAYS - 1, "19:00")
    rows = ["ts,household,device,kind,value"] + [
        f"{datetime.fromtimestamp(t, ZONE).isoformat()},h1,kitchen-motion,motion,1"
        for t in sparse_routine(DAYS)
        if t <= collapse
    ]
    events = tmp_path / "events.csv"
    events.write_text("\n".join(rows) + "\n", encoding="utf-8")

    def kinds(*flags: str) -> list[str]:
        out = tmp_path / "findings.jsonl"
        args = ["replay", "--events", str(events), "--tz", TZ, "--out", str(out), *flags]
        args += ["--until", datetime.fromtimestamp(at(DAYS, "12:00"), ZONE).isoformat()]
        done = run_once(*args)
        assert done.returncode == 0, done.stderr
        return [json.loads(line)["kind"] for line in out.read_text(encoding="utf-8").splitlines()]

    assert kinds()[-1] == "evening_quiet"  # no flag: automatic, and a kitchen sensor cannot see it
    assert kinds("--evening-check")[-1] == "evening_quiet"  # the flag alone, as before: on
    assert kinds("--evening-check", "on")[-1] == "evening_quiet"
    assert "evening_quiet" not in kinds("--evening-check", "off")
    rooms = tmp_path / "rooms.csv"
    rooms.write_text("device,room\nkitchen-motion,living\n", encoding="utf-8")
    assert "evening_quiet" not in kinds("--devices", str(rooms))  # now it sees the evening: auto is off
