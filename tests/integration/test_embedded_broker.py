"""The demo's pure-Python broker fallback, driven by the project's own MQTT v5 adapter."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app import embedded_broker
from app.embedded_broker import EmbeddedBroker, demo_broker
from app.mosquitto import BrokerError
from mimamori import contract
from mimamori.mqtt import Message, MqttClient, settings_for

pytestmark = pytest.mark.integration

N = 300


@pytest.fixture
async def broker() -> AsyncIterator[EmbeddedBroker]:
    embedded = EmbeddedBroker()
    await embedded.start()
    yield embedded
    await embedded.stop()


@contextlib.asynccontextmanager
async def client(port: int, **options: Any) -> AsyncIterator[MqttClient]:
    mqtt = MqttClient(settings_for("127.0.0.1", port, f"t-{uuid.uuid4().hex[:8]}", **options))
    await mqtt.start()
    try:
        yield mqtt
    finally:
        await mqtt.stop()


async def _receive(mqtt: MqttClient, count: int) -> list[Message]:
    received: list[Message] = []
    while len(received) < count:
        received += await asyncio.wait_for(mqtt.next_batch(1000), 10)
    return received


async def test_qos1_publish_and_subscribe_with_acks(broker: EmbeddedBroker) -> None:
    topic = contract.topic("demo-0001", "gw-1", contract.Channel.EVENTS)
    async with (
        client(broker.port, manual_ack=True) as subscriber,
        client(broker.port) as publisher,
    ):
        await subscriber.subscribe(contract.subscription(contract.Channel.EVENTS), qos=1)
        acks = [publisher.publish_nowait(topic, f"e{n}".encode(), qos=1) for n in range(N)]
        await asyncio.wait_for(asyncio.gather(*acks), 20)  # every PUBACK arrived
        received = await _receive(subscriber, N)
        for message in received:
            subscriber.ack(message.mid, message.qos)
    assert [m.payload for m in received] == [f"e{n}".encode() for n in range(N)]
    assert {(m.topic, m.qos) for m in received} == {(topic, 1)}


async def test_retained_status_reaches_a_late_subscriber(broker: EmbeddedBroker) -> None:
    status = contract.topic("demo-0002", "gw-1", contract.Channel.STATUS)
    async with client(broker.port) as gateway:
        await gateway.publish(status, b"online", qos=1, retain=True)
    async with client(broker.port) as late:
        await late.subscribe(contract.subscription(contract.Channel.STATUS))
        [message] = await _receive(late, 1)
    assert (message.topic, message.payload, message.retain) == (status, b"online", True)


async def test_shared_subscriptions_are_not_supported(broker: EmbeddedBroker) -> None:
    """Pins the documented limit: a ``$share`` filter matches nothing here, so the demo's ingest
    must subscribe without a share group on this broker (``supports_shared_subscriptions``)."""
    assert not broker.supports_shared_subscriptions
    topic = contract.topic("demo-0003", "gw-1", contract.Channel.EVENTS)
    async with client(broker.port) as subscriber, client(broker.port) as publisher:
        await subscriber.subscribe(f"$share/ingest/{contract.subscription(contract.Channel.EVENTS)}")
        await subscriber.subscribe(topic)
        await publisher.publish(topic, b"once")
        received = await _receive(subscriber, 1)
        await publisher.publish(topic, b"marker")
        received += await _receive(subscriber, 1)
    assert [m.payload for m in received] == [b"once", b"marker"]


async def test_demo_falls_back_to_the_embedded_broker_without_mosquitto(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing() -> str:
        raise BrokerError("mosquitto is not installed")

    monkeypatch.setattr(embedded_broker, "mosquitto_path", missing)
    chosen = demo_broker(tmp_path)
    assert isinstance(chosen, EmbeddedBroker)
    assert "broker.fallback" in caplog.text
    await chosen.start()
    try:
        async with client(chosen.port) as mqtt:
            await mqtt.publish("mimamori/v1/demo-0004/gw-1/heartbeat", b"{}", qos=1)
    finally:
        await chosen.stop()
    assert not chosen.running


async def test_demo_uses_mosquitto_when_installed(tmp_path: Path) -> None:
    chosen = demo_broker(tmp_path / "mosquitto")
    assert chosen.supports_shared_subscriptions
    await chosen.start()
    try:
        async with client(chosen.port) as mqtt:
            await mqtt.subscribe(f"$share/demo/{contract.subscription(contract.Channel.EVENTS)}")
    finally:
        await chosen.stop()
