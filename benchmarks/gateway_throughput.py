"""Gateway throughput through a real mosquitto: local device messages → outbox → upstream → the
end-to-end acknowledgement (a stand-in for ingest acknowledges every event as it arrives).

Baseline, measured in the same run on the same broker: one client publishing the same canonical
events straight upstream at QoS 1 with the same window of unacknowledged messages (what the network
and broker allow without a gateway). The ratio is what durability (SQLite, synchronous=FULL) and
the local hop cost.

Run: ``.venv/bin/python benchmarks/gateway_throughput.py [--events 20000]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.mosquitto import MosquittoProcess
from firmware_sim.homes import HouseholdSpec, SimHome
from gateway.native import Reading, encode_reading
from gateway.outbox import Outbox
from gateway.router import Router
from gateway.service import GatewayService
from mimamori import contract
from mimamori.clock import SystemClock
from mimamori.mqtt import MqttClient, settings_for

WINDOW = 100


async def run(count: int, data: Path) -> dict[str, object]:
    broker = MosquittoProcess(data / "broker")
    broker.start()
    clock = SystemClock()
    now = datetime.now(UTC)
    events = []
    day = 0
    while len(events) < count:  # many homes' days, all on one gateway: a stress, not a home
        home = SimHome(HouseholdSpec(f"bench-{day}", kit="full"), 1, now - timedelta(days=1))
        events += home.events_between(now - timedelta(days=1), now)
        day += 1
    events = events[:count]
    clients: list[MqttClient] = []

    async def client(client_id: str, **options: object) -> MqttClient:
        mqtt = MqttClient(settings_for("127.0.0.1", broker.port, client_id, **options))  # type: ignore[arg-type]
        await mqtt.start()
        clients.append(mqtt)
        return mqtt

    try:
        # Baseline: the canonical events straight upstream, WINDOW unacknowledged at a time.
        direct = await client("bench-direct", max_inflight=WINDOW)
        topic = contract.topic("bench", "gw-1", contract.Channel.EVENTS)
        payloads = [e.envelope("gw-1", n).encode() for n, e in enumerate(events)]
        started = time.perf_counter()
        for n in range(0, len(payloads), WINDOW):
            await asyncio.gather(*(direct.publish_nowait(topic, p) for p in payloads[n : n + WINDOW]))
        baseline_s = time.perf_counter() - started

        # Ingest's part without a store: every event acknowledged on the gateway's ack topic.
        acker = await client("bench-acker")
        await acker.subscribe(topic)
        ack_topic = contract.topic("bench", "gw-1", contract.Channel.ACK)

        async def acknowledge() -> None:
            while True:
                seqs = [json.loads(m.payload)["seq"] for m in await acker.next_batch(500)]
                for payload in contract.ack_payloads("bench", "gw-1", seqs):
                    acker.publish_untracked(ack_topic, payload)

        acking = asyncio.create_task(acknowledge())
        outbox = Outbox(data / "outbox.sqlite3", max_events=count + 1)
        outbox.open()
        upstream = await client("bench-gw", max_inflight=WINDOW)
        local = await client("bench-gw-local", clean_start=False, session_expiry_s=600, manual_ack=True)
        service = GatewayService(
            household="bench",
            gateway="gw-1",
            local=local,
            router=Router(devices_by_id={}, zone=ZoneInfo("Asia/Tokyo"), root="local"),
            upstream=upstream,
            outbox=outbox,
            clock=clock,
            heartbeat=timedelta(minutes=5),
            publish_window=WINDOW,
            drain_rate_per_s=1e9,
        )
        task = asyncio.create_task(service.run())
        await service.ready.wait()
        devices = await client("bench-devices", max_inflight=1000)
        started = time.perf_counter()
        pending = []
        for e in events:
            suffix, payload = encode_reading(Reading(e.device, e.kind, e.value, e.observed_at))
            pending.append(devices.publish_nowait(f"local/home/{suffix}", payload))
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        async with service.progress:
            await asyncio.wait_for(
                service.progress.wait_for(lambda: service.counters.forwarded >= count), 600
            )
        gateway_s = time.perf_counter() - started
        task.cancel()
        acking.cancel()
        outbox.close()
    finally:
        for mqtt in clients:
            await mqtt.stop()
        broker.stop()
    return {
        "events": count,
        "publish_window": WINDOW,
        "baseline_direct_qos1_per_s": round(count / baseline_s),
        "gateway_end_to_end_per_s": round(count / gateway_s),
        "gateway_vs_baseline": round(baseline_s / gateway_s, 2),
        "rejected": service.rejected,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(run(args.events, Path(tmp)))))


if __name__ == "__main__":
    main()
