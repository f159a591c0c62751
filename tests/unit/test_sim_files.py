"""Event files and their statistics."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from firmware_sim.files import CSV_HEADER, Row, read_csv, write_csv, write_jsonl
from firmware_sim.simulate import generate
from firmware_sim.stats import compute
from mimamori import contract
from mimamori.contract import Kind

TOKYO = ZoneInfo("Asia/Tokyo")


def test_csv_and_jsonl_carry_the_same_events_and_jsonl_is_the_contract(tmp_path: Path) -> None:
    result = generate(3, 1, seed=4)
    zones = {h.household: h.zone for h in result.homes}
    csv_text, jsonl_text = io.StringIO(), io.StringIO()
    assert write_csv(result.events, csv_text, zones) == len(result.events)
    assert write_jsonl(result.events, jsonl_text) == len(result.events)
    path = tmp_path / "events.csv"
    path.write_text(csv_text.getvalue())
    rows = list(read_csv(path))
    lines = jsonl_text.getvalue().splitlines()
    assert csv_text.getvalue().splitlines()[0] == ",".join(CSV_HEADER)
    assert len(rows) == len(lines) == len(result.events)
    for row, line in zip(rows, lines, strict=True):
        obj = json.loads(line)
        topic = contract.topic(obj["household"], obj["gateway"], contract.Channel.EVENTS)
        event = contract.decode_event(topic, line.encode(), now=row.ts.astimezone(UTC))
        assert (event.household, event.device, event.kind, event.value) == (
            row.household,
            row.device,
            row.kind,
            row.value,
        )
        assert event.observed_at == row.ts
        assert row.ts.utcoffset() == timedelta(hours=9)
    seqs = [json.loads(line)["seq"] for line in lines if json.loads(line)["household"] == "home-0001"]
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("when,who\n", "expected header"),
        ("ts,household,device,kind,value\n2026-11-02T00:00:00,h,d,motion,1\n", ":2: timestamp"),
        ("ts,household,device,kind,value\n2026-11-02T00:00:00+09:00,h,d,smell,1\n", ":2:"),
        ("ts,household,device,kind,value\n2026-11-02T00:00:00+09:00,h,d,motion\n", ":2:"),
    ],
)
def test_read_csv_names_the_bad_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        list(read_csv(path))


def row(day: int, hour: int, minute: int, device: str, kind: Kind, value: float) -> Row:
    ts = datetime(2026, 11, 2 + day, hour, minute, tzinfo=TOKYO)
    return Row(ts, "h", device, kind, value)


def test_stats_counts_per_day_and_finds_the_longest_quiet_gap_by_time_of_day() -> None:
    rows = [
        row(0, 0, 5, "hall-motion", Kind.MOTION, 1),  # first report before 01:00: day 0 is whole
        row(0, 6, 30, "hall-motion", Kind.MOTION, 1),
        row(0, 6, 31, "hall-motion", Kind.MOTION, 0),  # a clear is not activity
        row(0, 7, 0, "kettle", Kind.POWER, 1200),
        row(0, 7, 3, "kettle", Kind.POWER, 0),
        row(0, 8, 0, "tv", Kind.POWER, 80),
        row(0, 10, 0, "tv", Kind.POWER, 82),  # still on: not activity
        row(0, 12, 0, "hall-motion", Kind.CHECKIN, 0),
        row(0, 23, 30, "main-door", Kind.DOOR, 1),  # last report after 23:00: whole
    ]
    summary = compute(rows).summary()
    assert summary["household_days"] == 1
    per_day = summary["per_household_day"]
    assert isinstance(per_day, dict)
    assert per_day["motion"]["max"] == 3
    assert per_day["power"]["max"] == 4
    assert per_day["checkin"]["max"] == 1
    gaps = summary["longest_quiet_gap_minutes"]
    assert isinstance(gaps, dict)
    assert gaps["00-06"]["max"] == 355.0  # 00:05 .. 06:00
    assert gaps["06-09"]["max"] == 60.0  # 07:03 .. 08:00
    assert gaps["09-12"]["max"] == 180.0  # nothing from 08:00 on
    assert gaps["21-24"]["max"] == 150.0  # 21:00 .. 23:30
    assert summary["activity_per_household_day"] == {"mean": 6, "min": 6, "median": 6, "p90": 6, "max": 6}


def test_stats_drop_partial_first_and_last_days() -> None:
    rows = [row(0, 9, 0, "hall-motion", Kind.MOTION, 1), row(1, 9, 0, "hall-motion", Kind.MOTION, 1)]
    rows += [row(1, 0, 30, "hall-motion", Kind.CHECKIN, 0), row(1, 23, 30, "hall-motion", Kind.CHECKIN, 0)]
    rows += [row(2, 9, 0, "hall-motion", Kind.MOTION, 1)]
    assert compute(rows).summary()["household_days"] == 1


@pytest.mark.parametrize("fmt", ["native", "zigbee2mqtt", "shelly", "tasmota", "mixed"])
def test_the_gateway_config_written_for_a_simulated_home_loads_and_maps_every_device(
    tmp_path: Path, fmt: str
) -> None:
    from firmware_sim.cli import gateway_toml
    from firmware_sim.formats import device_map
    from gateway.cli import router_for
    from mimamori.config import load_config

    (home,) = generate(1, 1, seed=6, climate_share=1.0).homes  # with room thermometers and the aircon plug
    path = tmp_path / "gw.toml"
    path.write_text(
        gateway_toml(home.household, home.tz, "homes/x", device_map(home.household, home.kit, fmt))
    )  # type: ignore[arg-type]
    config = load_config(path, environ={})
    assert config.gateway.household == home.household
    assert set(config.gateway.devices) == {d.id for d in home.kit.devices}
    assert router_for(config.gateway).subscriptions()[0] == "homes/x/home/+/+"
