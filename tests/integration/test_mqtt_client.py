"""The broker adapter against real mosquitto: acknowledgements survive a clean stop."""

from __future__ import annotations

import asyncio

import pytest

from app.mosquitto import MosquittoProcess
from mimamori.mqtt import Message, MqttClient, settings_for

pytestmark = pytest.mark.integration

COUNT = 10_000


def _persistent(port: int, client_id: str) -> MqttClient:
    return MqttClient(
        settings_for(
            "127.0.0.1",
            port,
            client_id,
            clean_start=False,
            session_expiry_s=600,
            receive_maximum=COUNT,
            manual_ack=True,
        )
    )


async def _receive_until(client: MqttClient, done: int | bytes) -> list[Message]:
    """Messages until ``done`` of them (an int) or until the one with payload ``done``."""
    got: list[Message] = []
    async with asyncio.timeout(30):
        while True:
            got += await client.next_batch(COUNT)
            if done == len(got) if isinstance(done, int) else got[-1].payload == done:
                return got


async def test_messages_acknowledged_just_before_a_clean_stop_are_not_redelivered(
    mosquitto: MosquittoProcess, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}/data"
    client_id = f"{topic_prefix}-worker"
    worker = _persistent(mosquitto.port, client_id)
    await worker.start()
    await worker.subscribe(topic, qos=1)
    publisher = MqttClient(settings_for("127.0.0.1", mosquitto.port, f"{topic_prefix}-pub"))
    await publisher.start()
    try:
        await asyncio.gather(*(publisher.publish_nowait(topic, b"%d" % n) for n in range(COUNT)))
        for message in await _receive_until(worker, COUNT):
            worker.ack(message.mid, message.qos)
        await worker.stop()  # at once: the acknowledgements may still be on their way

        again = _persistent(mosquitto.port, client_id)
        await again.start()
        try:
            # The resumed session delivers anything unacknowledged before this newer message.
            await publisher.publish(topic, b"sentinel")
            redelivered = await _receive_until(again, b"sentinel")
            assert [m.payload for m in redelivered] == [b"sentinel"]
        finally:
            await again.stop()
    finally:
        await publisher.stop()
