"""The commands around the alerts service: ``households import``, ``outbox --json`` and ``sms-reply``
as real processes against an in-process service on the embedded outbox."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import pytest

from escalation.models import IncidentState
from mimamori.clock import FakeClock
from mimamori.config import load_config
from tests.support.escalation_harness import EXAMPLE, finding, running_alerts

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


async def mimamori(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mimamori", *args,
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def write_config(tmp: Path) -> Path:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp / "alerts.toml"
    path.write_text(
        f'data_dir = "{tmp}"\n[alerts]\nstate_path = "{tmp / "state.sqlite3"}"\n'
        f'http_port = {port}\nsweep_s = 0.05\noperators = ["+819099990000"]\n',
        encoding="utf-8",
    )
    return path


async def test_import_outbox_and_sms_reply(tmp_path: Path, clock: FakeClock) -> None:
    path = write_config(tmp_path)
    code, out, _ = await mimamori("households", "import", str(EXAMPLE), "--config", str(path))
    assert (code, out.strip()) == (0, "imported 1 households, 7 contacts; rejected 0")
    bad = tmp_path / "bad.yaml"
    bad.write_text("contacts:\n  - {id: x, name: X, phone: '12', role: neighbour}\n", encoding="utf-8")
    code, out, err = await mimamori("households", "import", str(bad), "--config", str(path))
    assert code == 1
    assert "rejected 1" in out
    assert "E.164" in err

    config = load_config(path, {})
    async with running_alerts(config, clock) as service:
        service.open_from_findings([finding()])
        await service.dispatcher.run_due()
        code, out, _ = await mimamori("outbox", "--json", "--config", str(path))
        assert code == 0
        listed = json.loads(out)
        assert {m["to"] for m in listed} == {"+819000000011", "+819000000012"}
        assert all({"to", "body", "status", "created_at"} <= set(m) for m in listed)
        assert {m["status"] for m in listed} == {"sent"}

        code, out, _ = await mimamori(
            "sms-reply", "--from", "+819000000011", "--text", "行きます", "--config", str(path)
        )
        assert (code, out.strip()) == (0, "sent: HTTP 200")
        incident = service.repo.incidents()[0]
        assert incident.state is IncidentState.CLAIMED
        assert incident.claimed_by == "n-suzuki"
