"""The routine model: a seeded week of homes looks like older people living alone."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from firmware_sim.homes import HouseholdSpec
from firmware_sim.kits import KITS_BY_NAME, HouseRoom
from firmware_sim.simulate import DEFAULT_START, SimResult, build_homes, generate, stream
from mimamori.contract import Kind, is_activity

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def week() -> SimResult:
    return generate(20, 7, seed=1)


def local(ms: int, zone: ZoneInfo = TOKYO) -> datetime:
    return datetime.fromtimestamp(ms / 1000, zone)


def test_same_seed_same_events_other_seed_other_events() -> None:
    a = generate(3, 2, seed=7).events
    b = generate(3, 2, seed=7).events
    c = generate(3, 2, seed=8).events
    assert a == b
    assert a != c


def test_events_are_in_sending_order_and_within_the_local_days(week: SimResult) -> None:
    times = [e.at for e in week.events]
    assert times == sorted(times)
    lo = datetime.combine(DEFAULT_START, datetime.min.time(), tzinfo=TOKYO)
    assert local(times[0]) >= lo
    assert local(times[-1]) < lo + timedelta(days=7)


def test_kits_vary_and_sparse_homes_have_no_bedroom_or_living_motion(week: SimResult) -> None:
    names = Counter(home.kit.name.split("-")[0] for home in week.homes)
    assert len(names) >= 3, names
    for home in week.homes:
        if home.kit.name in ("sparse", "minimal"):
            assert home.kit.motion_in(HouseRoom.BEDROOM) is None
            assert home.kit.motion_in(HouseRoom.LIVING) is None
            assert not home.kit.sees_evening  # the kits the evening check is for
        elif home.kit.name in ("full", "standard"):
            assert home.kit.sees_evening
    devices = {(e.household, e.device) for e in week.events}
    for home in week.homes:
        assert {d for h, d in devices if h == home.household} == {d.id for d in home.kit.devices}


def test_everyone_gets_up_in_the_morning_and_goes_to_bed_in_the_evening(week: SimResult) -> None:
    truth = week.truth()
    wakes = []
    for home in truth["households"]:
        for day in home["days"]:
            wake = datetime.fromisoformat(day["wake"])
            bed = datetime.fromisoformat(day["bedtime"])
            wakes.append(wake.hour + wake.minute / 60)
            assert 4 <= wake.hour <= 9, (home["household"], day)
            assert bed.hour >= 19 or bed.hour == 0, (home["household"], day)
    assert 5.5 <= sorted(wakes)[len(wakes) // 2] <= 7.5
    assert len({round(w * 60) for w in wakes}) > 80  # varies by household and day (140 wake-ups)


def test_nights_have_toilet_visits_and_days_have_kettle_and_outings(week: SimResult) -> None:
    night_toilet = 0
    kettle_days: set[tuple[str, date]] = set()
    door_days: set[tuple[str, date]] = set()
    for e in week.events:
        at = local(e.at)
        if e.device == "toilet-door" and e.value == 1 and 1 <= at.hour < 5:
            night_toilet += 1
        if e.device == "kettle" and e.value >= 1000:
            kettle_days.add((e.household, at.date()))
        if e.device == "main-door" and e.value == 1:
            door_days.add((e.household, at.date()))
    with_toilet_door = sum(1 for h in week.homes if h.kit.has("toilet-door"))
    assert night_toilet >= with_toilet_door * 7 * 0.3
    assert len(kettle_days) >= 0.6 * 20 * 7
    assert 0.4 * 20 * 7 <= len(door_days) < 20 * 7


def test_day_service_only_on_its_weekdays(week: SimResult) -> None:
    truth = week.truth()
    for home in truth["households"]:
        service = set(home["day_service_weekdays"])
        for day in home["days"]:
            weekday = date.fromisoformat(day["date"]).weekday()
            long_away = [
                a
                for a in day["away"]
                if datetime.fromisoformat(a[1]) - datetime.fromisoformat(a[0]) > timedelta(hours=5)
            ]
            if weekday in service:
                assert long_away, (home["household"], day)
            else:
                assert not long_away, (home["household"], day)


def test_activity_is_low_at_night_and_high_in_the_day(week: SimResult) -> None:
    by_hour: Counter[int] = Counter()
    previous: dict[tuple[str, str], float] = {}
    for e in week.events:
        key = (e.household, e.device)
        if is_activity(e.kind, e.value, previous.get(key)):
            by_hour[local(e.at).hour] += 1
        if e.kind is Kind.POWER:
            previous[key] = e.value
    night = sum(by_hour[h] for h in (1, 2, 3, 4))
    day = sum(by_hour[h] for h in (8, 9, 10, 11))
    assert night * 5 < day


def test_battery_devices_report_battery_and_everyone_checks_in(week: SimResult) -> None:
    kinds: dict[tuple[str, str], set[Kind]] = defaultdict(set)
    for e in week.events:
        kinds[(e.household, e.device)].add(e.kind)
    for home in week.homes:
        for device in home.kit.devices:
            seen = kinds[(home.household, device.id)]
            assert Kind.CHECKIN in seen
            assert (Kind.BATTERY in seen) == device.battery


def test_time_zone_is_per_household() -> None:
    homes = [HouseholdSpec("tokyo", "Asia/Tokyo", "full"), HouseholdSpec("london", "Europe/London", "full")]
    result = generate(homes, 3, seed=2)
    truth = {h["household"]: h for h in result.truth()["households"]}
    for name, zone in (("tokyo", "+09:00"), ("london", "+00:00")):
        wakes = [datetime.fromisoformat(d["wake"]) for d in truth[name]["days"]]
        assert all(w.isoformat().endswith(zone) for w in wakes)
        assert all(4 <= w.hour <= 9 for w in wakes)


def test_streaming_in_windows_gives_exactly_the_same_events() -> None:
    homes = build_homes(4, 5, DEFAULT_START)
    whole = generate(4, 2, seed=5).events
    lo = datetime.combine(DEFAULT_START, datetime.min.time(), tzinfo=TOKYO)
    windows = [e for w in stream(homes, lo, lo + timedelta(days=2), timedelta(minutes=13)) for e in w]
    assert sorted(windows, key=lambda e: (e.at, e.household, e.device, e.kind)) == sorted(
        whole, key=lambda e: (e.at, e.household, e.device, e.kind)
    )


def test_a_named_kit_is_used() -> None:
    result = generate([HouseholdSpec("a", kit="minimal")], 1, seed=1)
    assert {e.device for e in result.events} == {d.id for d in KITS_BY_NAME["minimal"].devices}
