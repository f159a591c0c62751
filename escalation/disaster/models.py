"""A disaster check's records and its settings, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from registry.models import Need


class SafeBy(StrEnum):
    """How a household came to count as safe."""

    REPLY = "reply"  # the resident answered the SMS ("1", 無事, OK)
    LINK = "link"  # the resident tapped the one-tap link
    ACTIVITY = "activity"  # the home's sensors saw activity after the quake's own minutes
    VOLUNTEER = "volunteer"  # a volunteer asked to look answered "3"


class Standing(StrEnum):
    """Where one household of a check stands."""

    SAFE = "safe"
    UNKNOWN = "unknown"  # blind: gateway or power down, so the sensors cannot tell
    WAITING = "waiting"  # no answer and no activity since the check started


@dataclass(frozen=True, slots=True)
class DisasterSettings:
    ignore_minutes: int = 10  # activity in the first minutes is the quake itself, not a sign of life
    duration_hours: float = 24.0  # a check not ended by hand ends by itself then
    backlog_s: float = 30.0  # resident SMS queued ahead of the dispatcher, in seconds of its rate
    sms_rate_per_s: float = 1.0  # the dispatcher's rate (the SMS channel's)
    volunteers_per_minute: float = 6.0  # volunteers asked, at most, across every area asked
    link_ttl_hours: int = 24


@dataclass(frozen=True, slots=True)
class DisasterCheck:
    id: str
    organisation: str | None  # None: every organisation
    area: str | None  # None: every area
    requested_at: datetime
    requested_by: str
    started_at: datetime | None = None  # None: requested, the alerts service starts it on its next tick
    ends_at: datetime | None = None
    end_requested_by: str | None = None
    ended_at: datetime | None = None
    report: str | None = None  # JSON (``report`` of :mod:`escalation.disaster.standing`)

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.ended_at is None


@dataclass(frozen=True, slots=True)
class CheckHousehold:
    """One household of a check: what it was when the check started and what has been seen since."""

    check: str
    household: str
    area: str
    lives_alone: bool
    needs: tuple[Need, ...]
    resident: str | None = None  # the contact texted
    texted_at: datetime | None = None
    last_activity_at: datetime | None = None
    blind: bool = False
    safe_at: datetime | None = None
    safe_by: SafeBy | None = None
    help_at: datetime | None = None
    asked_at: datetime | None = None
    asked: str | None = None  # the volunteer asked to look
    visiting: str | None = None  # the volunteer who said they would go
