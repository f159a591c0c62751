"""The simulator's Python API: ``generate(households, days, seed, scenarios) -> SimResult``.

See docs/simulator.md. Everything is deterministic from ``seed``: the same call gives the same events
and the same ground truth, in any process.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from firmware_sim.events import SimEvent, to_datetime
from firmware_sim.homes import DEFAULT_TZ, HouseholdSpec, SimHome
from firmware_sim.scenarios import Scenario, ScenarioKind
from mimamori.contract import Kind

DEFAULT_START: Final = date(2026, 11, 2)
"""A Monday. Fixed, so that a seed alone reproduces a run."""


@dataclass(frozen=True, slots=True)
class SimResult:
    events: list[SimEvent]
    """Every report of every home, in the order they are sent (true time)."""
    homes: list[SimHome]
    scenarios: list[Scenario]
    start: date
    days: int
    seed: int

    def truth(self) -> dict[str, Any]:
        """The ground truth as plain JSON-ready data (see docs/simulator.md, "Ground truth")."""
        homes = []
        for home in self.homes:
            first = self.start.toordinal()
            homes.append(
                {
                    "household": home.household,
                    "tz": home.tz,
                    "kit": home.kit.name,
                    "devices": [
                        {"device": d.id, "kind": d.kind.value, "room": d.room.value, "battery": d.battery}
                        for d in home.kit.devices
                    ],
                    "usual": home.usual(),
                    "day_service_weekdays": sorted(home.persona.day_service),
                    "days": [home.day_labels(day) for day in range(first, first + self.days)],
                }
            )
        zones = {home.household: home for home in self.homes}
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "days": self.days,
            "households": homes,
            "scenarios": [
                scenario_json(s, zones[s.household]) for s in self.scenarios if s.household in zones
            ],
        }


def specs(households: int | Sequence[str | HouseholdSpec], tz: str = DEFAULT_TZ) -> list[HouseholdSpec]:
    """``20`` → home-0001..home-0020; names or specs pass through."""
    if isinstance(households, int):
        return [HouseholdSpec(f"home-{n + 1:04d}", tz) for n in range(households)]
    return [h if isinstance(h, HouseholdSpec) else HouseholdSpec(h, tz) for h in households]


def build_homes(
    households: int | Sequence[str | HouseholdSpec],
    seed: int,
    start: date,
    scenarios: Sequence[Scenario] = (),
    tz: str = DEFAULT_TZ,
    climate_share: float = 0.0,
) -> list[SimHome]:
    """The homes of a run; ``climate_share`` of them (drawn) with room climate sensors."""
    homes: list[SimHome] = []
    for spec in specs(households, tz):
        origin = SimHome(spec, seed, to_datetime(0)).midnight(start.toordinal())
        homes.append(SimHome(spec, seed, to_datetime(origin), scenarios, climate_share))
    return homes


def generate(
    households: int | Sequence[str | HouseholdSpec],
    days: int,
    seed: int,
    scenarios: Sequence[Scenario] = (),
    start: date = DEFAULT_START,
    tz: str = DEFAULT_TZ,
    climate_share: float = 0.0,
) -> SimResult:
    """Simulate ``days`` local days from ``start`` for each household; every home's events from its
    own local midnight to local midnight, merged in sending order. ``climate_share`` of the homes
    (drawn) also report their rooms' temperature and humidity and the air conditioner's plug."""
    homes = build_homes(households, seed, start, scenarios, tz, climate_share)
    first = start.toordinal()
    per_home = [home.events_between(home.midnight(first), home.midnight(first + days)) for home in homes]
    events = list(heapq.merge(*per_home, key=lambda e: e.at))
    return SimResult(events, homes, list(scenarios), start, days, seed)


def stream(homes: Sequence[SimHome], lo: datetime, hi: datetime, step: timedelta) -> Iterator[list[SimEvent]]:
    """Every home's events in ``lo..hi``, one list per ``step`` of simulated time, each in sending order.
    Memory stays proportional to the number of homes, not to the length of the run."""
    at = lo
    while at < hi:
        until = min(at + step, hi)
        yield list(heapq.merge(*(home.events_between(at, until) for home in homes), key=lambda e: e.at))
        at = until


def random_scenarios(
    homes: Sequence[SimHome], start: date, days: int, seed: int, count: int
) -> list[Scenario]:
    """``count`` plausible scenarios spread over the homes (at most one per home), for benchmarks:
    falls by day and in the bath, wandering at night, missed wake-ups at the planned wake time, illness,
    trips, faults.
    Scenarios start from the second day, so every home has at least one ordinary day first."""
    rng = random.Random(f"scenarios:{seed}")
    kinds = list(ScenarioKind)
    chosen = rng.sample(list(homes), min(count, len(homes)))
    out: list[Scenario] = []
    for n, home in enumerate(chosen):
        kind = kinds[n % len(kinds)]
        day = start.toordinal() + rng.randrange(1, max(2, days - 1))
        midnight = home.midnight(day)
        minutes = timedelta(minutes=1)
        wake = home.wake(day)
        t0_ms = {
            ScenarioKind.FALL: midnight + int(rng.uniform(9 * 60, 20 * 60)) * 60_000,
            ScenarioKind.NIGHT_WANDERING: midnight + int(rng.uniform(60, 240)) * 60_000,
            ScenarioKind.MISSED_WAKEUP: wake,
            ScenarioKind.AWAY: midnight + int(rng.uniform(8 * 60, 11 * 60)) * 60_000,
        }.get(kind, midnight + int(rng.uniform(0, 24 * 60)) * 60_000)
        if kind is ScenarioKind.BATH_FALL:  # in that day's bath (19:00-20:00 if none was planned)
            bath = home.bath(day) or (midnight + 19 * 60 * 60_000, midnight + 20 * 60 * 60_000)
            t0_ms = bath[0] + int(rng.uniform(0.25, 0.75) * (bath[1] - bath[0]))
        t0 = to_datetime(t0_ms)
        device = None
        end: datetime | None = None
        if kind is ScenarioKind.AWAY:
            end = t0 + timedelta(days=rng.choice((1, 2, 3)), hours=rng.uniform(2, 8))
        elif kind is ScenarioKind.ILLNESS:
            end = None
        elif kind is ScenarioKind.MISSED_WAKEUP:
            end = t0 + 180 * minutes if rng.random() < 0.5 else None
        elif kind in (ScenarioKind.BATTERY_DEATH, ScenarioKind.STUCK_SENSOR):
            candidates = [d.id for d in home.kit.devices if d.battery and d.kind is not Kind.BUTTON]
            device = rng.choice(candidates)
            end = t0 + timedelta(days=1)
        elif kind is ScenarioKind.GATEWAY_POWER_LOSS:
            end = t0 + timedelta(hours=rng.uniform(1, 6))
        elif kind in (ScenarioKind.CLOCK_SKEW, ScenarioKind.DUPLICATES):
            end = t0 + timedelta(hours=12)
        out.append(
            Scenario(
                home.household,
                kind,
                t0,
                end,
                device=device,
                offset_s=rng.choice((-1, 1)) * rng.uniform(120, 3600)
                if kind is ScenarioKind.CLOCK_SKEW
                else 0.0,
            )
        )
    return out


def scenario_json(s: Scenario, home: SimHome) -> dict[str, Any]:
    return {
        "household": s.household,
        "kind": s.kind.value,
        "t0": home.iso(s.t0_ms),
        "end": home.iso(s.end_ms) if s.end_ms is not None else None,
        "device": s.device,
        "offset_s": s.offset_s,
        "rate": s.rate,
        "ramp_days": s.ramp_days,
    }
