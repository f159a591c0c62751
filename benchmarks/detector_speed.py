"""Detector speed and size: one tick over 100k households, replay throughput, live state per household.

Each number is compared with a baseline measured in the same run:
- tick: the engine's deadline heap vs. evaluating every household each tick (the naive loop);
- replay: events/s through ``mimamori replay``'s code path (parse + sort + replay), vs. parsing alone;
- memory: bytes of engine state per household (tracemalloc), vs. the 1 KB budget;
- live tick: ``LiveDetector.tick`` over a real SQLite store (what ``mimamori alerts`` runs each
  minute: the store's changes since the last tick, button presses, the gateway summary, the device
  sweep, the engine) in steady state (homes with four devices, 20% of them active each minute,
  heartbeats, after 35 untimed minutes so the engine's looks fall due as in operation), vs. reading
  every household's live state and every gateway as the tick used to; with ``--climate-share S``
  (default 0: not run), again with that share of the homes reporting their rooms' temperature and
  humidity every 5 minutes (the climate watch: its pass, a job of its own after each tick, is
  timed apart from the tick: ``climate_ms_*``).

Run: ``.venv/bin/python benchmarks/detector_speed.py [--households 100000]``; last line is JSON.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.progress import track

from detection.baseline import Baseline, learn
from detection.detector import community_due
from detection.engine import Engine
from detection.episodes import MemoryEpisodes, SqliteEpisodes
from detection.live import LiveDetector
from detection.model import FixedProfiles, Tuning
from detection.replay import Rejections, read_events, replay
from mimamori import contract
from mimamori.clock import FakeClock
from store.base import IngestBatch
from store.sqlite import SqliteEventStore

STDERR = Console(stderr=True)  # progress of long set-up and evaluation loops, never of a timed one
TZ = "Asia/Tokyo"
ZONE = ZoneInfo(TZ)
START = datetime(2026, 3, 2, tzinfo=ZONE)
WARM_UP_MIN = 35  # untimed minutes of the live tick before its timed ones (see bench_live_tick)
DEVICES = ("kitchen-motion", "hall-motion", "toilet-motion", "bed-motion", "main-door", "kettle")


def routine_events(household: int, days: int, rng: random.Random) -> list[tuple[float, str, str, float]]:
    """A load generator (not a simulator): motion on/off every few minutes while awake, a door, a kettle."""
    out: list[tuple[float, str, str, float]] = []
    for day in range(days):
        base = (START + timedelta(days=day)).timestamp()
        t = base + rng.uniform(6, 8) * 3600
        end = base + rng.uniform(21, 23) * 3600
        while t < end:
            device = rng.choice(DEVICES)
            if device == "kettle":
                out += [(t, device, "power", 1200.0), (t + 120, device, "power", 0.0)]
            elif device == "main-door":
                out += [(t, device, "door", 1.0), (t + 5, device, "door", 0.0)]
            else:
                out += [(t, device, "motion", 1.0), (t + 30, device, "motion", 0.0)]
            t += rng.expovariate(1 / 240)
        out.append((base + rng.uniform(1, 4) * 3600, "toilet-motion", "motion", 1.0))
    return out


def own_baseline(template: Baseline, rng: random.Random) -> Baseline:
    """A distinct baseline object per household (its own arrays), as the live path holds them."""
    return replace(
        template,
        quiet=bytes(bytearray(template.quiet)),
        wake_latest_min=template.wake_latest_min + rng.randrange(-30, 30),
    )


def build_engine(n: int, template: Baseline, now: float, rng: random.Random) -> Engine:
    engine = Engine(FixedProfiles(TZ), MemoryEpisodes())
    for i in range(n):
        h = f"h{i:06d}"
        engine.relearned(h, own_baseline(template, rng), now - 3600)
        engine.activity(h, now - rng.uniform(0, 3 * 3600), DEVICES[i % 4])
    engine.tick(now - 60)
    return engine


def bench_tick(n: int, template: Baseline, rng: random.Random) -> dict[str, object]:
    now = (START + timedelta(days=30, hours=14)).timestamp()
    engine = build_engine(n, template, now, rng)
    households = engine.households()
    changed_share = 0.2  # a busy afternoon: a fifth of the homes report new activity each minute
    times = []
    cpu_times = []
    raised = 0
    for minute in range(20):
        t = now + minute * 60
        movers = rng.sample(households, int(n * changed_share))
        started, cpu = time.perf_counter(), time.process_time()
        for h in movers:
            engine.activity(h, t - 5, "kitchen-motion")
        raised += len(engine.tick(t))
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu)
    # the naive baseline: work out every household's deadline each tick
    profile = FixedProfiles(TZ).profile("x")
    tuning = Tuning()
    naive = []
    for _ in range(3):
        started = time.perf_counter()
        for h in households:
            st = engine.state(h)
            if st.last is not None:
                community_due(st.last, st.out, st.baseline, profile, tuning)
        naive.append(time.perf_counter() - started)
    return {
        "households": n,
        "changed_per_tick": int(n * changed_share),
        "tick_ms_median": round(statistics.median(times) * 1000, 2),
        "tick_ms_max": round(max(times) * 1000, 2),
        "tick_cpu_ms_median": round(statistics.median(cpu_times) * 1000, 2),
        "naive_full_scan_ms_median": round(statistics.median(naive) * 1000, 1),
        "findings_raised": raised,
        "target_ms": 50,
    }


def bench_memory(n: int, template: Baseline, rng: random.Random) -> dict[str, object]:
    now = (START + timedelta(days=30, hours=14)).timestamp()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    engine = build_engine(n, template, now, rng)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per = (after - before) / n
    del engine
    return {"households": n, "bytes_per_household": round(per), "target_bytes": 1024}


def bench_replay(households: int, days: int, rng: random.Random, workdir: Path) -> dict[str, object]:
    """Throughput of ``mimamori replay``'s path (read CSV, validate, sort, replay), sorted and shuffled."""
    header = ["ts", "household", "device", "kind", "value"]
    body: list[list[str]] = []
    for h in track(range(households), "events", console=STDERR, transient=True):
        for t, device, kind, value in routine_events(h, days, rng):
            stamp = datetime.fromtimestamp(t, ZONE).isoformat()
            body.append([stamp, f"h{h:05d}", device, kind, f"{value:g}"])
    result: dict[str, object] = {"households": households, "days": days, "target_events_per_s": 200_000}
    for order in ("sorted", "shuffled"):
        if order == "sorted":
            body.sort(key=lambda row: row[0])
        else:
            rng.shuffle(body)
        path = workdir / f"events-{order}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, *body])
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        events = read_events(path, Rejections())
        parsed = time.perf_counter() - started
        cpu_total = time.process_time() - cpu
        started = time.perf_counter()
        findings = sum(1 for _ in replay(events, FixedProfiles(TZ)))
        replayed = time.perf_counter() - started
        cpu_total = time.process_time() - cpu
        result[order] = {
            "events": len(events),
            "read_validate_sort_s": round(parsed, 2),
            "replay_s": round(replayed, 2),
            "events_per_s_end_to_end": round(len(events) / (parsed + replayed)),
            "events_per_s_replay_only": round(len(events) / replayed),
            "events_per_s_read_only": round(len(events) / parsed),
            # the machine is shared: events per second of this process's own CPU time
            "events_per_cpu_s_end_to_end": round(len(events) / cpu_total),
            "findings": findings,
        }
        del events
        path.unlink()
    return result


