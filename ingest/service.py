"""The ingest worker: shared subscription → validate → durable idempotent batch write → ack.

A batch is taken when ``batch_size`` messages are waiting or ``batch_interval`` has passed since
its first message. It is acknowledged to the broker only after the store says it is durable; if
the process dies before that, the broker still holds the messages in the persistent session and
delivers them again (to this client id, or to another member of the share group). Memory stays
bounded because the broker never has more than the session's receive maximum unacknowledged
messages in flight to us: it queues the rest on its side.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from ingest.decode import decode_batch
from ingest.metrics import IngestMetrics
from mimamori import contract
from mimamori.clock import Clock
from mimamori.mqtt import Message, MqttClient
from store.base import BatchResult, BatchWriter, IngestBatch, StoreError

log = logging.getLogger(__name__)

RETRY_MIN_S = 0.2
RETRY_MAX_S = 30.0


@dataclass(frozen=True, slots=True)
class _Decoded:
    messages: list[Message]
    batch: IngestBatch
    started: float  # perf_counter when the batch was taken


@dataclass
class IngestCounters:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)


def subscriptions(share_group: str) -> list[str]:
    """Events and heartbeats are shared by the group; every worker subscribes to status on its own,
    because a shared subscription gets no retained messages (MQTT 5, 4.8.2) and status writes are
    idempotent. An empty group means a plain subscription (a lone worker on a broker without shared
    subscriptions, like the demo's embedded one)."""
    share = f"$share/{share_group}/" if share_group else ""
    return [
        share + contract.subscription(contract.Channel.EVENTS),
        share + contract.subscription(contract.Channel.HEARTBEAT),
        contract.subscription(contract.Channel.STATUS),
    ]


class IngestService:
    """Drains the broker into the store. ``committed`` is notified after every durable batch."""

    def __init__(
        self,
        mqtt: MqttClient,
        store: BatchWriter,
        clock: Clock,
        share_group: str,
        batch_size: int,
        *,
        batch_interval: timedelta = timedelta(milliseconds=50),
        metrics: IngestMetrics | None = None,
        fault_hook: Callable[[str], None] | None = None,
    ) -> None:
        self._mqtt = mqtt
        self._store = store
        self._clock = clock
        self._share_group = share_group
        self._batch_size = batch_size
        self._interval_s = batch_interval.total_seconds()
        self.metrics = metrics or IngestMetrics()
        self._fault_hook = fault_hook
        self.counters = IngestCounters()
        self.committed = asyncio.Condition()
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Subscribe and process until cancelled. The MQTT client must already be started."""
        self.metrics.track_queue(self._mqtt.pending_messages)
        for topic_filter in subscriptions(self._share_group):
            await self._mqtt.subscribe(topic_filter, qos=1)
        self.ready.set()
        log.info("ingest_ready group=%s batch_size=%s", self._share_group, self._batch_size)
        # Two stages: the next batch is collected and decoded while the previous one is written
        # (the store works in a thread). At most one decoded batch waits for the writer.
        decoded: asyncio.Queue[_Decoded] = asyncio.Queue(maxsize=1)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._decode_loop(decoded))
            tasks.create_task(self._write_loop(decoded))

    async def _decode_loop(self, decoded: asyncio.Queue[_Decoded]) -> None:
        while True:
            messages = await self._collect()
            started = time.perf_counter()
            await decoded.put(_Decoded(messages, decode_batch(messages, self._clock.now()), started))

    async def _write_loop(self, decoded: asyncio.Queue[_Decoded]) -> None:
        while True:
            item = await decoded.get()
            await self._handle(item)

    async def _collect(self) -> list[Message]:
        """Up to ``batch_size`` messages: what is waiting, topped up until the interval ends."""
        messages = await self._mqtt.next_batch(self._batch_size)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._interval_s
        while len(messages) < self._batch_size:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                more = await asyncio.wait_for(
                    self._mqtt.next_batch(self._batch_size - len(messages)), remaining
                )
            except TimeoutError:
                break
            messages.extend(more)
        return messages

    async def _handle(self, item: _Decoded) -> None:
        messages, batch = item.messages, item.batch
        self._fault("before_commit")
        result = await self._write(batch)
        self._fault("after_commit")
        ack = self._mqtt.ack
        for message in messages:
            if message.qos:
                ack(message.mid, message.qos)
        self._count(messages, batch, result.stored, result.duplicates)
        log.debug(
            "batch_committed messages=%s stored=%s duplicates=%s",
            len(messages),
            result.stored,
            result.duplicates,
        )
        self.metrics.batch_seconds.observe(time.perf_counter() - item.started)
        self.metrics.batch_messages.observe(len(messages))
        async with self.committed:
            self.committed.notify_all()

    async def _write(self, batch: IngestBatch) -> BatchResult:
        """Write until it succeeds: nothing is acknowledged (or dropped) while the store is down."""
        delay = RETRY_MIN_S
        while True:
            try:
                return await self._store.write_batch(batch)
            except StoreError as exc:
                self.metrics.store_errors.inc()
                if exc.retryable:
                    log.warning("store_write_failed retry_in_s=%.1f error=%s", delay, exc)
                else:
                    log.error("store_write_refused retry_in_s=%.1f error=%s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    def _count(self, messages: list[Message], batch: IngestBatch, stored: int, duplicates: int) -> None:
        c, m = self.counters, self.metrics
        c.received += len(messages)
        c.stored += stored
        c.duplicates += duplicates
        m.received.labels("events").inc(len(batch.events))
        m.received.labels("status").inc(len(batch.statuses))
        m.received.labels("heartbeat").inc(len(batch.heartbeats))
        m.stored.inc(stored)
        m.duplicates.inc(duplicates)
        if not batch.rejections:
            return
        by_reason: dict[str, list[int]] = {}
        for index, rejection in enumerate(batch.rejections):
            by_reason.setdefault(rejection.reason, []).append(index)
        m.received.labels("rejected").inc(len(batch.rejections))
        for reason, indexes in by_reason.items():
            c.rejected[reason] += len(indexes)
            m.rejected.labels(reason).inc(len(indexes))
            first = batch.rejections[indexes[0]]
            log.warning(
                "ingest_rejected reason=%s count=%s topic=%s detail=%s",
                reason,
                len(indexes),
                first.topic[:120],
                first.detail,
            )

    def _fault(self, point: str) -> None:
        if self._fault_hook is not None:
            self._fault_hook(point)
