"""A resident's habits: drawn once per household from its seed, then varied day by day by the routine."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Persona:
    """Habits of one older person living alone. Times are minutes after local midnight."""

    wake_mean: float  # 05:15 .. 07:45
    wake_sd: float
    weekend_shift: float  # minutes later on Saturday/Sunday
    bed_mean: float  # 20:30 .. 23:15
    bed_sd: float
    nocturia: float  # mean night toilet visits
    evening_tv: float  # probability of TV in the evening
    morning_tv: float
    kettle: float  # probability the kettle is used at a meal
    microwave: float
    outing: float  # probability of an outing (shopping, walk, clinic) on a day without day service
    day_service: frozenset[int]  # weekdays (0 = Monday) with day service (デイサービス) pick-up
    helper: frozenset[int]  # weekdays a home helper (訪問介護) visits
    family_weekend: float  # probability of a family visit on a weekend day
    nap: float
    bath: float  # probability of an evening bath
    liveliness: float  # multiplies how often motion sensors see the person move

    @property
    def latest_usual_wake(self) -> float:
        """Minutes after midnight by which this person is up on almost every ordinary day."""
        return self.wake_mean + self.weekend_shift + 2.5 * self.wake_sd + 10


def draw_persona(rng: random.Random) -> Persona:
    weekdays = list(range(5))
    rng.shuffle(weekdays)
    day_service = frozenset(weekdays[: rng.choice((0, 0, 1, 2))])
    helper_days = [d for d in range(6) if d not in day_service]
    rng.shuffle(helper_days)
    return Persona(
        wake_mean=rng.uniform(315, 465),
        wake_sd=rng.uniform(8, 30),
        weekend_shift=rng.choice((0.0, 0.0, 15.0, 30.0)),
        bed_mean=rng.uniform(1230, 1395),
        bed_sd=rng.uniform(10, 35),
        nocturia=rng.uniform(0.4, 2.6),
        evening_tv=rng.uniform(0.55, 0.98),
        morning_tv=rng.uniform(0.1, 0.7),
        kettle=rng.uniform(0.5, 0.95),
        microwave=rng.uniform(0.2, 0.7),
        outing=rng.uniform(0.25, 0.8),
        day_service=day_service,
        helper=frozenset(helper_days[: rng.choice((0, 1, 2))]),
        family_weekend=rng.uniform(0.1, 0.45),
        nap=rng.uniform(0.15, 0.7),
        bath=rng.uniform(0.4, 0.9),
        liveliness=rng.uniform(0.6, 1.4),
    )
