"""The clock port. Decisions take ``now`` as an argument; I/O code asks a Clock for it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to: for tests, the simulator and offline replay."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time does not go backwards")
        self._now += delta
        return self._now

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = at.astimezone(UTC)


class FileClock:
    """A clock read from a file holding one ISO 8601 time: lets a test steer a subprocess's "now".

    For tests and demos only (``[alerts] clock_file``); an unreadable file is an error, not a fallback.
    """

    def __init__(self, path: Path) -> None:
        self._path = path

    def now(self) -> datetime:
        value = datetime.fromisoformat(self._path.read_text(encoding="utf-8").strip())
        if value.tzinfo is None:
            raise ValueError(f"{self._path}: the time needs a UTC offset")
        return value.astimezone(UTC)


class ScaledClock:
    """Simulated time running ``speed`` times faster than real time from ``start`` (the demo's clock).

    Real elapsed time comes from the monotonic clock, so a wall-clock jump does not move it. A limit
    (:meth:`hold_at`) keeps it from running ahead of what the simulated world has done.
    """

    def __init__(self, start: datetime, speed: float, *, running: bool = True) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs an aware datetime")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._real_start = time.monotonic()
        self._running = running
        self._limit: datetime | None = None
        self._held = False  # stopped at the limit

    def resume(self) -> None:
        """Start a clock made with ``running=False`` (it reads ``start`` until then)."""
        if not self._running:
            self._real_start = time.monotonic()
            self._running = True

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        if not self._running or self._held:
            return self._start
        at = self._start + timedelta(seconds=(time.monotonic() - self._real_start) * self._speed)
        if self._limit is not None and at >= self._limit:
            self._start, self._held = self._limit, True  # it stopped there, whenever it got there
            return self._start
        return at

    def hold_at(self, limit: datetime) -> None:
        """Simulated time stops at ``limit`` until a later limit lets it go on from there, without a
        jump. The limit may not be earlier than ``now()``: time does not go backwards."""
        at = self.now()
        if limit < at:
            raise ValueError("time does not go backwards")
        self._limit = limit.astimezone(UTC)
        if self._held and self._limit > at:
            self._real_start, self._held = time.monotonic(), False

    def set_speed(self, speed: float) -> None:
        """Change the pace from now on; simulated time does not jump."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start, self._real_start, self._speed = self.now(), time.monotonic(), speed

    def real_seconds(self, simulated: timedelta) -> float:
        """How many real seconds pass while ``simulated`` time passes."""
        return simulated.total_seconds() / self._speed
