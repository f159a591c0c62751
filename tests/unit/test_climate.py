"""Indoor heat and cold rules (pure), table-tested with a fixed clock; their texts fit one SMS segment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from detection.climate import (
    ClimateTuning,
    ClimateWatch,
    HeatLevel,
    climate_tuning_from,
    heat_level,
    indoor_wbgt,
    is_air_conditioner,
)
from detection.climate_live import calm_kinds
from detection.explain import render
from detection.findings import AUDIENCE, Audience, Finding, FindingKind, Severity
from detection.rooms import RoomMap
from escalation.texts import climate_what, segments
from mimamori.config import ClimateConfig
from mimamori.contract import Kind
from registry.models import Language, Room
from store.base import ClimateReading

ZONE = ZoneInfo("Asia/Tokyo")
NOON = datetime(2026, 8, 5, 12, 0, tzinfo=ZONE)
STEP = timedelta(minutes=5)

# (temperature °C, humidity %, WBGT to one decimal, level): the published estimate, indoors
WBGT_CASES = [
    (25.0, 50.0, 19.8, HeatLevel.SAFE),
    (28.0, 50.0, 22.5, HeatLevel.CAUTION),
    (30.0, 60.0, 25.5, HeatLevel.ALERT),
    (32.0, 70.0, 28.6, HeatLevel.SEVERE),
    (33.0, 60.0, 28.2, HeatLevel.SEVERE),
    (35.0, 70.0, 31.4, HeatLevel.DANGER),
    (36.0, 65.0, 31.6, HeatLevel.DANGER),
]


@pytest.mark.parametrize(("temp", "rh", "wbgt", "level"), WBGT_CASES)
def test_indoor_wbgt_and_its_level(temp: float, rh: float, wbgt: float, level: HeatLevel) -> None:
    assert indoor_wbgt(temp, rh) == pytest.approx(wbgt, abs=0.05)
    assert heat_level(indoor_wbgt(temp, rh)) is level


@pytest.mark.parametrize(
    ("name", "aircon"),
    [("aircon-living", True), ("ac", True), ("living_ac", True), ("エアコン", True), ("kettle", False)],
)
def test_air_conditioner_plugs_by_name(name: str, aircon: bool) -> None:
    assert is_air_conditioner(name) is aircon


def run(
    temps: list[float],
    *,
    rh: float = 65.0,
    room: Room = Room.LIVING,
    at_home: bool = True,
    start: datetime = NOON,
    ac_w: list[float] | None = None,
    alert_day: bool = False,
    tuning: ClimateTuning | None = None,
) -> list[tuple[int, Finding]]:
    """Feed one reading every 5 minutes; returns (reading index, finding) of every new episode."""
    watch = ClimateWatch("h1", "Asia/Tokyo", tuning or ClimateTuning())
    seen: set[str] = set()
    out: list[tuple[int, Finding]] = []
    for i, temp in enumerate(temps):
        at = (start + i * STEP).astimezone(UTC)
        watch.humidity("t1", room, at, rh)
        watch.temperature("t1", room, at, temp)
        if ac_w is not None:
            watch.air_conditioner(at, ac_w[i])
        for f in watch.due(at, at_home=at_home, alert_day=alert_day):
            if f.episode not in seen:
                seen.add(f.episode)
                out.append((i, f))
    return out


# name, temperatures (°C, every 5 min), options, expected [(reading index, kind, severity)]
HEAT_CASES: list[tuple[str, list[float], dict[str, object], list[tuple[int, FindingKind, Severity]]]] = [
    ("warm but not severe all day", [31.0] * 100, {}, []),
    ("厳重警戒 for 2 h by day: warning", [33.0] * 30, {}, [(24, FindingKind.HEAT, Severity.WARNING)]),
    ("厳重警戒 for 1 h 55 min: nothing yet", [33.0] * 24, {}, []),
    (
        "厳重警戒 at night: after 1 h",
        [33.0] * 20,
        {"start": datetime(2026, 8, 5, 23, 0, tzinfo=ZONE)},
        [(12, FindingKind.HEAT, Severity.WARNING)],
    ),
    ("危険: urgent after two readings", [36.0] * 5, {}, [(2, FindingKind.HEAT, Severity.URGENT)]),
    ("one 危険 spike: nothing", [33.0, 36.0, 33.0, 33.0], {}, []),
    (
        "厳重警戒 then 危険: warning, then urgent",
        [33.0] * 25 + [36.0] * 3,
        {},
        [(24, FindingKind.HEAT, Severity.WARNING), (27, FindingKind.HEAT, Severity.URGENT)],
    ),
    (
        "heat-alert day: 厳重警戒 for 1 h by day is enough",
        [33.0] * 14,
        {"alert_day": True},
        [(12, FindingKind.HEAT, Severity.WARNING)],
    ),
    (
        "configured: 厳重警戒 for 90 min by day, cold below 12 °C",
        [33.0] * 20,
        {"tuning": climate_tuning_from(ClimateConfig(severe_day_min=90, cold_below_c=12.0))},
        [(18, FindingKind.HEAT, Severity.WARNING)],
    ),
    (
        "configured: cold below 12 °C for 1 h",
        [11.0] * 14,
        {"rh": 40.0, "tuning": climate_tuning_from(ClimateConfig(cold_below_c=12.0, cold_hours=1.0))},
        [(12, FindingKind.COLD, Severity.WARNING)],
    ),
    ("not home: nothing", [36.0] * 30, {"at_home": False}, []),
    ("a hot bath: nothing", [40.0] * 30, {"room": Room.BATHROOM, "rh": 95.0}, []),
    (
        "air conditioner running, room cooling: nothing",
        [36.0, 36.0, 35.0, 34.0, 33.0, 32.0],
        {"ac_w": [0.0, 600.0, 600.0, 600.0, 600.0, 600.0]},
        [],
    ),
    (
        "air conditioner running, room not cooling (broken, window open): raised",
        [36.0] * 6,
        {"ac_w": [600.0] * 6},
        [(2, FindingKind.HEAT, Severity.URGENT)],
    ),
    ("cold living room for 3 h", [8.0] * 40, {"rh": 40.0}, [(36, FindingKind.COLD, Severity.WARNING)]),
    ("cold kitchen: nothing", [8.0] * 40, {"rh": 40.0, "room": Room.KITCHEN}, []),
    ("cool but above the floor: nothing", [11.0] * 60, {"rh": 40.0}, []),
]


@pytest.mark.parametrize(("name", "temps", "options", "expected"), HEAT_CASES, ids=[c[0] for c in HEAT_CASES])
def test_heat_and_cold_rules(
    name: str,
    temps: list[float],
    options: dict[str, object],
    expected: list[tuple[int, FindingKind, Severity]],
) -> None:
    found = run(temps, **options)  # type: ignore[arg-type]
    assert [(i, f.kind, f.severity) for i, f in found] == expected


def test_a_stretch_that_reached_danger_is_not_raised_again_as_severe() -> None:
    found = run([36.0] * 3 + [33.0] * 40)
    assert [(i, f.severity) for i, f in found] == [(2, Severity.URGENT)]


def test_danger_again_after_hours_without_is_a_new_alert_within_the_stretch() -> None:
    soon = run([36.0] * 3 + [33.0] * 12 + [36.0] * 3)  # 1 h between: the same alert
    assert [(i, f.severity) for i, f in soon] == [(2, Severity.URGENT)]
    later = run([36.0] * 3 + [33.0] * 48 + [36.0] * 3)  # 4 h between (a cooler evening): anew
    assert [(i, f.severity) for i, f in later] == [(2, Severity.URGENT), (53, Severity.URGENT)]


def test_one_stretch_is_one_episode_and_a_new_stretch_another() -> None:
    found = run([33.0] * 30 + [29.0] * 3 + [33.0] * 30)
    assert [i for i, _ in found] == [24, 57]
    assert found[0][1].episode != found[1][1].episode


def test_two_hot_rooms_are_one_stretch_named_by_the_hottest() -> None:
    watch = ClimateWatch("h1", "Asia/Tokyo")
    episodes: set[str] = set()
    rooms: set[object] = set()
    for k in range(30):
        at = (NOON + k * STEP).astimezone(UTC)
        for device, room, temp in (("t-living", Room.LIVING, 33.0), ("t-bed", Room.BEDROOM, 34.0)):
            watch.humidity(device, room, at, 65.0)
            watch.temperature(device, room, at, temp)
        for f in watch.due(at, at_home=True):
            episodes.add(f.episode)
            rooms.add(f.explanation.params["room"])
    assert len(episodes) == 1
    assert rooms == {"bedroom"}


def test_heat_shock_advice_in_winter_only() -> None:
    for month, expected in ((1, [FindingKind.HEAT_SHOCK]), (8, [])):
        watch = ClimateWatch("h1", "Asia/Tokyo")
        at = datetime(2026, month, 10, 19, 0, tzinfo=ZONE).astimezone(UTC)
        watch.temperature("t-living", Room.LIVING, at, 20.0)
        watch.temperature("t-bath", Room.BATHROOM, at, 7.0)
        assert [f.kind for f in watch.due(at, at_home=True)] == expected
    assert AUDIENCE[FindingKind.HEAT_SHOCK] is Audience.CARE_MANAGER


def test_current_level_is_the_hottest_room_heard_lately() -> None:
    watch = ClimateWatch("h1", "Asia/Tokyo")
    at = NOON.astimezone(UTC)
    assert watch.level(at) is None
    watch.humidity("a", Room.LIVING, at, 65.0)
    watch.temperature("a", Room.LIVING, at, 36.0)
    watch.temperature("b", Room.BEDROOM, at, 26.0)
    assert watch.level(at) is HeatLevel.DANGER
    assert watch.level(at + timedelta(hours=1)) is None  # nothing heard since


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_explanations_and_alert_words_fit_one_segment(lang: str) -> None:
    worst = run([39.0] * 40 + [41.0] * 200, rh=95.0, room=Room.BEDROOM)
    cold = run([2.0] * 300, rh=30.0)
    dry = ClimateWatch("h1", "Asia/Tokyo")
    at = NOON.astimezone(UTC)
    for k in range(30):
        dry.temperature("t", Room.LIVING, at + k * STEP, 37.0)
    findings = [f for _, f in worst + cold] + dry.due(at + 29 * STEP, at_home=True)
    assert {f.explanation.key for f in findings} == {"heat", "cold", "heat.no_humidity"}
    language = Language(lang)
    for f in findings:
        text = render(f.explanation, "ja" if lang == "ja" else "en")
        assert "{" not in text, text
        assert not text.startswith(f.explanation.key), text
        for resident in (True, False):
            words = climate_what(f.kind, f.explanation.key, f.explanation.params, language, resident=resident)
            assert segments(words) == 1, words  # English stays GSM-7 (no °)


def test_the_resident_is_told_what_to_do_others_are_asked_to_look_in() -> None:
    (_, f), *_ = run([34.0] * 30)
    params = f.explanation.params
    resident = climate_what(f.kind, f.explanation.key, params, Language.JA, resident=True)
    assert resident == "室温が34℃です。エアコンをつけて水分をとりましょう"
    other = climate_what(f.kind, f.explanation.key, params, Language.JA, resident=False)
    assert other.startswith("居間で室温34℃・湿度65%、暑さ指数")
    assert other.endswith("様子を見に行けますか")


def test_hot_in_winter_the_resident_is_told_to_turn_the_heating_down() -> None:
    (_, f), *_ = run([37.0] * 30, rh=42.0, start=datetime(2026, 12, 3, 12, 0, tzinfo=ZONE))
    params = f.explanation.params
    assert climate_what(f.kind, f.explanation.key, params, Language.JA, resident=True) == (
        "室温が37℃です。暖房を弱めて窓を少し開け、水分をとりましょう"
    )
    english = climate_what(f.kind, f.explanation.key, params, Language.EN, resident=True)
    assert english.startswith("It is 37C indoors. Please turn the heating down")
    assert segments(english) == 1


def test_calm_kinds_say_which_homes_are_safe_again() -> None:
    at = NOON.astimezone(UTC)

    def r(household: str, device: str, kind: Kind, value: float) -> ClimateReading:
        return ClimateReading(household, device, kind, value, at)

    readings = [
        r("cooled", "living-temp", Kind.TEMPERATURE, 27.0),
        r("cooled", "living-temp", Kind.HUMIDITY, 50.0),
        r("still-hot", "living-temp", Kind.TEMPERATURE, 27.0),
        r("still-hot", "bedroom-temp", Kind.TEMPERATURE, 35.0),
        r("warm-again", "bedroom-temp", Kind.TEMPERATURE, 13.0),
        r("bath-only", "bathroom-temp", Kind.TEMPERATURE, 20.0),
    ]
    calm = calm_kinds(readings, RoomMap())
    assert calm["cooled"] == {FindingKind.HEAT, FindingKind.COLD}
    assert calm["still-hot"] == {FindingKind.COLD}
    assert calm["warm-again"] == {FindingKind.HEAT, FindingKind.COLD}
    assert "bath-only" not in calm  # nothing heard of the rooms that matter: not calm
