"""The pure escalation core, table-driven with a fixed clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from detection.findings import AUDIENCE, Audience, FindingKind, Severity
from escalation.chain import (
    Exhausted,
    Idle,
    Notify,
    Progress,
    Wait,
    build_snapshot,
    decide,
    in_quiet_hours,
    rotate_volunteers,
    wave_settled,
)
from escalation.models import Incident, IncidentState, SnapshotContact
from registry.models import Contact, ContactRole, Language, NotifyMode, Policy, QuietHours, Tier, TierKind
from tests.conftest import FIXED_NOW

T0 = FIXED_NOW  # 18:00 in Tokyo
M = timedelta(minutes=1)

CONTACTS = {
    c.id: c
    for c in [
        Contact("r", "Resident", "+819000000001", ContactRole.RESIDENT),
        Contact("n1", "N1", "+819000000011", ContactRole.NEIGHBOUR),
        Contact("n2", "N2", "+819000000012", ContactRole.NEIGHBOUR),
        Contact("v1", "V1", "+819000000021", ContactRole.VOLUNTEER),
        Contact("v2", "V2", "+819000000022", ContactRole.VOLUNTEER),
        Contact("p1", "P1", "+819000000031", ContactRole.PROFESSIONAL),
        Contact("t1", "T1", "+819000000041", ContactRole.TECHNICAL),
    ]
}
POLICY = Policy(
    "h",
    (
        Tier(TierKind.RESIDENT_CHECK, ("r",), NotifyMode.ALL, 5),
        Tier(TierKind.NEIGHBOURS, ("n1", "n2"), NotifyMode.ONE_BY_ONE, 10),
        Tier(TierKind.VOLUNTEERS, ("v1", "v2"), NotifyMode.ALL, 20),
        Tier(TierKind.PROFESSIONALS, ("p1",), NotifyMode.ALL, 30),
    ),
    technical=("t1",),
    quiet_hours=QuietHours(time(21, 0), time(7, 0)),
    claim_timeout_minutes=45,
    volunteer_weekly_cap=2,
)
OPS = (SnapshotContact("op", "Op", "+819099990000", ContactRole.TECHNICAL, Language.JA),)


def snapshot(kind: FindingKind = FindingKind.INACTIVITY, audience: Audience = Audience.COMMUNITY, load=None):
    return build_snapshot(
        POLICY,
        CONTACTS,
        kind=kind,
        audience=audience,
        time_zone="Asia/Tokyo",
        load=load or {},
        operators=OPS,
        blind_hold_minutes=5,
    )


def incident(**changes) -> Incident:
    base = Incident(
        id="i",
        household="h",
        kind=FindingKind.INACTIVITY,
        severity=Severity.URGENT,
        audience=Audience.COMMUNITY,
        state=IncidentState.OPEN,
        opened_at=T0,
        updated_at=T0,
        episode="e",
        explanation_key="inactivity",
        explanation_params={},
        last_activity_at=None,
        snapshot=snapshot(),
        next_due_at=T0,
    )
    return replace(base, **changes)


def test_snapshot_waves_follow_the_policy() -> None:
    waves = snapshot().waves
    assert [(w.tier, [c.id for c in w.contacts], w.wait_minutes) for w in waves] == [
        (TierKind.RESIDENT_CHECK, ["r"], 5),
        (TierKind.NEIGHBOURS, ["n1"], 10),
        (TierKind.NEIGHBOURS, ["n2"], 10),
        (TierKind.VOLUNTEERS, ["v1", "v2"], 20),
        (TierKind.PROFESSIONALS, ["p1"], 30),
    ]


def test_help_button_skips_the_resident_check_and_blind_goes_technical() -> None:
    assert snapshot(FindingKind.HELP_BUTTON).waves[0].tier is TierKind.NEIGHBOURS
    blind = snapshot(FindingKind.BLIND_GATEWAY, Audience.TECHNICAL)
    assert [(w.tier, [c.id for c in w.contacts]) for w in blind.waves] == [(TierKind.TECHNICAL, ["t1"])]
    assert blind.first_wave_delay_minutes == 5
    assert snapshot(FindingKind.SLOW_DECLINE, Audience.CARE_MANAGER).waves == ()
    # not back from a care-calendar absence: gentle, for the care manager only (never the community tiers)
    assert snapshot(FindingKind.NOT_BACK, AUDIENCE[FindingKind.NOT_BACK]).waves == ()


def test_volunteers_round_robin_under_the_weekly_cap() -> None:
    v1, v2 = CONTACTS["v1"], CONTACTS["v2"]
    assert [c.id for c in rotate_volunteers([v1, v2], {"v1": (1, T0 - M)}, 2)] == ["v2", "v1"]
    assert [c.id for c in rotate_volunteers([v1, v2], {"v1": (2, T0 - M)}, 2)] == ["v2"]
    everyone_capped = {"v1": (2, T0 - 2 * M), "v2": (5, T0 - M)}
    assert [c.id for c in rotate_volunteers([v1, v2], everyone_capped, 2)] == ["v1", "v2"]


CASES = [
    ("due: first wave", incident(), Progress(), Notify(0, snapshot().waves[0].contacts, T0 + 5 * M)),
    ("not yet due", incident(next_due_at=T0 + M), Progress(), Wait(T0 + M)),
    ("resolved", incident(state=IncidentState.RESOLVED), Progress(), Idle()),
    ("dashboard only", incident(next_due_at=None), Progress(), Idle()),
    (
        "skips the opted-out and the failed",
        incident(wave_index=1),
        Progress(opted_out=frozenset({"n1"}), failed=frozenset({"n2"})),
        Notify(3, snapshot().waves[3].contacts, T0 + 20 * M),
    ),
    (
        "never texts anyone twice",
        incident(wave_index=3),
        Progress(notified=frozenset({"v1"})),
        Notify(3, snapshot().waves[3].contacts[1:], T0 + 20 * M),
    ),
    ("exhausted", incident(wave_index=5), Progress(), Exhausted()),
    (
        "claimed, within the timeout",
        incident(state=IncidentState.CLAIMED, claimed_by="n1", claimed_at=T0 - 10 * M, wave_index=2),
        Progress(),
        Wait(T0 + 35 * M),
    ),
    (
        "claim expired: escalates anyway",
        incident(state=IncidentState.CLAIMED, claimed_by="n1", claimed_at=T0 - 45 * M, wave_index=2),
        Progress(notified=frozenset({"r", "n1"})),
        Notify(2, snapshot().waves[2].contacts, T0 + 10 * M, claim_expired=True),
    ),
]


@pytest.mark.parametrize(("name", "inc", "progress", "expected"), CASES, ids=[c[0] for c in CASES])
def test_decide(name: str, inc: Incident, progress: Progress, expected: object) -> None:
    assert decide(inc, progress, T0) == expected


def test_quiet_hours_hold_non_urgent_notices_only() -> None:
    night = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo
    morning = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)  # 07:00 next day in Tokyo
    warning = incident(severity=Severity.WARNING, next_due_at=night)
    assert decide(warning, Progress(), night) == Wait(morning)
    assert isinstance(decide(incident(next_due_at=night), Progress(), night), Notify)
    assert in_quiet_hours(POLICY.quiet_hours, "Asia/Tokyo", T0) is None


def test_wave_settled_when_everyone_texted_is_unreachable() -> None:
    inc = incident(state=IncidentState.NOTIFYING, wave_index=4)  # the volunteers were texted
    texted = frozenset({"v1", "v2"})
    assert not wave_settled(inc, Progress(notified=texted, declined=frozenset({"v1"})))
    assert wave_settled(inc, Progress(notified=texted, declined=frozenset({"v1"}), failed=frozenset({"v2"})))


def test_a_household_without_a_policy_still_reaches_someone() -> None:
    orphan = build_snapshot(
        None,
        CONTACTS,
        kind=FindingKind.INACTIVITY,
        audience=Audience.COMMUNITY,
        time_zone="Asia/Tokyo",
        load={},
        operators=OPS,
        blind_hold_minutes=5,
    )
    assert [(w.tier, [c.id for c in w.contacts]) for w in orphan.waves] == [(TierKind.OPERATORS, ["op"])]
