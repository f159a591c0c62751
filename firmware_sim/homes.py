"""A minimal simulated home for the walking skeleton: seeded readings from a small sensor kit."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.native import Reading
from mimamori.contract import Kind

KIT: tuple[tuple[str, Kind], ...] = (
    ("hall-motion", Kind.MOTION),
    ("kitchen-motion", Kind.MOTION),
    ("main-door", Kind.DOOR),
    ("kettle", Kind.POWER),
)


@dataclass(frozen=True, slots=True)
class SimHome:
    household: str
    seed: int

    def readings(self, start: datetime, count: int, mean_gap: timedelta) -> Iterator[Reading]:
        """``count`` readings from ``start`` on, with exponential gaps; the same for the same seed."""
        rng = random.Random(f"{self.seed}:{self.household}")
        at = start
        for _ in range(count):
            at += timedelta(seconds=rng.expovariate(1 / mean_gap.total_seconds()))
            device, kind = rng.choice(KIT)
            value = 1.0 if kind is not Kind.POWER else rng.choice((0.0, 1200.0))
            yield Reading(device, kind, value, at)
