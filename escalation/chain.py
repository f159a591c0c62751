"""The pure core of escalation: the chain snapshotted at opening, and the next step given ``now``.

Nothing here does I/O. :func:`build_snapshot` resolves a household's policy into waves (a whole tier at
once, or one person at a time); :func:`decide` says what to do for an incident at ``now`` from the
incident and the facts of its log (:class:`Progress`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from detection.findings import Audience, FindingKind, Severity
from escalation.models import Incident, IncidentState, PolicySnapshot, SnapshotContact, Wave
from registry.models import Contact, NotifyMode, Policy, QuietHours, Tier, TierKind

BLIND_KINDS = (FindingKind.BLIND_GATEWAY, FindingKind.BLIND_SENSORS)
TECHNICAL_WAIT_MINUTES = 60


@dataclass(frozen=True, slots=True)
class Progress:
    """What the incident's log says about its contacts."""

    notified: frozenset[str] = frozenset()  # sent an alert for this incident
    declined: frozenset[str] = frozenset()  # answered "can't"
    failed: frozenset[str] = frozenset()  # the alert could not be delivered
    opted_out: frozenset[str] = frozenset()  # STOP: never texted
    helped: frozenset[str] = frozenset()  # said 119 / help
    unavailable: frozenset[str] = frozenset()  # volunteers resting or outside their windows now
    operators: tuple[SnapshotContact, ...] = ()  # the platform operators ([alerts] operators)
    operators_told: bool = False  # the chain ran out and the operators were texted

    def unreachable(self, contact: str) -> bool:
        return (
            contact in self.declined
            or contact in self.failed
            or contact in self.opted_out
            or contact in self.unavailable
        )


@dataclass(frozen=True, slots=True)
class Idle:
    """Nothing to do and nothing scheduled (resolved, dashboard-only, or the chain is exhausted)."""


@dataclass(frozen=True, slots=True)
class Wait:
    until: datetime


@dataclass(frozen=True, slots=True)
class Notify:
    """Send ``wave`` now; then the incident waits for ``next_due_at``."""

    wave_index: int
    contacts: tuple[SnapshotContact, ...]
    next_due_at: datetime
    claim_expired: bool = False  # the claim ran out without an outcome


@dataclass(frozen=True, slots=True)
class Exhausted:
    """Nobody left in the chain: the operators must know."""

    claim_expired: bool = False


Decision = Idle | Wait | Notify | Exhausted


def _snap(c: Contact) -> SnapshotContact:
    return SnapshotContact(c.id, c.name, c.phone, c.role, c.language)


def rotate_volunteers(
    contacts: Sequence[Contact], load: Mapping[str, tuple[int, datetime]], default_cap: int
) -> list[Contact]:
    """Round-robin with a weekly cap: under-cap volunteers, least recently alerted first.

    When every volunteer is over the cap the whole list is kept: a missed alert is worse than an
    unfair one.
    """
    never = datetime.min.replace(tzinfo=ZoneInfo("UTC"))

    def cap(c: Contact) -> int:
        return c.weekly_cap if c.weekly_cap is not None else default_cap

    under = [c for c in contacts if load.get(c.id, (0, never))[0] < cap(c)]
    chosen = under or list(contacts)
    return sorted(chosen, key=lambda c: (load.get(c.id, (0, never))[1], load.get(c.id, (0, never))[0]))


def draw_from_pool(
    tier: Tier,
    pool: Sequence[Contact],
    members: Sequence[Contact],
    unavailable: Collection[str],
    load: Mapping[str, tuple[int, datetime]],
    policy: Policy,
) -> list[Contact]:
    """Up to ``tier.pool_size`` pool volunteers who may be asked now, round-robin under their caps."""
    taken = {m.id for m in members}
    free = [c for c in pool if c.id not in taken and c.id not in unavailable and c.opted_out_at is None]
    return rotate_volunteers(free, load, policy.volunteer_weekly_cap)[: tier.pool_size]


