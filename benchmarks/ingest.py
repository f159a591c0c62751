"""Ingest throughput against a bare paho subscriber, on the same pre-filled persistent queue.

    .venv/bin/python benchmarks/ingest.py [--events 200000] [--prefill 1000000] [--households 10000]

1. A SQLite store is pre-filled with ``--prefill`` events of ``--households`` homes by direct SQL
   (with its real indexes, roll-ups and live state), so ingest writes into a big, realistic file.
2. Two persistent QoS 1 sessions subscribe (each in its own share group, like an ingest worker),
   disconnect, and ``--events`` events are published once: the broker queues a copy for each.
3. Baseline: a bare paho client resumes its session and only counts (paho acknowledges).
4. Ingest: the real IngestService + SqliteEventStore resume the other session and drain the same
   queue: validate, dedup, store with roll-ups and live state, acknowledge after commit.
5. The store is checked: every event stored once (``lost``), roll-ups not inflated (``duplicated``).

Ingest works as it does in production: it admits only the registry's households and gateways (a
registry of ``--households`` homes is written first) and acknowledges every durable batch end to end
to each gateway (one QoS 0 message per gateway per batch, sent by the store workers right after
their commit; nobody subscribes to them here).

Both drains run in this process one after the other, so contention on a shared machine affects
both. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# Run as a script, this file's directory comes first on sys.path and its name would hide the
# ``ingest`` package: put the repository there instead.
REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks")]

from app.mosquitto import MosquittoProcess  # noqa: E402
from ingest.service import IngestService  # noqa: E402
from ingest.sink import SqliteWorkerSink  # noqa: E402
from mimamori import contract  # noqa: E402
from mimamori.clock import SystemClock  # noqa: E402
from mimamori.config import IngestConfig, StoreConfig  # noqa: E402
from mimamori.mqtt import MqttClient, settings_for  # noqa: E402
from registry.models import Household  # noqa: E402
from registry.repository import Registry  # noqa: E402
from store.sqlite import EVENT_COLUMNS, HOUR_MS, SqliteEventStore, to_ms  # noqa: E402

KINDS = (
    ("hall-motion", contract.Kind.MOTION, (0.0, 1.0)),
    ("kitchen-motion", contract.Kind.MOTION, (1.0,)),
    ("main-door", contract.Kind.DOOR, (0.0, 1.0)),
    ("kettle", contract.Kind.POWER, (0.0, 1200.0)),
    ("hall-motion", contract.Kind.BATTERY, (80.0,)),
    ("main-door", contract.Kind.CHECKIN, (0.0,)),
)
RECEIVE_MAXIMUM = IngestConfig().receive_maximum  # the ingest defaults, for both subscribers
STORE_WORKERS = IngestConfig().store_workers
WINDOW = 500


def log(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def prefill(path: Path, events: int, households: int, now: datetime) -> None:
    """Direct SQL inserts: events over the past 6 days, their roll-ups and live state."""
    store = SqliteEventStore(path, synchronous="normal")
    store.open()  # creates the schema and indexes
    store.close()
    rng = random.Random(1)
    start_ms = to_ms(now - timedelta(days=6))
    span_ms = to_ms(now - timedelta(hours=1)) - start_ms
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    hourly: dict[tuple[str, int, str], int] = {}
    last: dict[str, int] = {}
    chunk = 100_000
    for base in range(0, events, chunk):
        rows = []
        for n in range(base, min(base + chunk, events)):
            house = f"h{n % households:05d}"
            device, kind, values = KINDS[n % len(KINDS)]
            at = start_ms + rng.randrange(span_ms)
            value = values[n % len(values)]
            activity = kind in (contract.Kind.MOTION, contract.Kind.DOOR) and (
                kind is contract.Kind.DOOR or value == 1.0
            )
            # Ids like a gateway's (a hash of the content): random, not in insertion order.
            message_id = f"{rng.getrandbits(96):024x}"
            rows.append((message_id, house, "gw-1", device, kind.value, value, at, n, int(activity)))
            if activity:
                key = (house, at - at % HOUR_MS, kind.value)
                hourly[key] = hourly.get(key, 0) + 1
                last[house] = max(last.get(house, 0), at)
        db.executemany(f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO hourly_activity VALUES (?, ?, ?, ?)", ((*k, c) for k, c in hourly.items()))
    db.executemany(
        "INSERT INTO household_live (household, last_activity_ms, last_activity_device, last_event_ms)"
        " VALUES (?, ?, 'hall-motion', ?)",
        ((h, at, at) for h, at in last.items()),
    )
    db.executemany(
        "INSERT INTO devices VALUES (?, ?, ?, ?, 0, ?, 80, ?)",
        ((h, d, k.value, at, at, at) for h, at in last.items() for d, k, _ in KINDS[:4]),
    )
    db.execute("COMMIT")
    db.close()


CLIMATE_SENSORS = ("living-temp", "bedroom-temp", "bathroom-temp")


def bench_events(
    count: int, households: int, now: datetime, climate_share: float = 0.0
) -> list[contract.Event]:
    """``climate_share`` of the events are room climate readings (a thermometer's temperature or
    humidity, drifting as a room does between 5-minute reports); the rest the activity mix."""
    rng = random.Random(2)
    start = now - timedelta(minutes=50)
    out = []
    rooms: dict[tuple[str, str, contract.Kind], float] = {}
    for n in range(count):
        house = f"h{rng.randrange(households):05d}"
        at = start + timedelta(milliseconds=n * 10)
        if rng.random() < climate_share:
            device = rng.choice(CLIMATE_SENSORS)
            kind = rng.choice((contract.Kind.TEMPERATURE, contract.Kind.HUMIDITY))
            key = (house, device, kind)
            base = 28.0 if kind is contract.Kind.TEMPERATURE else 60.0
            value = contract.normalize_value(kind, rooms.get(key, base) + rng.gauss(0.0, 0.2))
            rooms[key] = value
        else:
            device, kind, values = KINDS[rng.randrange(len(KINDS))]
            value = rng.choice(values)
        message_id = contract.message_id_for(house, device, kind, value, at)  # as the gateway does
        out.append(contract.Event(message_id, house, "gw-1", device, kind, value, at, n))
    return out


def register(path: Path, households: int) -> None:
    """The benchmark's homes in the registry, each with its one gateway: ingest admits them."""
    registry = Registry(path)
    registry.open()
    with registry.transaction():
        for n in range(households):
            registry.upsert_household(Household(f"h{n:05d}", f"Home {n}", ""))
            registry.set_gateways(f"h{n:05d}", ["gw-1"])
    registry.close()


