"""Offline replay: parsing with counted rejections, order independence and no peeking ahead."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path

import pytest

from detection.findings import FindingKind
from detection.model import FixedProfiles
from detection.replay import Rejections, parse_rows, read_events, replay
from tests.support.detect_routine import ZONE, at, routine
from tests.support.processes import run_once

HEADER = ["ts", "household", "device", "kind", "value"]


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, ZONE).isoformat()


def rows_for(household: str, days: int, collapse: float | None = None) -> list[list[str]]:
    times, _ = routine(days)
    rows = []
    for i, t in enumerate(times):
        if collapse is not None and t >= collapse:
            break
        device = ("kitchen-motion", "hall-motion", "toilet-motion")[i % 3]
        rows.append([iso(t), household, device, "motion", "1"])
        rows.append([iso(t + 30), household, device, "motion", "0"])
    return rows


def findings_of(rows: list[list[str]], until: float | None = None) -> list[tuple[str, str, float]]:
    events = parse_rows([HEADER, *rows], Rejections())
    return [
        (f.household, f.kind.value, f.raised_at.timestamp())
        for f in replay(events, FixedProfiles("Asia/Tokyo"), until)
    ]


def test_bad_rows_are_counted_and_skipped() -> None:
    good = [iso(at(0, "08:00")), "h1", "hall-motion", "motion", "1"]
    rows = [
        HEADER,
        good,
        ["2026-03-02T08:00:00", "h1", "hall-motion", "motion", "1"],
        ["yesterday", "h1", "hall-motion", "motion", "1"],
        [iso(at(0, "08:01")), "h1", "hall-motion", "smell", "1"],
        [iso(at(0, "08:02")), "H 1", "hall-motion", "motion", "1"],
        [iso(at(0, "08:03")), "h1", "kettle", "power", "lots"],
        [iso(at(0, "08:03")), "h1", "kettle", "power", "nan"],
        [iso(at(0, "08:04")), "h1", "kettle"],
        [iso(at(0, "08:05")), "h1", "kettle", "checkin", "0"],
    ]
    rejections = Rejections()
    events = parse_rows(rows, rejections)
    assert len(events) == 1
    assert dict(rejections.counts) == {
        "timestamp_without_offset": 1,
        "bad_timestamp": 1,
        "bad_kind": 1,
        "bad_id": 1,
        "bad_value": 2,
        "bad_columns": 1,
    }
    assert rejections.examples["bad_kind"] == [5]
    assert rejections.ignored == 1  # a check-in is valid, just not activity


def test_bad_header_rejects_the_file_not_the_process() -> None:
    rejections = Rejections()
    assert parse_rows([["when", "who"], ["x", "y"]], rejections) == []
    assert rejections.counts["bad_header"] == 1


def test_collapse_is_found_and_order_does_not_matter() -> None:
    collapse = at(16, "13:00")
    rows = rows_for("h1", 18, collapse) + rows_for("h2", 18)
    found = findings_of(rows, until=at(17, "12:00"))
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    assert findings_of(shuffled, until=at(17, "12:00")) == found
    h1 = [f for f in found if f[0] == "h1" and f[2] >= collapse]
    assert h1
    assert h1[0][1] == FindingKind.INACTIVITY.value
    assert h1[0][2] - collapse <= 2 * 3600
    assert not [f for f in found if f[0] == "h2" and f[2] >= at(7, "00:00")]


@pytest.mark.parametrize("cut_day", [8, 12, 16])
def test_no_peeking_ahead(cut_day: int) -> None:
    rows = rows_for("h1", 18, at(16, "13:00")) + rows_for("h2", 18, at(11, "09:00"))
    full = findings_of(rows, until=at(18, "00:00"))
    cut = at(cut_day, "15:30")
    truncated = findings_of([r for r in rows if datetime.fromisoformat(r[0]).timestamp() < cut], until=cut)
    assert truncated == [f for f in full if f[2] <= cut]


def test_replay_command_writes_jsonl(tmp_path: Path) -> None:
    csv_path = tmp_path / "events.csv"
    rows = rows_for("h1", 10, at(9, "13:00"))
    rows.insert(5, ["broken"])
    csv_path.write_text("\n".join(",".join(r) for r in [HEADER, *rows]) + "\n", encoding="utf-8")
    out = tmp_path / "findings.jsonl"
    result = run_once(
        "replay", "--events", str(csv_path), "--tz", "Asia/Tokyo", "--until", iso(at(10, "09:00")),
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "rejected 1 rows: bad_columns" in result.stderr
    assert "events/s" in result.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines
    last = lines[-1]
    assert {"household", "kind", "raised_at", "last_activity_at", "explanation"} <= set(last)
    assert last["kind"] == "inactivity"
    assert datetime.fromisoformat(last["raised_at"]) > datetime.fromisoformat(last["last_activity_at"])
    assert "no activity since" in last["explanation"]
    assert "replay: rooms " in result.stderr  # what the device names were taken to mean


def test_read_events_from_file(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "ts,household,device,kind,value\n" + ",".join(rows_for("h1", 1)[0]) + "\n", encoding="utf-8"
    )
    assert len(read_events(path, Rejections())) == 1


def test_events_at_the_same_instant_take_a_canonical_order() -> None:
    t = iso(at(0, "08:00"))
    door = [t, "h1", "main-door", "door", "1"]
    motion = [t, "h1", "hall-motion", "motion", "1"]
    later = [iso(at(0, "08:01")), "h1", "hall-motion", "motion", "0"]
    one = parse_rows([HEADER, later, door, motion], Rejections())
    other = parse_rows([HEADER, motion, later, door], Rejections())
    assert one == other
    assert [e[2] for e in one] == ["hall-motion", "main-door", "hall-motion"]
    assert [e[0] for e in one] == sorted(e[0] for e in one)


def test_sorted_and_shuffled_files_write_the_same_jsonl(tmp_path: Path) -> None:
    rows = rows_for("h1", 10, at(9, "13:00")) + rows_for("h2", 10, at(8, "07:00"))
    t = iso(at(3, "10:00"))  # events at one instant, whose order would matter
    rows += [[t, "h1", "main-door", "door", "1"], [t, "h1", "hall-motion", "motion", "1"]]
    outputs = []
    until_args = ["--until", iso(at(10, "09:00")), "--out"]
    for name, ordered in (
        ("sorted", sorted(rows, key=lambda r: datetime.fromisoformat(r[0]))),
        ("shuffled", rows),
    ):
        if name == "shuffled":
            random.Random(3).shuffle(ordered)
        csv_path = tmp_path / f"{name}.csv"
        csv_path.write_text("\n".join(",".join(r) for r in [HEADER, *ordered]) + "\n", encoding="utf-8")
        out = tmp_path / f"{name}.jsonl"
        result = run_once("replay", "--events", str(csv_path), "--tz", "Asia/Tokyo", *until_args, str(out))
        assert result.returncode == 0, result.stderr
        outputs.append(out.read_text(encoding="utf-8"))
    assert outputs[0].count("\n") >= 2  # both collapses raised something
    assert outputs[0] == outputs[1]
