"""Pure parts of the dashboard, table-driven with fixed times: charts, urgency, digest, language."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dashboard.charts import heat_map, rhythm, timeline, window_utc
from dashboard.digest import digest_csv, digest_days, parse_week
from dashboard.i18n import MESSAGES, pick_language, translate
from dashboard.overview import OverviewRow, build_overview, device_problems
from dashboard.security import safe_next
from dashboard.users import StaffRole, UserError, UserStore
from dashboard.views import HouseholdStatus, HouseholdView
from mimamori.contract import Event, GatewayState, Kind
from store.base import DeviceState, GatewayLiveState, HourlyActivity, HouseholdActivity
from tests.support.dashboard_fakes import FAST_HASHER

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # 18:00 in Tokyo


def test_heat_map_places_utc_hours_on_local_days_and_hours() -> None:
    today = date(2026, 11, 26)
    rolls = [
        HourlyActivity("h", datetime(2026, 11, 25, 22, 0, tzinfo=UTC), Kind.MOTION, 4),  # 26th 07:00 JST
        HourlyActivity("h", datetime(2026, 11, 25, 22, 0, tzinfo=UTC), Kind.DOOR, 4),
        HourlyActivity("h", datetime(2026, 11, 26, 0, 0, tzinfo=UTC), Kind.MOTION, 1),  # 26th 09:00 JST
        HourlyActivity("h", datetime(2026, 8, 1, 0, 0, tzinfo=UTC), Kind.MOTION, 9),  # outside 90 days
    ]
    heat = heat_map(rolls, today, 90, TOKYO)
    assert heat.days[-1] == today
    assert len(heat.days) == 90
    assert [(c.row, c.hour, c.count, c.level) for c in heat.cells] == [(89, 7, 8, 4), (89, 9, 1, 1)]


def test_window_utc_covers_whole_local_days() -> None:
    start, end = window_utc(date(2026, 11, 26), 2, TOKYO)
    assert start == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def test_rhythm_takes_first_morning_activity_and_last_evening_one_past_midnight() -> None:
    def jst(day: int, hour: int, minute: int) -> datetime:
        return datetime(2026, 11, day, hour, minute, tzinfo=TOKYO)

    times = [jst(24, 2, 0), jst(24, 6, 40), jst(24, 12, 0), jst(24, 22, 15), jst(25, 0, 30), jst(25, 7, 5)]
    days = (date(2026, 11, 24), date(2026, 11, 25))
    result = rhythm(times, days, TOKYO)
    assert [(r.wake_minute, r.bed_minute) for r in result] == [
        (6 * 60 + 40, 24 * 60 + 30),
        (7 * 60 + 5, None),
    ]


def test_timeline_has_one_lane_per_sensor_without_battery_reports() -> None:
    def event(device: str, kind: Kind, hour: int) -> Event:
        at = datetime(2026, 11, 26, hour, 0, tzinfo=TOKYO).astimezone(UTC)
        return Event(f"id{device}{hour:04d}", "h", "gw", device, kind, 1.0, at, hour)

    events = [
        event("motion-1", Kind.MOTION, 7),
        event("door-main", Kind.DOOR, 8),
        event("motion-1", Kind.BATTERY, 9),
    ]
    line = timeline(events, date(2026, 11, 26), TOKYO, NOW)
    assert [(lane.device, lane.minutes) for lane in line.lanes] == [
        ("door-main", (480,)),
        ("motion-1", (420,)),
    ]
    assert line.now_minute == 18 * 60


def _row(
    hid: str, state: HouseholdStatus, incidents: int, problems: int, hours_ago: float | None
) -> OverviewRow:
    return OverviewRow(
        HouseholdView(hid, hid, "", "Asia/Tokyo", "ja"),
        state,
        None if hours_ago is None else NOW - timedelta(hours=hours_ago),
        incidents,
        (),
    )


def test_overview_puts_open_incidents_then_quiet_then_blind_first() -> None:
    households = [HouseholdView(h, h, "", "Asia/Tokyo", "ja") for h in "abcdef"]
    states = {
        "a": HouseholdStatus.ACTIVE,
        "b": HouseholdStatus.AWAY,
        "c": HouseholdStatus.BLIND,
        "d": HouseholdStatus.QUIET,
        "e": HouseholdStatus.ACTIVE,
        "f": HouseholdStatus.ACTIVE,
    }
    activity = {
        "a": HouseholdActivity("a", NOW - timedelta(hours=1), "m", NOW),
        "f": HouseholdActivity("f", NOW - timedelta(hours=5), "m", NOW),
    }
    rows = build_overview(households, states, activity, {}, {"e": 2})
    assert [r.household.id for r in rows] == ["e", "d", "c", "f", "a", "b"]


def test_device_problems() -> None:
    devices = [
        DeviceState("h", "ok", Kind.MOTION, NOW, 1.0, 80.0),
        DeviceState("h", "low", Kind.DOOR, NOW, 0.0, 14.9),
        DeviceState("h", "gone", Kind.MOTION, NOW - timedelta(hours=25), 0.0, None),
    ]
    gateways = [GatewayLiveState("h", "gw", GatewayState.OFFLINE, NOW, None)]
    found = [(p.device, p.problem) for p in device_problems(devices, gateways, NOW)]
    assert found == [("gw", "gateway_offline"), ("low", "low_battery"), ("gone", "silent")]


def test_digest_week_and_csv() -> None:
    assert parse_week(None, date(2026, 11, 26)) == date(2026, 11, 16)
    assert parse_week("2026-11-26", date(2026, 11, 26)) == date(2026, 11, 23)
    assert parse_week("not a date", date(2026, 11, 26)) == date(2026, 11, 16)
    start = date(2026, 11, 16)
    rolls = [
        HourlyActivity("h", datetime(2026, 11, 16, 7, 0, tzinfo=TOKYO).astimezone(UTC), Kind.MOTION, 5),
        HourlyActivity("h", datetime(2026, 11, 16, 2, 0, tzinfo=TOKYO).astimezone(UTC), Kind.MOTION, 2),
    ]
    days = digest_days(start, rolls, [datetime(2026, 11, 16, 7, 5, tzinfo=TOKYO)], [], TOKYO)
    assert (days[0].events, days[0].active_hours, days[0].night_events, days[0].wake_minute) == (7, 2, 2, 425)
    lines = digest_csv("h", days).splitlines()
    assert lines[1] == "h,2026-11-16,7,2,2,07:05,,0"
    assert len(lines) == 8


@pytest.mark.parametrize(
    ("chosen", "account", "accept", "expected"),
    [
        ("en", "ja", "ja", "en"),
        (None, "en", "ja", "en"),
        (None, None, "fr-FR,en;q=0.8", "en"),
        (None, None, "ja-JP", "ja"),
        (None, None, "", "ja"),
        ("xx", None, "de", "ja"),
    ],
)
def test_language_choice(chosen: str | None, account: str | None, accept: str, expected: str) -> None:
    assert pick_language(chosen, account, accept, "ja") == expected


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    for key, (en, ja) in MESSAGES.items():
        assert en, key
        assert ja, key
        assert sorted(_fields(en)) == sorted(_fields(ja)), key
    assert translate("ja", "time.ago_min", n=5) == "5分前"


def _fields(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/households/x", "/households/x"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_redirects_stay_on_the_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_users_hash_passwords_and_refuse_bad_ones(tmp_path: Path) -> None:
    users = UserStore(tmp_path / "u.sqlite3", FAST_HASHER)
    users.open()
    try:
        users.add_user("sato", "Sato", StaffRole.CARE_MANAGER, "a long enough password", now=NOW)
        stored = users.db.execute("SELECT password_hash FROM users").fetchone()[0]
        assert stored.startswith("$argon2id$")
        assert "a long enough password" not in stored
        assert users.authenticate("sato", "a long enough password") is not None
        assert users.authenticate("sato", "wrong") is None
        assert users.authenticate("nobody", "a long enough password") is None
        for args in (("sato", "dup"), ("Bad Name", "x"), ("ok", "ok")):
            with pytest.raises(UserError):
                users.add_user(
                    args[0],
                    args[1],
                    StaffRole.ADMIN,
                    "short" if args[0] == "ok" else "long enough pw!",
                    now=NOW,
                )
        with pytest.raises(UserError):
            users.assign("nobody", "h1")
    finally:
        users.close()
