"""Publish simulated homes live to a broker, paced at ``speed`` simulated seconds per real second.

Simulated time ends at the real time the run started (when faster than real time), so every
timestamp is in the past and inside the platform's acceptance window; at ``speed`` 1 it starts now.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from firmware_sim.formats import Format, encode
from firmware_sim.simulate import build_homes, stream
from mimamori.clock import SystemClock
from mimamori.config import Config
from mimamori.mqtt import MqttClient, settings_for

log = logging.getLogger(__name__)

MAX_UNACKED = 1000


async def run_live(
    config: Config, args: argparse.Namespace, households: int, seed: int, tz: str, speed: float
) -> int:
    now = SystemClock().now()
    span = timedelta(days=args.days)
    sim_start = now if speed == 1 else now - span
    from firmware_sim.cli import household_specs, scenarios_from

    first_day = sim_start.astimezone(ZoneInfo(tz)).date()
    scenarios = scenarios_from(args, first_day, tz, households, seed)
    homes = build_homes(
        household_specs(args, households, tz), seed, first_day, scenarios, tz, args.climate_share
    )
    fmt: Format = args.format
    zones = {home.household: home.zone for home in homes}
    roots = {home.household: args.topic_root.format(household=home.household) for home in homes}
    broker = config.broker
    secret = config.secrets.broker_password
    mqtt = MqttClient(
        settings_for(
            broker.host,
            broker.port,
            f"sim-{seed}-{int(now.timestamp())}",
            username=broker.username,
            password=secret.get_secret_value() if secret else None,
            tls=broker.tls,
            ca_file=broker.ca_file,
        )
    )
    await mqtt.start()
    step = timedelta(minutes=15) if speed else timedelta(hours=6)
    real_start = time.monotonic()
    pending: list[asyncio.Future[None]] = []
    published = 0
    try:
        for window in stream(homes, sim_start, sim_start + span, step):
            for event in window:
                if speed:
                    due = real_start + (event.at / 1000 - sim_start.timestamp()) / speed
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)  # pacing simulated time, not synchronisation
                household = event.household
                for topic, payload in encode(event, roots[household], fmt, zones[household]):
                    pending.append(mqtt.publish_nowait(topic, payload))
                    published += 1
                if len(pending) >= MAX_UNACKED:
                    await asyncio.gather(*pending)
                    pending.clear()
        await asyncio.gather(*pending)
    finally:
        await mqtt.stop()
    print(json.dumps({"households": len(homes), "published": published, "format": fmt}), flush=True)
    return 0
