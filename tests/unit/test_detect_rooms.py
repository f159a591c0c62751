"""Rooms: inferred from device names or given, the main door from the room, and the room rules with a
fixed clock (where the stretch began: bathroom, toilet, bedroom at bedtime; gated by what the kit sees)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from detection.baseline import Baseline, learn
from detection.detector import community_due, community_finding, quiet_threshold
from detection.engine import Engine
from detection.episodes import MemoryEpisodes
from detection.explain import render
from detection.findings import FindingKind
from detection.model import Doorway, FixedProfiles, Profile, Tuning
from detection.rooms import Room, RoomMap, code, infer_room, parse_device_rooms, read_device_rooms, room_of
from tests.support.detect_routine import TZ, at, when

TUNING = Tuning()
DAYS = 21


@pytest.mark.parametrize(
    ("device", "room"),
    [
        ("pir_living", Room.LIVING),
        ("living-motion", Room.LIVING),
        ("tv", Room.LIVING),
        ("tv-plug", Room.LIVING),
        ("bathroom-motion", Room.BATHROOM),
        ("shower", Room.BATHROOM),
        ("basin", Room.BATHROOM),
        ("ofuro-pir", Room.BATHROOM),
        ("genkan", Room.ENTRANCE),
        ("genkan-pir", Room.ENTRANCE),
        ("main-door", Room.ENTRANCE),
        ("maindoor", Room.ENTRANCE),
        ("front-door", Room.ENTRANCE),
        ("entrance_contact", Room.ENTRANCE),
        ("toilet-door", Room.TOILET),  # a door, but the toilet's
        ("toilet_flush", Room.TOILET),
        ("wc", Room.TOILET),
        ("wc-motion", Room.TOILET),
        ("kitchen-motion", Room.KITCHEN),
        ("kettle", Room.KITCHEN),
        ("fridge-door", Room.KITCHEN),
        ("cooktop", Room.KITCHEN),
        ("bed", Room.BEDROOM),
        ("bed-pad", Room.BEDROOM),
        ("bedroom-motion", Room.BEDROOM),
        ("玄関", Room.ENTRANCE),
        ("浴室センサー", Room.BATHROOM),
        ("トイレ", Room.TOILET),
        ("寝室", Room.BEDROOM),
        ("居間のテレビ", Room.LIVING),
        ("台所", Room.KITCHEN),
        ("hall-motion", Room.OTHER),  # a hallway is not the way out
        ("help-button", Room.OTHER),
        ("cabinet", Room.OTHER),
        ("central-heating", Room.OTHER),  # "entr" inside a word is not an entrance
        ("spot-light", Room.OTHER),  # nor "pot" a kettle
    ],
)
def test_rooms_inferred_from_names(device: str, room: Room) -> None:
    assert infer_room(device) is room


@pytest.mark.parametrize(
    ("device", "kind", "door"),
    [
        ("main-door", "door", True),
        ("genkan-pir", "motion", True),  # passing the entrance: probably out, as a door
        ("main-door", None, True),  # kind not known (the live path): the room decides
        ("genkan-light", "power", False),  # a plug at the entrance is never the way out
        ("fridge-door", "door", False),
        ("toilet-door", "door", False),
        ("back-door", "door", False),  # a door in no known room: given rooms say otherwise
    ],
)
def test_the_main_door_comes_from_the_room(device: str, kind: str | None, door: bool) -> None:
    place = RoomMap().place(device, kind)
    assert bool(place & 1) is door
    assert room_of(place) is infer_room(device)


def test_given_rooms_override_the_names() -> None:
    rooms = RoomMap({"back-door": Room.ENTRANCE, "pir_living": Room.BEDROOM})
    assert rooms.room("back-door") is Room.ENTRANCE
    assert rooms.place("back-door", "door") == code(Room.ENTRANCE, True)
    assert rooms.room("pir_living") is Room.BEDROOM  # the futon is in the living room
    assert rooms.room("kitchen-motion") is Room.KITCHEN  # the rest: inferred


def test_a_households_own_rooms_win_for_that_household_only() -> None:
    rooms = RoomMap(
        {"pir-1": Room.KITCHEN}, households={"h1": {"pir-1": Room.BATHROOM, "back": Room.ENTRANCE}}
    )
    assert rooms.room("pir-1", "h1") is Room.BATHROOM
    assert rooms.room("pir-1", "h2") is Room.KITCHEN  # every household's (replay --devices)
    assert rooms.room("pir-1") is Room.KITCHEN
    engine = Engine(FixedProfiles(TZ), MemoryEpisodes(), TUNING, rooms=rooms)
    assert engine.place("back", "door", "h1") == code(Room.ENTRANCE, True)  # h1's back door is the way out
    assert engine.place("back", "door", "h2") == code(Room.OTHER, False)
    engine.activity("h1", at(0, "08:00"), "back", "door")
    assert engine.state("h1").out


def test_device_rooms_file(tmp_path: Path) -> None:
    path = tmp_path / "rooms.csv"
    path.write_text("device,room\n# comment\nm1,Bathroom\n\nd9, entrance \n", encoding="utf-8")
    assert read_device_rooms(path) == {"m1": Room.BATHROOM, "d9": Room.ENTRANCE}
    with pytest.raises(ValueError, match=r"line 2: unknown room 'garage' \(one of: entrance"):
        parse_device_rooms([["device", "room"], ["m1", "garage"]])
    with pytest.raises(ValueError, match="line 1: expected device,room"):
        parse_device_rooms([["m1"]])


# ----------------------------------------------------------------------------- the room rules

BATH = code(Room.BATHROOM, False)
TOILET = code(Room.TOILET, False)
LIVING = code(Room.LIVING, False)
BEDROOM = code(Room.BEDROOM, False)


def home(days: int, *, bath_min: int = 30, toilet_after_bed: bool = False) -> tuple[list[float], list[int]]:
    """A kit that sees every room: living room every 20 min from 07:00 to 19:00, a bath at 19:00 seen
    going in and coming out ``bath_min`` later, living room until 21:40, the toilet at 21:50 (5 min),
    then the bedroom at 21:55 until 07:00 (or, ``toilet_after_bed``, nothing after the toilet: the
    kit cannot see the bedroom)."""
    events: list[tuple[float, int]] = []
    for day in range(days):
        t = at(day, "07:00")
        while t < at(day, "19:00"):
            events.append((t, LIVING))
            t += 20 * 60
        events.append((at(day, "19:00"), BATH))
        events.append((at(day, "19:00") + bath_min * 60, BATH))
        t = at(day, "19:00") + (bath_min + 5) * 60
        while t < at(day, "21:40"):
            events.append((t, LIVING))
            t += 20 * 60
        events.append((at(day, "21:50"), TOILET))
        if not toilet_after_bed:
            events.append((at(day, "21:55"), BEDROOM))
    events.sort()
    return [t for t, _ in events], [p for _, p in events]


def learned(**kwargs: object) -> Baseline:
    times, places = home(DAYS, **kwargs)  # type: ignore[arg-type]
    return learn(times, places, TZ, at(DAYS, "12:00"), TUNING)


SEES_ALL = learned()
BLIND_BEDROOM = learned(toilet_after_bed=True)


def test_stays_learned_per_room_and_gated_by_what_the_kit_sees() -> None:
    # the bath: the longest stretch that began in the bathroom is the bath itself (30 min) + 20 min
    assert SEES_ALL.stay(Room.BATHROOM) == (30, 50)
    assert SEES_ALL.stay(Room.TOILET) == (5, 30)  # the floor: 30 min
    assert SEES_ALL.stay(Room.KITCHEN) == (0, 0)
    # the last event before sleep is the toilet every night (no bedroom sensor): no toilet rule
    assert BLIND_BEDROOM.stay(Room.TOILET) == (0, 0)
    assert BLIND_BEDROOM.stay(Room.BATHROOM) == (30, 50)
    # too few days with a bath: not yet
    assert learned_days(4).stay(Room.BATHROOM) == (0, 0)
    assert learned_days(5).stay(Room.BATHROOM) == (30, 50)


def learned_days(days: int) -> Baseline:
    times, places = home(days)
    return learn(times, places, TZ, at(days, "12:00"), TUNING)


@dataclass
class Case:
    name: str
    start: str  # the last activity, on day DAYS
    room: Room
    kind: FindingKind
    due: str  # when it is raised ("d+1 08:00": the next day)
    baseline: Baseline = SEES_ALL
    key: str | None = None


WAKE_BY = f"d+1 {SEES_ALL.wake_latest_min // 60:02d}:{SEES_ALL.wake_latest_min % 60:02d}"

CASES = [
    Case("in the bath at 19:00: its usual 30 min + 20", "19:00", Room.BATHROOM, FindingKind.INACTIVITY,
         "19:50", key="inactivity.bathroom"),
    Case("a bath at 15:00 is judged by the same stay", "15:00", Room.BATHROOM, FindingKind.INACTIVITY,
         "15:50", key="inactivity.bathroom"),
    Case("in the toilet at night: out within 5 min usually", "02:00", Room.TOILET, FindingKind.INACTIVITY,
         "02:30", key="inactivity.toilet"),
    Case("the toilet where the kit cannot see the bedroom: sleep follows, wake-up rule", "21:50", Room.TOILET,
         FindingKind.MISSED_WAKEUP, "d+1 07:30", BLIND_BEDROOM),
    Case("the bedroom at 20:30 (bedtime 21:55 - 2 h): going to bed, not inactivity", "20:30", Room.BEDROOM,
         FindingKind.MISSED_WAKEUP, "d+1 07:30"),
    Case("the hallway at 20:30 of a kit that does not see the bedroom: the way to bed", "20:30", Room.OTHER,
         FindingKind.MISSED_WAKEUP, "d+1 07:30", BLIND_BEDROOM),
    Case("the hallway at 20:30 of a kit that sees the bedroom: the time slot decides", "20:30", Room.OTHER,
         FindingKind.INACTIVITY, "d+1 06:10"),
    Case("the hallway at 14:00 of a kit that does not see the bedroom: the time slot decides", "14:00",
         Room.OTHER, FindingKind.INACTIVITY, "15:30", BLIND_BEDROOM),
    Case("the living room at 20:30: the time slot decides (its nights make it long)", "20:30", Room.LIVING,
         FindingKind.INACTIVITY, "d+1 06:10"),
    Case("the bedroom at 14:00 (a nap): the time slot decides", "14:00", Room.BEDROOM, FindingKind.INACTIVITY,
         "15:30"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_where_the_stretch_began(case: Case) -> None:
    start = when(DAYS, case.start)
    profile = Profile("h1", TZ)
    due = community_due(start, False, case.baseline, profile, TUNING, case.room)
    assert due.kind is case.kind
    assert due.at == when(DAYS, case.due), (due.at - start) / 60
    if case.key is not None:
        finding = community_finding("h1", due, start, case.baseline, profile, due.at)
        assert finding.explanation.key == case.key
        assert len(render(finding.explanation, "ja")) <= 70


def test_a_bath_collapse_is_explained_with_the_room() -> None:
    start = when(DAYS, "19:40")
    due = community_due(start, False, SEES_ALL, Profile("h1", TZ), TUNING, Room.BATHROOM)
    finding = community_finding("h1", due, start, SEES_ALL, Profile("h1", TZ), due.at)
    assert render(finding.explanation, "ja") == "浴室で19:40以降 動きなし(50分)。普段の入浴は30分以内"
    assert (
        render(finding.explanation, "en")
        == "Bathroom: no activity since 19:40 (50 min); baths usually ≤30 min"
    )


def test_sensitivity_shortens_the_stay_but_not_below_the_floor() -> None:
    times, places = home(DAYS)
    keen = learn(times, places, TZ, at(DAYS, "12:00"), replace(TUNING, sensitivity=2.0))
    assert keen.stay(Room.BATHROOM) == (30, 30)
    assert keen.stay(Room.TOILET) == (5, 30)


def test_outings_do_not_say_the_entrance_twice() -> None:
    start = when(DAYS, "23:00")
    profile = Profile("h1", TZ, night_exit_enabled=True)
    due = community_due(start, True, SEES_ALL, profile, TUNING, Room.ENTRANCE)
    assert due.kind is FindingKind.NIGHT_EXIT
    finding = community_finding("h1", due, start, SEES_ALL, profile, due.at)
    assert "room" not in finding.explanation.params
    assert render(finding.explanation, "ja") == "夜間23:00に玄関が開き、その後 動きなし(戻っていない可能性)"


def flat_baseline(threshold_min: int, usual_min: int, rooms: tuple[Room, ...]) -> Baseline:
    """Every slot alike: the threshold and the usual longest gap (5-min steps), activity seen in ``rooms``."""
    quiet = bytes([threshold_min // 5] * 96 + [usual_min // 5] * 96)
    seen = sum(1 << (code(room, False) >> 1) for room in rooms)
    return replace(SEES_ALL, quiet=quiet, rooms=seen)


SEES_LIVING = (Room.LIVING, Room.KITCHEN, Room.OTHER, Room.ENTRANCE)
SPARSE = (Room.KITCHEN, Room.OTHER, Room.ENTRANCE)  # a hallway sensor, no living room or bedroom
ROOM_TUNING = Tuning(living_floor_s=60 * 60.0, living_margin_s=25 * 60.0, pass_through_factor=1.1)


@dataclass
class ThresholdCase:
    name: str
    room: Room
    baseline: Baseline
    minutes: float
    stretch: float = 1.0


THRESHOLD_CASES = [
    ThresholdCase("living room on the floor: its usual 30 min + 25, at least 60", Room.LIVING,
                  flat_baseline(90, 30, SEES_LIVING), 60),
    ThresholdCase("living room, usual 50 min: 50 + 25", Room.LIVING, flat_baseline(90, 50, SEES_LIVING), 75),
    ThresholdCase("living room, a false alarm stretched it x1.2", Room.LIVING,
                  flat_baseline(90, 50, SEES_LIVING), 90, 1.2),
    ThresholdCase("living room above the floor: the slot decides", Room.LIVING,
                  flat_baseline(150, 115, SEES_LIVING), 150),
    ThresholdCase("kitchen on the floor: the general floor", Room.KITCHEN,
                  flat_baseline(90, 30, SEES_LIVING), 90),
    ThresholdCase("hallway of a kit that sees the living room: the slot", Room.OTHER,
                  flat_baseline(200, 165, SEES_LIVING), 200),
    ThresholdCase("hallway of a kit blind to the living room and bedroom: x1.1", Room.OTHER,
                  flat_baseline(200, 165, SPARSE), 220),
    ThresholdCase("kitchen of that kit: the slot", Room.KITCHEN, flat_baseline(200, 165, SPARSE), 200),
]  # fmt: skip


@pytest.mark.parametrize("case", THRESHOLD_CASES, ids=[c.name for c in THRESHOLD_CASES])
def test_the_quiet_threshold_by_room(case: ThresholdCase) -> None:
    threshold = quiet_threshold(case.baseline, False, 14 * 60, case.room, case.stretch, ROOM_TUNING)
    assert threshold == pytest.approx(case.minutes * 60)


# (seconds since the first activity, whether it is the main door) -> which begin an outing
PASSAGES = [
    ("out: the door after the hall", [(0, False), (60, True), (64, True)], [False, True, True]),
    (
        "out, the hall sensor seeing the resident step out",
        [(0, False), (60, True), (63, False), (69, True)],
        [False, True, False, True],
    ),
    ("back after an hour", [(0, True), (4, True), (3600, True), (3604, True)], [True, True, False, False]),
    (
        "back, the hall sensor seeing the resident step in before the door closes",
        [(0, True), (4, True), (3600, True), (3602, False), (3608, True)],
        [True, True, False, False, False],
    ),
    (
        "back, then out again an hour later",
        [(0, True), (3600, True), (3620, False), (7200, True)],
        [True, False, False, True],
    ),
    (
        "a door opened 5 min after the last one, nothing between: the same meaning",
        [(0, False), (60, True), (360, True)],
        [False, True, True],
    ),
    (
        "the door again 3 min after in-home activity: a new departure",
        [(0, True), (3600, True), (3610, False), (3790, True)],
        [True, False, False, True],
    ),
]


@pytest.mark.parametrize(("name", "acts", "outs"), PASSAGES, ids=[p[0] for p in PASSAGES])
def test_which_main_door_events_begin_an_outing(
    name: str, acts: list[tuple[float, bool]], outs: list[bool]
) -> None:
    doorway = Doorway()
    assert [doorway.step(t, door) for t, door in acts] == outs
