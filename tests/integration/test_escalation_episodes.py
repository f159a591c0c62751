"""End to end through the real alerts service: sensor reports over a real mosquitto into the real ingest
and SQLite store (which the service polls for activity and device state), the real twilio library
against the local Twilio-compatible server. Findings are handed to the service as the detector would.

The holes of issue 15 these close: a stale incident swallowing the next alarm (1), a chain that runs out
telling nobody (6), escalation going on after the resident is plainly up (7), and technical incidents
per device that close themselves when the fault clears (8).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.mosquitto import MosquittoProcess
from detection.findings import Explanation, Finding, FindingKind, Severity
from escalation.codes import reply_code
from escalation.incident_events import Close
from escalation.models import STAFF, IncidentState, Outcome, SmsPurpose
from escalation.service import AlertsService
from mimamori import contract
from mimamori.clock import FakeClock
from mimamori.config import Config
from mimamori.mqtt import MqttClient
from tests.support.escalation_harness import (
    BROWN,
    CENTER,
    ITO,
    KATO,
    OPERATOR,
    SUZUKI,
    alerts_config,
    fake_twilio,
    import_households,
    reply,
    until,
)
from tests.support.harness import RunningIngest, mqtt_client, running_ingest, wait_for
from tests.support.processes import run_once
from tests.support.twilio_fake_server import FakeTwilio

pytestmark = pytest.mark.integration

HOME = "demo-0001"  # docs/households.example.yaml: neighbours 15 min, volunteers 20, professionals 30
TECH = "+819000000041"
M = timedelta(minutes=1)


@dataclass
class Town:
    """The alerts service with its world: ingest, the store, a sensor publisher and the phones."""

    service: AlertsService
    ingest: RunningIngest
    sensors: MqttClient
    twilio: FakeTwilio
    clock: FakeClock
    config: Config
    seq: int = 0

    async def report(self, device: str, kind: contract.Kind, value: float) -> None:
        """A sensor report at the current time, through the broker into the store."""
        self.seq += 1
        now = self.clock.now()
        event = contract.Event(
            contract.message_id_for(HOME, device, kind, value, now),
            HOME,
            "gw-1",
            device,
            kind,
            value,
            now,
            self.seq,
        )
        await self.sensors.publish(contract.topic(HOME, "gw-1", contract.Channel.EVENTS), event.encode())
        store = self.ingest.store
        await wait_for(lambda: store.count_events(HOME) >= self.seq, self.ingest.service.committed)

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.service.engine.process_due(self.clock.now())

    def to(self, phone: str) -> list[str]:
        return [m.body for m in self.twilio.created(phone)]


@contextlib.asynccontextmanager
async def town(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, group: str
) -> AsyncIterator[Town]:
    async with (
        fake_twilio() as twilio,
        running_ingest(mosquitto, tmp_path / "events.sqlite3", clock, group=group) as ingest,
        mqtt_client(mosquitto) as sensors,
    ):
        config = alerts_config(tmp_path, twilio.base_url, tick_s=0.05)
        import_households(config)
        service = AlertsService(config, clock, activity=ingest.store)
        await service.start()
        try:
            yield Town(service, ingest, sensors, twilio, clock, config)
        finally:
            await service.stop()


def finding(kind: FindingKind, at: datetime, last: datetime | None, device: str | None = None) -> Finding:
    severity = {FindingKind.LOW_BATTERY: Severity.INFO, FindingKind.BLIND_GATEWAY: Severity.WARNING}
    episode = {
        FindingKind.HELP_BUTTON: f"button:{int(at.timestamp())}",
        FindingKind.INACTIVITY: f"quiet:{int((last or at).timestamp())}",
    }.get(kind, f"{kind.value}:{device}:{int(at.timestamp())}")
    params: dict[str, str | int | float] = {"device": device, "pct": 9} if device else {"since": "07:10"}
    return Finding(
        HOME,
        kind,
        severity.get(kind, Severity.URGENT),
        at,
        episode,
        last,
        Explanation(kind.value, params),
        device,
    )


async def test_a_new_press_days_after_a_chain_ran_out_is_never_swallowed(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    """Holes 1 and 6: nobody answers a help press; the chain runs out to the operators; the resident
    is up again; three days later she presses again: a new incident, and everyone is called again."""
    async with town(mosquitto, tmp_path, clock, topic_prefix) as t:
        t.service.open_from_findings([finding(FindingKind.HELP_BUTTON, clock.now(), clock.now())])
        await until(t.twilio, lambda: bool(t.to(SUZUKI) and t.to(KATO)))
        t.advance(15 * M)
        await until(t.twilio, lambda: bool(t.to(ITO) and t.to(BROWN)))
        t.advance(20 * M)
        await until(t.twilio, lambda: bool(t.to(CENTER)))
        assert not t.to(OPERATOR)
        t.advance(30 * M)  # nobody left: the operators are told, once
        await until(t.twilio, lambda: bool(t.to(OPERATOR)))
        (first,) = t.service.repo.incidents(HOME)
        assert first.state is IncidentState.NOTIFYING
        assert first.next_due_at is None

        await t.report("motion-1", contract.Kind.MOTION, 1.0)  # the resident is up: a press never closes
        t.advance(3 * 24 * 60 * M)
        await t.report("motion-1", contract.Kind.MOTION, 1.0)
        t.service.engine.process_due(clock.now())
        assert t.service.repo.incident(first.id) == first

        sent_before = len(t.twilio.created())
        t.service.open_from_findings([finding(FindingKind.HELP_BUTTON, clock.now(), clock.now())])
        await until(t.twilio, lambda: len(t.to(SUZUKI)) >= 3 and len(t.to(KATO)) >= 3)
        second = t.service.repo.incidents(HOME)[0]
        assert second.id != first.id
        assert second.state is IncidentState.NOTIFYING
        old = t.service.repo.incident(first.id)
        assert old is not None
        assert (old.state, old.outcome, old.superseded_by) == (
            IncidentState.RESOLVED,
            Outcome.SUPERSEDED,
            second.id,
        )
        # everyone the old incident texted is told once that it is replaced; the neighbours get the new alert
        await until(t.twilio, lambda: len(t.twilio.created()) >= sent_before + 8)
        new = t.twilio.created()[sent_before:]
        for phone in (SUZUKI, KATO, ITO, BROWN, CENTER, OPERATOR):
            assert sum(m.to == phone and m.body in _superseded(t, first.id) for m in new) == 1, phone
        assert sorted(m.to for m in new if m.body not in _superseded(t, first.id)) == sorted([SUZUKI, KATO])
        # the same press delivered again (a detector restart) opens nothing
        t.service.open_from_findings([finding(FindingKind.HELP_BUTTON, clock.now(), clock.now())])
        assert len(t.service.repo.incidents(HOME)) == 2


def _superseded(t: Town, incident_id: str) -> set[str]:
    messages = t.service.repo.sms_messages(incident=incident_id)
    return {m.body for m in messages if m.purpose is SmsPurpose.SUPERSEDED_NOTICE}


async def test_escalation_stops_when_the_resident_is_plainly_up(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    """Hole 7, as in the demo: the first alert goes out, the resident moves six minutes later: the
    volunteers are never texted, the neighbours are told, and once she keeps moving it closes itself.
    Then a new quiet stretch is a new incident (hole 1 for inactivity)."""
    async with town(mosquitto, tmp_path, clock, topic_prefix) as t:
        quiet_since = clock.now() - 3 * 60 * M
        t.service.open_from_findings([finding(FindingKind.INACTIVITY, clock.now(), quiet_since)])
        await until(t.twilio, lambda: bool(t.to(SUZUKI) and t.to(KATO)))
        t.advance(6 * M)
        await t.report("motion-1", contract.Kind.MOTION, 1.0)
        await until(t.twilio, lambda: len(t.to(SUZUKI)) == 2 and len(t.to(KATO)) == 2)  # told: calls stopped
        (incident,) = t.service.repo.incidents(HOME)
        assert incident.state is IncidentState.RESUMED
        t.advance(14 * M)  # the volunteers' turn was at 15 minutes
        await t.report("kitchen-1", contract.Kind.MOTION, 1.0)  # 14 minutes after the first: not yet
        t.advance(2 * M)
        assert t.to(ITO) == t.to(BROWN) == []
        await t.report("kitchen-1", contract.Kind.POWER, 600.0)  # 16 minutes after: activity goes on
        await until(t.twilio, lambda: len(t.to(SUZUKI)) == 3 and len(t.to(KATO)) == 3)
        closed = t.service.repo.incident(incident.id)
        assert closed is not None
        assert (closed.state, closed.outcome) == (IncidentState.RESOLVED, Outcome.ACTIVITY_RESUMED)
        t.advance(2 * 60 * M)
        assert t.to(ITO) == t.to(BROWN) == t.to(CENTER) == []

        # a neighbour who was texted finds her on the floor after all: 119 reopens it, professionals at once
        assert await reply(t.service, t.config, SUZUKI, "119", "SM119") == 200
        await until(t.twilio, lambda: bool(t.to(CENTER)))
        reopened = t.service.repo.incident(incident.id)
        assert reopened is not None
        assert (reopened.state, reopened.outcome) == (IncidentState.NOTIFYING, None)
        t.service.engine.apply(incident.id, Close(Outcome.HOSPITAL, STAFF), clock.now(), actor="staff:sato")

        # later she is quiet again: a new episode, a new incident, the neighbours called again
        last = clock.now()
        t.advance(3 * 60 * M)
        t.service.open_from_findings([finding(FindingKind.INACTIVITY, clock.now(), last)])
        (again,) = t.service.repo.incidents(HOME, open_only=True)
        assert again.id != incident.id
        code = reply_code(again.id)
        await until(t.twilio, lambda: sum(f"{code}】" in b for p in (SUZUKI, KATO) for b in t.to(p)) == 2)


async def test_technical_incidents_per_device_close_when_the_fault_clears(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    """Hole 8 (technical): a second device's low battery is its own incident; replacing a battery
    closes its incident, telling the technical contact; the other stays open."""
    async with town(mosquitto, tmp_path, clock, topic_prefix) as t:
        await t.report("motion-1", contract.Kind.BATTERY, 9.0)
        await t.report("door-1", contract.Kind.BATTERY, 8.0)
        t.service.open_from_findings([finding(FindingKind.LOW_BATTERY, clock.now(), None, "motion-1")])
        await until(t.twilio, lambda: len(t.to(TECH)) == 1)
        t.advance(M)
        t.service.open_from_findings([finding(FindingKind.LOW_BATTERY, clock.now(), None, "door-1")])
        await until(t.twilio, lambda: len(t.to(TECH)) == 2)  # not dropped while the first is open
        assert "door-1" in t.to(TECH)[1]
        assert {i.device for i in t.service.repo.incidents(HOME, open_only=True)} == {"motion-1", "door-1"}

        t.advance(60 * M)
        await t.report("motion-1", contract.Kind.BATTERY, 100.0)  # replaced
        await until(t.twilio, lambda: len(t.to(TECH)) == 3)
        by_device = {i.device: i for i in t.service.repo.incidents(HOME)}
        assert (by_device["motion-1"].state, by_device["motion-1"].outcome) == (
            IncidentState.RESOLVED,
            Outcome.FAULT_CLEARED,
        )
        assert by_device["door-1"].state is not IncidentState.RESOLVED
        assert not t.to(SUZUKI)  # device faults never reach the neighbours


async def test_the_gateway_back_closes_the_blind_incident(
    mosquitto: MosquittoProcess, tmp_path: Path, clock: FakeClock, topic_prefix: str
) -> None:
    """Hole 8 (technical): the technical contact told the home is blind is told when it is back."""
    async with town(mosquitto, tmp_path, clock, topic_prefix) as t:
        await t.report("motion-1", contract.Kind.MOTION, 1.0)
        t.advance(60 * M)
        t.service.open_from_findings([finding(FindingKind.BLIND_GATEWAY, clock.now(), None)])
        t.advance(5 * M)  # the hold before a blind home's technical notice
        await until(t.twilio, lambda: len(t.to(TECH)) == 1)
        t.advance(30 * M)
        await t.report("checkin-1", contract.Kind.CHECKIN, 0.0)  # the gateway is back
        await until(t.twilio, lambda: len(t.to(TECH)) == 2)
        (incident,) = t.service.repo.incidents(HOME)
        assert (incident.state, incident.outcome) == (IncidentState.RESOLVED, Outcome.FAULT_CLEARED)


def test_alerts_refuses_to_start_without_operators(tmp_path: Path) -> None:
    """Hole 6: with nobody to tell when a chain runs out, ``mimamori alerts`` does not start."""
    config = tmp_path / "alerts.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[alerts]\nstate_path = "{tmp_path / "s.sqlite3"}"\nhttp_port = 0\n'
    )
    done = run_once("alerts", "--config", str(config))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "[alerts] operators" in lines[0]
