"""Heartbeat files: a service writes the time of its last completed cycle; the watchdog reads it.

A file (not a row) so that a broken or locked database cannot hide a beat, and a reader needs nothing
but the path. Writes are atomic (a temporary file renamed over the old one).
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path

from mimamori.config import Config


def beat(path: Path, now: datetime) -> None:
    """Record ``now`` (aware) as the last completed cycle. Raises :class:`OSError` when it cannot."""
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(now.isoformat(), encoding="utf-8")
    os.replace(temporary, path)


def last_beat(path: Path) -> datetime | None:
    """The last recorded beat; None when there is none (never written, unreadable or damaged)."""
    with contextlib.suppress(OSError, ValueError):
        when = datetime.fromisoformat(path.read_text(encoding="utf-8").strip())
        return when if when.tzinfo is not None else None
    return None


def drill_beat_path(config: Config) -> Path:
    """Where the alerts service records the drill household's newest activity as the detector saw it
    (beside its tick heartbeat), for the watchdog's end-to-end drill."""
    tick = config.alerts.heartbeat_path
    return tick.with_name(f"{tick.name}.drill")
