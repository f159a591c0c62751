"""Answers from people: SMS replies and one-tap taps, read (the grammar) and routed (the router).

The grammar (:func:`parse`) cannot silently hurt: an opt-out happens only when the WHOLE normalised
message is an opt-out word ("STOP", "停止", "配信停止"); a reply that merely contains one ("1 but end of
day", 「エレベーター停止中なので…」) is read for its answer or gets the help text. Anything not understood
changes nothing and gets a short help SMS.

The router (:class:`ReplyDesk`) finds what a reply answers. Every message that expects an answer carries
a reply code (:mod:`escalation.codes`) a reply may start with ("K7 1"); without one, an open alert comes
before a resident check before anything else, the newest first, and when more than one was open the
answer says which it was taken for. Other kinds of questions (drills, checks, commands) plug in a
:class:`ReplyHandler`; only the incident handler changes incidents, through ``EscalationEngine.handle``.

Idempotent: a webhook whose MessageSid was handled is a no-op (persisted), and a repeated answer changes
nothing and texts nobody (the state machine's own rule; the desk's own replies are keyed to match).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from detection.findings import Audience
from escalation import texts
from escalation.answers import CONTACT
from escalation.codes import reply_code, split_code
from escalation.effects import Send
from escalation.engine import EscalationEngine
from escalation.incident_events import Claim, Close, Decline, Event, Help, OptedOut, ResidentSafe
from escalation.messaging import mask
from escalation.models import CLAIMER, Incident, IncidentState, Outcome, SmsPurpose, StepKind
from escalation.repository import EscalationRepository
from registry.models import Contact, ContactRole

log = logging.getLogger(__name__)


class ReplyAction(StrEnum):
    GO = "go"  # 1 / 行きます: I'll go (claims the incident)
    CANT = "cant"  # 2 / 無理: pass it on (gives a claim back)
    SAFE = "safe"  # 3 / 無事 / 大丈夫: the person is safe (closes)
    NO_ANSWER = "no_answer_at_door"  # 4 / 応答なし: the claimer went, nobody answered (closes)
    HOSPITAL = "hospital"  # 5 / 搬送: taken to hospital (closes)
    HELP = "help"  # 119 / 助けて / 救急: the professionals at once
    ACK = "ack"  # はい / 了解 / OK: from a contact, asked to confirm; from the resident, "I'm fine"
    STOP = "stop"  # the whole message is STOP / 停止: never text this number again
    START = "start"  # the whole message is START / 再開: opted back in
    TEST = "test"  # T / テスト: the answer to a chain health drill (escalation/drills.py), never to an alert
    REST = "rest"  # REST 7 / 休み 7: a volunteer rests that many days (escalation/volunteer_sms.py)
    RECORD = "record"  # RECORD / 記録: a volunteer's own month by SMS (escalation/volunteer_sms.py)
    UNKNOWN = "unknown"


NOT_ANSWERS = frozenset({ReplyAction.TEST, ReplyAction.REST, ReplyAction.RECORD})
"""Never an answer to an alert: the drill's T and the volunteers' commands."""


OPT_OUT = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "停止", "配信停止", "ていし"})
OPT_IN = frozenset({"start", "unstop", "再開", "配信再開", "さいかい"})
NUMBERS = {
    "1": ReplyAction.GO,
    "2": ReplyAction.CANT,
    "3": ReplyAction.SAFE,
    "4": ReplyAction.NO_ANSWER,
    "5": ReplyAction.HOSPITAL,
    "119": ReplyAction.HELP,
}
"""A reply that starts with one of these numbers (not followed by another digit) is that answer,
whatever follows: 「1（電車が運転停止、少し遅れます）」 is "1"."""
_WORDS: tuple[tuple[str, ReplyAction], ...] = (
    # ASCII words: the first word of the reply; Japanese words: the start of the reply.
    ("help", ReplyAction.HELP),
    ("sos", ReplyAction.HELP),
    ("test", ReplyAction.TEST),
    ("テスト", ReplyAction.TEST),
    ("てすと", ReplyAction.TEST),
    ("救急", ReplyAction.HELP),
    ("きゅうきゅう", ReplyAction.HELP),
    ("助けて", ReplyAction.HELP),
    ("たすけて", ReplyAction.HELP),
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
    ("ng", ReplyAction.CANT),
    ("can't", ReplyAction.CANT),
    ("cant", ReplyAction.CANT),
    ("cannot", ReplyAction.CANT),
    ("無理", ReplyAction.CANT),
    ("むり", ReplyAction.CANT),
    ("safe", ReplyAction.SAFE),
    ("fine", ReplyAction.SAFE),
    ("無事", ReplyAction.SAFE),
    ("ぶじ", ReplyAction.SAFE),
    ("大丈夫", ReplyAction.SAFE),
    ("だいじょうぶ", ReplyAction.SAFE),
    ("応答なし", ReplyAction.NO_ANSWER),
    ("応答無し", ReplyAction.NO_ANSWER),
    ("hospital", ReplyAction.HOSPITAL),
    ("搬送", ReplyAction.HOSPITAL),
    ("病院", ReplyAction.HOSPITAL),
    ("ok", ReplyAction.ACK),
    ("okay", ReplyAction.ACK),
    ("yes", ReplyAction.ACK),
    ("はい", ReplyAction.ACK),
    ("了解", ReplyAction.ACK),
    ("りょうかい", ReplyAction.ACK),
    ("わかりました", ReplyAction.ACK),
    ("分かりました", ReplyAction.ACK),
)
_REST = re.compile(r"^(?:rest(?:\s+(?P<arg>.*))?|(?:休み|やすみ)\s*(?P<days>\d*)\s*(?:日間?)?)$")
"""REST with anything after it (checked by the handler); 休み only with a number or nothing, so that
「休みなので行けません」 is still read as an answer."""
_RECORD = re.compile(r"^(?:records?|記録|きろく)$")
_TRIM = re.compile(r"^[\s\"'「『(（]+|[\s。．.!！?？、,，)）」』〜~ー-]+$")
_NUMBER = re.compile(r"^(\d+)(?!\d)")
_TOKEN = re.compile(r"[a-z']+|\d+|\S")


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), lower case, trimmed of punctuation."""
    folded = unicodedata.normalize("NFKC", text).replace("’", "'").lower()
    folded = " ".join(folded.split())
    previous = None
    while previous != folded:
        previous, folded = folded, _TRIM.sub("", folded)
    return folded


