"""``mimamori sim``: publish simulated homes' readings to the broker in the native local format."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from firmware_sim.homes import SimHome
from gateway.native import encode_reading
from mimamori.cli import add_config_argument, config_from
from mimamori.clock import SystemClock
from mimamori.config import Config
from mimamori.mqtt import MqttClient, settings_for


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("sim", help="simulate homes and publish their sensor readings")
    add_config_argument(parser)
    parser.add_argument("--households", type=int, default=None, help="how many homes (default: config)")
    parser.add_argument("--events", type=int, default=100, help="readings per home")
    parser.add_argument("--prefix", default="sim", help="local topic root; home H publishes under PREFIX/H/")
    parser.set_defaults(func=lambda args: asyncio.run(run_sim(config_from(args), args)))


async def run_sim(config: Config, args: argparse.Namespace) -> int:
    count = args.households or config.sim.households
    mqtt = MqttClient(settings_for(config.broker.host, config.broker.port, f"sim-{config.sim.seed}"))
    await mqtt.start()
    start = SystemClock().now() - timedelta(hours=1)
    try:
        for n in range(count):
            home = SimHome(f"demo-{n + 1:04d}", config.sim.seed)
            for reading in home.readings(start, args.events, timedelta(seconds=30)):
                suffix, payload = encode_reading(reading)
                await mqtt.publish(f"{args.prefix}/{home.household}/{suffix}", payload)
    finally:
        await mqtt.stop()
    return 0
