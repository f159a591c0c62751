"""System faults on the alert path, with real processes: a simulated fall in a store with two weeks of
history, ``mimamori households import`` and ``mimamori alerts`` (subprocesses reading "now" from a
clock file), the real twilio library against the local Twilio-compatible server. Twilio answers 500
for a while, then the alerts process is SIGKILLed mid-escalation and restarted: every person gets each
message exactly once, the next tier fires on time, and a home whose gateway is offline is reported
blind to the technical contact only, never as inactivity."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.mosquitto import free_port
from detection.findings import AUDIENCE, Audience
from escalation.models import IncidentState
from escalation.repository import EscalationRepository
from firmware_sim.homes import SimHome
from firmware_sim.scenarios import Scenario, ScenarioKind
from firmware_sim.simulate import build_homes
from mimamori import contract
from store.base import IngestBatch
from store.sqlite import SqliteEventStore
from tests.support.escalation_harness import until
from tests.support.processes import MimamoriProcess, run_once
from tests.support.twilio_fake_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

pytestmark = pytest.mark.integration

TOKYO = ZoneInfo("Asia/Tokyo")
FIRST_DAY = date(2026, 11, 2)
FALL = datetime(2026, 11, 16, 10, 30, tzinfo=TOKYO)  # after 14 days of history
CUT = datetime(2026, 11, 16, 9, 0, tzinfo=TOKYO)  # esc-c's gateway goes offline
HOMES = ("esc-a", "esc-b", "esc-c")
NEIGHBOURS = {"esc-a": ("+819000001001", "+819000001002"), "esc-b": ("+819000001011", "+819000001012")}
NEIGHBOURS["esc-c"] = ("+819000001021", "+819000001022")
VOLUNTEERS = ("+819000002001", "+819000002002")
TECHNICAL = "+819000003001"


def households_file(tmp: Path) -> Path:
    contacts = [
        {"id": f"n-{h}-{i}", "name": f"近所{i}", "phone": p, "role": "neighbour"}
        for h, phones in NEIGHBOURS.items()
        for i, p in enumerate(phones)
    ]
    contacts += [
        {"id": f"v-{i}", "name": f"ボランティア{i}", "phone": p, "role": "volunteer"}
        for i, p in enumerate(VOLUNTEERS)
    ]
    contacts += [
        {"id": "p-1", "name": "センター", "phone": "+819000004001", "role": "professional"},
        {"id": "t-1", "name": "技術", "phone": TECHNICAL, "role": "technical"},
    ]
    households = [
        {
            "id": h,
            "name": f"利用者{h[-1]}",
            "policy": {
                "tiers": [
                    {"kind": "neighbours", "contacts": [f"n-{h}-0", f"n-{h}-1"], "wait_minutes": 15},
                    {"kind": "volunteers", "contacts": ["v-0", "v-1"], "wait_minutes": 20},
                    {"kind": "professionals", "contacts": ["p-1"], "wait_minutes": 30},
                ],
                "technical": ["t-1"],
            },
        }
        for h in HOMES
    ]
    path = tmp / "households.json"  # YAML is a superset of JSON
    path.write_text(json.dumps({"contacts": contacts, "households": households}, ensure_ascii=False))
    return path


class Town:
    """The store the alerts process reads, fed as simulated time passes (what ingest would write)."""

    def __init__(self, store_path: Path) -> None:
        self.store = SqliteEventStore(store_path)
        self.homes: list[SimHome] = build_homes(
            list(HOMES), seed=5, start=FIRST_DAY, scenarios=[Scenario("esc-a", ScenarioKind.FALL, FALL)]
        )
        self.fed = datetime.combine(FIRST_DAY, datetime.min.time(), TOKYO)

    def feed(self, until: datetime) -> None:
        """Every report up to ``until``; esc-c's gateway is offline from CUT (its outbox keeps them)."""
        events: list[contract.Event] = []
        for home in self.homes:
            hi = min(until, CUT) if home.household == "esc-c" else until
            if hi > self.fed:
                events += [e.envelope("gw-1", 0) for e in home.events_between(self.fed, hi)]
        statuses = []
        if self.fed <= CUT < until:
            statuses.append(contract.GatewayStatus("esc-c", "gw-1", contract.GatewayState.OFFLINE, CUT))
        if self.fed == datetime.combine(FIRST_DAY, datetime.min.time(), TOKYO):
            statuses += [
                contract.GatewayStatus(h, "gw-1", contract.GatewayState.ONLINE, self.fed) for h in HOMES
            ]
            statuses.sort(key=lambda s: s.state != contract.GatewayState.ONLINE)
        beats = [contract.Heartbeat(h, "gw-1", until, 1, 0) for h in ("esc-a", "esc-b")]
        for lo in range(0, max(len(events), 1), 5000):
            self.store.commit_batch(
                IngestBatch(
                    received_at=until,
                    events=events[lo : lo + 5000],
                    statuses=statuses if lo == 0 else (),
                    heartbeats=beats if lo == 0 else (),
                )
            )
        self.fed = until


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    server = FakeTwilio()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_twilio_outage_and_sigkill_mid_escalation_send_everything_once(
    tmp_path: Path, twilio: FakeTwilio
) -> None:
    clock_file = tmp_path / "now"
    config = tmp_path / "alerts.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[store]\nsqlite_path = "{tmp_path / "events.sqlite3"}"\n'
        f'[alerts]\nstate_path = "{tmp_path / "state.sqlite3"}"\nhttp_port = {free_port()}\n'
        f'sms_backend = "twilio"\ntick_s = 0.2\nsweep_s = 0.05\nclock_file = "{clock_file}"\n'
        'operators = ["+819000009000"]\n'
        f'[twilio]\nfrom_number = "+815000000000"\napi_base_url = "{twilio.base_url}"\ntimeout_s = 2\n'
        "rate_per_s = 100\nbackoff_base_s = 30\n"
    )
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "MIMAMORI_LINK_SECRET": "s3cret",
    }
    town = Town(tmp_path / "events.sqlite3")
    town.store.open()

    def at(when: datetime) -> None:
        town.feed(when)
        staged = clock_file.with_suffix(".next")
        staged.write_text(when.astimezone(UTC).isoformat())
        staged.replace(clock_file)  # atomic: the process never reads a half-written time

    imported = run_once("households", "import", str(households_file(tmp_path)), "--config", str(config))
    assert imported.returncode == 0, imported.stderr

    at(FALL + timedelta(minutes=30))
    alerts = MimamoriProcess("alerts", "alerts", "--config", str(config), env=env)
    await alerts.start("alerts.started")
    try:
        # Twilio is down: the first three sends get 500; each retry waits 30 s of (injected) time.
        twilio.faults.fail_next, twilio.faults.fail_status = 3, 500
        t1 = FALL + timedelta(hours=5)  # well past any learned daytime threshold
        at(t1)
        failures = lambda: sum(r.outcome == "500" for r in twilio.requests)  # noqa: E731
        for seen in (1, 2, 3):
            await until(twilio, lambda seen=seen: failures() >= seen, 60)
            t1 += timedelta(seconds=31)
            at(t1)
        await alerts.wait_for(lambda: any("kind=blind_gateway" in line for line in alerts.lines))
        at(t1 + timedelta(minutes=6))  # past the hold before a blind home's technical notice
        await until(twilio, lambda: all(twilio.created(p) for p in (*NEIGHBOURS["esc-a"], TECHNICAL)), 60)

        # The alerts process dies mid-escalation and comes back just before the volunteers' turn.
        await alerts.kill()
        repo = EscalationRepository(tmp_path / "state.sqlite3")
        repo.open()
        fall_incident = next(i for i in repo.incidents("esc-a") if AUDIENCE[i.kind] is Audience.COMMUNITY)
        assert fall_incident.next_due_at is not None
        at(fall_incident.next_due_at - timedelta(minutes=1))
        await alerts.start("alerts.started")
        at(fall_incident.next_due_at)
        await until(twilio, lambda: all(twilio.created(p) for p in VOLUNTEERS), 60)
        await alerts.wait_for(lambda: sum("sms.sent" in line for line in alerts.lines) >= 2)
    finally:
        await alerts.kill()
        town.store.close()

    for phone in (*NEIGHBOURS["esc-a"], *VOLUNTEERS, TECHNICAL):
        assert len(twilio.created(phone)) == 1, phone  # nothing repeated, nothing lost to the 500s
    for phone in (*NEIGHBOURS["esc-b"], *NEIGHBOURS["esc-c"]):
        assert twilio.created(phone) == [], phone  # the blind home's neighbours are never told
    incident = repo.incident(fall_incident.id)
    assert incident is not None
    assert incident.state is IncidentState.NOTIFYING
    volunteer_sms = [m for m in repo.sms_messages(incident=incident.id) if m.to in VOLUNTEERS]
    assert {m.created_at for m in volunteer_sms} == {fall_incident.next_due_at}  # on time
    blind = repo.incidents("esc-c")
    assert blind, "the offline gateway was not reported"
    assert {AUDIENCE[i.kind] for i in blind} == {Audience.TECHNICAL}
    assert "blind_gateway" in {i.kind for i in blind}
    repo.close()
