"""Answers to an incident: a claim, a decline, "safe", a call for help, and who may close it how."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from detection.findings import Audience
from escalation.chain import Progress
from escalation.closing import close
from escalation.due import move_on_if_settled
from escalation.effects import Audit, Effect, Send, Step, Transition, stamp
from escalation.models import CLAIMER, OUTCOME_SETTERS, Incident, IncidentState, Outcome, SmsPurpose, StepKind
from escalation.recipients import contact_of, told
from registry.models import ContactRole, TierKind

CONTACT = "contact"  # anyone the incident texted (may report "safe")


def claim(i: Incident, contact: str, now: datetime, progress: Progress, actor: str) -> Transition:
    """``contact`` will go: first claim wins; the resident's claim reads as "safe"."""
    person = contact_of(i, contact, progress)
    if person is None:
        return Transition(i, refused="not a contact of this incident")
    if person.role is ContactRole.RESIDENT:
        return resident_safe(i, contact, now, progress, actor)
    if i.state is IncidentState.CLAIMED:
        if i.claimed_by == contact:
            return Transition(i)  # the same answer again
        claimer = contact_of(i, i.claimed_by or "", progress)
        name = claimer.name if claimer else "?"
        key = f"{i.id}:already:{contact}:{i.claimed_by}"
        send = Send(person, SmsPurpose.REPLY, "already_claimed", key, params=(("claimer", name),))
        return Transition(i, (send,), refused="already claimed")
    claimed = replace(
        i,
        state=IncidentState.CLAIMED,
        claimed_by=contact,
        claimed_at=now,
        next_due_at=now + timedelta(minutes=i.snapshot.claim_timeout_minutes),
        updated_at=now,
    )
    effects: list[Effect] = [
        Step(StepKind.CLAIMED, contact=contact),
        Audit("incident.claimed", (("contact", contact),)),
        Send(person, SmsPurpose.REPLY, "claimed_you", f"{i.id}:claimed_you:{contact}:{stamp(now)}"),
    ]
    for other in told(i, progress, exclude=contact):
        key = f"{i.id}:claimed:{contact}:{other.id}"
        effects.append(
            Send(other, SmsPurpose.CLAIMED_NOTICE, "claimed_other", key, params=(("claimer", person.name),))
        )
    return Transition(claimed, tuple(effects))


def resident_safe(i: Incident, contact: str, now: datetime, progress: Progress, actor: str) -> Transition:
    """The resident says she is fine: a community incident closes as ``safe``."""
    if i.audience is not Audience.COMMUNITY:
        return Transition(i, refused="not about the resident")
    return close(i, Outcome.SAFE, now, progress, actor, exclude=contact)


def decline(i: Incident, contact: str, now: datetime, progress: Progress) -> Transition:
    """``contact`` cannot go: a claim is given back, or the next wave when nobody is left."""
    person = contact_of(i, contact, progress)
    if person is None:
        return Transition(i, refused="not a contact of this incident")
    gives_back = i.state is IncidentState.CLAIMED and i.claimed_by == contact
    if contact in progress.declined and not gives_back:
        return Transition(i)  # the same answer again
    effects: tuple[Effect, ...] = (
        Step(StepKind.DECLINED, contact=contact),
        Audit("incident.declined", (("contact", contact),)),
        Send(person, SmsPurpose.REPLY, "declined", f"{i.id}:declined:{contact}:{stamp(i.claimed_at)}"),
    )
    if gives_back:
        back = replace(
            i,
            state=IncidentState.NOTIFYING,
            claimed_by=None,
            claimed_at=None,
            next_due_at=now,
            updated_at=now,
        )
        return Transition(back, effects)
    if i.state is IncidentState.RESUMED:
        return Transition(i, effects)
    return move_on_if_settled(i, replace(progress, declined=progress.declined | {contact}), now, effects)


def call_help(i: Incident, contact: str, now: datetime, progress: Progress, resident: bool) -> Transition:
    """119 / help: the professionals (or the operators) at once; reopens an automatic close."""
    person = contact_of(i, contact, progress)
    effects: list[Effect] = []
    if i.state is IncidentState.RESOLVED:
        texted = contact in progress.notified or resident
        if i.outcome is not Outcome.ACTIVITY_RESUMED or not texted:
            return Transition(i, refused="closed")
        effects += [
            Step(StepKind.REOPENED, contact=contact),
            Audit("incident.reopened", (("contact", contact),)),
        ]
        i = replace(i, state=IncidentState.NOTIFYING, outcome=None, resolved_at=None, resolved_by=None)
    elif contact in progress.helped:
        return Transition(i)  # the same answer again
    effects += [Step(StepKind.HELP, contact=contact), Audit("incident.help", (("contact", contact),))]
    if person is not None:
        key = f"{i.id}:help_sent:{contact}:{stamp(now)}"
        effects.append(Send(person, SmsPurpose.REPLY, "help_sent", key, urgent=True))
    waves = i.snapshot.waves
    pros = [n for n, w in enumerate(waves) if w.tier is TierKind.PROFESSIONALS]
    people = [c for n in pros for c in waves[n].contacts] or list(progress.operators)
    purpose = SmsPurpose.ALERT if pros else SmsPurpose.OPERATOR
    tier = TierKind.PROFESSIONALS if pros else TierKind.OPERATORS
    name = person.name if person is not None else contact
    for p in people:
        if p.id in progress.opted_out or p.id == contact:
            continue
        key = f"{i.id}:help:{p.id}:{stamp(now)}"
        if p.id in progress.notified:  # they have the alert: this is the urgent news
            effects.append(Send(p, purpose, "help_requested", key, True, params=(("by", name),)))
        else:
            effects.append(Send(p, purpose, "alert", key, True, tier))
            effects.append(Step(StepKind.NOTIFIED, contact=p.id, wave_index=pros[0] if pros else None))
    after = pros[-1] + 1 if pros else i.wave_index
    wait = timedelta(minutes=waves[pros[-1]].wait_minutes) if pros else timedelta(0)
    helped = replace(
        i,
        state=IncidentState.NOTIFYING,
        wave_index=max(after, i.wave_index) if pros else i.wave_index,
        next_due_at=now + wait,
        claimed_by=None,
        claimed_at=None,
        resumed_at=None,
        updated_at=now,
    )
    return Transition(helped, tuple(effects))


def may_close(i: Incident, outcome: Outcome, role: str, contact: str | None, progress: Progress) -> str:
    """Why ``role`` may not set ``outcome`` ("" when it may)."""
    allowed = OUTCOME_SETTERS[outcome] | ({CONTACT} if outcome is Outcome.SAFE else frozenset())
    if role not in allowed:
        return "not allowed"
    if role == CLAIMER and (contact is None or contact != i.claimed_by):
        return "not the claimer"
    if role == CONTACT and contact not in progress.notified:
        return "not texted for this incident"
    return ""
