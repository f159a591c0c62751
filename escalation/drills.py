"""Chain health drills: a test SMS to every contact now and then, so that a changed number is found
before an emergency, not during one.

Every ``every_days`` each contact of a household's chain (not the residents) and every pooled volunteer
gets 「…受け取ったら T と返信してください」 with its own reply code. A reply "T" (or "テスト", with or without
the code) is taken by :class:`ChainDrills` through the reply router and never touches an open alert; any
other answer never reaches a drill. A drill not answered within ``answer_hours``, a message the provider
refused for good, or a contact who opted out (STOP) makes the contact *unreachable*: on the care
managers' coverage list (:func:`coverage`), in the weekly summary to the operators, and a household
whose tier has nobody reachable left is flagged.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from escalation import texts
from escalation.codes import reply_code
from escalation.engine import EscalationEngine
from escalation.models import SmsPurpose, SmsStatus, SnapshotContact
from escalation.replies import Pending, Reply, ReplyAction
from escalation.repository import EscalationRepository
from registry.models import Contact, ContactChannel, ContactRole, TierKind

log = logging.getLogger(__name__)

KIND = "drill"
NEVER = datetime.min.replace(tzinfo=UTC)


class DrillOutcome(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"  # nothing within answer_hours
    SEND_FAILED = "send_failed"  # the provider refused the number for good
    OPTED_OUT = "opted_out"  # replied STOP: nobody can text them


UNREACHABLE = frozenset({DrillOutcome.NO_ANSWER, DrillOutcome.SEND_FAILED, DrillOutcome.OPTED_OUT})


@dataclass(frozen=True, slots=True)
class DrillSettings:
    every_days: int = 30
    answer_hours: int = 48
    summary_every_days: int = 7
    time_zone: str = "Asia/Tokyo"
    hours: tuple[int, int] = (10, 18)  # a run starts only in these local hours: nobody is woken


@dataclass(frozen=True, slots=True)
class Gap:
    """One unreachable contact of one household's chain."""

    household: str
    contact: str
    name: str
    outcome: DrillOutcome
    since: datetime


@dataclass(frozen=True, slots=True)
class Coverage:
    gaps: tuple[Gap, ...]
    flagged: tuple[tuple[str, str], ...]  # (household, tier) with nobody reachable left


def _sms_key(run: str, contact: str) -> str:
    return f"drill:{run}:{contact}"


def coverage(repo: EscalationRepository, households: Collection[str] | None = None) -> Coverage:
    """Unreachable contacts and uncovered tiers, of ``households`` (all when None)."""
    results = repo.drill_results()
    gaps: list[Gap] = []
    flagged: list[tuple[str, str]] = []
    ids = sorted(households) if households is not None else [h.id for h in repo.households()]
    policies = repo.policies_of(ids)
    contacts = repo.contacts_by_id(
        {c for p in policies.values() if p for t in p.tiers for c in t.contacts}
        | {c for p in policies.values() if p for c in p.technical}
    )
    for household, policy in policies.items():
        if policy is None:
            continue
        bad: set[str] = set()
        for cid in sorted({c for t in policy.tiers for c in t.contacts} | set(policy.technical)):
            contact = contacts.get(cid)
            if contact is None or contact.role is ContactRole.RESIDENT:
                continue
            outcome, since = _outcome_of(contact, results)
            if outcome in UNREACHABLE:
                bad.add(cid)
                gaps.append(Gap(household, cid, contact.name, outcome, since))
        for tier in policy.tiers:
            people = [
                c for c in tier.contacts if c in contacts and contacts[c].role is not ContactRole.RESIDENT
            ]
            if tier.kind is not TierKind.RESIDENT_CHECK and people and all(c in bad for c in people):
                flagged.append((household, tier.kind.value))
    return Coverage(tuple(gaps), tuple(flagged))


def answers_in_writing(contact: Contact) -> bool:
    """Whether ``contact`` can get the drill and answer "T": by SMS, or on a linked LINE account."""
    return any(
        channel is ContactChannel.SMS
        or (channel is ContactChannel.LINE and contact.line_user is not None and not contact.line_blocked)
        for channel in contact.channels
    )


def _outcome_of(contact: Contact, results: dict[str, tuple[str, datetime]]) -> tuple[DrillOutcome, datetime]:
    if contact.opted_out_at is not None:
        return DrillOutcome.OPTED_OUT, contact.opted_out_at
    if contact.id not in results:
        return DrillOutcome.ANSWERED, NEVER  # not drilled yet: nothing known against them
    outcome, sent_at = results[contact.id]
    return DrillOutcome(outcome), sent_at


