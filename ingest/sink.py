"""Where a batch of raw messages goes: decoded and written here, or in a store worker process.

The ingest process spends most of its interpreter on paho (the MQTT session). With SQLite, the
decode and the transaction run in a worker process of their own (its own GIL, the machine's other
core), and only raw ``(topic, payload)`` pairs and a small :class:`BatchOutcome` cross the process
boundary. The caller acknowledges the messages only after :meth:`MessageSink.store_messages`
returns, so a crash of either process loses nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from ingest.admission import Admission
from ingest.decode import Acks, RawMessage, acknowledgements, decode_batch
from ingest.thinning import ClimateThinner
from mimamori.contract import TOPIC_ROOT, TOPIC_VERSION, Kind, Reason, ack_payloads
from mimamori.mqtt import Message, MqttSettings, SyncPublisher
from store.base import DEAD_LETTER_PAYLOAD_BYTES, BatchResult, BatchWriter, IngestBatch, Rejection, StoreError
from store.sqlite import SqliteEventStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rejected:
    count: int
    topic: str  # of the first message rejected for this reason in the batch
    detail: str


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What happened to one batch, for counters, metrics and logs."""

    stored: int
    duplicates: int
    channels: dict[str, int] = field(default_factory=dict)  # accepted messages per channel
    rejected: dict[str, Rejected] = field(default_factory=dict)  # by reason
    acks: Acks = field(default_factory=dict)  # to tell each gateway once the batch is durable
    gaps_opened: int = 0  # ranges of a gateway's seq this batch skipped (docs/storage.md)
    thinned: int = 0  # climate readings let go as redundant (docs/climate.md)


def outcome_of(batch: IngestBatch, result: BatchResult) -> BatchOutcome:
    rejected: dict[str, Rejected] = {}
    counts = Counter(r.reason for r in batch.rejections)
    for r in batch.rejections:
        rejected.setdefault(r.reason, Rejected(counts[r.reason], r.topic, r.detail))
    channels = {
        "events": len(batch.events) + len(batch.thinned),
        "status": len(batch.statuses),
        "heartbeat": len(batch.heartbeats),
    }
    return BatchOutcome(
        result.stored,
        result.duplicates,
        channels,
        rejected,
        acknowledgements(batch),
        result.gaps_opened,
        len(batch.thinned),
    )


def merge(first: BatchOutcome, second: BatchOutcome) -> BatchOutcome:
    """The outcome of a batch written as two parts, in this order."""
    channels = Counter(first.channels)
    channels.update(second.channels)
    rejected = dict(first.rejected)
    for reason, r in second.rejected.items():
        earlier = rejected.get(reason)
        rejected[reason] = (
            r if earlier is None else Rejected(earlier.count + r.count, earlier.topic, earlier.detail)
        )
    acks = {key: list(seqs) for key, seqs in first.acks.items()}
    for key, seqs in second.acks.items():
        acks.setdefault(key, []).extend(seqs)
    return BatchOutcome(
        first.stored + second.stored,
        first.duplicates + second.duplicates,
        dict(channels),
        rejected,
        acks,
        first.gaps_opened + second.gaps_opened,
        first.thinned + second.thinned,
    )


def refused_batch(messages: Sequence[RawMessage], now: datetime, detail: str) -> IngestBatch:
    """A batch holding only dead letters: ``messages`` the store refused for good (quarantined)."""
    return IngestBatch(
        received_at=now,
        rejections=[
            Rejection(
                now,
                topic[:256],
                Reason.STORE_REFUSED.value,
                detail[:300],
                payload[:DEAD_LETTER_PAYLOAD_BYTES],
            )
            for topic, payload in messages
        ],
    )


def raw(messages: Sequence[Message]) -> list[RawMessage]:
    return [(m.topic, m.payload) for m in messages]


@runtime_checkable
class MessageSink(Protocol):
    concurrency: int
    """How many batches may be stored at once (ingest acknowledges them in order all the same)."""

    async def store_messages(self, messages: Sequence[RawMessage], now: datetime) -> BatchOutcome:
        """Decode and durably store a batch; raises :class:`StoreError`."""
        ...

    async def store_refused(self, messages: Sequence[RawMessage], now: datetime, detail: str) -> BatchOutcome:
        """Durably dead-letter ``messages`` as ``store_refused`` (the store refused them for good);
        raises :class:`StoreError`."""
        ...


class LocalSink:
    """Decode in this process and write through any :class:`BatchWriter` (InfluxDB, tests)."""

    concurrency = 1

    def __init__(
        self, writer: BatchWriter, admission: Admission | None = None, thinner: ClimateThinner | None = None
    ) -> None:
        self._writer = writer
        self._admission = admission
        self._thinner = thinner or ClimateThinner()

    async def store_messages(self, messages: Sequence[RawMessage], now: datetime) -> BatchOutcome:
        admitted = None if self._admission is None else self._admission.current()
        batch, kept = self._thinner.thin(decode_batch(messages, now, admitted))
        outcome = outcome_of(batch, await self._writer.write_batch(batch))
        self._thinner.remember(kept)
        return outcome

    async def store_refused(self, messages: Sequence[RawMessage], now: datetime, detail: str) -> BatchOutcome:
        batch = refused_batch(messages, now, detail)
        return outcome_of(batch, await self._writer.write_batch(batch))


