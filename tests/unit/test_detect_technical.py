"""Blind and device findings: technical audience only, with their boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detection.detector import blind_kind, technical_findings
from detection.findings import Audience, FindingKind
from detection.model import TechnicalView, Tuning
from mimamori.contract import Kind
from store.base import DeviceState

T = Tuning()
NOW = datetime(2026, 3, 23, 3, 0, tzinfo=UTC)


def device(
    name: str, ago_s: float, *, kind: Kind = Kind.MOTION, value: float = 0.0, battery: float | None = 80.0
) -> DeviceState:
    return DeviceState("h1", name, kind, NOW - timedelta(seconds=ago_s), value, battery)


def kinds(view: TechnicalView, checkins: bool = True) -> list[FindingKind]:
    found = technical_findings("h1", view, checkins, None, "Asia/Tokyo", T, NOW.timestamp())
    assert all(f.audience is Audience.TECHNICAL for f in found)
    return [f.kind for f in found]


@pytest.mark.parametrize(
    ("offline_for_s", "expect"),
    [(None, []), (T.gateway_grace_s - 1, []), (T.gateway_grace_s, [FindingKind.BLIND_GATEWAY])],
)
def test_gateway_offline_after_grace(offline_for_s: float | None, expect: list[FindingKind]) -> None:
    since = None if offline_for_s is None else NOW - timedelta(seconds=offline_for_s)
    assert kinds(TechnicalView(since, [device("hall-motion", 60)])) == expect


@pytest.mark.parametrize(
    ("silent_s", "checkins", "expect"),
    [
        (T.sensors_silent_s - 1, True, []),
        (T.sensors_silent_s, True, [FindingKind.BLIND_SENSORS]),
        # without check-ins a silent home looks exactly like a quiet one: never call it blind
        (T.sensors_silent_s * 3, False, []),
    ],
)
def test_every_sensor_silent(silent_s: float, checkins: bool, expect: list[FindingKind]) -> None:
    view = TechnicalView(None, [device("hall-motion", silent_s), device("kitchen-motion", silent_s + 5)])
    assert kinds(view, checkins) == expect
    assert (blind_kind(view, checkins, T, NOW.timestamp()) is not None) == bool(expect)


@pytest.mark.parametrize(
    ("dev", "expect"),
    [
        (device("kettle", T.device_silent_s - 1, kind=Kind.POWER), []),
        (device("kettle", T.device_silent_s, kind=Kind.POWER), [FindingKind.DEVICE_SILENT]),
        (device("hall-motion", 60, battery=T.low_battery_pct + 1), []),
        (device("hall-motion", 60, battery=T.low_battery_pct), [FindingKind.LOW_BATTERY]),
        # no "clear" for hours is not stuck (some sensors never clear), nor is a door left open
        (device("hall-motion", 4 * 3600, value=1.0), []),
        (device("main-door", 4 * 3600, kind=Kind.DOOR, value=1.0), []),
    ],
)
def test_device_problems(dev: DeviceState, expect: list[FindingKind]) -> None:
    others = [device("kitchen-motion", 60)]
    assert kinds(TechnicalView(None, [dev, *others])) == expect


def test_device_findings_are_not_raised_while_blind() -> None:
    view = TechnicalView(NOW - timedelta(hours=2), [device("hall-motion", 60, battery=5)])
    assert kinds(view) == [FindingKind.BLIND_GATEWAY]


def test_episode_is_stable_per_outage() -> None:
    view = TechnicalView(NOW - timedelta(hours=1), [device("hall-motion", 60)])
    a = technical_findings("h1", view, True, None, "Asia/Tokyo", T, NOW.timestamp())
    b = technical_findings("h1", view, True, None, "Asia/Tokyo", T, NOW.timestamp() + 600)
    assert a[0].episode == b[0].episode


@pytest.mark.parametrize(
    ("alone_s", "devices", "silent_s", "expect"),
    [
        (T.stuck_solo_s - 1, 2, 0, []),
        (T.stuck_solo_s, 2, 0, [FindingKind.STUCK_SENSOR]),
        (T.stuck_solo_s * 2, 1, 0, []),  # a home with one sensor: nothing to compare with
        # one sensor alone for two hours, then nothing (a fall): a quiet home, not a stuck sensor
        (T.stuck_solo_s, 2, T.stuck_solo_s - 2 * 3600, []),
    ],
)
def test_one_sensor_alone_for_half_a_day_may_be_stuck(
    alone_s: float, devices: int, silent_s: float, expect: list[FindingKind]
) -> None:
    kit = [device("hall-motion", 30, value=1.0), device("kitchen-motion", alone_s + 60)][:devices]
    view = TechnicalView(None, kit, solo_device="hall-motion", solo_since=NOW - timedelta(seconds=alone_s))
    last = NOW.timestamp() - silent_s
    found = technical_findings("h1", view, True, last, "Asia/Tokyo", T, NOW.timestamp())
    assert [f.kind for f in found] == expect
