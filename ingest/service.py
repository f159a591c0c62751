"""The ingest worker: shared subscription → validate → durable idempotent write → ack."""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass, field

from mimamori import contract
from mimamori.clock import Clock
from mimamori.mqtt import Message, MqttClient
from store.base import EventStore

log = logging.getLogger(__name__)


@dataclass
class IngestCounters:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)


class IngestService:
    """Drains the broker into the store. ``committed`` is notified after every durable batch."""

    def __init__(
        self, mqtt: MqttClient, store: EventStore, clock: Clock, share_group: str, batch_size: int
    ) -> None:
        self._mqtt = mqtt
        self._store = store
        self._clock = clock
        self._share_group = share_group
        self._batch_size = batch_size
        self.counters = IngestCounters()
        self.committed = asyncio.Condition()
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Subscribe and process until cancelled. The MQTT client must already be started."""
        await self._mqtt.subscribe(
            f"$share/{self._share_group}/{contract.subscription(contract.Channel.EVENTS)}"
        )
        self.ready.set()
        while True:
            batch = await self._mqtt.next_batch(self._batch_size)
            await self._handle(batch)

    async def _handle(self, batch: list[Message]) -> None:
        now = self._clock.now()
        events: list[contract.Event] = []
        for message in batch:
            try:
                events.append(contract.decode_event(message.topic, message.payload, now))
            except contract.ContractError as exc:
                self.counters.rejected[exc.reason.value] += 1
                log.warning(
                    "event_rejected topic=%s reason=%s detail=%s", message.topic[:120], exc.reason, exc.detail
                )
        inserted = await asyncio.to_thread(self._store.write_events, events) if events else 0
        for message in batch:
            self._mqtt.ack(message.mid, message.qos)
        self.counters.received += len(batch)
        self.counters.stored += inserted
        self.counters.duplicates += len(events) - inserted
        async with self.committed:
            self.committed.notify_all()
