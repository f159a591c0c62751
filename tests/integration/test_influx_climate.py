"""Room climate over the InfluxDB backend, against a real influxd 1.6 (tests/support/influx_server.py):
readings written by ingest's store are read back by the climate reads, and the live climate watch
raises a heat finding from InfluxDB alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detection.episodes import SqliteEpisodes
from detection.findings import FindingKind, Severity
from detection.live import LiveDetector
from detection.model import FixedProfiles
from mimamori.clock import FakeClock
from mimamori.contract import Event, Kind, message_id_for
from store.base import Calm, ClimateReading, IngestBatch
from store.influx import InfluxEventStore
from store.readers import BlockingInfluxReader
from tests.support.influx_server import RealInflux

pytestmark = pytest.mark.integration

# The first read looks back 30 days from the server's now: keep the readings close to it.
T0 = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)


def reading(device: str, kind: Kind, value: float, at: datetime) -> Event:
    return Event(message_id_for("h1", device, kind, value, at), "h1", "gw-1", device, kind, value, at, 1)


def hot_afternoon(start: datetime, steps: int) -> list[Event]:
    """The living room at 危険 (36 °C, 70 %) and the bathroom calm, every 5 minutes: all four readings
    of an instant at the same millisecond."""
    return [
        e
        for k in range(steps)
        for e in (
            reading("living-temp", Kind.HUMIDITY, 70, start + timedelta(minutes=5 * k)),
            reading("living-temp", Kind.TEMPERATURE, 36.0, start + timedelta(minutes=5 * k)),
            reading("bathroom-temp", Kind.HUMIDITY, 80, start + timedelta(minutes=5 * k)),
            reading("bathroom-temp", Kind.TEMPERATURE, 24.0, start + timedelta(minutes=5 * k)),
        )
    ]


@pytest.fixture
async def reader(real_influx: RealInflux) -> AsyncIterator[BlockingInfluxReader]:
    """Three instants of the hot afternoon written through the store ingest uses, and the blocking
    reader detection and the dashboard use, straight to the real server."""
    store = real_influx.store()
    await store.open()
    try:
        await store.write_batch(IngestBatch(received_at=T0, events=hot_afternoon(T0, 3)))
    finally:
        await store.close()
    blocking = BlockingInfluxReader(InfluxEventStore(real_influx.server.url, "", "-", real_influx.target))
    await asyncio.to_thread(blocking.open)
    yield blocking
    await asyncio.to_thread(blocking.close)


async def test_climate_readings_of_sensors_at_the_same_millisecond_are_read_back(
    reader: BlockingInfluxReader,
) -> None:
    history = await asyncio.to_thread(reader.climate_readings, "h1", T0, T0 + timedelta(hours=1))
    assert history == [
        ClimateReading("h1", e.device, e.kind, e.value, e.observed_at)
        for e in sorted(
            hot_afternoon(T0, 3), key=lambda e: (e.observed_at, e.device, e.kind is Kind.TEMPERATURE)
        )
    ]
    newest = await asyncio.to_thread(reader.climate_since, T0 + timedelta(minutes=10))
    assert {(r.device, r.kind, r.value) for r in newest} == {
        ("living-temp", Kind.TEMPERATURE, 36.0),
        ("living-temp", Kind.HUMIDITY, 70.0),
        ("bathroom-temp", Kind.TEMPERATURE, 24.0),
        ("bathroom-temp", Kind.HUMIDITY, 80.0),
    }
    # Calm sensors (neither near 厳重警戒 nor cold) are left out unless their home is watched.
    changes = await asyncio.to_thread(reader.climate_changes, None, (), Calm(10.0, 27.5))
    assert sorted((r[1], r[2], r[3]) for r in changes.rows) == [
        ("living-temp", "humidity", 70.0),
        ("living-temp", "temperature", 36.0),
    ]
    assert changes.cursor == round((T0 + timedelta(minutes=10)).timestamp() * 1000)
    watched = await asyncio.to_thread(reader.climate_changes, changes.cursor, ["h1"], Calm(10.0, 27.5))
    assert len(watched.rows) == 4


async def test_the_live_climate_watch_raises_heat_from_influxdb(
    reader: BlockingInfluxReader, tmp_path: Path
) -> None:
    clock = FakeClock(T0 + timedelta(minutes=11))
    detector = LiveDetector(reader, FixedProfiles(), SqliteEpisodes(tmp_path / "episodes.sqlite3"), clock)
    assert detector.climate is not None
    detector.open()
    try:
        await asyncio.to_thread(detector.tick, clock.now())
        found = await asyncio.to_thread(detector.climate_tick, clock.now())
    finally:
        detector.close()
    heat = [f for f in found if f.kind is FindingKind.HEAT]
    assert [(f.household, f.severity, f.device) for f in heat] == [("h1", Severity.URGENT, "living-temp")]
    assert heat[0].explanation.params["temp_c"] == 36
