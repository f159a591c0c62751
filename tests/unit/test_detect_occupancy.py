"""Presence sensors and bed pads: the occupancy mask, the lying-still limits learned per room, and the
rules that read them (lying still, asleep in bed, out of bed at night) with a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from detection.baseline import Baseline, learn
from detection.detector import community_due, community_finding
from detection.engine import Engine
from detection.episodes import MemoryEpisodes
from detection.explain import render
from detection.findings import FindingKind
from detection.model import FixedProfiles, Profile, Tuning
from detection.occupancy import BED, BED_KNOWN, OUT_OF_BED, occupied_in, update
from detection.replay import Replayer, ReplayEvent
from detection.rooms import INDEX, Room, code
from tests.support.detect_routine import TZ, at, when

TUNING = Tuning()
DAYS = 21
LIVING, TOILET, BATH, BEDROOM = (
    code(r, False) for r in (Room.LIVING, Room.TOILET, Room.BATHROOM, Room.BEDROOM)
)


def home(days: int) -> tuple[list[float], list[int]]:
    """Living room every 20 min from 07:00 to 19:00, a 30-min bath at 19:00, living room until 21:40, the
    toilet at 21:50 (5 min), the bedroom at 21:55 until 07:00; no kitchen activity."""
    events: list[tuple[float, int]] = []
    for day in range(days):
        t = at(day, "07:00")
        while t < at(day, "19:00"):
            events.append((t, LIVING))
            t += 20 * 60
        events += [(at(day, "19:00"), BATH), (at(day, "19:30"), BATH)]
        t = at(day, "19:35")
        while t < at(day, "21:40"):
            events.append((t, LIVING))
            t += 20 * 60
        events += [(at(day, "21:50"), TOILET), (at(day, "21:55"), BEDROOM)]
    events.sort()
    return [t for t, _ in events], [p for _, p in events]


def learned(days: int = DAYS) -> Baseline:
    times, places = home(days)
    return learn(times, places, TZ, at(days, "12:00"), TUNING)


LEARNED = learned()


def mask(*rooms: Room, bed: bool = False, out_of_bed: bool = False) -> int:
    value = sum(1 << INDEX[r] for r in rooms)
    if bed or out_of_bed:
        value |= BED_KNOWN
    if bed:
        value |= BED
    if out_of_bed:
        value |= OUT_OF_BED
    return value


def test_lying_still_limits_are_learned_per_room() -> None:
    assert LEARNED.still_min(Room.TOILET) == (5, 20)  # 5 min + 10, at least the 20-min floor
    assert LEARNED.still_min(Room.BATHROOM) == (30, 50)  # a bath: the stay's margin (20 min)
    assert LEARNED.still_min(Room.KITCHEN) == (0, 0)  # never seen: the prior applies
    assert LEARNED.still_min(Room.LIVING) == (0, 0)  # people doze there: no lying-still rule
    assert LEARNED.still_min(Room.BEDROOM) == (0, 0)  # the bed is for lying still
    assert learned(4).still_min(Room.TOILET) == (0, 0)  # too few days


@dataclass
class Case:
    name: str
    start: str  # the last activity, on day DAYS
    room: Room  # where it was
    occupied: int
    kind: FindingKind
    due: str
    key: str | None = None


WAKE = "d+1 07:30"  # the usual latest wake-up (07:00) + 30 min
CASES = [
    Case("no occupancy devices: as before (the time slot, the living room's floor)", "14:00", Room.LIVING, 0,
         FindingKind.INACTIVITY, "15:00", "inactivity"),
    Case("present in the toilet, nothing moves: its 5 min + 10, floor 20", "10:00", Room.TOILET,
         mask(Room.TOILET), FindingKind.INACTIVITY, "10:20", "inactivity.still"),
    Case("present in the bathroom: a bath's own limit (30 min + 20)", "19:00", Room.BATHROOM,
         mask(Room.BATHROOM), FindingKind.INACTIVITY, "19:50", "inactivity.bathroom"),
    Case("present in the bathroom, last seen in the hall: the bath's limit all the same", "19:00",
         Room.OTHER, mask(Room.BATHROOM), FindingKind.INACTIVITY, "19:50", "inactivity.still"),
    Case("present in the kitchen, never seen there: the 45-min prior", "12:00", Room.KITCHEN,
         mask(Room.KITCHEN), FindingKind.INACTIVITY, "12:45", "inactivity.still_unlearned"),
    Case("present in the living room: people doze there, the time slot decides", "14:00", Room.LIVING,
         mask(Room.LIVING), FindingKind.INACTIVITY, "15:00", "inactivity"),
    Case("present in the living room while asleep is expected: dozing on the sofa, the wake-up", "23:30",
         Room.LIVING, mask(Room.LIVING), FindingKind.MISSED_WAKEUP, WAKE),
    Case("present at the entrance: no lying-still rule there", "14:00", Room.ENTRANCE, mask(Room.ENTRANCE),
         FindingKind.INACTIVITY, "15:30"),
    Case("in bed at 23:00, the last activity the TV in the living room: asleep", "23:00", Room.LIVING,
         mask(bed=True), FindingKind.MISSED_WAKEUP, WAKE),
    Case("in bed from 20:30 (bedtime 21:55 - 2 h): asleep", "20:30", Room.BEDROOM, mask(bed=True),
         FindingKind.MISSED_WAKEUP, WAKE),
    Case("out of bed at 02:00, last seen in the hall: not back", "02:00", Room.OTHER, mask(out_of_bed=True),
         FindingKind.INACTIVITY, "02:45", "inactivity.out_of_bed"),
    Case("out of bed, present in the toilet: lying still there comes first", "02:00", Room.TOILET,
         mask(Room.TOILET, out_of_bed=True), FindingKind.INACTIVITY, "02:20", "inactivity.still"),
    Case("a bed pad that says clear by day is no out-of-bed rule", "14:00", Room.LIVING,
         mask(out_of_bed=True), FindingKind.INACTIVITY, "15:00", "inactivity"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_occupancy_rules(case: Case) -> None:
    day = DAYS + 1 if case.start < "07:00" else DAYS  # small hours: the night after day DAYS
    start = when(day, case.start)
    due_day = DAYS if case.due.startswith("d+1") else day
    profile = Profile("h1", TZ)
    due = community_due(start, False, LEARNED, profile, TUNING, case.room, case.occupied)
    assert due.kind is case.kind
    assert due.at == when(due_day, case.due), (due.at - start) / 60
    if case.key is not None:
        finding = community_finding("h1", due, start, LEARNED, profile, due.at)
        assert finding.explanation.key == case.key
        assert len(render(finding.explanation, "ja")) <= 70


def test_lying_still_is_explained_with_the_room() -> None:
    start = when(DAYS, "10:00")
    profile = Profile("h1", TZ)
    due = community_due(start, False, LEARNED, profile, TUNING, Room.TOILET, mask(Room.TOILET))
    finding = community_finding("h1", due, start, LEARNED, profile, due.at)
    assert (
        render(finding.explanation, "ja")
        == "トイレで10:00以降 在室のまま動きなし(20分)。普段は5分以内に動きあり"
    )
    assert render(finding.explanation, "en") == (
        "Toilet: present but not moving since 10:00 (20 min); usually moves within 5 min"
    )


@pytest.mark.parametrize(
    ("before", "room", "occupied", "asleep", "after"),
    [
        (0, Room.TOILET, True, False, mask(Room.TOILET)),
        (mask(Room.TOILET), Room.TOILET, False, False, 0),
        (0, Room.BEDROOM, True, True, mask(bed=True)),
        (mask(bed=True), Room.BEDROOM, False, True, mask(out_of_bed=True)),  # got up at night
        (mask(bed=True), Room.BEDROOM, False, False, BED_KNOWN),  # got up in the morning
        (mask(out_of_bed=True), Room.BEDROOM, True, True, mask(bed=True)),  # back in bed
        (BED_KNOWN, Room.BEDROOM, False, True, BED_KNOWN),  # clear, never was in bed: not "out of bed"
    ],
)
def test_the_occupancy_mask(before: int, room: Room, occupied: bool, asleep: bool, after: int) -> None:
    assert update(before, room, occupied, asleep) == after
    assert occupied_in(after, room) is occupied


def engine_with(baseline: Baseline) -> Engine:  # type: ignore[type-arg]
    engine = Engine(FixedProfiles(TZ), MemoryEpisodes(), TUNING)
    engine.relearned("h1", baseline, at(DAYS, "12:00"))
    return engine


def test_getting_out_of_bed_at_night_restarts_the_stretch_and_clear_elsewhere_does_not() -> None:
    engine = engine_with(LEARNED)
    engine.occupancy("h1", when(DAYS, "21:56"), "bed-pad", True)
    st = engine.state("h1")
    assert st.last == when(DAYS, "21:56")  # lying down is activity
    engine.occupancy("h1", when(DAYS + 1, "02:00"), "bed-pad", False)
    assert st.last == when(DAYS + 1, "02:00")
    assert st.occupied & OUT_OF_BED
    engine.occupancy("h1", when(DAYS + 1, "02:01"), "living-presence", True)
    engine.occupancy("h1", when(DAYS + 1, "02:06"), "living-presence", False)
    assert st.last == when(DAYS + 1, "02:01")  # leaving the living room is not activity
    due = engine.due("h1", when(DAYS + 1, "02:10"))
    assert due is not None
    assert due.occupancy == "out_of_bed"
    assert due.at == when(DAYS + 1, "02:46")
    engine.occupancy("h1", when(DAYS + 1, "02:08"), "bed-pad", True)
    due = engine.due("h1", when(DAYS + 1, "02:10"))
    assert due is not None
    assert due.kind is FindingKind.MISSED_WAKEUP  # back in bed: asleep


def test_replay_raises_lying_still_from_occupancy_events() -> None:
    """Motion in the toilet, its presence sensor stays occupied, nothing else: raised at the toilet's
    limit (the prior, unlearned: 45 min), explained; the same stream without the presence sensor waits
    for the time slot's threshold."""
    t0 = at(0, "10:00")
    events = [
        ReplayEvent(t0, "h1", "toilet-presence", "occupancy", 1.0),
        ReplayEvent(t0 + 20, "h1", "toilet-motion", "motion", 1.0),
        ReplayEvent(t0 + 110, "h1", "toilet-motion", "motion", 0.0),
    ]
    with_presence = Replayer(FixedProfiles(TZ), TUNING)
    with_presence.feed(events)
    with_presence.run_until(t0 + 6 * 3600)
    found = [f for f in with_presence.findings if f.kind is FindingKind.INACTIVITY]
    assert found
    assert t0 + 20 + 45 * 60 <= found[0].raised_at.timestamp() < t0 + 20 + 46 * 60  # the next minute's tick
    assert found[0].explanation.key == "inactivity.still_unlearned"
    without = Replayer(FixedProfiles(TZ), TUNING)
    without.feed([e for e in events if e.kind != "occupancy"])
    without.run_until(t0 + 6 * 3600)
    assert without.findings
    assert without.findings[0].raised_at.timestamp() > t0 + 3600
