"""Simulator throughput: a seeded week of 20 homes to a list, and many homes streamed for load.

Baseline, measured in the same run: JSON-encoding the same events as canonical envelopes (what any
consumer must at least pay to write them out), so the ratio says what generating costs on top.

Run: ``.venv/bin/python benchmarks/sim_throughput.py [--homes 5000] [--hours 2] [--climate-share 0.3]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware_sim.events import to_datetime
from firmware_sim.simulate import DEFAULT_START, build_homes, generate, stream


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--homes", type=int, default=5000, help="homes streamed for the load figure")
    parser.add_argument("--hours", type=float, default=2.0, help="simulated hours streamed")
    parser.add_argument(
        "--climate-share", type=float, default=0.0, help="share of homes with room climate sensors (0..1)"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    week = generate(20, 7, seed=1, climate_share=args.climate_share)
    week_s = time.perf_counter() - started

    started = time.perf_counter()
    for seq, event in enumerate(week.events):
        event.envelope("gw-1", seq).encode()
    encode_s = time.perf_counter() - started

    homes = build_homes(args.homes, 1, DEFAULT_START, climate_share=args.climate_share)
    lo = to_datetime(homes[0].midnight(DEFAULT_START.toordinal())) + timedelta(hours=7)
    hi = lo + timedelta(hours=args.hours)
    started = time.perf_counter()
    streamed = sum(len(w) for w in stream(homes, lo, hi, timedelta(minutes=15)))
    stream_s = time.perf_counter() - started
    sim_s = args.hours * 3600
    print(
        json.dumps(
            {
                "climate_share": args.climate_share,
                "week_20_homes_s": round(week_s, 3),
                "week_20_homes_events": len(week.events),
                "week_events_per_s": round(len(week.events) / week_s),
                "baseline_encode_events_per_s": round(len(week.events) / encode_s),
                "generate_vs_encode_ratio": round(week_s / encode_s, 2),
                "stream_homes": args.homes,
                "stream_sim_hours": args.hours,
                "stream_s": round(stream_s, 2),
                "stream_events": streamed,
                "stream_events_per_s": round(streamed / stream_s),
                "stream_max_speed": round(sim_s / stream_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
