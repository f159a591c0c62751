"""Incidents and their escalation, applied to the state: the shell around the pure state machine.

:meth:`EscalationEngine.apply` is the one way an incident changes: it loads the incident, asks
:func:`escalation.machine.transition` what an event does, and applies the effects (escalation log, audit
log, SMS in the durable queue through :class:`~escalation.messaging.Messenger`) in one state
transaction. Callbacks tell the scheduler when an incident's next step is due and the dispatcher that
messages are waiting. What providers report back is :class:`~escalation.delivery.Delivery`'s.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from detection.findings import CLIMATE_KINDS, Audience, Explanation, Finding, FindingKind, Severity
from detection.learning import feedback_of
from escalation.activity_resumed import RESUMABLE
from escalation.chain import BLIND_KINDS, operators_snapshot
from escalation.chain_facts import ChainFacts
from escalation.delivery import Delivery
from escalation.effects import Audit, CancelQueued, Effect, Step, Transition
from escalation.engine_settings import EngineSettings
from escalation.faults import fault_cleared
from escalation.incident_events import (
    REPEAT_WINDOW,
    ActivitySeen,
    DeliveryFailed,
    Due,
    Event,
    FaultCleared,
    Repeated,
    RoomCooled,
    Superseded,
    Suppressed,
)
from escalation.machine import opened, transition
from escalation.messaging import Messenger
from escalation.models import PLATFORM, SYSTEM, Incident, IncidentState, Outcome
from escalation.repository import EscalationRepository
from registry.models import ContactChannel
from store.base import DeviceState, HouseholdActivity

log = logging.getLogger(__name__)

LEARNED_OUTCOMES = frozenset({Outcome.FALSE_ALARM, Outcome.HOSPITAL, Outcome.EMERGENCY_HANDLED})
"""Outcomes detection learns from: a false alarm loosens the threshold that raised it, an emergency never."""


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
        self.messenger = Messenger(repo, settings)  # every text queued (replies, drills, digests too)
        self._facts = ChainFacts(repo, settings)
        self.delivery = Delivery(  # what providers report back (webhooks, the overdue sweep)
            repo, settings, self.messenger, on_failed=self.on_send_failed, on_queued=on_queued
        )

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
        t = transition(incident, event, now, self._facts.progress(incident, now), actor)
        if t.incident != incident:
            self._repo.save_incident(t.incident)
            if t.incident.state is IncidentState.RESOLVED and incident.state is not IncidentState.RESOLVED:
                self.messenger.tell_family(t.incident, now, opened=False)
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
                self.messenger.audit(now, actor, e.action, incident, **dict(e.detail))
            elif isinstance(e, CancelQueued):
                repo.cancel_queued_sms(incident.id, now)
            else:
                self.messenger.send(incident, e, now)

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
            snapshot = self._facts.snapshot(finding, now)
            t = opened(self._new_id(), finding, snapshot, now)
            repo.insert_incident(t.incident)
            self._effects(t.incident, t.effects, now, SYSTEM)
            self.messenger.tell_family(t.incident, now, opened=True)
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
