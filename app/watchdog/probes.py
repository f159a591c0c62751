"""Reading each part of the platform, as an operator would look at it from outside.

The gateways' newest heartbeat from the store, ingest's received counter from its ``/metrics``, the
detector's heartbeat file, the SMS provider's recent record in the state file. Each probe answers a
:class:`~app.watchdog.outage.Observation`; a probe that cannot look counts as failing for its part.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime, timedelta

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from app.watchdog.drill import Drill
from app.watchdog.metrics import WatchdogMetrics
from app.watchdog.outage import Observation, Part
from escalation.repository import EscalationRepository
from mimamori.config import Config
from mimamori.heartbeat import last_beat
from mimamori.sqlite import DatabaseError
from store.base import StoreError
from store.readers import HistoryReader, open_reader

log = logging.getLogger(__name__)

RECEIVED = "mimamori_ingest_received"  # the counter's family name (samples end in _total)


def _minutes(delta: timedelta) -> int:
    return max(int(delta.total_seconds() // 60), 0)


class Probes:
    """One instance per watchdog; remembers what moved since when (counters, start time)."""

    def __init__(
        self, config: Config, started_at: datetime, metrics: WatchdogMetrics, drill: Drill | None = None
    ) -> None:
        self._config = config
        self.drill = drill
        self._metrics = metrics
        self._w = config.watchdog
        self._started_at = started_at
        self._reader: HistoryReader | None = None
        self._counter: float | None = None
        self._counter_moved_at = started_at

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    async def read(self, session: aiohttp.ClientSession, now: datetime) -> list[Observation]:
        readings = await asyncio.to_thread(self._store_readings, now)
        if self._w.ingest_metrics_urls:  # none listed: ingest is not watched (a single-process setup)
            readings.append(await self._ingest(session, now))
        readings.append(self._detector(now))
        if self.drill is not None:
            readings.append(self.drill.step(self._reader, now))  # on the loop: it publishes
        readings.append(await asyncio.to_thread(self._sms, now))
        return readings

    def _store_readings(self, now: datetime) -> list[Observation]:
        """The store, and through it the gateways' heartbeats (unknown while the store is down)."""
        try:
            if self._reader is None:
                self._reader = open_reader(self._config)
            latest = self._reader.gateway_summary().latest_heartbeat_at
        except (StoreError, OSError) as exc:
            log.warning("watchdog.store_unreadable error=%s", exc)
            self.close()
            self._metrics.store_readable.set(0)
            return [Observation(Part.STORE, True)]
        self._metrics.store_readable.set(1)
        if latest is not None:
            self._metrics.gateway_heartbeat.set(latest.timestamp())
        silent = now - (latest or self._started_at)
        failing = silent.total_seconds() >= self._w.gateway_silence_s
        return [Observation(Part.STORE, False), Observation(Part.GATEWAYS, failing, _minutes(silent))]

    async def _ingest(self, session: aiohttp.ClientSession, now: datetime) -> Observation:
        total = 0.0
        for url in self._w.ingest_metrics_urls:
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response:
                    response.raise_for_status()
                    text = await response.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("watchdog.ingest_unreadable url=%s error=%s", url, exc)
                return self._stalled(now)
            for family in text_string_to_metric_families(text):
                if family.name == RECEIVED:
                    total += sum(s.value for s in family.samples if s.name == RECEIVED + "_total")
        if self._counter is None or total != self._counter:
            self._counter, self._counter_moved_at = total, now
        return self._stalled(now)

    def _stalled(self, now: datetime) -> Observation:
        still = now - self._counter_moved_at
        return Observation(Part.INGEST, still.total_seconds() >= self._w.ingest_stall_s, _minutes(still))

    def _detector(self, now: datetime) -> Observation:
        recorded = last_beat(self._config.alerts.heartbeat_path)
        if recorded is not None:
            self._metrics.detector_tick.set(recorded.timestamp())
        beat = recorded or self._started_at
        stale = now - beat
        return Observation(Part.DETECTOR, stale.total_seconds() >= self._w.detector_stale_s, _minutes(stale))

    def _sms(self, now: datetime) -> Observation:
        path = self._config.alerts.state_path
        if not path.exists():
            return Observation(Part.SMS, False)
        repo = EscalationRepository(path)
        try:
            repo.open()
            sent, failed = repo.sms_health(now - timedelta(seconds=self._w.sms_window_s))
        except (
            DatabaseError,
            sqlite3.Error,
            OSError,
        ) as exc:  # the state file's trouble is not the SMS path's
            log.warning("watchdog.sms_unreadable error=%s", exc)
            return Observation(Part.SMS, False)
        finally:
            repo.close()
        self._metrics.sms_sent.set(sent)
        self._metrics.sms_failed.set(failed)
        return Observation(Part.SMS, sent == 0 and failed >= self._w.sms_failures, failed)
