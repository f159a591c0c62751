"""The live climate pass on a real SQLite store: only homes with a room that is not calm are kept, and
the heat-shock advice, which compares two calm rooms, comes from the hourly sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from detection.climate_live import ClimateDetector
from detection.findings import FindingKind
from detection.model import FixedProfiles
from detection.rooms import RoomMap
from mimamori.contract import Event, Kind, message_id_for
from store.base import IngestBatch
from store.sqlite import SqliteEventStore

NOON = datetime(2026, 1, 15, 3, tzinfo=UTC)  # noon in Tokyo, in the heat-shock months


def readings(at: datetime, *rooms: tuple[str, str, float]) -> IngestBatch:
    return IngestBatch(
        at,
        events=[
            Event(message_id_for(h, d, Kind.TEMPERATURE, v, at), h, "gw", d, Kind.TEMPERATURE, v, at, 1)
            for h, d, v in rooms
        ],
    )


def test_only_homes_with_a_room_that_is_not_calm_are_kept(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    detector = ClimateDetector(store, store.devices_of, FixedProfiles(), RoomMap())
    try:
        store.commit_batch(
            readings(
                NOON, ("h1", "living-temp", 22.0), ("h1", "bath-temp", 11.0), ("h2", "living-temp", 33.0)
            )
        )
        found = detector.tick(NOON, lambda household: True)
        assert [(f.household, f.kind) for f in found] == [("h1", FindingKind.HEAT_SHOCK)]  # the sweep
        assert list(detector.watches) == ["h2"]  # h1's rooms are calm: not kept
        later = NOON + timedelta(minutes=5)
        store.commit_batch(readings(later, ("h2", "living-temp", 25.0)))
        assert detector.tick(later, lambda household: True) == []
        assert detector.watches == {}  # h2 calm again, its stretch over: forgotten
    finally:
        store.close()
