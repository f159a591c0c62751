"""The live detector when the store is busy: a skipped tick, never a crash or a lost finding."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from detection.episodes import SqliteEpisodes
from detection.live import LiveDetector, _MinuteQueue
from detection.model import FixedProfiles
from mimamori.clock import FakeClock
from store.base import StoreError

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


class BusyStore:
    """A store whose every read fails (a fake of our own port, for this unit test only)."""

    def __init__(self, retryable: bool) -> None:
        self.retryable = retryable

    def __getattr__(self, name: str) -> object:
        def fail(*args: object, **kwargs: object) -> object:
            raise StoreError("database is locked", retryable=self.retryable)

        return fail


def busy(retryable: bool) -> Any:
    return BusyStore(retryable)


def test_a_busy_store_skips_the_tick(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    detector = LiveDetector(
        busy(True), FixedProfiles(), SqliteEpisodes(tmp_path / "s.sqlite3"), FakeClock(NOW)
    )
    detector.open()
    assert detector.tick(NOW) == []
    assert "detection.tick_skipped" in caplog.text
    detector.close()


def test_a_broken_store_is_not_hidden(tmp_path: Path) -> None:
    detector = LiveDetector(
        busy(False), FixedProfiles(), SqliteEpisodes(tmp_path / "s.sqlite3"), FakeClock(NOW)
    )
    detector.open()
    with pytest.raises(StoreError):
        detector.tick(NOW)
    detector.close()


def test_minute_queue_hands_out_due_households_soonest_first_and_late_ones_next_minute() -> None:
    queue = _MinuteQueue()
    queue.add(600.0, "b")  # minute 10
    queue.add(59.0, "a")  # minute 0
    queue.add(math.inf, "never")
    assert queue.pop(30.0) == "a"
    assert queue.pop(599.0) is None  # b is due at minute 10
    queue.add(0.0, "late")  # due in a minute already handed out: the next one
    assert [queue.pop(600.0), queue.pop(600.0), queue.pop(10**9)] == ["late", "b", None]
