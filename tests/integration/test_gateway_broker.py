"""The gateway between two real mosquitto processes: device formats, an upstream outage, backlog vs live."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.mosquitto import MosquittoProcess
from firmware_sim.homes import HouseholdSpec, SimHome
from gateway.native import Reading, encode_reading
from gateway.outbox import Outbox
from gateway.router import Router
from mimamori import contract
from mimamori.clock import FakeClock
from tests.support.harness import mqtt_client, running_gateway, running_ingest, wait_for
from tests.unit.test_gateway_devices import CASES, DEVICES, NOW, PRESENCE

pytestmark = pytest.mark.integration

TOKYO = ZoneInfo("Asia/Tokyo")


def sim_events(household: str, clock: FakeClock, count: int) -> list[tuple[str, bytes, str]]:
    """(topic suffix, payload, message id) of a real home's last day, in the native local format."""
    now = clock.now()
    home = SimHome(HouseholdSpec(household, kit="full"), seed=9, origin=now - timedelta(days=1))
    out = []
    for e in home.events_between(now - timedelta(days=1), now)[:count]:
        topic, payload = encode_reading(Reading(e.device, e.kind, e.value, e.observed_at))
        out.append((topic, payload, e.envelope("gw-1", 0).message_id))
    assert len({m for _, _, m in out}) == count
    return out


