"""Who an incident's effects go to: a contact of its chain (or an operator), and everyone texted."""

from __future__ import annotations

from escalation.chain import Progress
from escalation.models import Incident, SnapshotContact


def contact_of(i: Incident, contact_id: str, progress: Progress) -> SnapshotContact | None:
    """The contact ``contact_id`` of the incident's chain or of its operators (None: neither)."""
    for w in i.snapshot.waves:
        for c in w.contacts:
            if c.id == contact_id:
                return c
    return next((o for o in progress.operators if o.id == contact_id), None)


def told(i: Incident, progress: Progress, exclude: str | None = None) -> list[SnapshotContact]:
    """Everyone texted an alert for this incident (and not opted out), in id order."""
    ids = sorted(progress.notified - progress.opted_out - {exclude})
    return [c for c in (contact_of(i, n, progress) for n in ids) if c is not None]
