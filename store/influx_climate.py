"""Room climate in InfluxDB: the ``climate`` measurement and the reads the climate watch, the alerts
service and the dashboard make (docs/climate.md, docs/storage.md).

A point per sensor and millisecond: tags ``household`` and ``device``, a field per kind
(``temperature``, ``humidity``), at the reading's millisecond (no id offset: a sensor's temperature
and humidity of one instant are one point, a redelivered reading overwrites itself, and sensors of
one home at the same millisecond are series of their own). InfluxDB keeps no change number: the
live detector's "changed since" read is each sensor's newest reading of the hour before the newest
it was given (a reading delivered later than that is not fed; the detector skips what it has fed).
"""

# Every literal below goes through store/influxql.py's string(), checked() or household_is(), or
# is a number.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

from mimamori.contract import Event, Kind
from store.base import Calm, ClimateChanges, ClimateReading
from store.influx_schema import Record, record
from store.influxql import Series, checked, ms_floor, ms_ns, string

Raw = Callable[..., Awaitable[list[list[Series]]]]
"""The store's InfluxQL call: statements in, one list of series per statement out."""

MEASUREMENT: Final = "climate"
KINDS: Final = (Kind.TEMPERATURE, Kind.HUMIDITY)
LATE: Final = timedelta(hours=1)
"""How far before the newest reading given the live detector's next read looks."""
_NEWEST: Final = "time > now() - 30d"  # the first read: every sensor heard in the last 30 days


def climate_point(event: Event) -> Record:
    """A temperature or humidity reading's point in ``climate``."""
    at_ns = round(event.observed_at.timestamp() * 1000) * 1_000_000
    tags = {"household": event.household, "device": event.device}
    return record(MEASUREMENT, tags, {event.kind.value: float(event.value)}, at_ns)


async def climate_readings(raw: Raw, household: str, start: datetime, end: datetime) -> list[ClimateReading]:
    """Every reading of ``household`` with ``start <= at < end``, oldest first."""
    (series,) = await raw(
        f"SELECT temperature, humidity FROM {MEASUREMENT} WHERE household = {string(checked(household))}"
        f" AND time >= {ms_ns(start)} AND time < {ms_ns(end)} GROUP BY device"
    )
    found = [
        ClimateReading(household, s.tags["device"], kind, float(row[kind.value]), ms_floor(int(row["time"])))
        for s in series
        for row in s.rows
        for kind in KINDS
        if row.get(kind.value) is not None
    ]
    return sorted(found, key=lambda r: (r.at, r.device, r.kind is Kind.TEMPERATURE))


async def _newest(raw: Raw, where: str) -> list[ClimateReading]:
    """Each sensor's newest temperature and humidity matching ``where``, oldest first."""
    answers = await raw(
        *(
            f"SELECT last({kind.value}) FROM {MEASUREMENT} WHERE {where} GROUP BY household, device"
            for kind in KINDS
        )
    )
    found = [
        ClimateReading(
            s.tags["household"], s.tags["device"], kind, float(row["last"]), ms_floor(int(row["time"]))
        )
        for kind, series in zip(KINDS, answers, strict=True)
        for s in series
        for row in s.rows[-1:]
    ]
    return sorted(found, key=lambda r: (r.at, r.household, r.device, r.kind is Kind.TEMPERATURE))


async def climate_since(raw: Raw, since: datetime) -> list[ClimateReading]:
    """The newest reading of every sensor and kind observed at or after ``since``, oldest first."""
    return await _newest(raw, f"time >= {ms_ns(since)}")


async def climate_changes(
    raw: Raw, since: int | None, watched: Sequence[str] = (), calm: Calm | None = None
) -> ClimateChanges:
    """Each sensor's newest readings since ``LATE`` before the cursor (epoch ms of the newest reading
    given; None: the last 30 days); with ``calm``, as the SQLite store filters them."""
    where = _NEWEST if since is None else f"time > {(since - LATE // timedelta(milliseconds=1)) * 1_000_000}"
    readings = await _newest(raw, where)
    newest = max((round(r.at.timestamp() * 1000) for r in readings), default=0)
    if calm is not None:
        keep = set(watched)
        loud = {
            (r.household, r.device)
            for r in readings
            if r.kind is Kind.TEMPERATURE and not calm.low <= r.value < calm.high
        }
        readings = [r for r in readings if r.household in keep or (r.household, r.device) in loud]
    rows = [(r.household, r.device, r.kind.value, r.value, round(r.at.timestamp() * 1000)) for r in readings]
    return ClimateChanges(rows, max(newest, since or 0))
