"""Volunteer pool fairness: a simulated month of alerts over a shared pool, through the real engine.

    .venv/bin/python benchmarks/volunteer_fairness.py [--alerts 200] [--volunteers 30] [--seed 1]

One organisation, 50 households whose volunteers tier draws on the pool (``pool: true``,
``pool_size: 2``, one by one), ``--volunteers`` pooled volunteers: a third of them on duty only on
weekdays 09:00-17:00, two resting for the first week, everyone capped at 3 alerts a week. ``--alerts``
findings fall at seeded random moments of December 2026 (Tokyo) and go through
``EscalationEngine.open_from_finding`` on a real SQLite state file; the first volunteer alerted answers
by SMS through the reply desk: "2" (can't) one time in four, so the next in the rotation is asked, else
"1" then "3" (went, safe). Measured: alerts per volunteer (min, max, standard deviation), overall and
for the volunteers on duty at all hours; weekly caps exceeded; alerts to anyone off duty or resting
(must be 0). Baseline in the same run: the same alerts given to a volunteer drawn at random among those
on duty (no rotation, no caps).

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks")]

from detection.findings import Explanation, Finding, FindingKind, Severity  # noqa: E402
from escalation.engine import EscalationEngine  # noqa: E402
from escalation.engine_settings import EngineSettings  # noqa: E402
from escalation.models import SmsPurpose  # noqa: E402
from escalation.replies import ReplyDesk  # noqa: E402
from escalation.repository import EscalationRepository  # noqa: E402
from registry.households_import import import_data  # noqa: E402
from registry.volunteers import askable  # noqa: E402

START = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 2026-12-01 00:00 in Tokyo
DAYS = 31
HOMES = 50
TZ = "Asia/Tokyo"
WEEKDAYS_9_17 = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}]


def phone(n: int) -> str:
    return f"+8190{n:08d}"


def town(volunteers: int) -> dict[str, Any]:
    contacts: list[dict[str, Any]] = []
    for n in range(volunteers):
        v: dict[str, Any] = {"id": f"v{n:02d}", "name": f"V{n:02d}", "phone": phone(n), "role": "volunteer"}
        v["pools"] = ["town"]
        if n % 3 == 2:
            v["availability"] = WEEKDAYS_9_17
        if n in (0, 1):
            v["resting_until"] = "2026-12-07"
        contacts.append(v)
    contacts.append({"id": "pro", "name": "Centre", "phone": phone(9999), "role": "professional"})
    households = [
        {
            "id": f"h{n:02d}",
            "name": f"H{n:02d}",
            "organisation": "town",
            "policy": {
                "tiers": [
                    {
                        "kind": "volunteers",
                        "pool": True,
                        "pool_size": 2,
                        "mode": "one_by_one",
                        "wait_minutes": 15,
                    },
                    {"kind": "professionals", "contacts": ["pro"]},
                ],
                "volunteer_weekly_cap": 3,
            },
        }
        for n in range(HOMES)
    ]
    return {"organisations": [{"id": "town", "name": "Town"}], "contacts": contacts, "households": households}


def spread(counts: list[int]) -> dict[str, float]:
    return {
        "min": min(counts),
        "max": max(counts),
        "mean": round(statistics.fmean(counts), 2),
        "stddev": round(statistics.pstdev(counts), 2),
    }


def run(alerts: int, volunteers: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    moments = sorted(START + timedelta(seconds=rng.uniform(0, DAYS * 86400)) for _ in range(alerts))
    with tempfile.TemporaryDirectory() as tmp:
        repo = EscalationRepository(Path(tmp) / "state.sqlite3")
        repo.open()
        report = import_data(repo, town(volunteers), START)
        assert not report.rejected, report.rejected
        engine = EscalationEngine(repo, EngineSettings("http://localhost", b"k" * 32, time_zone=TZ))
        desk = ReplyDesk(engine, repo)
        ids = [f"v{n:02d}" for n in range(volunteers)]
        windows = repo.availability(ids)
        rests = {c: until for c, until in repo.resting(ids, START).items()}
        off_duty = 0
        baseline: Counter[str] = Counter()
        for n, at in enumerate(moments):
            home = f"h{n % HOMES:02d}"
            finding = Finding(
                home,
                FindingKind.INACTIVITY,
                Severity.URGENT,
                at,
                f"quiet:{n}",
                at - timedelta(hours=3),
                Explanation("inactivity", {"since": "07:10"}),
            )
            incident = engine.open_from_finding(finding, at)
            assert incident is not None
            on_duty = [v for v in ids if askable(windows.get(v, ()), rests.get(v), at, TZ)]
            baseline[rng.choice(on_duty)] += 1
            first = _alerted(repo, incident.id)
            if first and first[0] in ids and rng.random() < 0.25:  # can't: the next in the chain is asked
                desk.handle_reply(phone(int(first[0][1:])), "2", at + timedelta(minutes=3))
            alerted = _alerted(repo, incident.id)
            off_duty += sum(1 for v in alerted if v in ids and v not in on_duty)
            goes = alerted[-1]
            if goes in ids:
                desk.handle_reply(phone(int(goes[1:])), "1", at + timedelta(minutes=5))
                desk.handle_reply(phone(int(goes[1:])), "3", at + timedelta(minutes=40))
            else:
                repo.cancel_queued_sms(incident.id, at)  # the professionals took it
        per: Counter[str] = Counter()
        weekly: Counter[tuple[str, int]] = Counter()
        for m in repo.sms_messages(limit=1_000_000):
            if m.purpose is SmsPurpose.ALERT and m.contact in ids:
                per[m.contact] += 1
                weekly[(m.contact, (m.created_at - START).days // 7)] += 1
        repo.close()
    everyone = [per[v] for v in ids]
    all_hours = [per[v] for n, v in enumerate(ids) if n % 3 != 2 and n not in (0, 1)]
    weekdays = [per[v] for n, v in enumerate(ids) if n % 3 == 2]
    return {
        "alerts": alerts,
        "volunteers": volunteers,
        "volunteer_alerts": sum(everyone),
        "per_volunteer": spread(everyone),
        "per_volunteer_on_duty_all_hours": spread(all_hours),
        "per_volunteer_weekdays_9_17": spread(weekdays),
        "resting_first_week": [per["v00"], per["v01"]],
        "baseline_random_on_duty": spread([baseline[v] for v in ids]),
        "baseline_random_all_hours": spread(
            [baseline[v] for n, v in enumerate(ids) if n % 3 != 2 and n not in (0, 1)]
        ),
        "over_weekly_cap": sum(1 for n in weekly.values() if n > 3),
        "alerts_off_duty_or_resting": off_duty,
    }


def _alerted(repo: EscalationRepository, incident: str) -> list[str]:
    return [m.contact or "" for m in repo.sms_messages(incident=incident) if m.purpose is SmsPurpose.ALERT]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--volunteers", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = run(args.alerts, args.volunteers, args.seed)
    for key, value in result.items():
        print(f"{key}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
