"""Building blocks for tests that run real stages against a real broker, in-process."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.outbox import Outbox
from gateway.service import GatewayService, status_will
from ingest.service import IngestService
from mimamori.broker import MosquittoProcess
from mimamori.clock import Clock
from mimamori.mqtt import MqttClient, settings_for
from store.sqlite import SqliteEventStore


async def wait_for(
    predicate: Callable[[], bool], condition: asyncio.Condition, timeout_s: float = 20.0
) -> None:
    """Wait until ``predicate()`` holds, re-checking each time ``condition`` is notified."""

    async def _wait() -> None:
        async with condition:
            await condition.wait_for(predicate)

    await asyncio.wait_for(_wait(), timeout_s)


@contextlib.asynccontextmanager
async def mqtt_client(
    broker: MosquittoProcess, client_id: str | None = None, **options: Any
) -> AsyncIterator[MqttClient]:
    client_id = client_id or f"test-{uuid.uuid4().hex[:8]}"
    client = MqttClient(settings_for("127.0.0.1", broker.port, client_id, **options))
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


@dataclass
class RunningIngest:
    service: IngestService
    store: SqliteEventStore


@contextlib.asynccontextmanager
async def running_ingest(
    broker: MosquittoProcess, store_path: Path, clock: Clock, group: str, client_id: str | None = None
) -> AsyncIterator[RunningIngest]:
    store = SqliteEventStore(store_path)
    store.open()
    async with mqtt_client(
        broker, client_id or f"ingest-{group}", clean_start=False, session_expiry_s=600, manual_ack=True
    ) as mqtt:
        service = IngestService(mqtt, store, clock, group, batch_size=500)
        task = asyncio.create_task(service.run())
        await _ready(service.ready, task)
        try:
            yield RunningIngest(service, store)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            store.close()


@contextlib.asynccontextmanager
async def running_gateway(
    broker: MosquittoProcess, household: str, outbox_path: Path, clock: Clock, local_prefix: str
) -> AsyncIterator[GatewayService]:
    outbox = Outbox(outbox_path)
    outbox.open()
    will = status_will(household, "gw-1", clock)
    async with (
        mqtt_client(broker, f"gw-{household}", will=will) as upstream,
        mqtt_client(broker, f"gw-local-{household}") as local,
    ):
        service = GatewayService(
            household=household,
            gateway="gw-1",
            local=local,
            local_prefix=local_prefix,
            upstream=upstream,
            outbox=outbox,
            clock=clock,
            heartbeat=timedelta(minutes=1),
        )
        task = asyncio.create_task(service.run())
        await _ready(service.ready, task)
        try:
            yield service
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            outbox.close()


async def _ready(ready: asyncio.Event, task: asyncio.Task[None]) -> None:
    """Wait until a service says it is ready, or re-raise why its task ended first."""
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({waiter, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        task.result()
        raise AssertionError("service stopped before it was ready")
    if waiter not in done:
        waiter.cancel()
        raise AssertionError("service not ready within 10 s")
