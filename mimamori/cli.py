"""The ``mimamori`` command. Each stage registers its own subcommands from its ``cli`` module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from mimamori.config import Config, ConfigError, load_config

COMMAND_MODULES = (
    "firmware_sim.cli",
    "gateway.cli",
    "ingest.cli",
    "alerts.cli",
    "alerts.detection.cli",
    "dashboard.cli",
    "mimamori.demo",
    "mimamori.broker_config",
    "mimamori.privacy",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mimamori", description="Mimamori: watching over older people who live alone."
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, default=None, help="TOML configuration file (defaults: embedded demo settings)"
    )


def config_from(args: argparse.Namespace) -> Config:
    """Load and validate the configuration named by ``--config``; exits with the reason when invalid."""
    try:
        return load_config(getattr(args, "config", None))
    except ConfigError as exc:
        raise SystemExit(f"mimamori: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    result: int = args.func(args)
    return result
