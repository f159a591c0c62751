"""Heat-alert days (熱中症警戒アラート) per area, from a CSV file an operator keeps (docs/climate.md).

The file has a header ``date,area`` and one row per alert day and area: the local date (ISO 8601) and
the area's code as the operator chose to write it (``13`` for Tokyo, or a forecast district's code).
A household's area is its registry ``area`` when the file names it, otherwise the ``[climate] area``
of the deployment. Bad rows are skipped and counted, never a crash; the file is read again when it
changes (a scheduled job replaces it), so a tick costs one ``stat``.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mimamori.config import ClimateConfig
from registry.repository import Registry

log = logging.getLogger(__name__)

HEADER = ("date", "area")


@dataclass(frozen=True, slots=True)
class AlertDays:
    """The alert days of one reading of the file, and how many rows were not understood."""

    days: frozenset[tuple[date, str]]
    rejected: int = 0

    @property
    def areas(self) -> frozenset[str]:
        return frozenset(area for _, area in self.days)


def parse_alert_days(text: str) -> AlertDays:
    """The ``date,area`` rows of ``text`` (blank lines and ``#`` comments skipped, bad rows counted)."""
    days: set[tuple[date, str]] = set()
    rejected = 0
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    rows = csv.reader(lines)
    for number, row in enumerate(rows):
        cells = tuple(cell.strip() for cell in row)
        if number == 0 and cells == HEADER:
            continue
        try:
            if len(cells) != 2 or not cells[1] or len(cells[1]) > 40:
                raise ValueError("expected date,area")
            days.add((date.fromisoformat(cells[0]), cells[1]))
        except ValueError:
            rejected += 1
    return AlertDays(frozenset(days), rejected)


@dataclass(slots=True)
class HeatAlertDays:
    """Whether a household's area is under a heat alert on a local date; reads ``path`` when it changes."""

    path: Path
    area_of: Callable[[str], str]  # the household's registry area ("" if none)
    default_area: str = ""
    read: AlertDays = field(default_factory=lambda: AlertDays(frozenset()))
    _mtime: float | None = None

    def refresh(self) -> None:
        """Read the file again if it changed; a missing or unreadable file keeps what was read."""
        try:
            mtime = self.path.stat().st_mtime
            if mtime == self._mtime:
                return
            text = self.path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("detection.heat_alerts_unreadable path=%s error=%s", self.path, exc)
            return
        self._mtime, self.read = mtime, parse_alert_days(text)
        log.info(
            "detection.heat_alerts_read path=%s days=%s rejected=%s",
            self.path,
            len(self.read.days),
            self.read.rejected,
        )

    def alert_day(self, household: str, day: date) -> bool:
        area = self.area_of(household)
        if area not in self.read.areas:
            area = self.default_area
        return bool(area) and (day, area) in self.read.days


def heat_alerts_for(config: ClimateConfig, repo: Registry) -> HeatAlertDays | None:
    """The heat-alert days of ``[climate] alert_days_path`` (None when not configured)."""
    if config.alert_days_path is None:
        return None

    def area_of(household: str) -> str:
        found = repo.household(household)
        return "" if found is None else found.area

    return HeatAlertDays(config.alert_days_path, area_of, config.area)
