"""What a sensitivity would cost a household, measured on its own history (pure).

Before a care manager saves a sensitivity, the household's stored events are replayed at each setting
(the same replay as ``mimamori replay``, with the household's options and the outcomes it has learned
from): how many community alarms each would have raised over the last ``weeks``, and how long a
collapse would have waited to be found. The wait is probed, not replayed: on each day of the window,
at 10:00, 14:00 and 18:00 local time, where the resident had been seen at home within the hour, the
stretch from the last activity is judged by the detector with that day's baseline (learned from the
days before it) and the setting, and with what the home's presence sensors and bed pads said at the
probe (their occupancy, tracked through the stored events as the engine tracks it: a presence sensor
occupied in the kitchen at 14:00 makes a collapse there a lying-still stretch); the wait is from the
probe to the alarm.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from detection.baseline import Baseline, learn, local_parts, zone
from detection.detector import asleep_expected, community_due
from detection.findings import AUDIENCE, Audience
from detection.learning import SENSITIVITY_FACTORS
from detection.model import Doorway, Profile, Tuning
from detection.occupancy import update
from detection.replay import Event, replay
from detection.rooms import DOOR, Room, RoomMap, room_of
from registry.models import Sensitivity

PROBE_HOURS = (10, 14, 18)  # local times a collapse is probed at, on each day of the window
SEEN_WITHIN_S = 3600.0  # a probe counts where the resident was seen at home this recently


@dataclass(frozen=True, slots=True)
class SettingCost:
    """One sensitivity on one household's history."""

    sensitivity: Sensitivity
    alarms: int  # community findings raised over the window (each one someone would have been sent to)
    days: int  # days of the window with activity
    wait_median_s: float | None  # from a probed collapse to its alarm (None: no probe)
    wait_p90_s: float | None
    probes: int


class _Profiles:
    def __init__(self, profile: Profile) -> None:
        self._profile = profile

    def profile(self, household: str) -> Profile:
        return self._profile


def sensitivity_costs(
    events: Sequence[Event],
    times: Sequence[float],
    places: Sequence[int],
    profile: Profile,
    now: datetime,
    *,
    weeks: int = 4,
    tuning: Tuning | None = None,
    rooms: RoomMap | None = None,
) -> list[SettingCost]:
    """Every sensitivity's cost on one household's history.

    ``events``: the household's stored events (sorted, from at least ``tuning.history_days`` before the
    window so that baselines are learned as they were); ``times``/``places``: its activity and the room
    code of each (``rooms.code``), for the probes; ``profile``: the household's options and outcomes
    (its sensitivity is replaced by each setting's).
    """
    tuning = tuning or Tuning()
    end = now.timestamp()
    start = end - weeks * 7 * 86400.0
    days = len({local_parts(t, zone(profile.tz))[0] for t in times if start <= t < end})
    rooms = rooms or RoomMap()
    occupancy = [
        (at, room_of(rooms.place(device, kind, household)), value >= 1)
        for at, household, device, kind, value in events
        if kind == "occupancy"
    ]
    probes = _probes(times, places, occupancy, profile, start, end, tuning)
    costs: list[SettingCost] = []
    for level, value in SENSITIVITY_FACTORS.items():
        candidate = replace(profile, sensitivity=value)
        alarms = sum(
            1
            for f in replay(events, _Profiles(candidate), until=end, tuning=tuning, rooms=rooms)
            if AUDIENCE[f.kind] is Audience.COMMUNITY and f.raised_at.timestamp() >= start
        )
        waits = sorted(
            max(0.0, community_due(last, False, baseline, candidate, tuning, room_of(place), mask).at - cut)
            for cut, last, place, baseline, mask in probes
        )
        costs.append(
            SettingCost(
                level,
                alarms,
                days,
                statistics.median(waits) if waits else None,
                waits[min(len(waits) - 1, int(0.9 * len(waits)))] if waits else None,
                len(waits),
            )
        )
    return costs


def _probes(
    times: Sequence[float],
    places: Sequence[int],
    occupancy: Sequence[tuple[float, Room, bool]],
    profile: Profile,
    start: float,
    end: float,
    tuning: Tuning,
) -> list[tuple[float, float, int, Baseline, int]]:
    """(probe, last activity, its room code, the day's baseline, the occupancy mask at the probe) of
    every probe of the window where the resident was seen at home (not gone out) within the hour before.
    ``occupancy``: (time, room, occupied) of every presence sensor or bed pad report, sorted."""
    tz = zone(profile.tz)
    outs = _outs(times, places)
    found: list[tuple[float, float, int, Baseline, int]] = []
    day = datetime.fromtimestamp(start, tz).date()
    last_day = datetime.fromtimestamp(end, tz).date()
    mask, seen = 0, 0  # the occupancy mask after the first ``seen`` reports
    lead_min = int(tuning.bedroom_evening_s // 60)
    while day <= last_day:
        baseline: Baseline | None = None
        for hour in PROBE_HOURS:
            cut = datetime(day.year, day.month, day.day, hour, tzinfo=tz).timestamp()
            i = bisect.bisect_left(times, cut) - 1
            if not start <= cut < end or i < 0 or cut - times[i] > SEEN_WITHIN_S or outs[i]:
                continue
            if baseline is None:  # the days before this one, as the live detector knew them
                baseline = learn(times[: i + 1], places[: i + 1], profile.tz, cut, tuning)
            while seen < len(occupancy) and occupancy[seen][0] < cut:  # judged by the day's baseline
                at, room, occupied = occupancy[seen]
                asleep = asleep_expected(local_parts(at, tz)[1], baseline, lead_min)
                mask = update(mask, room, occupied, asleep)
                seen += 1
            found.append((cut, times[i], places[i], baseline, mask))
        day += timedelta(days=1)
    return found


def _outs(times: Sequence[float], places: Sequence[int]) -> list[bool]:
    """Whether each activity probably began an outing (``model.goes_out``, as the engine tracks it)."""
    doorway = Doorway()
    return [doorway.step(t, bool(place & DOOR)) for t, place in zip(times, places, strict=True)]
