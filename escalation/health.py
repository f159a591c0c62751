"""The alerts service's health, as `/healthz` reports it: how old its last detection tick, the newest
stored event and the newest gateway heartbeat are, and whether any of them is stale.

A load balancer, a container runtime or a Prometheus blackbox probe reads the status code (200 or
503); a person reads the JSON. The limits are the watchdog's (``[watchdog]`` in the configuration), so
both say the same thing about the same platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Health:
    ages_s: dict[str, float | None]  # per part watched: seconds since it was last seen (None: never)
    stale: tuple[str, ...]  # the parts too old

    @property
    def ok(self) -> bool:
        return not self.stale

    def as_json(self) -> dict[str, object]:
        ages = {f"{part}_age_s": None if age is None else round(age, 1) for part, age in self.ages_s.items()}
        return {"status": "ok" if self.ok else "stale", "stale": list(self.stale), **ages}


def assess(
    now: datetime, started_at: datetime, seen: Mapping[str, datetime | None], limits_s: Mapping[str, float]
) -> Health:
    """What is stale at ``now``, for each part in ``seen`` (``last_tick``, ``last_event``,
    ``last_heartbeat``). A part never seen is judged from ``started_at``: a fresh service is healthy
    until it had the time to see it, and one that never does becomes stale."""
    ages = {part: None if at is None else (now - at).total_seconds() for part, at in seen.items()}
    stale = tuple(
        part for part, at in seen.items() if (now - (at or started_at)).total_seconds() >= limits_s[part]
    )
    return Health(ages, stale)