def build_snapshot(
    policy: Policy | None,
    contacts: Mapping[str, Contact],
    *,
    kind: FindingKind,
    audience: Audience,
    time_zone: str,
    load: Mapping[str, tuple[int, datetime]],
    operators: Sequence[SnapshotContact],
    blind_hold_minutes: int,
    pool: Sequence[Contact] = (),
    unavailable: Collection[str] = frozenset(),
) -> PolicySnapshot:
    """The escalation chain of a new incident, resolved from the policy as it is now.

    ``pool``: the volunteers of the household's organisation's shared pool, drawn on by a volunteers
    tier with ``pool``; ``unavailable``: volunteers resting or outside their windows now (never drawn
    from the pool; a tier's own volunteers stay, and are skipped if still so when their wave comes).
    """
    claim = policy.claim_timeout_minutes if policy else 45
    quiet = policy.quiet_hours if policy else None
    waves: list[Wave] = []
    delay = 0
    if audience is Audience.TECHNICAL:
        tech = [_snap(contacts[c]) for c in (policy.technical if policy else ()) if c in contacts]
        chosen = tuple(tech) or tuple(operators)
        if chosen:
            waves.append(Wave(0, TierKind.TECHNICAL, chosen, TECHNICAL_WAIT_MINUTES))
        delay = blind_hold_minutes if kind in BLIND_KINDS else 0
    elif audience is Audience.COMMUNITY and policy is not None:
        for index, tier in enumerate(policy.tiers):
            if tier.kind is TierKind.RESIDENT_CHECK and kind is FindingKind.HELP_BUTTON:
                continue  # they pressed the button: asking them whether they are fine wastes minutes
            members = [contacts[c] for c in tier.contacts if c in contacts]
            if tier.kind is TierKind.VOLUNTEERS:
                members = rotate_volunteers(members, load, policy.volunteer_weekly_cap)
                if tier.pool:
                    members += draw_from_pool(tier, pool, members, unavailable, load, policy)
            if not members:
                continue
            if tier.mode is NotifyMode.ALL:
                waves.append(Wave(index, tier.kind, tuple(_snap(c) for c in members), tier.wait_minutes))
            else:
                waves.extend(Wave(index, tier.kind, (_snap(c),), tier.wait_minutes) for c in members)
    if audience is Audience.COMMUNITY and not waves and operators:
        # No policy, or nobody left in it: the operators, rather than no one.
        waves.append(Wave(0, TierKind.OPERATORS, tuple(operators), TECHNICAL_WAIT_MINUTES))
    return PolicySnapshot(tuple(waves), claim, quiet, time_zone, delay)


def operators_snapshot(operators: Sequence[SnapshotContact], time_zone: str) -> PolicySnapshot:
    """The chain of the one platform incident raised when many homes go blind at once."""
    waves = (Wave(0, TierKind.OPERATORS, tuple(operators), TECHNICAL_WAIT_MINUTES),) if operators else ()
    return PolicySnapshot(waves, 60, None, time_zone)


def first_due(snapshot: PolicySnapshot, opened_at: datetime) -> datetime | None:
    if not snapshot.waves:
        return None
    return opened_at + timedelta(minutes=snapshot.first_wave_delay_minutes)


def in_quiet_hours(quiet: QuietHours | None, time_zone: str, now: datetime) -> datetime | None:
    """The end of the quiet period covering ``now`` (aware UTC), or None when not quiet."""
    if quiet is None:
        return None
    local = now.astimezone(ZoneInfo(time_zone))
    t = local.time().replace(tzinfo=None)
    wraps = quiet.start > quiet.end
    inside = (t >= quiet.start or t < quiet.end) if wraps else (quiet.start <= t < quiet.end)
    if not inside:
        return None
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


def next_wave(
    incident: Incident, progress: Progress, start: int
) -> tuple[int, tuple[SnapshotContact, ...]] | None:
    """The first wave from ``start`` with somebody still worth texting."""
    for index in range(start, len(incident.snapshot.waves)):
        wave = incident.snapshot.waves[index]
        people = tuple(
            c for c in wave.contacts if c.id not in progress.notified and not progress.unreachable(c.id)
        )
        if people:
            return index, people
    return None


def decide(incident: Incident, progress: Progress, now: datetime) -> Decision:
    """What to do for ``incident`` at ``now``."""
    if incident.state is IncidentState.RESOLVED:
        return Idle()
    expired = False
    if incident.state is IncidentState.CLAIMED:
        assert incident.claimed_at is not None
        deadline = incident.claimed_at + timedelta(minutes=incident.snapshot.claim_timeout_minutes)
        if now < deadline:
            return Wait(deadline)
        expired = True
    elif incident.next_due_at is None:
        return Idle()
    elif now < incident.next_due_at:
        return Wait(incident.next_due_at)
    if incident.severity is not Severity.URGENT and not expired:
        quiet_end = in_quiet_hours(incident.snapshot.quiet_hours, incident.snapshot.time_zone, now)
        if quiet_end is not None:
            return Wait(quiet_end)
    found = next_wave(incident, progress, incident.wave_index)
    if found is None:
        return Exhausted(claim_expired=expired)
    index, people = found
    wait = timedelta(minutes=incident.snapshot.waves[index].wait_minutes)
    return Notify(index, people, now + wait, claim_expired=expired)


def wave_settled(incident: Incident, progress: Progress) -> bool:
    """Everyone texted in the last wave declined, failed or opted out: move on at once."""
    if incident.state is not IncidentState.NOTIFYING or incident.wave_index == 0:
        return False
    wave = incident.snapshot.waves[incident.wave_index - 1]
    texted = [c.id for c in wave.contacts if c.id in progress.notified]
    return bool(texted) and all(progress.unreachable(c) for c in texted)
