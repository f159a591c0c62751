"""Privacy housekeeping in the ingest process: the store's retention, at start and every hour.

Raw events (and dead letters, which hold raw payloads) are kept ``[store] raw_retention_days`` days,
hourly roll-ups ``[store] rollup_retention_days`` days (``store.base.Retention``). Only for a store
that keeps its own history (SQLite); InfluxDB buckets get retention policies from the same keys.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from mimamori.clock import Clock
from store.base import Housekeeping, Retention, StoreError

log = logging.getLogger(__name__)


class RetentionJob:
    """Purges what is past its retention; a failed run is logged and tried again next time."""

    def __init__(
        self, store: Housekeeping, retention: Retention, clock: Clock, every: timedelta = timedelta(hours=1)
    ) -> None:
        self._store = store
        self._retention = retention
        self._clock = clock
        self._every_s = every.total_seconds()

    async def run_once(self) -> None:
        try:
            purged = await asyncio.to_thread(self._store.purge, self._retention, self._clock.now())
        except StoreError as exc:
            log.warning("store.purge_failed error=%s", exc)
            return
        if purged.events or purged.rollups or purged.dead_letters:
            log.info(
                "store.purged events=%s rollups=%s dead_letters=%s raw_days=%s rollup_days=%s",
                purged.events,
                purged.rollups,
                purged.dead_letters,
                self._retention.raw_days,
                self._retention.rollup_days,
            )

    async def run(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self._every_s)
