"""Incidents and their escalation, applied to the state: the shell around the pure state machine.

:meth:`EscalationEngine.apply` is the one way an incident changes: it loads the incident, asks
:func:`escalation.machine.transition` what an event does, and applies the effects (escalation log, audit
log, SMS in the durable queue) in one state transaction. Callbacks tell the scheduler when an
incident's next step is due and the dispatcher that messages are waiting.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from detection.findings import CLIMATE_KINDS, Audience, Explanation, Finding, FindingKind, Severity
from detection.learning import feedback_of
from escalation import texts, voice
from escalation.chain import BLIND_KINDS, Progress, build_snapshot, operators_snapshot
from escalation.channels import DELIVERY_DEADLINE, address, choose
from escalation.codes import reply_code
from escalation.family_notices import family_notice, tells_family
from escalation.links import sign
from escalation.machine import (
    REPEAT_WINDOW,
    RESUMABLE,
    ActivitySeen,
    Audit,
    CancelQueued,
    DeliveryFailed,
    Due,
    Effect,
    Event,
    FaultCleared,
    Repeated,
    RoomCooled,
    Send,
    Step,
    Superseded,
    Suppressed,
    Transition,
    opened,
    transition,
)
from escalation.models import (
    SYSTEM,
    Incident,
    IncidentState,
    Outcome,
    PolicySnapshot,
    SmsMessage,
    SmsPurpose,
    SmsStatus,
    SnapshotContact,
    StepKind,
)
from escalation.repository import EscalationRepository
from escalation.sms.errors import ErrorClass, classify, describe
from registry.models import Contact, ContactChannel, ContactRole, Language, TierKind
from registry.volunteers import askable
from store.base import DeviceState, HouseholdActivity

log = logging.getLogger(__name__)

LEARNED_OUTCOMES = frozenset({Outcome.FALSE_ALARM, Outcome.HOSPITAL, Outcome.EMERGENCY_HANDLED})
"""Outcomes detection learns from: a false alarm loosens the threshold that raised it, an emergency never."""

PLATFORM = "_platform"  # the household id of the operators' incident for platform-wide outages
BATTERY_REPLACED_PCT = 50.0  # a low-battery incident closes itself when its device reports at least this


@dataclass(frozen=True, slots=True)
class EngineSettings:
    public_url: str  # where one-tap links point
    link_secret: bytes
    link_ttl: timedelta = timedelta(hours=24)
    operators: tuple[SnapshotContact, ...] = ()
    blind_hold_minutes: int = 5
    mass_blind_threshold: int = 20
    time_zone: str = "Asia/Tokyo"
    channels: frozenset[ContactChannel] = frozenset({ContactChannel.SMS})  # the configured ones
    receipts: frozenset[ContactChannel] = frozenset()  # channels whose provider reports delivery


class EscalationEngine:
    def __init__(
        self,
        repo: EscalationRepository,
        settings: EngineSettings,
        *,
        on_due: Callable[[str, datetime | None], None] = lambda _i, _d: None,
        on_queued: Callable[[], None] = lambda: None,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:12],
    ) -> None:
        self._repo = repo
        self._s = settings
        self._on_due = on_due
        self._on_queued = on_queued
        self._new_id = new_id  # tests replay with ids of their own

    @property
    def channels(self) -> frozenset[ContactChannel]:
        """The channels this installation offers."""
        return self._s.channels

    # -- the one way an incident changes -------------------------------------------------------------
    def apply(self, incident_id: str, event: Event, now: datetime, *, actor: str = SYSTEM) -> Incident | None:
        """Apply ``event`` to an incident in one transaction; the incident after it (None: unknown)."""
        t = self.handle(incident_id, event, now, actor=actor)
        return None if t is None else t.incident

    def handle(
        self, incident_id: str, event: Event, now: datetime, *, actor: str = SYSTEM
    ) -> Transition | None:
        """:meth:`apply`, returning the whole transition (its effects, and why it was refused)."""
        with self._repo.transaction():
            t = self._apply(incident_id, event, now, actor)
        if t is None:
            return None
        incident = self._follow(t.incident, now)
        self._on_queued()
        return replace(t, incident=incident)

    def _apply(self, incident_id: str, event: Event, now: datetime, actor: str) -> Transition | None:
        """Inside a transaction: load, transition, persist, apply the effects."""
        incident = self._repo.incident(incident_id)
        if incident is None:
            return None
        t = transition(incident, event, now, self.progress(incident, now), actor)
        if t.incident != incident:
            self._repo.save_incident(t.incident)
            if t.incident.state is IncidentState.RESOLVED and incident.state is not IncidentState.RESOLVED:
                self._tell_family(t.incident, now, opened=False)
            if t.incident.state is not incident.state:
                log.info(
                    "incident.%s id=%s household=%s event=%s by=%s",
                    t.incident.state.value,
                    incident.id,
                    incident.household,
                    type(event).__name__,
                    actor,
                )
            if t.incident.outcome is not incident.outcome:
                self._learn(t.incident, now)
        self._effects(t.incident, t.effects, now, actor)
        return t

    def _learn(self, incident: Incident, now: datetime) -> None:
        """Inside the transaction: an incident closed as a false alarm or a real emergency is kept for
        detection to learn from (docs/detection.md, *Learning from outcomes*)."""
        if incident.outcome not in LEARNED_OUTCOMES:
            return
        household = self._repo.household(incident.household)
        feedback = feedback_of(
            incident.household,
            incident.id,
            incident.kind,
            incident.explanation_key,
            incident.last_activity_at,
            self._s.time_zone if household is None else household.time_zone,
            emergency=incident.outcome is not Outcome.FALSE_ALARM,
            closed_at=now,
        )
        if feedback is not None:
            self._repo.add_feedback(feedback)
            log.info(
                "detection.feedback household=%s incident=%s rule=%s band=%s emergency=%s",
                feedback.household,
                feedback.incident,
                feedback.rule,
                feedback.band,
                feedback.emergency,
            )

    def _follow(self, incident: Incident, now: datetime) -> Incident:
        """After a change: take a step that became due at once, and tell the scheduler."""
        if incident.next_due_at is not None and incident.next_due_at <= now:
            with self._repo.transaction():
                t = self._due(incident.id, now)
            if t is not None:
                incident = t.incident
        self._on_due(
            incident.id, incident.next_due_at if incident.state is not IncidentState.RESOLVED else None
        )
        return incident

    def _effects(self, incident: Incident, effects: Sequence[Effect], now: datetime, actor: str) -> None:
        repo = self._repo
        for e in effects:
            if isinstance(e, Step):
                repo.add_step(
                    incident.id, e.kind, now, wave_index=e.wave_index, contact=e.contact, detail=e.detail
                )
            elif isinstance(e, Audit):
                self.audit(now, actor, e.action, incident, **dict(e.detail))
            elif isinstance(e, CancelQueued):
                repo.cancel_queued_sms(incident.id, now)
            else:
                self._send(incident, e, now)

    def _send(self, incident: Incident, e: Send, now: datetime) -> None:
        person = e.contact
        current = self._repo.contact(person.id)
        if current is not None and current.opted_out_at is not None:
            return  # STOP is final until START: never texted
        phone = current.phone if current is not None else person.phone
        lang = current.language if current is not None else person.language
        if e.text == "alert":
            person = replace(person, phone=phone, language=lang)  # as the registry has them now
            channel = ContactChannel.SMS if current is None else choose(current, e.purpose, self._s.channels)
            if channel is None:
                channel = ContactChannel.SMS  # choose() never leaves an alert without one while SMS exists
            body = self._alert_body(incident, e.tier or TierKind.OPERATORS, person, now, channel)
            self.queue(
                e.key, phone, body, e.purpose, incident, person.id, now, urgent=e.urgent, channel=channel
            )
            return
        params = dict(e.params)
        if "how" in params:
            params["how"] = texts.how(Outcome(params["how"]), lang)
        body = texts.text(e.text, lang, name=self.household_name(incident, lang), **params)
        self.queue(e.key, phone, body, e.purpose, incident, person.id, now, urgent=e.urgent)

    def progress(self, incident: Incident, now: datetime) -> Progress:
        """The facts of the incident's log (and of its volunteers at ``now``) the machine decides on."""
        repo = self._repo
        by_kind: dict[StepKind, set[str]] = {}
        for step in repo.steps(incident.id):
            by_kind.setdefault(step.kind, set()).add(step.contact or "")
        ids = {c.id for w in incident.snapshot.waves for c in w.contacts}
        opted = {c.id for c in (repo.contact(i) for i in ids) if c is not None and c.opted_out_at is not None}

        def who(kind: StepKind) -> frozenset[str]:
            return frozenset(by_kind.get(kind, set()) - {""})

        return Progress(
            notified=who(StepKind.NOTIFIED),
            declined=who(StepKind.DECLINED),
            failed=who(StepKind.DELIVERY_FAILED),
            opted_out=frozenset(opted),
            helped=who(StepKind.HELP),
            unavailable=self._unavailable(
                {
                    c.id
                    for w in incident.snapshot.waves
                    for c in w.contacts
                    if c.role is ContactRole.VOLUNTEER
                },
                incident.snapshot.time_zone,
                now,
            ),
            operators=self.operators_of(incident.household),
            operators_told=StepKind.OPERATORS_TOLD in by_kind,
        )

    # -- opening ---------------------------------------------------------------------------------
    def open_from_finding(self, finding: Finding, now: datetime) -> Incident | None:
        """The incident of ``finding``'s episode: opened now (an unclaimed open incident of the same
        household, kind and device is closed as superseded), or the one already open for it. None only
        for a finding nobody is to be told of (never, with operators configured)."""
        repo = self._repo
        with repo.transaction():
            same = repo.incident_for_episode(finding.household, finding.kind, finding.episode, finding.device)
            if same is not None:
                return same  # raised again after a restart: idempotent
            older = repo.open_incidents_of(finding.household, finding.kind, finding.device)
            if finding.kind is FindingKind.HELP_BUTTON and finding.last_activity_at is not None:
                at = finding.last_activity_at
                for o in older:
                    if o.last_activity_at is not None and at - o.last_activity_at <= REPEAT_WINDOW:
                        t = self._apply(o.id, Repeated(at), now, SYSTEM)
                        return None if t is None else t.incident
            snapshot = self._snapshot(finding, now)
            t = opened(self._new_id(), finding, snapshot, now)
            repo.insert_incident(t.incident)
            self._effects(t.incident, t.effects, now, SYSTEM)
            self._tell_family(t.incident, now, opened=True)
            superseded = [self._apply(o.id, Superseded(t.incident.id), now, SYSTEM) for o in older]
            if repo.household(finding.household) is None and finding.household != PLATFORM:
                log.warning(
                    "incident.unknown_household household=%s kind=%s", finding.household, finding.kind
                )
        incident = t.incident
        closed = [
            s.incident.id for s in superseded if s is not None and s.incident.state is IncidentState.RESOLVED
        ]
        for old in closed:
            self._on_due(old, None)
        log.info(
            "incident.opened id=%s household=%s kind=%s device=%s superseded=%s",
            incident.id,
            incident.household,
            incident.kind,
            incident.device,
            ",".join(closed) or "-",
        )
        incident = self._follow(incident, now)
        self._on_queued()
        return incident

    def _snapshot(self, finding: Finding, now: datetime) -> PolicySnapshot:
        repo = self._repo
        household = repo.household(finding.household)
        policy = repo.policy(finding.household)
        wanted = {c for t in policy.tiers for c in t.contacts} | set(policy.technical) if policy else set()
        contacts = {c.id: c for c in (repo.contact(i) for i in wanted) if c is not None}
        pooled = policy is not None and any(t.pool for t in policy.tiers)
        pool = repo.pool(household.organisation) if pooled and household is not None else []
        volunteers = {i for i, c in contacts.items() if c.role is ContactRole.VOLUNTEER} | {
            c.id for c in pool
        }
        time_zone = household.time_zone if household else self._s.time_zone
        return build_snapshot(
            policy,
            contacts,
            kind=finding.kind,
            audience=finding.audience,
            time_zone=time_zone,
            load=repo.alert_load(now - timedelta(days=7), sorted(volunteers)),
            operators=self.operators_of(finding.household),
            blind_hold_minutes=self._s.blind_hold_minutes,
            pool=pool,
            unavailable=self._unavailable(volunteers, time_zone, now),
        )

    def _unavailable(self, volunteers: Collection[str], time_zone: str, now: datetime) -> frozenset[str]:
        """Those of ``volunteers`` resting, or outside their windows (local to ``time_zone``), at ``now``."""
        if not volunteers:
            return frozenset()
        windows = self._repo.availability(volunteers)
        resting = self._repo.resting(volunteers, now)
        return frozenset(
            v for v in volunteers if not askable(windows.get(v, ()), resting.get(v), now, time_zone)
        )

    def operators_of(self, household_id: str) -> tuple[SnapshotContact, ...]:
        """Who is told when the household's chain runs out: its organisation's own operators when it
        has reachable ones, else the platform operators (``[alerts] operators``). Platform outages
        always go to the platform operators."""
        household = self._repo.household(household_id)
        org = None if household is None else self._repo.organisation(household.organisation)
        if org is None or not org.operators:
            return self._s.operators
        found = self._repo.contacts_by_id(org.operators)
        own = tuple(
            SnapshotContact(c.id, c.name, c.phone, c.role, c.language)
            for c in (found.get(i) for i in org.operators)
            if c is not None
        )
        return own or self._s.operators

    def _tell_family(self, incident: Incident, now: datetime, *, opened: bool) -> None:
        """The household's family contacts who asked to be told: this incident opened (or closed)."""
        if incident.household == PLATFORM or not tells_family(incident, opened=opened):
            return
        for member in self._repo.family_of(incident.household):
            person = member.contact
            if not member.link.incidents or person.opted_out_at is not None:
                continue
            name = self.household_name(incident, person.language)
            body = family_notice(incident, name, person.language, opened=opened)
            key = f"{incident.id}:family:{'opened' if opened else 'closed'}:{person.id}"
            self.queue(key, person.phone, body, SmsPurpose.FAMILY_NOTICE, incident, person.id, now)

    # -- the next step -----------------------------------------------------------------------------
    def process_due(self, now: datetime) -> int:
        """Advance every incident whose step is due; how many were advanced."""
        due = [i for i, at in self._repo.due_incidents() if at <= now]
        for incident_id in due:
            self.advance(incident_id, now)
        return len(due)

    def advance(self, incident_id: str, now: datetime) -> None:
        """Take the step due for one incident at ``now`` (a step not yet due does nothing)."""
        with self._repo.transaction():
            t = self._due(incident_id, now)
        if t is not None:
            self._on_due(incident_id, t.incident.next_due_at)
        self._on_queued()

    def _due(self, incident_id: str, now: datetime) -> Transition | None:
        """Inside a transaction: :class:`Due`, unless the home is part of a platform outage."""
        incident = self._repo.incident(incident_id)
        if incident is None:
            return None
        platform = self._outage(incident, now)
        if platform is not None:
            return self._apply(incident_id, Suppressed(platform), now, SYSTEM)
        return self._apply(incident_id, Due(), now, SYSTEM)

    # -- platform outages ----------------------------------------------------------------------------
    def _outage(self, incident: Incident, now: datetime) -> str | None:
        """The platform incident a blind home's first wave is held for, if it is part of one."""
        if incident.kind not in BLIND_KINDS or incident.household == PLATFORM or incident.wave_index != 0:
            return None
        if incident.next_due_at is None or incident.next_due_at > now:
            return None
        platform = self._repo.open_incident(PLATFORM, FindingKind.BLIND_GATEWAY)
        if platform is None:  # while a platform outage is open every blind home is part of it
            blind = self._repo.count_open(BLIND_KINDS)
            if blind < self._s.mass_blind_threshold:
                return None
            platform = self._open_platform_incident(blind, now)
        return platform.id

    def _open_platform_incident(self, blind: int, now: datetime) -> Incident:
        finding = Finding(
            household=PLATFORM,
            kind=FindingKind.BLIND_GATEWAY,
            severity=Severity.URGENT,
            raised_at=now,
            episode=now.isoformat(),
            last_activity_at=None,
            explanation=Explanation("mass_blind", {"homes": blind}),
        )
        t = opened(self._new_id(), finding, operators_snapshot(self._s.operators, self._s.time_zone), now)
        self._repo.insert_incident(t.incident)
        self._effects(t.incident, t.effects, now, SYSTEM)
        log.warning("platform.outage blind_homes=%s incident=%s", blind, t.incident.id)
        if not t.incident.snapshot.waves:
            log.error("platform.outage_no_operators blind_homes=%s: set [alerts] operators", blind)
            return t.incident
        after = self._apply(t.incident.id, Due(), now, SYSTEM)
        assert after is not None
        self._on_due(after.incident.id, after.incident.next_due_at)
        return after.incident

    # -- delivery ----------------------------------------------------------------------------------
    def on_send_failed(
        self, incident_id: str | None, contact_id: str | None, reason: str, now: datetime
    ) -> None:
        """An alert could not be delivered (provider error or status callback): next person at once."""
        if incident_id is None or contact_id is None:
            return
        self.handle(incident_id, DeliveryFailed(contact_id, reason), now)

    def handle_status(self, sid: str, status: str, error_code: int | None, now: datetime) -> bool:
        """An SMS delivery status callback; False when the SID is not ours. Undelivered alerts move on."""
        mapped = {
            "delivered": SmsStatus.DELIVERED,
            "undelivered": SmsStatus.UNDELIVERED,
            "failed": SmsStatus.FAILED,
        }.get(status)
        reason = f"{status} {error_code}: {describe(error_code)}"
        permanent = classify(error_code) is ErrorClass.PERMANENT
        return self.record_delivery(sid, mapped, status, error_code, reason, now, permanent=permanent)

    def record_delivery(
        self,
        sid: str,
        mapped: SmsStatus | None,
        status: str,
        error_code: int | None,
        reason: str,
        now: datetime,
        *,
        permanent: bool,
    ) -> bool:
        """What the provider reports of a message on any channel (``mapped`` None: an in-between
        status, only audited); False when the id is not ours. An alert not delivered falls back."""
        with self._repo.transaction():
            message = self._repo.sms_by_sid(sid)
            if message is None:
                return False
            self._repo.audit(
                now,
                "twilio",
                f"{message.channel}.status",
                incident=message.incident,
                detail={
                    "sms": message.id,
                    "status": status,
                    "code": error_code,
                    "contact": message.contact,
                    "channel": message.channel.value,
                },
            )
            if mapped is None or message.status in (SmsStatus.UNDELIVERED, SmsStatus.FAILED):
                return True
            self._repo.update_sms(replace(message, status=mapped, error_code=error_code, updated_at=now))
        if mapped is not SmsStatus.DELIVERED and message.purpose in (SmsPurpose.ALERT, SmsPurpose.OPERATOR):
            if permanent:
                log.warning(
                    "coverage.gap contact=%s channel=%s reason=%s", message.contact, message.channel, reason
                )
            self.fall_back(message, reason, now)
        return True

    def fall_back(self, message: SmsMessage, reason: str, now: datetime) -> bool:
        """An alert failed on its channel: the same alert on the person's next channel at once; when
        they have none left, the next person (:class:`DeliveryFailed`). True when a channel was left."""
        nxt = None
        if message.purpose is SmsPurpose.ALERT and message.incident and message.contact:
            with self._repo.transaction():
                nxt = self._next_channel(message, reason, now)
        if nxt is None:
            self.on_send_failed(message.incident, message.contact, reason, now)
            return False
        self._on_queued()
        return True

    def _next_channel(self, message: SmsMessage, reason: str, now: datetime) -> ContactChannel | None:
        incident = self._repo.incident(message.incident or "")
        person = self._repo.contact(message.contact or "")
        if incident is None or person is None or incident.state is IncidentState.RESOLVED:
            return None
        if person.opted_out_at is not None:
            return None
        tried = self._repo.alert_channels(incident.id, person.id)
        nxt = choose(person, SmsPurpose.ALERT, self._s.channels, tried)
        if nxt is None:
            return None
        snap = next((c for w in incident.snapshot.waves for c in w.contacts if c.id == person.id), None)
        tier = next((w.tier for w in incident.snapshot.waves if snap in w.contacts), TierKind.NEIGHBOURS)
        base = SnapshotContact(person.id, person.name, person.phone, person.role, person.language)
        body = self._alert_body(incident, tier, base, now, nxt)
        key = f"{message.idempotency_key.split('|')[0]}|{nxt}"
        self.queue(
            key,
            person.phone,
            body,
            SmsPurpose.ALERT,
            incident,
            person.id,
            now,
            urgent=message.urgent,
            channel=nxt,
        )
        self.audit(
            now,
            SYSTEM,
            "notify.fallback",
            incident,
            contact=person.id,
            failed=message.channel.value,
            next=nxt.value,
            reason=reason,
        )
        log.info(
            "notify.fallback incident=%s contact=%s from=%s to=%s reason=%s",
            incident.id,
            person.id,
            message.channel,
            nxt,
            reason,
        )
        return nxt

    def check_overdue(self, now: datetime) -> int:
        """Alerts the provider took but did not report delivered within their channel's deadline
        (:data:`escalation.channels.DELIVERY_DEADLINE`) fall back to the person's next channel; a person
        with no other channel is left to the wave's own wait. How many fell back."""
        moved = 0
        for channel in self._s.receipts:
            deadline = DELIVERY_DEADLINE.get(channel)
            if deadline is None:
                continue
            for message in self._repo.overdue_alerts(channel, now - deadline):
                person = self._repo.contact(message.contact or "")
                tried = self._repo.alert_channels(message.incident or "", message.contact or "")
                if person is None or choose(person, SmsPurpose.ALERT, self._s.channels, tried) is None:
                    continue
                minutes = int(deadline.total_seconds() // 60)
                late = replace(message, status=SmsStatus.UNDELIVERED, error=f"not delivered in {minutes} min")
                self._repo.update_sms(replace(late, updated_at=now))
                moved += self.fall_back(late, late.error, now)
        return moved

    # -- activity and faults -----------------------------------------------------------------------
    def on_live_state(
        self,
        activities: Sequence[HouseholdActivity],
        now: datetime,
        devices: Mapping[str, Sequence[DeviceState]] | None = None,
    ) -> None:
        """The live state of the homes, polled: activity resuming (:class:`ActivitySeen`) and faults
        that went away (:class:`FaultCleared`) for every open incident of those homes."""
        by_household = {a.household: a for a in activities}
        for incident in self._repo.incidents(open_only=True, limit=100_000):
            live = by_household.get(incident.household)
            if live is None:
                continue
            seen = live.last_activity_at
            if incident.kind in RESUMABLE and seen is not None:
                if seen > (incident.activity_at or incident.last_activity_at or incident.opened_at):
                    self.handle(incident.id, ActivitySeen(seen), now)  # only news: no transaction per tick
            elif incident.audience is Audience.TECHNICAL:
                cleared = fault_cleared(incident, live, (devices or {}).get(incident.household, ()))
                if cleared:
                    self.handle(incident.id, FaultCleared(cleared), now)

    def on_climate(self, calm: Mapping[str, frozenset[FindingKind]], now: datetime) -> None:
        """Rooms safe again (``detection.climate_live.calm_kinds``): the open heat and cold incidents of
        those homes close (:class:`RoomCooled`); nobody further is asked to look in."""
        for incident in self._repo.incidents(open_only=True, limit=100_000):
            if incident.kind in CLIMATE_KINDS and incident.kind in calm.get(incident.household, frozenset()):
                self.handle(incident.id, RoomCooled("rooms safe again"), now)

    # -- helpers ----------------------------------------------------------------------------------
    def queue(
        self,
        key: str,
        to: str,
        body: str,
        purpose: SmsPurpose,
        incident: Incident | None,
        contact: str | None,
        now: datetime,
        *,
        urgent: bool = False,
        channel: ContactChannel | None = None,
        household: str | None = None,
    ) -> None:
        """Queue one message to ``to`` (a phone) or, with ``contact``, on that person's channel
        (:func:`escalation.channels.choose`: notices take their first text channel). ``household``: the
        one a message without an incident is about (for the audit)."""
        if incident is not None:
            household = incident.household
        person = self._repo.contact(contact) if contact else None
        if channel is None:
            channel = ContactChannel.SMS if person is None else choose(person, purpose, self._s.channels)
        if channel is None:
            assert person is not None
            self._skipped(person, purpose, incident, now)
            return
        where = (
            to
            if person is None or channel in (ContactChannel.SMS, ContactChannel.VOICE)
            else address(person, channel)
        )
        if self._repo.enqueue_sms(
            key=key,
            to=where or to,
            body=body,
            purpose=purpose,
            urgent=urgent,
            now=now,
            incident=incident.id if incident else None,
            contact=contact,
            channel=channel,
        ):
            self._repo.audit(
                now,
                "system",
                f"{channel}.queued",
                household=household,
                incident=incident.id if incident else None,
                detail={
                    "to": mask(where or to),
                    "purpose": purpose.value,
                    "contact": contact,
                    "channel": channel.value,
                },
            )

    def _skipped(
        self, person: Contact, purpose: SmsPurpose, incident: Incident | None, now: datetime
    ) -> None:
        """A notice for someone reached only by voice: not sent (they heard the alert's own answer)."""
        self._repo.audit(
            now,
            "system",
            "notify.skipped",
            household=incident.household if incident else None,
            incident=incident.id if incident else None,
            detail={"contact": person.id, "purpose": purpose.value, "reason": "no text channel"},
        )
        log.info("notify.skipped contact=%s purpose=%s reason=no_text_channel", person.id, purpose)

    def audit(
        self, now: datetime, actor: str, event: str, incident: Incident, **detail: str | int | None
    ) -> None:
        self._repo.audit(
            now, actor, event, household=incident.household, incident=incident.id, detail=dict(detail)
        )

    def household_name(self, incident: Incident, lang: Language) -> str:
        if incident.household == PLATFORM:
            return "運用" if lang is Language.JA else "platform"
        h = self._repo.household(incident.household)
        return h.name if h else incident.household

    def _what(self, incident: Incident, lang: Language, *, resident: bool = False) -> str:
        if incident.kind in CLIMATE_KINDS:
            return texts.climate_what(
                incident.kind, incident.explanation_key, incident.explanation_params, lang, resident=resident
            )
        return texts.explain(incident.kind, incident.explanation_key, incident.explanation_params, lang)

    def _link(self, incident: Incident, contact_id: str, now: datetime) -> str:
        expires = now + self._s.link_ttl
        link_id = self._repo.link_id(incident.id, contact_id, expires)
        return f"{self._s.public_url.rstrip('/')}/l/{sign(self._s.link_secret, link_id, expires)}"

    def _alert_body(
        self,
        incident: Incident,
        tier: TierKind,
        person: SnapshotContact,
        now: datetime,
        channel: ContactChannel,
    ) -> str:
        if channel is ContactChannel.VOICE and incident.household != PLATFORM:
            h = self._repo.household(incident.household)
            return voice.spoken_alert(
                person.language,
                resident=person.role is ContactRole.RESIDENT,
                name=h.name if h else incident.household,
                what=self._what(incident, person.language, resident=person.role is ContactRole.RESIDENT),
            )
        link = self._link(incident, person.id, now)
        if incident.household == PLATFORM:
            homes = int(incident.explanation_params.get("homes", 0))
            return texts.operators_alert(person.language, homes, link, code=reply_code(incident.id))
        h = self._repo.household(incident.household)
        hint = h.address_hint if h and person.role is not ContactRole.RESIDENT else ""
        return texts.alert(
            lang=person.language,
            tier=tier,
            name=h.name if h else incident.household,
            address_hint=hint,
            what=self._what(incident, person.language, resident=person.role is ContactRole.RESIDENT),
            link=link,
            code=reply_code(incident.id),
        )


def mask(phone: str) -> str:
    """Phone numbers in logs and the audit detail: the last four digits only."""
    return "…" + phone[-4:] if len(phone) > 4 else "…"


def fault_cleared(incident: Incident, live: HouseholdActivity, devices: Sequence[DeviceState]) -> str:
    """Why a technical incident's fault went away ("" while it has not): the gateway or the sensors of a
    blind home are heard again, a silent device is heard again, a low battery was replaced. A stuck
    sensor is closed by staff (nothing tells a sensor that works from one that still sticks)."""
    if incident.kind in BLIND_KINDS:
        back = live.last_event_at is not None and live.last_event_at > incident.opened_at
        return "heard again" if back else ""
    device = next((d for d in devices if d.device == incident.device), None)
    if device is None:
        return ""
    if incident.kind is FindingKind.DEVICE_SILENT and device.last_seen_at > incident.opened_at:
        return f"{device.device} heard again"
    if incident.kind is FindingKind.LOW_BATTERY and (device.battery or 0.0) >= BATTERY_REPLACED_PCT:
        return f"{device.device} battery {device.battery:.0f}%"
    return ""
