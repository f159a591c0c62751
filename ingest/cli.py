"""``mimamori ingest``: run one ingest worker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from ingest.service import IngestService
from mimamori.cli import add_config_argument, config_from
from mimamori.clock import SystemClock
from mimamori.config import Config
from mimamori.mqtt import MqttClient, settings_for
from store.sqlite import SqliteEventStore


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("ingest", help="validate and store events from the broker")
    add_config_argument(parser)
    parser.set_defaults(func=lambda args: asyncio.run(run_ingest(config_from(args))))


async def run_ingest(config: Config) -> int:
    secret = config.secrets.broker_password
    mqtt = MqttClient(
        settings_for(
            config.broker.host,
            config.broker.port,
            config.ingest.client_id,
            username=config.broker.username,
            password=secret.get_secret_value() if secret else None,
            tls=config.broker.tls,
            ca_file=config.broker.ca_file,
            keepalive_s=config.broker.keepalive_s,
            clean_start=False,
            session_expiry_s=config.ingest.session_expiry_s,
            manual_ack=True,
        )
    )
    store = SqliteEventStore(config.store.sqlite_path)
    store.open()
    await mqtt.start()
    service = IngestService(mqtt, store, SystemClock(), config.ingest.share_group, config.ingest.batch_size)
    try:
        await service.run()
    except asyncio.CancelledError:
        pass
    finally:
        with contextlib.suppress(Exception):
            await mqtt.stop()
        store.close()
    return 0
