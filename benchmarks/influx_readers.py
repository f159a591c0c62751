"""The InfluxDB store's reads against the SQLite store's, on the same data, in one run.

A real ``influxd`` (Debian's 1.6, started here on free ports, like the tests do) and a SQLite file are
filled with the same batches through each store's own writer:

- ``--households`` homes (default 10,000) with ``--hours`` (12) of sparse live data each: a motion
  sensor and a door sensor reporting about twice an hour, hourly check-ins, a battery report, a
  gateway announcing itself and sending hourly heartbeats;
- ``--focus`` of them (20) with ``--days`` (7) of a simulated resident's full routine (firmware_sim),
  for the reads of one household's history (the dashboard page, the detector's look back).

Then every read detection and the dashboard make is timed ``--rounds`` times on each store (median,
milliseconds): the detector's tick over every household (live state, gateways, button presses, a
sweep slice of devices) and one household's page (devices, a week of roll-ups and activity times, a
day of events). SQLite is measured in the same run on the same machine, as the baseline.

Run: ``.venv/bin/python benchmarks/influx_readers.py [--households 10000] [--rounds 5]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp.test_utils import TestServer

from firmware_sim.simulate import build_homes
from mimamori.contract import Event, GatewayState, GatewayStatus, Heartbeat, Kind, message_id_for
from store.base import IngestBatch
from store.influx import InfluxEventStore
from store.influx_schema import InfluxTarget
from store.sqlite import SqliteEventStore
from tests.support.influx_server import InfluxdProcess, V2WriteShim

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
SLICE = 500  # households per detector sweep slice (10,000 homes over 20 ticks)


def live_batches(households: int, hours: int) -> list[IngestBatch]:
    """One batch per hour of every sparse household's reports (about 5 events per home and hour)."""
    batches = []
    start = NOW - timedelta(hours=hours)
    for hour in range(hours):
        at0 = start + timedelta(hours=hour)
        events: list[Event] = []
        beats = []
        statuses = []
        for n in range(households):
            h = f"home-{n:05d}"
            offset = timedelta(seconds=(n * 37) % 1800)
            reports = [
                (at0 + offset, "hall-motion", Kind.MOTION, 1.0),
                (at0 + offset + timedelta(minutes=29), "main-door", Kind.DOOR, 1.0),
                (at0 + offset + timedelta(minutes=3), "hall-motion", Kind.CHECKIN, 0.0),
                (at0 + offset + timedelta(minutes=4), "main-door", Kind.CHECKIN, 0.0),
            ]
            if hour == 0:
                reports.append(
                    (at0 + offset + timedelta(seconds=1), "hall-motion", Kind.BATTERY, float(20 + n % 80))
                )
                statuses.append(GatewayStatus(h, "gw-1", GatewayState.ONLINE, at0))
            if hour == hours - 1 and n % 1000 == 0:
                statuses.append(GatewayStatus(h, "gw-1", GatewayState.OFFLINE, at0 + offset))
            for at, device, kind, value in reports:
                events.append(
                    Event(message_id_for(h, device, kind, value, at), h, "gw-1", device, kind, value, at, 1)
                )
            beats.append(Heartbeat(h, "gw-1", at0 + offset, hour, 0))
        batches.append(
            IngestBatch(at0 + timedelta(hours=1), events=events, statuses=statuses, heartbeats=beats)
        )
    return batches


def focus_batches(focus: int, days: int) -> list[IngestBatch]:
    """A simulated week of full routines for ``focus`` households, one batch per simulated hour."""
    start = NOW - timedelta(days=days)
    homes = build_homes([f"focus-{n:03d}" for n in range(focus)], 11, (start - timedelta(days=1)).date())
    events = sorted((e for home in homes for e in home.events_between(start, NOW)), key=lambda e: e.at)
    batches: list[IngestBatch] = []
    bucket: list[Event] = []
    hour_of = None
    for n, e in enumerate(events):
        hour = e.at // 3_600_000
        if hour_of is not None and hour != hour_of:
            batches.append(IngestBatch(datetime.fromtimestamp((hour_of + 1) * 3600, UTC), events=bucket))
            bucket = []
        hour_of = hour
        bucket.append(e.envelope("gw-1", n + 1))
    if bucket:
        batches.append(IngestBatch(NOW, events=bucket))
    return batches


