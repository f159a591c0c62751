"""Inputs of the pure detector: tuning, household profile (and its port), one household's live view."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from mimamori.config import DetectionConfig
from registry.models import Feedback, Switch

RETURN_AFTER_S: Final = 10 * 60.0
PASSAGE_S: Final = 2 * 60.0
NO_DOOR: Final = -math.inf  # when the last main-door event was, before any


def goes_out(gap: float, prev_door: bool, since_door: float, door_out: bool) -> bool:
    """Whether a main-door event probably begins an outing.

    ``gap``: since the previous activity, ``prev_door``: whether that was the main door;
    ``since_door``, ``door_out``: since the previous main-door event, and whether it began an outing.
    A main-door event after in-home activity is a departure; after a quiet stretch that itself began
    at the door (``gap`` >= 10 min) it is a return. The events of one passage keep the meaning of the
    first: door events in quick succession (open, close), and door events within 2 min of each other
    whatever came between (the hall sensor sees the resident step in between open and close).
    """
    if since_door < PASSAGE_S or (prev_door and gap < RETURN_AFTER_S):
        return door_out
    return not door_out if prev_door else True


class Doorway:
    """:func:`goes_out` over a household's activity in time order (the learning and cost loops)."""

    __slots__ = ("door_at", "last", "last_door", "out")

    def __init__(self, last: float = NO_DOOR, last_door: bool = False) -> None:
        self.last = last  # the previous activity
        self.last_door = last_door  # it was the main door (taken as a departure: its meaning is unknown)
        self.door_at = last if last_door else NO_DOOR
        self.out = last_door  # whether the newest main-door event began an outing

    def step(self, at: float, door: bool) -> bool:
        """Whether the activity at ``at`` (the main door or not) begins an outing."""
        out = False
        if door:
            out = self.out = goes_out(at - self.last, self.last_door, at - self.door_at, self.out)
            self.door_at = at
        self.last, self.last_door = at, door
        return out


@dataclass(frozen=True, slots=True)
class Tuning:
    """Every knob of the detector. ``sensitivity`` > 1 raises alarms sooner (and more often)."""

    sensitivity: float = 1.0
    history_days: int = 28  # baselines look this far back
    trusted_days: int = 7  # a baseline is trusted after this many days with data
    slot_minutes: int = 30  # quiet-gap thresholds per slot of the local day
    pool_slots: int = 2  # pool gaps from this many neighbouring slots on each side
    gap_factor: float = 1.0  # threshold = longest usual quiet gap * factor + margin ...
    gap_margin_s: float = 35 * 60.0
    min_threshold_s: float = 90 * 60.0
    # a stretch that began in the living room, where the slot's threshold is on the floor: its longest
    # usual gap + living_margin_s, at least living_floor_s; one that began in a hallway of a kit that
    # sees neither the living room nor the bedroom: x pass_through_factor (detector.quiet_threshold)
    living_floor_s: float = 60 * 60.0
    living_margin_s: float = 25 * 60.0
    pass_through_factor: float = 1.1
    max_threshold_s: float = 16 * 3600.0
    anomalous_gap_s: float = 20 * 3600.0  # longer completed gaps are not learned as normal
    # priors, for households with little history (local time of day)
    prior_day_s: float = 4 * 3600.0
    prior_night_s: float = 11 * 3600.0
    prior_wake_latest_min: int = 9 * 60
    prior_wake_earliest_min: int = 5 * 60
    prior_bed_min: int = 20 * 60
    prior_outing_s: float = 6 * 3600.0
    # missed wake-up: raised this long after the usual latest wake-up (must stay <= 90 min)
    wake_margin_s: float = 30 * 60.0
    wake_quantile: float = 1.0  # usual latest wake-up: the latest seen (within the history window)
    early_quantile: float = 0.1  # usual earliest wake-up and bedtime
    wake_outlier_min: int = 120  # wake-ups this long after the median are not "usual"
    # outings: a gap that starts with the main door is probably an outing
    outing_factor: float = 1.5
    outing_margin_s: float = 60 * 60.0
    # night exit (opt-in per household): main door at night, nothing after for this long
    night_exit_after_s: float = 30 * 60.0
    night_start_min: int = 22 * 60
    night_end_min: int = 5 * 60
    # evening check (automatic for kits that cannot see the evening, or switched): a stretch that began
    # before the earliest start of sleep of the recent nights - margin and lasts longer than any evening
    # quiet seen (+ gap margin) by the latest start of sleep seen + margin; raised once it has, but not
    # sooner than ``evening_early_s`` before that; used once this many nights are learned
    evening_margin_s: float = 30 * 60.0
    evening_early_s: float = 60 * 60.0
    evening_min_nights: int = 7
    # where the stretch began: in the bathroom or toilet, judged against the longest stay seen there
    # (+ margin, at least the floor) once that room was visited on ``stay_min_days`` days; never for a
    # room the resident was ever unseen from for ``stay_blind_s`` (the kit cannot see them leave it)
    stay_margin_s: float = 20 * 60.0
    stay_floor_s: float = 30 * 60.0
    stay_min_days: int = 5
    stay_blind_s: float = 2 * 3600.0
    # in the bedroom from this long before the usual earliest bedtime: going to bed (sleep is quiet)
    bedroom_evening_s: float = 2 * 3600.0
    # learning from outcomes (detection.learning): a false alarm stretches the threshold that raised it by
    # this step, fading linearly over learn_decay_s; at most learn_max in all; an emergency tightens by the
    # tighten step (never below learn_min) and cancels the false alarms before it
    learn_step: float = 0.2
    learn_tighten_step: float = 0.1
    learn_max: float = 1.5
    learn_min: float = 0.85
    learn_decay_s: float = 56 * 86400.0
    # occupancy (presence sensors, bed pads; detection/occupancy.py): present in a room where people do
    # not lie still (bathroom, toilet, kitchen, other) with no movement for longer than the longest
    # stretch that began there (+ margin, at least the floor; the bathroom: the stay's) once seen on
    # ``stay_min_days`` days (until then ``still_prior_s``); out of bed at night, nothing seen for
    # ``out_of_bed_s``
    still_margin_s: float = 10 * 60.0
    still_floor_s: float = 20 * 60.0
    still_prior_s: float = 45 * 60.0
    out_of_bed_s: float = 45 * 60.0
    # technical findings
    gateway_grace_s: float = 10 * 60.0
    sensors_silent_s: float = 3 * 3600.0  # no event of any kind (check-ins included) for this long
    device_silent_s: float = 24 * 3600.0
    low_battery_pct: float = 15.0
    stuck_solo_s: float = 12 * 3600.0  # one sensor alone reporting activity, others silent, this long
    data_gap_s: float = 30 * 60.0  # a gap in a gateway's seq still open this long: readings were lost
    # not back (care manager): nothing seen this long after a care-calendar absence ended
    not_back_margin_s: float = 60 * 60.0
    # slow decline (care manager): the last week against the weeks before it
    decline_recent_days: int = 7
    decline_activity_drop: float = 0.35
    decline_wake_shift_min: int = 60
    decline_night_rise: float = 2.5


