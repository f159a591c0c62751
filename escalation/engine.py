"""Incidents and their escalation, applied to the state: the shell around the pure core.

Every public method takes ``now``, runs in one state transaction, records what it did (escalation
log and audit log) and queues SMS in the durable queue; the dispatcher sends them. Callbacks tell the
scheduler when an incident's next step is due and the dispatcher that messages are waiting.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from detection.findings import Audience, Finding, FindingKind, Severity
from escalation import texts
from escalation.chain import (
    BLIND_KINDS,
    Exhausted,
    Idle,
    Notify,
    Progress,
    Wait,
    build_snapshot,
    decide,
    first_due,
    operators_snapshot,
    wave_settled,
)
from escalation.links import sign
from escalation.models import (
    Incident,
    IncidentState,
    Resolution,
    SmsPurpose,
    SmsStatus,
    SnapshotContact,
    StepKind,
)
from escalation.repository import EscalationRepository
from escalation.sms.errors import ErrorClass, classify, describe
from registry.models import Contact, ContactRole, Language, TierKind
from store.base import HouseholdActivity

log = logging.getLogger(__name__)

PLATFORM = "_platform"  # the household id of the operators' incident for platform-wide outages
RESUMABLE = (
    FindingKind.INACTIVITY,
    FindingKind.MISSED_WAKEUP,
    FindingKind.LONG_ABSENCE,
    FindingKind.NIGHT_EXIT,
    FindingKind.EVENING_QUIET,
)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    public_url: str  # where one-tap links point
    link_secret: bytes
    link_ttl: timedelta = timedelta(hours=24)
    operators: tuple[SnapshotContact, ...] = ()
    blind_hold_minutes: int = 5
    mass_blind_threshold: int = 20
    time_zone: str = "Asia/Tokyo"


class EscalationEngine:
    def __init__(
        self,
        repo: EscalationRepository,
        settings: EngineSettings,
        *,
        on_due: Callable[[str, datetime | None], None] = lambda _i, _d: None,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._repo = repo
        self._s = settings
        self._on_due = on_due
        self._on_queued = on_queued

    # -- opening ---------------------------------------------------------------------------------
    def open_from_finding(self, finding: Finding, now: datetime) -> Incident | None:
        """Open an incident for ``finding`` (None when one of that household and kind is open)."""
        repo = self._repo
        with repo.transaction():
            if repo.open_incident(finding.household, finding.kind) is not None:
                return None
            household = repo.household(finding.household)
            policy = repo.policy(finding.household)
            wanted = (
                {c for t in policy.tiers for c in t.contacts} | set(policy.technical) if policy else set()
            )
            contacts = {c.id: c for c in (repo.contact(i) for i in wanted) if c is not None}
            volunteers = [i for i, c in contacts.items() if c.role is ContactRole.VOLUNTEER]
            tz = household.time_zone if household else self._s.time_zone
            snapshot = build_snapshot(
                policy,
                contacts,
                kind=finding.kind,
                audience=finding.audience,
                time_zone=tz,
                load=repo.alert_load(now - timedelta(days=7), volunteers),
                operators=self._s.operators,
                blind_hold_minutes=self._s.blind_hold_minutes,
            )
            incident = Incident(
                id=uuid.uuid4().hex[:12],
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
                next_due_at=first_due(snapshot, now),
            )
            repo.insert_incident(incident)
            waves = ",".join(w.tier.value for w in snapshot.waves)
            repo.add_step(
                incident.id, StepKind.OPENED, now, detail=f"{finding.kind.value}; waves: {waves or '-'}"
            )
            self.audit(now, "system", "incident.opened", incident, kind=finding.kind.value, waves=waves)
            if household is None and finding.household != PLATFORM:
                log.warning(
                    "incident.unknown_household household=%s kind=%s", finding.household, finding.kind
                )
        log.info("incident.opened id=%s household=%s kind=%s", incident.id, incident.household, incident.kind)
        self._on_due(incident.id, incident.next_due_at)
        if incident.next_due_at is not None and incident.next_due_at <= now:
            self.advance(incident.id, now)
        return self._repo.incident(incident.id)

    # -- the next step -----------------------------------------------------------------------------
    def process_due(self, now: datetime) -> int:
        """Advance every incident whose step is due; how many were advanced."""
        due = [i for i, at in self._repo.due_incidents() if at <= now]
        for incident_id in due:
            self.advance(incident_id, now)
        return len(due)

    def advance(self, incident_id: str, now: datetime) -> None:
        """Take the step due for one incident at ``now`` (idempotent: a step not yet due does nothing)."""
        with self._repo.transaction():
            incident = self._repo.incident(incident_id)
            if incident is None:
                return
            if self._suppress_if_outage(incident, now):
                return
            decision = decide(incident, self.progress(incident), now)
            if isinstance(decision, Notify):
                incident = self._notify(incident, decision, now)
            elif isinstance(decision, Exhausted):
                incident = self._exhausted(incident, decision.claim_expired, now)
            elif isinstance(decision, Wait) and decision.until != incident.next_due_at:
                incident = replace(incident, next_due_at=decision.until, updated_at=now)
                self._repo.save_incident(incident)
            elif isinstance(decision, Idle):
                return
        self._on_due(incident.id, incident.next_due_at)

    def progress(self, incident: Incident) -> Progress:
        repo = self._repo
        ids = {c.id for w in incident.snapshot.waves for c in w.contacts}
        opted = {c.id for c in (repo.contact(i) for i in ids) if c is not None and c.opted_out_at is not None}
        return Progress(
            notified=frozenset(repo.contacts_with_step(incident.id, [StepKind.NOTIFIED])),
            declined=frozenset(repo.contacts_with_step(incident.id, [StepKind.DECLINED])),
            failed=frozenset(repo.contacts_with_step(incident.id, [StepKind.DELIVERY_FAILED])),
            opted_out=frozenset(opted),
        )

    def _notify(self, incident: Incident, d: Notify, now: datetime) -> Incident:
        repo = self._repo
        wave = incident.snapshot.waves[d.wave_index]
        if d.claim_expired and incident.claimed_by is not None:
            repo.add_step(incident.id, StepKind.CLAIM_EXPIRED, now, contact=incident.claimed_by)
            self.audit(now, "system", "incident.claim_expired", incident, contact=incident.claimed_by)
            claimer = repo.contact(incident.claimed_by)
            if claimer is not None:
                name = self.household_name(incident, claimer.language)
                body = texts.text("claim_expired", claimer.language, name=name)
                self.queue(
                    f"{incident.id}:expired:{claimer.id}",
                    claimer.phone,
                    body,
                    SmsPurpose.REPLY,
                    incident,
                    claimer.id,
                    now,
                )
        for person in d.contacts:
            body = self._alert_body(incident, wave.tier, person, now)
            urgent = incident.severity is Severity.URGENT or wave.tier is TierKind.PROFESSIONALS
            key = f"{incident.id}:w{d.wave_index}:{person.id}:alert"
            self.queue(key, person.phone, body, SmsPurpose.ALERT, incident, person.id, now, urgent=urgent)
            repo.add_step(incident.id, StepKind.NOTIFIED, now, wave_index=d.wave_index, contact=person.id)
        ids = ",".join(p.id for p in d.contacts)
        self.audit(
            now,
            "system",
            "incident.notified",
            incident,
            tier=wave.tier.value,
            wave=d.wave_index,
            contacts=ids,
        )
        log.info(
            "incident.notified id=%s tier=%s wave=%s contacts=%s", incident.id, wave.tier, d.wave_index, ids
        )
        updated = replace(
            incident,
            state=IncidentState.NOTIFYING,
            wave_index=d.wave_index + 1,
            next_due_at=d.next_due_at,
            claimed_by=None,
            claimed_at=None,
            updated_at=now,
        )
        repo.save_incident(updated)
        return updated

    def _exhausted(self, incident: Incident, claim_expired: bool, now: datetime) -> Incident:
        repo = self._repo
        repo.add_step(incident.id, StepKind.EXHAUSTED, now, detail="nobody left in the chain")
        self.audit(now, "system", "incident.exhausted", incident)
        log.warning("incident.exhausted id=%s household=%s", incident.id, incident.household)
        already = self._repo.contacts_with_step(incident.id, [StepKind.NOTIFIED])
        for op in (o for o in self._s.operators if o.id not in already):
            body = texts.alert(
                lang=op.language,
                tier=TierKind.OPERATORS,
                name=self.household_name(incident, op.language),
                address_hint="",
                what=self._what(incident, op.language),
                link=self._link(incident, op.id, now),
            )
            self.queue(
                f"{incident.id}:exhausted:{op.id}",
                op.phone,
                body,
                SmsPurpose.OPERATOR,
                incident,
                op.id,
                now,
                urgent=True,
            )
        state = IncidentState.NOTIFYING if claim_expired else incident.state
        updated = replace(
            incident,
            state=state,
            next_due_at=None,
            claimed_by=None if claim_expired else incident.claimed_by,
            claimed_at=None if claim_expired else incident.claimed_at,
            updated_at=now,
        )
        repo.save_incident(updated)
        return updated

    # -- platform outages ----------------------------------------------------------------------------
    def _suppress_if_outage(self, incident: Incident, now: datetime) -> bool:
        if incident.kind not in BLIND_KINDS or incident.household == PLATFORM or incident.wave_index != 0:
            return False
        if incident.next_due_at is None or incident.next_due_at > now:
            return False
        platform = self._repo.open_incident(PLATFORM, FindingKind.BLIND_GATEWAY)
        if platform is None:  # while a platform outage is open every blind home is part of it
            blind = self._repo.count_open(BLIND_KINDS)
            if blind < self._s.mass_blind_threshold:
                return False
            platform = self._open_platform_incident(blind, now)
        self._repo.save_incident(replace(incident, next_due_at=None, updated_at=now))
        self._repo.add_step(incident.id, StepKind.SUPPRESSED, now, detail=f"platform outage {platform.id}")
        self.audit(now, "system", "incident.suppressed", incident, platform_incident=platform.id)
        self._on_due(incident.id, None)
        return True

    def _open_platform_incident(self, blind: int, now: datetime) -> Incident:
        snapshot = operators_snapshot(self._s.operators, self._s.time_zone)
        incident = Incident(
            id=uuid.uuid4().hex[:12],
            household=PLATFORM,
            kind=FindingKind.BLIND_GATEWAY,
            severity=Severity.URGENT,
            audience=Audience.TECHNICAL,
            state=IncidentState.OPEN,
            opened_at=now,
            updated_at=now,
            episode=now.isoformat(),
            explanation_key="mass_blind",
            explanation_params={"homes": blind},
            last_activity_at=None,
            snapshot=snapshot,
            next_due_at=first_due(snapshot, now),
        )
        self._repo.insert_incident(incident)
        self._repo.add_step(incident.id, StepKind.OPENED, now, detail=f"platform outage: {blind} homes blind")
        self.audit(now, "system", "incident.opened", incident, kind="mass_blind", blind_homes=blind)
        log.warning("platform.outage blind_homes=%s incident=%s", blind, incident.id)
        if not snapshot.waves:
            log.error("platform.outage_no_operators blind_homes=%s: set [alerts] operators", blind)
            return incident
        decision = decide(incident, Progress(), now)
        if isinstance(decision, Notify):
            incident = self._notify(incident, decision, now)
            self._on_due(incident.id, incident.next_due_at)
        return incident

    # -- resolution and delivery -------------------------------------------------------------------
    def resolve(self, incident_id: str, resolution: Resolution, by: str, now: datetime) -> bool:
        """Resolve from outside (dashboard); False when it is unknown or already resolved."""
        with self._repo.transaction():
            incident = self._repo.incident(incident_id)
            if incident is None or incident.state is IncidentState.RESOLVED:
                return False
            self.resolve_now(incident, resolution, by, now, exclude=None)
        self.after_change(incident_id, now)
        return True

    def resolve_now(
        self, incident: Incident, resolution: Resolution, by: str, now: datetime, exclude: str | None
    ) -> None:
        repo = self._repo
        resolved = replace(
            incident,
            state=IncidentState.RESOLVED,
            resolution=resolution,
            resolved_by=by,
            resolved_at=now,
            next_due_at=None,
            updated_at=now,
        )
        repo.save_incident(resolved)
        repo.add_step(incident.id, StepKind.RESOLVED, now, detail=f"{resolution.value} by {by}")
        self.audit(now, by, "incident.resolved", incident, resolution=resolution.value)
        cancelled = repo.cancel_queued_sms(incident.id, now)
        key = "activity_resolved" if resolution is Resolution.ACTIVITY_RESUMED else "resolved"
        for other in self.notified_contacts(incident, exclude=exclude):
            body = texts.text(
                key,
                other.language,
                name=self.household_name(incident, other.language),
                how=texts.how(resolution, other.language),
            )
            self.queue(
                f"{incident.id}:resolved:{other.id}",
                other.phone,
                body,
                SmsPurpose.RESOLVED_NOTICE,
                incident,
                other.id,
                now,
            )
        log.info(
            "incident.resolved id=%s resolution=%s by=%s cancelled=%s", incident.id, resolution, by, cancelled
        )

    def on_send_failed(
        self, incident_id: str | None, contact_id: str | None, reason: str, now: datetime
    ) -> None:
        """An alert could not be delivered (provider error or status callback): next person at once."""
        if incident_id is None or contact_id is None:
            return
        with self._repo.transaction():
            incident = self._repo.incident(incident_id)
            if incident is None or incident.state is IncidentState.RESOLVED:
                return
            self._repo.add_step(incident_id, StepKind.DELIVERY_FAILED, now, contact=contact_id, detail=reason)
            self.audit(now, "system", "incident.delivery_failed", incident, contact=contact_id, reason=reason)
            if wave_settled(incident, self.progress(incident)):
                self._repo.save_incident(replace(incident, next_due_at=now, updated_at=now))
        self.after_change(incident_id, now)

    def handle_status(self, sid: str, status: str, error_code: int | None, now: datetime) -> bool:
        """A delivery status callback; False when the SID is not ours. Undelivered alerts move on."""
        with self._repo.transaction():
            message = self._repo.sms_by_sid(sid)
            if message is None:
                return False
            mapped = {
                "delivered": SmsStatus.DELIVERED,
                "undelivered": SmsStatus.UNDELIVERED,
                "failed": SmsStatus.FAILED,
            }.get(status)
            self._repo.audit(
                now,
                "twilio",
                "sms.status",
                incident=message.incident,
                detail={"sms": message.id, "status": status, "code": error_code, "contact": message.contact},
            )
            if mapped is None or message.status in (SmsStatus.UNDELIVERED, SmsStatus.FAILED):
                return True
            self._repo.update_sms(replace(message, status=mapped, error_code=error_code, updated_at=now))
        if mapped is not SmsStatus.DELIVERED and message.purpose in (SmsPurpose.ALERT, SmsPurpose.OPERATOR):
            reason = f"{status} {error_code}: {describe(error_code)}"
            if classify(error_code) is ErrorClass.PERMANENT:
                log.warning("coverage.gap contact=%s reason=%s", message.contact, reason)
            self.on_send_failed(message.incident, message.contact, reason, now)
        return True

    # -- activity ---------------------------------------------------------------------------------
    def on_live_state(self, activities: Sequence[HouseholdActivity], now: datetime) -> None:
        """Activity resuming tells those notified (and resolves when the policy says so); a blind home
        sending again is resolved."""
        by_household = {a.household: a for a in activities}
        for incident in self._repo.incidents(open_only=True, limit=100_000):
            live = by_household.get(incident.household)
            if live is None:
                continue
            if incident.kind in BLIND_KINDS:
                if live.last_event_at is not None and live.last_event_at > incident.opened_at:
                    with self._repo.transaction():
                        self.resolve_now(incident, Resolution.ACTIVITY_RESUMED, "system", now, exclude=None)
            elif incident.kind in RESUMABLE and live.last_activity_at is not None:
                since = incident.last_activity_at or incident.opened_at
                if live.last_activity_at > since:
                    self._activity_resumed(incident, live.last_activity_at, now)
            else:
                continue
            self.after_change(incident.id, now)

    def _activity_resumed(self, incident: Incident, at: datetime, now: datetime) -> None:
        repo = self._repo
        with repo.transaction():
            if any(s.kind is StepKind.ACTIVITY_RESUMED for s in repo.steps(incident.id)):
                return
            repo.add_step(incident.id, StepKind.ACTIVITY_RESUMED, now, detail=at.isoformat())
            self.audit(now, "system", "incident.activity_resumed", incident, at=at.isoformat())
            if incident.snapshot.resolve_on_activity:
                self.resolve_now(incident, Resolution.ACTIVITY_RESUMED, "system", now, exclude=None)
                return
            for other in self.notified_contacts(incident, exclude=None):
                body = texts.text(
                    "activity_open", other.language, name=self.household_name(incident, other.language)
                )
                self.queue(
                    f"{incident.id}:activity:{other.id}",
                    other.phone,
                    body,
                    SmsPurpose.ACTIVITY_NOTICE,
                    incident,
                    other.id,
                    now,
                )

    # -- helpers ----------------------------------------------------------------------------------
    def after_change(self, incident_id: str, now: datetime) -> None:
        incident = self._repo.incident(incident_id)
        if incident is not None and incident.next_due_at is not None and incident.next_due_at <= now:
            self.advance(incident_id, now)
        elif incident is not None:
            self._on_due(incident_id, incident.next_due_at)
        self._on_queued()

    def notified_contacts(self, incident: Incident, exclude: str | None) -> list[Contact]:
        ids = self._repo.contacts_with_step(incident.id, [StepKind.NOTIFIED]) - {exclude}
        contacts = [self._repo.contact(i) for i in sorted(c for c in ids if c is not None)]
        return [c for c in contacts if c is not None and c.opted_out_at is None]

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
    ) -> None:
        if self._repo.enqueue_sms(
            key=key,
            to=to,
            body=body,
            purpose=purpose,
            urgent=urgent,
            now=now,
            incident=incident.id if incident else None,
            contact=contact,
        ):
            self._repo.audit(
                now,
                "system",
                "sms.queued",
                household=incident.household if incident else None,
                incident=incident.id if incident else None,
                detail={"to": mask(to), "purpose": purpose.value, "contact": contact},
            )

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

    def _what(self, incident: Incident, lang: Language) -> str:
        return texts.explain(incident.kind, incident.explanation_key, incident.explanation_params, lang)

    def _link(self, incident: Incident, contact_id: str, now: datetime) -> str:
        expires = now + self._s.link_ttl
        link_id = self._repo.link_id(incident.id, contact_id, expires)
        return f"{self._s.public_url.rstrip('/')}/l/{sign(self._s.link_secret, link_id, expires)}"

    def _alert_body(self, incident: Incident, tier: TierKind, person: SnapshotContact, now: datetime) -> str:
        link = self._link(incident, person.id, now)
        if incident.household == PLATFORM:
            return texts.operators_alert(
                person.language, int(incident.explanation_params.get("homes", 0)), link
            )
        h = self._repo.household(incident.household)
        hint = h.address_hint if h and person.role is not ContactRole.RESIDENT else ""
        return texts.alert(
            lang=person.language,
            tier=tier,
            name=h.name if h else incident.household,
            address_hint=hint,
            what=self._what(incident, person.language),
            link=link,
        )


def mask(phone: str) -> str:
    """Phone numbers in logs and the audit detail: the last four digits only."""
    return "…" + phone[-4:] if len(phone) > 4 else "…"
