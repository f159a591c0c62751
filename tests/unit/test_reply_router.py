"""The reply router's choices and what each answer asks of the state machine (unit tables), and a
question of another kind plugged into the router."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from detection.findings import Audience, FindingKind, Severity
from escalation.answers import CONTACT
from escalation.codes import reply_code
from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.incident_events import Claim, Close, Decline, Event, Help, ResidentSafe
from escalation.models import CLAIMER, Incident, IncidentState, Outcome, PolicySnapshot
from escalation.replies import Pending, Reply, ReplyAction, ReplyDesk, answer_event, route
from escalation.repository import EscalationRepository
from registry.models import Contact, ContactRole
from tests.conftest import FIXED_NOW
from tests.support.escalation_harness import alerts_config, finding, import_households

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


@dataclass
class Drill:
    """Another kind of question (as a drill would be) plugged into the router."""

    contact: Contact
    answers: list[tuple[str, ReplyAction]] = field(default_factory=list)

    def pending(self, contacts: Sequence[Contact], reply: Reply, now: datetime) -> list[Pending]:
        asked = FIXED_NOW + timedelta(hours=1)  # newer than the alert: precedence still puts the alert first
        return [Pending("drill", "drill-1", "T2", c, asked, "drill") for c in contacts if c == self.contact]

    def answer(self, item: Pending, action: ReplyAction, now: datetime, actor: str) -> str:
        self.answers.append((item.item, action))
        return "drill answered"


def test_a_reply_to_a_plugged_in_question_never_reaches_the_incident(tmp_path: Path) -> None:
    config = alerts_config(tmp_path, None)
    import_households(config)
    repo = EscalationRepository(config.alerts.state_path)
    repo.open()
    try:
        engine = EscalationEngine(repo, EngineSettings("http://localhost", b"k" * 32))
        incident = engine.open_from_finding(finding(), FIXED_NOW)
        assert incident is not None
        suzuki = repo.contact("n-suzuki")
        assert suzuki is not None
        desk = ReplyDesk(engine, repo)
        drill = Drill(suzuki)
        desk.register(drill)
        now = FIXED_NOW + timedelta(minutes=1)

        taken = desk.handle_reply(suzuki.phone, "T2 1", now, "SM1")
        assert (taken.incident, taken.detail) == ("drill-1", "drill answered")
        assert drill.answers == [("drill-1", ReplyAction.GO)]
        assert repo.incident(incident.id) == incident  # the incident did not change

        taken = desk.handle_reply(suzuki.phone, "2", now, "SM2")  # no code: the open alert comes first
        assert taken.incident == incident.id
        assert drill.answers == [("drill-1", ReplyAction.GO)]
        notes = [m.body for m in repo.sms_messages() if m.to == suzuki.phone and "受け付けました" in m.body]
        assert notes == [
            f"山田花子さんの件({reply_code(incident.id)})への返信として受け付けました。"
            "別の件は符号を先頭に: T2 1"
        ]
    finally:
        repo.close()