@dataclass(frozen=True, slots=True)
class AwayWindow:
    """Resident away (set by care manager, resident or contact, or the care calendar): suppresses
    findings, expires by itself. A calendar absence has an ``occurrence`` (entry id and local day) and
    may raise ``not_back`` when nothing is seen after its end."""

    start: datetime
    end: datetime
    set_by: str = "care_manager"
    occurrence: str = ""  # calendar absences only: "<entry id>:<YYYY-MM-DD>"
    label: str = ""  # calendar absences: "デイサービス"

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class Profile:
    household: str
    tz: str = "Asia/Tokyo"
    night_exit_enabled: bool = False
    away: tuple[AwayWindow, ...] = ()
    evening_check: Switch = Switch.AUTO
    sensitivity: float = (
        1.0  # the care manager's (detection.learning.SENSITIVITY_FACTORS): divides thresholds
    )
    feedback: tuple[Feedback, ...] = ()  # outcomes detection learns from (detection.learning)

    def away_at(self, at: datetime) -> AwayWindow | None:
        for period in self.away:
            if period.covers(at):
                return period
        return None


class ProfileSource(Protocol):
    """Where household profiles come from (the alerts household state implements it; replay uses --tz)."""

    def profile(self, household: str) -> Profile: ...


class FixedProfiles:
    """Every household gets the same time zone and options (and its own outcomes, if given); for replay,
    benchmarks, the dashboard's cost of a sensitivity, and tests."""

    def __init__(
        self,
        tz: str = "Asia/Tokyo",
        *,
        night_exit_enabled: bool = False,
        evening_check: Switch = Switch.AUTO,
        sensitivity: float = 1.0,
        feedback: Mapping[str, Sequence[Feedback]] | None = None,
        sensitivities: Mapping[str, float] | None = None,
    ) -> None:
        self._tz = tz
        self._night_exit = night_exit_enabled
        self._evening_check = evening_check
        self._sensitivity = sensitivity
        self._sensitivities = sensitivities or {}  # per household, where it differs from ``sensitivity``
        self._feedback = feedback or {}
        self._cache: dict[str, Profile] = {}

    def profile(self, household: str) -> Profile:
        found = self._cache.get(household)
        if found is None:
            found = Profile(
                household,
                self._tz,
                self._night_exit,
                evening_check=self._evening_check,
                sensitivity=self._sensitivities.get(household, self._sensitivity),
                feedback=tuple(self._feedback.get(household, ())),
            )
            self._cache[household] = found
        return found


class DeviceView(Protocol):
    """What the detector reads of a device (the store's ``DeviceState`` is one, as it is)."""

    @property
    def device(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def last_seen_at(self) -> datetime: ...
    @property
    def battery(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class TechnicalView:
    """What the live path knows beyond activity: gateway and devices (absent in replay)."""

    gateway_offline_since: datetime | None
    devices: Sequence[DeviceView] = ()
    solo_device: str | None = None  # the only device that reported activity since ``solo_since``
    solo_since: datetime | None = None


def tuning_from(config: DetectionConfig) -> Tuning:
    """The detector's tuning from the ``[detection]`` configuration section."""
    return Tuning(
        sensitivity=config.sensitivity,
        history_days=config.history_days,
        trusted_days=config.trusted_days,
        wake_margin_s=config.wake_margin_min * 60.0,
        night_exit_after_s=config.night_exit_after_min * 60.0,
        gateway_grace_s=config.gateway_grace_min * 60.0,
        sensors_silent_s=config.sensors_silent_min * 60.0,
        device_silent_s=config.device_silent_hours * 3600.0,
        low_battery_pct=config.low_battery_pct,
        not_back_margin_s=config.not_back_margin_min * 60.0,
    )