def _compact(normalised: str) -> str:
    """Without spaces and punctuation: what an opt-out word is compared with ("S.T.O.P!" is "stop")."""
    return "".join(ch for ch in normalised if unicodedata.category(ch)[0] not in "PZS")


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply read: its answer and the reply code it started with, if any."""

    action: ReplyAction
    code: str | None = None
    argument: str = ""  # what follows a command's word: REST 7's "7"


def parse(text: str) -> Reply:
    """Read one SMS reply (see the table in docs/escalation.md)."""
    s = normalize(text)
    compact = _compact(s)
    if compact in OPT_OUT:
        return Reply(ReplyAction.STOP)
    if compact in OPT_IN:
        return Reply(ReplyAction.START)
    rest_days = _REST.match(s)
    if rest_days:
        return Reply(ReplyAction.REST, argument=(rest_days["arg"] or rest_days["days"] or "").strip())
    if _RECORD.match(s):
        return Reply(ReplyAction.RECORD)
    code, rest = split_code(s)
    return Reply(_answer(rest), code)


def parse_reply(text: str) -> ReplyAction:
    """The answer of one SMS reply (its code set aside)."""
    return parse(text).action


def _answer(s: str) -> ReplyAction:
    if not s:
        return ReplyAction.UNKNOWN
    if s == "t":  # the drill's answer ("reply T"): a letter alone means nothing else
        return ReplyAction.TEST
    number = _NUMBER.match(s)
    if number:
        return NUMBERS.get(number.group(1), ReplyAction.UNKNOWN)
    tokens = _TOKEN.findall(s)
    for word, action in _WORDS:
        if word.isascii():
            if tokens[0] == word or s == word or s.startswith(word + " "):
                return action
        elif s.startswith(word):
            return action
    return ReplyAction.UNKNOWN


# -- the router ---------------------------------------------------------------------------------------

PRECEDENCE = ("alert", "resident_check")
"""Without a code, a reply answers the first of these kinds that is waiting, then any other kind."""


@dataclass(frozen=True, slots=True)
class Pending:
    """One question waiting for ``contact``'s answer."""

    kind: str  # "alert", "resident_check", or a kind another part registers ("drill", ...)
    item: str  # what was asked about (an incident id, ...)
    code: str  # its reply code
    contact: Contact
    asked_at: datetime
    label: str  # what it is, in the contact's language ("山田花子"): the answer says which


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """What a reply did: for the webhook's log and for tests."""

    action: ReplyAction
    accepted: bool  # False: refused (unknown number, nothing open, unknown code, already handled)
    incident: str | None = None  # the item it was taken for
    detail: str = ""


