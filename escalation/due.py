"""A due step of an incident: the next wave, a claim that expired, the chain exhausted, or a pause
(activity resumed) that did not hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from detection.findings import Severity
from escalation.activity_resumed import ACTIVITY_SETTLE, RESUMED_WAIT
from escalation.chain import Exhausted, Notify, Progress, Wait, decide, wave_settled
from escalation.closing import close
from escalation.effects import Audit, Effect, Send, Step, Transition, stamp
from escalation.models import SYSTEM, Incident, IncidentState, Outcome, SmsPurpose, StepKind
from escalation.recipients import contact_of
from registry.models import TierKind


def step_due(i: Incident, now: datetime, progress: Progress) -> Transition:
    """What :class:`~escalation.incident_events.Due` at ``now`` does (nothing when no step is due)."""
    if i.state is IncidentState.RESUMED:
        if i.next_due_at is None or now < i.next_due_at:
            return Transition(i)
        # activity did not go on: escalate again where it stopped
        i = replace(i, state=IncidentState.NOTIFYING, resumed_at=None, next_due_at=now, updated_at=now)
        back: tuple[Effect, ...] = (
            Step(StepKind.ACTIVITY_RESUMED, detail="activity did not go on: escalating again"),
            Audit("incident.activity_stopped"),
        )
        t = step_due(i, now, progress)
        return Transition(t.incident, back + t.effects)
    if i.state is IncidentState.CLAIMED and i.resumed_at is not None and _past(i.next_due_at, now):
        return _claim_expired_while_up(i, now, progress)
    decision = decide(i, progress, now)
    if isinstance(decision, Wait):
        if decision.until == i.next_due_at:
            return Transition(i)
        return Transition(replace(i, next_due_at=decision.until, updated_at=now))
    if isinstance(decision, Notify):
        return _notify(i, decision, now, progress)
    if isinstance(decision, Exhausted):
        return _exhausted(i, decision.claim_expired, now, progress)
    return Transition(i)  # idle: closed, dashboard only, or already told the operators


def _claim_expired_while_up(i: Incident, now: datetime, progress: Progress) -> Transition:
    """The claim ran out, but the resident was up meanwhile: no further tiers (as if unclaimed)."""
    effects = _expired_claim(i, progress)
    unclaimed = replace(i, claimed_by=None, claimed_at=None)
    assert i.resumed_at is not None
    if i.activity_at is not None and i.activity_at - i.resumed_at >= ACTIVITY_SETTLE:
        t = close(unclaimed, Outcome.ACTIVITY_RESUMED, now, progress, SYSTEM)
        return Transition(t.incident, effects + t.effects)
    paused = replace(unclaimed, state=IncidentState.RESUMED, next_due_at=now + RESUMED_WAIT, updated_at=now)
    return Transition(paused, effects)


def _past(at: datetime | None, now: datetime) -> bool:
    return at is not None and at <= now


def _expired_claim(i: Incident, progress: Progress) -> tuple[Effect, ...]:
    claimer = i.claimed_by
    assert claimer is not None
    person = contact_of(i, claimer, progress)
    effects: list[Effect] = [
        Step(StepKind.CLAIM_EXPIRED, contact=claimer),
        Audit("incident.claim_expired", (("contact", claimer),)),
    ]
    if person is not None:
        key = f"{i.id}:expired:{claimer}:{stamp(i.claimed_at)}"
        effects.append(Send(person, SmsPurpose.REPLY, "claim_expired", key))
    return tuple(effects)


def _notify(i: Incident, d: Notify, now: datetime, progress: Progress) -> Transition:
    wave = i.snapshot.waves[d.wave_index]
    effects: list[Effect] = list(_expired_claim(i, progress)) if d.claim_expired else []
    urgent = i.severity is Severity.URGENT or wave.tier is TierKind.PROFESSIONALS
    for person in d.contacts:
        key = f"{i.id}:w{d.wave_index}:{person.id}:alert"
        effects.append(Send(person, SmsPurpose.ALERT, "alert", key, urgent, wave.tier))
        effects.append(Step(StepKind.NOTIFIED, contact=person.id, wave_index=d.wave_index))
    ids = ",".join(p.id for p in d.contacts)
    effects.append(
        Audit("incident.notified", (("tier", wave.tier.value), ("wave", d.wave_index), ("contacts", ids)))
    )
    updated = replace(
        i,
        state=IncidentState.NOTIFYING,
        wave_index=d.wave_index + 1,
        next_due_at=d.next_due_at,
        claimed_by=None,
        claimed_at=None,
        updated_at=now,
    )
    return Transition(updated, tuple(effects))


def _exhausted(i: Incident, claim_expired: bool, now: datetime, progress: Progress) -> Transition:
    effects: list[Effect] = list(_expired_claim(i, progress)) if claim_expired else []
    effects += [Step(StepKind.EXHAUSTED, detail="nobody left in the chain"), Audit("incident.exhausted")]
    if not progress.operators_told:
        for op in progress.operators:
            if op.id not in progress.notified and op.id not in progress.opted_out:
                key = f"{i.id}:exhausted:{op.id}"
                effects.append(Send(op, SmsPurpose.OPERATOR, "alert", key, True, TierKind.OPERATORS))
                effects.append(Step(StepKind.NOTIFIED, contact=op.id))
        told = ",".join(o.id for o in progress.operators)
        effects.append(Step(StepKind.OPERATORS_TOLD, detail=told or "no operators configured"))
    updated = replace(
        i,
        state=IncidentState.NOTIFYING if claim_expired or i.state is IncidentState.OPEN else i.state,
        next_due_at=None,
        claimed_by=None if claim_expired else i.claimed_by,
        claimed_at=None if claim_expired else i.claimed_at,
        updated_at=now,
    )
    return Transition(updated, tuple(effects))


def move_on_if_settled(
    i: Incident, progress: Progress, now: datetime, effects: tuple[Effect, ...]
) -> Transition:
    """After a decline, failure or opt-out: when nobody of the last wave is left, the next one now."""
    if wave_settled(i, progress) and i.next_due_at is not None and i.next_due_at > now:
        return Transition(replace(i, next_due_at=now, updated_at=now), effects)
    return Transition(i, effects)
