"""Detection and the dashboard over the InfluxDB backend: the blocking reader against the look-alike
server (tests/integration/influx_fake.py), through the real influxdb-client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from detection.episodes import SqliteEpisodes
from detection.findings import Audience, FindingKind
from detection.live import LiveDetector
from detection.model import FixedProfiles
from mimamori import contract
from mimamori.clock import FakeClock
from store.base import ButtonPress, IngestBatch
from store.influx import InfluxEventStore
from store.readers import BlockingInfluxReader
from tests.integration.influx_fake import FakeInflux

pytestmark = pytest.mark.integration

TOKEN, ORG, BUCKET = "test-token-s3cret", "mimamori", "events"
# The adapter's live-state queries look back from the real now: keep the story close to it.
T0 = (datetime.now(UTC) - timedelta(hours=30)).replace(microsecond=0)


def event(kind: contract.Kind, value: float, at: datetime, device: str) -> contract.Event:
    return contract.Event(
        contract.message_id_for("h1", device, kind, value, at), "h1", "gw-1", device, kind, value, at, 1
    )


@pytest.fixture
async def influx_url() -> AsyncIterator[str]:
    server = TestServer(FakeInflux(TOKEN, ORG, BUCKET).app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def write(url: str, events: list[contract.Event]) -> None:
    store = InfluxEventStore(url, TOKEN, ORG, BUCKET)
    await store.open()
    try:
        await store.write_batch(IngestBatch(received_at=T0, events=events))
    finally:
        await store.close()


async def blocking_reader(url: str) -> BlockingInfluxReader:
    reader = BlockingInfluxReader(InfluxEventStore(url, TOKEN, ORG, BUCKET))
    # Every blocking call runs off this test's loop, which also serves the look-alike server.
    await asyncio.to_thread(reader.open)
    return reader


async def test_the_blocking_reader_answers_like_the_adapter(influx_url: str) -> None:
    history = [
        event(contract.Kind.MOTION, 1, T0, "hall-motion"),
        event(contract.Kind.DOOR, 1, T0 + timedelta(minutes=5), "main-door"),
        event(contract.Kind.BATTERY, 80, T0 + timedelta(minutes=6), "hall-motion"),
        event(contract.Kind.BUTTON, 1, T0 + timedelta(minutes=7), "help-button"),
    ]
    await write(influx_url, history)
    reader = await blocking_reader(influx_url)
    try:
        window = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        assert await asyncio.to_thread(reader.events, "h1", *window) == history
        assert await asyncio.to_thread(reader.activity_times, "h1", *window) == [
            T0,
            T0 + timedelta(minutes=5),
            T0 + timedelta(minutes=7),
        ]
        [live] = await asyncio.to_thread(reader.household_activity)
        assert (live.household, live.last_activity_at, live.last_activity_device) == (
            "h1",
            T0 + timedelta(minutes=7),
            "help-button",
        )
        devices = await asyncio.to_thread(reader.devices, "h1")
        assert [(d.device, d.battery) for d in devices] == [
            ("hall-motion", 80.0),
            ("help-button", None),
            ("main-door", None),
        ]
        assert await asyncio.to_thread(reader.devices_of, ["h1", "h2"]) == {"h1": devices}
        assert await asyncio.to_thread(reader.button_presses, T0) == [
            ButtonPress("h1", "help-button", T0 + timedelta(minutes=7))
        ]
        assert await asyncio.to_thread(reader.button_presses, T0 + timedelta(minutes=8)) == []
    finally:
        await asyncio.to_thread(reader.close)


async def test_a_fall_is_detected_from_influxdb(influx_url: str, tmp_path: Path) -> None:
    """Ten days of motion every 20 minutes, then nothing from T0: the live detector, reading only
    the InfluxDB bucket, raises inactivity once, hours before a 12-hour timer would."""
    history = [
        event(contract.Kind.MOTION, 1, T0 - timedelta(days=10) + timedelta(minutes=20 * k), "kitchen-motion")
        for k in range(10 * 72 + 1)
    ]
    await write(influx_url, history)
    reader = await blocking_reader(influx_url)
    clock = FakeClock(T0 + timedelta(minutes=1))
    detector = LiveDetector(reader, FixedProfiles(), SqliteEpisodes(tmp_path / "state.sqlite3"), clock)
    detector.open()
    try:
        found = []
        while clock.now() < T0 + timedelta(hours=12) and not found:
            found = await asyncio.to_thread(detector.tick, clock.now())
            clock.advance(timedelta(minutes=5))
        assert [(f.kind, f.audience) for f in found] == [(FindingKind.INACTIVITY, Audience.COMMUNITY)]
        assert found[0].last_activity_at == T0
        assert found[0].raised_at - T0 < timedelta(hours=4)
    finally:
        detector.close()
        await asyncio.to_thread(reader.close)
