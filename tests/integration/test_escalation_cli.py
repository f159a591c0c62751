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


async def test_incidents_and_incident_resolve(tmp_path: Path, clock: FakeClock) -> None:
    path = write_config(tmp_path)
    state = tmp_path / "state.sqlite3"
    code, out, err = await mimamori("incidents", "--config", str(path))
    assert (code, out) == (0, "")
    assert "nothing here yet" in err
    code, out, _ = await mimamori("incidents", "--json", "--config", str(path))
    assert (code, json.loads(out)) == (0, [])
    code, _, err = await mimamori("incident", "resolve", "x", "--outcome", "safe", "--config", str(path))
    assert code == 1
    assert "nothing here yet" in err
    assert not state.exists()  # reading never creates the state file

    code, _, _ = await mimamori("households", "import", str(EXAMPLE), "--config", str(path))
    assert code == 0
    config = load_config(path, {})
    async with running_alerts(config, clock) as service:
        service.open_from_findings([finding()])
        await service.dispatcher.run_due()
        code, out, _ = await mimamori("incidents", "--open", "--json", "--config", str(path))
        assert code == 0
        [row] = json.loads(out)
        assert {
            "id",
            "household",
            "kind",
            "state",
            "claimed_by",
            "outcome",
            "opened_at",
            "resolved_at",
        } <= set(row)
        assert (row["household"], row["kind"], row["state"], row["outcome"]) == (
            "demo-0001",
            "inactivity",
            "notifying",
            None,
        )
        code, out, _ = await mimamori("incidents", "--config", str(path))
        assert row["id"] in out
        assert "notifying" in out
        assert "JST / -" in out  # shown in the household's time zone; still open

        code, _, err = await mimamori(
            "incident", "resolve", row["id"], "--outcome", "activity_resumed", "--config", str(path)
        )
        assert code == 2  # not an outcome staff may set
        assert "invalid choice" in err
        code, _, err = await mimamori(
            "incident", "resolve", "nope", "--outcome", "safe", "--config", str(path)
        )
        assert code == 1
        assert "no incident nope" in err

        code, out, _ = await mimamori(
            "incident", "resolve", row["id"], "--outcome", "no_answer_at_door",
            "--note", "留守。ケアマネが家族に連絡", "--by", "sato", "--config", str(path),
        )  # fmt: skip
        assert code == 0
        assert f"closed {row['id']} as no_answer_at_door" in out
        incident = service.repo.incident(row["id"])
        assert incident is not None
        assert incident.state is IncidentState.RESOLVED
        assert (incident.note, incident.resolved_by) == ("留守。ケアマネが家族に連絡", "cli:sato")
        notices = [m for m in service.repo.sms_messages() if m.purpose.value == "resolved_notice"]
        assert {m.to for m in notices} == {"+819000000011", "+819000000012"}

        code, _, err = await mimamori(
            "incident", "resolve", row["id"], "--outcome", "safe", "--config", str(path)
        )
        assert code == 1
        assert "already closed" in err
        code, out, _ = await mimamori("incidents", "--open", "--json", "--config", str(path))
        assert json.loads(out) == []
        code, out, _ = await mimamori("incidents", "--json", "--config", str(path))
        [closed] = json.loads(out)
        assert (closed["outcome"], closed["resolved_at"] is not None) == ("no_answer_at_door", True)
