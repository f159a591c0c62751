"""``mimamori demo``: everything on embedded defaults in one process, with simulated homes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from dashboard.demo import DEMO_USER, start_demo_dashboard
from firmware_sim.formats import encode
from firmware_sim.simulate import build_homes
from gateway.outbox import Outbox
from gateway.router import Router
from gateway.service import GatewayService, status_will
from ingest.service import IngestService
from mimamori.broker import MosquittoProcess
from mimamori.clock import SystemClock
from mimamori.mqtt import MqttClient, settings_for
from store.sqlite import SqliteEventStore


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("demo", help="run the whole pipeline on embedded defaults with simulated homes")
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    parser.add_argument("--households", type=int, default=3)
    parser.add_argument("--events", type=int, default=200, help="readings per simulated home")
    parser.add_argument("--exit-when-done", action="store_true", help="stop once every reading is stored")
    parser.add_argument(
        "--dashboard-port", type=int, default=8080, help="the dashboard's port (0: no dashboard)"
    )
    parser.set_defaults(func=lambda args: asyncio.run(run_demo(args)))


async def run_demo(args: argparse.Namespace) -> int:
    clock = SystemClock()
    data_dir: Path = args.data_dir
    broker = MosquittoProcess(data_dir / "broker")
    broker.start()
    print(f"broker: mosquitto on 127.0.0.1:{broker.port}", flush=True)
    clients: list[MqttClient] = []
    outboxes: list[Outbox] = []
    store = SqliteEventStore(data_dir / "events.sqlite3")
    store.open()
    names = [f"demo-{n + 1:04d}" for n in range(args.households)]
    dashboard = None
    if args.dashboard_port:
        dashboard = await start_demo_dashboard(data_dir, store, clock, names, args.dashboard_port)
        print(f"dashboard: {dashboard.url} (user {DEMO_USER}, password {dashboard.password})", flush=True)

    async def client(client_id: str, **options: Any) -> MqttClient:
        mqtt = MqttClient(settings_for("127.0.0.1", broker.port, client_id, **options))
        await mqtt.start()
        clients.append(mqtt)
        return mqtt

    try:
        async with asyncio.TaskGroup() as tasks:
            ingest_mqtt = await client(
                "demo-ingest", clean_start=False, session_expiry_s=3600, manual_ack=True
            )
            ingest = IngestService(ingest_mqtt, store, clock, "ingest", 2000)
            tasks.create_task(ingest.run())
            now = clock.now()
            homes = build_homes(names, seed=1, start=(now - timedelta(days=1)).date())
            for home in homes:
                outbox = Outbox(data_dir / "gateways" / f"{home.household}.sqlite3")
                outbox.open()
                outboxes.append(outbox)
                gateway = GatewayService(
                    household=home.household,
                    gateway="gw-1",
                    local=await client(
                        f"demo-gw-local-{home.household}",
                        clean_start=False,
                        session_expiry_s=3600,
                        manual_ack=True,
                    ),
                    router=Router(devices_by_id={}, zone=home.zone, root=f"sim/{home.household}"),
                    upstream=await client(
                        f"demo-gw-{home.household}", will=status_will(home.household, "gw-1", clock)
                    ),
                    outbox=outbox,
                    clock=clock,
                    heartbeat=timedelta(seconds=30),
                )
                tasks.create_task(gateway.run())
            sim = await client("demo-sim")
            # The last day of each home, its most recent readings, in the native local format.
            recent = [home.events_between(now - timedelta(days=1), now)[-args.events :] for home in homes]
            total = sum(len(events) for events in recent)
            for home, events in zip(homes, recent, strict=True):
                for event in events:
                    for topic, payload in encode(event, f"sim/{home.household}", "native", home.zone):
                        await sim.publish(topic, payload)
            while True:
                async with ingest.committed:
                    await ingest.committed.wait()
                stored = store.count_events()
                print(
                    f"events stored: {stored}/{total} rejected: {sum(ingest.counters.rejected.values())}",
                    flush=True,
                )
                if args.exit_when_done and stored >= total:
                    raise _Done
    except* _Done:
        pass
    except* KeyboardInterrupt:
        pass
    finally:
        for mqtt in clients:
            with contextlib.suppress(Exception):
                await mqtt.stop()
        for outbox in outboxes:
            outbox.close()
        if dashboard is not None:
            await dashboard.stop()
        store.close()
        broker.stop()
    return 0


class _Done(Exception):
    """Raised inside the task group to stop the demo once everything is stored."""
