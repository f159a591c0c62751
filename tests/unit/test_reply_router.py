"""The reply router's choices and what each answer asks of the state machine: unit tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from detection.findings import Audience, FindingKind, Severity
from escalation.machine import CONTACT, Claim, Close, Decline, Event, Help, ResidentSafe
from escalation.models import CLAIMER, Incident, IncidentState, Outcome, PolicySnapshot
from escalation.replies import Pending, ReplyAction, answer_event, route
from registry.models import Contact, ContactRole
from tests.conftest import FIXED_NOW

A = ReplyAction
SUZUKI = Contact("n-suzuki", "鈴木一郎", "+819000000011", ContactRole.NEIGHBOUR)
OPEN = Incident(
    id="inc-1",
    household="demo-0001",
    kind=FindingKind.INACTIVITY,
    severity=Severity.URGENT,
    audience=Audience.COMMUNITY,
    state=IncidentState.NOTIFYING,
    opened_at=FIXED_NOW,
    updated_at=FIXED_NOW,
    episode="e1",
    explanation_key="inactivity",
    explanation_params={},
    last_activity_at=None,
    snapshot=PolicySnapshot((), 45, None, "Asia/Tokyo"),
)
MINE = replace(OPEN, state=IncidentState.CLAIMED, claimed_by="n-suzuki")
THEIRS = replace(OPEN, state=IncidentState.CLAIMED, claimed_by="n-kato")


@pytest.mark.parametrize(
    ("incident", "action", "resident", "expected"),
    [
        # a contact
        (OPEN, A.GO, False, Claim("n-suzuki")),
        (OPEN, A.ACK, False, None),  # asked to confirm ("行けるなら1")
        (THEIRS, A.ACK, False, Claim("n-suzuki")),  # refused by the machine: told who is going
        (OPEN, A.CANT, False, Decline("n-suzuki")),
        (MINE, A.CANT, False, Decline("n-suzuki")),  # gives the claim back
        (OPEN, A.SAFE, False, Close(Outcome.SAFE, CONTACT, "n-suzuki")),
        (MINE, A.SAFE, False, Close(Outcome.SAFE, CLAIMER, "n-suzuki")),
        (MINE, A.NO_ANSWER, False, Close(Outcome.NO_ANSWER_AT_DOOR, CLAIMER, "n-suzuki")),
        (MINE, A.HOSPITAL, False, Close(Outcome.HOSPITAL, CLAIMER, "n-suzuki")),
        (THEIRS, A.HOSPITAL, False, Close(Outcome.HOSPITAL, CLAIMER, "n-suzuki")),  # refused: not the claimer
        (OPEN, A.HELP, False, Help("n-suzuki")),
        (OPEN, A.UNKNOWN, False, None),
        # the household's resident: fine or help, never a claim
        (OPEN, A.GO, True, ResidentSafe("n-suzuki")),
        (OPEN, A.ACK, True, ResidentSafe("n-suzuki")),
        (OPEN, A.SAFE, True, ResidentSafe("n-suzuki")),
        (OPEN, A.HELP, True, Help("n-suzuki", resident=True)),
        (OPEN, A.CANT, True, None),
        (OPEN, A.NO_ANSWER, True, None),
        (OPEN, A.HOSPITAL, True, None),
        (OPEN, A.UNKNOWN, True, None),
    ],
)
def test_answer_event(
    incident: Incident, action: ReplyAction, resident: bool, expected: Event | None
) -> None:
    assert answer_event(incident, "n-suzuki", action, resident=resident) == expected


def pending(kind: str, item: str, code: str, minutes: int) -> Pending:
    return Pending(kind, item, code, SUZUKI, FIXED_NOW + timedelta(minutes=minutes), item)


ALERT_OLD = pending("alert", "a-old", "K7", 0)
ALERT_NEW = pending("alert", "a-new", "M3", 5)
CHECK = pending("resident_check", "check", "P4", 10)
DRILL = pending("drill", "drill", "T2", 20)


@pytest.mark.parametrize(
    ("items", "code", "taken"),
    [
        ([ALERT_OLD], None, ["a-old"]),
        ([ALERT_OLD, ALERT_NEW], None, ["a-new", "a-old"]),  # the newest alert
        ([ALERT_OLD, ALERT_NEW], "K7", ["a-old"]),  # the one with the code
        ([ALERT_OLD, ALERT_NEW], "X9", []),  # no such code: nothing (the sender is told the open codes)
        ([DRILL, CHECK, ALERT_OLD], None, ["a-old", "check", "drill"]),  # alert > resident check > other
        ([DRILL, CHECK], None, ["check", "drill"]),
        ([DRILL, CHECK], "T2", ["drill"]),
        ([DRILL], None, ["drill"]),
        ([], None, []),
    ],
)
def test_route(items: list[Pending], code: str | None, taken: list[str]) -> None:
    assert [p.item for p in route(items, code)] == taken
