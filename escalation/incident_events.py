"""What can happen to an incident: the events the state machine (:mod:`escalation.machine`) answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from escalation.models import Outcome

REPEAT_WINDOW = timedelta(minutes=10)
"""A help-button press within this long of the last press is the same episode."""


@dataclass(frozen=True, slots=True)
class Due:
    """The incident's next step may be due (scheduler, sweep, after any change): send the next wave,
    expire a claim, tell the operators when the chain ran out, or escalate again after a pause."""


@dataclass(frozen=True, slots=True)
class Claim:
    """``contact`` will go (first claim wins; the resident cannot claim: read as "safe")."""

    contact: str


@dataclass(frozen=True, slots=True)
class Decline:
    """``contact`` cannot go: passes it on (their claim, if any, is given back)."""

    contact: str


@dataclass(frozen=True, slots=True)
class ResidentSafe:
    """The household's resident says she is fine: closes as ``safe``."""

    contact: str


@dataclass(frozen=True, slots=True)
class Help:
    """119 / help from ``contact`` (someone texted, or the household's resident: ``resident``): the
    professionals at once. After an automatic close (``activity_resumed``) it reopens the incident."""

    contact: str
    resident: bool = False


@dataclass(frozen=True, slots=True)
class Close:
    """An outcome reported by ``role`` (see ``OUTCOME_SETTERS``): staff, the claimer (``contact``),
    the resident, anyone texted (``contact``; only "safe") or the system."""

    outcome: Outcome
    role: str
    contact: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ActivitySeen:
    """The household's newest activity is at ``at`` (the live state, polled)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Superseded:
    """A newer episode of the same household and kind opened ``by_incident``."""

    by_incident: str


@dataclass(frozen=True, slots=True)
class Repeated:
    """The same episode again (the help button pressed again within ``REPEAT_WINDOW``)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class FaultCleared:
    """A technical fault went away (battery replaced, device heard again, gateway back)."""

    detail: str = ""


@dataclass(frozen=True, slots=True)
class RoomCooled:
    """The rooms of a heat (or cold) incident are back to safe: nobody needs to be asked any more."""

    detail: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryFailed:
    """The alert to ``contact`` could not be delivered: the next person at once when nobody is left."""

    contact: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OptedOut:
    """``contact`` opted out (STOP): never texted again; the next person when nobody is left."""

    contact: str


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A blind home that is part of the platform outage ``platform_incident``: its chain is held."""

    platform_incident: str


Event = (
    Due
    | Claim
    | Decline
    | ResidentSafe
    | Help
    | Close
    | ActivitySeen
    | Superseded
    | Repeated
    | FaultCleared
    | RoomCooled
    | DeliveryFailed
    | OptedOut
    | Suppressed
)
