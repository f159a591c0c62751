"""``mimamori replay``: the live detector over an event file, in simulated time."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from detection.explain import render
from detection.findings import Finding
from detection.learning import SENSITIVITY_FACTORS
from detection.model import FixedProfiles, Tuning
from detection.replay import Rejections, read_events, replay
from detection.rooms import RoomMap, read_device_rooms
from mimamori.commands import Subcommands
from mimamori.config import known_time_zone
from mimamori.sqlite import DatabaseError
from registry.models import Feedback, Sensitivity, Switch
from registry.repository import Registry

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "replay",
        help="replay an event file through the detector, writing findings as JSONL",
        description="Replay CSV events (ts,household,device,kind,value) through the live detector in "
        "simulated time (a tick every minute, learning online from the past only).",
    )
    parser.add_argument("--events", type=Path, required=True, help="CSV file, sorted or not")
    parser.add_argument("--tz", required=True, help="households' time zone, e.g. Asia/Tokyo")
    parser.add_argument(
        "--until", default=None, help="keep ticking until this ISO 8601 time (default: the last event)"
    )
    parser.add_argument("--out", type=Path, required=True, help="JSONL output, one finding per line")
    parser.add_argument("--sensitivity", type=float, default=1.0, help="> 1 alarms sooner (default 1.0)")
    parser.add_argument("--night-exit", action="store_true", help="enable night-exit findings")
    parser.add_argument(
        "--evening-check",
        nargs="?",
        const="on",
        default="auto",
        help="the evening check: auto (default: on where no living-room or bedroom activity is seen), "
        "on (the flag alone) or off",
    )
    parser.add_argument(
        "--devices",
        type=Path,
        default=None,
        help="CSV device,room (entrance, living, bedroom, kitchen, bathroom, toilet, other) for every "
        "household of the file; other devices' rooms are inferred from their names",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        help="the alerts state file: each household's sensitivity and the outcomes of its closed "
        "incidents (false alarms, emergencies) are applied as the live detector applies them",
    )
    parser.set_defaults(func=run)


def finding_json(finding: Finding) -> str:
    return json.dumps(
        {
            "household": finding.household,
            "kind": finding.kind.value,
            "severity": finding.severity.value,
            "audience": finding.audience.value,
            "raised_at": finding.raised_at.isoformat(),
            "last_activity_at": None
            if finding.last_activity_at is None
            else finding.last_activity_at.isoformat(),
            "episode": finding.episode,
            "device": finding.device,
            "explanation": render(finding.explanation, "en"),
            "explanation_ja": render(finding.explanation, "ja"),
            "explanation_key": finding.explanation.key,
            "explanation_params": dict(finding.explanation.params),
        },
        ensure_ascii=False,
    )


def run(args: argparse.Namespace) -> int:
    try:
        known_time_zone(args.tz)
    except ValueError as exc:
        print(f"mimamori replay: {exc}", file=sys.stderr)
        return 2
    until = None
    if args.until is not None:
        try:
            parsed = datetime.fromisoformat(args.until)
        except ValueError:
            print(f"mimamori replay: --until is not ISO 8601: {args.until!r}", file=sys.stderr)
            return 2
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(args.tz))
        until = parsed.timestamp()
    if args.sensitivity <= 0:
        print("mimamori replay: --sensitivity must be > 0", file=sys.stderr)
        return 2
    try:
        evening_check = Switch.parse(args.evening_check)
    except ValueError as exc:
        print(f"mimamori replay: --evening-check: {exc}", file=sys.stderr)
        return 2
    given = {}
    if args.devices is not None:
        try:
            given = read_device_rooms(args.devices)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            print(f"mimamori replay: --devices {args.devices}: {exc}", file=sys.stderr)
            return 2
    started = time.perf_counter()
    rejections = Rejections()
    try:
        events = read_events(args.events, rejections)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"mimamori replay: cannot read {args.events}: {exc}", file=sys.stderr)
        return 2
    households = len({e[1] for e in events})
    print(
        f"replay: {len(events)} events from {households} households read"
        f" ({rejections.total} rejected, {rejections.ignored} battery/check-in rows ignored)"
        f" in {time.perf_counter() - started:.2f} s",
        file=sys.stderr,
    )
    for reason, count in sorted(rejections.counts.items()):
        lines = ", ".join(str(n) for n in rejections.examples[reason])
        print(f"replay: rejected {count} rows: {reason} (e.g. line {lines})", file=sys.stderr)

    if rejections.counts.get("bad_header"):
        print("mimamori replay: the first line must be ts,household,device,kind,value", file=sys.stderr)
        return 2

    learned = _learned(args.state, sorted({e[1] for e in events})) if args.state is not None else ({}, {})
    if learned is None:
        return 2
    profiles = FixedProfiles(
        args.tz,
        night_exit_enabled=args.night_exit,
        evening_check=evening_check,
        sensitivities=learned[0],
        feedback=learned[1],
    )
    tuning = Tuning(sensitivity=args.sensitivity)
    rooms = RoomMap(given)
    devices = sorted({e[2] for e in events})
    print(
        "replay: rooms "
        + ", ".join(f"{d}={rooms.room(d).value}{'' if d in given else '?'}" for d in devices)
        + " (? inferred from the name)",
        file=sys.stderr,
    )
    count = 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # A progress bar on a terminal; piped, rich prints the finished bar once.
    columns = (
        TextColumn("replay"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[raised]} findings"),
    )
    with args.out.open("w", encoding="utf-8") as out, Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("replay", total=len(events), raised=0)

        def progress(done: int, total: int, raised: int) -> None:
            bar.update(task, completed=done, total=total, raised=raised)

        for finding in replay(events, profiles, until, tuning, progress, rooms):
            out.write(finding_json(finding) + "\n")
            count += 1
    elapsed = time.perf_counter() - started
    rate = len(events) / elapsed if elapsed > 0 else 0.0
    print(
        f"replay: done, {count} findings written to {args.out} ({elapsed:.2f} s, {rate:,.0f} events/s)",
        file=sys.stderr,
    )
    return 0


def _learned(path: Path, households: list[str]) -> tuple[dict[str, float], dict[str, list[Feedback]]] | None:
    """Each household's sensitivity (where not standard) and learned outcomes from the alerts state
    (None: the file cannot be read, said on stderr)."""
    if not path.is_file():
        print(f"mimamori replay: --state {path}: no such file", file=sys.stderr)
        return None
    repo = Registry(path)
    try:
        repo.open()
        levels = {h: repo.sensitivity(h) for h in households}
        outcomes = {h: found for h in households if (found := repo.feedback(h, EPOCH))}
    except DatabaseError as exc:
        print(f"mimamori replay: --state {path}: {exc}", file=sys.stderr)
        return None
    finally:
        repo.close()
    sensitivities = {
        h: SENSITIVITY_FACTORS[level] for h, level in levels.items() if level is not Sensitivity.STANDARD
    }
    print(
        f"replay: from {path}: {len(sensitivities)} households with their own sensitivity,"
        f" {sum(len(v) for v in outcomes.values())} outcomes learned from",
        file=sys.stderr,
    )
    return sensitivities, outcomes
