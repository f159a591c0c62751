"""``mimamori sim`` to files, run as a user runs it: a seeded week of 20 homes is reproducible."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def mimamori(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "mimamori", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_seeded_week_of_20_homes_gives_the_same_files_twice_and_its_stats(tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        done = mimamori(
            "sim", "--households", "20", "--days", "7", "--seed", "42", "--random-scenarios", "11",
            "--out-csv", str(out / "events.csv"), "--out-jsonl", str(out / "events.jsonl"),
            "--truth", str(out / "truth.json"),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs.append(out)
    for name in ("events.csv", "events.jsonl", "truth.json"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
    assert len((outputs[0] / "events.csv").read_text().splitlines()) > 20 * 7 * 200
    truth = json.loads((outputs[0] / "truth.json").read_text())
    assert len(truth["households"]) == 20
    assert len(truth["scenarios"]) == 11

    other = mimamori(
        "sim", "--households", "20", "--days", "7", "--seed", "43", "--out-csv", str(tmp_path / "o.csv")
    )
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "o.csv").read_bytes() != (outputs[0] / "events.csv").read_bytes()

    stats = mimamori("sim-stats", "--events", str(outputs[0] / "events.csv"))
    assert stats.returncode == 0, stats.stderr
    summary = json.loads(stats.stdout)
    assert summary["household_days"] == 140
    assert summary["per_household_day"]["motion"]["median"] > 50
    gaps = summary["longest_quiet_gap_minutes"]
    # Nights are long and quiet, mornings busy: an older person's day.
    assert gaps["00-06"]["median"] > 3 * gaps["06-09"]["median"]


def test_sim_stats_rejects_a_file_that_is_not_an_event_csv(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("hello\n")
    done = mimamori("sim-stats", "--events", str(bad))
    assert done.returncode == 2
    assert "expected header" in done.stderr


def test_kit_gives_every_home_the_presence_kit(tmp_path: Path) -> None:
    done = mimamori(
        "sim", "--households", "2", "--days", "2", "--seed", "5", "--kit", "presence",
        "--out-csv", str(tmp_path / "events.csv"), "--truth", str(tmp_path / "truth.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert [h["kit"] for h in truth["households"]] == ["presence", "presence"]
    rows = (tmp_path / "events.csv").read_text().splitlines()
    occupancy = {row.split(",")[2] for row in rows if row.split(",")[3:4] == ["occupancy"]}
    assert {"bathroom-presence", "toilet-presence", "kitchen-presence"} <= occupancy


def test_homes_with_room_sensors_report_their_rooms_in_the_files(tmp_path: Path) -> None:
    out = tmp_path / "events.csv"
    done = mimamori(
        "sim", "--households", "2", "--days", "1", "--start", "2026-08-20", "--climate-share", "1",
        "--out-csv", str(out), "--truth", str(tmp_path / "truth.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    temps = [r for r in rows if r[2] == "living-temp" and r[3] == "temperature"]
    assert len(temps) == 2 * 288  # two homes, every 5 minutes of the day
    assert {r[2] for r in rows if r[3] == "humidity"} == {"living-temp", "bedroom-temp", "bathroom-temp"}
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert all(h["kit"].endswith("+climate") for h in truth["households"])
    stats = mimamori("sim-stats", "--events", str(out))
    assert stats.returncode == 0, stats.stderr
    bad = mimamori("sim", "--households", "1", "--climate-share", "2", "--out-csv", str(tmp_path / "x.csv"))
    assert bad.returncode != 0
    assert "--climate-share" in bad.stderr
