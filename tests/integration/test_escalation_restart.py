"""``python -m mimamori alerts`` killed with SIGKILL mid-escalation and started again: the next tier
fires on time and nothing already sent is sent again. The process reads "now" from a clock file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.models import IncidentState
from escalation.repository import EscalationRepository
from mimamori.config import load_config
from tests.conftest import FIXED_NOW
from tests.support.escalation_harness import (
    BROWN,
    ITO,
    KATO,
    SUZUKI,
    fake_twilio,
    finding,
    import_households,
    until,
)
from tests.support.harness import wait_for
from tests.support.twilio_fake_server import ACCOUNT_SID, AUTH_TOKEN

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


class AlertsProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.logged = asyncio.Condition()

    async def read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.lines.append(line.decode(errors="replace").rstrip())
            async with self.logged:
                self.logged.notify_all()
        async with self.logged:
            self.logged.notify_all()

    def saw(self, text: str) -> int:
        return sum(text in line for line in self.lines)


@contextlib.asynccontextmanager
async def alerts_process(config: Path) -> AsyncIterator[AlertsProcess]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "MIMAMORI_LINK_SECRET": "test-link-secret",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mimamori", "alerts", "--config", str(config),
        cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    running = AlertsProcess(proc)
    reader = asyncio.create_task(running.read_stderr())
    try:
        await wait_for(lambda: running.saw("alerts.started") > 0 or reader.done(), running.logged, 60)
        assert running.saw("alerts.started"), "alerts did not start:\n" + "\n".join(running.lines)
        yield running
    except BaseException:
        print("alerts process stderr:\n" + "\n".join(running.lines))  # shown by pytest on failure
        raise
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        await reader


def set_clock(path: Path, at: datetime) -> None:
    """Move the process's clock: write beside, then rename (the process never reads half a file)."""
    staged = path.with_suffix(".new")
    staged.write_text(at.isoformat(), encoding="utf-8")
    os.replace(staged, path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp: Path, twilio_url: str, clock_file: Path) -> Path:
    path = tmp / "alerts.toml"
    path.write_text(
        f"""
data_dir = "{tmp}"
[store]
sqlite_path = "{tmp / "events.sqlite3"}"
[alerts]
state_path = "{tmp / "state.sqlite3"}"
http_port = {free_port()}
sms_backend = "twilio"
sweep_s = 0.05
clock_file = "{clock_file}"
operators = ["+819000009000"]
[twilio]
from_number = "+815000000000"
api_base_url = "{twilio_url}"
timeout_s = 2
rate_per_s = 100
""",
        encoding="utf-8",
    )
    return path


async def test_sigkill_mid_escalation_resumes_on_time_without_repeats(tmp_path: Path) -> None:
    clock_file = tmp_path / "now"
    set_clock(clock_file, FIXED_NOW)
    async with fake_twilio() as twilio:
        path = write_config(tmp_path, twilio.base_url, clock_file)
        config = load_config(path, {})
        import_households(config)

        # the finding arrives (opened on the shared state file, as the detector job would)
        repo = EscalationRepository(config.alerts.state_path)
        repo.open()
        engine = EscalationEngine(repo, EngineSettings("http://127.0.0.1", b"test-link-secret"))
        opened = engine.open_from_finding(finding(), FIXED_NOW)
        assert opened is not None
        assert opened.next_due_at == FIXED_NOW + timedelta(minutes=15)  # persisted: the volunteers' turn

        async with alerts_process(path) as first:
            await until(twilio, lambda: len(twilio.created()) == 2, 60)
            assert {m.to for m in twilio.created()} == {SUZUKI, KATO}
            set_clock(clock_file, FIXED_NOW + timedelta(minutes=10))
            first.proc.send_signal(signal.SIGKILL)
            assert await first.proc.wait() == -signal.SIGKILL

        set_clock(clock_file, FIXED_NOW + timedelta(minutes=14))
        async with alerts_process(path) as second:
            assert second.saw("rebuilt_jobs=1")
            due = FIXED_NOW + timedelta(minutes=15)
            set_clock(clock_file, due)
            await until(twilio, lambda: len(twilio.created()) == 4, 60)
            assert {m.to for m in twilio.created()[2:]} == {ITO, BROWN}
            await wait_for(lambda: second.saw("sms.sent") >= 2, second.logged, 60)

        for phone in (SUZUKI, KATO, ITO, BROWN):
            assert len(twilio.created(phone)) == 1, phone
        incident = repo.incident(opened.id)
        assert incident is not None
        assert incident.state is IncidentState.NOTIFYING
        assert incident.wave_index == 2
        volunteers = [m for m in repo.sms_messages(incident=opened.id) if m.to in (ITO, BROWN)]
        assert [m.created_at for m in volunteers] == [due, due]  # on time, by the injected clock
        assert len(repo.sms_messages(incident=opened.id)) == 4
        repo.close()
