"""What every stage's ``cli`` module needs to register its subcommands: the shared ``--config`` flag.

The ``mimamori`` command itself (:mod:`app.cli`) collects the stages' ``register`` functions.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

from mimamori.config import Config, ConfigError, load_config

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns, as each stage's ``register(sub)`` receives it."""


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
