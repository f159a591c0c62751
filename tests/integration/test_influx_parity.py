"""The InfluxDB store answers as the SQLite store does: a simulated week of 20 homes (firmware_sim,
with random incidents and device faults, duplicates included), written batch by batch to both, then
every read detection and the dashboard make compared, against a real influxd 1.6."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firmware_sim.events import SimEvent
from firmware_sim.simulate import build_homes, random_scenarios
from mimamori.contract import GatewayState, GatewayStatus, Heartbeat
from store.base import ButtonPress, IngestBatch
from store.influx import InfluxEventStore
from store.sqlite import SqliteEventStore
from tests.support.influx_server import RealInflux

pytestmark = pytest.mark.integration

HOMES, DAYS, SEED = 20, 7, 17
# The InfluxDB live-state reads look back 30 days from the real now: the week ends an hour ago.
END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
START = END - timedelta(days=DAYS)


def week() -> list[IngestBatch]:
    """One batch per simulated hour, as ingest would take them: the hour's events in sending order,
    gateway heartbeats every hour, and a gateway going offline and coming back."""
    first_day = (START - timedelta(days=1)).date()
    homes = build_homes(HOMES, SEED, first_day)
    homes = build_homes(HOMES, SEED, first_day, random_scenarios(homes, first_day, DAYS + 1, SEED, 12))
    by_hour: dict[datetime, list[SimEvent]] = {}
    for home in homes:
        for e in home.events_between(START, END):
            hour = datetime.fromtimestamp(e.at // 3_600_000 * 3600, UTC)
            by_hour.setdefault(hour, []).append(e)
    batches = []
    seq: dict[str, int] = {}
    hour = START
    while hour < END:
        received = hour + timedelta(minutes=59, seconds=59)
        events = []
        for e in sorted(by_hour.get(hour, []), key=lambda e: e.at):
            seq[e.household] = seq.get(e.household, 0) + 1
            events.append(e.envelope("gw-1", seq[e.household]))
        beats = [Heartbeat(h.household, "gw-1", hour + timedelta(minutes=30), 1, 0) for h in homes[1:]]
        statuses = []
        if hour == START:
            statuses = [GatewayStatus(h.household, "gw-1", GatewayState.ONLINE, hour) for h in homes[:10]]
        elif hour == START + timedelta(days=2):  # home 3 goes away and comes back, home 4 stays away
            statuses = [
                GatewayStatus(homes[2].household, "gw-1", GatewayState.OFFLINE, hour),
                GatewayStatus(homes[3].household, "gw-1", GatewayState.OFFLINE, hour),
                GatewayStatus(homes[5].household, "gw-1", GatewayState.ONLINE, hour),  # no change
            ]
        elif hour == START + timedelta(days=3):
            statuses = [GatewayStatus(homes[2].household, "gw-1", GatewayState.ONLINE, hour)]
        batches.append(IngestBatch(received, events=events, statuses=statuses, heartbeats=beats))
        hour += timedelta(hours=1)
    return batches


@pytest.fixture
async def both(
    real_influx: RealInflux, tmp_path: Path
) -> AsyncIterator[tuple[SqliteEventStore, InfluxEventStore]]:
    sqlite = SqliteEventStore(tmp_path / "events.sqlite3", synchronous="normal")
    sqlite.open()
    influx = real_influx.store()
    await influx.open()
    batches = await asyncio.to_thread(week)
    try:
        for batch in batches:
            await asyncio.to_thread(sqlite.commit_batch, batch)
            await influx.write_batch(batch)
        yield sqlite, influx
    finally:
        await influx.close()
        sqlite.close()


def newest_press(presses: list[ButtonPress]) -> dict[tuple[str, str], datetime]:
    return {(p.household, p.device): p.pressed_at for p in presses}


async def test_a_simulated_week_of_20_homes_reads_the_same_from_both_stores(
    both: tuple[SqliteEventStore, InfluxEventStore],
) -> None:
    sqlite, influx = both
    households = [h.household for h in sqlite.household_activity()]
    assert len(households) == HOMES
    assert await influx.household_activity() == sqlite.household_activity()
    assert await influx.count_events() == sqlite.count_events() > 40_000
    assert await influx.devices_of(households) == sqlite.devices_of(households)
    assert await influx.gateways() == sqlite.gateways()
    assert await influx.gateway_summary() == sqlite.gateway_summary()
    assert [g.household for g in sqlite.gateway_summary().offline] == [households[3]]
    seen_by = END - timedelta(hours=6)
    suspects = sqlite.device_suspects(households, 50.0, seen_by)
    assert 0 < len(suspects) < HOMES, "some batteries are at or below 50 %"
    assert await influx.device_suspects(households, 50.0, seen_by) == suspects
    presses = sqlite.button_presses(START)
    assert presses, "the simulated week has a help-button press"
    assert newest_press(await influx.button_presses(START)) == newest_press(presses)
    for household in households:
        assert await influx.count_events(household) == sqlite.count_events(household), household
        assert await influx.devices(household) == sqlite.devices(household), household
        assert await influx.gateways(household) == sqlite.gateways(household), household
        window = (START - timedelta(hours=1), END + timedelta(hours=1))
        assert await influx.hourly_activity(household, *window) == sqlite.hourly_activity(household, *window)
        assert await influx.activity_times(household, *window) == sqlite.activity_times(household, *window)
        day = (END - timedelta(days=1, minutes=30), END - timedelta(minutes=30))
        assert await influx.events(household, *day) == sqlite.events(household, *day), household
