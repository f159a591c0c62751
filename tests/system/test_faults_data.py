"""System faults on the data path, with real processes: three registered homes' gateways (subprocesses,
each behind its own uplink), a home broker and a platform broker (mosquitto, saving its persistence
only every minute, as in production), ingest (subprocess) into SQLite.

1. During steady traffic the platform broker restarts, ingest is SIGKILLed and restarted, and one
   home's internet is cut for two simulated hours. Afterwards every reading is stored exactly once,
   and the cut home was announced offline by its Last Will, then online again.
2. The platform broker is SIGKILLed mid-stream, holding readings it had acknowledged to the gateways
   (PUBACK) but not yet handed to ingest nor saved: the gateways still hold them until ingest says they
   are stored, send them again, and every reading is stored exactly once; the outboxes end empty."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.mosquitto import MosquittoProcess
from firmware_sim.events import SimEvent
from firmware_sim.formats import encode
from firmware_sim.homes import SimHome
from firmware_sim.network import NetworkLink
from firmware_sim.simulate import build_homes
from mimamori import contract
from mimamori.mqtt import MqttClient, settings_for
from registry.models import Household
from registry.repository import Registry
from tests.support.processes import MimamoriProcess

pytestmark = pytest.mark.integration

HOUSEHOLDS = ("fault-a", "fault-b", "fault-c")
CUT_HOME = "fault-b"


@dataclass
class DataPath:
    tmp: Path
    home_broker: MosquittoProcess
    platform_broker: MosquittoProcess
    links: dict[str, NetworkLink]
    gateways: dict[str, MimamoriProcess]
    ingest: MimamoriProcess
    store_path: Path

    def stored_ids(self) -> set[str]:
        with sqlite3.connect(self.store_path) as db:
            return {row[0] for row in db.execute("SELECT message_id FROM events")}

    def outbox_depths(self) -> dict[str, int]:
        depths = {}
        for household in HOUSEHOLDS:
            with sqlite3.connect(self.tmp / f"{household}-outbox.sqlite3") as db:
                depths[household] = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        return depths


def ingest_config(tmp: Path, platform: MosquittoProcess, store: Path) -> Path:
    """Ingest with the registry of the three homes (each with its one gateway)."""
    registry = Registry(tmp / "state.sqlite3")
    registry.open()
    for household in HOUSEHOLDS:
        registry.upsert_household(Household(household, household, ""))
        registry.set_gateways(household, ["gw-1"])
    registry.close()
    path = tmp / "ingest.toml"
    path.write_text(
        f'[broker]\nport = {platform.port}\n[store]\nsqlite_path = "{store}"\n'
        f'[ingest]\nclient_id = "sys-ingest"\nshare_group = "sys"\nmetrics_port = 0\n'
        f'[alerts]\nstate_path = "{tmp / "state.sqlite3"}"\n'
    )
    return path


def gateway_config(tmp: Path, household: str, link: NetworkLink, home: MosquittoProcess) -> Path:
    path = tmp / f"gateway-{household}.toml"
    path.write_text(
        f"[broker]\nport = {link.port}\nkeepalive_s = 5\n"
        f'[gateway]\nhousehold = "{household}"\ngateway = "gw-1"\n'
        f'outbox_path = "{tmp / household}-outbox.sqlite3"\nlocal_port = {home.port}\n'
        f'local_root = "home/{household}"\nheartbeat_s = 5\ndrain_rate_per_s = 1000.0\nack_timeout_s = 5\n'
    )
    return path


@pytest.fixture
async def data_path(tmp_path: Path) -> AsyncIterator[DataPath]:
    home = MosquittoProcess(tmp_path / "home-broker")
    platform = MosquittoProcess(tmp_path / "platform-broker", autosave_interval_s=60)
    home.start()
    platform.start()
    store = tmp_path / "events.sqlite3"
    ingest = MimamoriProcess("ingest", "ingest", "--config", str(ingest_config(tmp_path, platform, store)))
    links: dict[str, NetworkLink] = {}
    gateways: dict[str, MimamoriProcess] = {}
    try:
        for household in HOUSEHOLDS:
            link = links[household] = NetworkLink("127.0.0.1", platform.port)
            await link.start()
            config = gateway_config(tmp_path, household, link, home)
            gateways[household] = MimamoriProcess(household, "gateway", "--config", str(config))
        # the four processes start side by side (each waits for its own ready line)
        await asyncio.gather(
            ingest.start("ingest.ready"), *(gateway.start("gateway.online") for gateway in gateways.values())
        )
        yield DataPath(tmp_path, home, platform, links, gateways, ingest, store)
    finally:
        for process in (*gateways.values(), ingest):
            await process.kill()
        for link in links.values():
            await link.stop()
        platform.kill()
        home.kill()


def day_of_readings(now: datetime) -> tuple[list[SimHome], list[SimEvent]]:
    """The last day of three simulated homes, ending an hour ago (inside the contract's window)."""
    start = (now - timedelta(days=1, hours=1)).date()
    homes = build_homes(list(HOUSEHOLDS), seed=11, start=start)
    events = sorted(
        (e for home in homes for e in home.events_between(now - timedelta(days=1), now - timedelta(hours=1))),
        key=lambda e: e.at,
    )
    return homes, events


async def publish(home_broker: MqttClient, homes: Sequence[SimHome], events: Sequence[SimEvent]) -> None:
    zones = {home.household: home.zone for home in homes}
    acks = [
        home_broker.publish_nowait(topic, payload)
        for event in events
        for topic, payload in encode(event, f"home/{event.household}", "native", zones[event.household])
    ]
    await asyncio.gather(*acks)


async def test_readings_survive_broker_restart_ingest_kill_and_a_two_hour_outage(data_path: DataPath) -> None:
    now = datetime.now(UTC)
    homes, events = day_of_readings(now)
    expected = {e.envelope("gw-1", 0).message_id for e in events}
    thirds = [events[: len(events) // 3], events[len(events) // 3 : 2 * len(events) // 3]]
    thirds.append(events[2 * len(events) // 3 :])
    cut_from = thirds[2][0].at
    cut_until = cut_from + 2 * 3600 * 1000  # two simulated hours of this home's readings
    status_log: list[tuple[str, str]] = []
    status_seen = asyncio.Condition()

    async with asyncio.TaskGroup() as tasks:
        watcher = MqttClient(settings_for("127.0.0.1", data_path.platform_broker.port, "sys-watcher"))
        await watcher.start()
        await watcher.subscribe(contract.subscription(contract.Channel.STATUS, CUT_HOME))

        async def watch() -> None:
            while True:
                for message in await watcher.next_batch(10):
                    status = contract.decode_status(message.topic, message.payload)
                    async with status_seen:
                        status_log.append((message.topic, status.state))
                        status_seen.notify_all()

        watching = tasks.create_task(watch())
        sensors = MqttClient(settings_for("127.0.0.1", data_path.home_broker.port, "sys-sensors"))
        await sensors.start()
        try:
            await publish(sensors, homes, thirds[0])

            # 1. the platform broker restarts while the homes keep reporting
            data_path.platform_broker.stop()
            await publish(sensors, homes, thirds[1][: len(thirds[1]) // 2])
            data_path.platform_broker.start()
            await publish(sensors, homes, thirds[1][len(thirds[1]) // 2 :])

            # 2. ingest dies without warning and comes back
            await data_path.ingest.kill()
            # 3. the cut home loses its internet for two simulated hours of readings
            data_path.links[CUT_HOME].cut()
            during = [e for e in thirds[2] if e.at < cut_until]
            await publish(sensors, homes, during)
            await data_path.ingest.start("ingest.ready")
            async with asyncio.timeout(30), status_seen:  # the broker publishes the Last Will
                await status_seen.wait_for(
                    lambda: (f"mimamori/v1/{CUT_HOME}/gw-1/status", "offline") in status_log
                )
            data_path.links[CUT_HOME].restore()
            await publish(sensors, homes, [e for e in thirds[2] if e.at >= cut_until])

            await data_path.ingest.wait_for(lambda: data_path.stored_ids() >= expected, timeout_s=120)
        finally:
            watching.cancel()
            await sensors.stop()
            await watcher.stop()

    stored = data_path.stored_ids()
    assert stored == expected  # nothing lost, nothing foreign; the primary key rules out doubles
    with sqlite3.connect(data_path.store_path) as db:
        per_home = dict(db.execute("SELECT household, count(*) FROM events GROUP BY household"))
        online = db.execute("SELECT state FROM gateways WHERE household = ?", (CUT_HOME,)).fetchone()
    assert sum(per_home.values()) == len(expected)
    assert set(per_home) == set(HOUSEHOLDS)
    assert [state for _, state in status_log].count("offline") >= 1
    assert online is not None
    assert online[0] == "online"


async def test_a_broker_killed_between_saves_loses_nothing_it_acknowledged(data_path: DataPath) -> None:
    now = datetime.now(UTC)
    homes, events = day_of_readings(now)
    expected = {e.envelope("gw-1", 0).message_id for e in events}
    first, held = events[: len(events) // 2], events[len(events) // 2 :]
    seen: set[str] = set()
    seen_changed = asyncio.Condition()
    watcher = MqttClient(settings_for("127.0.0.1", data_path.platform_broker.port, "sys-watcher"))
    await watcher.start()
    await watcher.subscribe(contract.subscription(contract.Channel.EVENTS))

    async def watch() -> None:
        while True:
            for message in await watcher.next_batch(500):
                seen.add(json.loads(message.payload)["id"])
            async with seen_changed:
                seen_changed.notify_all()

    sensors = MqttClient(settings_for("127.0.0.1", data_path.home_broker.port, "sys-sensors"))
    await sensors.start()
    watching = asyncio.create_task(watch())
    try:
        await publish(sensors, homes, first)
        await data_path.ingest.wait_for(lambda: data_path.stored_ids() >= {id_of(e) for e in first}, 60)
        # Ingest goes away; the broker takes (PUBACKs) more readings and queues them in ingest's
        # session (each gateway sends up to its window of 100 that ingest has not acknowledged).
        assert await data_path.ingest.terminate() == 0
        await publish(sensors, homes, held)
        held_ids = {id_of(e) for e in held}
        async with asyncio.timeout(60), seen_changed:
            await seen_changed.wait_for(lambda: len(seen & held_ids) >= 150)
        # Killed before its next save (every 60 s): what it acknowledged and queued is gone with it.
        data_path.platform_broker.kill()
        data_path.platform_broker.start()
        await data_path.ingest.start("ingest.ready")
        await data_path.ingest.wait_for(lambda: data_path.stored_ids() >= expected, timeout_s=120)
        await data_path.ingest.wait_for(lambda: sum(data_path.outbox_depths().values()) == 0, 60)
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
        await sensors.stop()
        await watcher.stop()
    assert data_path.stored_ids() == expected  # nothing lost, nothing foreign
    with sqlite3.connect(data_path.store_path) as db:
        (rows,) = db.execute("SELECT count(*) FROM events").fetchone()
        (rolled_up,) = db.execute("SELECT sum(count) FROM hourly_activity").fetchone()
        (activity,) = db.execute("SELECT count(*) FROM events WHERE activity = 1").fetchone()
    assert rows == len(expected)  # nothing doubled...
    assert rolled_up == activity  # ...not even in the roll-ups


def id_of(event: SimEvent) -> str:
    return event.envelope("gw-1", 0).message_id
