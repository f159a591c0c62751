"""Findings: what the detector concludes about a household at ``now``, with the reason a person reads.

A finding is raised once per episode (``episode``); the same episode seen again on the next tick is
the same finding. Incidents are opened from findings (alerts escalation), never from raw events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class FindingKind(StrEnum):
    HELP_BUTTON = "help_button"  # the resident pressed the help button
    INACTIVITY = "inactivity"  # at home, quiet for longer than usual at this time of day
    MISSED_WAKEUP = "missed_wakeup"  # no sign of getting up by the usual latest wake-up time
    LONG_ABSENCE = "long_absence"  # probably out (door, then nothing) for longer than ever seen
    NIGHT_EXIT = "night_exit"  # main door at night and no return (when enabled for the household)
    EVENING_QUIET = "evening_quiet"  # quiet all evening, past the usual bedtime (when enabled)
    BLIND_GATEWAY = "blind_gateway"  # gateway offline: we cannot tell, technical path only
    BLIND_SENSORS = "blind_sensors"  # gateway up but every sensor silent: technical path only
    DEVICE_SILENT = "device_silent"
    LOW_BATTERY = "low_battery"
    STUCK_SENSOR = "stuck_sensor"
    DATA_GAP = "data_gap"  # readings a gateway sent never reached the store (a gap in its seq, open long)
    SLOW_DECLINE = "slow_decline"  # drift over 1-2 weeks, for the care manager
    NOT_BACK = "not_back"  # nothing seen after a care-calendar absence ended (+ margin), for the care manager
    HEAT = "heat"  # a room at 厳重警戒 for long while home, or at 危険 (docs/climate.md): resident first
    COLD = "cold"  # the living room or bedroom cold for hours while home: resident first
    HEAT_SHOCK = "heat_shock"  # in winter the bathroom much colder than the living room: advice only


class Severity(StrEnum):
    URGENT = "urgent"  # people may need to go now
    WARNING = "warning"  # someone should check today
    INFO = "info"  # for the care manager's review


class Audience(StrEnum):
    """Who a finding goes to. Blind and device findings never reach neighbours."""

    COMMUNITY = "community"  # the household's escalation tiers
    TECHNICAL = "technical"  # the technical contact / operators
    CARE_MANAGER = "care_manager"  # dashboard and digest only


AUDIENCE: Mapping[FindingKind, Audience] = {
    FindingKind.HELP_BUTTON: Audience.COMMUNITY,
    FindingKind.INACTIVITY: Audience.COMMUNITY,
    FindingKind.MISSED_WAKEUP: Audience.COMMUNITY,
    FindingKind.LONG_ABSENCE: Audience.COMMUNITY,
    FindingKind.NIGHT_EXIT: Audience.COMMUNITY,
    FindingKind.EVENING_QUIET: Audience.COMMUNITY,
    FindingKind.BLIND_GATEWAY: Audience.TECHNICAL,
    FindingKind.BLIND_SENSORS: Audience.TECHNICAL,
    FindingKind.DEVICE_SILENT: Audience.TECHNICAL,
    FindingKind.LOW_BATTERY: Audience.TECHNICAL,
    FindingKind.STUCK_SENSOR: Audience.TECHNICAL,
    FindingKind.DATA_GAP: Audience.TECHNICAL,
    FindingKind.SLOW_DECLINE: Audience.CARE_MANAGER,
    FindingKind.NOT_BACK: Audience.CARE_MANAGER,
    FindingKind.HEAT: Audience.COMMUNITY,
    FindingKind.COLD: Audience.COMMUNITY,
    FindingKind.HEAT_SHOCK: Audience.CARE_MANAGER,
}

CLIMATE_KINDS = frozenset({FindingKind.HEAT, FindingKind.COLD})
"""Room-climate findings: the resident is told what to do, others are asked to look in."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a finding was raised, as a message key and its parameters; rendered per language.

    ``params`` hold plain values (strings, numbers, local times already formatted "07:10"), so the
    same explanation renders in Japanese and English, on SMS and in the dashboard.
    """

    key: str
    params: Mapping[str, str | int | float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finding:
    household: str
    kind: FindingKind
    severity: Severity
    raised_at: datetime
    episode: str  # stable id of the episode: same household+kind+episode is the same finding
    last_activity_at: datetime | None
    explanation: Explanation
    device: str | None = None

    @property
    def audience(self) -> Audience:
        return AUDIENCE[self.kind]
