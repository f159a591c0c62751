"""Event files: CSV ``ts,household,device,kind,value``, JSONL canonical envelopes, and the ground truth."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from firmware_sim.events import SimEvent
from mimamori import contract

CSV_HEADER = ("ts", "household", "device", "kind", "value")
GATEWAY = "gw-1"


def format_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def write_csv(events: Iterable[SimEvent], out: IO[str], zones: dict[str, ZoneInfo]) -> int:
    """One row per report; ``ts`` is the device's timestamp in the household's local time, with offset."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    count = 0
    for e in events:
        ts = e.observed_at.astimezone(zones[e.household]).isoformat(timespec="milliseconds")
        writer.writerow((ts, e.household, e.device, e.kind.value, format_value(e.value)))
        count += 1
    return count


def write_jsonl(events: Iterable[SimEvent], out: IO[str]) -> int:
    """One canonical envelope per line (gateway ``gw-1``, seq counting per household from 1)."""
    seqs: dict[str, int] = {}
    count = 0
    for e in events:
        seq = seqs.get(e.household, 0) + 1
        seqs[e.household] = seq
        out.write(e.envelope(GATEWAY, seq).encode().decode())
        out.write("\n")
        count += 1
    return count


def write_truth(truth: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Row:
    """One CSV row read back; ``ts`` keeps the offset it was written with (the household's local time)."""

    ts: datetime
    household: str
    device: str
    kind: contract.Kind
    value: float


def read_csv(path: Path) -> Iterator[Row]:
    """Rows of an event CSV; raises ValueError naming the line for anything malformed."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) != CSV_HEADER:
            raise ValueError(f"{path}: expected header {','.join(CSV_HEADER)}")
        for line, fields in enumerate(reader, start=2):
            try:
                ts, household, device, kind, value = fields
                at = datetime.fromisoformat(ts)
                if at.tzinfo is None:
                    raise ValueError(f"timestamp {ts!r} has no offset")
                yield Row(at, household, device, contract.Kind(kind), float(value))
            except ValueError as exc:
                raise ValueError(f"{path}:{line}: {exc}") from None
