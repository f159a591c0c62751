"""Answers from people: SMS replies and one-tap link actions, read and applied to their incident.

Reading: only a few answers mean something, in Japanese and English; anything else gets a short help
text. Opt-out words are checked first and always win: "STOP" is never read as an acknowledgement.

Applying: a reply is matched to the open incident that texted that number most recently; numbers that
are not contacts, or not on an open incident, are refused (counted and audited). STOP is honoured first.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from escalation import texts
from escalation.chain import jump_to_professionals, wave_settled
from escalation.engine import EscalationEngine, mask
from escalation.models import Incident, IncidentState, Resolution, SmsPurpose, StepKind
from escalation.repository import EscalationRepository
from registry.models import Contact

log = logging.getLogger(__name__)


class ReplyAction(StrEnum):
    GO = "go"  # 1 / OK / 行きます: I'll go (claims the incident)
    CANT = "cant"  # 2 / NG / 無理: pass to the next person
    SAFE = "safe"  # 3 / 無事: the person is safe (resolves)
    HELP = "help"  # 119 / HELP / 救急: straight to the professionals
    STOP = "stop"  # STOP / 停止: never text this number again
    UNKNOWN = "unknown"


_STOP = ("stopall", "stop", "unsubscribe", "cancel", "end", "quit", "配信停止", "停止", "ていし")
_WORDS: tuple[tuple[str, ReplyAction], ...] = (
    ("119", ReplyAction.HELP),
    ("help", ReplyAction.HELP),
    ("sos", ReplyAction.HELP),
    ("救急", ReplyAction.HELP),
    ("きゅうきゅう", ReplyAction.HELP),
    ("助けて", ReplyAction.HELP),
    ("1", ReplyAction.GO),
    ("ok", ReplyAction.GO),
    ("yes", ReplyAction.GO),
    ("going", ReplyAction.GO),
    ("i'll go", ReplyAction.GO),
    ("ill go", ReplyAction.GO),
    ("行けません", ReplyAction.CANT),
    ("行けない", ReplyAction.CANT),
    ("いけません", ReplyAction.CANT),
    ("いけない", ReplyAction.CANT),
    ("行きます", ReplyAction.GO),
    ("いきます", ReplyAction.GO),
    ("向かいます", ReplyAction.GO),
    ("行く", ReplyAction.GO),
    ("2", ReplyAction.CANT),
    ("ng", ReplyAction.CANT),
    ("can't", ReplyAction.CANT),
    ("cant", ReplyAction.CANT),
    ("cannot", ReplyAction.CANT),
    ("無理", ReplyAction.CANT),
    ("むり", ReplyAction.CANT),
    ("3", ReplyAction.SAFE),
    ("safe", ReplyAction.SAFE),
    ("無事", ReplyAction.SAFE),
    ("ぶじ", ReplyAction.SAFE),
    ("大丈夫", ReplyAction.SAFE),
)
_TRIM = re.compile(r"^[\s\"'「『(（]+|[\s。．.!！?？、,，)）」』〜~ー-]+$")
_TOKEN = re.compile(r"[a-z']+|\d+|\S")


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), lower case, trimmed of punctuation."""
    folded = unicodedata.normalize("NFKC", text).replace("’", "'").lower()
    previous = None
    while previous != folded:
        previous, folded = folded, _TRIM.sub("", folded)
    return folded


def parse_reply(text: str) -> ReplyAction:
    s = normalize(text)
    if not s:
        return ReplyAction.UNKNOWN
    tokens = _TOKEN.findall(s)
    if any(t in _STOP for t in tokens) or any(w in s for w in _STOP if not w.isascii()):
        return ReplyAction.STOP
    for word, action in _WORDS:
        if s == word:
            return action
    for word, action in _WORDS:
        if word.isascii():
            if tokens and (tokens[0] == word or s.startswith(word + " ")):
                return action
        elif s.startswith(word):
            return action
    return ReplyAction.UNKNOWN


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """What a reply did: for the webhook's response and for tests."""

    action: ReplyAction
    accepted: bool  # False: refused (unknown number, not on an open incident)
    incident: str | None = None
    detail: str = ""


