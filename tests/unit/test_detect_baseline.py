"""Baselines learned from a fixed routine: thresholds, wake-up, outings, priors and trust."""

from __future__ import annotations

import pytest

from detection.baseline import learn, prior_baseline
from detection.model import Tuning
from tests.support.detect_routine import TZ, at, routine

TUNING = Tuning()


def test_no_history_is_the_prior_and_untrusted() -> None:
    b = prior_baseline(0.0, TUNING)
    assert (b.days, b.trusted) == (0, False)
    assert b.threshold_s(False, 10 * 60) == TUNING.prior_day_s
    assert b.threshold_s(False, 3 * 60) == TUNING.prior_night_s
    assert b.wake_latest_min == TUNING.prior_wake_latest_min


@pytest.mark.parametrize(("days", "trusted"), [(3, False), (6, False), (7, True), (21, True)])
def test_trusted_after_enough_days(days: int, trusted: bool) -> None:
    times, doors = routine(days)
    b = learn(times, doors, TZ, at(days, "12:00"), TUNING)
    assert b.days == days
    assert b.trusted is trusted


def test_daytime_threshold_follows_the_routine_and_night_is_long() -> None:
    times, doors = routine(21)
    b = learn(times, doors, TZ, at(21, "12:00"), TUNING)
    # daytime gaps are 20 minutes: the threshold is the floor, not the 4 h prior
    assert b.threshold_s(False, 10 * 60) == TUNING.min_threshold_s
    # the 22:00 slot ends the day with a 4 h gap to the 02:00 toilet: longer than daytime
    assert b.threshold_s(False, 22 * 60) >= 4 * 3600 * TUNING.gap_factor
    assert b.usual_quiet_s(False, 22 * 60) == 4 * 3600


def test_wake_up_learned() -> None:
    times, doors = routine(21, wake="07:30")
    b = learn(times, doors, TZ, at(21, "12:00"), TUNING)
    assert b.wake_latest_min == 7 * 60 + 30
    assert b.wake_earliest_min == 7 * 60 + 30
    assert b.wake_days >= 19


def kitchen_only(days: int, visit: list[str], toilet: list[str]) -> list[float]:
    """A minimal kit: one kitchen sensor sees breakfast (``visit``), lunch and supper; nothing else."""
    meals = ["12:00", "12:05", "12:12", "18:00", "18:06", "18:13"]
    return sorted(at(day, clock) for day in range(days) for clock in [*toilet, *visit, *meals])


@pytest.mark.parametrize(
    ("visit", "toilet", "wake"),
    [
        (["07:00", "07:04", "07:10"], [], "07:00"),  # breakfast of 10 minutes, then nothing until lunch
        (["07:00", "07:04", "07:09"], [], "12:00"),  # shorter: not yet seen as up (lunch is)
        (["07:00", "07:30"], ["04:30", "04:33", "04:36"], "07:00"),  # a night toilet visit is not waking
    ],
)
def test_wake_up_seen_by_a_lone_kitchen_sensor(visit: list[str], toilet: list[str], wake: str) -> None:
    times = kitchen_only(14, visit, toilet)
    b = learn(times, [False] * len(times), TZ, at(14, "02:00"), TUNING)
    hour, minute = (int(x) for x in wake.split(":"))
    assert b.wake_latest_min == b.wake_earliest_min == hour * 60 + minute


def test_weekends_apart_once_there_are_enough() -> None:
    times, doors = routine(28, wake="07:00", weekend_wake="09:30")
    b = learn(times, doors, TZ, at(28, "12:00"), TUNING)
    # 02:00 toilet then sleep until 09:30 on weekends: the 02:00 slot waits longer on weekends
    assert b.threshold_s(True, 2 * 60) > b.threshold_s(False, 2 * 60)


