"""A disaster check on a simulated town, through the running alerts service.

    .venv/bin/python benchmarks/disaster_check.py [--households 1000] [--rate 20]

``--households`` homes (tests/support/disaster_town.py: one in ten blind, some sensors tripped only by
the quake, some residents moving a quarter of an hour later), every resident with a mobile. The check is
requested and started (one tick of the alerts service), then every resident is texted through the real
twilio library to the local Twilio-compatible server at ``--rate`` SMS a second ([twilio] rate_per_s).

Measured: the time from the request to the prioritised list; the time to text everyone and the
highest number of SMS in any one-second window (at most ``--rate``); one tick's time on this town; the
counts after the sensors' news, and that no household is lost (safe or listed, never both, never
neither). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks")]

from escalation.disaster.commands import request, request_end, running_status  # noqa: E402
from escalation.disaster.records import DisasterRecords  # noqa: E402
from escalation.repository import EscalationRepository  # noqa: E402
from escalation.service import AlertsService  # noqa: E402
from mimamori.clock import FakeClock  # noqa: E402
from mimamori.config import Config  # noqa: E402
from store.sqlite import SqliteEventStore  # noqa: E402
from tests.support.disaster_town import expected, household_id, seed_after, seed_before, seed_households  # noqa: E402
from tests.support.twilio_fake_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio  # noqa: E402

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def config(tmp: Path, twilio_url: str, rate: float) -> Config:
    return Config.model_validate(
        {
            "data_dir": str(tmp),
            "alerts": {
                "state_path": str(tmp / "state.sqlite3"),
                "http_port": 0,
                "sms_backend": "twilio",
                "operators": ["+819099990000"],
            },
            "twilio": {"from_number": "+815000000000", "api_base_url": twilio_url, "rate_per_s": rate},
            "disaster": {"check_s": 1.0},
            "secrets": {
                "twilio_account_sid": ACCOUNT_SID,
                "twilio_auth_token": AUTH_TOKEN,
                "link_secret": "x",
            },
        }
    )


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def run(tmp: Path, n: int, rate: float) -> dict[str, Any]:
    twilio = FakeTwilio()
    await twilio.start()
    cfg = config(tmp, twilio.base_url, rate)
    clock = FakeClock(NOW)
    repo = EscalationRepository(cfg.alerts.state_path)
    repo.open()
    seed_households(repo, n, NOW)
    store = SqliteEventStore(tmp / "events.sqlite3")
    store.open()
    seed_before(store, n, NOW)
    service = AlertsService(cfg, clock, activity=store)
    await service.start()
    assert service.disaster is not None
    records = DisasterRecords(repo)
    try:
        began = time.perf_counter()
        check, _ = request(records, None, None, "bench", clock.now())
        service.disaster.tick(clock.now())
        first = running_status(records)
        to_list_s = time.perf_counter() - began
        assert first is not None
        texting = time.perf_counter()
        async with service.dispatcher.changed:
            await service.dispatcher.changed.wait_for(lambda: len(twilio.created()) >= n)
        texted_s = time.perf_counter() - texting
        times = [m.created_at.timestamp() for m in twilio.created()]

        clock.advance(timedelta(minutes=20))
        seed_after(store, n, NOW)
        ticked = time.perf_counter()
        service.disaster.tick(clock.now())
        tick_s = time.perf_counter() - ticked
        later = running_status(records)
        assert later is not None
        safe = {h.household for h in records.households(check.id) if h.safe_at is not None}
        listed = {row["household"] for row in later["ordered"]}
        lost = len({household_id(i) for i in range(n)} - safe - listed) + len(safe & listed)
        request_end(records, check, "bench", clock.now())
        service.disaster.tick(clock.now())
        return {
            "households": n,
            "rate_per_s": rate,
            "to_prioritised_list_s": to_list_s,
            "listed_at_start": len(first["ordered"]),
            "texted": len(times),
            "texted_distinct": len({m.to for m in twilio.created()}),
            "texting_s": texted_s,
            "busiest_second": busiest_second(times),
            "tick_s": tick_s,
            "counts": {k: later[k] for k in ("households", "safe", "unknown", "waiting")},
            "expected": expected(n),
            "lost": lost,
        }
    finally:
        await service.stop()
        store.close()
        repo.close()
        await twilio.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="SMS a second (Twilio's default: 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(Path(tmp), args.households, args.rate))
    print(
        json.dumps(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}, ensure_ascii=False
        )
    )


if __name__ == "__main__":
    main()