def paho_client(port: int, client_id: str) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    return client


def connect(client: paho.Client, port: int) -> None:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = RECEIVE_MAXIMUM
    client.connect("127.0.0.1", port, 60, clean_start=False, properties=props)


def create_session(port: int, client_id: str, group: str) -> None:
    """Register a persistent session subscribed like an ingest worker, then leave it offline."""
    client = paho_client(port, client_id)
    subscribed = threading.Event()
    client.on_subscribe = lambda *_: subscribed.set()
    connect(client, port)
    client.loop_start()
    client.subscribe(f"$share/{group}/{contract.subscription(contract.Channel.EVENTS)}", qos=1)
    if not subscribed.wait(10):
        raise SystemExit("no SUBACK")
    client.disconnect()
    client.loop_stop()


def publish_all(port: int, events: list[contract.Event]) -> float:
    """Publish every event at QoS 1, at most ``WINDOW`` unacknowledged (paho's own queue of
    not-yet-sent messages is scanned on every acknowledgement, so it must stay short)."""
    client = paho_client(port, "bench-publisher")
    window = threading.Semaphore(WINDOW)
    done = threading.Event()
    acked = [0]

    def on_publish(*_: Any) -> None:
        window.release()
        acked[0] += 1
        if acked[0] == len(events):
            done.set()

    client.on_publish = on_publish
    client.connect("127.0.0.1", port, 60)
    client.loop_start()
    started = time.perf_counter()
    for e in events:
        if not window.acquire(timeout=60):
            raise SystemExit(f"publishing stalled after {acked[0]} acknowledgements")
        client.publish(contract.topic(e.household, e.gateway, contract.Channel.EVENTS), e.encode(), qos=1)
    if not done.wait(600):
        raise SystemExit(f"only {acked[0]} of {len(events)} publishes acknowledged")
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def drain_baseline(port: int, expected: int) -> tuple[float, int]:
    """A subscriber that only counts; paho acknowledges each message after the callback."""
    client = paho_client(port, "bench-baseline")
    done = threading.Event()
    received = [0]

    def on_message(*_: Any) -> None:
        received[0] += 1
        if received[0] >= expected:
            done.set()

    client.on_message = on_message
    started = time.perf_counter()
    connect(client, port)
    client.loop_start()
    if not done.wait(900):
        raise SystemExit(f"baseline got only {received[0]} of {expected}")
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed, received[0]