def test_the_first_days_never_go_below_the_priors() -> None:
    few = learn(*routine(3), TZ, at(3, "12:00"), TUNING)
    many = learn(*routine(14), TZ, at(14, "12:00"), TUNING)
    day = 10 * 60
    assert few.threshold_s(False, day) == TUNING.prior_day_s  # 3 days of 20-minute gaps: not yet
    assert many.threshold_s(False, day) == TUNING.min_threshold_s  # trusted: its own routine


def test_outings_are_learned_apart_from_quiet_gaps() -> None:
    times, doors = routine(14)
    for day in range(14):  # out 14:00-17:00 each day: door, then nothing
        leave = at(day, "14:00")
        back = at(day, "17:00")
        keep = [(t, d) for t, d in zip(times, doors, strict=True) if not leave < t < back]
        keep += [(leave, True), (back, True)]
        keep.sort()
        times, doors = [t for t, _ in keep], [d for _, d in keep]
    b = learn(times, doors, TZ, at(14, "12:00"), TUNING)
    assert b.longest_outing_s == 3 * 3600
    assert b.outing_limit_s == 3 * 3600 * TUNING.outing_factor + TUNING.outing_margin_s
    # the 3 h outings did not stretch the at-home threshold of the early afternoon
    assert b.threshold_s(False, 14 * 60) == TUNING.min_threshold_s
    # a higher sensitivity shortens the limit, but never to an outing as long as those seen before
    eager = learn(times, doors, TZ, at(14, "12:00"), Tuning(sensitivity=2.0))
    assert eager.outing_limit_s == 3 * 3600 + TUNING.outing_margin_s
    assert learn(times, doors, TZ, at(14, "12:00"), Tuning(sensitivity=1.2)).outing_limit_s == pytest.approx(
        (3 * 3600 * TUNING.outing_factor + TUNING.outing_margin_s) / 1.2
    )


def test_a_return_seen_by_the_hall_sensor_before_the_door_closes_is_learned_as_a_return() -> None:
    times, doors = routine(14)
    for day in range(14):  # out 14:00-15:00 each day; back in: door opens, the hall sees them, it closes
        leave, back = at(day, "14:00"), at(day, "15:00")
        keep = [(t, d) for t, d in zip(times, doors, strict=True) if not leave < t <= at(day, "19:00")]
        keep += [(leave, True), (back, True), (back + 2, False), (back + 8, True)]  # then in the chair
        keep.sort()
        times, doors = [t for t, _ in keep], [d for _, d in keep]
    b = learn(times, doors, TZ, at(14, "12:00"), TUNING)
    assert b.longest_outing_s == 3600  # not the quiet after coming home
    assert b.usual_quiet_s(False, 15 * 60) == 4 * 3600 + 20 * 60  # in the chair until 19:20, at home


def test_gaps_still_open_and_anomalies_are_not_learned() -> None:
    times, doors = routine(14)
    # a 30 h silence (an incident) on day 14 is not a normal gap
    times += [at(15, "10:00")]
    doors += [False]
    b = learn(times, doors, TZ, at(16, "12:00"), TUNING)
    assert b.usual_quiet_s(False, 22 * 60) == 4 * 3600


def test_sensitivity_shortens_thresholds() -> None:
    times, doors = routine(14)
    normal = learn(times, doors, TZ, at(14, "12:00"), TUNING)
    keen = learn(times, doors, TZ, at(14, "12:00"), Tuning(sensitivity=1.5))
    assert keen.threshold_s(False, 22 * 60) < normal.threshold_s(False, 22 * 60)


def test_slow_decline_found_when_activity_drops() -> None:
    times, _ = routine(21)
    recent, _ = routine(28, every_min=60)
    cut = at(21, "00:00")
    times = times + [t for t in recent if t >= cut]
    b = learn(times, [False] * len(times), TZ, at(28, "12:00"), TUNING)
    assert b.decline is not None
    assert b.decline.activity_change is not None
    assert b.decline.activity_change < -0.5
    steady = learn(*routine(28), TZ, at(28, "12:00"), TUNING)
    assert steady.decline is None
