"""The gateway process: local readings into the outbox, the outbox upstream, status and heartbeats."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from gateway.native import decode_reading
from gateway.outbox import Outbox
from mimamori import contract
from mimamori.clock import Clock
from mimamori.mqtt import MqttClient, Will

log = logging.getLogger(__name__)


def status_will(household: str, gateway: str, clock: Clock) -> Will:
    """The Last Will the broker publishes (retained) if this gateway disappears uncleanly."""
    status = contract.GatewayStatus(household, gateway, contract.GatewayState.OFFLINE, clock.now())
    return Will(contract.topic(household, gateway, contract.Channel.STATUS), status.encode())


class GatewayService:
    """Relays one home's local readings upstream without losing any."""

    def __init__(
        self,
        *,
        household: str,
        gateway: str,
        local: MqttClient,
        local_prefix: str,
        upstream: MqttClient,
        outbox: Outbox,
        clock: Clock,
        heartbeat: timedelta,
        publish_window: int = 200,
    ) -> None:
        self._household = household
        self._gateway = gateway
        self._local = local
        self._prefix = local_prefix.rstrip("/")
        self._upstream = upstream
        self._outbox = outbox
        self._clock = clock
        self._heartbeat = heartbeat
        self._window = publish_window
        self._has_work = asyncio.Event()
        self.ready = asyncio.Event()
        self.rejected = 0
        self.forwarded = 0

    async def run(self) -> None:
        """Run until cancelled; the MQTT clients must be started and the outbox open."""
        await self._announce()
        await self._local.subscribe(f"{self._prefix}/+/+")
        self._has_work.set()  # drain anything left from before a restart
        self.ready.set()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._read_local())
            tasks.create_task(self._drain())
            tasks.create_task(self._beat())

    async def _announce(self) -> None:
        online = contract.GatewayStatus(
            self._household, self._gateway, contract.GatewayState.ONLINE, self._clock.now()
        )
        await self._upstream.publish(
            contract.topic(self._household, self._gateway, contract.Channel.STATUS),
            online.encode(),
            retain=True,
        )

    async def _read_local(self) -> None:
        events_topic = contract.topic(self._household, self._gateway, contract.Channel.EVENTS)
        while True:
            for message in await self._local.next_batch(500):
                try:
                    reading = decode_reading(
                        message.topic.removeprefix(self._prefix + "/"), message.payload, self._clock.now()
                    )
                except contract.ContractError as exc:
                    self.rejected += 1
                    log.warning("local_reading_rejected topic=%s reason=%s", message.topic[:120], exc.reason)
                    continue
                event = contract.Event(
                    message_id=contract.message_id_for(
                        self._household, reading.device, reading.kind, reading.value, reading.observed_at
                    ),
                    household=self._household,
                    gateway=self._gateway,
                    device=reading.device,
                    kind=reading.kind,
                    value=reading.value,
                    observed_at=reading.observed_at,
                    seq=self._outbox.next_seq(),
                )
                self._outbox.put(events_topic, event)
            self._has_work.set()

    async def _drain(self) -> None:
        while True:
            await self._has_work.wait()
            self._has_work.clear()
            while rows := self._outbox.peek(self._window):
                acks = [self._upstream.publish_nowait(topic, payload) for _, topic, payload in rows]
                await asyncio.gather(*acks)
                self._outbox.delete([row_id for row_id, _, _ in rows])
                self.forwarded += len(rows)

    async def _beat(self) -> None:
        heartbeat_topic = contract.topic(self._household, self._gateway, contract.Channel.HEARTBEAT)
        seq = 0
        while True:
            seq += 1
            beat = contract.Heartbeat(
                self._household, self._gateway, self._clock.now(), seq, self._outbox.depth()
            )
            self._upstream.publish_nowait(heartbeat_topic, beat.encode(), qos=0)
            await asyncio.sleep(self._heartbeat.total_seconds())
