"""Chatty climate sensors are thinned in ingest: stored at most every 15 min unless the value moved;
thinned readings are acknowledged, count as seen for the gateway's seq, and are counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.decode import acknowledgements
from ingest.thinning import ClimateThinner
from mimamori.config import ClimateConfig
from mimamori.contract import Event, Kind, message_id_for
from store.base import IngestBatch
from store.sqlite import SqliteEventStore

T0 = datetime(2026, 8, 5, 3, 0, tzinfo=UTC)


def event(minute: float, kind: Kind, value: float, seq: int, device: str = "living-temp") -> Event:
    at = T0 + timedelta(minutes=minute)
    return Event(message_id_for("h1", device, kind, value, at), "h1", "gw", device, kind, value, at, seq)


# name, readings (minute, kind, value), which are stored
CASES: list[tuple[str, list[tuple[float, Kind, float]], list[int]]] = [
    ("the first reading is stored", [(0, Kind.TEMPERATURE, 30.0)], [0]),
    ("unchanged within 15 min: thinned", [(0, Kind.TEMPERATURE, 30.0), (5, Kind.TEMPERATURE, 30.1)], [0]),
    ("unchanged, 15 min later: stored", [(0, Kind.TEMPERATURE, 30.0), (15, Kind.TEMPERATURE, 30.0)], [0, 1]),
    ("moved 0.3 °C: stored at once", [(0, Kind.TEMPERATURE, 30.0), (1, Kind.TEMPERATURE, 30.3)], [0, 1]),
    (
        "humidity: 3 % is a step",
        [(0, Kind.HUMIDITY, 60.0), (1, Kind.HUMIDITY, 62.0), (2, Kind.HUMIDITY, 63.0)],
        [0, 2],
    ),
    ("kinds apart", [(0, Kind.TEMPERATURE, 30.0), (1, Kind.HUMIDITY, 60.0)], [0, 1]),
    ("not climate: never thinned", [(0, Kind.MOTION, 1.0), (0.1, Kind.MOTION, 1.0)], [0, 1]),
]


@pytest.mark.parametrize(("name", "readings", "stored"), CASES, ids=[c[0] for c in CASES])
def test_thinning(name: str, readings: list[tuple[float, Kind, float]], stored: list[int]) -> None:
    events = [event(m, k, v, seq) for seq, (m, k, v) in enumerate(readings)]
    thinner = ClimateThinner()
    batch, kept = thinner.thin(IngestBatch(T0, events=events[:1]))
    thinner.remember(kept)
    rest, _ = thinner.thin(IngestBatch(T0, events=events[1:]))
    assert [e.seq for e in (*batch.events, *rest.events)] == stored
    assert sorted(e.seq for e in (*batch.events, *rest.events, *rest.thinned)) == list(range(len(events)))
    assert sorted(acknowledgements(rest).get(("h1", "gw"), [])) == list(range(1, len(events)))


def test_a_batch_written_again_is_judged_the_same_until_it_is_durable() -> None:
    thinner = ClimateThinner()
    batch = IngestBatch(T0, events=[event(0, Kind.TEMPERATURE, 30.0, 1)])
    first, _ = thinner.thin(batch)  # the store failed: nothing remembered
    again, _ = thinner.thin(batch)
    assert [e.seq for e in first.events] == [e.seq for e in again.events] == [1]


def test_the_store_keeps_the_newest_climate_and_sees_thinned_seqs(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    thinner = ClimateThinner()
    events = [event(m, Kind.TEMPERATURE, 30.0, seq) for seq, m in enumerate((0, 5, 10, 15))]
    events.append(event(16, Kind.HUMIDITY, 61.0, 4))
    batch, kept = thinner.thin(IngestBatch(T0, events=events))
    result = store.commit_batch(batch)
    thinner.remember(kept)
    assert (result.stored, len(batch.thinned), result.gaps_opened) == (3, 2, 0)
    newest = {(r.kind, r.value, r.at) for r in store.climate_since(T0 + timedelta(minutes=14))}
    assert newest == {
        (Kind.TEMPERATURE, 30.0, T0 + timedelta(minutes=15)),
        (Kind.HUMIDITY, 61.0, T0 + timedelta(minutes=16)),
    }
    history = store.climate_readings("h1", T0, T0 + timedelta(hours=1))
    assert [r.at.minute for r in history] == [0, 15, 16]
    assert store.climate_since(T0 + timedelta(minutes=17)) == []
    store.close()


def test_the_configured_interval_and_steps_are_used() -> None:
    thinner = ClimateThinner.configured(ClimateConfig(thin_every_min=5, thin_step_c=1.0))
    readings = [(0, 30.0), (3, 30.5), (5, 30.5), (6, 31.6)]  # 0.5 °C is no step now; 5 min is the interval
    stored = []
    for seq, (minute, value) in enumerate(readings):
        batch, kept = thinner.thin(IngestBatch(T0, events=[event(minute, Kind.TEMPERATURE, value, seq)]))
        thinner.remember(kept)
        stored += [e.seq for e in batch.events]
    assert stored == [0, 2, 3]