class ReplyDesk:
    def __init__(self, engine: EscalationEngine, repo: EscalationRepository) -> None:
        self._engine = engine
        self._repo = repo
        self.refused_replies = 0

    def handle_reply(self, phone: str, body: str, now: datetime, ref: str | None = None) -> ReplyOutcome:
        """An SMS from ``phone``: act on it for the incident that texted this number most recently."""
        action = parse_reply(body)
        ref = ref or uuid.uuid4().hex
        with self._repo.transaction():
            contacts = self._repo.contacts_by_phone(phone)
            if not contacts:
                return self._refuse(action, now, phone, "unknown number")
            if action is ReplyAction.STOP:
                moved = [i for c in contacts for i in self._opt_out(c, now)]
        if action is ReplyAction.STOP:
            for incident_id in moved:  # everyone of the current wave is unreachable now: next wave
                self._engine.after_change(incident_id, now)
            return ReplyOutcome(action, True, None, "opted out")
        with self._repo.transaction():
            found = self._repo.open_incidents_notifying([c.id for c in contacts])
            if not found:
                c = contacts[0]
                self._engine.queue(
                    f"reply:{ref}",
                    c.phone,
                    texts.text("no_incident", c.language),
                    SmsPurpose.REPLY,
                    None,
                    c.id,
                    now,
                )
                return self._refuse(action, now, phone, "not on an open incident")
            incident, contact_id = found[0]
            contact = next(c for c in contacts if c.id == contact_id)
            self._engine.audit(
                now, f"contact:{contact.id}", "reply", incident, action=action.value, text=body[:160]
            )
            detail = self._act(incident, contact, action, now, ref)
        self._engine.after_change(incident.id, now)
        return ReplyOutcome(action, True, incident.id, detail)

    def handle_link(self, link_id: int, action: ReplyAction, now: datetime) -> ReplyOutcome:
        """A tap on a one-tap link's page (the token was verified by the caller)."""
        with self._repo.transaction():
            link = self._repo.link(link_id)
            if link is None:
                return ReplyOutcome(action, False, None, "unknown link")
            incident = self._repo.incident(link[0])
            contact = self._repo.contact(link[1])
            if incident is None or contact is None:
                return ReplyOutcome(action, False, None, "unknown link")
            self._engine.audit(now, f"link:{contact.id}", "link.tap", incident, action=action.value)
            if incident.state is IncidentState.RESOLVED:
                return ReplyOutcome(action, False, incident.id, "already resolved")
            detail = self._act(incident, contact, action, now, uuid.uuid4().hex)
        self._engine.after_change(incident.id, now)
        return ReplyOutcome(action, True, incident.id, detail)

    def _refuse(self, action: ReplyAction, now: datetime, phone: str, why: str) -> ReplyOutcome:
        self.refused_replies += 1
        self._repo.audit(
            now, "sms", "reply.refused", detail={"from": mask(phone), "reason": why, "action": action.value}
        )
        log.info("reply.refused from=%s reason=%s", mask(phone), why)
        return ReplyOutcome(action, False, None, why)

    def _opt_out(self, contact: Contact, now: datetime) -> list[str]:
        """Opt ``contact`` out; the incidents whose next step is therefore due now."""
        repo = self._repo
        moved: list[str] = []
        repo.set_opted_out(contact.id, now)
        repo.audit(now, f"contact:{contact.id}", "contact.opted_out", detail={"role": contact.role.value})
        for incident in repo.incidents(open_only=True, limit=10_000):
            if any(c.id == contact.id for w in incident.snapshot.waves for c in w.contacts):
                repo.add_step(incident.id, StepKind.OPTED_OUT, now, contact=contact.id)
                self._engine.audit(
                    now, "system", "coverage.gap", incident, contact=contact.id, role=contact.role.value
                )
                if wave_settled(incident, self._engine.progress(incident)):
                    repo.save_incident(replace(incident, next_due_at=now, updated_at=now))
                    moved.append(incident.id)
        log.warning("coverage.gap contact=%s role=%s reason=opted_out", contact.id, contact.role)
        return moved

    def _act(self, incident: Incident, contact: Contact, action: ReplyAction, now: datetime, ref: str) -> str:
        repo = self._repo
        lang = contact.language
        name = self._engine.household_name(incident, lang)
        reply_key = f"reply:{ref}"
        if action is ReplyAction.GO:
            if incident.state is IncidentState.CLAIMED and incident.claimed_by != contact.id:
                claimer = repo.contact(incident.claimed_by or "")
                body = texts.text("already_claimed", lang, claimer=claimer.name if claimer else "?")
                self._engine.queue(
                    reply_key, contact.phone, body, SmsPurpose.REPLY, incident, contact.id, now
                )
                return "already claimed"
            claimed = replace(
                incident,
                state=IncidentState.CLAIMED,
                claimed_by=contact.id,
                claimed_at=now,
                next_due_at=now + timedelta(minutes=incident.snapshot.claim_timeout_minutes),
                updated_at=now,
            )
            repo.save_incident(claimed)
            repo.add_step(incident.id, StepKind.CLAIMED, now, contact=contact.id)
            self._engine.audit(now, f"contact:{contact.id}", "incident.claimed", incident, contact=contact.id)
            self._engine.queue(
                reply_key,
                contact.phone,
                texts.text("claimed_you", lang, name=name),
                SmsPurpose.REPLY,
                incident,
                contact.id,
                now,
            )
            for other in self._engine.notified_contacts(incident, exclude=contact.id):
                body = texts.text(
                    "claimed_other",
                    other.language,
                    name=self._engine.household_name(incident, other.language),
                    claimer=contact.name,
                )
                self._engine.queue(
                    f"{incident.id}:claimed:{now.isoformat()}:{other.id}",
                    other.phone,
                    body,
                    SmsPurpose.CLAIMED_NOTICE,
                    incident,
                    other.id,
                    now,
                )
            return "claimed"
        if action is ReplyAction.CANT:
            repo.add_step(incident.id, StepKind.DECLINED, now, contact=contact.id)
            self._engine.audit(
                now, f"contact:{contact.id}", "incident.declined", incident, contact=contact.id
            )
            self._engine.queue(
                reply_key,
                contact.phone,
                texts.text("declined", lang),
                SmsPurpose.REPLY,
                incident,
                contact.id,
                now,
            )
            current = incident
            if incident.state is IncidentState.CLAIMED and incident.claimed_by == contact.id:
                current = replace(
                    incident,
                    state=IncidentState.NOTIFYING,
                    claimed_by=None,
                    claimed_at=None,
                    next_due_at=now,
                    updated_at=now,
                )
            elif wave_settled(incident, self._engine.progress(incident)):
                current = replace(incident, next_due_at=now, updated_at=now)
            if current is not incident:
                repo.save_incident(current)
            return "declined"
        if action is ReplyAction.SAFE:
            self._engine.resolve_now(incident, Resolution.SAFE, f"contact:{contact.id}", now, exclude=None)
            return "resolved"
        if action is ReplyAction.HELP:
            repo.add_step(incident.id, StepKind.HELP, now, contact=contact.id)
            self._engine.audit(now, f"contact:{contact.id}", "incident.help", incident, contact=contact.id)
            repo.save_incident(jump_to_professionals(incident, now))
            self._engine.queue(
                reply_key,
                contact.phone,
                texts.text("help_sent", lang),
                SmsPurpose.REPLY,
                incident,
                contact.id,
                now,
                urgent=True,
            )
            return "help"
        self._engine.audit(now, f"contact:{contact.id}", "reply.unknown", incident)
        self._engine.queue(
            reply_key,
            contact.phone,
            texts.text("usage", lang),
            SmsPurpose.REPLY,
            incident,
            contact.id,
            now,
        )
        return "usage"
