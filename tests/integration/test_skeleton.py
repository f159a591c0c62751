"""The walking skeleton, end to end through a real mosquitto: sim → gateway → broker → ingest → SQLite."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from app.mosquitto import MosquittoProcess
from firmware_sim.homes import HouseholdSpec, SimHome
from gateway.native import Reading, encode_reading
from mimamori import contract
from mimamori.clock import FakeClock
from tests.support.harness import mqtt_client, running_gateway, running_ingest, wait_for

pytestmark = pytest.mark.integration

N = 300


async def test_every_published_reading_is_stored_exactly_once(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    household = topic_prefix
    now = clock.now()
    home = SimHome(HouseholdSpec(household, kit="full"), seed=3, origin=now - timedelta(days=1))
    readings = [
        Reading(e.device, e.kind, e.value, e.observed_at)
        for e in home.events_between(now - timedelta(days=1), now)[:N]
    ]
    expected_ids = {
        contract.message_id_for(household, r.device, r.kind, r.value, r.observed_at) for r in readings
    }
    assert len(expected_ids) == N
    async with (
        running_ingest(mosquitto, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        running_gateway(mosquitto, household, tmp_path / "outbox.sqlite3", clock, f"local/{household}") as gw,
        mqtt_client(mosquitto) as sim,
    ):
        for reading in readings:
            suffix, payload = encode_reading(reading)
            await sim.publish(f"local/{household}/{suffix}", payload)
        # The device repeats its last ten readings (a real fault): same content, same id, stored once.
        for reading in readings[-10:]:
            suffix, payload = encode_reading(reading)
            await sim.publish(f"local/{household}/{suffix}", payload)
        # received also counts the gateway's status and heartbeats: wait on what the events became.
        counters = ingest.service.counters
        await wait_for(lambda: counters.stored + counters.duplicates >= N + 10, ingest.service.committed)
        assert gw.rejected == 0
        assert ingest.store.count_events(household) == N
    assert ingest.service.counters.duplicates == 10
    assert not ingest.service.counters.rejected


async def test_bad_messages_are_counted_and_the_next_good_one_flows(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    household = topic_prefix
    events_topic = contract.topic(household, "gw-1", contract.Channel.EVENTS)
    good = contract.Event(
        message_id="goodgoodgood0001",
        household=household,
        gateway="gw-1",
        device="hall-motion",
        kind=contract.Kind.MOTION,
        value=1,
        observed_at=clock.now(),
        seq=1,
    )
    spoofed = json.loads(good.encode())
    spoofed["household"] = "someone-else"
    async with (
        running_ingest(mosquitto, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        mqtt_client(mosquitto) as publisher,
    ):
        await publisher.publish(events_topic, b"{not json")
        await publisher.publish(events_topic, json.dumps(spoofed).encode())
        await publisher.publish(events_topic, b"x" * 5000)
        await publisher.publish(events_topic, good.encode())
        await wait_for(lambda: ingest.store.count_events(household) == 1, ingest.service.committed)
        await wait_for(lambda: sum(ingest.service.counters.rejected.values()) >= 3, ingest.service.committed)
    assert dict(ingest.service.counters.rejected) == {"malformed_json": 1, "topic_mismatch": 1, "oversize": 1}
