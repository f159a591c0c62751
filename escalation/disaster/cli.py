"""``mimamori disaster-check start|status|end|ask``: disaster checks from the command line.

``start`` and ``end`` are requests: the alerts service (``mimamori alerts``, or the demo) acts on them
within ``[disaster] check_s``, on its own clock. ``status --json`` prints the latest check (``null``
when there has been none).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime

from escalation.disaster.commands import ask_area, request, request_end, running_status
from escalation.disaster.records import DisasterRecords
from escalation.repository import EscalationRepository
from mimamori.clock import FileClock, SystemClock
from mimamori.commands import Subcommands, add_config_argument, config_from


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "disaster-check", help="安否確認: text every resident after a disaster, see who is safe"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="start a check (every household, or one organisation or area)")
    start.add_argument("--org", default=None, help="only this organisation's households")
    start.add_argument("--area", default=None, help="only this area's households")
    _by(start)
    start.set_defaults(func=_start)
    status = actions.add_parser("status", help="the latest check: counts and who to reach first")
    status.add_argument(
        "--json", action="store_true", help="id, started_at, households, safe, unknown, ordered"
    )
    status.add_argument("--org", default=None, help="the latest check of this organisation")
    add_config_argument(status)
    status.set_defaults(func=_status)
    end = actions.add_parser("end", help="end the open check (its report is kept)")
    end.add_argument("--id", default=None, help="the check (default: the only open one)")
    _by(end)
    end.set_defaults(func=_end)
    ask = actions.add_parser("ask", help="ask the volunteers of one area to look (a few a minute)")
    ask.add_argument("--area", required=True)
    ask.add_argument("--id", default=None, help="the check (default: the only open one)")
    _by(ask)
    ask.set_defaults(func=_ask)


def _by(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", default="", help="who does it, for the audit (default: the OS user)")
    add_config_argument(parser)


def _open(args: argparse.Namespace) -> EscalationRepository:
    """The state file; never created here (no households, nothing to check): exits 1 without one."""
    path = config_from(args).alerts.state_path
    if not path.exists():
        print(f"mimamori: no state file at {path} (import households first)", file=sys.stderr)
        raise SystemExit(1)
    repo = EscalationRepository(path)
    repo.open()
    return repo


def _actor(args: argparse.Namespace) -> str:
    return f"cli:{args.by or os.environ.get('USER') or 'operator'}"


def _now(args: argparse.Namespace) -> datetime:
    config = config_from(args)
    return (FileClock(config.alerts.clock_file) if config.alerts.clock_file else SystemClock()).now()


def _start(args: argparse.Namespace) -> int:
    repo = _open(args)
    try:
        if args.org is not None and repo.organisation(args.org) is None:
            print(f"mimamori: no organisation {args.org!r}", file=sys.stderr)
            return 2
        if not repo.households(organisation=args.org, area=args.area):
            print("mimamori: no household in that organisation and area", file=sys.stderr)
            return 2
        check, fresh = request(DisasterRecords(repo), args.org, args.area, _actor(args), _now(args))
    finally:
        repo.close()
    if not fresh:
        print(f"mimamori: check {check.id} is still open; end it first (disaster-check end)", file=sys.stderr)
        return 1
    print(f"disaster check {check.id} requested; the alerts service starts it within seconds")
    return 0


def _status(args: argparse.Namespace) -> int:
    path = config_from(args).alerts.state_path
    if not path.exists():
        print("null" if args.json else "no disaster check yet")
        return 0
    repo = _open(args)
    try:
        found = running_status(DisasterRecords(repo), args.org)
    finally:
        repo.close()
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return 0
    if found is None:
        print("no disaster check yet")
        return 0
    state = "ended" if found["ended_at"] else "running" if found["started_at"] else "requested"
    print(
        f"check {found['id']} {state}: {found['households']} households, {found['safe']} safe,"
        f" {found['unknown']} unknown (blind), {found['waiting']} not yet known safe"
    )
    for n, row in enumerate(found["ordered"], start=1):
        flags = [f for f, on in (("HELP", row["help"]), ("no sign", row["no_sign_since_start"])) if on]
        flags += ["alone"] if row["lives_alone"] else []
        flags += row["needs"]
        where = f"{row['household']:<14} {row['name']:<12} {row['area']:<8}"
        print(f"{n:>4}. {where} {row['standing']:<8} {' '.join(flags)}")
    return 0


def _the_check(records: DisasterRecords, given: str | None) -> str | None:
    if given is not None:
        return given
    open_checks = records.open_checks()
    if len(open_checks) == 1:
        return open_checks[0].id
    print(
        "mimamori: no open check" if not open_checks else "mimamori: several open checks: give --id",
        file=sys.stderr,
    )
    return None


def _end(args: argparse.Namespace) -> int:
    repo = _open(args)
    try:
        records = DisasterRecords(repo)
        check_id = _the_check(records, args.id)
        check = records.check(check_id) if check_id else None
        if check_id is not None and (check is None or check.ended_at is not None):
            print(f"mimamori: no open check {check_id}", file=sys.stderr)
        if check is None or check.ended_at is not None:
            return 1
        request_end(records, check, _actor(args), _now(args))
    finally:
        repo.close()
    print(f"end of check {check.id} requested; the alerts service ends it within seconds, with a report")
    return 0


def _ask(args: argparse.Namespace) -> int:
    repo = _open(args)
    try:
        records = DisasterRecords(repo)
        check_id = _the_check(records, args.id)
        check = records.check(check_id) if check_id else None
        if check is None or not check.running:
            if check_id is not None:
                print(f"mimamori: check {check_id} is not running", file=sys.stderr)
            return 1
        if args.area not in {h.area for h in records.households(check.id)}:
            print(f"mimamori: no household of check {check.id} in area {args.area!r}", file=sys.stderr)
            return 2
        fresh = ask_area(records, check, args.area, _actor(args), _now(args))
    finally:
        repo.close()
    print(f"volunteers of {args.area} {'will be asked' if fresh else 'were already asked'}, a few a minute")
    return 0
