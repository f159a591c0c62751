"""Activity seen again while an incident is open: further tiers pause, and close once it goes on."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from detection.findings import FindingKind
from escalation.chain import Progress
from escalation.closing import close
from escalation.effects import Audit, CancelQueued, Effect, Send, Step, Transition
from escalation.models import Incident, IncidentState, Outcome, SmsPurpose, StepKind
from escalation.recipients import told

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


def activity_seen(i: Incident, at: datetime, now: datetime, progress: Progress, actor: str) -> Transition:
    """Activity at ``at``: the first pauses the chain, a second after ``ACTIVITY_SETTLE`` closes it."""
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
            for c in told(i, progress)
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
        return close(moved, Outcome.ACTIVITY_RESUMED, now, progress, actor)
    return Transition(moved)
