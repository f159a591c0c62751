"""The Store ports: what ingest writes and what detection and the dashboard read.

Two adapters implement them: SQLite (embedded default) and InfluxDB (production time series).
All times are aware UTC. Every method may raise :class:`StoreError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from mimamori.contract import Event, GatewayState, GatewayStatus, Heartbeat, Kind


class StoreError(Exception):
    """A write or read failed. ``retryable`` says whether trying again may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable

    def __reduce__(self) -> tuple[object, ...]:
        # Picklable with its keyword argument: it crosses from the store worker process.
        return (_store_error, (str(self), self.retryable))


def _store_error(message: str, retryable: bool) -> StoreError:
    return StoreError(message, retryable=retryable)


@dataclass(frozen=True, slots=True)
class HouseholdActivity:
    """Live state of one household: the last time a person did something, and the last sign of life."""

    household: str
    last_activity_at: datetime | None  # newest activity event (contract.is_activity); never moves back
    last_activity_device: str | None
    last_event_at: datetime | None  # newest event of any kind (check-ins and battery included)


@dataclass(frozen=True, slots=True)
class DeviceState:
    household: str
    device: str
    kind: Kind
    last_seen_at: datetime
    last_value: float
    battery: float | None  # percent, from the newest battery report


@dataclass(frozen=True, slots=True)
class ClimateReading:
    """One temperature or humidity reading of a room sensor."""

    household: str
    device: str
    kind: Kind  # TEMPERATURE or HUMIDITY
    value: float
    at: datetime


@dataclass(frozen=True, slots=True)
class ClimateChanges:
    """Climate rows changed after a cursor, and the cursor to ask with next."""

    rows: list[tuple[str, str, str, float, int]]
    cursor: int


@dataclass(frozen=True, slots=True)
class Calm:
    """Temperatures (°C) at which a room can be neither at 厳重警戒 nor cold: ``low <= t < high``."""

    low: float
    high: float


@runtime_checkable
class ClimateReader(Protocol):
    """Room climate for detection and the dashboard (SQLite, InfluxDB)."""

    def climate_since(self, since: datetime) -> list[ClimateReading]:
        """The newest reading of every device and kind observed at or after ``since``."""
        ...

    def climate_changes(
        self, since: int | None, watched: Sequence[str] = (), calm: Calm | None = None
    ) -> ClimateChanges:
        """The newest readings (household, device, kind, value, epoch ms) written after change number
        ``since`` (None: every sensor's), and the cursor to pass next time: the live detector's
        every-minute read. With ``calm``, a sensor whose temperature is calm (``low <= t < high``)
        is left out unless its household is ``watched``; a sensor returned for its temperature
        comes with its newest humidity, changed or not."""
        ...

    def climate_readings(self, household: str, start: datetime, end: datetime) -> list[ClimateReading]:
        """Every stored climate reading of ``household`` with ``start <= at < end``, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class GatewayLiveState:
    household: str
    gateway: str
    state: GatewayState
    changed_at: datetime
    last_heartbeat_at: datetime | None


ActivityChange = tuple[str, float | None, str | None, float | None]
"""One household's live activity state: household, last activity (epoch s; None: never), its device
(None when it is the one the reader was told before: unchanged since its cursor, or no activity),
and the last event of any kind (epoch s) when it is newer than the last activity (a check-in, a
battery report), else None. A plain tuple with no needless objects: the detector reads 20k of them
a minute at 100k households."""


@dataclass(frozen=True, slots=True)
class ActivityChanges:
    """The households whose live state changed after a cursor, and the cursor to ask with next."""

    households: list[ActivityChange]
    cursor: int


@dataclass(frozen=True, slots=True)
class ButtonPress:
    household: str
    device: str
    pressed_at: datetime


@dataclass(frozen=True, slots=True)
class GatewaySummary:
    """What detection needs of every gateway each tick: the offline ones, and the newest heartbeat
    of any (no heartbeat from anyone for long means the platform itself is blind)."""

    offline: list[GatewayLiveState]
    latest_heartbeat_at: datetime | None


@dataclass(frozen=True, slots=True)
class HourlyActivity:
    """Roll-up: activity events of one kind in one household during the UTC hour starting at ``hour``."""

    household: str
    hour: datetime
    kind: Kind
    count: int


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message ingest refused, as kept in the bounded dead-letter table."""

    received_at: datetime
    topic: str
    reason: str  # a contract.Reason value
    detail: str
    payload: bytes  # truncated to DEAD_LETTER_PAYLOAD_BYTES


DEAD_LETTER_PAYLOAD_BYTES = 2048


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """Everything ingest took from the broker in one go; written in one durable transaction."""

    received_at: datetime
    events: Sequence[Event] = ()
    statuses: Sequence[GatewayStatus] = ()  # in arrival order
    heartbeats: Sequence[Heartbeat] = ()
    rejections: Sequence[Rejection] = ()
    thinned: Sequence[Event] = ()  # climate readings ingest let go (docs/climate.md): seen, acked, not stored


@dataclass(frozen=True, slots=True)
class BatchResult:
    stored: int  # events new to the store
    duplicates: int  # events whose message id was already stored (or repeated in the batch)
    gaps_opened: int = 0  # ranges of a gateway's seq skipped by this batch (a store that tracks them)


