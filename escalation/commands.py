"""What staff do to incidents, for the dashboard and the command line: close one with an outcome.

The public way into escalation for code above it (the dashboard imports this module, never the engine):
every change still goes through the state machine (:meth:`EscalationEngine.apply`), in the caller's
process, on the shared state file. SMS it queues (the resolved notice to everyone already texted) are
sent by the alerts service's dispatcher on its next sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.incident_events import Close
from escalation.models import OUTCOME_SETTERS, STAFF, Incident, Outcome, SnapshotContact
from escalation.repository import EscalationRepository
from mimamori.config import Config
from registry.models import ContactRole, Language

log = logging.getLogger(__name__)

NOTE_MAX = 500  # characters of a staff note
STAFF_OUTCOMES = tuple(o for o in Outcome if STAFF in OUTCOME_SETTERS[o])
"""The outcomes staff may close with, in the vocabulary's order."""


@dataclass(frozen=True, slots=True)
class Closed:
    """What a close did: the incident after it, and why nothing happened when it was refused."""

    incident: Incident | None  # None: no such incident
    refused: str = ""  # "unknown incident", "closed", "not allowed", "note too long"


def operators(config: Config) -> tuple[SnapshotContact, ...]:
    """The platform operators of ``[alerts] operators`` as the engine texts them."""
    language = Language(config.alerts.operator_language)
    return tuple(
        SnapshotContact(f"operator-{n}", "operator", phone, ContactRole.TECHNICAL, language)
        for n, phone in enumerate(config.alerts.operators, start=1)
    )


class StaffCommands:
    """Staff actions on the escalation state (``repo`` is open; the caller owns it)."""

    def __init__(
        self,
        repo: EscalationRepository,
        operators: tuple[SnapshotContact, ...] = (),
        time_zone: str = "Asia/Tokyo",
    ) -> None:
        self._repo = repo
        # A close renders no alert (no link): the link settings are never used here.
        settings = EngineSettings(public_url="", link_secret=b"", operators=operators, time_zone=time_zone)
        self._engine = EscalationEngine(repo, settings)

    def close(self, incident_id: str, outcome: Outcome, note: str, actor: str, now: datetime) -> Closed:
        """Close an incident with ``outcome`` (one staff may set) and a note, audited as ``actor``
        ("care_manager:sato", "cli:root"). Everyone already texted gets the resolved notice. Closing again
        with the same outcome is a no-op."""
        note = " ".join(note.split())
        if len(note) > NOTE_MAX:
            return Closed(self._repo.incident(incident_id), "note too long")
        if outcome not in STAFF_OUTCOMES:
            return Closed(self._repo.incident(incident_id), "not allowed")
        t = self._engine.handle(incident_id, Close(outcome, STAFF, note=note), now, actor=actor)
        if t is None:
            return Closed(None, "unknown incident")
        if t.refused:
            log.info("incident.close_refused id=%s by=%s reason=%s", incident_id, actor, t.refused)
        return Closed(t.incident, t.refused)
