"""A simulated home: one resident's persona and routine, a sensor kit, scenarios, and what the devices report.

Every day is planned from a generator seeded by (seed, household, day), and every act's reports by
(seed, household, day, act), so :meth:`SimHome.events_between` returns the same reports for a span
whether it is asked for a week at once or minute by minute — which lets the live publisher stream
tens of thousands of homes without holding their days in memory.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from firmware_sim.climate import AC_DEVICE, STEP_MS, IndoorClimate, climate_raws, presence_of, season_of
from firmware_sim.events import SimEvent, to_datetime, to_ms
from firmware_sim.kits import KITS_BY_NAME, Device, HouseRoom, Kit, draw_kit
from firmware_sim.persona import Persona, draw_persona
from firmware_sim.routine import MINUTE, Act, Activity, DayPlan, plan_day
from firmware_sim.scenarios import (
    Override,
    Scenario,
    ScenarioKind,
    apply_overrides,
    overrides_for,
    vigor_at,
)
from firmware_sim.sensors import Raw, act_reach, act_reports, occupancy_reports, periodic_times
from mimamori.contract import Kind

DAY_MS: Final = 86_400_000
CLIMATE_WARM_MS: Final = 6 * 3_600_000
"""The indoor climate starts this long before the first day (from the outdoor curve plus the house's gain)."""
DEFAULT_TZ: Final = "Asia/Tokyo"
_ASLEEP: Final = frozenset({Activity.SLEEP, Activity.IN_BED, Activity.FALLEN, Activity.TRANSIT})


@dataclass(frozen=True, slots=True)
class HouseholdSpec:
    """A household to simulate. ``kit`` names one of :data:`firmware_sim.kits.KITS_BY_NAME` (None: drawn)."""

    id: str
    tz: str = DEFAULT_TZ
    kit: str | None = None
    climate: bool | None = None
    """Room climate sensors (``+climate``): None: drawn with the run's ``climate_share``."""
    heater: tuple[datetime, datetime] | None = None
    """A heater left on high in the closed living room from..until (firmware_sim.climate)."""


@dataclass(frozen=True, slots=True)
class _DeviceState:
    device: Device
    phase_ms: int
    battery_phase_ms: int
    battery_start: float
    drain_per_day: float


class SimHome:
    def __init__(
        self,
        spec: HouseholdSpec,
        seed: int,
        origin: datetime,
        scenarios: Sequence[Scenario] = (),
        climate_share: float = 0.0,
    ) -> None:
        """``climate_share``: the chance that a home whose spec does not say has room climate sensors
        (drawn from a stream of its own: the rest of the home is the same either way)."""
        self.household = spec.id
        self.tz = spec.tz
        self.zone = ZoneInfo(spec.tz)
        self._key = int.from_bytes(hashlib.blake2b(f"{seed}:{spec.id}".encode(), digest_size=8).digest())
        rng = random.Random(self._key)
        self.persona: Persona = draw_persona(rng)
        kit = KITS_BY_NAME[spec.kit] if spec.kit else draw_kit(rng)
        climate = spec.climate
        if climate is None:
            climate = (
                climate_share > 0 and random.Random(f"climate-kit:{seed}:{spec.id}").random() < climate_share
            )
        self.kit: Kit = kit.with_climate() if climate else kit
        self._occupancy = any(d.kind is Kind.OCCUPANCY for d in self.kit.devices)
        self._devices = [
            _DeviceState(
                device,
                rng.randrange(device.checkin_s * 1000),
                rng.randrange(DAY_MS),
                rng.uniform(45, 100),
                rng.uniform(0.03, 0.15),
            )
            for device in self.kit.devices
        ]
        self._origin = to_ms(origin)
        self.scenarios = [s for s in scenarios if s.household == spec.id]
        self._faults = [s for s in self.scenarios if s.kind not in _PERSON_ONLY]
        self._overrides: list[Override] | None = None
        self._plans: dict[int, DayPlan] = {}
        self._last_day = 0
        self._index: dict[int, tuple[list[int], list[int]]] = {}
        self._reports: dict[tuple[int, int], tuple[int, list[Raw]]] = {}
        """Per cached day: act starts, and the running maximum of how far acts' reports reach."""
        self._climate: IndoorClimate | None = None
        self._seed = seed
        self._heater = None if spec.heater is None else (to_ms(spec.heater[0]), to_ms(spec.heater[1]))

    # ------------------------------------------------------------------ days

    def midnight(self, day: int) -> int:
        return _midnight(day, self.tz)

    def day_of(self, at_ms: int) -> int:
        """The local date (ordinal) at ``at_ms``."""
        guess = self._last_day
        if guess and self.midnight(guess) <= at_ms < self.midnight(guess + 1):
            return guess
        self._last_day = to_datetime(at_ms).astimezone(self.zone).date().toordinal()
        return self._last_day

    def wake(self, day: int) -> int:
        """When the routine has the person get up on local date ``day`` (before any scenario)."""
        p = self.persona
        rng = random.Random(self._key ^ (day * 0x9E3779B1))
        weekend = date.fromordinal(day).weekday() >= 5
        minutes = rng.gauss(p.wake_mean + (p.weekend_shift if weekend else 0.0), p.wake_sd)
        midnight = self.midnight(day)
        minutes += (1.0 - vigor_at(self.scenarios, midnight + int(p.wake_mean * MINUTE))) * 120
        return midnight + int(minutes * MINUTE)

    def _routine(self, day: int) -> DayPlan:
        midnight = self.midnight(day)
        rng = random.Random(self._key ^ (day * 0x85EBCA77) ^ 0x5BD1E995)
        vigor = vigor_at(self.scenarios, midnight + 12 * 60 * MINUTE)
        return plan_day(
            self.persona,
            rng,
            day,
            date.fromordinal(day).weekday(),
            midnight,
            self.wake(day),
            self.wake(day + 1),
            vigor,
        )

    def plan(self, day: int) -> DayPlan:
        """The day woken up on local date ``day``, with scenarios applied."""
        plan = self._plans.get(day)
        if plan is None:
            routine = self._routine(day)
            acts = apply_overrides(routine.acts, self._person_overrides(), routine.start, routine.end)
            plan = DayPlan(routine.day, routine.start, routine.end, routine.bedtime, acts, routine.vigor)
            if len(self._plans) > 4:  # a window needs the day before, its own and the next
                oldest = min(self._plans)
                del self._plans[oldest], self._index[oldest]
            self._plans[day] = plan
            reach = list(itertools.accumulate((act_reach(a) for a in acts), max))
            self._index[day] = ([a.start for a in acts], reach)
        return plan

    def _person_overrides(self) -> list[Override]:
        if self._overrides is None:
            overrides: list[Override] = []
            for s in self.scenarios:
                if s.kind in _PERSON_ONLY:
                    overrides += overrides_for(s, self._room_at(s.t0_ms))
            self._overrides = sorted(overrides, key=lambda o: o.start)
        return self._overrides

    def bath(self, day: int) -> tuple[int, int] | None:
        """When the routine has the person in the bath on the day woken on ``day`` (before any
        scenario), or None: no bath that day."""
        return next(((a.start, a.end) for a in self._routine(day).acts if a.what is Activity.BATH), None)

    def _room_at(self, at_ms: int) -> HouseRoom:
        day = self.day_of(at_ms)
        routine = self._routine(day if at_ms >= self.wake(day) else day - 1)
        room = next((a.room for a in routine.acts if a.start <= at_ms < a.end), HouseRoom.BEDROOM)
        return HouseRoom.HALL if room is HouseRoom.OUTSIDE else room

    def activity_at(self, at_ms: int) -> Activity:
        """What the person is doing at ``at_ms``, scenarios applied (asleep, out, fallen, ...)."""
        day = self.day_of(at_ms)
        plan = self.plan(day if at_ms >= self.plan(day).start else day - 1)
        index = bisect.bisect_right(self._index[plan.day][0], at_ms) - 1
        act = plan.acts[index] if index >= 0 else None
        return act.what if act is not None and act.start <= at_ms < act.end else Activity.SLEEP

    # ------------------------------------------------------------------ reports

    def events_between(self, lo: datetime | int, hi: datetime | int) -> list[SimEvent]:
        """Every report this home's devices send in ``lo..hi`` (half-open), in time order."""
        lo_ms = lo if isinstance(lo, int) else to_ms(lo)
        hi_ms = hi if isinstance(hi, int) else to_ms(hi)
        # the climate first: it walks the days in order, as the plan cache keeps them
        raws: list[Raw] = self._climate_reports(lo_ms, hi_ms) if self.kit.climate else []
        liveliness = self.persona.liveliness
        for day in range(self.day_of(lo_ms) - 1, self.day_of(hi_ms) + 1):
            plan = self.plan(day)
            if plan.start >= hi_ms:
                continue
            starts, reach = self._index[day]
            index = bisect.bisect_left(starts, hi_ms) - 1
            while index >= 0 and reach[index] > lo_ms:
                act = plan.acts[index]
                key = (day, index)
                index -= 1
                cached = self._reports.get(key)
                if cached is None:
                    act_end = act_reach(act)
                    if act_end <= lo_ms:
                        continue
                    rng = random.Random(self._key ^ (day * 0xC2B2AE35 + (index + 1) * 0x27D4EB2F))
                    moves = liveliness * (0.3 + 0.7 * plan.vigor)
                    reports = act_reports(act, self.kit, moves, rng)
                    if self._occupancy:
                        before, after = self._around(day, index + 1)
                        reports += occupancy_reports(act, before, after, self.kit, rng)
                    cached = self._reports[key] = (act_end, sorted(reports))
                act_end, reports = cached
                if act_end > lo_ms:
                    first = bisect.bisect_left(reports, (lo_ms,))
                    last = bisect.bisect_left(reports, (hi_ms,))
                    raws += reports[first:last]
        # An act's reports are derived once and kept while a window may still need them.
        for key in [k for k, (act_end, _) in self._reports.items() if act_end <= hi_ms]:
            del self._reports[key]
        for state in self._devices:
            device = state.device
            for at in periodic_times(state.phase_ms, device.checkin_s * 1000, lo_ms, hi_ms):
                raws.append((at, device.id, Kind.CHECKIN, 0.0))
            if device.battery:
                for at in periodic_times(state.battery_phase_ms, DAY_MS, lo_ms, hi_ms):
                    raws.append((at, device.id, Kind.BATTERY, self._battery(state, at)))
        for s in self._faults:
            raws += self._fault_reports(s, lo_ms, hi_ms)
        return self._finish(raws)

    def _around(self, day: int, index: int) -> tuple[Act | None, Act | None]:
        """The acts before and after act ``index`` of the day woken on ``day`` (across days)."""
        acts = self.plan(day).acts
        before = acts[index - 1] if index > 0 else (self.plan(day - 1).acts or (None,))[-1]
        after = acts[index + 1] if index + 1 < len(acts) else (self.plan(day + 1).acts or (None,))[0]
        return before, after

    def _climate_reports(self, lo: int, hi: int) -> list[Raw]:
        """The rooms' thermometers and the air conditioner's plug every 5 minutes in ``lo..hi``: one
        model stepped from ``CLIMATE_WARM_MS`` before the first day, so any window gets the same
        readings (a window before the model's time starts it again)."""
        climate = self._climate
        if climate is None or climate.at >= lo:
            start = self._origin - CLIMATE_WARM_MS
            season = season_of(to_datetime(self._origin).astimezone(self.zone).date())
            climate = self._climate = IndoorClimate(
                self.household,
                self.tz,
                season,
                self._seed,
                lambda ms: presence_of(self.activity_at(ms)),
                start,
                heater=self._heater,
            )
        out: list[Raw] = []
        aircon = self.kit.has(AC_DEVICE)
        while climate.at + STEP_MS < hi:
            reading = climate.step()
            if reading.at >= lo:
                out += climate_raws(reading, aircon=aircon)
        return out

    def _battery(self, state: _DeviceState, at: int) -> float:
        level = state.battery_start - state.drain_per_day * (at - self._origin) / DAY_MS
        for s in self._faults:
            if s.kind is ScenarioKind.BATTERY_DEATH and s.device == state.device.id:
                end = s.end_ms
                if end is not None and at >= end:
                    level = 100.0 - state.drain_per_day * (at - end) / DAY_MS
                elif at < s.t0_ms:
                    level = min(level, max(0.0, level * (s.t0_ms - at) / (3 * DAY_MS)))
        return float(max(0, min(100, round(level))))

    def _fault_reports(self, s: Scenario, lo: int, hi: int) -> list[Raw]:
        t0 = s.t0_ms
        if not lo <= t0 < hi:
            return []
        if s.kind is ScenarioKind.HELP_BUTTON and self.kit.has("help-button"):
            return [(t0, "help-button", Kind.BUTTON, 1.0)]
        if s.kind is ScenarioKind.STUCK_SENSOR and s.device is not None:
            device = next((d for d in self.kit.devices if d.id == s.device), None)
            if device is not None and device.kind in (Kind.MOTION, Kind.DOOR):
                return [(t0, device.id, device.kind, 1.0)]
        return []

    def _finish(self, raws: list[Raw]) -> list[SimEvent]:
        household = self.household
        out: list[SimEvent] = []
        faults = self._faults
        for at, device, kind, value in sorted(raws):
            observed = at
            copies = 1
            dropped = False
            for s in faults:
                if not s.covers(at):
                    continue
                k = s.kind
                if k is ScenarioKind.GATEWAY_POWER_LOSS or (
                    s.device == device
                    and (
                        k is ScenarioKind.BATTERY_DEATH
                        or (k is ScenarioKind.STUCK_SENSOR and kind not in _HEALTH and at != s.t0_ms)
                    )
                ):
                    dropped = True
                elif k is ScenarioKind.CLOCK_SKEW and s.device in (None, device):
                    observed += int(s.offset_s * 1000)
                elif k is ScenarioKind.DUPLICATES and _unit_hash(self._key, at, device) < s.rate:
                    copies = 2
            if dropped:
                continue
            event = SimEvent(at, household, device, kind, value, observed)
            out.append(event)
            if copies == 2:
                delay = 200 + int(_unit_hash(self._key ^ 1, at, device) * 20_000)
                out.append(SimEvent(at + delay, household, device, kind, value, observed))
        out.sort(key=lambda e: e.at)
        return out

    # ------------------------------------------------------------------ truth

    def usual(self) -> dict[str, str]:
        p = self.persona
        return {
            "wake_mean": _hhmm(p.wake_mean),
            "latest_wake": _hhmm(p.latest_usual_wake),
            "bedtime_mean": _hhmm(p.bed_mean),
        }

    def day_labels(self, day: int) -> dict[str, object]:
        """What the person actually did on ``day``: wake-up, bedtime, sleep and away intervals."""
        plan = self.plan(day)
        awake = [a for a in plan.acts if a.what not in _ASLEEP]
        wake = awake[0].start if awake and awake[0].start < plan.bedtime else None
        away: list[list[int]] = []
        for act in plan.acts:
            if act.what is Activity.OUT:
                if away and act.start - away[-1][1] <= 60_000:
                    away[-1][1] = act.end
                else:
                    away.append([act.start, act.end])
        return {
            "date": date.fromordinal(day).isoformat(),
            "wake": self.iso(wake) if wake is not None else None,
            "bedtime": self.iso(plan.bedtime) if wake is not None else None,
            "sleep": [self.iso(plan.bedtime), self.iso(plan.end)] if wake is not None else None,
            "away": [[self.iso(a), self.iso(b)] for a, b in away],
        }

    def iso(self, at_ms: int) -> str:
        return to_datetime(at_ms).astimezone(self.zone).isoformat(timespec="milliseconds")


_PERSON_ONLY: Final = frozenset(
    {
        ScenarioKind.FALL,
        ScenarioKind.BATH_FALL,
        ScenarioKind.ILLNESS,
        ScenarioKind.NIGHT_WANDERING,
        ScenarioKind.AWAY,
        ScenarioKind.MISSED_WAKEUP,
    }
)
_HEALTH: Final = frozenset({Kind.CHECKIN, Kind.BATTERY})


@lru_cache(maxsize=4096)
def _midnight(day: int, tz: str) -> int:
    return to_ms(datetime.combine(date.fromordinal(day), time(), tzinfo=ZoneInfo(tz)))


def _unit_hash(key: int, at: int, device: str) -> float:
    digest = hashlib.blake2b(f"{key}:{at}:{device}".encode(), digest_size=4).digest()
    return int.from_bytes(digest) / 2**32


def _hhmm(minutes: float) -> str:
    m = round(minutes) % (24 * 60)
    return f"{m // 60:02d}:{m % 60:02d}"
