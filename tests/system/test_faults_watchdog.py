"""The watchdog against the platform as real processes: mosquitto SIGKILLed, ingest killed, the alerts
process killed, the SMS provider failing. Each time the operators get exactly one outage message and
one recovery message (SMS through the real twilio library, the SMS path by e-mail), and no household is
reported inactive because of it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from app.mosquitto import MosquittoProcess, free_port
from escalation.repository import EscalationRepository
from mimamori.clock import SystemClock
from tests.support.escalation_harness import fake_twilio, until
from tests.support.harness import running_gateway
from tests.support.processes import MimamoriProcess, run_once
from tests.support.smtp_server import Mailbox, smtp_server
from tests.support.twilio_fake_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

pytestmark = pytest.mark.integration

OPERATOR = "+819000009000"
HOME = "wd-home-1"
NEIGHBOUR = "+819000001001"
COMMUNITY = ("inactivity", "missed_wakeup", "long_absence", "night_exit", "evening_quiet")


def write_config(tmp: Path, broker: MosquittoProcess, twilio: FakeTwilio, smtp_port: int) -> Path:
    metrics = free_port()
    sections = {
        "broker": f"port = {broker.port}\nkeepalive_s = 5",
        "store": f'sqlite_path = "{tmp / "events.sqlite3"}"',
        "ingest": f'client_id = "wd-ingest"\nshare_group = "wd"\nmetrics_port = {metrics}',
        "alerts": (
            f'state_path = "{tmp / "state.sqlite3"}"\nhttp_port = {free_port()}\nsms_backend = "twilio"\n'
            f'tick_s = 0.3\nsweep_s = 0.1\noperators = ["{OPERATOR}"]\n'
            f'heartbeat_path = "{tmp / "beats" / "detector"}"'
        ),
        "twilio": (
            f'from_number = "+815000000000"\napi_base_url = "{twilio.base_url}"\ntimeout_s = 2\n'
            "rate_per_s = 100\nbackoff_base_s = 0.2\nbackoff_max_s = 0.5\nmax_attempts = 50"
        ),
        "email": f'enabled = true\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\nsecurity = "none"',
        # the SMS path is judged over 5 s: step 4 need not wait for step 3's texts to leave the window
        "watchdog": (
            f'state_path = "{tmp / "watchdog.sqlite3"}"\ncheck_s = 0.3\nhold_s = 0.9\n'
            "gateway_silence_s = 3\ningest_stall_s = 3\ndetector_stale_s = 3\n"
            f'ingest_metrics_urls = ["http://127.0.0.1:{metrics}/metrics"]\n'
            'sms_window_s = 5\nsms_failures = 3\noperator_emails = ["ops@town.example"]\nmetrics_port = 0'
        ),
    }
    path = tmp / "mimamori.toml"
    body = "".join(f"[{name}]\n{text}\n" for name, text in sections.items())
    path.write_text(f'data_dir = "{tmp}"\n' + body)
    return path


def households_file(tmp: Path) -> Path:
    path = tmp / "households.json"
    contacts = [{"id": "n-1", "name": "近所1", "phone": NEIGHBOUR, "role": "neighbour"}]
    home = {"id": HOME, "name": "利用者1", "policy": {"tiers": [{"kind": "neighbours", "contacts": ["n-1"]}]}}
    path.write_text(json.dumps({"contacts": contacts, "households": [home]}, ensure_ascii=False))
    return path


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with fake_twilio() as server:
        yield server


def operator_texts(twilio: FakeTwilio) -> list[str]:
    return [m.body for m in twilio.created(OPERATOR)]


async def told(twilio: FakeTwilio, count: int, timeout_s: float = 30) -> list[str]:
    await until(twilio, lambda: len(operator_texts(twilio)) >= count, timeout_s)
    return operator_texts(twilio)


def sms_subjects(mailbox: Mailbox) -> list[str]:
    """The e-mails about the SMS path (platform outages are e-mailed too)."""
    return [str(m["Subject"]) for m in mailbox.messages if "SMS" in str(m["Subject"])]


def community_incidents(state: Path) -> list[str]:
    repo = EscalationRepository(state)
    repo.open()
    try:
        return [f"{i.household} {i.kind}" for i in repo.incidents(limit=1000) if i.kind.value in COMMUNITY]
    finally:
        repo.close()


async def test_each_outage_is_told_once_and_its_end_once(
    tmp_path: Path, own_mosquitto: MosquittoProcess, twilio: FakeTwilio
) -> None:
    with smtp_server() as (mailbox, smtp_port):
        config = write_config(tmp_path, own_mosquitto, twilio, smtp_port)
        imported = run_once("households", "import", str(households_file(tmp_path)), "--config", str(config))
        assert imported.returncode == 0, imported.stderr
        env = {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "MIMAMORI_LINK_SECRET": "x",
        }
        ingest = MimamoriProcess("ingest", "ingest", "--config", str(config))
        alerts = MimamoriProcess("alerts", "alerts", "--config", str(config), env=env)
        watchdog = MimamoriProcess("watchdog", "watchdog", "--config", str(config), env=env)
        clock = SystemClock()
        await ingest.start("ingest.ready")
        try:
            gateway = running_gateway(
                own_mosquitto, HOME, tmp_path / "outbox.sqlite3", clock, heartbeat=timedelta(seconds=0.3)
            )
            async with gateway:
                await alerts.start("alerts.started")
                await watchdog.start("watchdog.started")
                try:
                    # 1. the broker dies (SIGKILL) and comes back
                    own_mosquitto.kill()
                    texts = await told(twilio, 1)
                    assert "全ゲートウェイ応答なし" in texts[0]
                    own_mosquitto.start()
                    texts = await told(twilio, 2)
                    assert "復旧" in texts[1]
                    # 2. ingest dies and comes back
                    await ingest.kill()
                    texts = await told(twilio, 3)
                    assert "取り込み停止" in texts[2]
                    await ingest.start("ingest.ready")
                    texts = await told(twilio, 4)
                    assert "復旧" in texts[3]
                    # 3. the alerts process dies and comes back
                    await alerts.kill()
                    texts = await told(twilio, 5)
                    assert "検知停止" in texts[4]
                    await alerts.start("alerts.started")
                    texts = await told(twilio, 6)
                    assert "復旧" in texts[5]
                    # 4. the SMS provider fails: told by e-mail, not by SMS
                    twilio.faults.fail_next, twilio.faults.fail_status = 1000, 500
                    # the neighbour texts with nothing open: answered by SMS (once an hour)
                    for _ in range(2):
                        # in a thread: the gateway runs on this loop and must keep its heartbeat meanwhile
                        reply = await asyncio.to_thread(
                            run_once,
                            "sms-reply",
                            "--from",
                            NEIGHBOUR,
                            "--text",
                            "1",
                            "--config",
                            str(config),
                            env=env,
                        )
                        assert reply.returncode == 0, reply.stderr
                    await watchdog.wait_for(lambda: len(sms_subjects(mailbox)) >= 1, 60)
                    assert "SMS送信失敗" in sms_subjects(mailbox)[0]
                    twilio.faults.fail_next = 0
                    await watchdog.wait_for(lambda: len(sms_subjects(mailbox)) >= 2, 60)
                    assert "復旧" in sms_subjects(mailbox)[1]
                    assert len(sms_subjects(mailbox)) == 2
                    # no storm, and the SMS path was never texted about
                    assert len(operator_texts(twilio)) == 6
                    assert (
                        len(mailbox.messages) == 8
                    )  # the three platform outages by e-mail too, and the SMS path
                finally:
                    await watchdog.terminate()
                    await alerts.terminate()
        finally:
            await ingest.terminate()
    assert community_incidents(tmp_path / "state.sqlite3") == []  # nobody reported inactive