class ReplyHandler(Protocol):
    """A kind of question people answer by SMS. Register one with :meth:`ReplyDesk.register`."""

    def pending(self, contacts: Sequence[Contact], reply: Reply, now: datetime) -> list[Pending]:
        """The questions these contacts (one phone) may be answering."""

    def answer(self, item: Pending, action: ReplyAction, now: datetime, actor: str) -> str:
        """Act on one answer; what it did ("claimed", "usage", ...; "" when it changed nothing)."""


class ReplyDesk:
    """Routes SMS replies and one-tap taps to the question they answer."""

    def __init__(self, engine: EscalationEngine, repo: EscalationRepository) -> None:
        self._engine = engine
        self._repo = repo
        self.incidents = IncidentReplies(engine, repo)
        self._handlers: list[ReplyHandler] = [self.incidents]
        self.refused_replies = 0

    def register(self, handler: ReplyHandler) -> None:
        """Plug in another kind of question (drills, checks, commands): its replies come here."""
        self._handlers.append(handler)

    def handle_reply(self, phone: str, body: str, now: datetime, ref: str | None = None) -> ReplyOutcome:
        """An SMS from ``phone`` (``ref``: Twilio's MessageSid; one handled before is a no-op)."""
        reply = parse(body)
        with self._repo.transaction():
            if ref and not self._repo.mark_reply_handled(ref, now, reply.action.value):
                log.info("reply.duplicate sid=%s", ref)
                return ReplyOutcome(reply.action, False, None, "already handled")
            return self._route(phone, body, reply, now)

    def _route(self, phone: str, body: str, reply: Reply, now: datetime) -> ReplyOutcome:
        contacts = self._repo.contacts_by_phone(phone)
        if not contacts:
            return self._refuse(reply.action, now, phone, "unknown number")
        first = contacts[0]
        if reply.action is ReplyAction.STOP:
            return self._opt_out(contacts, now)
        if reply.action is ReplyAction.START:
            return self._opt_in(contacts, now)
        if all(c.opted_out_at is not None for c in contacts):
            return self._refuse(reply.action, now, phone, "opted out")  # nothing but START until START
        hour = int(now.timestamp()) // 3600  # a person texting again within the hour is not told again
        handlers = {p: h for h in self._handlers for p in h.pending(contacts, reply, now)}
        waiting = route(list(handlers), reply.code)
        if not waiting and reply.code is not None and handlers:
            codes = " ".join(sorted({p.code for p in handlers}))
            body_ = texts.text("unknown_code", first.language, code=reply.code, codes=codes)
            self._reply(f"unknown_code:{first.id}:{reply.code}:{hour}", first, body_, None, now)
            return self._refuse(reply.action, now, phone, "unknown code")
        if not waiting:
            no_incident = texts.text("no_incident", first.language)
            self._reply(f"no_incident:{first.id}:{hour}", first, no_incident, None, now)
            return self._refuse(reply.action, now, phone, "nothing open")
        item, handler = waiting[0], handlers[waiting[0]]
        about = self._repo.incident(item.item) if item.kind in PRECEDENCE else None
        self._repo.audit(
            now,
            f"contact:{item.contact.id}",
            "reply",
            household=about.household if about else None,
            incident=about.id if about else None,
            detail={"action": reply.action.value, "code": reply.code, "kind": item.kind, "text": body[:160]},
        )
        detail = handler.answer(item, reply.action, now, f"contact:{item.contact.id}")
        others = [p for p in waiting if p.item != item.item] if reply.code is None else []
        if others and detail:
            lang = item.contact.language
            note = texts.text("taken_for", lang, name=item.label, code=item.code, other=others[0].code)
            key = f"taken:{item.item}:{item.contact.id}:{reply.action.value}"
            self._reply(key, item.contact, note, about, now)
        return ReplyOutcome(reply.action, True, item.item, detail)

    def handle_link(self, link_id: int, action: ReplyAction, now: datetime) -> ReplyOutcome:
        """A tap on a one-tap link's page (the token was verified by the caller)."""
        with self._repo.transaction():
            link = self._repo.link(link_id)
            incident = self._repo.incident(link[0]) if link else None
            contact = self._repo.contact(link[1]) if link else None
            if incident is None or contact is None:
                return ReplyOutcome(action, False, None, "unknown link")
            self._engine.messenger.audit(now, f"link:{contact.id}", "link.tap", incident, action=action.value)
            if action not in link_actions(incident, contact):
                return ReplyOutcome(action, False, incident.id, "not offered")
            item = self.incidents.item(incident, contact)
            if item is None:
                return ReplyOutcome(action, False, incident.id, "not offered")
            detail = self.incidents.answer(item, action, now, f"link:{contact.id}", by_link=True)
        return ReplyOutcome(action, True, incident.id, detail)

    def _opt_out(self, contacts: Sequence[Contact], now: datetime) -> ReplyOutcome:
        """STOP: every contact on this phone opted out, told once, and their open incidents move on."""
        fresh = [c for c in contacts if c.opted_out_at is None]
        for c in fresh:
            self._repo.set_opted_out(c.id, now)
            self._repo.audit(now, f"contact:{c.id}", "contact.opted_out", detail={"role": c.role.value})
            log.warning("coverage.gap contact=%s role=%s reason=opted_out", c.id, c.role)
        if not fresh:
            return ReplyOutcome(ReplyAction.STOP, True, None, "already opted out")
        c = fresh[0]
        self._reply(
            f"optout:{c.id}:{int(now.timestamp())}", c, texts.text("opted_out", c.language), None, now
        )
        ids = {c.id for c in fresh}
        for incident in self._repo.incidents(open_only=True, limit=100_000):
            for cid in sorted(ids & {p.id for w in incident.snapshot.waves for p in w.contacts}):
                self._engine.handle(incident.id, OptedOut(cid), now, actor=f"contact:{cid}")
        return ReplyOutcome(ReplyAction.STOP, True, None, "opted out")

    def _opt_in(self, contacts: Sequence[Contact], now: datetime) -> ReplyOutcome:
        """START / 再開: "send to me again" — ends an opt-out and a volunteer's rest, both at once."""
        back = [c for c in contacts if c.opted_out_at is not None]
        for c in back:
            self._repo.set_opted_out(c.id, None)
            self._repo.audit(now, f"contact:{c.id}", "contact.opted_in", detail={"role": c.role.value})
            log.info("contact.opted_in contact=%s", c.id)
        resting = self._repo.resting([c.id for c in contacts], now)
        for cid in sorted(resting):
            self._repo.set_resting(cid, None, f"contact:{cid}")
            self._repo.audit(
                now, f"contact:{cid}", "volunteer.back", detail={"was_until": resting[cid].isoformat()}
            )
            log.info("volunteer.back contact=%s", cid)
        if not back and not resting:
            return ReplyOutcome(ReplyAction.START, True, None, "not opted out")
        c = back[0] if back else next(c for c in contacts if c.id in resting)
        key = "opted_in" if back else "rest_ended"
        self._reply(f"optin:{c.id}:{int(now.timestamp())}", c, texts.text(key, c.language), None, now)
        return ReplyOutcome(ReplyAction.START, True, None, "opted in" if back else "back from rest")

    def _reply(self, key: str, contact: Contact, body: str, incident: Incident | None, now: datetime) -> None:
        self._engine.messenger.queue(key, contact.phone, body, SmsPurpose.REPLY, incident, contact.id, now)

    def _refuse(self, action: ReplyAction, now: datetime, phone: str, why: str) -> ReplyOutcome:
        self.refused_replies += 1
        self._repo.audit(
            now, "sms", "reply.refused", detail={"from": mask(phone), "reason": why, "action": action.value}
        )
        log.info("reply.refused from=%s reason=%s", mask(phone), why)
        return ReplyOutcome(action, False, None, why)


