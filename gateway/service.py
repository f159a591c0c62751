"""The gateway process: local messages → readings → outbox; the outbox upstream at QoS 1; status, heartbeats.

Delivery: a local message is acknowledged to the home's broker only after its readings are committed
to the outbox (manual ack on a persistent local session), and an outbox row is deleted only after the
upstream broker's PUBACK. A crash anywhere re-sends rather than loses; the content-derived message id
makes the re-send harmless downstream.

Draining: events that arrive while connected are *live* and go first; rows that were already waiting
when the connection came up (an outage's backlog, or what a restart found) are drained at
``drain_rate_per_s`` in the room the live events leave. At most ``publish_window`` messages are
unacknowledged at any time (paho's own limit is 65,535).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gateway.native import Reading
from gateway.outbox import Outbox
from gateway.router import Router
from mimamori import contract
from mimamori.clock import Clock
from mimamori.mqtt import MqttClient, MqttError, NoSubscribersError, Will

log = logging.getLogger(__name__)


def status_will(household: str, gateway: str, clock: Clock) -> Will:
    """The Last Will the broker publishes (retained) if this gateway disappears uncleanly."""
    status = contract.GatewayStatus(household, gateway, contract.GatewayState.OFFLINE, clock.now())
    return Will(contract.topic(household, gateway, contract.Channel.STATUS), status.encode())


@dataclass
class GatewayCounters:
    received: int = 0  # local messages
    readings: int = 0  # readings put into the outbox
    forwarded: int = 0  # events acknowledged upstream
    republished: int = 0  # events sent again after their acknowledgement was overdue
    no_subscribers: int = 0  # events held back because nobody upstream was subscribed


class GatewayService:
    """Relays one home's local devices upstream without losing any reading."""

    def __init__(
        self,
        *,
        household: str,
        gateway: str,
        local: MqttClient,
        router: Router,
        upstream: MqttClient,
        outbox: Outbox,
        clock: Clock,
        heartbeat: timedelta,
        publish_window: int = 100,
        drain_rate_per_s: float = 200.0,
        ack_timeout: timedelta = timedelta(seconds=60),
    ) -> None:
        self._household = household
        self._gateway = gateway
        self._local = local
        self._router = router
        self._upstream = upstream
        self._outbox = outbox
        self._clock = clock
        self._heartbeat = heartbeat
        self._window = publish_window
        self._rate = drain_rate_per_s
        self._ack_timeout = ack_timeout.total_seconds()
        self._events_topic = contract.topic(household, gateway, contract.Channel.EVENTS)
        self._floor = 0
        self._retries = 0
        self._no_subscribers_since: float | None = None
        self._has_work = asyncio.Event()
        self.ready = asyncio.Event()
        self.progress = asyncio.Condition()
        """Notified whenever readings enter the outbox or events are acknowledged upstream."""
        self.counters = GatewayCounters()

    @property
    def rejected(self) -> int:
        return sum(self._router.rejected.values())

    @property
    def dropped(self) -> int:
        return self._outbox.dropped

    def upstream_connected(self, session_present: bool = False) -> None:
        """Call on every (re)connection upstream: announce ``online`` (retained; a Last Will may have
        said ``offline`` meanwhile) and treat everything already waiting as backlog. Before
        :meth:`run` has subscribed to the home's devices this does nothing: ``online`` means listening."""
        if not self.ready.is_set():
            return
        self._floor = self._outbox.max_id()
        online = contract.GatewayStatus(
            self._household, self._gateway, contract.GatewayState.ONLINE, self._clock.now()
        )
        status_topic = contract.topic(self._household, self._gateway, contract.Channel.STATUS)
        self._upstream.publish_nowait(status_topic, online.encode(), retain=True).add_done_callback(_retrieve)
        log.info("gateway.online household=%s backlog_floor=%s", self._household, self._floor)
        self._has_work.set()

    async def run(self) -> None:
        """Run until cancelled; the MQTT clients must be started and the outbox open."""
        self._router.restore_state(self._outbox.device_state())
        for topic_filter in self._router.subscriptions():
            await self._local.subscribe(topic_filter)
        self.ready.set()
        self.upstream_connected()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._read_local())
            tasks.create_task(self._drain())
            tasks.create_task(self._beat())

    async def _read_local(self) -> None:
        while True:
            batch = await self._local.next_batch(500)
            now = self._clock.now()
            readings: list[Reading] = []
            for message in batch:
                readings += self._router.handle(message.topic, message.payload, now)
            state = self._router.take_changes()
            stored = self._outbox.put_many(self._events_topic, readings, self._encode, state)
            for message in batch:
                if message.qos > 0:
                    self._local.ack(message.mid, message.qos)
            self.counters.received += len(batch)
            self.counters.readings += stored
            self._has_work.set()
            await self._notify()

    def _encode(self, reading: Reading, seq: int) -> bytes:
        return contract.Event(
            message_id=contract.message_id_for(
                self._household, reading.device, reading.kind, reading.value, reading.observed_at
            ),
            household=self._household,
            gateway=self._gateway,
            device=reading.device,
            kind=reading.kind,
            value=reading.value,
            observed_at=reading.observed_at,
            seq=seq,
        ).encode()

    async def _drain(self) -> None:
        tokens = float(self._window)
        last = time.monotonic()
        while True:
            self._has_work.clear()
            now = time.monotonic()
            tokens = min(float(self._window), tokens + (now - last) * self._rate)
            last = now
            live = self._outbox.peek_after(self._floor, self._window)
            backlog = self._outbox.peek_upto(self._floor, min(self._window - len(live), int(tokens)))
            if not live and not backlog:
                waiting = self._outbox.peek_upto(self._floor, 1)
                # Backlog waiting for its rate: wake when a token is due, or earlier for live events.
                timeout = (1.0 / self._rate) if waiting else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._has_work.wait(), timeout)
                continue
            tokens -= len(backlog)
            rows = live + backlog
            if await self._publish(rows):
                self._outbox.delete([row_id for row_id, _, _ in rows])
                self.counters.forwarded += len(rows)
                await self._notify()

    async def _publish(self, rows: list[tuple[int, str, bytes]]) -> bool:
        """Publish ``rows`` and wait for every PUBACK. False means "try these rows again"."""
        acks = asyncio.gather(*(self._upstream.publish_nowait(topic, payload) for _, topic, payload in rows))
        acks.add_done_callback(_retrieve)  # a stop or cancellation mid-wait must not leave it unread
        while True:
            done, _ = await asyncio.wait({acks}, timeout=self._ack_timeout)
            if done:
                try:
                    acks.result()
                except NoSubscribersError:
                    # The broker took them but nobody (no ingest) was subscribed: not delivered.
                    if self._no_subscribers_since is None:
                        self._no_subscribers_since = time.monotonic()
                        log.warning(
                            "gateway.upstream_no_subscribers count=%s holding events and retrying", len(rows)
                        )
                    self.counters.no_subscribers += len(rows)
                    await asyncio.sleep(self._retry_delay())
                    return False
                except MqttError as exc:
                    log.error(
                        "gateway.upstream_refused_events count=%s error=%s (check broker ACL)", len(rows), exc
                    )
                    await asyncio.sleep(self._retry_delay())
                    return False
                if self._no_subscribers_since is not None:
                    log.info(
                        "gateway.upstream_subscribers_back after_s=%.1f",
                        time.monotonic() - self._no_subscribers_since,
                    )
                    self._no_subscribers_since = None
                self._retries = 0
                return True
            if self._upstream.is_connected:
                # Connected yet unacknowledged for too long: send again (same ids, stored once).
                log.warning("gateway.upstream_acks_overdue count=%s republishing", len(rows))
                self.counters.republished += len(rows)
                acks.cancel()
                return False
            # Disconnected: paho re-sends unacknowledged messages itself after reconnecting.

    def _retry_delay(self) -> float:
        self._retries += 1
        return float(min(0.2 * 2 ** min(self._retries, 8), 30.0))

    async def _beat(self) -> None:
        heartbeat_topic = contract.topic(self._household, self._gateway, contract.Channel.HEARTBEAT)
        seq = 0
        while True:
            if self._upstream.is_connected:
                seq += 1
                beat = contract.Heartbeat(
                    self._household, self._gateway, self._clock.now(), seq, self._outbox.depth()
                )
                self._upstream.publish_nowait(heartbeat_topic, beat.encode(), qos=0).add_done_callback(
                    _retrieve
                )
            await asyncio.sleep(self._heartbeat.total_seconds())

    async def _notify(self) -> None:
        async with self.progress:
            self.progress.notify_all()


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