class SqliteWorkerSink:
    """Decode and commit in worker processes, each with its own SQLite connection.

    With two workers, one decodes and prepares a batch while the other commits: SQLite's write
    lock (``BEGIN IMMEDIATE``) takes the transactions one at a time, and the store's upserts keep
    live state right whatever order they commit in.
    """

    def __init__(
        self,
        path: Path,
        *,
        dead_letter_limit: int = 10_000,
        synchronous: str = "FULL",
        workers: int = 2,
        registry_path: Path | None = None,
        registry_refresh_s: float = 30.0,
        acks: MqttSettings | None = None,
        thinner: ClimateThinner | None = None,
    ) -> None:
        """``acks``: the broker connection each worker sends the end-to-end acknowledgements on, right
        after its commit (off the ingest process's interpreter); None: ingest sends them itself.
        ``thinner``: each worker thins climate readings with a copy of it (default: ``[climate]``'s)."""
        registry = None if registry_path is None else str(registry_path)
        thin = thinner or ClimateThinner()
        self._args = (
            str(path),
            dead_letter_limit,
            synchronous,
            registry,
            registry_refresh_s,
            acks,
            (thin.every, thin.steps),
        )
        self.concurrency = workers
        self._pool: ProcessPoolExecutor | None = None
        self._restarting = asyncio.Lock()

    async def start(self) -> None:
        """Start the worker and open the store in it (errors surface here)."""
        self._pool = ProcessPoolExecutor(
            max_workers=self.concurrency,
            mp_context=multiprocessing.get_context("spawn"),  # never fork a threaded process
            initializer=_open_store,
            initargs=self._args,
        )
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, _ping)
        except BrokenProcessPool as exc:
            await self.stop()
            raise StoreError(f"the store worker could not open {self._args[0]}", retryable=False) from exc

    async def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True)

    async def store_messages(self, messages: Sequence[RawMessage], now: datetime) -> BatchOutcome:
        return await self._run(_store, list(messages), now)

    async def store_refused(self, messages: Sequence[RawMessage], now: datetime, detail: str) -> BatchOutcome:
        return await self._run(_store_refused, list(messages), now, detail)

    async def _run(self, fn: Callable[..., BatchOutcome], *args: object) -> BatchOutcome:
        async with self._restarting:  # never submit to a pool being replaced
            pool = self._pool
        if pool is None:
            raise StoreError("store worker is not running", retryable=False)
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenProcessPool as exc:
            async with self._restarting:
                if self._pool is pool:  # the first batch to notice restarts the pool, once
                    log.warning("ingest.store_worker_died restarting=true error=%s", exc)
                    await self.stop()
                    await self.start()
            raise StoreError("store worker died; batch not acknowledged", retryable=True) from exc


# --------------------------------------------------------------------------- in the worker process

_worker_store: list[SqliteEventStore] = []
"""The worker process's one store, opened by the pool initializer (a process-wide resource of
that process, as ProcessPoolExecutor initializers require)."""
_worker_admission: list[Admission] = []
"""The worker's view of the registry (none: every household is accepted)."""
_worker_acks: list[SyncPublisher] = []
"""The worker's connection for end-to-end acknowledgements (none: the ingest process sends them)."""
_worker_thinner = ClimateThinner()
"""The worker's memory of the climate readings it stored (each worker thins what it sees)."""


def _open_store(
    path: str,
    dead_letter_limit: int,
    synchronous: str,
    registry: str | None,
    refresh_s: float,
    acks: MqttSettings | None,
    thinning: tuple[timedelta, dict[Kind, float]],
) -> None:
    _die_with_parent()
    _worker_thinner.every, _worker_thinner.steps = thinning
    store = SqliteEventStore(Path(path), dead_letter_limit=dead_letter_limit, synchronous=synchronous)
    store.open()
    _worker_store.append(store)
    if registry is not None:
        _worker_admission.append(Admission(Path(registry), refresh_s))
    if acks is not None:
        publisher = SyncPublisher(replace(acks, client_id=f"{acks.client_id}-{os.getpid()}"))
        if not publisher.start():
            log.warning("ingest.ack_connection_pending client=%s", acks.client_id)
        _worker_acks.append(publisher)


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the ingest process dies (even by SIGKILL), so no orphan keeps
    the store open or writes a batch nobody will acknowledge."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() == 1:  # the parent is already gone
        os._exit(1)


def _ping() -> None:
    if not _worker_store:
        raise StoreError("store worker has no store", retryable=False)


def _store(messages: list[RawMessage], now: datetime) -> BatchOutcome:
    admitted = _worker_admission[0].current() if _worker_admission else None
    batch, kept = _worker_thinner.thin(decode_batch(messages, now, admitted))
    outcome = outcome_of(batch, _worker_store[0].commit_batch(batch))
    _worker_thinner.remember(kept)
    return _acknowledged(outcome)


def _store_refused(messages: list[RawMessage], now: datetime, detail: str) -> BatchOutcome:
    batch = refused_batch(messages, now, detail)
    return _acknowledged(outcome_of(batch, _worker_store[0].commit_batch(batch)))


def _acknowledged(outcome: BatchOutcome) -> BatchOutcome:
    """Committed: send the end-to-end acknowledgements from here when this worker has a connection."""
    if not _worker_acks or not outcome.acks:
        return outcome
    send_acks(_worker_acks[0].publish, outcome.acks)
    return replace(outcome, acks={})


def send_acks(send: Callable[[str, bytes], None], acks: Acks) -> None:
    """Each gateway's acknowledgement on its ack topic (QoS 0: a lost one only makes the gateway send
    those events again, and they are stored once)."""
    for (household, gateway), seqs in acks.items():
        topic = f"{TOPIC_ROOT}/{TOPIC_VERSION}/{household}/{gateway}/ack"
        for payload in ack_payloads(household, gateway, seqs):
            send(topic, payload)
