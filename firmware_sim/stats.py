"""Statistics of an event file: reports per household-day per kind, and the longest quiet gaps by time of day.

"Quiet" means no activity as the contract defines it (``contract.is_activity``): battery and check-in
reports and a TV that stays on do not break a quiet gap.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from firmware_sim.files import Row
from mimamori import contract

BUCKETS: tuple[tuple[int, int], ...] = ((0, 6), (6, 9), (9, 12), (12, 15), (15, 18), (18, 21), (21, 24))
"""Local hours: night, early morning, morning, midday, afternoon, evening, late evening."""


@dataclass
class Stats:
    per_day: dict[str, dict[tuple[str, date], int]] = field(default_factory=lambda: defaultdict(dict))
    gaps: dict[tuple[int, int], dict[tuple[str, date], float]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    household_days: set[tuple[str, date]] = field(default_factory=set)
    activity_per_day: dict[tuple[str, date], int] = field(default_factory=lambda: defaultdict(int))
    total: int = 0

    def summary(self) -> dict[str, object]:
        days = sorted(self.household_days)
        kinds = {}
        for kind in contract.Kind:
            counts = [self.per_day[kind.value].get(key, 0) for key in days]
            kinds[kind.value] = _spread(counts) if counts else None
        gaps = {}
        for lo, hi in BUCKETS:
            minutes = [self.gaps[(lo, hi)].get(key, float(hi - lo) * 60) for key in days]
            gaps[f"{lo:02d}-{hi:02d}"] = _spread(minutes) if minutes else None
        return {
            "events": self.total,
            "household_days": len(days),
            "per_household_day": kinds,
            "activity_per_household_day": _spread([self.activity_per_day.get(k, 0) for k in days]),
            "longest_quiet_gap_minutes": gaps,
        }


def _spread(values: list[int] | list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "mean": round(statistics.fmean(ordered), 1),
        "min": round(ordered[0], 1),
        "median": round(statistics.median(ordered), 1),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
        "max": round(ordered[-1], 1),
    }


def compute(rows: Iterable[Row]) -> Stats:
    """Stats over rows (any order). Days are the households' local dates; a household's first and last
    date count only when the file covers them whole (first report before 01:00, last after 23:00)."""
    stats = Stats()
    activity: dict[str, list[datetime]] = defaultdict(list)
    last_power: dict[tuple[str, str], float] = {}
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for row in sorted(rows, key=lambda r: r.ts):
        stats.total += 1
        key = (row.household, row.ts.date())
        first.setdefault(row.household, row.ts)
        last[row.household] = row.ts
        counts = stats.per_day[row.kind.value]
        counts[key] = counts.get(key, 0) + 1
        previous = last_power.get((row.household, row.device))
        if row.kind is contract.Kind.POWER:
            last_power[(row.household, row.device)] = row.value
        if contract.is_activity(row.kind, row.value, previous):
            activity[row.household].append(row.ts)
            stats.activity_per_day[key] += 1
    for household, start in first.items():
        end = last[household]
        lo_day = start.date() + timedelta(days=0 if start.hour < 1 else 1)
        hi_day = end.date() - timedelta(days=0 if end.hour >= 23 else 1)
        whole = [lo_day + timedelta(days=n) for n in range((hi_day - lo_day).days + 1)]
        if not whole:
            continue
        stats.household_days.update((household, d) for d in whole)
        times = activity.get(household, [])
        lo = datetime.combine(whole[0], time(), tzinfo=start.tzinfo)
        hi = datetime.combine(whole[-1] + timedelta(days=1), time(), tzinfo=start.tzinfo)
        points = [lo, *(t for t in times if lo <= t < hi), hi]
        for a, b in itertools.pairwise(points):
            _record_gap(stats, household, a, b)
    return stats


def _record_gap(stats: Stats, household: str, a: datetime, b: datetime) -> None:
    """Split the quiet interval a..b over local days and buckets; keep the longest piece per bucket."""
    day = a.date()
    while datetime.combine(day, time(), tzinfo=a.tzinfo) < b:
        for lo, hi in BUCKETS:
            start = datetime.combine(day, time(), tzinfo=a.tzinfo) + timedelta(hours=lo)
            end = start + timedelta(hours=hi - lo)
            length = (min(b, end) - max(a, start)).total_seconds() / 60
            if length > 0:
                bucket = stats.gaps[(lo, hi)]
                key = (household, day)
                bucket[key] = max(bucket.get(key, 0.0), round(length, 1))
        day += timedelta(days=1)
