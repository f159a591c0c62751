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
from zoneinfo import ZoneInfo

from app.mosquitto import MosquittoProcess
from gateway.outbox import Outbox
from gateway.router import Router
from gateway.service import GatewayService, status_will
from ingest.service import IngestService
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
    broker: MosquittoProcess,
    store_path: Path,
    clock: Clock,
    group: str,
    client_id: str | None = None,
    **options: Any,
) -> AsyncIterator[RunningIngest]:
    """``options`` go to the ingest's MQTT settings (for example username and password)."""
    store = SqliteEventStore(store_path)
    store.open()
    async with mqtt_client(
        broker,
        client_id or f"ingest-{group}",
        clean_start=False,
        session_expiry_s=600,
        manual_ack=True,
        **options,
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
    broker: MosquittoProcess,
    household: str,
    outbox_path: Path,
    clock: Clock,
    local_prefix: str = "home",
    *,
    local_broker: MosquittoProcess | None = None,
    router: Router | None = None,
    outbox: Outbox | None = None,
    drain_rate_per_s: float = 10_000.0,
    publish_window: int = 100,
    heartbeat: timedelta = timedelta(minutes=1),
    ack_timeout: timedelta = timedelta(seconds=60),
) -> AsyncIterator[GatewayService]:
    """A gateway in-process: upstream on ``broker``, local devices on ``local_broker`` (default the same
    broker) with a persistent manual-ack local session, as ``mimamori gateway`` runs it. Without a
    ``router``, native devices under ``local_prefix``."""
    outbox = outbox or Outbox(outbox_path)
    outbox.open()
    router = router or Router(devices_by_id={}, zone=ZoneInfo("Asia/Tokyo"), native_prefix=local_prefix)
    will = status_will(household, "gw-1", clock)
    holder: list[GatewayService] = []
    upstream = MqttClient(
        settings_for(
            "127.0.0.1",
            broker.port,
            f"gw-{household}",
            will=will,
            max_inflight=publish_window,
            require_subscribers=True,
        ),
        on_connect=lambda present: holder[0].upstream_connected(present) if holder else None,
    )
    local = MqttClient(
        settings_for(
            "127.0.0.1",
            (local_broker or broker).port,
            f"gw-local-{household}",
            clean_start=False,
            session_expiry_s=3600,
            manual_ack=True,
        )
    )
    service = GatewayService(
        household=household,
        gateway="gw-1",
        local=local,
        router=router,
        upstream=upstream,
        outbox=outbox,
        clock=clock,
        heartbeat=heartbeat,
        publish_window=publish_window,
        drain_rate_per_s=drain_rate_per_s,
        ack_timeout=ack_timeout,
    )
    holder.append(service)
    await upstream.start()
    await local.start()
    task = asyncio.create_task(service.run())
    try:
        await _ready(service.ready, task)
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await local.stop()
        await upstream.stop()
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
