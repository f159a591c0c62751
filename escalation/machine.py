"""The incident state machine: every change of an incident, as one pure function.

:func:`transition` takes an incident, an :data:`Event`, ``now`` and the facts of the incident's log
(:class:`~escalation.chain.Progress`) and returns the new incident with the :data:`Effect` s to apply
(SMS to queue, log steps, audit lines). :func:`opened` is the start. Nothing here does I/O: the engine
(:meth:`escalation.engine.EscalationEngine.apply`) loads, calls, and applies the effects in one
transaction. No other code changes an incident's state. The table is in docs/escalation.md.

Idempotent by construction: an event that changes nothing (a repeated answer, a second close, a step
not yet due) returns the incident unchanged and no effects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from detection.findings import CLIMATE_KINDS, Audience, Finding, FindingKind, Severity
from escalation.chain import Exhausted, Notify, Progress, Wait, decide, wave_settled
from escalation.models import (
    CLAIMER,
    OUTCOME_SETTERS,
    SYSTEM,
    Incident,
    IncidentState,
    Outcome,
    PolicySnapshot,
    SmsPurpose,
    SnapshotContact,
    StepKind,
)
from registry.models import ContactRole, TierKind

RESUMABLE = frozenset(
    {
        FindingKind.INACTIVITY,
        FindingKind.MISSED_WAKEUP,
        FindingKind.LONG_ABSENCE,
        FindingKind.NIGHT_EXIT,
        FindingKind.EVENING_QUIET,
    }
)
"""Kinds that activity answers: resumed activity stops further tiers and, unclaimed, closes them."""
ACTIVITY_SETTLE = timedelta(minutes=15)
"""Activity "goes on" when it is seen again at least this long after it first resumed (two events)."""
RESUMED_WAIT = timedelta(minutes=30)
"""A resumed incident whose activity did not go on within this long escalates again where it stopped."""
REPEAT_WINDOW = timedelta(minutes=10)
"""A help-button press within this long of the last press is the same episode."""
CONTACT = "contact"  # anyone the incident texted (may report "safe")

# -- events -----------------------------------------------------------------------------------------


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

# -- effects ----------------------------------------------------------------------------------------


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


# -- opening ----------------------------------------------------------------------------------------


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
            return _due(i, now, progress)
        case Claim(contact):
            return _claim(i, contact, now, progress, actor)
        case Decline(contact):
            return _decline(i, contact, now, progress)
        case ResidentSafe(contact):
            if i.audience is not Audience.COMMUNITY:
                return Transition(i, refused="not about the resident")
            return _close(i, Outcome.SAFE, now, progress, actor, exclude=contact)
        case Help(contact, resident):
            return _help(i, contact, now, progress, resident)
        case Close(outcome, role, contact, note):
            why = _may_close(i, outcome, role, contact, progress)
            if why:
                return Transition(i, refused=why)
            return _close(i, outcome, now, progress, actor, note=note)  # the notice confirms it to them
        case ActivitySeen(at):
            return _activity(i, at, now, progress, actor)
        case Superseded(by):
            if i.state is IncidentState.CLAIMED:
                return Transition(i, refused="claimed: stays open for the claimer's outcome")
            t = _close(i, Outcome.SUPERSEDED, now, progress, actor)
            return replace(t, incident=replace(t.incident, superseded_by=by))
        case Repeated(at):
            if i.last_activity_at is not None and at <= i.last_activity_at:
                return Transition(i)
            step = Step(StepKind.REPEATED, detail=at.isoformat())
            return Transition(replace(i, last_activity_at=at, updated_at=now), (step,))
        case FaultCleared(detail):
            if i.audience is not Audience.TECHNICAL:
                return Transition(i, refused="not a technical incident")
            t = _close(i, Outcome.FAULT_CLEARED, now, progress, actor)
            return replace(t, effects=(Step(StepKind.FAULT_CLEARED, detail=detail), *t.effects))
        case RoomCooled(detail):
            if i.kind not in CLIMATE_KINDS:
                return Transition(i, refused="not a climate incident")
            if i.state is IncidentState.CLAIMED:
                return Transition(i, refused="claimed: stays open for the claimer's outcome")
            t = _close(i, Outcome.ROOM_COOLED, now, progress, actor)
            return replace(t, effects=(Step(StepKind.ROOM_COOLED, detail=detail), *t.effects))
        case DeliveryFailed(contact, reason):
            if contact in progress.failed:
                return Transition(i)
            effects: tuple[Effect, ...] = (
                Step(StepKind.DELIVERY_FAILED, contact=contact, detail=reason),
                Audit("incident.delivery_failed", (("contact", contact), ("reason", reason))),
            )
            return _move_on_if_settled(i, replace(progress, failed=progress.failed | {contact}), now, effects)
        case OptedOut(contact):
            if _contact(i, contact, progress) is None:
                return Transition(i)
            effects = (
                Step(StepKind.OPTED_OUT, contact=contact),
                Audit("coverage.gap", (("contact", contact), ("reason", "opted_out"))),
            )
            opted = replace(progress, opted_out=progress.opted_out | {contact})
            return _move_on_if_settled(i, opted, now, effects)
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
    """Events on a closed incident change nothing (help is handled by :func:`_help`)."""
    if isinstance(event, Close) and event.outcome is i.outcome:
        return Transition(i)  # the same close again: nothing to say
    quiet = isinstance(
        event, Due | ActivitySeen | Superseded | Repeated | FaultCleared | RoomCooled | Suppressed
    )
    return Transition(i, refused="" if quiet else "closed")


# -- due: waves, claim expiry, exhaustion, a pause that did not hold ----------------------------------


def _due(i: Incident, now: datetime, progress: Progress) -> Transition:
    if i.state is IncidentState.RESUMED:
        if i.next_due_at is None or now < i.next_due_at:
            return Transition(i)
        # activity did not go on: escalate again where it stopped
        i = replace(i, state=IncidentState.NOTIFYING, resumed_at=None, next_due_at=now, updated_at=now)
        back: tuple[Effect, ...] = (
            Step(StepKind.ACTIVITY_RESUMED, detail="activity did not go on: escalating again"),
            Audit("incident.activity_stopped"),
        )
        t = _due(i, now, progress)
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
        t = _close(unclaimed, Outcome.ACTIVITY_RESUMED, now, progress, SYSTEM)
        return Transition(t.incident, effects + t.effects)
    paused = replace(unclaimed, state=IncidentState.RESUMED, next_due_at=now + RESUMED_WAIT, updated_at=now)
    return Transition(paused, effects)


def _past(at: datetime | None, now: datetime) -> bool:
    return at is not None and at <= now


def _expired_claim(i: Incident, progress: Progress) -> tuple[Effect, ...]:
    claimer = i.claimed_by
    assert claimer is not None
    person = _contact(i, claimer, progress)
    effects: list[Effect] = [
        Step(StepKind.CLAIM_EXPIRED, contact=claimer),
        Audit("incident.claim_expired", (("contact", claimer),)),
    ]
    if person is not None:
        key = f"{i.id}:expired:{claimer}:{_stamp(i.claimed_at)}"
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


def _move_on_if_settled(
    i: Incident, progress: Progress, now: datetime, effects: tuple[Effect, ...]
) -> Transition:
    """After a decline, failure or opt-out: when nobody of the last wave is left, the next one now."""
    if wave_settled(i, progress) and i.next_due_at is not None and i.next_due_at > now:
        return Transition(replace(i, next_due_at=now, updated_at=now), effects)
    return Transition(i, effects)


# -- answers ----------------------------------------------------------------------------------------


def _claim(i: Incident, contact: str, now: datetime, progress: Progress, actor: str) -> Transition:
    person = _contact(i, contact, progress)
    if person is None:
        return Transition(i, refused="not a contact of this incident")
    if person.role is ContactRole.RESIDENT:
        return transition(i, ResidentSafe(contact), now, progress, actor)
    if i.state is IncidentState.CLAIMED:
        if i.claimed_by == contact:
            return Transition(i)  # the same answer again
        claimer = _contact(i, i.claimed_by or "", progress)
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
        Send(person, SmsPurpose.REPLY, "claimed_you", f"{i.id}:claimed_you:{contact}:{_stamp(now)}"),
    ]
    for other in _told(i, progress, exclude=contact):
        key = f"{i.id}:claimed:{contact}:{other.id}"
        effects.append(
            Send(other, SmsPurpose.CLAIMED_NOTICE, "claimed_other", key, params=(("claimer", person.name),))
        )
    return Transition(claimed, tuple(effects))


def _decline(i: Incident, contact: str, now: datetime, progress: Progress) -> Transition:
    person = _contact(i, contact, progress)
    if person is None:
        return Transition(i, refused="not a contact of this incident")
    gives_back = i.state is IncidentState.CLAIMED and i.claimed_by == contact
    if contact in progress.declined and not gives_back:
        return Transition(i)  # the same answer again
    effects: tuple[Effect, ...] = (
        Step(StepKind.DECLINED, contact=contact),
        Audit("incident.declined", (("contact", contact),)),
        Send(person, SmsPurpose.REPLY, "declined", f"{i.id}:declined:{contact}:{_stamp(i.claimed_at)}"),
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
    return _move_on_if_settled(i, replace(progress, declined=progress.declined | {contact}), now, effects)


def _help(i: Incident, contact: str, now: datetime, progress: Progress, resident: bool) -> Transition:
    person = _contact(i, contact, progress)
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
        key = f"{i.id}:help_sent:{contact}:{_stamp(now)}"
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
        key = f"{i.id}:help:{p.id}:{_stamp(now)}"
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


def _may_close(i: Incident, outcome: Outcome, role: str, contact: str | None, progress: Progress) -> str:
    """Why ``role`` may not set ``outcome`` ("" when it may)."""
    allowed = OUTCOME_SETTERS[outcome] | ({CONTACT} if outcome is Outcome.SAFE else frozenset())
    if role not in allowed:
        return "not allowed"
    if role == CLAIMER and (contact is None or contact != i.claimed_by):
        return "not the claimer"
    if role == CONTACT and contact not in progress.notified:
        return "not texted for this incident"
    return ""


# -- activity ---------------------------------------------------------------------------------------


def _activity(i: Incident, at: datetime, now: datetime, progress: Progress, actor: str) -> Transition:
    if i.kind not in RESUMABLE:
        return Transition(i)
    since = i.activity_at or i.last_activity_at or i.opened_at
    if at <= since:
        return Transition(i)
    if i.resumed_at is None:
        effects: list[Effect] = [
            Step(StepKind.ACTIVITY_RESUMED, detail=at.isoformat()),
            Audit("incident.activity_resumed", (("at", at.isoformat()),)),
        ]
        effects += [
            Send(c, SmsPurpose.ACTIVITY_NOTICE, "activity_paused", f"{i.id}:activity:{c.id}")
            for c in _told(i, progress)
        ]
        if i.state is IncidentState.CLAIMED:  # stays open for the claimer's outcome
            return Transition(replace(i, resumed_at=at, activity_at=at, updated_at=now), tuple(effects))
        effects.append(CancelQueued())
        paused = replace(
            i,
            state=IncidentState.RESUMED,
            resumed_at=at,
            activity_at=at,
            next_due_at=max(at, now) + RESUMED_WAIT,
            updated_at=now,
        )
        return Transition(paused, tuple(effects))
    moved = replace(i, activity_at=at, updated_at=now)
    if i.state is IncidentState.RESUMED and at - i.resumed_at >= ACTIVITY_SETTLE:
        return _close(moved, Outcome.ACTIVITY_RESUMED, now, progress, actor)
    return Transition(moved)


# -- closing ----------------------------------------------------------------------------------------


def _close(
    i: Incident,
    outcome: Outcome,
    now: datetime,
    progress: Progress,
    actor: str,
    *,
    exclude: str | None = None,
    note: str = "",
) -> Transition:
    closed = replace(
        i,
        state=IncidentState.RESOLVED,
        outcome=outcome,
        resolved_by=actor,
        resolved_at=now,
        next_due_at=None,
        note=note,
        updated_at=now,
    )
    detail: tuple[tuple[str, str | int | None], ...] = (("outcome", outcome.value),)
    effects: list[Effect] = [
        Step(StepKind.RESOLVED, detail=f"{outcome.value} by {actor}" + (f": {note}" if note else "")),
        Audit("incident.resolved", detail + ((("note", note),) if note else ())),
        CancelQueued(),
    ]
    if outcome is Outcome.SUPERSEDED:
        text, purpose = "superseded", SmsPurpose.SUPERSEDED_NOTICE
    else:
        text = "activity_resolved" if outcome is Outcome.ACTIVITY_RESUMED else "resolved"
        purpose = SmsPurpose.RESOLVED_NOTICE
    for c in _told(i, progress, exclude=exclude):
        key = f"{i.id}:resolved:{outcome.value}:{c.id}"
        effects.append(Send(c, purpose, text, key, params=(("how", outcome.value),)))
    return Transition(closed, tuple(effects))


# -- helpers ----------------------------------------------------------------------------------------


def _contact(i: Incident, contact_id: str, progress: Progress) -> SnapshotContact | None:
    for w in i.snapshot.waves:
        for c in w.contacts:
            if c.id == contact_id:
                return c
    return next((o for o in progress.operators if o.id == contact_id), None)


def _told(i: Incident, progress: Progress, exclude: str | None = None) -> list[SnapshotContact]:
    """Everyone texted an alert for this incident (and not opted out), in id order."""
    ids = sorted(progress.notified - progress.opted_out - {exclude})
    return [c for c in (_contact(i, n, progress) for n in ids) if c is not None]


def _stamp(at: datetime | None) -> str:
    return "-" if at is None else str(int(at.timestamp()))
