"""``mimamori sim`` publishing live in real device formats, read by a gateway, stored by ingest."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.mosquitto import MosquittoProcess
from firmware_sim.formats import device_map
from firmware_sim.simulate import build_homes
from gateway.router import Router, Source
from mimamori.clock import SystemClock
from tests.support.harness import mqtt_client, running_gateway, running_ingest, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def run_sim(broker: MosquittoProcess, *args: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MIMAMORI__BROKER__PORT": str(broker.port)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mimamori", "sim", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    result: dict[str, object] = json.loads(out.decode().strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("fmt", ["zigbee2mqtt", "shelly", "tasmota", "native"])
async def test_simulated_devices_in_real_formats_reach_the_store_through_a_gateway(
    mosquitto: MosquittoProcess, tmp_path: Path, topic_prefix: str, fmt: str
) -> None:
    clock = SystemClock()
    household = "home-0001"
    root = f"{topic_prefix}/{{household}}"
    # The home the simulator will build (same seed, same kit), to configure the gateway's devices.
    zone = ZoneInfo("Asia/Tokyo")
    # A whole day, so that the resident is awake in it at whatever hour the test runs (at night in
    # Tokyo a few hours hold only the gateway's check-ins).
    first_day = (clock.now() - timedelta(days=1)).astimezone(zone).date()
    (home,) = build_homes(1, 5, first_day)
    table = device_map(household, home.kit, fmt)  # type: ignore[arg-type]
    router = Router(
        devices_by_id={d: (Source(m["source"]), m["address"]) for d, m in table.items()},
        zone=zone,
        root=root.format(household=household),
    )
    async with (
        running_ingest(mosquitto, tmp_path / "events.sqlite3", clock, group=topic_prefix) as ingest,
        running_gateway(mosquitto, household, tmp_path / "outbox.sqlite3", clock, router=router) as gw,
    ):
        result = await run_sim(
            mosquitto, "--households", "1", "--days", "1", "--seed", "5", "--speed", "0",
            "--format", fmt, "--topic-root", root,
        )  # fmt: skip
        published = int(str(result["published"]))
        assert published > 20
        await wait_for(lambda: gw.counters.received >= published, gw.progress, 30)
        await wait_for(
            lambda: ingest.store.count_events(household) >= gw.counters.readings, ingest.service.committed, 30
        )
        kinds = {
            e.kind.value for e in ingest.store.events(household, clock.now() - timedelta(days=2), clock.now())
        }
    assert gw.rejected == 0
    assert "checkin" in kinds
    assert kinds & {"motion", "door", "power"}


async def test_sim_paces_simulated_time_and_writes_one_message_per_report(
    mosquitto: MosquittoProcess, topic_prefix: str
) -> None:
    async with mqtt_client(mosquitto) as watcher:
        await watcher.subscribe(f"{topic_prefix}/#")
        result = await run_sim(
            mosquitto, "--households", "3", "--days", "0.05", "--speed", "3600",
            "--topic-root", f"{topic_prefix}/{{household}}",
        )  # fmt: skip
        seen: list[str] = []

        async def collect() -> None:
            while len(seen) < int(str(result["published"])):
                seen.extend(m.topic for m in await watcher.next_batch(1000))

        await asyncio.wait_for(collect(), 20)
    assert {t.split("/")[1] for t in seen} == {"home-0001", "home-0002", "home-0003"}
    assert all(t.split("/")[2] == "home" for t in seen)
