"""``mimamori gateway``: run one home gateway."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from gateway.outbox import Outbox
from gateway.service import GatewayService, status_will
from mimamori.cli import add_config_argument, config_from
from mimamori.clock import SystemClock
from mimamori.config import Config
from mimamori.mqtt import MqttClient, settings_for


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("gateway", help="relay one home's sensors upstream through a durable outbox")
    add_config_argument(parser)
    parser.add_argument("--local-prefix", default="home", help="topic prefix of the home's local devices")
    parser.set_defaults(func=lambda args: asyncio.run(run_gateway(config_from(args), args.local_prefix)))


async def run_gateway(config: Config, local_prefix: str) -> int:
    clock = SystemClock()
    gw = config.gateway
    secret = config.secrets.broker_password
    broker = config.broker
    upstream = MqttClient(
        settings_for(
            broker.host,
            broker.port,
            f"gw-{gw.household}-{gw.gateway}",
            username=broker.username,
            password=secret.get_secret_value() if secret else None,
            tls=broker.tls,
            ca_file=broker.ca_file,
            keepalive_s=broker.keepalive_s,
            will=status_will(gw.household, gw.gateway, clock),
        )
    )
    local = MqttClient(settings_for(broker.host, broker.port, f"gw-local-{gw.household}-{gw.gateway}"))
    outbox = Outbox(gw.outbox_path)
    outbox.open()
    await upstream.start()
    await local.start()
    service = GatewayService(
        household=gw.household,
        gateway=gw.gateway,
        local=local,
        local_prefix=local_prefix,
        upstream=upstream,
        outbox=outbox,
        clock=clock,
        heartbeat=timedelta(seconds=gw.heartbeat_s),
    )
    try:
        await service.run()
    finally:
        await local.stop()
        await upstream.stop()
        outbox.close()
    return 0
