"""Detection and the dashboard over the InfluxDB backend, against a real influxd 1.6
(tests/support/influx_server.py): the line protocol influxdb-client writes goes to the real ``/write``, and
the blocking reader detection and the dashboard use reads it back in InfluxQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dashboard.users import StaffRole, UserStore
from detection.episodes import SqliteEpisodes
from detection.findings import Audience, FindingKind
from detection.live import LiveDetector
from detection.model import FixedProfiles
from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.repository import EscalationRepository
from mimamori import contract
from mimamori.clock import FakeClock
from registry.households_import import import_data
from store.base import ButtonPress, IngestBatch
from store.influx import InfluxEventStore
from store.readers import BlockingInfluxReader
from tests.support.dashboard_fakes import FAST_HASHER, PASSWORD, csrf_of
from tests.support.dashboard_real import HOUSEHOLDS, OWN, cookie_client, dashboard_over
from tests.support.influx_server import RealInflux

pytestmark = pytest.mark.integration

# The adapter's live-state queries look back from the real now: keep the story close to it.


def _morning_before(hours: float) -> datetime:
    """10:00 in Tokyo, at least ``hours`` ago: the fall below happens in the morning whatever the hour
    the test runs (in the evening the same silence is judged as the night, a missed wake-up)."""
    latest = datetime.now(UTC) - timedelta(hours=hours)
    morning = latest.astimezone(ZoneInfo("Asia/Tokyo")).replace(hour=10, minute=0, second=0, microsecond=0)
    return (morning if morning <= latest else morning - timedelta(days=1)).astimezone(UTC)


T0 = _morning_before(30)


def event(
    kind: contract.Kind, value: float, at: datetime, device: str, household: str = "h1"
) -> contract.Event:
    return contract.Event(
        contract.message_id_for(household, device, kind, value, at),
        household,
        "gw-1",
        device,
        kind,
        value,
        at,
        1,
    )


async def write(influx: RealInflux, events: list[contract.Event]) -> None:
    store = influx.store()
    await store.open()
    try:
        for start in range(0, len(events), 500):
            await store.write_batch(IngestBatch(received_at=T0, events=events[start : start + 500]))
    finally:
        await store.close()


@pytest.fixture
async def reader(real_influx: RealInflux) -> AsyncIterator[BlockingInfluxReader]:
    """The blocking reader, straight to the real server (reads need no write shim), opened once the
    store has created the database."""
    store = real_influx.store()
    await store.open()
    await store.close()
    blocking = BlockingInfluxReader(InfluxEventStore(real_influx.server.url, "", "-", real_influx.target))
    await asyncio.to_thread(blocking.open)
    yield blocking
    await asyncio.to_thread(blocking.close)


async def test_the_blocking_reader_answers_like_the_adapter(
    real_influx: RealInflux, reader: BlockingInfluxReader
) -> None:
    history = [
        event(contract.Kind.MOTION, 1, T0, "hall-motion"),
        event(contract.Kind.DOOR, 1, T0 + timedelta(minutes=5), "main-door"),
        event(contract.Kind.BATTERY, 80, T0 + timedelta(minutes=6), "hall-motion"),
        event(contract.Kind.BUTTON, 1, T0 + timedelta(minutes=7), "help-button"),
    ]
    await write(real_influx, history)
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


@pytest.fixture
async def care(tmp_path: Path) -> AsyncIterator[tuple[EscalationRepository, UserStore]]:
    """The alerts state (the registry's households and contacts) and a care manager for OWN."""
    repo = EscalationRepository(tmp_path / "state.sqlite3")
    repo.open()
    report = import_data(repo, HOUSEHOLDS, T0 - timedelta(days=11))
    assert not report.rejected, report.rejected
    users = UserStore(tmp_path / "dashboard.sqlite3", FAST_HASHER)
    users.open()
    users.add_user("alice", "Alice Sato", StaffRole.CARE_MANAGER, PASSWORD, language="en", now=T0)
    users.assign("alice", OWN)
    yield repo, users
    users.close()
    repo.close()


async def test_a_fall_becomes_an_incident_and_the_household_page_shows_its_heat_map(
    real_influx: RealInflux,
    reader: BlockingInfluxReader,
    care: tuple[EscalationRepository, UserStore],
    tmp_path: Path,
    aiohttp_server: Any,
    aiohttp_client: Any,
) -> None:
    """Ten days of motion every 20 minutes, then nothing from T0: the live detector, reading only
    InfluxDB, raises inactivity hours before a 12-hour timer would; the escalation engine opens an
    incident; the care manager's household page shows it beside the heat map read from the roll-ups."""
    repo, users = care
    history = [
        event(
            contract.Kind.MOTION,
            1,
            T0 - timedelta(days=10) + timedelta(minutes=20 * k),
            "kitchen-motion",
            OWN,
        )
        for k in range(10 * 72 + 1)
    ]
    await write(real_influx, history)
    clock = FakeClock(T0 + timedelta(minutes=1))
    detector = LiveDetector(reader, FixedProfiles(), SqliteEpisodes(tmp_path / "episodes.sqlite3"), clock)
    detector.open()
    try:
        found = []
        while clock.now() < T0 + timedelta(hours=12) and not found:
            found = await asyncio.to_thread(detector.tick, clock.now())
            clock.advance(timedelta(minutes=5))
    finally:
        detector.close()
    assert [(f.kind, f.audience, f.household) for f in found] == [
        (FindingKind.INACTIVITY, Audience.COMMUNITY, OWN)
    ]
    assert found[0].last_activity_at == T0
    assert found[0].raised_at - T0 < timedelta(hours=4)
    engine = EscalationEngine(repo, EngineSettings("http://127.0.0.1", b"test-link-secret"))
    incident = engine.open_from_finding(found[0], clock.now())
    assert incident is not None

    server = await aiohttp_server(dashboard_over(repo, users, reader, clock))
    client = await cookie_client(aiohttp_client, server)
    token = csrf_of(await (await client.get("/login")).text())
    signed = await client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert signed.status == 200
    html = await (await client.get(f"/households/{OWN}")).text()
    assert f'id="incident-{incident.id}"' in html
    heat_cells = re.findall(r'<rect [^>]*class="heat l[1-4]"', html)
    assert len(heat_cells) >= 9 * 24  # three motions in every hour of the ten days shown
    assert "kitchen-motion" in html
