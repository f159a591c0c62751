"""IngestService's pipeline with fakes of its broker client and sink: batches stored at once up to
the sink's concurrency, acknowledged in the order they were received, each only after it is stored."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from ingest.service import IngestService
from ingest.sink import BatchOutcome, RawMessage, Rejected
from mimamori import contract
from mimamori.clock import FakeClock
from mimamori.mqtt import Message
from store.base import StoreError
from tests.support.harness import wait_for

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TOPIC = "mimamori/v1/kita-0001/gw-1/events"


class FakeBroker:
    """Hands out prepared batches; records acknowledgements."""

    def __init__(self, batches: list[list[Message]]) -> None:
        self._batches: asyncio.Queue[list[Message]] = asyncio.Queue()
        for batch in batches:
            self._batches.put_nowait(batch)
        self.acked: list[int] = []
        self.sent: list[tuple[str, bytes]] = []

    async def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        return None

    async def next_batch(self, max_messages: int, linger_s: float = 0.0) -> list[Message]:
        return await self._batches.get()

    def pending_messages(self) -> int:
        return self._batches.qsize()

    def ack(self, mid: int, qos: int) -> None:
        self.acked.append(mid)

    def publish_untracked(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))


class GatedSink:
    """Stores a batch when the test opens its gate; counts how many are in the store at once."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.gates: dict[bytes, asyncio.Event] = {}
        self.inside = 0
        self.most_inside = 0
        self.started: list[bytes] = []
        self.changed = asyncio.Condition()

    async def _changed(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def gate(self, first_payload: bytes) -> asyncio.Event:
        return self.gates.setdefault(first_payload, asyncio.Event())

    async def store_messages(self, messages: Sequence[RawMessage], now: datetime) -> BatchOutcome:
        first = messages[0][1]
        self.started.append(first)
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        await self._changed()
        await self.gate(first).wait()
        self.inside -= 1
        await self._changed()
        return BatchOutcome(stored=len(messages), duplicates=0)

    async def store_refused(self, messages: Sequence[RawMessage], now: datetime, detail: str) -> BatchOutcome:
        raise AssertionError("nothing is refused here")


class PoisonSink:
    """Refuses for good any batch holding a ``poison`` payload, as a store rejecting a point would."""

    concurrency = 1

    def __init__(self) -> None:
        self.stored: list[bytes] = []
        self.refused: list[tuple[bytes, str]] = []

    async def store_messages(self, messages: Sequence[RawMessage], now: datetime) -> BatchOutcome:
        if any(payload.startswith(b"poison") for _, payload in messages):
            raise StoreError("point refused: field type conflict", retryable=False)
        self.stored += [payload for _, payload in messages]
        acks = {("kita-0001", "gw-1"): [int(p) for _, p in messages]}
        return BatchOutcome(stored=len(messages), duplicates=0, channels={"events": len(messages)}, acks=acks)

    async def store_refused(self, messages: Sequence[RawMessage], now: datetime, detail: str) -> BatchOutcome:
        self.refused += [(payload, detail) for _, payload in messages]
        rejected = {"store_refused": Rejected(len(messages), messages[0][0], detail)}
        return BatchOutcome(stored=0, duplicates=0, rejected=rejected)


def batch(first_mid: int, size: int) -> list[Message]:
    return [Message(TOPIC, b"%d" % mid, 1, False, mid) for mid in range(first_mid, first_mid + size)]


async def test_batches_stored_at_once_are_acknowledged_in_order_and_only_once_stored() -> None:
    broker = FakeBroker([batch(1, 3), batch(4, 2), batch(6, 2)])
    sink = GatedSink(concurrency=2)
    service = IngestService(broker, sink, FakeClock(NOW), "ingest", batch_size=10)  # type: ignore[arg-type]
    task = asyncio.create_task(service.run())
    try:
        await wait_for(lambda: sink.started == [b"1", b"4"], sink.changed, 5)  # two in the store at once
        sink.gate(b"4").set()  # the second is stored first...
        await wait_for(lambda: sink.inside == 1, sink.changed, 5)
        assert broker.acked == []  # ...but nothing is acknowledged before the first is stored
        assert sink.started == [b"1", b"4"]  # and no third batch enters while both slots are taken
        sink.gate(b"1").set()
        await wait_for(lambda: broker.acked == [1, 2, 3, 4, 5], service.committed, 5)  # in order
        await wait_for(lambda: sink.started == [b"1", b"4", b"6"], sink.changed, 5)  # the free slot
        sink.gate(b"6").set()
        await wait_for(lambda: broker.acked == [1, 2, 3, 4, 5, 6, 7], service.committed, 5)
        assert sink.most_inside == 2
        assert service.counters.stored == 7
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_point_refused_for_good_is_dead_lettered_and_the_rest_of_its_batch_goes_through() -> None:
    messages = batch(1, 7)
    messages[4] = Message(TOPIC, b"poison", 1, False, 5)
    broker = FakeBroker([messages, batch(8, 2)])
    sink = PoisonSink()
    service = IngestService(broker, sink, FakeClock(NOW), "ingest", batch_size=10)  # type: ignore[arg-type]
    task = asyncio.create_task(service.run())
    try:
        await wait_for(lambda: broker.acked == list(range(1, 10)), service.committed, 5)  # not blocked
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(sink.stored) == [b"%d" % n for n in (1, 2, 3, 4, 6, 7, 8, 9)]
    assert sink.refused == [(b"poison", "point refused: field type conflict")]
    assert service.counters.rejected == {"store_refused": 1}
    assert service.counters.stored == 8
    # Each durable batch is acknowledged end to end to its gateway, with every stored seq.
    acked = [contract.decode_ack(topic, payload) for topic, payload in broker.sent]
    assert {seq for ack in acked for seq in ack.seqs} == {1, 2, 3, 4, 6, 7, 8, 9}
    assert {(a.household, a.gateway) for a in acked} == {("kita-0001", "gw-1")}
