"""``mimamori households import``: households, contacts and escalation policies from a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mimamori.clock import SystemClock
from mimamori.commands import Subcommands, add_config_argument, config_from
from registry.households_import import ImportError_, import_data, read_file
from registry.repository import Registry


def register(sub: Subcommands) -> None:
    households = sub.add_parser("households", help="manage households, contacts and escalation policies")
    hsub = households.add_subparsers(dest="households_command", required=True, metavar="ACTION")
    imp = hsub.add_parser("import", help="import households, contacts and policies from a YAML or TOML file")
    imp.add_argument("file", type=Path)
    add_config_argument(imp)
    imp.set_defaults(func=_import)


def _import(args: argparse.Namespace) -> int:
    repo = Registry(config_from(args).alerts.state_path)
    repo.open()
    try:
        data = read_file(args.file)
        report = import_data(repo, data, SystemClock().now())
    except ImportError_ as exc:
        print(f"mimamori: {exc}", file=sys.stderr)
        return 2
    finally:
        repo.close()
    counts = f"{report.households} households, {report.contacts} contacts"
    if report.organisations:
        counts += f", {report.organisations} organisations"
    print(f"imported {counts}; rejected {len(report.rejected)}")
    for reason in report.rejected:
        print(f"  rejected {reason}", file=sys.stderr)
    return 1 if report.rejected else 0
