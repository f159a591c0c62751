"""The SQLite store worker process: decodes and commits in a process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import pickle
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.sink import BatchOutcome, SqliteWorkerSink
from mimamori import contract
from store.base import StoreError
from store.sqlite import SqliteEventStore

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TOPIC = "mimamori/v1/kita-0001/gw-1/events"


def event(n: int) -> bytes:
    return contract.Event(
        f"worker-{n:06d}", "kita-0001", "gw-1", "hall-motion", contract.Kind.MOTION, 1, NOW, n
    ).encode()


async def test_the_worker_stores_and_reports_what_happened(tmp_path: Path) -> None:
    sink = SqliteWorkerSink(tmp_path / "events.sqlite3")
    await sink.start()
    try:
        first = await sink.store_messages([(TOPIC, event(1)), (TOPIC, event(2)), (TOPIC, b"{bad")], NOW)
        again = await sink.store_messages([(TOPIC, event(1))], NOW)
    finally:
        await sink.stop()
    assert (first.stored, first.duplicates, first.channels["events"]) == (2, 0, 2)
    assert first.rejected["malformed_json"].count == 1
    assert first.rejected["malformed_json"].topic == TOPIC
    assert (again.stored, again.duplicates) == (0, 1)
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    try:
        assert store.count_events("kita-0001") == 2
        assert [r.reason for r in store.dead_letters()] == ["malformed_json"]
    finally:
        store.close()


async def test_a_store_the_worker_cannot_open_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.sqlite3"
    bad.write_bytes(json.dumps({"x": 1}).encode() * 100)
    sink = SqliteWorkerSink(bad)
    with pytest.raises(StoreError, match="could not open") as refused:
        await sink.start()
    assert not refused.value.retryable
    with pytest.raises(StoreError, match="not running"):
        await sink.store_messages([(TOPIC, event(1))], NOW)


async def test_killed_workers_fail_their_batches_retryably_and_are_replaced_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = SqliteWorkerSink(tmp_path / "events.sqlite3", workers=2)
    await sink.start()
    try:
        await asyncio.gather(*(sink.store_messages([(TOPIC, event(n))], NOW) for n in (1, 2)))
        for worker in multiprocessing.active_children():
            # The pool may already have reaped a sibling once the first one died.
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid or 0, signal.SIGKILL)
            worker.join()
        batches = [[(TOPIC, event(3))], [(TOPIC, event(4))]]
        first = await asyncio.gather(*(sink.store_messages(b, NOW) for b in batches), return_exceptions=True)
        # A batch sent to the dead pool fails retryably; one that waited for the restart is stored.
        assert any(isinstance(r, StoreError) for r in first)
        assert all(isinstance(r, BatchOutcome) or (isinstance(r, StoreError) and r.retryable) for r in first)
        again = [b for b, r in zip(batches, first, strict=True) if isinstance(r, StoreError)]
        assert all(r.stored == 1 for r in await asyncio.gather(*(sink.store_messages(b, NOW) for b in again)))
        assert caplog.text.count("ingest.store_worker_died") == 1  # one new pool, not one per failed batch
    finally:
        await sink.stop()


def test_store_errors_survive_the_process_boundary() -> None:
    error = pickle.loads(pickle.dumps(StoreError("disk full", retryable=False)))
    assert (str(error), error.retryable) == ("disk full", False)
