"""One day of a resident's life as a list of acts: where the person is, doing what, using which appliance.

A routine day runs from this morning's wake-up to the next morning's, so a night (with its toilet
visits) belongs to the evening before. Every number is drawn from a random generator seeded by
household and day, so a day can be planned on its own, in any order, and always comes out the same.
Times are integer milliseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from firmware_sim.kits import HouseRoom
from firmware_sim.persona import Persona

MINUTE = 60_000
HOUR = 60 * MINUTE


class Activity(StrEnum):
    SLEEP = "sleep"
    GETUP = "getup"
    TOILET = "toilet"
    COOK = "cook"
    EAT = "eat"
    IDLE = "idle"
    TV = "tv"
    NAP = "nap"
    BATH = "bath"
    OUT = "out"
    VISIT = "visit"
    TRANSIT = "transit"
    FALLEN = "fallen"
    IN_BED = "in_bed"


PIR_RATE_PER_HOUR: dict[Activity, float] = {
    Activity.SLEEP: 0.5,
    Activity.GETUP: 40,
    Activity.TOILET: 30,
    Activity.COOK: 70,
    Activity.EAT: 12,
    Activity.IDLE: 10,
    Activity.TV: 5,
    Activity.NAP: 1,
    Activity.BATH: 4,  # a changing-room sensor: now and then (washing at the door, a towel)
    Activity.OUT: 0,
    Activity.VISIT: 40,
    Activity.TRANSIT: 0,
    Activity.FALLEN: 0,
    Activity.IN_BED: 0.3,
}
"""How often a PIR sees the person move, per hour, by activity (before the persona's liveliness)."""


@dataclass(frozen=True, slots=True)
class Use:
    """An appliance drawing ``watts`` from ``start`` to ``end``."""

    device: str
    start: int
    end: int
    watts: float


@dataclass(slots=True)
class Act:
    start: int
    end: int
    room: HouseRoom
    what: Activity
    uses: list[Use] = field(default_factory=list)
    doors: list[tuple[str, int]] = field(default_factory=list)
    """(door device, time it opens); the closing follows a few seconds later."""


@dataclass(frozen=True, slots=True)
class DayPlan:
    day: int  # date ordinal of the local date the person woke up on
    start: int  # wake-up
    end: int  # next wake-up
    bedtime: int
    acts: tuple[Act, ...]
    vigor: float = 1.0


def plan_day(
    persona: Persona,
    rng: random.Random,
    day: int,
    weekday: int,
    midnight: int,
    wake: int,
    next_wake: int,
    vigor: float,
) -> DayPlan:
    """Plan the day woken at ``wake``; ``vigor`` 1 is healthy, lower means ill (less of everything)."""
    p = persona
    plan = _Planner(rng, wake, vigor)

    def minutes(m: float) -> int:
        return midnight + int(m * MINUTE)

    weekend = weekday >= 5

    plan.add(HouseRoom.BEDROOM, Activity.GETUP, rng.uniform(3, 9))
    plan.add(HouseRoom.TOILET, Activity.TOILET, rng.uniform(2, 6), toilet_door=True)
    plan.meal(p.kettle, p.microwave * 0.6, rng.uniform(8, 20) * (2 - vigor))
    plan.add(rng.choice((HouseRoom.LIVING, HouseRoom.KITCHEN)), Activity.EAT, rng.uniform(15, 30))
    if rng.random() < p.morning_tv * vigor:
        plan.add(HouseRoom.LIVING, Activity.TV, rng.uniform(20, 60), tv=True)

    items: list[tuple[int, str, float]] = []  # (planned start, what, minutes)
    service = weekday in p.day_service and vigor > 0.8
    if service:
        items.append((minutes(rng.gauss(540, 8)), "service", rng.gauss(420, 15)))
    else:
        if rng.random() < p.outing * vigor**2:
            when = rng.choice((rng.uniform(600, 690), rng.uniform(840, 960)))
            items.append((minutes(when), "out", rng.uniform(30, 120)))
        items.append((minutes(rng.uniform(705, 765)), "lunch", 0))
        if rng.random() < min(1.0, p.nap + (1 - vigor)):
            items.append((minutes(rng.uniform(780, 870)), "nap", rng.uniform(30, 90) * (2 - vigor)))
        if rng.random() < 0.5 * vigor:
            items.append((minutes(rng.uniform(880, 930)), "tea", 0))
        if weekday in p.helper:
            items.append((minutes(rng.choice((600.0, 840.0)) + rng.uniform(-10, 10)), "visit", 60))
        if weekend and rng.random() < p.family_weekend:
            items.append((minutes(rng.uniform(780, 900)), "visit", rng.uniform(60, 180)))
    items.append((minutes(rng.uniform(1050, 1110)), "dinner", 0))
    if rng.random() < p.bath * vigor:
        items.append((minutes(rng.uniform(1140, 1200)), "bath", rng.uniform(20, 40)))
    items.sort(key=lambda item: item[0])
    for start, what, length in items:
        plan.idle_until(start)
        if what in ("service", "out"):
            plan.out(length)
        elif what in ("lunch", "dinner"):
            plan.meal(p.kettle * 0.7, p.microwave, rng.uniform(10, 35) * (2 - vigor))
            plan.add(rng.choice((HouseRoom.LIVING, HouseRoom.KITCHEN)), Activity.EAT, rng.uniform(15, 30))
        elif what == "nap":
            plan.add(HouseRoom.BEDROOM, Activity.NAP, length)
        elif what == "tea":
            plan.meal(1.0, 0.0, rng.uniform(4, 8))
        elif what == "visit":
            plan.visit(length)
        else:
            plan.add(HouseRoom.BATHROOM, Activity.BATH, length)

    bedtime = max(minutes(rng.gauss(p.bed_mean, p.bed_sd) - (1 - vigor) * 90), plan.cursor + 20 * MINUTE)
    if rng.random() < p.evening_tv * vigor:
        plan.add(HouseRoom.LIVING, Activity.TV, (bedtime - plan.cursor) / MINUTE - 12, tv=True)
    else:
        plan.idle_until(bedtime - 12 * MINUTE)
    plan.add(HouseRoom.TOILET, Activity.TOILET, rng.uniform(2, 5), toilet_door=True)
    bedtime = max(bedtime, plan.cursor)
    plan.night(next_wake, p.nocturia + 2 * (1 - vigor))
    return DayPlan(day, wake, next_wake, bedtime, tuple(plan.acts), vigor)


class _Planner:
    """Appends acts at a cursor, inserting a short walk through the hall whenever the room changes."""

    def __init__(self, rng: random.Random, start: int, vigor: float) -> None:
        self.rng = rng
        self.vigor = vigor
        self.cursor = start
        self.acts: list[Act] = []

    def add(
        self, room: HouseRoom, what: Activity, minutes: float, *, toilet_door: bool = False, tv: bool = False
    ) -> Act:
        rng = self.rng
        if self.acts and self.acts[-1].room is not room and room is not HouseRoom.OUTSIDE:
            self._walk()
        start = self.cursor
        end = start + max(int(minutes * MINUTE), 30_000)
        act = Act(start, end, room, what)
        if toilet_door:
            act.doors += [("toilet-door", start), ("toilet-door", end - 4000)]
        if tv:
            act.uses.append(Use("tv", start + 5000, end, rng.uniform(55, 120)))
        self.acts.append(act)
        self.cursor = end
        return act

    def _walk(self) -> None:
        length = int(self.rng.uniform(4, 14) * 1000)
        self.acts.append(Act(self.cursor, self.cursor + length, HouseRoom.HALL, Activity.TRANSIT))
        self.cursor += length

    def meal(self, kettle: float, microwave: float, minutes: float) -> None:
        rng = self.rng
        act = self.add(HouseRoom.KITCHEN, Activity.COOK, minutes)
        span = act.end - act.start
        for _ in range(rng.choice((1, 1, 2, 3))):
            act.doors.append(("fridge-door", act.start + int(rng.uniform(0.05, 0.8) * span)))
        if rng.random() < kettle:
            on = act.start + int(rng.uniform(0.0, 0.3) * span)
            act.uses.append(
                Use("kettle", on, on + int(rng.uniform(150, 260) * 1000), rng.uniform(1150, 1350))
            )
        if rng.random() < microwave:
            on = act.start + int(rng.uniform(0.3, 0.7) * span)
            act.uses.append(
                Use("microwave", on, on + int(rng.uniform(60, 300) * 1000), rng.uniform(650, 1000))
            )

    def out(self, minutes: float) -> None:
        act = self.add(HouseRoom.OUTSIDE, Activity.OUT, minutes)
        act.doors += [("main-door", act.start), ("main-door", act.end)]

    def visit(self, minutes: float) -> None:
        act = self.add(HouseRoom.LIVING, Activity.VISIT, minutes)
        act.doors += [("main-door", act.start), ("main-door", act.end - 20_000)]
        if self.rng.random() < 0.8:
            on = act.start + 5 * MINUTE
            act.uses.append(Use("kettle", on, on + 200_000, self.rng.uniform(1150, 1350)))

    def idle_until(self, until: int) -> None:
        """Sit in the living room until ``until``, with toilet and kitchen trips now and then."""
        rng = self.rng
        while self.cursor < until - 3 * MINUTE:
            stretch = min(rng.uniform(60, 150) * MINUTE * (2 - self.vigor), until - self.cursor)
            if rng.random() < 1 - self.vigor:
                self.add(HouseRoom.BEDROOM, Activity.NAP, stretch / MINUTE)  # unwell: lying down
            else:
                self.add(HouseRoom.LIVING, Activity.IDLE, stretch / MINUTE)
            if self.cursor >= until - 5 * MINUTE:
                break
            if rng.random() < 0.7:
                self.add(HouseRoom.TOILET, Activity.TOILET, rng.uniform(2, 5), toilet_door=True)
            else:
                act = self.add(HouseRoom.KITCHEN, Activity.COOK, rng.uniform(1, 4))
                act.doors.append(("fridge-door", act.start + 20_000))

    def night(self, until: int, visits: float) -> None:
        rng = self.rng
        start = self.cursor
        count = _poisson(rng, visits)
        lo, hi = start + 45 * MINUTE, until - 30 * MINUTE
        times = sorted(rng.uniform(lo, hi) for _ in range(count)) if hi > lo else []
        for at in times:
            if at < self.cursor + 20 * MINUTE:
                continue
            self.add(HouseRoom.BEDROOM, Activity.SLEEP, (at - self.cursor) / MINUTE)
            self.add(HouseRoom.TOILET, Activity.TOILET, rng.uniform(2, 6), toilet_door=True)
        last = self.add(HouseRoom.BEDROOM, Activity.SLEEP, 1)
        last.end = max(until, last.end)
        self.cursor = last.end


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count