class ChainDrills:
    """Runs the drills (:meth:`tick`, from the alerts service's scheduler) and answers their replies
    (a :class:`~escalation.replies.ReplyHandler`)."""

    def __init__(
        self,
        repo: EscalationRepository,
        engine: EscalationEngine,
        settings: DrillSettings,
        operators: Sequence[SnapshotContact] = (),
    ) -> None:
        self._repo = repo
        self._engine = engine
        self._s = settings
        self._operators = operators

    # -- running ---------------------------------------------------------------------------------
    def tick(self, now: datetime) -> None:
        """Start a run when one is due, settle what timed out or failed, send the weekly summary."""
        with self._repo.transaction():
            last = self._repo.last_drill_run()
            due = last is None or now - last >= timedelta(days=self._s.every_days)
            if (
                due
                and self._s.hours[0] <= now.astimezone(ZoneInfo(self._s.time_zone)).hour < self._s.hours[1]
            ):
                self.start_run(now)
            self.settle(now)
            since = self._repo.last_audit_at("drill.summary") or last  # the first: a week after the first run
            if since is not None and now - since >= timedelta(days=self._s.summary_every_days):
                self.summarise(now)

    def start_run(self, now: datetime) -> int:
        """A test SMS to every contact of every chain; how many were texted."""
        run = now.isoformat(timespec="seconds")
        wanted = set()
        for h in self._repo.households():
            policy = self._repo.policy(h.id)
            if policy is not None:
                wanted |= {c for t in policy.tiers for c in t.contacts} | set(policy.technical)
        texted = 0
        everyone = self._repo.contacts()
        wanted |= {c.id for c in everyone if c.role is ContactRole.VOLUNTEER and c.pools}  # pooled volunteers
        chain = [c for c in everyone if c.id in wanted and c.role is not ContactRole.RESIDENT]
        for contact in chain:
            if not answers_in_writing(contact):
                continue  # a landline or e-mail only: no written "T" can come back (not drilled)
            if contact.opted_out_at is not None:
                self._repo.add_drill(run, contact.id, now, DrillOutcome.OPTED_OUT.value)
                continue
            if self._repo.add_drill(run, contact.id, now, DrillOutcome.PENDING.value):
                body = texts.text("drill", contact.language, code=reply_code(f"{run}:{contact.id}", KIND))
                self._engine.messenger.queue(
                    _sms_key(run, contact.id), contact.phone, body, SmsPurpose.DRILL, None, contact.id, now
                )
                texted += 1
        self._repo.audit(now, "system", "drill.started", detail={"run": run, "texted": texted})
        log.info("drill.started run=%s texted=%s", run, texted)
        return texted

    def settle(self, now: datetime) -> int:
        """Drills not answered in time, or whose SMS failed for good; how many were settled."""
        settled = 0
        deadline = now - timedelta(hours=self._s.answer_hours)
        failed = {
            m.idempotency_key for m in self._repo.sms_messages(limit=100_000) if m.status is SmsStatus.FAILED
        }
        for run, contact, sent_at in self._repo.pending_drills():
            if _sms_key(run, contact) in failed:
                outcome = DrillOutcome.SEND_FAILED
            elif sent_at <= deadline:
                outcome = DrillOutcome.NO_ANSWER
            else:
                continue
            if self._repo.settle_drill(run, contact, outcome.value, now):
                settled += 1
                self._repo.audit(
                    now, "system", "drill.unreachable", detail={"contact": contact, "outcome": outcome.value}
                )
                log.info("drill.unreachable contact=%s outcome=%s", contact, outcome.value)
        return settled

    def summarise(self, now: datetime) -> None:
        """The weekly summary to the operators: who cannot be reached, which households are uncovered."""
        found = coverage(self._repo)
        people = {(g.contact, g.outcome) for g in found.gaps}
        counts = {o: sum(1 for _, out in people if out is o) for o in UNREACHABLE}
        households = len({g.household for g in found.gaps} | {h for h, _ in found.flagged})
        for op in self._operators:
            body = texts.text(
                "drill_summary",
                op.language,
                no_answer=str(counts[DrillOutcome.NO_ANSWER]),
                send_failed=str(counts[DrillOutcome.SEND_FAILED]),
                opted_out=str(counts[DrillOutcome.OPTED_OUT]),
                households=str(households),
            )
            key = f"drill-summary:{now.date().isoformat()}:{op.id}"
            self._engine.messenger.queue(key, op.phone, body, SmsPurpose.OPERATOR, None, None, now)
        self._repo.audit(
            now,
            "system",
            "drill.summary",
            detail={"households": households, **{o.value: n for o, n in counts.items()}},
        )

    # -- replies ---------------------------------------------------------------------------------
    def pending(self, contacts: Sequence[Contact], reply: Reply, now: datetime) -> list[Pending]:
        """A drill is answered only by "T" (and nothing else is ever taken for a drill)."""
        if reply.action is not ReplyAction.TEST:
            return []
        by_id = {c.id: c for c in contacts}
        return [
            Pending(KIND, f"{run}:{cid}", reply_code(f"{run}:{cid}", KIND), by_id[cid], sent_at, "test")
            for run, cid, sent_at in self._repo.pending_drills(list(by_id))
        ]

    def answer(self, item: Pending, action: ReplyAction, now: datetime, actor: str) -> str:
        run, _, contact = item.item.rpartition(":")
        if not self._repo.settle_drill(run, contact, DrillOutcome.ANSWERED.value, now):
            return ""
        self._repo.audit(now, actor, "drill.answered", detail={"run": run})
        body = texts.text("drill_thanks", item.contact.language)
        self._engine.messenger.queue(
            f"drill-thanks:{item.item}", item.contact.phone, body, SmsPurpose.REPLY, None, contact, now
        )
        return "drill answered"
