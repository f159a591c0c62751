"""``outbox --json`` with channels, ``call-answer``, ``line-code`` and ``line-answer`` as real processes
against an in-process service on the embedded outbox (every channel stored, none sent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from escalation.models import IncidentState
from mimamori.clock import FakeClock
from mimamori.config import load_config
from tests.integration.test_escalation_cli import mimamori, write_config
from tests.support.escalation_harness import finding, import_households, running_alerts

pytestmark = pytest.mark.integration

RESIDENT, NEIGHBOUR, VOLUNTEER = "+819000000001", "+819000000011", "+819000000021"
LINE_USER = "U" + "a" * 32


def town() -> dict[str, Any]:
    return {
        "contacts": [
            {"id": "r-1", "name": "山田花子", "phone": RESIDENT, "role": "resident", "channels": ["voice"]},
            {
                "id": "n-1",
                "name": "鈴木一郎",
                "phone": NEIGHBOUR,
                "role": "neighbour",
                "channels": ["voice", "sms"],
            },
            {
                "id": "v-1",
                "name": "伊藤健",
                "phone": VOLUNTEER,
                "role": "volunteer",
                "channels": ["line", "sms"],
            },
        ],
        "households": [
            {
                "id": "demo-0001",
                "name": "山田花子",
                "policy": {
                    "tiers": [
                        {"kind": "resident_check", "contacts": ["r-1"], "wait_minutes": 5},
                        {"kind": "neighbours", "contacts": ["n-1"]},
                        {"kind": "volunteers", "contacts": ["v-1"]},
                    ]
                },
            }
        ],
    }


async def test_the_outbox_lists_channels_and_a_keypad_answers(tmp_path: Path, clock: FakeClock) -> None:
    path = write_config(tmp_path)
    config = load_config(path, {})
    import_households(config, town())
    async with running_alerts(config, clock) as service:
        service.open_from_findings([finding()])
        await service.dispatcher.run_due()
        code, out, _ = await mimamori("outbox", "--json", "--config", str(path))
        assert code == 0
        (call,) = json.loads(out)
        assert call["channel"] == "voice"
        assert call["to"] == RESIDENT
        assert {"id", "to", "body", "status", "purpose", "urgent", "incident", "contact"} <= set(call)
        code, out, err = await mimamori(
            "call-answer", "--from", NEIGHBOUR, "--digits", "1", "--config", str(path)
        )
        assert code == 1
        assert "no call" in err
        code, out, _ = await mimamori(
            "call-answer", "--from", RESIDENT, "--digits", "1", "--config", str(path)
        )
        assert code == 0, out
        assert "ありがとうございました" in out
        assert service.repo.incidents()[0].state is IncidentState.RESOLVED


async def test_a_volunteer_links_line_by_code_and_taps_go(tmp_path: Path, clock: FakeClock) -> None:
    path = write_config(tmp_path)
    config = load_config(path, {})
    import_households(config, town())
    async with running_alerts(config, clock) as service:
        code, out, _ = await mimamori("line-code", "v-1", "--config", str(path))
        assert code == 0
        one_time = out.split()[0]
        args = ("line-answer", "--user", LINE_USER, "--text", one_time, "--config", str(path))
        assert (await mimamori(*args))[0] == 0
        volunteer = service.repo.contact("v-1")
        assert volunteer is not None
        assert volunteer.line_user == LINE_USER
        incident = service.engine.open_from_finding(finding(), clock.now())
        assert incident is not None
        for _ in range(2):  # nobody answers the resident's call, nor the neighbour's: the volunteer
            assert incident.next_due_at is not None
            clock.set(incident.next_due_at)
            service.engine.advance(incident.id, clock.now())
            incident = service.repo.incident(incident.id)
            assert incident is not None
        await service.dispatcher.run_due()
        code, out, _ = await mimamori("outbox", "--json", "--config", str(path))
        channels = {(m["to"], m["channel"]) for m in json.loads(out) if m["purpose"] == "alert"}
        assert channels == {(RESIDENT, "voice"), (NEIGHBOUR, "voice"), (LINE_USER, "line")}
        args = ("line-answer", "--user", LINE_USER, "--data", "go", "--config", str(path))
        assert (await mimamori(*args))[0] == 0
        claimed = service.repo.incident(incident.id)
        assert claimed is not None
        assert claimed.claimed_by == "v-1"
