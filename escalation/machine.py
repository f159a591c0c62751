"""The incident state machine: every change of an incident, as one pure function.

:func:`transition` takes an incident, an :data:`~escalation.incident_events.Event`, ``now`` and the
facts of the incident's log (:class:`~escalation.chain.Progress`) and returns the new incident with the
:data:`~escalation.effects.Effect` s to apply (SMS to queue, log steps, audit lines). :func:`opened` is
the start. Nothing here does I/O: the engine (:meth:`escalation.engine.EscalationEngine.apply`) loads,
calls, and applies the effects in one transaction. No other code changes an incident's state. The table
is in docs/escalation.md; each kind of event is handled in a module of its own (answers, due,
activity_resumed, closing).

Idempotent by construction: an event that changes nothing (a repeated answer, a second close, a step
not yet due) returns the incident unchanged and no effects.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from detection.findings import CLIMATE_KINDS, Audience, Finding
from escalation.activity_resumed import activity_seen
from escalation.answers import call_help, claim, decline, may_close, resident_safe
from escalation.chain import Progress
from escalation.closing import close
from escalation.due import move_on_if_settled, step_due
from escalation.effects import Audit, Effect, Step, Transition
from escalation.incident_events import (
    ActivitySeen,
    Claim,
    Close,
    Decline,
    DeliveryFailed,
    Due,
    Event,
    FaultCleared,
    Help,
    OptedOut,
    Repeated,
    ResidentSafe,
    RoomCooled,
    Superseded,
    Suppressed,
)
from escalation.models import SYSTEM, Incident, IncidentState, Outcome, PolicySnapshot, StepKind
from escalation.recipients import contact_of


def opened(incident_id: str, finding: Finding, snapshot: PolicySnapshot, now: datetime) -> Transition:
    """A new incident for ``finding`` (the first wave is sent by the :class:`Due` that follows)."""
    first = None if not snapshot.waves else now + timedelta(minutes=snapshot.first_wave_delay_minutes)
    incident = Incident(
        id=incident_id,
        household=finding.household,
        kind=finding.kind,
        severity=finding.severity,
        audience=finding.audience,
        state=IncidentState.OPEN,
        opened_at=now,
        updated_at=now,
        episode=finding.episode,
        explanation_key=finding.explanation.key,
        explanation_params=dict(finding.explanation.params),
        last_activity_at=finding.last_activity_at,
        snapshot=snapshot,
        next_due_at=first,
        device=finding.device,
    )
    waves = ",".join(w.tier.value for w in snapshot.waves)
    return Transition(
        incident,
        (
            Step(StepKind.OPENED, detail=f"{finding.kind.value}; waves: {waves or '-'}"),
            Audit("incident.opened", (("kind", finding.kind.value), ("waves", waves))),
        ),
    )


# -- the machine ------------------------------------------------------------------------------------


def transition(
    incident: Incident, event: Event, now: datetime, progress: Progress, actor: str = SYSTEM
) -> Transition:
    """What ``event`` at ``now`` does to ``incident``."""
    i = incident
    if i.state is IncidentState.RESOLVED and not isinstance(event, Help):
        return _closed(i, event)
    match event:
        case Due():
            return step_due(i, now, progress)
        case Claim(contact):
            return claim(i, contact, now, progress, actor)
        case Decline(contact):
            return decline(i, contact, now, progress)
        case ResidentSafe(contact):
            return resident_safe(i, contact, now, progress, actor)
        case Help(contact, resident):
            return call_help(i, contact, now, progress, resident)
        case Close(outcome, role, contact, note):
            why = may_close(i, outcome, role, contact, progress)
            if why:
                return Transition(i, refused=why)
            return close(i, outcome, now, progress, actor, note=note)  # the notice confirms it to them
        case ActivitySeen(at):
            return activity_seen(i, at, now, progress, actor)
        case Superseded(by):
            if i.state is IncidentState.CLAIMED:
                return Transition(i, refused="claimed: stays open for the claimer's outcome")
            t = close(i, Outcome.SUPERSEDED, now, progress, actor)
            return replace(t, incident=replace(t.incident, superseded_by=by))
        case Repeated(at):
            if i.last_activity_at is not None and at <= i.last_activity_at:
                return Transition(i)
            step = Step(StepKind.REPEATED, detail=at.isoformat())
            return Transition(replace(i, last_activity_at=at, updated_at=now), (step,))
        case FaultCleared(detail):
            if i.audience is not Audience.TECHNICAL:
                return Transition(i, refused="not a technical incident")
            t = close(i, Outcome.FAULT_CLEARED, now, progress, actor)
            return replace(t, effects=(Step(StepKind.FAULT_CLEARED, detail=detail), *t.effects))
        case RoomCooled(detail):
            if i.kind not in CLIMATE_KINDS:
                return Transition(i, refused="not a climate incident")
            if i.state is IncidentState.CLAIMED:
                return Transition(i, refused="claimed: stays open for the claimer's outcome")
            t = close(i, Outcome.ROOM_COOLED, now, progress, actor)
            return replace(t, effects=(Step(StepKind.ROOM_COOLED, detail=detail), *t.effects))
        case DeliveryFailed(contact, reason):
            if contact in progress.failed:
                return Transition(i)
            effects: tuple[Effect, ...] = (
                Step(StepKind.DELIVERY_FAILED, contact=contact, detail=reason),
                Audit("incident.delivery_failed", (("contact", contact), ("reason", reason))),
            )
            return move_on_if_settled(i, replace(progress, failed=progress.failed | {contact}), now, effects)
        case OptedOut(contact):
            if contact_of(i, contact, progress) is None:
                return Transition(i)
            effects = (
                Step(StepKind.OPTED_OUT, contact=contact),
                Audit("coverage.gap", (("contact", contact), ("reason", "opted_out"))),
            )
            opted = replace(progress, opted_out=progress.opted_out | {contact})
            return move_on_if_settled(i, opted, now, effects)
        case Suppressed(platform):
            if i.next_due_at is None:
                return Transition(i)
            effects = (
                Step(StepKind.SUPPRESSED, detail=f"platform outage {platform}"),
                Audit("incident.suppressed", (("platform_incident", platform),)),
            )
            return Transition(replace(i, next_due_at=None, updated_at=now), effects)
    raise AssertionError(event)  # pragma: no cover - exhaustive


def _closed(i: Incident, event: Event) -> Transition:
    """Events on a closed incident change nothing (help: :func:`~escalation.answers.call_help`)."""
    if isinstance(event, Close) and event.outcome is i.outcome:
        return Transition(i)  # the same close again: nothing to say
    quiet = isinstance(
        event, Due | ActivitySeen | Superseded | Repeated | FaultCleared | RoomCooled | Suppressed
    )
    return Transition(i, refused="" if quiet else "closed")
