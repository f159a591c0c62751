"""How long ``broker-config`` takes for many households, and what a re-run costs.

Baseline, measured in the same run: ``mosquitto_passwd -U`` alone on the same number of plain
entries (the hashing Mosquitto's tool does, which broker-config cannot avoid). Then a full first
run (every household new), and a re-run with one household added (only that one is hashed).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from app.broker_accounts import generate, mosquitto_passwd_path


def run(households: int, tmp: Path) -> dict[str, object]:
    ids = [f"hh-{n:06d}" for n in range(households)]
    plain = tmp / "plain"
    plain.write_text("".join(f"{h}:password-{h}\n" for h in ids))
    started = time.perf_counter()
    subprocess.run([mosquitto_passwd_path(), "-U", str(plain)], check=True)
    baseline_s = time.perf_counter() - started

    out = tmp / "out"
    started = time.perf_counter()
    first = generate(out, ids, "ingest-password")
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    again = generate(out, [*ids, "hh-new"], "ingest-password")
    rerun_s = time.perf_counter() - started
    assert len(first.new_credentials) == households
    assert list(again.new_credentials) == ["hh-new"]
    return {
        "households": households,
        "baseline_mosquitto_passwd_s": round(baseline_s, 3),
        "first_run_s": round(first_s, 3),
        "first_run_vs_baseline": round(first_s / baseline_s, 2),
        "rerun_one_new_s": round(rerun_s, 3),
        "per_household_ms": round(1000 * first_s / households, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(args.households, Path(tmp))))


if __name__ == "__main__":
    main()