async def test_every_device_format_arrives_upstream_as_canonical_events(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    household = topic_prefix
    clock.set(NOW)
    router = Router(devices_by_id=DEVICES, zone=TOKYO, root=f"local/{household}", presence_devices=PRESENCE)
    expected = {(d, k.value, v) for _, _, readings in CASES for d, k, v, _ in readings}
    async with (
        running_ingest(mosquitto, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        running_gateway(mosquitto, household, tmp_path / "outbox.sqlite3", clock, router=router) as gw,
        mqtt_client(mosquitto) as device,
    ):
        for topic, payload, _ in CASES:
            await device.publish(f"local/{household}/{topic}", payload)
        await device.publish(f"local/{household}/zigbee2mqtt/not_ours", b'{"occupancy":true}')
        await device.publish(f"local/{household}/zigbee2mqtt/main_door", b"{garbage")
        await wait_for(lambda: gw.rejected >= 2, gw.progress)
        # two payloads may report the same reading (a Shelly H&T's check-in): one event, deduplicated
        total = len({reading for _, _, readings in CASES for reading in readings})
        await wait_for(lambda: ingest.store.count_events(household) >= total, ingest.service.committed)
        stored = ingest.store.events(household, NOW - timedelta(days=1), NOW + timedelta(minutes=1))
    assert {(e.device, e.kind.value, e.value) for e in stored} == expected
    assert len(stored) == total
    assert dict(router.rejected) == {"unknown_device": 1, "malformed_json": 1}


async def test_upstream_broker_down_and_back_mid_stream_every_event_arrives_once(
    mosquitto: MosquittoProcess,
    own_mosquitto: MosquittoProcess,
    tmp_path: Path,
    clock: FakeClock,
    topic_prefix: str,
) -> None:
    """The home's broker stays up; the platform's broker is stopped for a while and started again."""
    household = topic_prefix
    readings = sim_events(household, clock, 400)
    upstream = own_mosquitto
    async with (
        running_ingest(upstream, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        running_gateway(
            upstream,
            household,
            tmp_path / "outbox.sqlite3",
            clock,
            f"local/{household}",
            local_broker=mosquitto,
        ) as gw,
        mqtt_client(mosquitto) as device,
    ):
        for topic, payload, _ in readings[:150]:
            await device.publish(f"local/{household}/{topic}", payload)
        await wait_for(lambda: ingest.store.count_events(household) >= 100, ingest.service.committed)
        upstream.stop()
        for topic, payload, _ in readings[150:]:
            await device.publish(f"local/{household}/{topic}", payload)
        await wait_for(lambda: gw.counters.readings == len(readings), gw.progress)
        assert gw.counters.forwarded < len(readings)  # the outage held some back
        upstream.start()
        await wait_for(
            lambda: ingest.store.count_events(household) == len(readings), ingest.service.committed, 60
        )
        await wait_for(lambda: gw.counters.forwarded >= len(readings), gw.progress)
        stored = ingest.store.events(household, clock.now() - timedelta(days=2), clock.now())
    assert sorted(e.message_id for e in stored) == sorted(m for _, _, m in readings)
    assert gw.rejected == 0


async def test_a_backlog_drains_at_its_rate_while_live_events_go_straight_through(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    household = topic_prefix
    readings = sim_events(household, clock, 301)
    backlog, (live_topic, live_payload, live_id) = readings[:300], readings[300]
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.open()
    events_topic = contract.topic(household, "gw-1", contract.Channel.EVENTS)
    router = Router(devices_by_id={}, zone=TOKYO, native_prefix=f"local/{household}")

    def envelope(item: tuple[str, bytes, str], seq: int) -> bytes:
        (reading,) = router.handle(f"local/{household}/{item[0]}", item[1], clock.now())
        return contract.Event(
            item[2], household, "gw-1", reading.device, reading.kind, reading.value,
            reading.observed_at, seq,
        ).encode()  # fmt: skip

    outbox.put_many(events_topic, backlog, envelope)
    outbox.close()
    async with (
        running_ingest(mosquitto, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        running_gateway(
            mosquitto,
            household,
            tmp_path / "outbox.sqlite3",
            clock,
            f"local/{household}",
            drain_rate_per_s=60,
            publish_window=20,
        ) as gw,  # fmt: skip
        mqtt_client(mosquitto) as device,
    ):
        await device.publish(f"local/{household}/{live_topic}", live_payload)

        def ids() -> set[str]:
            since = clock.now() - timedelta(days=2)
            return {e.message_id for e in ingest.store.events(household, since, clock.now())}

        await wait_for(lambda: live_id in ids(), ingest.service.committed)
        # The live reading is through while most of the backlog still waits its turn.
        assert ingest.store.count_events(household) < 150
        assert gw.counters.forwarded < 150
        await wait_for(lambda: ingest.store.count_events(household) == 301, ingest.service.committed, 30)
        assert ids() == {m for _, _, m in readings}


@pytest.mark.allow_error_logs
async def test_an_event_the_broker_would_refuse_is_dead_lettered_and_the_rest_is_acknowledged(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    household = topic_prefix
    readings = sim_events(household, clock, 20)
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    outbox.open()
    events_topic = contract.topic(household, "gw-1", contract.Channel.EVENTS)
    router = Router(devices_by_id={}, zone=TOKYO, native_prefix=f"local/{household}")

    def envelope(item: tuple[str, bytes, str], seq: int) -> bytes:
        if item[2] == "huge":
            return b"x" * (contract.MAX_MESSAGE_BYTES + 1)
        (reading,) = router.handle(f"local/{household}/{item[0]}", item[1], clock.now())
        return contract.Event(
            item[2], household, "gw-1", reading.device, reading.kind, reading.value,
            reading.observed_at, seq,
        ).encode()  # fmt: skip

    outbox.put_many(events_topic, [*readings[:10], ("", b"", "huge"), *readings[10:]], envelope)
    outbox.close()
    async with (
        running_ingest(mosquitto, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        running_gateway(mosquitto, household, tmp_path / "outbox.sqlite3", clock, f"local/{household}") as gw,
    ):
        await wait_for(lambda: gw.counters.forwarded == 20, gw.progress, 30)
        assert ingest.store.count_events(household) == 20
        assert gw.counters.dead_lettered == 1
        assert gw.counters.republished == 0
    reopened = Outbox(tmp_path / "outbox.sqlite3")
    reopened.open()
    assert reopened.depth() == 0  # every stored event acknowledged by ingest, end to end
    [(topic, payload, reason)] = reopened.dead_letters()
    reopened.close()
    assert (topic, len(payload)) == (events_topic, contract.MAX_MESSAGE_BYTES + 1)
    assert reason.startswith("oversize")


@pytest.mark.allow_error_logs
async def test_events_nobody_acknowledges_end_to_end_stay_in_the_outbox_and_go_out_again(
    mosquitto: MosquittoProcess,
    tmp_path: Path,
    clock: FakeClock,
    topic_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broker PUBACK is not enough: without ingest's acknowledgement (no ingest here, only a
    subscriber), the rows stay, are sent again after ack_timeout, and the silence is told at ERROR."""
    household = topic_prefix
    readings = sim_events(household, clock, 5)
    async with (
        mqtt_client(mosquitto) as watcher,
        running_gateway(
            mosquitto,
            household,
            tmp_path / "outbox.sqlite3",
            clock,
            f"local/{household}",
            ack_timeout=timedelta(seconds=0.5),
        ) as gw,  # fmt: skip
        mqtt_client(mosquitto) as device,
    ):
        await watcher.subscribe(contract.subscription(contract.Channel.EVENTS, household))
        for topic, payload, _ in readings:
            await device.publish(f"local/{household}/{topic}", payload)
        await wait_for(lambda: gw.counters.republished >= len(readings), gw.progress, 20)
        assert gw.counters.forwarded == 0
        received = []
        while len(received) < 2 * len(readings):  # each event seen twice by the broker's subscriber
            received += await asyncio.wait_for(watcher.next_batch(100), 10)
    reopened = Outbox(tmp_path / "outbox.sqlite3")
    reopened.open()
    assert reopened.depth() == len(readings)
    reopened.close()
    told = [r for r in caplog.records if r.getMessage().startswith("gateway.no_acks_from_ingest")]
    assert [r.levelname for r in told] == ["ERROR"]  # once, not on every round


async def test_a_gateway_stops_when_asked_even_as_work_arrives(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    """Python 3.11's ``asyncio.wait_for`` swallows a cancellation that lands as its awaitable completes:
    a gateway waiting on ingest's acknowledgement then never stopped (a test hung for three minutes)."""
    household = topic_prefix
    events_topic = contract.topic(household, "gw-1", contract.Channel.EVENTS)
    ((suffix, payload, _),) = sim_events(household, clock, 1)
    async with mqtt_client(mosquitto) as upstream, mqtt_client(mosquitto) as device:
        await upstream.subscribe(events_topic)  # takes the events, acknowledges none: rows wait
        for attempt in range(10):  # before the fix, the first stop already hung (pytest-timeout fails it)
            async with running_gateway(
                mosquitto, household, tmp_path / f"outbox-{attempt}.sqlite3", clock, f"local/{household}"
            ) as gw:
                await device.publish(f"local/{household}/{suffix}", payload)
                await wait_for(lambda gw=gw: gw.counters.received == 1 and bool(gw._awaiting), gw.progress)
                gw._has_work.set()  # work arrives in the very step the gateway is told to stop
