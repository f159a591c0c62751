"""The ``mimamori`` command: every stage registers its own subcommands from its ``cli`` module.

This is the composition root's entry point, the only module that knows every stage's commands.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from app import broker_accounts, demo, privacy
from app.watchdog import cli as watchdog_cli
from dashboard import cli as dashboard_cli
from detection import cli as detection_cli
from escalation import cli as escalation_cli
from firmware_sim import cli as sim_cli
from gateway import cli as gateway_cli
from ingest import cli as ingest_cli
from mimamori.commands import Subcommands
from registry import cli as registry_cli

THIRD_PARTY_LOGGERS = ("apscheduler", "aiohttp.access", "aiohttp.server", "paho", "moat", "twilio")

REGISTRARS: tuple[Callable[[Subcommands], None], ...] = (
    sim_cli.register,
    gateway_cli.register,
    ingest_cli.register,
    escalation_cli.register,
    registry_cli.register,
    detection_cli.register,
    dashboard_cli.register,
    demo.register,
    broker_accounts.register,
    privacy.register,
    watchdog_cli.register,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mimamori", description="Mimamori: watching over older people who live alone."
    )
    parser.add_argument(
        "--log-level",
        default=None,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="INFO by default (the demo: WARNING); given, it opens third-party loggers too",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in REGISTRARS:
        register(sub)
    return parser


def setup_logging(args: argparse.Namespace) -> None:
    """Our loggers at ``--log-level`` (default INFO, or the command's quieter default); third-party
    loggers at WARNING unless ``--log-level`` is given."""
    level = args.log_level or getattr(args, "quiet_log_level", "INFO")
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    if args.log_level is None:
        for name in THIRD_PARTY_LOGGERS:
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    return result
