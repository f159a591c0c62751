"""What the state machine decides on, read from the state: a finding's chain snapshot at opening, an
incident's progress (its log and its volunteers' availability), and who its operators are."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from detection.findings import Finding
from escalation.chain import Progress, build_snapshot
from escalation.engine_settings import EngineSettings
from escalation.models import Incident, PolicySnapshot, SnapshotContact, StepKind
from escalation.repository import EscalationRepository
from registry.models import ContactRole
from registry.volunteers import askable


class ChainFacts:
    def __init__(self, repo: EscalationRepository, settings: EngineSettings) -> None:
        self._repo = repo
        self._s = settings

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

    def snapshot(self, finding: Finding, now: datetime) -> PolicySnapshot:
        """The chain ``finding``'s incident is to follow: its policy, resolved at ``now``."""
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
