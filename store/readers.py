"""The store as the detector and the dashboard read it, whichever backend ingest writes.

Both read through the synchronous :class:`HistoryReader` port (the SQLite store is one as it is).
:class:`BlockingInfluxReader` gives the async InfluxDB adapter that face: it runs the adapter on an
event loop of its own, in a thread of its own, and each call waits for its query there, so a
caller on another event loop (the alerts service, aiohttp) is never re-entered.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from mimamori.config import Config
from mimamori.contract import Event
from store.base import (
    ActivityChanges,
    ActivityReader,
    ButtonPress,
    Calm,
    ClimateChanges,
    ClimateReading,
    DeviceState,
    GatewayLiveState,
    GatewaySummary,
    HourlyActivity,
    HouseholdActivity,
    LiveChanges,
    StoreError,
)
from store.influx import InfluxEventStore, influx_store
from store.sqlite import SqliteEventStore

T = TypeVar("T")


class HistoryReader(ActivityReader, LiveChanges, Protocol):
    """The activity reads, the detector's change reads and one household's raw events; :meth:`close`
    when done."""

    def events(self, household: str, start: datetime, end: datetime) -> list[Event]: ...

    def close(self) -> None: ...


class BlockingInfluxReader:
    """The InfluxDB adapter's reads, synchronous. :meth:`open` starts its loop thread."""

    def __init__(self, store: InfluxEventStore, timeout_s: float = 30.0) -> None:
        self._store = store
        self._timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="influx-reader", daemon=True)
        self._thread.start()
        self._loop = loop
        self._run(self._store.open())

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._store.close(), loop).result(self._timeout_s)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(self._timeout_s)
        loop.close()

    def _run(self, call: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            call.close()
            raise StoreError("influx reader is not open", retryable=False)
        future = asyncio.run_coroutine_threadsafe(call, self._loop)
        try:
            return future.result(self._timeout_s)
        except TimeoutError:
            future.cancel()
            raise StoreError(f"influx read took longer than {self._timeout_s}s", retryable=True) from None

    def household_activity(self) -> list[HouseholdActivity]:
        return self._run(self._store.household_activity())

    def activity_changes(self, since: int | None) -> ActivityChanges:
        return self._run(self._store.activity_changes(since))

    def gateway_summary(self) -> GatewaySummary:
        return self._run(self._store.gateway_summary())

    def device_suspects(
        self, households: Sequence[str], battery_at_most: float, seen_by: datetime
    ) -> set[str]:
        return self._run(self._store.device_suspects(households, battery_at_most, seen_by))

    def button_presses(self, since: datetime) -> list[ButtonPress]:
        return self._run(self._store.button_presses(since))

    def devices(self, household: str) -> list[DeviceState]:
        return self._run(self._store.devices(household))

    def devices_of(self, households: Sequence[str]) -> dict[str, list[DeviceState]]:
        return self._run(self._store.devices_of(households))

    def gateways(self, household: str | None = None) -> list[GatewayLiveState]:
        return self._run(self._store.gateways(household))

    def hourly_activity(self, household: str, start: datetime, end: datetime) -> list[HourlyActivity]:
        return self._run(self._store.hourly_activity(household, start, end))

    def activity_times(self, household: str, start: datetime, end: datetime) -> list[datetime]:
        return self._run(self._store.activity_times(household, start, end))

    def events(self, household: str, start: datetime, end: datetime) -> list[Event]:
        return self._run(self._store.events(household, start, end))

    def climate_since(self, since: datetime) -> list[ClimateReading]:
        return self._run(self._store.climate_since(since))

    def climate_changes(
        self, since: int | None, watched: Sequence[str] = (), calm: Calm | None = None
    ) -> ClimateChanges:
        return self._run(self._store.climate_changes(since, watched, calm))

    def climate_readings(self, household: str, start: datetime, end: datetime) -> list[ClimateReading]:
        return self._run(self._store.climate_readings(household, start, end))


def open_reader(config: Config) -> HistoryReader:
    """The configured store, open for reading (SQLite file or InfluxDB bucket)."""
    if config.store.backend == "influxdb":
        reader = BlockingInfluxReader(influx_store(config))
        reader.open()
        return reader
    sqlite = SqliteEventStore(config.store.sqlite_path)
    sqlite.open()
    return sqlite