@dataclass(frozen=True, slots=True)
class SeqGap:
    """Seqs ``first``..``last`` of a gateway not received, though a higher one was, since ``opened_at``.
    Open for minutes while a backlog drains; open for long, events were lost before ingest."""

    household: str
    gateway: str
    first: int
    last: int
    opened_at: datetime

    @property
    def missing(self) -> int:
        return self.last - self.first + 1


class BatchWriter(Protocol):
    """What the ingest worker writes through. Raises :class:`StoreError`.

    No poison batch: ``retryable=False`` means "this batch will never be accepted as it is" (a point
    the database refuses: SQLite's constraint or trigger, InfluxDB's 400/422 for a field type
    conflict). Ingest then writes the batch in halves until each refused message is alone, and
    dead-letters it (``Rejection`` with reason ``store_refused`` and the store's message as detail) in
    a batch of its own; the rest is stored. So a store must raise ``retryable=False`` only for the
    points themselves, never for its own condition (unreachable, unauthorised, bucket missing, disk
    full): those are ``retryable=True``, retried with back-off, logged, and block nothing for good.
    A store must accept a batch of dead letters alone (no events).
    """

    async def write_batch(self, batch: IngestBatch) -> BatchResult:
        """Write the batch (events idempotently by message id, live state, roll-ups, dead letters).

        Returns only once all of it is durable, so the caller may acknowledge it to the broker.
        """
        ...


@dataclass(frozen=True, slots=True)
class Retention:
    """How long the store keeps what (``[store] raw_retention_days``, ``rollup_retention_days``)."""

    raw_days: int
    rollup_days: int

    def cutoffs(self, now: datetime) -> tuple[datetime, datetime]:
        """Raw events and dead letters observed before the first time go; roll-ups of hours before
        the second (whole UTC days, so one run a day or one an hour purge the same rows)."""
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=self.raw_days), today - timedelta(days=self.rollup_days)


@dataclass(frozen=True, slots=True)
class Purged:
    events: int
    rollups: int
    dead_letters: int


@runtime_checkable
@runtime_checkable
class SeqGapReader(Protocol):
    """A store that tracks gaps in its gateways' seq (SQLite; docs/storage.md)."""

    def seq_gaps(self, household: str | None = None) -> list[SeqGap]:
        """The open gaps (of one household, or all), oldest first."""
        ...


class Housekeeping(Protocol):
    """Privacy housekeeping of a store that keeps its own history (SQLite; InfluxDB's buckets have
    retention policies set from the same keys). Raises :class:`StoreError`."""

    def purge(self, retention: Retention, now: datetime) -> Purged:
        """Delete raw events and dead letters older than ``retention.raw_days`` and roll-ups older than
        ``retention.rollup_days`` (before ``now``), in short transactions; returns what went."""
        ...


class EventStore(Protocol):
    def write_events(self, events: Sequence[Event]) -> int:
        """Store events idempotently (keyed by message id); returns how many were new.

        Returns only once the write is durable.
        """
        ...

    def count_events(self, household: str | None = None) -> int:
        """How many distinct events are stored (for one household, or all)."""
        ...

    def close(self) -> None: ...


class ActivityReader(Protocol):
    """What detection and the dashboard read."""

    def household_activity(self) -> list[HouseholdActivity]:
        """Live activity state of every household that has sent anything."""
        ...

    def devices(self, household: str) -> list[DeviceState]: ...

    def devices_of(self, households: Sequence[str]) -> dict[str, list[DeviceState]]:
        """``devices`` of many households in one read (households without devices are left out)."""
        ...

    def gateways(self, household: str | None = None) -> list[GatewayLiveState]: ...

    def hourly_activity(self, household: str, start: datetime, end: datetime) -> list[HourlyActivity]:
        """Roll-ups with ``start <= hour < end``, oldest first."""
        ...

    def activity_times(self, household: str, start: datetime, end: datetime) -> list[datetime]:
        """Observation times of activity events with ``start <= t < end``, oldest first."""
        ...


class LiveChanges(Protocol):
    """Reads that cost O(changed), for the detector's tick over every household."""

    def activity_changes(self, since: int | None) -> ActivityChanges:
        """Households whose live activity state changed after cursor ``since`` (None: all of them)."""
        ...

    def gateway_summary(self) -> GatewaySummary: ...

    def device_suspects(
        self, households: Sequence[str], battery_at_most: float, seen_by: datetime
    ) -> set[str]:
        """Those of ``households`` with a device whose battery is at most ``battery_at_most`` percent
        or that was last seen at or before ``seen_by``: the homes worth reading devices of."""
        ...

    def button_presses(self, since: datetime) -> list[ButtonPress]:
        """Help-button presses observed at or after ``since`` (at least each button's newest), oldest
        first: read every tick, whichever households changed."""
        ...


class AsyncActivityReader(Protocol):
    """The same reads as :class:`ActivityReader`, for stores behind a network (InfluxDB)."""

    async def household_activity(self) -> list[HouseholdActivity]: ...

    async def devices(self, household: str) -> list[DeviceState]: ...

    async def devices_of(self, households: Sequence[str]) -> dict[str, list[DeviceState]]: ...

    async def gateways(self, household: str | None = None) -> list[GatewayLiveState]: ...

    async def hourly_activity(
        self, household: str, start: datetime, end: datetime
    ) -> list[HourlyActivity]: ...

    async def activity_times(self, household: str, start: datetime, end: datetime) -> list[datetime]: ...