def route(items: Sequence[Pending], code: str | None) -> list[Pending]:
    """The questions a reply may answer, the one it is taken for first: with a code, those with that
    code; without, every one; ordered open alert > resident check > anything else, newest first."""
    chosen = [p for p in items if code is None or p.code == code]
    return sorted(chosen, key=lambda p: (_rank(p.kind), -p.asked_at.timestamp(), p.item))


def _rank(kind: str) -> int:
    return PRECEDENCE.index(kind) if kind in PRECEDENCE else len(PRECEDENCE)


# -- incidents: alerts and resident checks --------------------------------------------------------------

REOPEN_WINDOW = timedelta(hours=24)
"""119 / help still reaches an incident closed by itself (activity resumed) this long after."""
_OUTCOMES = {
    ReplyAction.SAFE: Outcome.SAFE,
    ReplyAction.NO_ANSWER: Outcome.NO_ANSWER_AT_DOOR,
    ReplyAction.HOSPITAL: Outcome.HOSPITAL,
}
_TEXTED_BY_MACHINE = frozenset({"already claimed"})


def link_actions(incident: Incident, contact: Contact) -> tuple[ReplyAction, ...]:
    """The buttons of a one-tap page: the resident sees only "I'm fine" and "help"; the claimer reports
    an outcome; everyone else may go, pass, say safe or call for help."""
    if incident.state is IncidentState.RESOLVED:
        return (ReplyAction.HELP,) if incident.outcome is Outcome.ACTIVITY_RESUMED else ()
    if contact.role is ContactRole.RESIDENT:
        return (ReplyAction.SAFE, ReplyAction.HELP)
    if incident.claimed_by == contact.id:
        return (
            ReplyAction.SAFE,
            ReplyAction.NO_ANSWER,
            ReplyAction.HOSPITAL,
            ReplyAction.CANT,
            ReplyAction.HELP,
        )
    return (ReplyAction.GO, ReplyAction.CANT, ReplyAction.SAFE, ReplyAction.HELP)


