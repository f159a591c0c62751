"""Clocks: the fake one moves only when told, the scaled one runs faster than real time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from mimamori.clock import FakeClock, ScaledClock

START = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


def test_fake_clock_moves_only_forward() -> None:
    clock = FakeClock(START)
    assert clock.advance(timedelta(minutes=5)) == START + timedelta(minutes=5)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))


def test_scaled_clock_runs_speed_times_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    real = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: real[0])
    clock = ScaledClock(START, speed=240)
    assert clock.now() == START
    real[0] += 1.5
    assert clock.now() == START + timedelta(minutes=6)
    assert clock.real_seconds(timedelta(hours=1)) == 15.0


def test_scaled_clock_can_wait_to_start_and_change_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    real = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: real[0])
    clock = ScaledClock(START, speed=60, running=False)
    real[0] += 30
    assert clock.now() == START
    clock.resume()
    real[0] += 1
    assert clock.now() == START + timedelta(minutes=1)
    clock.set_speed(1)
    real[0] += 1
    assert clock.now() == START + timedelta(minutes=1, seconds=1)


@pytest.mark.parametrize(("start", "speed"), [(datetime(2026, 1, 1), 1.0), (START, 0.0)])
def test_scaled_clock_refuses_naive_times_and_stopped_time(start: datetime, speed: float) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        ScaledClock(start, speed)


def test_scaled_clock_stops_at_its_limit_and_goes_on_from_there(monkeypatch: pytest.MonkeyPatch) -> None:
    real = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: real[0])
    clock = ScaledClock(START, speed=60)
    clock.hold_at(START + timedelta(minutes=5))
    real[0] += 10 * 60  # ten simulated minutes of real time pass: the clock waits at the limit
    assert clock.now() == START + timedelta(minutes=5)
    clock.hold_at(START + timedelta(minutes=30))
    real[0] += 1
    assert clock.now() == START + timedelta(minutes=5, seconds=60)  # on from the limit, no jump
    with pytest.raises(ValueError, match="backwards"):
        clock.hold_at(START)
