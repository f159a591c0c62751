"""Ingest in-process against a real mosquitto: dedup, rejections, live state, the share group."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import timedelta
from pathlib import Path

import aiohttp
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from app.mosquitto import MosquittoProcess
from mimamori import contract
from mimamori.clock import FakeClock
from tests.support.harness import mqtt_client, running_ingest, wait_for

pytestmark = pytest.mark.integration


def event(
    household: str, n: int, clock: FakeClock, kind: contract.Kind = contract.Kind.MOTION
) -> contract.Event:
    return contract.Event(
        message_id=f"{household}-{n:06d}",
        household=household,
        gateway="gw-1",
        device="hall-motion",
        kind=kind,
        value=1,
        observed_at=clock.now() - timedelta(minutes=30) + timedelta(seconds=n),
        seq=n,
    )


async def test_redelivered_and_repeated_events_are_stored_once(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    household = topic_prefix
    topic = contract.topic(household, "gw-1", contract.Channel.EVENTS)
    events = [event(household, n, clock) for n in range(50)]
    async with (
        running_ingest(mosquitto, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        mqtt_client(mosquitto) as publisher,
    ):
        for e in events + events[:20] + events[:5]:
            await publisher.publish(topic, e.encode())
        # Count events only: retained status messages of other tests also arrive.
        counters = ingest.service.counters
        await wait_for(lambda: counters.stored + counters.duplicates >= 75, ingest.service.committed)
        assert ingest.store.count_events(household) == 50
        assert ingest.service.counters.duplicates == 25
        (hour_count,) = {
            sum(
                h.count
                for h in ingest.store.hourly_activity(
                    household, clock.now() - timedelta(hours=2), clock.now()
                )
            )
        }
        assert hour_count == 50  # roll-ups are not inflated by duplicates
        metrics = ingest.service.metrics.render().decode()
    assert "mimamori_ingest_events_stored_total 50.0" in metrics
    assert "mimamori_ingest_events_duplicate_total 25.0" in metrics


async def test_rejections_are_counted_kept_and_served_as_metrics(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    from ingest.metrics import MetricsServer

    household = topic_prefix
    topic = contract.topic(household, "gw-1", contract.Channel.EVENTS)
    good = event(household, 1, clock)
    spoofed = json.loads(good.encode()) | {"household": "someone-else", "id": "spoofed0001"}
    future = json.loads(event(household, 2, clock).encode()) | {
        "observed_at": contract.format_time(clock.now() + timedelta(hours=1))
    }
    async with (
        running_ingest(mosquitto, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        mqtt_client(mosquitto) as publisher,
    ):
        server = MetricsServer(ingest.service.metrics, "127.0.0.1", 0)
        await server.start()
        try:
            for payload in (
                b"\xff\xfe garbage",
                json.dumps(spoofed).encode(),
                b"{" * 4000,
                json.dumps(future).encode(),
            ):
                await publisher.publish(topic, payload)
            await publisher.publish(topic, good.encode())
            await wait_for(lambda: ingest.store.count_events(household) == 1, ingest.service.committed)
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{server.port}/metrics") as resp,
            ):
                assert resp.status == 200
                text = await resp.text()
        finally:
            await server.stop()
        letters = ingest.store.dead_letters()
    assert dict(ingest.service.counters.rejected) == {
        "malformed_json": 1,
        "topic_mismatch": 1,
        "oversize": 1,
        "future_timestamp": 1,
    }
    for reason in ("malformed_json", "topic_mismatch", "oversize", "future_timestamp"):
        assert f'mimamori_ingest_rejected_total{{reason="{reason}"}} 1.0' in text
    assert "mimamori_ingest_queue_depth" in text
    assert {r.reason for r in letters} == {"malformed_json", "topic_mismatch", "oversize", "future_timestamp"}
    assert next(r for r in letters if r.reason == "topic_mismatch").payload == json.dumps(spoofed).encode()


async def test_live_state_from_events_heartbeats_and_a_real_last_will(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    household = topic_prefix
    status_topic = contract.topic(household, "gw-1", contract.Channel.STATUS)
    online = contract.GatewayStatus(household, "gw-1", contract.GatewayState.ONLINE, clock.now())
    will = contract.GatewayStatus(household, "gw-1", contract.GatewayState.OFFLINE, clock.now())
    gateway = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{household}", protocol=paho.MQTTv5)
    gateway.will_set(status_topic, will.encode(), qos=1, retain=True)
    async with (
        running_ingest(mosquitto, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        mqtt_client(mosquitto) as publisher,
    ):
        gateway.connect("127.0.0.1", mosquitto.port)
        gateway.loop_start()
        gateway.publish(status_topic, online.encode(), qos=1, retain=True).wait_for_publish(10)
        beat = contract.Heartbeat(household, "gw-1", clock.now(), 1, 4)
        await publisher.publish(contract.topic(household, "gw-1", contract.Channel.HEARTBEAT), beat.encode())
        late = event(household, 1, clock)
        newest = event(household, 100, clock)
        battery = contract.Event(
            f"{household}-bat", household, "gw-1", "hall-motion", contract.Kind.BATTERY, 35, clock.now(), 101
        )
        for e in (newest, late, battery):
            await publisher.publish(contract.topic(household, "gw-1", contract.Channel.EVENTS), e.encode())

        def online_seen() -> bool:
            gws = ingest.store.gateways(household)
            return (
                bool(gws)
                and gws[0].state is contract.GatewayState.ONLINE
                and gws[0].last_heartbeat_at is not None
            )

        await wait_for(
            lambda: ingest.store.count_events(household) == 3 and online_seen(), ingest.service.committed
        )
        # The gateway vanishes without DISCONNECT: the broker publishes its Last Will.
        gateway.loop_stop()
        sock = gateway.socket()
        assert isinstance(sock, socket.socket)
        sock.close()

        def offline_seen() -> bool:
            return ingest.store.gateways(household)[0].state is contract.GatewayState.OFFLINE

        await wait_for(offline_seen, ingest.service.committed)
        (house,) = [h for h in ingest.store.household_activity() if h.household == household]
        (device,) = ingest.store.devices(household)
        (gw,) = ingest.store.gateways(household)
    assert house.last_activity_at == newest.observed_at
    assert house.last_event_at == clock.now()
    assert (device.battery, device.last_value, device.last_seen_at) == (35, 1, clock.now())
    assert gw.last_heartbeat_at == clock.now()


async def test_two_workers_in_a_share_group_store_every_event_exactly_once(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    households = [f"{topic_prefix}-{n}" for n in range(4)]
    events = [event(h, n, clock) for h in households for n in range(150)]
    group = topic_prefix
    async with (
        running_ingest(mosquitto, tmp_path / "a.sqlite3", clock, group=group, client_id=f"{group}-a") as a,
        running_ingest(mosquitto, tmp_path / "b.sqlite3", clock, group=group, client_id=f"{group}-b") as b,
        mqtt_client(mosquitto) as publisher,
    ):
        for e in events:
            publisher.publish_nowait(contract.topic(e.household, "gw-1", contract.Channel.EVENTS), e.encode())
        await publisher.publish(
            contract.topic(households[0], "gw-1", contract.Channel.EVENTS), events[0].encode()
        )

        def all_in() -> bool:
            done = a.service.counters, b.service.counters
            return sum(c.stored + c.duplicates for c in done) >= len(events) + 1

        # The last batch commits on either worker; wait on both.
        waits = [asyncio.create_task(wait_for(all_in, w.service.committed)) for w in (a, b)]
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
        ids_a = {
            e.message_id
            for h in households
            for e in a.store.events(h, clock.now() - timedelta(days=1), clock.now())
        }
        ids_b = {
            e.message_id
            for h in households
            for e in b.store.events(h, clock.now() - timedelta(days=1), clock.now())
        }
    assert ids_a, "the share group did not split the load"
    assert ids_b, "the share group did not split the load"
    # The one repeated event may land on either worker; every other one is on exactly one.
    assert ids_a | ids_b == {e.message_id for e in events}
    assert ids_a & ids_b <= {events[0].message_id}
    assert a.service.counters.stored + b.service.counters.stored - len(ids_a & ids_b) == len(events)
