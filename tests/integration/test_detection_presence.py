"""Lying still, end to end: a zigbee2mqtt presence sensor → gateway → real mosquitto → ingest → SQLite →
live detector.

Two weeks of history (motion every 20 minutes by day; each toilet visit seen by the toilet's presence
sensor too) are in the store. This morning's readings travel through the real broker, the last of
them the resident walking into the toilet: its presence sensor says ``presence: true`` and stays so,
and nothing moves again. The live detector raises one inactivity finding that says the resident is
there and not moving, at the toilet's lying-still limit (its longest stretch, 20 min, + 10) rather
than at the 90-minute floor a kit without the presence sensor waits for.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.mosquitto import MosquittoProcess
from detection.explain import render
from detection.findings import FindingKind
from gateway.native import Reading, encode_reading
from gateway.router import Router, Source
from mimamori import contract
from mimamori.clock import FakeClock
from tests.support.detect_pipeline import seed_history, tick_while_still
from tests.support.harness import mqtt_client, running_gateway, running_ingest, wait_for

pytestmark = pytest.mark.integration

TZ = "Asia/Tokyo"
ZONE = ZoneInfo(TZ)
TODAY = datetime(2026, 3, 16, tzinfo=ZONE)  # a Monday
DEVICES = ("kitchen-motion", "hall-motion", "toilet-motion")
Kind = contract.Kind


def routine_day(day: datetime, until: datetime | None = None) -> list[tuple[datetime, str, Kind, float]]:
    """Every 20 minutes from 07:00 to 22:00 a motion in turn in the kitchen, hall and toilet; at each
    toilet visit the toilet's presence sensor says occupied, and clear three minutes later."""
    out: list[tuple[datetime, str, Kind, float]] = []
    t, i = day + timedelta(hours=7), 0
    while t <= day + timedelta(hours=22) and (until is None or t <= until):
        device = DEVICES[i % 3]
        out.append((t, device, Kind.MOTION, 1.0))
        if device == "toilet-motion":
            out.append((t, "toilet-presence", Kind.OCCUPANCY, 1.0))
            if until is None or t + timedelta(minutes=3) <= until:
                out.append((t + timedelta(minutes=3), "toilet-presence", Kind.OCCUPANCY, 0.0))
        t += timedelta(minutes=20)
        i += 1
    return out


async def test_a_resident_lying_still_in_the_toilet_is_raised_at_the_rooms_limit(
    mosquitto: MosquittoProcess, tmp_path: Path, topic_prefix: str
) -> None:
    household = topic_prefix
    store_path = tmp_path / "events.sqlite3"
    history = seed_history(store_path, household, TODAY, routine_day)
    morning = routine_day(TODAY, until=TODAY + timedelta(hours=8, minutes=40))  # ends in the toilet
    last_reading = morning[-1][0]
    assert morning[-1][1:] == ("toilet-presence", Kind.OCCUPANCY, 1.0)
    clock = FakeClock(last_reading + timedelta(minutes=1))
    root = f"local/{household}"
    router = Router(
        devices_by_id={"toilet-presence": (Source.ZIGBEE2MQTT, "toilet_radar")},
        zone=ZONE,
        root=root,
    )
    async with (
        running_ingest(mosquitto, store_path, clock, group=topic_prefix) as ingest,
        running_gateway(mosquitto, household, tmp_path / "outbox.sqlite3", clock, router=router),
        mqtt_client(mosquitto) as sensors,
        mqtt_client(mosquitto) as gateway_beats,
    ):
        for at, device, kind, value in morning:
            observed = at.astimezone(UTC)
            if kind is Kind.OCCUPANCY:  # the radar speaks zigbee2mqtt
                payload = json.dumps({"presence": value >= 1, "last_seen": contract.format_time(observed)})
                await sensors.publish(f"{root}/zigbee2mqtt/toilet_radar", payload.encode())
            else:
                suffix, body = encode_reading(Reading(device, kind, value, observed))
                await sensors.publish(f"{root}/home/{suffix}", body)
        await wait_for(
            lambda: ingest.store.count_events(household) >= history + len(morning), ingest.service.committed
        )
        # nothing moves: tick every simulated minute for an hour
        found = await tick_while_still(ingest, gateway_beats, household, tmp_path, TZ, clock, 60)
    assert [f.kind for f in found] == [FindingKind.INACTIVITY]
    finding = found[0]
    assert finding.explanation.key == "inactivity.still"
    assert finding.last_activity_at == last_reading.astimezone(UTC)
    delay = finding.raised_at - last_reading
    assert timedelta(minutes=30) <= delay <= timedelta(minutes=32), delay  # not the 90-minute floor
    text = render(finding.explanation, "ja")
    assert text == "トイレで08:40以降 在室のまま動きなし(30分)。普段は20分以内に動きあり", text
