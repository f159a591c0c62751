"""A fall, end to end: sensor readings → gateway → real mosquitto → ingest → SQLite → live detector.

Two weeks of the resident's history are already in the store; this morning's readings travel
through the real broker and ingest; then nothing moves (the fall) while the gateway keeps sending
heartbeats. The live detector, ticking on a fake clock, raises one inactivity finding with its
explanation, and a restarted detector neither repeats nor loses it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.mosquitto import MosquittoProcess
from detection.explain import render
from detection.findings import FindingKind
from detection.model import Tuning
from gateway.native import Reading, encode_reading
from mimamori import contract
from mimamori.clock import FakeClock
from tests.support.detect_pipeline import Observation, live_detector, seed_history, tick_while_still
from tests.support.harness import mqtt_client, running_gateway, running_ingest, wait_for

pytestmark = pytest.mark.integration

TZ = "Asia/Tokyo"
ZONE = ZoneInfo(TZ)
TODAY = datetime(2026, 3, 16, tzinfo=ZONE)  # a Monday; the morning's readings end at 09:00
DEVICES = ("kitchen-motion", "hall-motion", "toilet-motion")


def routine_day(day: datetime) -> list[tuple[datetime, str]]:
    """Toilet at 02:00, then every 20 minutes from 07:00 to 22:00."""
    out = [(day + timedelta(hours=2), "toilet-motion")]
    t = day + timedelta(hours=7)
    i = 0
    while t <= day + timedelta(hours=22):
        out.append((t, DEVICES[i % 3]))
        t += timedelta(minutes=20)
        i += 1
    return out


def motions(day: datetime) -> list[Observation]:
    """:func:`routine_day` as motion readings."""
    return [(at, device, contract.Kind.MOTION, 1.0) for at, device in routine_day(day)]


async def test_a_fall_becomes_one_explained_inactivity_finding(
    mosquitto: MosquittoProcess, tmp_path: Path, topic_prefix: str
) -> None:
    household = topic_prefix
    store_path = tmp_path / "events.sqlite3"
    seed_history(store_path, household, TODAY, motions)
    clock = FakeClock(TODAY + timedelta(hours=9, minutes=1))
    morning = [(at, dev) for at, dev in routine_day(TODAY) if at <= TODAY + timedelta(hours=9)]
    last_reading = morning[-1][0]
    async with (
        running_ingest(mosquitto, store_path, clock, group=topic_prefix) as ingest,
        running_gateway(mosquitto, household, tmp_path / "outbox.sqlite3", clock, f"local/{household}"),
        mqtt_client(mosquitto) as sensors,
        mqtt_client(mosquitto) as gateway_beats,
    ):
        for at, device in morning:
            suffix, payload = encode_reading(Reading(device, contract.Kind.MOTION, 1.0, at.astimezone(UTC)))
            await sensors.publish(f"local/{household}/{suffix}", payload)
        await wait_for(
            lambda: ingest.store.count_events(household) >= 14 * 47 + len(morning), ingest.service.committed
        )
        # the fall: nothing moves; the gateway stays up. Tick every simulated minute for 4 hours.
        found = await tick_while_still(ingest, gateway_beats, household, tmp_path, TZ, clock, 4 * 60)
        assert [f.kind for f in found] == [FindingKind.INACTIVITY]
        finding = found[0]
        assert finding.household == household
        assert finding.last_activity_at == last_reading.astimezone(UTC)
        delay = finding.raised_at - last_reading
        # learned: 20-minute gaps all day, so the floor threshold applies, not the 4 h prior
        floor = timedelta(seconds=Tuning().min_threshold_s)
        assert floor <= delay <= floor + timedelta(minutes=2)
        assert render(finding.explanation, "ja").startswith("台所で09:00以降 動きなし")  # where it began
        assert "14日間の学習" in render(finding.explanation, "ja")
        # a restart: the episode was handed over (later ticks acknowledged it): not raised again
        restarted = live_detector(ingest.store, tmp_path, TZ, clock)
        assert restarted.tick(clock.now()) == []
        assert restarted.pending() == []
        restarted.close()