async def timed(call: Callable[[], Awaitable[Any]], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 3)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="mimamori-influx-bench-"))
    server = InfluxdProcess(work / "influxd")
    server.start()
    shim = V2WriteShim(server.url)
    front = TestServer(shim.app(), host="127.0.0.1")
    await front.start_server()
    target = InfluxTarget(generation="1.8+", database="bench")
    writer = InfluxEventStore(str(front.make_url("")).rstrip("/"), "", "-", target)
    influx = InfluxEventStore(server.url, "", "-", target, timeout_ms=120_000)  # reads: straight to influxd
    sqlite = SqliteEventStore(work / "events.sqlite3", synchronous="normal")
    sqlite.open()
    await writer.open()
    await influx.open()
    report: dict[str, Any] = {"households": args.households, "hours": args.hours, "focus": args.focus}
    try:
        t = time.perf_counter()
        batches = live_batches(args.households, args.hours) + focus_batches(args.focus, args.days)
        report["events"] = sum(len(b.events) for b in batches)
        report["generate_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        for batch in batches:
            sqlite.commit_batch(batch)
        report["load_sqlite_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        for batch in batches:
            for start in range(0, len(batch.events) or 1, 5000):  # ingest's batch size
                await writer.write_batch(
                    IngestBatch(
                        batch.received_at,
                        events=batch.events[start : start + 5000],
                        statuses=batch.statuses if start == 0 else (),
                        heartbeats=batch.heartbeats if start == 0 else (),
                    )
                )
        report["load_influx_s"] = round(time.perf_counter() - t, 1)
        del batches
        # The same events, but for points of one household and millisecond whose id offsets collide
        # (1 in 1000 per such pair; docs/storage.md).
        report["stored"] = {"sqlite": sqlite.count_events(), "influx": await influx.count_events()}

        everyone = [h.household for h in sqlite.household_activity()]
        part = everyone[:SLICE]
        page = "focus-000"
        week = (NOW - timedelta(days=7), NOW)
        day = (NOW - timedelta(days=1), NOW)
        since = NOW - timedelta(hours=1)

        async def s(f: Callable[[], Any]) -> Any:
            return f()

        reads: dict[str, tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = {
            "household_activity_all": (
                lambda: s(sqlite.household_activity),
                influx.household_activity,
            ),
            "activity_changes_all": (
                lambda: s(lambda: sqlite.activity_changes(None)),
                lambda: influx.activity_changes(None),
            ),
            "gateway_summary": (lambda: s(sqlite.gateway_summary), influx.gateway_summary),
            "button_presses_last_hour": (
                lambda: s(lambda: sqlite.button_presses(since)),
                lambda: influx.button_presses(since),
            ),
            f"device_suspects_{SLICE}": (
                lambda: s(lambda: sqlite.device_suspects(part, 20.0, NOW - timedelta(hours=6))),
                lambda: influx.device_suspects(part, 20.0, NOW - timedelta(hours=6)),
            ),
            f"devices_of_{SLICE}": (
                lambda: s(lambda: sqlite.devices_of(part)),
                lambda: influx.devices_of(part),
            ),
            "devices_one": (lambda: s(lambda: sqlite.devices(page)), lambda: influx.devices(page)),
            "gateways_one": (lambda: s(lambda: sqlite.gateways(page)), lambda: influx.gateways(page)),
            "hourly_activity_week": (
                lambda: s(lambda: sqlite.hourly_activity(page, *week)),
                lambda: influx.hourly_activity(page, *week),
            ),
            "activity_times_week": (
                lambda: s(lambda: sqlite.activity_times(page, *week)),
                lambda: influx.activity_times(page, *week),
            ),
            "events_day": (lambda: s(lambda: sqlite.events(page, *day)), lambda: influx.events(page, *day)),
        }
        table: dict[str, dict[str, float]] = {}
        for name, (on_sqlite, on_influx) in reads.items():
            sqlite_ms = await timed(on_sqlite, args.rounds)
            influx_ms = await timed(on_influx, args.rounds)
            table[name] = {
                "sqlite_ms": sqlite_ms,
                "influx_ms": influx_ms,
                "ratio": round(influx_ms / sqlite_ms, 1) if sqlite_ms else None,
            }
            print(f"{name:28s} sqlite {sqlite_ms:9.3f} ms   influx {influx_ms:9.2f} ms", flush=True)
        report["reads"] = table
        report["load_avg"] = round(os.getloadavg()[0], 2)
    finally:
        await influx.close()
        await writer.close()
        await front.close()
        sqlite.close()
        server.stop()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--hours", type=int, default=12)
    parser.add_argument("--focus", type=int, default=20)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
