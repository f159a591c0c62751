"""What a transition asks the shell to do: the effects, and the transition that carries them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from escalation.models import Incident, SmsPurpose, SnapshotContact, StepKind
from registry.models import TierKind


@dataclass(frozen=True, slots=True)
class Send:
    """Queue one SMS. ``text`` is a key of ``escalation.texts`` ("alert": the alert of ``tier``);
    ``key`` makes it idempotent (one message per key, ever)."""

    contact: SnapshotContact
    purpose: SmsPurpose
    text: str
    key: str
    urgent: bool = False
    tier: TierKind | None = None
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the incident's escalation log."""

    kind: StepKind
    contact: str | None = None
    wave_index: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Audit:
    """One line of the audit log (the actor is the one :meth:`EscalationEngine.apply` was given)."""

    action: str
    detail: tuple[tuple[str, str | int | None], ...] = ()


@dataclass(frozen=True, slots=True)
class CancelQueued:
    """Alerts of this incident still waiting in the queue are not sent."""


Effect = Send | Step | Audit | CancelQueued


@dataclass(frozen=True, slots=True)
class Transition:
    """The incident after an event, what to do, and why nothing happened when it was refused."""

    incident: Incident
    effects: tuple[Effect, ...] = ()
    refused: str = ""  # "closed", "not allowed", "already claimed", ...


def stamp(at: datetime | None) -> str:
    """``at`` in an idempotency key (seconds since the epoch; "-" for none)."""
    return "-" if at is None else str(int(at.timestamp()))
