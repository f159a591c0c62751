"""Scenarios injected into simulated homes: what happens to the person, and what goes wrong with devices.

A scenario starts at ``t0`` and ends at ``end`` (``None``: it lasts to the end of the simulation).
Person scenarios change the routine; device scenarios change what the sensors report. The same
objects are written to the ground-truth file, so detection can be scored against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from firmware_sim.kits import HouseRoom
from firmware_sim.routine import MINUTE, Act, Activity, Use


class ScenarioKind(StrEnum):
    FALL = "fall"  # collapse at t0: silence from then on; at ``end`` rescuers come and take the person away
    ILLNESS = "illness"  # activity declines over ``ramp_days`` from t0; recovers at ``end``
    NIGHT_WANDERING = "night_wandering"  # out through the main door at t0, back at ``end`` (if ever)
    AWAY = "away"  # a trip: main door at t0, nothing until the return at ``end``
    MISSED_WAKEUP = "missed_wakeup"  # stays in bed from t0 (the usual wake-up) until ``end``
    HELP_BUTTON = "help_button"  # presses the help button at t0
    BATTERY_DEATH = "battery_death"  # ``device``'s battery runs down to 0 at t0; replaced at ``end``
    STUCK_SENSOR = "stuck_sensor"  # ``device`` reports one last value at t0 and then only check-ins
    GATEWAY_POWER_LOSS = "gateway_power_loss"  # nothing at all is reported between t0 and ``end``
    CLOCK_SKEW = "clock_skew"  # timestamps (of ``device``, or of every device) off by ``offset_s``
    DUPLICATES = "duplicates"  # a fraction ``rate`` of reports is sent twice (same reading, same time)
    BATH_FALL = "bath_fall"  # collapses in the bathroom at t0 (in a bath): silence from then on, as FALL


PERSON_KINDS = frozenset(
    {
        ScenarioKind.FALL,
        ScenarioKind.BATH_FALL,
        ScenarioKind.ILLNESS,
        ScenarioKind.NIGHT_WANDERING,
        ScenarioKind.AWAY,
        ScenarioKind.MISSED_WAKEUP,
        ScenarioKind.HELP_BUTTON,
    }
)
DEVICE_KINDS = frozenset({ScenarioKind.BATTERY_DEATH, ScenarioKind.STUCK_SENSOR})


TV_AUTO_OFF_MS = 4 * 60 * MINUTE


@dataclass(frozen=True, slots=True)
class Scenario:
    household: str
    kind: ScenarioKind
    t0: datetime
    end: datetime | None = None
    device: str | None = None
    offset_s: float = 0.0
    rate: float = 0.2
    ramp_days: float = 3.0

    def __post_init__(self) -> None:
        if self.t0.tzinfo is None or (self.end is not None and self.end.tzinfo is None):
            raise ValueError("scenario times must be timezone-aware")
        if self.end is not None and self.end <= self.t0:
            raise ValueError(f"scenario {self.kind.value} ends before it starts")
        if self.kind in DEVICE_KINDS and self.device is None:
            raise ValueError(f"scenario {self.kind.value} needs a device")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("duplicates rate must be within 0..1")

    @property
    def t0_ms(self) -> int:
        return _ms(self.t0)

    @property
    def end_ms(self) -> int | None:
        return None if self.end is None else _ms(self.end)

    def covers(self, at_ms: int) -> bool:
        end = self.end_ms
        return self.t0_ms <= at_ms and (end is None or at_ms < end)


def _ms(at: datetime) -> int:
    return round(at.astimezone(UTC).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Override:
    """An interval in which the person is somewhere regardless of the routine."""

    start: int
    end: int | None
    room: HouseRoom
    what: Activity
    leave_by_door: bool = False  # walks through the hall and out of the main door at ``start``
    return_by_door: bool = False  # comes back in through the main door at ``end``
    enter_by_door: bool = False  # someone comes in through the main door at ``start``


def apply_overrides(acts: tuple[Act, ...], overrides: list[Override], lo: int, hi: int) -> tuple[Act, ...]:
    """The routine ``acts`` of one day (spanning ``lo``..``hi``) with ``overrides`` cut in."""
    relevant = [o for o in overrides if o.start < hi and (o.end is None or o.end > lo)]
    if not relevant:
        return acts
    result: list[Act] = []
    for act in acts:
        pieces = [(act.start, act.end)]
        for o in relevant:
            o_end = o.end if o.end is not None else hi + 1
            pieces = [
                part
                for a, b in pieces
                for part in ((a, min(b, o.start)), (max(a, o_end), b))
                if part[1] > part[0]
            ]
        fallen_at = next(
            (o for o in relevant if o.what is Activity.FALLEN and act.start <= o.start < act.end), None
        )
        for a, b in pieces:
            piece = Act(a, b, act.room, act.what)
            piece.doors = [(d, t) for d, t in act.doors if a <= t < b]
            for use in act.uses:
                if not a <= use.start < b:
                    continue
                if use.device == "tv" and fallen_at is not None and use.end > fallen_at.start:
                    # Nobody switches the TV off after a fall: it runs until its own no-operation
                    # auto-off (無操作自動電源オフ), which looks like someone switching it off.
                    tv_end = min(fallen_at.start + TV_AUTO_OFF_MS, hi)
                    if fallen_at.end is not None:
                        tv_end = min(tv_end, fallen_at.end)
                    piece.uses.append(Use(use.device, use.start, tv_end, use.watts))
                else:
                    piece.uses.append(use)
            result.append(piece)
    for o in relevant:
        start, end = max(o.start, lo), min(o.end if o.end is not None else hi, hi)
        act = Act(start, end, o.room, o.what)
        if o.leave_by_door and lo <= o.start < hi:
            result.append(Act(o.start - 10_000, o.start, HouseRoom.HALL, Activity.TRANSIT))
            act.doors.append(("main-door", o.start))
        if o.enter_by_door and lo <= o.start < hi:
            act.doors.append(("main-door", o.start))
            result.append(Act(o.start + 2000, o.start + 12_000, HouseRoom.HALL, Activity.TRANSIT))
            act.start = o.start + 12_000
        if o.return_by_door and o.end is not None and lo <= o.end < hi:
            act.doors.append(("main-door", o.end - 1000))
        result.append(act)
    result.sort(key=lambda a: a.start)
    return tuple(result)


def overrides_for(scenario: Scenario, room_at: HouseRoom) -> list[Override]:
    """The person overrides a scenario implies; ``room_at`` is where the person is at t0."""
    t0, end = scenario.t0_ms, scenario.end_ms
    kind = scenario.kind
    if kind is ScenarioKind.BATH_FALL:
        room_at, kind = HouseRoom.BATHROOM, ScenarioKind.FALL
    if kind is ScenarioKind.FALL:
        if end is None:
            return [Override(t0, None, room_at, Activity.FALLEN)]
        rescue_end = end + 25 * MINUTE
        return [
            Override(t0, end, room_at, Activity.FALLEN),
            Override(end, rescue_end, HouseRoom.LIVING, Activity.VISIT, enter_by_door=True),
            Override(rescue_end, None, HouseRoom.OUTSIDE, Activity.OUT, leave_by_door=True),
        ]
    if kind in (ScenarioKind.NIGHT_WANDERING, ScenarioKind.AWAY):
        return [Override(t0, end, HouseRoom.OUTSIDE, Activity.OUT, leave_by_door=True, return_by_door=True)]
    if kind is ScenarioKind.MISSED_WAKEUP:
        return [Override(t0, end, HouseRoom.BEDROOM, Activity.IN_BED)]
    return []


def vigor_at(scenarios: list[Scenario], at_ms: int) -> float:
    """1.0 when healthy; an illness brings it down linearly to 0.3 over its ramp."""
    vigor = 1.0
    for s in scenarios:
        if s.kind is ScenarioKind.ILLNESS and s.covers(at_ms):
            days = (at_ms - s.t0_ms) / 86_400_000
            vigor = min(vigor, 1.0 - 0.7 * min(1.0, max(days, 0.0) / max(s.ramp_days, 0.01)))
    return vigor
