"""The InfluxDB store's schema: what each point looks like, and where each generation keeps it.

Measurements (docs/storage.md explains the cardinality), all in the raw retention policy but the
last: ``event`` (tag ``household``; fields ``kind``, ``device``, ``gateway``, ``value``, ``id``,
``seq``), ``activity`` (tags ``household``, ``kind``; fields ``device``, ``value``) for events that
mean a person moved, ``device`` (tags ``household``, ``device``: the devices' live state),
``gateway`` and ``heartbeat`` (tags ``household``, ``gateway``), ``rejection`` (tag ``reason``); and
``hourly_activity`` (tags ``household``, ``kind``; field ``count``), the roll-ups Mimamori writes
itself, in the roll-up retention policy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from mimamori.contract import Event, Kind

HOUR_NS: Final = 3_600_000_000_000
SENSOR_ONLY: Final = frozenset({Kind.BATTERY, Kind.CHECKIN})
"""Reports that say a device is alive, not what it senses."""
Record = dict[str, Any]
"""A point as influxdb-client serialises it: measurement, tags, fields, time (ns)."""
Generation = Literal["1.8+", "2.x", "3.x"]


@dataclass(frozen=True, slots=True)
class InfluxTarget:
    """Where the points go and where InfluxQL finds them, by server generation.

    Queries always name a v1 database and retention policy. Writes name a bucket: on 1.8+ and 3.x
    ``database/retention_policy`` (1.8's v2 write API maps it so; a 3.x database of that name is
    what the DBRP naming convention maps the query's ``db`` and ``rp`` to); on 2.x the buckets
    themselves, which a DBRP mapping ties to the database and policies.
    """

    generation: Generation = "2.x"
    database: str = "mimamori"
    retention_policy: str = "raw"
    rollup_retention_policy: str = "rollup"
    bucket: str = "events"  # 2.x: raw points
    rollup_bucket: str = "rollups"  # 2.x: roll-ups

    def write_bucket(self, rollup: bool = False) -> str:
        if self.generation == "2.x":
            return self.rollup_bucket if rollup else self.bucket
        return f"{self.database}/{self.rollup_retention_policy if rollup else self.retention_policy}"


def point_time_ns(observed_at: datetime, message_id: str) -> int:
    """Observation time in ns plus a stable sub-millisecond offset (whole microseconds, so it
    survives a round trip through Python datetimes) derived from the message id."""
    ms = round(observed_at.timestamp() * 1000)
    offset_us = int.from_bytes(hashlib.blake2b(message_id.encode(), digest_size=4).digest(), "big") % 1000
    return ms * 1_000_000 + offset_us * 1000


def record(measurement: str, tags: dict[str, str], fields: dict[str, Any], time_ns: int) -> Record:
    return {"measurement": measurement, "tags": tags, "fields": fields, "time": time_ns}


def event_points(event: Event, at_ns: int, activity: bool) -> list[Record]:
    """An event's points: the event itself, its device's live state, and (when it means a person
    did something) its activity point, all at the event's point time."""
    value = float(event.value)
    fields = {
        "kind": event.kind.value,
        "device": event.device,
        "gateway": event.gateway,
        "value": value,
        "id": event.message_id,
        "seq": event.seq,
    }
    # A battery or check-in report refreshes "last seen" but not the sensor's kind or reading.
    live: dict[str, Any] = (
        {"report_kind": event.kind.value, "report_value": value}
        if event.kind in SENSOR_ONLY
        else {"kind": event.kind.value, "value": value}
    )
    if event.kind is Kind.BATTERY:
        live["battery"] = value
    points = [
        record("event", {"household": event.household}, fields, at_ns),
        record("device", {"household": event.household, "device": event.device}, live, at_ns),
    ]
    if activity:
        points.append(
            record(
                "activity",
                {"household": event.household, "kind": event.kind.value},
                {"device": event.device, "value": value},
                at_ns,
            )
        )
    return points
