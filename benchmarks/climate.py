"""Indoor heat and cold: the climate rules over simulated homes through a Tokyo August and January.

Protocol (docs/climate.md):
- each home gets the simulator's indoor-climate model (firmware_sim.climate): its house (thermal lag,
  gain), its resident's routine (home, asleep, out) and habits (an air-conditioner user or not; heats
  in winter or not); one warm-up day, then the month, a reading of every room every 5 minutes and the
  air conditioner's plug;
- the rules (detection.climate.ClimateWatch) judge each home every 5 minutes; "home" is the
  simulator's truth (the live detector infers it from the main door);
- a *dangerous exposure*: a home whose resident does not use an air conditioner, home, with a living
  room/bedroom/kitchen at 危険 (WBGT ≥ 31) for more than an hour without a break; it is *raised within
  60 min* when an urgent (危険) heat finding was raised by 60 minutes after it began, within the same hot
  stretch (a 危険 alert of the stretch already standing counts: the same episode is not raised twice);
- a *false alert*: any heat finding in a home whose resident uses the air conditioner, in August
  (the summer here is the simulated August: July and September are cooler);
- winter: cold findings in homes that heat and in homes that do not, heat-shock advice days.

Run: ``.venv/bin/python benchmarks/climate.py [--households 100] [--seeds 1 2 3] [--days 31]``.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detection.climate import (
    HEAT_ROOMS,
    ClimateTuning,
    ClimateWatch,
    HeatLevel,
    climate_tuning_from,
    heat_level,
    indoor_wbgt,
)
from detection.findings import FindingKind, Severity
from detection.rooms import infer_room
from firmware_sim.climate import (
    CLIMATE_ROOMS,
    STEP_MS,
    IndoorClimate,
    Presence,
    Season,
    presence_of,
    thermometer,
)
from firmware_sim.events import to_datetime
from firmware_sim.simulate import build_homes
from mimamori.config import load_config

MONTHS = {Season.AUGUST: date(2026, 8, 1), Season.JANUARY: date(2027, 1, 1)}
HOUR_MS = 3_600_000
RAISE_WINDOW_MS = 60 * 60_000


@dataclass
class HomeResult:
    uses_ac: bool
    heats: bool
    raised: list[tuple[int, FindingKind, Severity]] = field(default_factory=list)  # (at ms, kind, severity)
    exposures: list[tuple[int, int, int]] = field(
        default_factory=list
    )  # (start, end, its hot stretch's start) ms
    hours_at: dict[str, float] = field(default_factory=dict)  # heat level -> hours (home's hottest room)


def run_home(season: Season, seed: int, home: Any, days: int, tuning: ClimateTuning) -> HomeResult:
    first = MONTHS[season].toordinal()
    warm = home.midnight(first - 1)
    end = home.midnight(first + days)
    begin = home.midnight(first)
    climate = IndoorClimate(
        home.household, home.tz, season, seed, lambda ms: presence_of(home.activity_at(ms)), warm
    )
    watch = ClimateWatch(home.household, home.tz, tuning)
    devices = [thermometer(room) for room in CLIMATE_ROOMS]
    rooms = [infer_room(d) for d in devices]
    result = HomeResult(climate.habits.uses_ac, climate.habits.heats)
    seen: set[str] = set()
    run_start: int | None = None
    stretch_start = 0
    hours: dict[str, float] = {}
    while climate.at < end:
        r = climate.step()
        at = to_datetime(r.at)
        for i, device in enumerate(devices):
            watch.humidity(device, rooms[i], at, r.humidities[i])
            watch.temperature(device, rooms[i], at, r.temps[i])
        watch.air_conditioner(at, r.ac_w)
        if r.at < begin:
            continue
        home_now = r.presence is not Presence.OUT
        for f in watch.due(at, at_home=home_now):
            if f.episode not in seen:
                seen.add(f.episode)
                result.raised.append((r.at, f.kind, f.severity))
        levels = [
            heat_level(indoor_wbgt(r.temps[i], r.humidities[i]))
            for i in range(len(devices))
            if rooms[i] in HEAT_ROOMS
        ]
        top = max(levels)
        hours[top.name] = hours.get(top.name, 0.0) + STEP_MS / HOUR_MS
        danger = top >= HeatLevel.DANGER and home_now
        if danger and run_start is None:
            run_start = r.at
            stretch_start = r.at if watch.hot_since is None else int(watch.hot_since.timestamp() * 1000)
        elif not danger and run_start is not None:
            if r.at - run_start > HOUR_MS and not climate.habits.uses_ac:
                result.exposures.append((run_start, r.at, stretch_start))
            run_start = None
    if run_start is not None and end - run_start > HOUR_MS and not climate.habits.uses_ac:
        result.exposures.append((run_start, end, stretch_start))
    result.hours_at = hours
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--config", type=Path, help="a mimamori.toml whose [climate] thresholds are judged")
    args = parser.parse_args()
    tuning = climate_tuning_from(load_config(args.config, environ={}).climate)
    t0 = time.perf_counter()
    summer: list[HomeResult] = []
    winter: list[HomeResult] = []
    for seed in args.seeds:
        for season, out in ((Season.AUGUST, summer), (Season.JANUARY, winter)):
            homes = build_homes(args.households, seed, MONTHS[season])
            for home in homes:
                out.append(run_home(season, seed, home, args.days, tuning))
            print(
                f"seed {seed} {season.value}: {len(homes)} homes, {time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
            )
    exposures = 0
    raised = 0
    delays: list[float] = []
    for h in summer:
        urgent = [at for at, kind, sev in h.raised if kind is FindingKind.HEAT and sev is Severity.URGENT]
        for start, _, stretch in h.exposures:
            exposures += 1
            hits = [at for at in urgent if stretch <= at <= start + RAISE_WINDOW_MS]
            if hits:
                raised += 1
                delays.append(max(0, min(hits) - start) / 60_000)
    ac_homes = [h for h in summer if h.uses_ac]
    false_alerts = sum(1 for h in ac_homes for _, kind, _ in h.raised if kind is FindingKind.HEAT)
    non_ac = [h for h in summer if not h.uses_ac]
    heating = [h for h in winter if h.heats]
    unheated = [h for h in winter if not h.heats]

    def per_home(homes: list[HomeResult], kind: FindingKind) -> float:
        return round(sum(1 for h in homes for _, k, _ in h.raised if k is kind) / max(1, len(homes)), 3)

    def level_hours(homes: list[HomeResult]) -> dict[str, float]:
        return {
            level.name: round(sum(h.hours_at.get(level.name, 0.0) for h in homes) / max(1, len(homes)), 1)
            for level in HeatLevel
        }

    result = {
        "households": args.households,
        "seeds": args.seeds,
        "days": args.days,
        "homes_simulated": len(summer) + len(winter),
        "summer_ac_homes": len(ac_homes),
        "summer_non_ac_homes": len(non_ac),
        "dangerous_exposures": exposures,
        "raised_within_60min": raised,
        "raised_share": round(raised / exposures, 4) if exposures else None,
        "raise_delay_min_median": round(statistics.median(delays), 1) if delays else None,
        "raise_delay_min_max": round(max(delays), 1) if delays else None,
        "false_alerts": false_alerts,
        "false_alerts_per_household_summer": round(false_alerts / max(1, len(ac_homes)), 3),
        "heat_alerts_per_non_ac_home": per_home(non_ac, FindingKind.HEAT),
        "hours_at_level_ac_home": level_hours(ac_homes),
        "hours_at_level_non_ac_home": level_hours(non_ac),
        "winter_cold_alerts_per_heating_home": per_home(heating, FindingKind.COLD),
        "winter_cold_alerts_per_unheated_home": per_home(unheated, FindingKind.COLD),
        "winter_heat_shock_days_per_home": per_home(winter, FindingKind.HEAT_SHOCK),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
