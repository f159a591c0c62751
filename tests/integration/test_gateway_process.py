"""``mimamori gateway`` as a real process: SIGKILL mid-stream loses and doubles nothing; the Last Will
announces its death within the keep-alive window."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from app.mosquitto import MosquittoProcess
from firmware_sim.homes import HouseholdSpec, SimHome
from gateway.native import Reading, encode_reading
from mimamori import contract
from mimamori.clock import SystemClock
from mimamori.mqtt import MqttClient
from tests.support.harness import mqtt_client, running_ingest, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KEEPALIVE_S = 5


def write_config(path: Path, household: str, upstream: MosquittoProcess, local: MosquittoProcess) -> None:
    path.write_text(
        f"""
[broker]
host = "127.0.0.1"
port = {upstream.port}
keepalive_s = {KEEPALIVE_S}

[gateway]
household = "{household}"
gateway = "gw-1"
outbox_path = "{path.parent / "outbox.sqlite3"}"
local_host = "127.0.0.1"
local_port = {local.port}
local_root = "local/{household}"
publish_window = 20
heartbeat_s = 2
"""
    )


@contextmanager
def gateway_process(
    config: Path, log: Path, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, **(extra_env or {}), "PYTHONPATH": str(ROOT)}
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mimamori", "gateway", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def next_status(watcher: MqttClient, timeout_s: float) -> str:
    """The state in the next status message (the retained one first)."""
    (message,) = await asyncio.wait_for(watcher.next_batch(1), timeout_s)
    return str(json.loads(message.payload)["state"])


async def test_sigkill_mid_stream_then_restart_loses_and_doubles_nothing_and_the_will_says_offline(
    mosquitto: MosquittoProcess, own_mosquitto: MosquittoProcess, tmp_path: Path, topic_prefix: str
) -> None:
    household = topic_prefix
    clock = SystemClock()
    now = clock.now()
    home = SimHome(HouseholdSpec(household, kit="full"), seed=21, origin=now - timedelta(days=1))
    events = home.events_between(now - timedelta(hours=20), now)[:600]
    expected = {e.envelope("gw-1", 0).message_id for e in events}
    assert len(expected) == len(events)
    config = tmp_path / "gateway.toml"
    write_config(config, household, own_mosquitto, mosquitto)
    log = tmp_path / "gateway.log"
    status_topic = contract.topic(household, "gw-1", contract.Channel.STATUS)

    async def publish(device: MqttClient, part: list[object]) -> None:
        for e in events[part[0] : part[1]]:  # type: ignore[misc]
            topic, payload = encode_reading(Reading(e.device, e.kind, e.value, e.observed_at))
            await device.publish(f"local/{household}/home/{topic}", payload)

    async with (
        running_ingest(own_mosquitto, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        mqtt_client(own_mosquitto) as watcher,
        mqtt_client(own_mosquitto) as beats,
        mqtt_client(mosquitto) as device,
    ):
        await watcher.subscribe(status_topic)
        await beats.subscribe(contract.topic(household, "gw-1", contract.Channel.HEARTBEAT))
        with gateway_process(config, log) as proc:
            assert await next_status(watcher, 20) == "online"
            (beat,) = await asyncio.wait_for(beats.next_batch(1), 10)
            heartbeat = contract.decode_heartbeat(beat.topic, beat.payload, clock.now())
            assert heartbeat.seq >= 1
            assert heartbeat.outbox_depth >= 0
            await publish(device, [0, 300])
            await wait_for(lambda: ingest.store.count_events(household) >= 100, ingest.service.committed)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed_at = time.monotonic()
            # The broker publishes the Last Will once the keep-alive (x1.5) runs out.
            assert await next_status(watcher, KEEPALIVE_S * 1.5 + 5) == "offline"
            assert time.monotonic() - killed_at <= KEEPALIVE_S * 1.5 + 1.5
            stored_while_dead = ingest.store.count_events(household)
            await publish(device, [300, 600])  # kept for the gateway by its persistent local session
        assert stored_while_dead < len(events)
        with gateway_process(config, log):
            assert await next_status(watcher, 20) == "online"
            await wait_for(
                lambda: ingest.store.count_events(household) == len(events), ingest.service.committed, 60
            )
            stored = ingest.store.events(household, now - timedelta(days=1), now + timedelta(minutes=1))
    assert sorted(e.message_id for e in stored) == sorted(expected)
    assert "Traceback" not in log.read_text()