def bench_live_tick(
    n: int,
    template: Baseline,
    rng: random.Random,
    work: Path,
    ticks: int = 10,
    climate_share: float = 0.0,
    hot_every: int = 10,
) -> dict[str, object]:
    """Ticks of the live detector over a SQLite store of ``n`` households, 20% of them with new
    activity before each tick (written through the store's batch writer, not timed).

    ``climate_share`` of the homes also have three room thermometers reporting temperature and
    humidity every 5 minutes (staggered: a fifth of them before each tick; every reading stored, as
    if ingest thinned none), one in ``hot_every`` (ten) of them at 厳重警戒; 35 minutes of their
    readings are in the store before the detector starts (the climate watch's 30-minute window, full)."""
    now = START + timedelta(days=30)
    store = SqliteEventStore(work / "events.sqlite3", synchronous="normal")
    store.open()
    climate_homes = [i for i in range(n) if rng.random() < climate_share]
    hot_homes = set(climate_homes[::hot_every])

    def rooms(i: int, at: datetime) -> list[contract.Event]:
        """One home's three thermometers at ``at`` (humidity and temperature each)."""
        h = f"h{i:06d}"
        temp = (33.0 if i in hot_homes else 26.0) + rng.choice((-0.2, -0.1, 0.0, 0.1, 0.2))
        out = []
        for device in ("living-temp", "bedroom-temp", "bathroom-temp"):
            for kind, value in ((contract.Kind.HUMIDITY, 65.0), (contract.Kind.TEMPERATURE, round(temp, 1))):
                mid = contract.message_id_for(h, device, kind, value, at)
                out.append(contract.Event(mid, h, "gw-1", device, kind, value, at, 1))
        return out

    for back in range(7, 0, -1):  # readings of the last 35 minutes, each home on its own 5-minute slot
        at = now - timedelta(minutes=5 * back)
        batch = [e for i in climate_homes for e in rooms(i, at + timedelta(minutes=i % 5))]
        store.commit_batch(IngestBatch(received_at=at, events=batch))

    def motion(i: int, at: datetime) -> contract.Event:
        h = f"h{i:06d}"
        mid = contract.message_id_for(h, "hall-motion", contract.Kind.MOTION, 1.0, at)
        return contract.Event(mid, h, "gw-1", "hall-motion", contract.Kind.MOTION, 1.0, at, 1)

    def kit(i: int) -> list[contract.Event]:
        """The rest of a home's kit: a second motion sensor, the main door, a kettle (seen earlier)."""
        h, at = f"h{i:06d}", now - timedelta(hours=rng.uniform(3, 20))
        readings = [
            ("kitchen-motion", contract.Kind.MOTION, 0.0),
            ("main-door", contract.Kind.DOOR, 0.0),
            ("kettle", contract.Kind.POWER, 0.0),
        ]
        return [
            contract.Event(contract.message_id_for(h, d, k, v, at), h, "gw-1", d, k, v, at, 1)
            for d, k, v in readings
        ]

    first = [motion(i, now - timedelta(seconds=rng.uniform(60, 3 * 3600))) for i in range(n)]
    store.commit_batch(IngestBatch(received_at=now, events=[e for i in range(n) for e in kit(i)]))
    online = [
        contract.GatewayStatus(f"h{i:06d}", "gw-1", contract.GatewayState.ONLINE, now) for i in range(n)
    ]
    beats = [contract.Heartbeat(f"h{i:06d}", "gw-1", now, 1, 0) for i in range(n)]
    store.commit_batch(IngestBatch(received_at=now, events=first, statuses=online, heartbeats=beats))
    clock = FakeClock(now)

    # The detector reads through a connection of its own, as `mimamori alerts` does beside ingest
    # (the writer's commits then invalidate what its connection had cached).
    reader = SqliteEventStore(work / "events.sqlite3")
    reader.open()

    def live_detector(name: str) -> tuple[LiveDetector, float, float]:
        """A detector that has learned every household and made its first tick and climate pass (timed)."""
        detector = LiveDetector(reader, FixedProfiles(TZ), SqliteEpisodes(work / name), clock)
        detector.open()
        for i in range(n):
            detector.adopt(f"h{i:06d}", own_baseline(template, rng), now.timestamp() - 3600)
        started = time.perf_counter()
        detector.tick(clock.now())  # the first tick reads every household
        ticked = time.perf_counter()
        if climate_share > 0:
            detector.climate_tick(clock.now())  # the first pass rebuilds the watched homes
        return detector, (ticked - started) * 1000, (time.perf_counter() - ticked) * 1000

    # Its whole state (engine, baselines, what the store said last, relearn and silence queues).
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    measured, _, _ = live_detector("measured.sqlite3")
    gc.collect()
    state_bytes = (tracemalloc.get_traced_memory()[0] - before) / n
    tracemalloc.stop()
    measured.close()
    del measured
    detector, first_ms, first_climate_ms = live_detector("state.sqlite3")
    times, full_reads, looked = [], [], []
    climate_times: list[float] = []  # the climate pass, a job of its own after each tick
    # Steady state first: the engine looks at a home 30 min after its activity, so only after
    # WARM_UP_MIN minutes do ticks carry the looks that fall due every minute in operation.
    for minute in range(WARM_UP_MIN + ticks):
        clock.advance(timedelta(minutes=1))
        changed = rng.sample(range(n), n // 5)
        at = clock.now()
        events = [motion(i, at - timedelta(seconds=rng.uniform(0, 60))) for i in changed]  # in the minute
        slot = (minute + 1) % 5
        events += [e for i in climate_homes if i % 5 == slot for e in rooms(i, at - timedelta(seconds=30))]
        beats = [contract.Heartbeat(f"h{i:06d}", "gw-1", at, minute + 2, 0) for i in changed]
        store.commit_batch(IngestBatch(received_at=at, events=events, heartbeats=beats))
        pending = detector.engine.due_count(clock.now().timestamp())
        started = time.perf_counter()
        detector.tick(clock.now())
        ticked = time.perf_counter()
        if climate_share > 0:
            detector.climate_tick(clock.now())
        if minute < WARM_UP_MIN:
            continue
        times.append(ticked - started)
        if climate_share > 0:
            climate_times.append(time.perf_counter() - ticked)
        looked.append(pending)
        if len(full_reads) < 10:
            started = time.perf_counter()
            store.household_activity()
            store.gateways()
            full_reads.append(time.perf_counter() - started)
    detector.close()
    reader.close()
    store.close()
    return {
        "households": n,
        "changed_per_tick": n // 5,
        "ticks": ticks,
        "tick_ms_median": round(statistics.median(times) * 1000, 1),
        "tick_ms_p95": round(sorted(times)[int(len(times) * 0.95)] * 1000, 1),
        "tick_ms_max": round(max(times) * 1000, 1),
        "looks_due_per_tick_median": statistics.median(looked),
        "first_tick_ms": round(first_ms, 1),
        "state_bytes_per_household": round(state_bytes),
        "baseline_full_reads_ms_median": round(statistics.median(full_reads) * 1000, 1),
        "climate_homes": len(climate_homes),
        "climate_watched_homes": 0 if detector.climate is None else len(detector.climate.watches),
        "climate_first_pass_ms": round(first_climate_ms, 1),
        "climate_ms_median": round(statistics.median(climate_times) * 1000, 1) if climate_times else None,
        "climate_ms_mean": round(statistics.mean(climate_times) * 1000, 1) if climate_times else None,
        "climate_ms_p95": round(sorted(climate_times)[int(len(climate_times) * 0.95)] * 1000, 1)
        if climate_times
        else None,
        "climate_ms_max": round(max(climate_times) * 1000, 1) if climate_times else None,
        "climate_readings_per_tick": len(climate_homes) // 5 * 6,
        "target_ms": 50,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--replay-households", type=int, default=100)
    parser.add_argument("--replay-days", type=int, default=21)
    parser.add_argument(
        "--live-ticks", type=int, default=60, help="timed ticks of the live tick (after warm-up)"
    )
    parser.add_argument(
        "--climate-share",
        type=float,
        default=0.0,
        help="share of homes with room thermometers in an extra live-tick run (default 0: none)",
    )
    parser.add_argument(
        "--climate-hot-every",
        type=int,
        default=10,
        help="one in this many fitted homes at 厳重警戒 (default 10; 1: a heat wave, every one)",
    )
    parser.add_argument(
        "--only-live", action="store_true", help="only the live tick (and its climate variant)"
    )
    args = parser.parse_args()
    rng = random.Random(8)
    sample = routine_events(0, 21, rng)
    times = sorted(t for t, _, kind, value in sample if kind != "motion" or value >= 1)
    learned_at = (START + timedelta(days=21, hours=12)).timestamp()
    template = learn(times, [False] * len(times), TZ, learned_at, Tuning())
    result: dict[str, object] = {}
    if not args.only_live:
        result["tick"] = bench_tick(args.households, template, rng)
        result["memory"] = bench_memory(args.households, template, rng)
        result["replay"] = bench_replay(
            args.replay_households, args.replay_days, rng, Path(tempfile.mkdtemp())
        )
    result["live_tick"] = bench_live_tick(
        args.households, template, rng, Path(tempfile.mkdtemp()), args.live_ticks
    )
    if args.climate_share > 0:
        result["live_tick_climate"] = bench_live_tick(
            args.households,
            template,
            rng,
            Path(tempfile.mkdtemp()),
            args.live_ticks,
            args.climate_share,
            args.climate_hot_every,
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
