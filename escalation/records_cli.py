"""``mimamori volunteers records --month YYYY-MM [--org ORG] [--csv]``: each volunteer's month."""

from __future__ import annotations

import argparse
import sys

from escalation.records import CSV_COLUMNS, month_span, points_rule, records, row, to_csv
from escalation.repository import EscalationRepository
from mimamori.commands import Subcommands, add_config_argument, config_from


def register(sub: Subcommands) -> None:
    volunteers = sub.add_parser("volunteers", help="volunteers' activity records (ボランティアポイント)")
    actions = volunteers.add_subparsers(dest="action", required=True, metavar="ACTION")
    recs = actions.add_parser(
        "records", help="per volunteer: alerts received, answered, claimed, visits, drills, points"
    )
    recs.add_argument("--month", required=True, help="YYYY-MM, in the deployment's time zone")
    recs.add_argument("--org", default=None, help="only the volunteers serving this organisation")
    recs.add_argument("--csv", action="store_true", help="CSV with a header row (one row per volunteer)")
    add_config_argument(recs)
    recs.set_defaults(func=_records)


def _records(args: argparse.Namespace) -> int:
    config = config_from(args)
    try:
        month_span(args.month, config.time_zone)
    except ValueError as exc:
        print(f"mimamori: {exc}", file=sys.stderr)
        return 2
    path = config.alerts.state_path
    if not path.exists():
        print(f"nothing here yet: {path} does not exist", file=sys.stderr)
        return 0 if not args.csv else _empty()
    repo = EscalationRepository(path)
    repo.open()
    try:
        if args.org is not None and repo.organisation(args.org) is None and args.org != "default":
            print(f"mimamori: unknown organisation {args.org!r}", file=sys.stderr)
            return 2
        found = records(repo, args.month, config.time_zone, args.org)
    finally:
        repo.close()
    rule = points_rule(config.volunteers.points)
    if args.csv:
        sys.stdout.write(to_csv(found, rule))
        return 0
    if not found:
        print("no volunteers", file=sys.stderr)
        return 0
    print(_table([list(CSV_COLUMNS), *([str(v) for v in row(r, rule)] for r in found)]))
    return 0


def _empty() -> int:
    sys.stdout.write(",".join(CSV_COLUMNS) + "\n")
    return 0


def _table(rows: list[list[str]]) -> str:
    """Aligned columns (counts to the right); the outcome columns shortened to fit a terminal."""
    header = [c.removeprefix("visit_")[:9] for c in rows[0]]
    body = [header, *rows[1:]]
    widths = [max(_width(r[i]) for r in body) for i in range(len(header))]
    lines = []
    for r in body:
        cells = [
            c + " " * (w - _width(c)) if i < 2 else " " * (w - _width(c)) + c
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _width(text: str) -> int:
    """Columns on a terminal: Japanese characters take two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
