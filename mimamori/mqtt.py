"""The broker adapter: paho-mqtt's threaded callbacks turned into asyncio, in exactly this one place.

paho runs its own network thread (``loop_start``), which also reconnects with backoff. Every
callback hands its result to the asyncio loop with ``call_soon_threadsafe``; nothing else in the
project touches paho objects. MQTT v5 throughout (shared subscriptions, session expiry, receive
maximum).

Raises: :class:`MqttError` when a connection, subscription or publish is refused or times out.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

_NO_MATCHING_SUBSCRIBERS = 16
_FLUSH_FILTER = "mimamori/$flush"  # never subscribed: unsubscribing it changes nothing


class MqttError(Exception):
    """The broker refused or did not answer in time."""


class NoSubscribersError(MqttError):
    """The broker took a QoS 1 message but nobody was subscribed to it (MQTT 5 reason 16).
    Raised only for clients with ``require_subscribers``."""


class PublishRefusedError(MqttError):
    """The broker answered a QoS 1 publish with a failure reason code (MQTT 5), e.g. 131
    "implementation specific error" for a message above mosquitto's ``message_size_limit``,
    135 "not authorized" for an ACL refusal."""

    def __init__(self, message: str, reason_code: int) -> None:
        super().__init__(message)
        self.reason_code = reason_code


@dataclass(frozen=True, slots=True)
class Message:
    """A received message. ``mid`` is what :meth:`MqttClient.ack` needs when manual ack is on."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str
    port: int
    client_id: str
    keepalive_s: int = 30
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    tls: bool = False
    clean_start: bool = True
    session_expiry_s: int | None = None
    receive_maximum: int = 1000
    max_inflight: int = 1000
    manual_ack: bool = False
    will: Will | None = None
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    require_subscribers: bool = False
    """Fail a publish the broker acknowledges with "no matching subscribers" (NoSubscribersError):
    for a sender that must not count a message as delivered when nobody was there to take it."""


