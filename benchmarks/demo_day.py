"""The demo's whole default day, judged as the suite's day test judges its 06:00-19:30.

    .venv/bin/python benchmarks/demo_day.py [--speed 1200] [--hours 24]

Runs ``mimamori demo --slow-to 0`` (20 homes, seed 7, the fixed day) as a process on free ports in a
temporary directory until ``--hours`` simulated hours have passed, then checks what
``tests/system/test_demo.py`` checks (tests/support/demo_day.py): the scripted events announced in
order, no incident before the first, exactly the scripted incidents (the night after the digests
included), the hot room's resident texted before her neighbour, the families' digests.

Measured: the real seconds of the run, the effective speed (simulated seconds per real second: below
``--speed`` when the demo's clock waited for the homes' reports to be stored), and the load average
before and after. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks")]

from tests.support.demo_day import check_scripted_day  # noqa: E402
from tests.support.demo_process import DemoProcess  # noqa: E402


async def run(speed: float, hours: float, timeout_s: float) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="demo-day-") as tmp:
        workdir = Path(tmp)
        process = DemoProcess(workdir, "--speed", f"{speed:g}", "--slow-to", "0", "--hours", f"{hours:g}")
        started = time.perf_counter()
        await process.start()
        try:
            await process.expect(r"^dashboard: ", timeout_s=timeout_s)
            live = time.perf_counter()
            code = await process.finish(timeout_s=timeout_s)
        finally:
            await process.kill()
        ended = time.perf_counter()
        problem = ""
        try:
            assert code == 0, process.lines[-40:]
            check_scripted_day(process.lines, workdir)
        except AssertionError as exc:
            problem = str(exc)[:2000]
    return {
        "benchmark": "demo_day",
        "speed": speed,
        "hours": hours,
        "seconds": round(ended - started, 1),
        "live_seconds": round(ended - live, 1),
        "effective_speed": round(hours * 3600 / (ended - live)),
        "ok": not problem,
        "problem": problem,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed", type=float, default=1200.0, help="the demo's --speed (default 1200)")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours from 06:00 (default 24)")
    parser.add_argument("--timeout", type=float, default=900.0, help="real seconds before giving up")
    args = parser.parse_args()
    result = asyncio.run(run(args.speed, args.hours, args.timeout))
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
