"""A pure-Python MQTT v5 broker started in-process, for the demo on machines without mosquitto.

It wraps ``moat-lib-mqtt``'s AnyIO broker ("for very lightweight scenarios"). It carries what the
demo's clients need from :mod:`mimamori.mqtt`: MQTT v5 connects, QoS 1 publish and subscribe with
acknowledgements, retained messages and Last Wills. It does **not** implement shared subscriptions
(``$share/group/...`` filters never match) nor keep the sessions of disconnected clients, so the
demo's single ingest subscribes without a share group on it, and nothing it holds survives a stop.
Production and the tests use mosquitto (:mod:`app.mosquitto`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Protocol

import anyio
from moat.lib.mqtt.async_broker import AsyncMQTTBroker

from app.mosquitto import BrokerError, MosquittoProcess, mosquitto_path

log = logging.getLogger(__name__)


class EmbeddedBroker:
    """An in-process broker on 127.0.0.1. The constructor does no I/O; start/stop own its task."""

    supports_shared_subscriptions = False

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 10.0) -> None:
        """Listen (on a free port when ``port`` is 0) and return once clients can connect."""
        loop = asyncio.get_running_loop()
        listening: asyncio.Future[int] = loop.create_future()
        self._task = asyncio.create_task(self._serve(listening), name="embedded-broker")
        try:
            self.port = await asyncio.wait_for(asyncio.shield(listening), timeout_s)
        except (TimeoutError, OSError) as exc:
            await self.stop()
            raise BrokerError(f"embedded broker did not start: {exc!r}") from None
        log.info("broker.embedded_listening port=%s", self.port)

    async def _serve(self, listening: asyncio.Future[int]) -> None:
        try:
            async with anyio.create_task_group() as tasks:
                port = await tasks.start(AsyncMQTTBroker(("127.0.0.1", self.port)).serve)
                listening.set_result(int(port))
        except BaseException as exc:
            if not listening.done():
                listening.set_exception(exc if isinstance(exc, Exception) else OSError(str(exc)))
            raise

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()


class DemoBroker(Protocol):
    """What the demo needs of either broker."""

    port: int
    supports_shared_subscriptions: bool

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class _Mosquitto:
    """:class:`MosquittoProcess` with the async face of :class:`DemoBroker`."""

    supports_shared_subscriptions = True

    def __init__(self, process: MosquittoProcess) -> None:
        self.process = process
        self.port = process.port

    async def start(self) -> None:
        await asyncio.to_thread(self.process.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self.process.stop)


def demo_broker(data_dir: Path) -> DemoBroker:
    """Mosquitto (persistence in ``data_dir``) when installed, otherwise an :class:`EmbeddedBroker`."""
    try:
        mosquitto_path()
    except BrokerError:
        log.warning("broker.fallback reason=mosquitto_not_installed broker=embedded")
        return EmbeddedBroker()
    return _Mosquitto(MosquittoProcess(data_dir))
