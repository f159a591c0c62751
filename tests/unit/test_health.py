"""The alerts service's health: each part judged against its limit, a part never seen judged from the
start (a fixed clock, a table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalation.health import assess

START = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
LIMITS = {"last_tick": 300.0, "last_event": 600.0, "last_heartbeat": 600.0}


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


NOW = START + timedelta(hours=1)

CASES = [
    ("all recent", {"last_tick": ago(1), "last_event": ago(2), "last_heartbeat": ago(1)}, ()),
    (
        "no tick for 6 min",
        {"last_tick": ago(6), "last_event": ago(2), "last_heartbeat": ago(1)},
        ("last_tick",),
    ),
    (
        "broker down: no event, no heartbeat",
        {"last_tick": ago(1), "last_event": ago(11), "last_heartbeat": ago(12)},
        ("last_event", "last_heartbeat"),
    ),
    (
        "never a heartbeat since the start an hour ago",
        {"last_tick": ago(1), "last_event": ago(1), "last_heartbeat": None},
        ("last_heartbeat",),
    ),
    ("only what applies is judged", {"last_tick": ago(1)}, ()),
]


@pytest.mark.parametrize(("name", "seen", "stale"), CASES, ids=[c[0] for c in CASES])
def test_stale_parts(name: str, seen: dict[str, datetime | None], stale: tuple[str, ...]) -> None:
    health = assess(NOW, START, seen, LIMITS)
    assert health.stale == stale
    assert health.ok is (not stale)
    body = health.as_json()
    assert body["status"] == ("ok" if not stale else "stale")
    assert set(body) == {"status", "stale", *(f"{p}_age_s" for p in seen)}


def test_a_fresh_service_is_healthy_until_it_had_time_to_see() -> None:
    seen: dict[str, datetime | None] = {"last_tick": None, "last_event": None, "last_heartbeat": None}
    assert assess(START + timedelta(minutes=4), START, seen, LIMITS).ok
    assert assess(START + timedelta(minutes=5), START, seen, LIMITS).stale == ("last_tick",)
