"""Closing an incident: the outcome, the log, and a notice to everyone texted."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from escalation.chain import Progress
from escalation.effects import Audit, CancelQueued, Effect, Send, Step, Transition
from escalation.models import Incident, IncidentState, Outcome, SmsPurpose, StepKind
from escalation.recipients import told


def close(
    i: Incident,
    outcome: Outcome,
    now: datetime,
    progress: Progress,
    actor: str,
    *,
    exclude: str | None = None,
    note: str = "",
) -> Transition:
    """``i`` resolved with ``outcome``; everyone texted but ``exclude`` is told."""
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
    for c in told(i, progress, exclude=exclude):
        key = f"{i.id}:resolved:{outcome.value}:{c.id}"
        effects.append(Send(c, purpose, text, key, params=(("how", outcome.value),)))
    return Transition(closed, tuple(effects))