async def drain_ingest(
    port: int, store: SqliteWorkerSink, expected_new: int, batch_size: int
) -> tuple[float, IngestService]:
    """Run the real ingest until ``expected_new`` events are newly stored or thinned (messages left
    unacknowledged by the previous round come back as recognised duplicates)."""
    mqtt = MqttClient(
        settings_for(
            "127.0.0.1",
            port,
            "bench-ingest",
            clean_start=False,
            session_expiry_s=3600,
            receive_maximum=RECEIVE_MAXIMUM,
            manual_ack=True,
        )
    )
    service = IngestService(mqtt, store, SystemClock(), "bench-ingest", batch_size)
    started = time.perf_counter()
    await mqtt.start()
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(900):
            async with service.committed:
                await service.committed.wait_for(
                    lambda: service.counters.stored + service.counters.thinned >= expected_new or task.done()
                )
        if task.done():
            task.result()
        elapsed = time.perf_counter() - started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await mqtt.stop()
    return elapsed, service


def check(store_path: Path, events: list[contract.Event], prefilled: int, thinned: int) -> dict[str, int]:
    db = sqlite3.connect(store_path)
    # Benchmark events are 10 minutes newer than every pre-filled one (on the wire, times keep
    # whole milliseconds: allow for that).
    since = to_ms(min(e.observed_at for e in events)) - 1000
    stored = db.execute("SELECT count(*) FROM events WHERE observed_ms >= ?", (since,)).fetchone()[0]
    total = db.execute("SELECT count(*) FROM events").fetchone()[0]
    activity_events = db.execute("SELECT count(*) FROM events WHERE activity = 1").fetchone()[0]
    rolled_up = db.execute("SELECT sum(count) FROM hourly_activity").fetchone()[0]
    db.close()
    return {
        "stored": stored,
        "lost": len(events) - stored - thinned,  # thinned climate readings are handled, not stored
        # Rows beyond prefill + distinct bench ids, and roll-up counts beyond the activity events.
        "duplicated": (total - prefilled - stored) + (rolled_up - activity_events),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=210_000, help="events queued, over all rounds")
    parser.add_argument("--prefill", type=int, default=1_000_000)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=IngestConfig().batch_size)
    parser.add_argument("--synchronous", choices=["full", "normal"], default=StoreConfig().sqlite_synchronous)
    parser.add_argument("--rounds", type=int, default=3, help="alternate baseline and ingest this many times")
    parser.add_argument(
        "--warmup", type=int, default=10_000, help="events of an unmeasured first round (caches, connections)"
    )
    parser.add_argument(
        "--climate-share",
        type=float,
        default=0.0,
        help="share of room temperature/humidity readings (3 rooms every 5 min beside ~1,000 activity events"
        " a day: 0.63)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mimamori-bench-") as tmp:
        work = Path(tmp)
        now = datetime.now(UTC)
        store_path = work / "events.sqlite3"
        started = time.perf_counter()
        prefill(store_path, args.prefill, args.households, now)
        log(
            step="prefill",
            events=args.prefill,
            households=args.households,
            seconds=round(time.perf_counter() - started, 1),
        )
        events = bench_events(args.warmup + args.events, args.households, now, args.climate_share)
        registry_path = work / "state.sqlite3"
        register(registry_path, args.households)
        # The test broker saves its persistence every second; with a queue of this size that would
        # dominate the run, so save only on shutdown here.
        broker = MosquittoProcess(work / "broker", extra_config="autosave_interval 0")
        broker.start()
        # The store as `mimamori ingest` runs it: decode and commit in worker processes, which stay
        # up across rounds like a running ingest.
        store = SqliteWorkerSink(
            store_path,
            synchronous=args.synchronous,
            workers=STORE_WORKERS,
            registry_path=registry_path,
            acks=settings_for("127.0.0.1", broker.port, "bench-ingest-acks"),  # as `mimamori ingest` does
        )
        await store.start()
        wall = {"baseline": 0.0, "ingest": 0.0}
        cpu = {"baseline": 0.0, "ingest": 0.0}
        rejected = redelivered = thinned = 0
        try:
            create_session(broker.port, "bench-baseline", "bench-baseline")
            create_session(broker.port, "bench-ingest", "bench-ingest")
            # Rounds alternate the two drains so that load from other processes hits both alike.
            measured = events[args.warmup :]
            rounds = [events[: args.warmup]] if args.warmup else []
            rounds += [
                measured[n * len(measured) // args.rounds : (n + 1) * len(measured) // args.rounds]
                for n in range(args.rounds)
            ]
            for n, part in enumerate(rounds, start=0 if args.warmup else 1):
                seconds = publish_all(broker.port, part)
                log(step="publish", round=n, events=len(part), seconds=round(seconds, 1))
                cpu_before = time.process_time()
                seconds, received = drain_baseline(broker.port, len(part))
                log(step="baseline", round=n, seconds=round(seconds, 2), received=received)
                if n > 0:
                    wall["baseline"] += seconds
                    cpu["baseline"] += time.process_time() - cpu_before
                cpu_before = time.process_time()
                seconds, service = await drain_ingest(broker.port, store, len(part), args.batch_size)
                if n > 0:
                    wall["ingest"] += seconds
                    cpu["ingest"] += time.process_time() - cpu_before
                rejected += sum(service.counters.rejected.values())
                redelivered += service.counters.duplicates
                thinned += service.counters.thinned
                c = service.counters
                log(
                    step="ingest",
                    round=n,
                    seconds=round(seconds, 2),
                    received=c.received,
                    stored=c.stored,
                    duplicates=c.duplicates,
                )
        finally:
            broker.stop()
            await store.stop()
        result = check(store_path, events, args.prefill, thinned)
    baseline_rate = args.events / wall["baseline"]
    ingest_rate = args.events / wall["ingest"]
    summary = {
        "baseline_msgs_per_s": round(baseline_rate),
        "ingest_msgs_per_s": round(ingest_rate),
        "ratio": round(ingest_rate / baseline_rate, 3),
        "events": args.events,
        "warmup_events": args.warmup,
        "lost": result["lost"],
        "duplicated": result["duplicated"],
        "prefilled_events": args.prefill,
        "households": args.households,
        "rounds": args.rounds,
        "baseline_cpu_us_per_msg": round(cpu["baseline"] / args.events * 1e6, 1),
        "ingest_cpu_us_per_msg": round(cpu["ingest"] / args.events * 1e6, 1),
        "rejected": rejected,
        "redelivered_duplicates": redelivered,
        "climate_share": args.climate_share,
        "climate_thinned": thinned,
        "batch_size": args.batch_size,
        "sqlite_synchronous": args.synchronous,
        "receive_maximum": RECEIVE_MAXIMUM,
        "store_workers": STORE_WORKERS,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
