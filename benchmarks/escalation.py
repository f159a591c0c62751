"""Escalation speed: opening incidents and sending SMS, each against a baseline in the same run.

    .venv/bin/python benchmarks/escalation.py [--households 2000] [--messages 300]

1. Opening: ``--households`` homes with a three-tier policy; one finding each goes through
   ``EscalationEngine.open_from_finding`` (snapshot, incident, log, first wave queued, audit) on a real
   SQLite state file. Baseline: the same number of bare ``INSERT``s of an incident row, one
   transaction each, into the same kind of file.
2. Sending: ``--messages`` queued SMS are sent by the dispatcher through the real twilio library to the
   local Twilio-compatible server. Baseline: the same number of bare aiohttp POSTs to that server.
3. Outage: every home goes blind at once; the SMS count must be 1 (the operators).

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks")]

from detection.findings import Explanation, Finding, FindingKind, Severity  # noqa: E402
from escalation.engine import EscalationEngine  # noqa: E402
from escalation.engine_settings import EngineSettings  # noqa: E402
from escalation.models import SmsPurpose, SnapshotContact  # noqa: E402
from escalation.repository import EscalationRepository  # noqa: E402
from escalation.sms.dispatch import DispatchSettings, SmsDispatcher  # noqa: E402
from escalation.sms.notifier import SmsNotifier  # noqa: E402
from escalation.sms.twilio_sender import TwilioSender  # noqa: E402
from mimamori.clock import FakeClock  # noqa: E402
from registry.households_import import import_data  # noqa: E402
from registry.models import ContactRole, Language  # noqa: E402
from tests.support.twilio_fake_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio  # noqa: E402

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def town(homes: int) -> dict[str, Any]:
    contacts: list[dict[str, Any]] = [
        {"id": "t", "name": "技術", "phone": "+819000000999", "role": "technical"}
    ]
    households = []
    for n in range(homes):
        ids = [f"n{n}", f"v{n % 50}", "p"]
        contacts.append({"id": ids[0], "name": f"隣人{n}", "phone": f"+8170{n:08d}", "role": "neighbour"})
        households.append(
            {
                "id": f"h{n:05d}",
                "name": f"住人{n}",
                "address_hint": "桜町",
                "policy": {
                    "tiers": [
                        {"kind": "neighbours", "contacts": [ids[0]]},
                        {"kind": "volunteers", "contacts": [ids[1]]},
                        {"kind": "professionals", "contacts": ["p"]},
                    ],
                    "technical": ["t"],
                },
            }
        )
    contacts += [
        {"id": f"v{n}", "name": f"V{n}", "phone": f"+8180{n:08d}", "role": "volunteer"} for n in range(50)
    ]
    contacts.append({"id": "p", "name": "包括", "phone": "+819000000888", "role": "professional"})
    return {"contacts": contacts, "households": households}


def finding(household: str, kind: FindingKind = FindingKind.INACTIVITY) -> Finding:
    return Finding(household, kind, Severity.URGENT, NOW, f"{household}:{kind}", NOW - timedelta(hours=3),
                   Explanation("inactivity", {"since": "07:10"}))  # fmt: skip


def bench_open(tmp: Path, homes: int) -> dict[str, float]:
    repo = EscalationRepository(tmp / "state.sqlite3")
    repo.open()
    import_data(repo, town(homes), NOW)
    ops = (SnapshotContact("op", "op", "+819099990000", ContactRole.TECHNICAL, Language.JA),)
    engine = EscalationEngine(repo, EngineSettings("https://m.example.jp", b"k" * 32, operators=ops))
    started = time.perf_counter()
    for n in range(homes):
        engine.open_from_finding(finding(f"h{n:05d}"), NOW)
    opened = time.perf_counter() - started

    base = sqlite3.connect(tmp / "baseline.sqlite3", isolation_level=None)
    base.execute("PRAGMA journal_mode=WAL")
    base.execute("PRAGMA synchronous=NORMAL")
    base.execute("CREATE TABLE incidents (id TEXT PRIMARY KEY, household TEXT, kind TEXT, snapshot TEXT)")
    started = time.perf_counter()
    for n in range(homes):
        base.execute("BEGIN IMMEDIATE")
        base.execute("INSERT INTO incidents VALUES (?, ?, ?, ?)", (f"i{n}", f"h{n:05d}", "inactivity", "{}"))
        base.execute("COMMIT")
    baseline = time.perf_counter() - started
    base.close()

    queued = len(repo.sms_messages(limit=homes * 2))
    # the outage: every home blind at once, after the hold
    started = time.perf_counter()
    for n in range(homes):
        engine.open_from_finding(finding(f"h{n:05d}", FindingKind.BLIND_GATEWAY), NOW)
    engine.process_due(NOW + timedelta(minutes=5))
    outage_s = time.perf_counter() - started
    outage_sms = len(repo.sms_messages(limit=homes * 3)) - queued
    repo.close()
    return {
        "open_per_s": homes / opened,
        "baseline_insert_per_s": homes / baseline,
        "open_vs_baseline": baseline / opened,
        "alerts_queued": queued,
        "outage_homes": homes,
        "outage_s": outage_s,
        "outage_sms": outage_sms,
    }


async def bench_send(tmp: Path, messages: int) -> dict[str, float]:
    twilio = FakeTwilio()
    await twilio.start()
    repo = EscalationRepository(tmp / "send.sqlite3")
    repo.open()
    for n in range(messages):
        body = f"【見守り】テスト{n}"
        repo.enqueue_sms(
            key=f"k{n}", to=f"+8170{n:08d}", body=body, purpose=SmsPurpose.ALERT, urgent=n % 2 == 0, now=NOW
        )
    sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, from_number="+815000000000", base_url=twilio.base_url)
    dispatcher = SmsDispatcher(
        repo, [SmsNotifier(sender)], FakeClock(NOW), DispatchSettings(rate_per_s=1e6), lambda *_: None
    )
    await sender.start()
    started = time.perf_counter()
    sent = await dispatcher.run_due()
    dispatched = time.perf_counter() - started
    await sender.stop()

    url = f"{twilio.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        for n in range(messages):
            async with session.post(url, data={"To": f"+8171{n:08d}", "Body": "x"}, auth=auth) as resp:
                await resp.read()
        baseline = time.perf_counter() - started
    await twilio.stop()
    repo.close()
    return {
        "sms_sent": sent,
        "sms_per_s": messages / dispatched,
        "baseline_post_per_s": messages / baseline,
        "send_vs_baseline": baseline / dispatched,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {"households": args.households, "messages": args.messages}
        result |= bench_open(Path(tmp), args.households)
        result |= asyncio.run(bench_send(Path(tmp), args.messages))
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
