"""``mimamori households import``, ``mimamori outbox``: the escalation state from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from alerts.households_import import ImportError_, import_data, read_file
from alerts.state.codec import to_db_time
from alerts.state.repository import StateRepository
from mimamori.cli import add_config_argument, config_from
from mimamori.clock import SystemClock


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    households = sub.add_parser("households", help="manage households, contacts and escalation policies")
    hsub = households.add_subparsers(dest="households_command", required=True, metavar="ACTION")
    imp = hsub.add_parser("import", help="import households, contacts and policies from a YAML or TOML file")
    imp.add_argument("file", type=Path)
    add_config_argument(imp)
    imp.set_defaults(func=_import)

    outbox = sub.add_parser("outbox", help="list the SMS messages (sent, queued, or stored in the outbox)")
    outbox.add_argument("--json", action="store_true", help="a JSON list: to, body, status, created_at, ...")
    outbox.add_argument("--limit", type=int, default=100)
    add_config_argument(outbox)
    outbox.set_defaults(func=_outbox)


def _repo(args: argparse.Namespace) -> StateRepository:
    repo = StateRepository(config_from(args).alerts.state_path)
    repo.open()
    return repo


def _import(args: argparse.Namespace) -> int:
    repo = _repo(args)
    try:
        data = read_file(args.file)
        report = import_data(repo, data, SystemClock().now())
    except ImportError_ as exc:
        print(f"mimamori: {exc}", file=sys.stderr)
        return 2
    finally:
        repo.close()
    counts = f"{report.households} households, {report.contacts} contacts"
    print(f"imported {counts}; rejected {len(report.rejected)}")
    for reason in report.rejected:
        print(f"  rejected {reason}", file=sys.stderr)
    return 1 if report.rejected else 0


def _outbox(args: argparse.Namespace) -> int:
    repo = _repo(args)
    try:
        messages = repo.sms_messages(limit=args.limit)
    finally:
        repo.close()
    if args.json:
        rows = [
            {
                "id": m.id,
                "to": m.to,
                "body": m.body,
                "status": m.status.value,
                "purpose": m.purpose.value,
                "urgent": m.urgent,
                "incident": m.incident,
                "contact": m.contact,
                "created_at": to_db_time(m.created_at),
                "error_code": m.error_code,
            }
            for m in messages
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for m in messages:
        print(f"{to_db_time(m.created_at)}  {m.status.value:<11} {m.to:<16} {m.body}")
    return 0
