"""The end-to-end drill: a reading published as the drill household's gateway, followed to the store,
the detector and the SMS queue, so that "a reading from a home still turns into a message" is checked,
not assumed. The alerts service puts one message per drill reading its detector saw through its SMS
queue and dispatcher as a dry run (purpose ``drill_dry_run``: marked sent, never handed to the
provider, whose health the SMS part of the watchdog judges).

One drill at a time: published every ``drill_every_s``; it passes once the store holds it, the
detector has seen it and its dry-run message went through the dispatcher, and fails when
``drill_deadline_s`` passes first. A reading the broker refused
(down, or the drill's account revoked) fails the same way. The drill's device is ``drill-sensor``; its
readings are motion, so the detector sees the drill household as an ordinary, active home.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.watchdog.outage import Observation, Part
from escalation.repository import EscalationRepository
from mimamori import contract
from mimamori.config import Config
from mimamori.heartbeat import drill_beat_path, last_beat
from mimamori.mqtt import MqttClient, settings_for
from mimamori.sqlite import DatabaseError
from store.readers import HistoryReader

log = logging.getLogger(__name__)

GATEWAY = "drill"
DEVICE = "drill-sensor"


@dataclass(frozen=True, slots=True)
class Attempt:
    message_id: str
    published_at: datetime
    stored: bool = False
    seen: bool = False
    dispatched: bool = False

    @property
    def through(self) -> bool:
        return self.stored and self.seen and self.dispatched


class Drill:
    """Constructors do no I/O; :meth:`start` connects the drill's gateway to the broker."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._w = config.watchdog
        self._household = config.watchdog.drill_household
        secret = config.secrets.drill_password
        b = config.broker
        self._mqtt = MqttClient(
            settings_for(
                b.host,
                b.port,
                f"drill-{self._household}",
                username=self._household if secret is not None else None,
                password=None if secret is None else secret.get_secret_value(),
                tls=b.tls,
                ca_file=b.ca_file,
                keepalive_s=b.keepalive_s,
            )
        )
        self._seq = 0
        self._attempt: Attempt | None = None
        self._failing_since: datetime | None = None  # the oldest drill not yet through
        self.passed = 0  # drills that went through (tests, metrics)

    async def start(self) -> None:
        await self._mqtt.start()

    async def stop(self) -> None:
        await self._mqtt.stop()

    def step(self, reader: HistoryReader | None, now: datetime) -> Observation:
        """Follow the drill in flight; publish the next when due. The drill's reading for this check."""
        attempt = self._attempt
        if attempt is not None and not attempt.through:
            attempt = self._attempt = self._follow(attempt, reader)
            if attempt.through:
                self.passed += 1
                self._failing_since = None
                took = (now - attempt.published_at).total_seconds()
                log.info("watchdog.drill_passed id=%s after_s=%.1f", attempt.message_id, took)
        if attempt is None or now - attempt.published_at >= timedelta(seconds=self._w.drill_every_s):
            self._publish(now)  # a new drill, also while one is late: a recovered path is noticed
        if self._failing_since is None:
            return Observation(Part.DRILL, False)
        late = now - self._failing_since
        failing = late.total_seconds() >= self._w.drill_deadline_s
        if failing and self._attempt is not None:
            a = self._attempt
            stage = "sms_queue" if a.seen else "detector" if a.stored else "store"
            log.warning("watchdog.drill_late stage=%s late_s=%d", stage, late.total_seconds())
        return Observation(Part.DRILL, failing, int(late.total_seconds() // 60))

    def _publish(self, now: datetime) -> None:
        """Hand the reading to the broker client; during an outage it is sent once the broker is back."""
        self._seq += 1
        message_id = contract.message_id_for(self._household, DEVICE, contract.Kind.MOTION, 1.0, now)
        event = contract.Event(
            message_id, self._household, GATEWAY, DEVICE, contract.Kind.MOTION, 1.0, now, self._seq
        )
        topic = contract.topic(self._household, GATEWAY, contract.Channel.EVENTS)
        self._attempt = Attempt(message_id, now)
        if self._failing_since is None:
            self._failing_since = now
        sent = self._mqtt.publish_nowait(topic, event.encode(), qos=1)
        sent.add_done_callback(_log_refusal)

    def _follow(self, attempt: Attempt, reader: HistoryReader | None) -> Attempt:
        stored = attempt.stored
        if not stored and reader is not None:
            around = timedelta(minutes=1)
            events = reader.events(
                self._household, attempt.published_at - around, attempt.published_at + around
            )
            stored = any(e.message_id == attempt.message_id for e in events)
        since = attempt.published_at - timedelta(seconds=1)
        seen_at = last_beat(drill_beat_path(self._config))
        seen = stored and seen_at is not None and seen_at >= since
        dispatched = seen and self._dispatched_since(since)
        return Attempt(attempt.message_id, attempt.published_at, stored, seen, dispatched)

    def _dispatched_since(self, since: datetime) -> bool:
        """The alerts service put a message for this drill through its SMS queue and dispatcher."""
        path = self._config.alerts.state_path
        if not path.exists():
            return False
        repo = EscalationRepository(path)
        try:
            repo.open()
            sent_at = repo.dry_run_sent_at()
        except (DatabaseError, OSError) as exc:
            log.warning("watchdog.drill_state_unreadable error=%s", exc)
            return False
        finally:
            repo.close()
        return sent_at is not None and sent_at >= since


def _log_refusal(sent: asyncio.Future[None]) -> None:
    if not sent.cancelled() and sent.exception() is not None:
        log.warning("watchdog.drill_refused error=%s", sent.exception())