def answer_event(incident: Incident, contact: str, action: ReplyAction, *, resident: bool) -> Event | None:
    """What an answer asks of the state machine (None: nothing; the desk answers with help or a
    question). The resident's fine is :class:`ResidentSafe`; "OK" from a contact is a claim only once
    someone is going (refused, and told who); 3 from anyone texted is "safe", 4 and 5 only the claimer's."""
    if action is ReplyAction.HELP:
        return Help(contact, resident=resident)
    if resident:
        if action in (ReplyAction.GO, ReplyAction.ACK, ReplyAction.SAFE):
            return ResidentSafe(contact)
        return None
    if action is ReplyAction.GO or (action is ReplyAction.ACK and incident.state is IncidentState.CLAIMED):
        return Claim(contact)
    if action is ReplyAction.CANT:
        return Decline(contact)
    outcome = _OUTCOMES.get(action)
    if outcome is None:
        return None
    role = CLAIMER if incident.claimed_by == contact or outcome is not Outcome.SAFE else CONTACT
    return Close(outcome, role, contact)


class IncidentReplies:
    """Answers to alerts (contacts) and resident checks (the household's resident), applied through the
    state machine (:meth:`EscalationEngine.handle`)."""

    def __init__(self, engine: EscalationEngine, repo: EscalationRepository) -> None:
        self._engine = engine
        self._repo = repo

    def item(self, incident: Incident, contact: Contact) -> Pending | None:
        """What ``contact`` may be answering about ``incident`` (None: the resident on an incident that is
        not about her, such as a low battery)."""
        if contact.role is ContactRole.RESIDENT and incident.audience is not Audience.COMMUNITY:
            return None
        kind = "resident_check" if self._is_resident(incident, contact) else "alert"
        name = self._engine.messenger.household_name(incident, contact.language)
        return Pending(kind, incident.id, reply_code(incident.id), contact, incident.opened_at, name)

    def pending(self, contacts: Sequence[Contact], reply: Reply, now: datetime) -> list[Pending]:
        if reply.action in NOT_ANSWERS:  # a drill's answer or a command never touches an alert
            return []
        by_id = {c.id: c for c in contacts}
        found: dict[str, Pending | None] = {
            i.id: self.item(i, by_id[cid]) for i, cid in self._repo.open_incidents_notifying(list(by_id))
        }
        residents = [c for c in contacts if c.role is ContactRole.RESIDENT]
        if residents:  # the resident answers for her own home even before she was texted
            for i in self._repo.incidents(open_only=True, limit=10_000):
                for c in residents:
                    if i.id not in found and self._is_resident(i, c):
                        found[i.id] = self.item(i, c)
        if not found and reply.action is ReplyAction.HELP:
            for i in self._repo.incidents(limit=500):
                if (
                    i.outcome is Outcome.ACTIVITY_RESUMED
                    and i.resolved_at
                    and now - i.resolved_at <= REOPEN_WINDOW
                ):
                    told = self._repo.contacts_with_step(i.id, [StepKind.NOTIFIED])
                    for c in contacts:
                        if i.id not in found and (c.id in told or self._is_resident(i, c)):
                            found[i.id] = self.item(i, c)
        return [p for p in found.values() if p is not None]

    def answer(
        self, item: Pending, action: ReplyAction, now: datetime, actor: str, *, by_link: bool = False
    ) -> str:
        incident = self._repo.incident(item.item)
        if incident is None:
            return ""
        c = item.contact
        resident = item.kind == "resident_check"
        if (
            resident
            and action is ReplyAction.ACK
            and self._repo.contacts_with_step(incident.id, [StepKind.HELP])
        ):
            return ""  # "OK" to "professionals alerted" is not "I'm fine": only 3 / 大丈夫 closes now
        event = answer_event(incident, c.id, action, resident=resident)
        if event is None:
            if action is ReplyAction.ACK:
                self._send("confirm_go", f"{incident.id}:confirm:{c.id}", incident, c, now)
                return "asked to confirm"
            usage = (
                "usage_resident" if resident else "usage_claimer" if incident.claimed_by == c.id else "usage"
            )
            if not by_link:  # once per incident and kind of help: a second "hello" texts nobody
                self._send(usage, f"{incident.id}:{usage}:{c.id}", incident, c, now)
            return "usage"
        t = self._engine.handle(incident.id, event, now, actor=actor)
        if t is None:
            return ""
        if t.refused:
            log.info("reply.refused incident=%s contact=%s reason=%s", incident.id, c.id, t.refused)
            if t.refused == "not the claimer":
                self._send(
                    "not_claimer", f"{incident.id}:not_claimer:{c.id}:{action.value}", incident, c, now
                )
            elif t.refused not in _TEXTED_BY_MACHINE and not by_link:
                self._send("usage", f"{incident.id}:refused:{c.id}:{action.value}", incident, c, now)
            return t.refused
        if not t.effects:
            return ""  # the same answer again: nothing changes, nobody is texted
        if isinstance(event, ResidentSafe):  # the machine tells everyone else
            self._send("resident_thanks", f"{incident.id}:resident_thanks:{c.id}", incident, c, now)
        elif isinstance(event, Help) and not any(
            isinstance(e, Send) and e.contact.id == c.id for e in t.effects
        ):
            # the resident was never texted for it: the machine has no number for her
            self._send(
                "help_sent", f"{incident.id}:help_sent:{c.id}:{int(now.timestamp())}", incident, c, now
            )
        return _DONE[type(event)]

    def _is_resident(self, incident: Incident, contact: Contact) -> bool:
        """``contact`` is the household's own resident (role resident, linked to that household)."""
        if contact.role is not ContactRole.RESIDENT:
            return False
        in_snapshot = any(p.id == contact.id for w in incident.snapshot.waves for p in w.contacts)
        return in_snapshot or any(p.id == contact.id for p in self._repo.contacts(incident.household))

    def _send(
        self, key: str, idem: str, incident: Incident, c: Contact, now: datetime, **params: str
    ) -> None:
        name = self._engine.messenger.household_name(incident, c.language)
        body = texts.text(key, c.language, name=name)
        self._engine.messenger.queue(idem, c.phone, body, SmsPurpose.REPLY, incident, c.id, now)


_DONE: dict[type, str] = {
    Claim: "claimed",
    Decline: "declined",
    ResidentSafe: "resolved",
    Help: "help",
    Close: "resolved",
}
