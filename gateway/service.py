"""The gateway process: local messages → readings → outbox; the outbox upstream at QoS 1; status, heartbeats.

Delivery: a local message is acknowledged to the home's broker only after its readings are committed
to the outbox (manual ack on a persistent local session), and an outbox row is deleted only when
ingest says the event is in the store (``contract.Ack`` on the gateway's ``ack`` topic, by seq): a
broker PUBACK alone is not enough, since mosquitto acknowledges before it saves. A row PUBACKed but
not acknowledged by ingest within ``ack_timeout`` (or when the connection comes back) is sent again.
A crash anywhere re-sends rather than loses; the content-derived message id makes the re-send
harmless downstream. A row the broker refuses for good (too large) is dead-lettered in the outbox file.

Draining: events that arrive while connected are *live* and go first; rows that were already waiting
when the connection came up (an outage's backlog, or what a restart found) are drained at
``drain_rate_per_s`` in the room the live events leave. At most ``publish_window`` messages are
not yet acknowledged by ingest at any time (paho's own limit is 65,535).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from gateway.native import Reading
from gateway.outbox import Outbox, Row
from gateway.router import Router
from mimamori import contract
from mimamori.clock import Clock
from mimamori.mqtt import MqttClient, NoSubscribersError, PublishRefusedError, Will

log = logging.getLogger(__name__)

REFUSED_FOR_GOOD: Final = frozenset({131, 149})
"""PUBACK reason codes that will not change on a retry: mosquitto answers 131 (implementation
specific error) to a message above its ``message_size_limit``; 149 is "packet too large"."""


def status_will(household: str, gateway: str, clock: Clock) -> Will:
    """The Last Will the broker publishes (retained) if this gateway disappears uncleanly."""
    status = contract.GatewayStatus(household, gateway, contract.GatewayState.OFFLINE, clock.now())
    return Will(contract.topic(household, gateway, contract.Channel.STATUS), status.encode())


@dataclass
class GatewayCounters:
    received: int = 0  # local messages
    readings: int = 0  # readings put into the outbox
    forwarded: int = 0  # events ingest acknowledged as stored (deleted from the outbox)
    republished: int = 0  # events sent again after their acknowledgement was overdue
    dead_lettered: int = 0  # events the upstream broker refused for good (too large)
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
        self._acks_topic = contract.topic(household, gateway, contract.Channel.ACK)
        self._awaiting: dict[int, float] = {}
        """Outbox row id → when (monotonic) ingest's acknowledgement is overdue: PUBACKed, not yet stored."""
        self._acks_received = 0
        self._told_no_acks = False
        self._publishing: set[int] = set()  # row ids waiting for their PUBACK
        self._stored_early: set[int] = set()  # of those, the ones ingest acknowledged already
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
        # The broker may have lost what it acknowledged but had not yet saved (a crash between
        # autosaves): what still waits for ingest goes out again, as backlog.
        self._awaiting.clear()
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
        await self._upstream.subscribe(self._acks_topic, qos=1)
        self.ready.set()
        self.upstream_connected()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._read_local())
            tasks.create_task(self._drain())
            tasks.create_task(self._read_acks())
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
            self._expire_overdue(now)
            free = self._window - len(self._awaiting)
            live = self._unsent(self._outbox.peek_after, free)
            backlog = self._unsent(self._outbox.peek_upto, min(free - len(live), int(tokens)))
            if not live and not backlog:
                timeouts = [deadline - now for deadline in self._awaiting.values()]
                if free > 0 and self._unsent(self._outbox.peek_upto, 1):
                    # Backlog waiting for its rate: wake when a token is due, or earlier for live events.
                    timeouts.append(1.0 / self._rate)
                # asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation that
                # lands as the event is set, and the gateway then never stops.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(min(timeouts), 0.01) if timeouts else None):
                        await self._has_work.wait()
                continue
            tokens -= len(backlog)
            await self._publish(live + backlog)
            await self._notify()

    def _unsent(self, peek: Callable[[int, int], list[Row]], limit: int) -> list[Row]:
        """Up to ``limit`` rows from ``peek`` that are not already waiting for ingest's acknowledgement."""
        if limit <= 0:
            return []
        rows = peek(self._floor, limit + len(self._awaiting))
        return [row for row in rows if row[0] not in self._awaiting][:limit]

    def _expire_overdue(self, now: float) -> None:
        """Rows ingest has not acknowledged in time go out again (same ids: stored once)."""
        if not self._upstream.is_connected:
            return
        overdue = [row_id for row_id, deadline in self._awaiting.items() if deadline <= now]
        if overdue:
            for row_id in overdue:
                del self._awaiting[row_id]
            self.counters.republished += len(overdue)
            log.warning("gateway.ingest_acks_overdue count=%s republishing", len(overdue))
            if self._acks_received == 0 and not self._told_no_acks:
                self._told_no_acks = True
                log.error(
                    "gateway.no_acks_from_ingest topic=%s events are sent again and kept (check that the"
                    " broker ACL lets this household read its ack topic: run broker-config)",
                    self._acks_topic,
                )

    async def _publish(self, rows: list[Row]) -> None:
        """Publish ``rows`` and wait for every PUBACK. A row the broker took now waits for ingest's
        acknowledgement; one it refused for good is dead-lettered; the others are tried again."""
        rows = [row for row in rows if not self._oversize(row)]
        if not rows:
            return
        self._publishing = {row[0] for row in rows}
        self._stored_early = set()
        acks = asyncio.gather(
            *(self._upstream.publish_nowait(topic, payload) for _, topic, payload, _ in rows),
            return_exceptions=True,
        )
        acks.add_done_callback(_retrieve)  # a stop or cancellation mid-wait must not leave it unread
        while True:
            done, _ = await asyncio.wait({acks}, timeout=self._ack_timeout)
            if done:
                break
            if self._upstream.is_connected:
                # Connected yet unacknowledged for too long: send again (same ids, stored once).
                log.warning("gateway.upstream_acks_overdue count=%s republishing", len(rows))
                self.counters.republished += len(rows)
                acks.cancel()
                return
            # Disconnected: paho re-sends unacknowledged messages itself after reconnecting.
        deadline = time.monotonic() + self._ack_timeout
        retry: BaseException | None = None
        took = 0
        for (row_id, topic, _, seq), result in zip(rows, acks.result(), strict=True):
            if result is None:
                took += 1
                if row_id in self._stored_early:  # ingest's acknowledgement overtook the PUBACK
                    continue
                if seq is None:  # a row from an outbox older than end-to-end acknowledgements
                    self._outbox.delete([row_id])
                    self.counters.forwarded += 1
                else:
                    self._awaiting[row_id] = deadline
            elif isinstance(result, PublishRefusedError) and result.reason_code in REFUSED_FOR_GOOD:
                self._outbox.dead_letter(row_id, f"broker_refused code={result.reason_code} {result}")
                self.counters.dead_lettered += 1
                log.error(
                    "gateway.event_dead_lettered topic=%s seq=%s code=%s (the broker will never take it)",
                    topic,
                    seq,
                    result.reason_code,
                )
            else:
                retry = result
        if retry is None:
            if self._no_subscribers_since is not None:
                log.info(
                    "gateway.upstream_subscribers_back after_s=%.1f",
                    time.monotonic() - self._no_subscribers_since,
                )
                self._no_subscribers_since = None
            self._retries = 0
            return
        if isinstance(retry, NoSubscribersError):
            # The broker took them but nobody (no ingest) was subscribed: not delivered.
            if self._no_subscribers_since is None:
                self._no_subscribers_since = time.monotonic()
                log.warning(
                    "gateway.upstream_no_subscribers count=%s holding events and retrying", len(rows) - took
                )
            self.counters.no_subscribers += len(rows) - took
        else:
            log.error(
                "gateway.upstream_refused_events count=%s error=%s (check broker ACL)",
                len(rows) - took,
                retry,
            )
        await asyncio.sleep(self._retry_delay())

    def _oversize(self, row: Row) -> bool:
        """A row above the platform brokers' limit is dead-lettered, never sent: mosquitto would drop
        the connection and paho would send it again on every reconnect."""
        row_id, topic, payload, seq = row
        if len(payload) <= contract.MAX_MESSAGE_BYTES:
            return False
        self._outbox.dead_letter(row_id, f"oversize {len(payload)} bytes > {contract.MAX_MESSAGE_BYTES}")
        self.counters.dead_lettered += 1
        log.error(
            "gateway.event_dead_lettered topic=%s seq=%s bytes=%s (above the broker's limit)",
            topic,
            seq,
            len(payload),
        )
        return True

    async def _read_acks(self) -> None:
        """Ingest's acknowledgements: the events it stored leave the outbox (by seq)."""
        while True:
            seqs: list[int] = []
            for message in await self._upstream.next_batch(100):
                self._acks_received += 1
                try:
                    seqs += contract.decode_ack(message.topic, message.payload).seqs
                except contract.ContractError as exc:
                    log.warning("gateway.ack_rejected reason=%s detail=%s", exc.reason.value, exc.detail)
            if not seqs:
                continue
            deleted = self._outbox.delete_seqs(seqs)
            for row_id in deleted:
                self._awaiting.pop(row_id, None)
                if row_id in self._publishing:
                    self._stored_early.add(row_id)
            self.counters.forwarded += len(deleted)
            self._has_work.set()
            await self._notify()

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