class MqttClient:
    """One long-lived MQTT connection with an asyncio face. The constructor does no I/O."""

    def __init__(
        self,
        settings: MqttSettings,
        on_connect: Callable[[bool], None] | None = None,
    ) -> None:
        self._settings = settings
        self._on_connect_hook = on_connect
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: paho.Client | None = None
        self._connected = asyncio.Event()
        self._first_connect: asyncio.Future[None] | None = None
        self._pending_publish: dict[int, asyncio.Future[None]] = {}
        self._pending_subscribe: dict[int, asyncio.Future[None]] = {}
        self._subscriptions: dict[str, int] = {}
        self._inbox: collections.deque[Message] = collections.deque()
        self._inbox_signalled = False
        self._wake_at = 1  # inbox length at which the paho thread wakes the loop
        self._has_messages = asyncio.Event()
        self._lock = threading.Lock()
        self._untracked: set[int] = set()
        self._untracked_lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, timeout_s: float = 10.0) -> None:
        """Connect and start paho's network thread; returns after the first CONNACK."""
        s = self._settings
        self._loop = asyncio.get_running_loop()
        client = _paho_client(s)
        if s.will is not None:
            client.will_set(s.will.topic, s.will.payload, s.will.qos, s.will.retain)
        client.max_inflight_messages_set(s.max_inflight)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(s.reconnect_min_s, s.reconnect_max_s)
        client.manual_ack_set(s.manual_ack)
        client.on_connect = self._paho_connect
        client.on_disconnect = self._paho_disconnect
        client.on_publish = self._paho_publish
        client.on_subscribe = self._paho_subscribe
        client.on_unsubscribe = self._paho_unsubscribe
        client.on_message = self._paho_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.ReceiveMaximum = s.receive_maximum
        if s.session_expiry_s is not None:
            props.SessionExpiryInterval = s.session_expiry_s
        self._client = client
        self._first_connect = self._loop.create_future()
        client.connect_async(s.host, s.port, s.keepalive_s, clean_start=s.clean_start, properties=props)
        client.loop_start()
        try:
            await asyncio.wait_for(asyncio.shield(self._first_connect), timeout_s)
        except TimeoutError:
            await self.stop()
            raise MqttError(f"no CONNACK from {s.host}:{s.port} within {timeout_s}s") from None
        except MqttError:
            await self.stop()
            raise

    async def stop(self, flush_timeout_s: float = 2.0) -> None:
        """Disconnect cleanly (no Last Will) and stop the network thread; pending futures fail.

        While connected, a round trip to the broker comes first, so that the acknowledgements sent
        just before (manual ack) are processed before the connection closes: without it, mosquitto
        redelivered most of a batch acknowledged a moment before a clean stop.
        """
        if self._client is not None and self.is_connected:
            await self._round_trip(flush_timeout_s)
        client, self._client = self._client, None
        if client is None:
            return
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)
        self._connected.clear()
        for pending in (*self._pending_publish.values(), *self._pending_subscribe.values()):
            if not pending.done():
                pending.set_exception(MqttError("client stopped"))
        self._pending_publish.clear()
        self._pending_subscribe.clear()

    async def _round_trip(self, timeout_s: float) -> None:
        """UNSUBSCRIBE from a filter nobody uses and wait for the UNSUBACK: the broker answers
        packets in order, so everything sent before has then been handled. Best effort."""
        client, loop = self._require()
        future: asyncio.Future[None] = loop.create_future()
        rc, mid = client.unsubscribe(_FLUSH_FILTER)
        if rc != paho.MQTT_ERR_SUCCESS or mid is None:
            return
        self._pending_subscribe[mid] = future
        try:
            await asyncio.wait_for(future, timeout_s)
        except (TimeoutError, MqttError):
            log.info("mqtt.flush_unconfirmed client=%s", self._settings.client_id)

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    # ------------------------------------------------------------------ publish / subscribe

    def publish_nowait(
        self, topic: str, payload: bytes, qos: int = 1, retain: bool = False
    ) -> asyncio.Future[None]:
        """Queue a publish; the future resolves on PUBACK (QoS 1) or when written (QoS 0).

        paho keeps unacknowledged QoS 1 messages across reconnects and re-sends them, so the future
        stays pending through an outage and resolves once the broker has the message.
        """
        client, loop = self._require()
        future: asyncio.Future[None] = loop.create_future()
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            future.set_exception(MqttError(f"publish refused locally: {paho.error_string(info.rc)}"))
            return future
        # Registered on the loop thread before any acknowledgement callback can run here.
        self._pending_publish[info.mid] = future
        return future

    def publish_untracked(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 0, fire and forget: no future, no wake-up of the loop when it is written.
        For many small messages whose loss is recovered elsewhere (ingest's acknowledgements)."""
        client, _ = self._require()
        with self._untracked_lock:
            info = client.publish(topic, payload, qos=0)
            self._untracked.add(info.mid)

    async def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        await self.publish_nowait(topic, payload, qos, retain)

    async def subscribe(self, topic_filter: str, qos: int = 1, timeout_s: float = 10.0) -> None:
        client, loop = self._require()
        self._subscriptions[topic_filter] = qos
        future: asyncio.Future[None] = loop.create_future()
        rc, mid = client.subscribe(topic_filter, qos)
        if rc != paho.MQTT_ERR_SUCCESS or mid is None:
            raise MqttError(f"subscribe {topic_filter!r} failed: {paho.error_string(rc)}")
        self._pending_subscribe[mid] = future
        try:
            await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            raise MqttError(f"no SUBACK for {topic_filter!r} within {timeout_s}s") from None

    async def next_batch(self, max_messages: int, linger_s: float = 0.0) -> list[Message]:
        """Wait for at least one received message, then return up to ``max_messages`` of them.

        With ``linger_s``, wait up to that long for ``max_messages`` to be waiting before taking
        them: one wake-up per batch instead of one per message when messages trickle in.
        """
        await self._waiting(1)
        if linger_s > 0 and len(self._inbox) < max_messages:
            try:
                async with asyncio.timeout(linger_s):
                    await self._waiting(max_messages)
            except TimeoutError:
                pass
        take = min(max_messages, len(self._inbox))
        popleft = self._inbox.popleft
        return [popleft() for _ in range(take)]

    async def _waiting(self, count: int) -> None:
        """Until ``count`` messages are in the inbox; the paho thread wakes the loop only then."""
        while len(self._inbox) < count:
            with self._lock:
                self._wake_at = count
                self._has_messages.clear()
                self._inbox_signalled = False
            if len(self._inbox) >= count:
                break
            await self._has_messages.wait()

    def pending_messages(self) -> int:
        return len(self._inbox)

    def ack(self, mid: int, qos: int) -> None:
        """Acknowledge a received QoS 1 message (manual-ack mode) after it is durably handled."""
        client, _ = self._require()
        client.ack(mid, qos)

    # ------------------------------------------------------------------ paho thread → loop

    def _require(self) -> tuple[paho.Client, asyncio.AbstractEventLoop]:
        if self._client is None or self._loop is None:
            raise MqttError("client is not started")
        return self._client, self._loop

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(fn, *args)

    def _paho_connect(self, client: paho.Client, _u: Any, flags: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            log.warning("mqtt.connect_refused client=%s reason=%s", self._settings.client_id, reason)
            self._call(self._connect_failed, str(reason))
            return
        session_present = bool(getattr(flags, "session_present", False))
        # Subscribe again even when the broker says it kept the session: mosquitto 2.0 restores a
        # persistent session after a restart but not its *shared* subscriptions, so without this an
        # ingest worker would silently receive nothing. Subscribing twice to a filter is harmless.
        for topic_filter, qos in self._subscriptions.items():
            client.subscribe(topic_filter, qos)
        log.info("mqtt.connected client=%s session_present=%s", self._settings.client_id, session_present)
        self._call(self._connected_on_loop, session_present)

    def _connect_failed(self, reason: str) -> None:
        if self._first_connect is not None and not self._first_connect.done():
            self._first_connect.set_exception(MqttError(f"connection refused: {reason}"))

    def _connected_on_loop(self, session_present: bool) -> None:
        self._connected.set()
        if self._first_connect is not None and not self._first_connect.done():
            self._first_connect.set_result(None)
        if self._on_connect_hook is not None:
            self._on_connect_hook(session_present)

    def _paho_disconnect(self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        log.info("mqtt.disconnected client=%s reason=%s", self._settings.client_id, reason)
        self._call(self._connected.clear)

    def _paho_publish(self, _c: paho.Client, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        with self._untracked_lock:  # publish_untracked holds it until the mid is recorded
            if mid in self._untracked:
                self._untracked.discard(mid)
                return
        if self._settings.require_subscribers and reason.value == _NO_MATCHING_SUBSCRIBERS:
            self._call(self._resolve, self._pending_publish, mid, str(reason), NoSubscribersError)
            return
        if reason.is_failure:
            self._call(self._refuse_publish, mid, str(reason), int(reason.value))
            return
        self._call(self._resolve, self._pending_publish, mid, None)

    def _refuse_publish(self, mid: int, reason: str, code: int) -> None:
        future = self._pending_publish.pop(mid, None)
        if future is not None and not future.done():
            future.set_exception(PublishRefusedError(f"broker refused: {reason}", code))

    def _paho_subscribe(self, _c: paho.Client, _u: Any, mid: int, reasons: list[ReasonCode], _p: Any) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        self._call(self._resolve, self._pending_subscribe, mid, ", ".join(failed) or None)

    def _paho_unsubscribe(self, _c: paho.Client, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        # "No subscription existed" is the expected answer: only the round trip matters.
        self._call(self._resolve, self._pending_subscribe, mid, None)

    @staticmethod
    def _resolve(
        pending: dict[int, asyncio.Future[None]],
        mid: int,
        error: str | None,
        error_type: type[MqttError] = MqttError,
    ) -> None:
        future = pending.pop(mid, None)
        if future is None or future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error_type(f"broker refused: {error}"))

    def _paho_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        self._inbox.append(Message(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain), msg.mid))
        with self._lock:
            if self._inbox_signalled or len(self._inbox) < self._wake_at:
                return
            self._inbox_signalled = True
        self._call(self._has_messages.set)


def _paho_client(s: MqttSettings) -> paho.Client:
    """A paho client with the settings' id, credentials and TLS (not connected)."""
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=paho.MQTTv5
    )
    if s.username is not None:
        client.username_pw_set(s.username, s.password)
    if s.tls:
        client.tls_set_context(ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None))
    return client


class SyncPublisher:
    """QoS 0, fire-and-forget publishing for a process without an event loop: ingest's store worker
    processes send the end-to-end acknowledgements right after their own commit, off the ingest
    process's interpreter. paho's thread keeps the connection (clean session) and reconnects; while
    it is down a message is dropped (whoever needs it recovers it: a gateway sends its events again).
    The constructor does no I/O."""

    def __init__(self, settings: MqttSettings) -> None:
        self._settings = settings
        self._client: paho.Client | None = None
        self._connected = threading.Event()

    def start(self, timeout_s: float = 5.0) -> bool:
        """Connect in the background; returns whether the first CONNACK came within ``timeout_s``."""
        s = self._settings
        client = _paho_client(s)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(s.reconnect_min_s, s.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *_: self._connected.clear()
        client.connect_async(s.host, s.port, s.keepalive_s)
        client.loop_start()
        self._client = client
        return self._connected.wait(timeout_s)

    def _on_connect(self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            log.warning("mqtt.connect_refused client=%s reason=%s", self._settings.client_id, reason)
            return
        log.info("mqtt.connected client=%s session_present=False", self._settings.client_id)
        self._connected.set()

    def publish(self, topic: str, payload: bytes) -> None:
        if self._client is None:
            raise MqttError("publisher is not started")
        self._client.publish(topic, payload, qos=0)

    def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()


def settings_for(
    host: str,
    port: int,
    client_id: str,
    *,
    username: str | None = None,
    password: str | None = None,
    tls: bool = False,
    ca_file: Path | None = None,
    keepalive_s: int = 30,
    **options: Any,
) -> MqttSettings:
    """MqttSettings for one client of the configured broker; ``options`` set the remaining fields."""
    return MqttSettings(
        host=host,
        port=port,
        client_id=client_id,
        username=username,
        password=password,
        tls=tls,
        ca_file=ca_file,
        keepalive_s=keepalive_s,
        **options,
    )
