"""Model-based test of escalation: random findings, SMS answers through the reply desk (contacts and the
resident; repeated, retried, malformed, coded, STOP/START), staff closes, activity, faults clearing,
restarts and time passing, over the real engine and a real SQLite state file with a fake clock. The
queue is the outbox: what is queued is sent at once (cancelled messages never are); people have channel
lists (the resident a landline, a neighbour voice then SMS, a volunteer LINE then SMS), and the provider
may report any sent message delivered, undelivered or failed, or never report (deadlines pass).

Invariants after every step: every open incident has a next step due or has told the operators; a new
episode reaches someone by SMS; nobody gets the same message twice in a row; nobody is alerted about a
closed incident; only an opt-out opts out, and the opted-out are never texted; a repeated answer changes
nothing; nobody gets the same alert twice across channels (at most one live alert per person and
incident); a failed channel always falls back (the person's next channel, else the next person).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from detection.findings import Explanation, Finding, FindingKind, Severity
from escalation.codes import reply_code
from escalation.commands import StaffCommands
from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.incident_events import Close
from escalation.models import (
    CLAIMER,
    Incident,
    IncidentState,
    Outcome,
    SmsPurpose,
    SmsStatus,
    SnapshotContact,
    StepKind,
)
from escalation.replies import ReplyDesk, normalize
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from mimamori.contract import Kind
from registry.households_import import import_data
from registry.models import ContactChannel, ContactRole, Language
from store.base import DeviceState, HouseholdActivity
from tests.conftest import FIXED_NOW

HOME = "h-1"
START = FIXED_NOW.replace(hour=1)  # 10:00 in Tokyo: a day of time passing stays mostly out of quiet hours
OPERATOR = SnapshotContact("operator-1", "operator", "+819099990000", ContactRole.TECHNICAL, Language.JA)
PEOPLE = ("r", "n1", "n2", "v1", "p1", "t1")
PHONES = {
    "r": "+819000000001",
    "n1": "+819000000011",
    "n2": "+819000000012",
    "v1": "+819000000021",
    "p1": "+819000000031",
    "t1": "+819000000041",
}
ANSWERS = st.sampled_from(
    [
        "1",
        "2",
        "3",
        "4",
        "5",
        "119",
        "OK",
        "はい",
        "大丈夫",
        "助けて",
        "行きます",
        "無理",
        "STOP",
        "停止",
        "START",
        "1（電車が運転停止、少し遅れます）",
        "1 but end of day",
        "エレベーター停止中なので階段で行きます",
        "hello?",
        "",
        "Ｋ７　１",
    ]
)
DATA: dict[str, Any] = {
    "contacts": [
        {"id": "r", "name": "本人", "phone": "+819000000001", "role": "resident", "channels": ["voice"]},
        {
            "id": "n1",
            "name": "隣1",
            "phone": "+819000000011",
            "role": "neighbour",
            "channels": ["voice", "sms"],
        },
        {"id": "n2", "name": "隣2", "phone": "+819000000012", "role": "neighbour"},
        {"id": "v1", "name": "V", "phone": "+819000000021", "role": "volunteer", "language": "en"}
        | {"channels": ["line", "sms"]},
        {"id": "p1", "name": "包括", "phone": "+819000000031", "role": "professional"},
        {"id": "t1", "name": "技術", "phone": "+819000000041", "role": "technical"},
    ],
    "households": [
        {
            "id": HOME,
            "name": "山田",
            "residents": [{"name": "山田"}],
            "policy": {
                "tiers": [
                    {"kind": "resident_check", "contacts": ["r"], "wait_minutes": 5},
                    {
                        "kind": "neighbours",
                        "contacts": ["n1", "n2"],
                        "mode": "one_by_one",
                        "wait_minutes": 10,
                    },
                    {"kind": "volunteers", "contacts": ["v1"], "wait_minutes": 20},
                    {"kind": "professionals", "contacts": ["p1"], "wait_minutes": 30},
                ],
                "technical": ["t1"],
                "quiet_hours": {"start": "21:00", "end": "07:00"},
                "claim_timeout_minutes": 45,
            },
        }
    ],
}
SETTINGS = settings(
    max_examples=int(os.environ.get("MODEL_EXAMPLES", "20")),
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
ALERTS = (SmsPurpose.ALERT, SmsPurpose.OPERATOR)


class EscalationModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._tmp = TemporaryDirectory()
        self.path = Path(self._tmp.name) / "state.sqlite3"
        self.clock = FakeClock(START)
        self.ids = 0
        self.repo = EscalationRepository(self.path)
        self.repo.open()
        report = import_data(self.repo, DATA, START)
        assert report.rejected == []
        self.repo.set_line_user("v1", "U" + "1" * 32)
        self.engine = self._engine()
        self.desk = ReplyDesk(self.engine, self.repo)
        self.sids = 0
        self.episodes = 0
        self.last_activity = START - timedelta(hours=3)
        self.opted: dict[str, int] = {}  # contact -> the last message id when they opted out
        self.must_reach: dict[str, datetime] = {}  # incident -> when its first wave is due

    def _engine(self) -> EscalationEngine:
        settings_ = EngineSettings(
            "http://alerts.test",
            b"secret",
            operators=(OPERATOR,),
            channels=frozenset({ContactChannel.SMS, ContactChannel.VOICE, ContactChannel.LINE}),
            receipts=frozenset({ContactChannel.SMS, ContactChannel.VOICE}),
        )
        return EscalationEngine(self.repo, settings_, new_id=self._next_id)

    def _next_id(self) -> str:
        """Incident ids of our own: hypothesis replays a case only if everything in it is repeatable."""
        self.ids += 1
        return f"inc{self.ids:04d}"

    def teardown(self) -> None:
        self.repo.close()
        self._tmp.cleanup()

    # -- helpers ---------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.clock.now()

    def deliver(self) -> None:
        """The outbox: every queued message is sent now."""
        for m in self.repo.due_sms(self.now, limit=10_000):
            sent = replace(m, status=SmsStatus.SENT, attempts=1, updated_at=self.now, provider_sid=f"P{m.id}")
            self.repo.update_sms(sent)

    def incidents(self, *, open_only: bool = False) -> list[Incident]:
        """Oldest first (ids are random: the order must not depend on them)."""
        found = self.repo.incidents(HOME, open_only=open_only, limit=1000)
        return sorted(found, key=lambda i: (i.opened_at, i.episode))

    def last_message_id(self) -> int:
        return max((m.id for m in self.repo.sms_messages(limit=1)), default=0)

    def state_of_things(self, only: str | None = None) -> tuple[object, ...]:
        """Incidents (or the one ``only``), their logs, the contacts, and every message about them (a reply
        about nothing open, e.g. "no open alert", may be sent again)."""
        incidents = tuple(i for i in self.repo.incidents(limit=1000) if only in (None, i.id))
        messages = tuple(
            (m.id, m.status)
            for m in self.repo.sms_messages(limit=100_000)
            if (m.incident or m.purpose is not SmsPurpose.REPLY) and only in (None, m.incident)
        )
        contacts = tuple(self.repo.contacts())
        steps = tuple(len(self.repo.steps(i.id)) for i in incidents)
        return incidents, messages, steps, contacts

    def open(self, finding: Finding) -> None:
        incident = self.engine.open_from_finding(finding, self.now)
        assert incident is not None, "a finding nobody is told of"
        if incident.next_due_at is not None:
            self.must_reach.setdefault(incident.id, incident.next_due_at)
        self.deliver()

    # -- rules -------------------------------------------------------------------------------------
    @rule(kind=st.sampled_from([FindingKind.INACTIVITY, FindingKind.HELP_BUTTON, FindingKind.MISSED_WAKEUP]))
    def new_episode(self, kind: FindingKind) -> None:
        self.episodes += 1
        at = self.now if kind is FindingKind.HELP_BUTTON else self.last_activity
        episode = (
            f"button:{int(at.timestamp())}" if kind is FindingKind.HELP_BUTTON else f"quiet:{self.episodes}"
        )
        self.open(
            Finding(HOME, kind, Severity.URGENT, self.now, episode, at, Explanation(kind.value, {}), None)
        )

    @rule(device=st.sampled_from(["motion-1", "door-1"]))
    def low_battery(self, device: str) -> None:
        self.episodes += 1
        finding = Finding(
            HOME,
            FindingKind.LOW_BATTERY,
            Severity.INFO,
            self.now,
            f"battery:{device}:{self.episodes}",
            None,
            Explanation("low_battery", {"device": device, "pct": 10}),
            device,
        )
        self.open(finding)

    @rule(person=st.sampled_from(PEOPLE), text=ANSWERS, coded=st.booleans(), data=st.data())
    def answer(self, person: str, text: str, coded: bool, data: st.DataObject) -> None:
        """An SMS from a contact or the resident (through the reply desk), then the same again: once as
        a Twilio retry (same MessageSid), once typed again."""
        open_ = self.incidents(open_only=True)
        if coded and open_:
            text = f"{reply_code(data.draw(st.sampled_from(open_)).id)} {text}"
        self.engine.process_due(self.now)  # what the scheduler has done by now
        self.sids += 1
        sid = f"SM{self.sids}"
        answered = self.desk.handle_reply(PHONES[person], text, self.now, sid).incident
        self.deliver()
        if normalize(text) in {"stop", "停止"}:
            self.opted.setdefault(person, self.last_message_id())
        elif normalize(text) in {"start", "再開"}:
            self.opted.pop(person, None)
        before = self.state_of_things()
        self.desk.handle_reply(PHONES[person], text, self.now, sid)  # Twilio retried the webhook
        self.deliver()
        assert self.state_of_things() == before, "a webhook retry changed something"
        # pressed send twice: nothing changes on the incident it was taken for (without a code, a second
        # "I'm fine" from the resident may be taken for her other open incident, and say so)
        before = self.state_of_things(answered)
        self.sids += 1
        self.desk.handle_reply(PHONES[person], text, self.now, f"SM{self.sids}")
        self.deliver()
        assert self.state_of_things(answered) == before, "a repeated answer changed something"

    @rule(
        data=st.data(),
        outcome=st.sampled_from(list(Outcome)),
        claimer=st.booleans(),
        note=st.text(max_size=20),
    )
    def close(self, data: st.DataObject, outcome: Outcome, claimer: bool, note: str) -> None:
        incidents = self.incidents()
        if not incidents:
            return
        incident = data.draw(st.sampled_from(incidents))
        if claimer:  # the claimer reports an outcome on the one-tap page or by SMS: the machine decides
            event = Close(outcome, CLAIMER, incident.claimed_by)
            self.engine.apply(incident.id, event, self.now, actor=f"contact:{incident.claimed_by}")
        else:
            closed = StaffCommands(self.repo, (OPERATOR,)).close(
                incident.id, outcome, note, "staff:sato", self.now
            )
            assert closed.incident is not None
        self.deliver()

    @rule(minutes=st.sampled_from([1, 7, 16, 40]))
    def activity(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.last_activity = self.now
        live = HouseholdActivity(HOME, self.now, "motion-1", self.now)
        self.engine.on_live_state([live], self.now)
        self.deliver()

    @rule(device=st.sampled_from(["motion-1", "door-1"]))
    def battery_replaced(self, device: str) -> None:
        live = HouseholdActivity(HOME, self.last_activity, "motion-1", self.now)
        state = DeviceState(HOME, device, Kind.MOTION, self.now, 1.0, 100.0)
        self.engine.on_live_state([live], self.now, {HOME: [state]})
        self.deliver()

    @rule(minutes=st.sampled_from([1, 5, 11, 31, 46, 120]))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.engine.process_due(self.now)
        self.engine.delivery.check_overdue(self.now)  # what the sweep does: alerts never reported delivered
        self.deliver()

    @rule(
        data=st.data(), status=st.sampled_from([SmsStatus.DELIVERED, SmsStatus.UNDELIVERED, SmsStatus.FAILED])
    )
    def provider_reports(self, data: st.DataObject, status: SmsStatus) -> None:
        """A status callback for a sent alert (a call not answered, an SMS undelivered, ...), twice."""
        sent = [
            m for m in self.repo.sms_messages(limit=100_000) if m.status is SmsStatus.SENT and m.provider_sid
        ]
        if not sent:
            return
        m = data.draw(st.sampled_from(sent))
        assert m.provider_sid is not None
        permanent = status is SmsStatus.FAILED
        self.engine.delivery.record_delivery(
            m.provider_sid, status, status.value, None, "test", self.now, permanent=permanent
        )
        self.deliver()
        before = self.state_of_things()
        self.engine.delivery.record_delivery(
            m.provider_sid, status, status.value, None, "test", self.now, permanent=permanent
        )
        self.deliver()
        assert self.state_of_things() == before, "a repeated status callback changed something"

    @rule()
    def restart(self) -> None:
        self.repo.close()
        self.repo = EscalationRepository(self.path)
        self.repo.open()
        self.engine = self._engine()
        self.desk = ReplyDesk(self.engine, self.repo)
        self.engine.process_due(self.now)
        self.deliver()

    # -- invariants ----------------------------------------------------------------------------------
    @invariant()
    def every_open_incident_has_a_next_step_or_told_the_operators(self) -> None:
        for i in self.incidents(open_only=True):
            told = any(s.kind is StepKind.OPERATORS_TOLD for s in self.repo.steps(i.id))
            assert i.next_due_at is not None or told, (i.id, i.state)

    @invariant()
    def a_new_episode_reaches_someone(self) -> None:
        for incident_id, due in list(self.must_reach.items()):
            if due > self.now:
                continue
            sent = [m for m in self.repo.sms_messages(incident=incident_id) if m.provider_sid]
            incident = self.repo.incident(incident_id)
            assert incident is not None
            reached = any(m.purpose in ALERTS for m in sent)
            # closed before its first wave (superseded by a newer one, or closed by staff): told elsewhere
            assert reached or incident.state is IncidentState.RESOLVED, incident_id
            del self.must_reach[incident_id]

    @invariant()
    def nobody_gets_the_same_message_twice_in_a_row(self) -> None:
        last: dict[tuple[str | None, str], str] = {}
        for m in self.repo.sms_messages(limit=100_000):
            if m.provider_sid is None or m.incident is None:
                continue  # an answer to a message about nothing open ("no open alert") may repeat
            key = (m.incident, m.to)
            assert last.get(key) != m.body, (m.to, m.body)
            last[key] = m.body

    @invariant()
    def nobody_gets_the_same_alert_twice_across_channels(self) -> None:
        """One alert (its key; a fallback adds ``|channel``) is live on one channel at a time."""
        live: dict[str, list[ContactChannel]] = {}
        for m in self.repo.sms_messages(limit=100_000):
            if m.purpose is not SmsPurpose.ALERT:
                continue
            if m.status in (SmsStatus.QUEUED, SmsStatus.SENDING, SmsStatus.SENT, SmsStatus.DELIVERED):
                live.setdefault(m.idempotency_key.split("|")[0], []).append(m.channel)
        assert all(len(c) == 1 for c in live.values()), {k: c for k, c in live.items() if len(c) > 1}

    @invariant()
    def a_failed_channel_always_falls_back(self) -> None:
        messages = self.repo.sms_messages(limit=100_000)
        for m in messages:
            if m.purpose is not SmsPurpose.ALERT or m.status not in (SmsStatus.FAILED, SmsStatus.UNDELIVERED):
                continue
            incident = self.repo.incident(m.incident or "")
            assert incident is not None
            later = any(o.id > m.id and (o.incident, o.contact) == (m.incident, m.contact) for o in messages)
            failed = any(
                s.kind is StepKind.DELIVERY_FAILED and s.contact == m.contact
                for s in self.repo.steps(incident.id)
            )
            closed = incident.resolved_at is not None and incident.resolved_at <= m.updated_at  # type: ignore[operator]
            assert later or failed or closed, (m.contact, m.channel, m.status, incident.state)

    @invariant()
    def nobody_is_alerted_about_a_closed_incident(self) -> None:
        for i in self.incidents():
            if i.state is not IncidentState.RESOLVED:
                continue
            assert i.resolved_at is not None
            for m in self.repo.sms_messages(incident=i.id):
                late = m.created_at > i.resolved_at and m.purpose in ALERTS
                assert not (late and m.provider_sid is not None), (i.id, m.to, m.body)

    @invariant()
    def only_an_opt_out_opts_out_and_the_opted_out_hear_nothing(self) -> None:
        contacts = {c.id: c for c in self.repo.contacts()}
        assert {c for c, v in contacts.items() if v.opted_out_at is not None} == set(self.opted)
        for m in self.repo.sms_messages(limit=100_000):
            last = self.opted.get(m.contact or "")
            if last is not None and m.provider_sid is not None:
                assert m.id <= last, (m.contact, m.body)


EscalationModel.TestCase.settings = SETTINGS
TestEscalationModel = EscalationModel.TestCase
