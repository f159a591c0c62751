"""How long a resident of the presence kit lies still, unharmed, in the living room and in bed by day.

A "lying still" rule for a room raises when its presence sensor (or the bed pad) says occupied and
nothing has moved for some limit. Any such rule raises a false alarm on every ordinary stretch that long.
This measures the ordinary stretches on simulated presence-kit homes with no incident (``firmware_sim``,
the ``presence`` kit; the first 7 days left out as the detector's warm-up): per limit, how many quiet
stretches per household-day were at least that long while the living room's presence sensor said
occupied throughout (dozing in front of the TV), and while the bed pad said occupied by day
(08:00-19:00 local: a nap). A stretch is from an activity (motion, a door, an occupancy turning
occupied, a plug switched on or off) to the next activity, cut where the sensor turns clear.

Run: ``.venv/bin/python benchmarks/still_stretches.py [--households 20] [--seeds 3] [--days 28]``;
the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from firmware_sim.events import SimEvent
from firmware_sim.homes import HouseholdSpec
from firmware_sim.simulate import DEFAULT_START, generate
from mimamori.contract import ACTIVITY_POWER_W, Kind

LIMITS_MIN = (20, 30, 45, 60, 75, 90, 120)
WARMUP_DAYS = 7


def stretches(
    events: Sequence[SimEvent], sensor: str, tz: ZoneInfo, scored_from: int, by_day: bool
) -> list[float]:
    """Minutes of each quiet stretch during which ``sensor`` said occupied throughout (from the later of
    the last activity and the sensor turning occupied, to the earlier of the next activity and clear)."""
    found: list[float] = []
    occupied_since: int | None = None
    last = None
    power: dict[str, float] = {}
    for e in events:
        activity = False
        if e.kind is Kind.MOTION:
            activity = e.value >= 1
        elif e.kind is Kind.DOOR or e.kind is Kind.BUTTON:
            activity = True
        elif e.kind is Kind.POWER:
            before = power.get(e.device)
            power[e.device] = e.value
            activity = (e.value >= ACTIVITY_POWER_W) != (before is not None and before >= ACTIVITY_POWER_W)
        elif e.kind is Kind.OCCUPANCY:
            activity = e.value >= 1
        ends = activity or (e.device == sensor and e.kind is Kind.OCCUPANCY and e.value < 1)
        if ends and occupied_since is not None and last is not None:
            begin = max(last, occupied_since)
            hour = datetime.fromtimestamp(begin / 1000, tz).hour
            if begin >= scored_from and (not by_day or 8 <= hour < 19):
                found.append((e.at - begin) / 60_000)
        if e.device == sensor and e.kind is Kind.OCCUPANCY:
            occupied_since = e.at if e.value >= 1 else None
        if activity:
            last = e.at
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--days", type=int, default=28)
    args = parser.parse_args()
    living: list[float] = []
    napping: list[float] = []
    scored_days = 0
    for seed in range(1, args.seeds + 1):
        specs = [HouseholdSpec(f"s{seed}-{n:03d}", kit="presence") for n in range(args.households)]
        result = generate(specs, args.days, seed)
        for home in result.homes:
            mine = [e for e in result.events if e.household == home.household]
            scored_from = home.midnight(DEFAULT_START.toordinal() + WARMUP_DAYS)
            zone = ZoneInfo(home.tz)
            living += stretches(mine, "living-presence", zone, scored_from, by_day=False)
            napping += stretches(mine, "bed-pad", zone, scored_from, by_day=True)
            scored_days += args.days - WARMUP_DAYS
    report = {
        "benchmark": "still_stretches",
        "homes": args.households * args.seeds,
        "scored_household_days": scored_days,
        "per_household_day_at_least_min": {
            "living_room_occupied": {
                m: round(sum(s >= m for s in living) / scored_days, 3) for m in LIMITS_MIN
            },
            "in_bed_by_day": {m: round(sum(s >= m for s in napping) / scored_days, 3) for m in LIMITS_MIN},
        },
        "longest_min": {
            "living_room_occupied": round(max(living, default=0), 1),
            "in_bed_by_day": round(max(napping, default=0), 1),
        },
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
