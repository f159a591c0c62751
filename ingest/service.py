"""The ingest worker: shared subscription → validate → durable idempotent batch write → ack.

A batch is taken when ``batch_size`` messages are waiting or ``batch_interval`` has passed since
its first message. Batches are acknowledged to the broker in the order they were taken, each only
after the store says it is durable (several may be in the store at once); if
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
from datetime import datetime, timedelta

from ingest.admission import Admission
from ingest.decode import RawMessage
from ingest.metrics import IngestMetrics
from ingest.sink import BatchOutcome, LocalSink, MessageSink, merge, raw, send_acks
from ingest.thinning import ClimateThinner
from mimamori import contract
from mimamori.clock import Clock
from mimamori.mqtt import Message, MqttClient
from store.base import BatchWriter, StoreError

log = logging.getLogger(__name__)

RETRY_MIN_S = 0.2
RETRY_MAX_S = 30.0


@dataclass(frozen=True, slots=True)
class _Taken:
    messages: list[Message]
    now: datetime
    started: float  # perf_counter when the batch was taken


@dataclass
class IngestCounters:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    seq_gaps: int = 0
    thinned: int = 0  # climate readings let go as redundant (acknowledged, not stored)
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
        store: BatchWriter | MessageSink,
        clock: Clock,
        share_group: str,
        batch_size: int,
        *,
        batch_interval: timedelta = timedelta(milliseconds=50),
        metrics: IngestMetrics | None = None,
        fault_hook: Callable[[str], None] | None = None,
        admission: Admission | None = None,
        thinner: ClimateThinner | None = None,
    ) -> None:
        """``admission``: the registry at the edge for a ``BatchWriter`` (a ``MessageSink`` brings its
        own); without one every well-formed household is accepted (tests, the demo's own town).
        ``thinner``: how a ``BatchWriter``'s climate readings are thinned (default: ``[climate]``'s)."""
        self._mqtt = mqtt
        self._sink = store if isinstance(store, MessageSink) else LocalSink(store, admission, thinner)
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
        # Three stages: the next batch is collected while earlier ones are stored (up to the
        # sink's concurrency at once: store worker processes), and batches are acknowledged in the
        # order they were received. Collecting starts before the subscriptions are confirmed: a
        # resumed session delivers its queue ahead of the SUBACKs, and waiting for those first
        # would receive the whole queue before storing any.
        taken: asyncio.Queue[_Taken] = asyncio.Queue(maxsize=1)
        writing: asyncio.Queue[tuple[_Taken, asyncio.Task[BatchOutcome]]] = asyncio.Queue()
        slots = asyncio.Semaphore(self._sink.concurrency)
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._take_loop(taken))
            tasks.create_task(self._write_loop(taken, writing, slots, tasks))
            tasks.create_task(self._ack_loop(writing, slots))
            for topic_filter in subscriptions(self._share_group):
                await self._mqtt.subscribe(topic_filter, qos=1)
            self.ready.set()
            log.info("ingest.ready group=%s batch_size=%s", self._share_group, self._batch_size)

    async def _take_loop(self, taken: asyncio.Queue[_Taken]) -> None:
        while True:
            messages = await self._collect()
            await taken.put(_Taken(messages, self._clock.now(), time.perf_counter()))

    async def _write_loop(
        self,
        taken: asyncio.Queue[_Taken],
        writing: asyncio.Queue[tuple[_Taken, asyncio.Task[BatchOutcome]]],
        slots: asyncio.Semaphore,
        tasks: asyncio.TaskGroup,
    ) -> None:
        while True:
            item = await taken.get()
            await slots.acquire()
            self._fault("before_commit")
            await writing.put((item, tasks.create_task(self._write(item.messages, item.now))))

    async def _ack_loop(
        self, writing: asyncio.Queue[tuple[_Taken, asyncio.Task[BatchOutcome]]], slots: asyncio.Semaphore
    ) -> None:
        while True:
            item, write = await writing.get()
            outcome = await write
            slots.release()
            self._acknowledge(item, outcome)
            async with self.committed:
                self.committed.notify_all()

    async def _collect(self) -> list[Message]:
        """Up to ``batch_size`` messages: at once when that many wait, else after the interval."""
        return await self._mqtt.next_batch(self._batch_size, linger_s=self._interval_s)

    def _acknowledge(self, item: _Taken, outcome: BatchOutcome) -> None:
        messages = item.messages
        self._fault("after_commit")
        # End to end: tell each gateway which of its events are durable (unless a store worker did).
        send_acks(self._mqtt.publish_untracked, outcome.acks)
        ack = self._mqtt.ack
        for message in messages:
            if message.qos:
                ack(message.mid, message.qos)
        self._count(messages, outcome)
        log.debug(
            "ingest.batch_committed messages=%s stored=%s duplicates=%s",
            len(messages),
            outcome.stored,
            outcome.duplicates,
        )
        self.metrics.batch_seconds.observe(time.perf_counter() - item.started)
        self.metrics.batch_messages.observe(len(messages))

    async def _write(self, messages: list[Message], now: datetime) -> BatchOutcome:
        return await self._write_pairs(raw(messages), now)

    async def _write_pairs(self, pairs: list[RawMessage], now: datetime) -> BatchOutcome:
        """Store until it succeeds: nothing is acknowledged (or dropped) while the store is down.

        No poison batch: when the store refuses the batch for good (``retryable=False``), the batch
        is written in halves until the refused messages are alone; each of those is dead-lettered
        as ``store_refused`` with the store's reason, and the others are stored."""
        delay = RETRY_MIN_S
        while True:
            try:
                return await self._sink.store_messages(pairs, now)
            except StoreError as exc:
                self.metrics.store_errors.inc()
                if not exc.retryable:
                    return await self._quarantine(pairs, now, exc)
                log.warning("ingest.store_write_failed retry_in_s=%.1f error=%s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _quarantine(self, pairs: list[RawMessage], now: datetime, error: StoreError) -> BatchOutcome:
        if len(pairs) > 1:
            half = len(pairs) // 2
            first = await self._write_pairs(pairs[:half], now)
            return merge(first, await self._write_pairs(pairs[half:], now))
        log.warning("ingest.quarantined topic=%s error=%s", pairs[0][0][:120], error)
        delay = RETRY_MIN_S
        while True:
            try:
                return await self._sink.store_refused(pairs, now, str(error))
            except StoreError as exc:
                self.metrics.store_errors.inc()
                log.error("ingest.dead_letter_write_failed retry_in_s=%.1f error=%s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    def _count(self, messages: list[Message], outcome: BatchOutcome) -> None:
        c, m = self.counters, self.metrics
        c.received += len(messages)
        c.stored += outcome.stored
        c.duplicates += outcome.duplicates
        for channel, count in outcome.channels.items():
            m.received.labels(channel).inc(count)
        m.stored.inc(outcome.stored)
        m.duplicates.inc(outcome.duplicates)
        if outcome.thinned:
            c.thinned += outcome.thinned
            m.thinned.inc(outcome.thinned)
        if outcome.gaps_opened:
            c.seq_gaps += outcome.gaps_opened
            m.seq_gaps.inc(outcome.gaps_opened)
            log.info("ingest.seq_gaps_opened count=%s total=%s", outcome.gaps_opened, c.seq_gaps)
        for reason, rejected in outcome.rejected.items():
            c.rejected[reason] += rejected.count
            m.received.labels("rejected").inc(rejected.count)
            m.rejected.labels(reason).inc(rejected.count)
            log.warning(
                "ingest.rejected reason=%s count=%s topic=%s detail=%s",
                reason,
                rejected.count,
                rejected.topic[:120],
                rejected.detail,
            )

    def _fault(self, point: str) -> None:
        if self._fault_hook is not None:
            self._fault_hook(point)
