"""A hot afternoon, end to end: the simulator's room thermometers → gateway → real mosquitto → ingest →
SQLite → live detector → incident → the resident's SMS (what to do), then the neighbours' (look in).

The resident does not use an air conditioner; the house heats up through a heat-wave afternoon
(firmware_sim.climate). Real twilio library against the local Twilio-compatible server.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.mosquitto import MosquittoProcess
from detection.episodes import SqliteEpisodes
from detection.findings import Explanation, Finding, FindingKind, Severity
from detection.live import LiveDetector
from detection.model import FixedProfiles
from escalation.models import IncidentState
from escalation.texts import ALERT_BUDGET_JA
from firmware_sim.climate import ClimateHabits, House, IndoorClimate, Presence, Season, climate_events
from firmware_sim.events import to_datetime, to_ms
from gateway.native import Reading, encode_reading
from mimamori import contract
from mimamori.clock import FakeClock
from tests.support.escalation_harness import (
    KATO,
    SUZUKI,
    alerts_config,
    fake_twilio,
    import_households,
    running_alerts,
    until,
)
from tests.support.harness import mqtt_client, running_gateway, running_ingest, wait_for

pytestmark = pytest.mark.integration

ZONE = ZoneInfo("Asia/Tokyo")
HOUSEHOLD = "demo-0001"
RESIDENT = "+819000000001"
DAY_BEFORE = datetime(2026, 8, 21, 0, 0, tzinfo=ZONE)  # seed 1: 22 August is a heat-wave day (37 °C)
NOON = datetime(2026, 8, 22, 12, 0, tzinfo=ZONE)

HOUSEHOLDS: dict[str, Any] = {
    "contacts": [
        {"id": "r-yamada", "name": "山田花子", "phone": RESIDENT, "role": "resident"},
        {"id": "n-suzuki", "name": "鈴木一郎", "phone": SUZUKI, "role": "neighbour"},
        {"id": "n-kato", "name": "加藤美咲", "phone": KATO, "role": "neighbour"},
    ],
    "households": [
        {
            "id": HOUSEHOLD,
            "name": "山田花子",
            "address_hint": "桜町2丁目 青い屋根",
            "time_zone": "Asia/Tokyo",
            "residents": [{"name": "山田花子"}],
            "policy": {
                "tiers": [
                    {"kind": "resident_check", "contacts": ["r-yamada"], "mode": "all", "wait_minutes": 30},
                    {
                        "kind": "neighbours",
                        "contacts": ["n-suzuki", "n-kato"],
                        "mode": "all",
                        "wait_minutes": 15,
                    },
                ],
                "quiet_hours": {"start": "21:00", "end": "07:00"},
            },
        }
    ],
}


async def test_a_hot_afternoon_texts_the_resident_then_the_neighbours(
    mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    climate = IndoorClimate(
        HOUSEHOLD,
        "Asia/Tokyo",
        Season.AUGUST,
        seed=1,
        presence=lambda _: Presence.AWAKE,
        start=to_ms(DAY_BEFORE),
        house=House(tau_h=4.0, summer_gain_c=1.5, winter_gain_c=6.0),
        habits=ClimateHabits(False, False, 28.0, 27.0, ac_at_night=False, heat_to_c=20.0),
    )
    while climate.at < to_ms(NOON):  # the house warms through the day before and the morning
        climate.step()
    clock = FakeClock(NOON)
    store_path = tmp_path / "events.sqlite3"
    beat_topic = contract.topic(HOUSEHOLD, "gw-1", contract.Channel.HEARTBEAT)
    local = f"local/{HOUSEHOLD}"
    found: list[Finding] = []
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, HOUSEHOLDS)
        async with (
            running_ingest(mosquitto, store_path, clock, group=HOUSEHOLD) as ingest,
            running_gateway(mosquitto, HOUSEHOLD, tmp_path / "outbox.sqlite3", clock, local),
            mqtt_client(mosquitto) as sensors,
            running_alerts(config, clock) as service,
        ):
            detector = LiveDetector(
                ingest.store,
                FixedProfiles("Asia/Tokyo"),
                SqliteEpisodes(tmp_path / "episodes.sqlite3"),
                clock,
            )
            detector.open()
            events = 0
            counters = ingest.service.counters
            for step in range(4 * 12):  # four hours, a reading of every room every 5 minutes
                reading = climate.step()
                at = to_datetime(reading.at)
                clock.set(at)
                for e in climate_events(HOUSEHOLD, reading, aircon=False):
                    suffix, payload = encode_reading(Reading(e.device, e.kind, e.value, at))
                    await sensors.publish(f"{local}/{suffix}", payload)
                    events += 1
                if step % 6 == 0:  # the resident moves about the kitchen now and then
                    suffix, payload = encode_reading(Reading("kitchen-motion", contract.Kind.MOTION, 1.0, at))
                    await sensors.publish(f"{local}/{suffix}", payload)
                    events += 1
                beat = contract.Heartbeat(HOUSEHOLD, "gw-1", at.astimezone(UTC), step + 1, 0)
                await sensors.publish(beat_topic, beat.encode())
                await wait_for(
                    lambda n=events: counters.stored + counters.thinned + counters.duplicates >= n,
                    ingest.service.committed,
                )
                new = detector.tick(at) + detector.climate_tick(at)
                found += new
                service.open_from_findings(list(new))
                service.engine.process_due(at)
                if twilio.created(SUZUKI):
                    break
            detector.close()
            heat = [f for f in found if f.kind is FindingKind.HEAT]
            assert heat, "the hot afternoon raised nothing"
            assert [f.kind for f in found] == [FindingKind.HEAT]
            await until(twilio, lambda: bool(twilio.created(RESIDENT)))
            to_resident = twilio.created(RESIDENT)[0]
            assert "エアコンをつけて水分をとりましょう" in to_resident.body
            assert "室温が3" in to_resident.body
            assert "無事なら3" in to_resident.body
            assert len(to_resident.body) <= ALERT_BUDGET_JA
            # the resident did not answer: 30 minutes later the neighbours are asked to look in
            await until(twilio, lambda: bool(twilio.created(SUZUKI)) and bool(twilio.created(KATO)))
            to_neighbour = twilio.created(SUZUKI)[0]
            assert "様子を見に行けますか" in to_neighbour.body
            assert "暑さ指数" in to_neighbour.body
            assert "山田花子" in to_neighbour.body
            assert len(to_neighbour.body) <= ALERT_BUDGET_JA, to_neighbour.body
            order = [m.to for m in twilio.created()]
            assert order.index(RESIDENT) < order.index(SUZUKI)
            (incident,) = service.repo.incidents()
            assert incident.kind is FindingKind.HEAT
            assert incident.state is IncidentState.NOTIFYING
            assert ingest.service.counters.thinned > 0  # unchanged readings were let go, and counted


async def test_a_resident_on_a_landline_is_called_with_the_same_advice(
    tmp_path: Path, clock: FakeClock
) -> None:
    households = copy.deepcopy(HOUSEHOLDS)
    households["contacts"][0]["channels"] = ["voice"]
    heat = Finding(
        household=HOUSEHOLD,
        kind=FindingKind.HEAT,
        severity=Severity.URGENT,
        raised_at=clock.now(),
        episode="heat:1:danger:2",
        last_activity_at=None,
        explanation=Explanation(
            "heat",
            {
                "room": "living",
                "temp_c": 36,
                "humidity": 60,
                "wbgt": 31,
                "level_ja": "危険",
                "level_en": "danger",
                "hours": 0.3,
            },
        ),
        device="living-temp",
    )
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, households)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([heat])
            await until(twilio, lambda: len(twilio.placed(RESIDENT)) == 1)
            (spoken,) = await twilio.answer(twilio.placed(RESIDENT)[0].sid)
            assert "室温が36℃です。エアコンをつけて水分をとりましょう" in spoken
            assert "大丈夫なら1を、助けが必要なら9を押してください" in spoken
