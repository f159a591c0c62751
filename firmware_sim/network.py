"""A home's internet link as a cuttable TCP forwarder: the demo's and fault tests' "outage" switch.

Gateways connect to the broker through a :class:`NetworkLink`. ``cut()`` aborts every connection at
once (no MQTT DISCONNECT reaches the broker, so it publishes the gateway's Last Will) and refuses new
ones until ``restore()``: exactly what the platform sees when a home's router loses its uplink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class NetworkLink:
    def __init__(self, target_host: str, target_port: int, listen_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._listen_host = listen_host
        self._server: asyncio.Server | None = None
        self._up = True
        self._transports: set[asyncio.WriteTransport] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def up(self) -> bool:
        return self._up

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self._listen_host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut(self) -> None:
        """Drop every connection abruptly and refuse new ones."""
        self._up = False
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        log.info("sim.network_link_cut target=%s:%s", *self._target)

    def restore(self) -> None:
        self._up = True
        log.info("sim.network_link_restored target=%s:%s", *self._target)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._transports.update((writer.transport, up_writer.transport))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(CHUNK):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._transports.discard(sink.transport)
            with contextlib.suppress(Exception):
                sink.close()
