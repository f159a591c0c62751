"""The cuttable link: MQTT flows through it; a cut makes the broker publish the Last Will."""

from __future__ import annotations

import asyncio

import pytest

from app.mosquitto import MosquittoProcess
from firmware_sim.network import NetworkLink
from mimamori.mqtt import MqttClient, Will, settings_for
from tests.support.harness import mqtt_client

pytestmark = pytest.mark.integration


async def test_cut_fires_the_last_will_and_restore_reconnects(
    mosquitto: MosquittoProcess, topic_prefix: str
) -> None:
    link = NetworkLink("127.0.0.1", mosquitto.port)
    await link.start()
    will_topic = f"{topic_prefix}/status"
    home = MqttClient(
        settings_for(
            "127.0.0.1",
            link.port,
            f"{topic_prefix}-home",
            keepalive_s=5,
            will=Will(will_topic, b"offline"),
            reconnect_max_s=1,
        )
    )
    try:
        async with mqtt_client(mosquitto) as watcher:
            await watcher.subscribe(will_topic)
            await home.start()
            await home.publish(f"{topic_prefix}/data", b"through the link")
            link.cut()
            batch = await asyncio.wait_for(watcher.next_batch(10), 10)
            assert [(m.topic, m.payload) for m in batch] == [(will_topic, b"offline")]
            assert not link.up
            link.restore()
            await asyncio.wait_for(home.wait_connected(), 10)
            await home.publish(f"{topic_prefix}/data", b"after the outage")
    finally:
        await home.stop()
        await link.stop()
