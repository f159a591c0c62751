"""InfluxDB 2.x adapter of the Store ports, through ``influxdb-client``'s async API.

Schema (docs/storage.md explains the cardinality): measurement ``event`` (tag ``household``;
fields ``kind``, ``device``, ``gateway``, ``value``, ``id``, ``seq``), ``activity`` (tags
``household``, ``kind``; field ``device``) for events that mean a person moved, ``gateway`` and
``heartbeat`` (tags ``household``, ``gateway``) and ``rejection`` (tag ``reason``).

Writes are idempotent without a read: a point's timestamp is the observation time in nanoseconds
plus a sub-millisecond offset derived from the message id, so a redelivered event overwrites itself
and two events of one household in the same millisecond do not collide. Requests carry at most
``batch_lines`` lines; 429 and 5xx answers (and connection failures) are retried with backoff,
honouring ``Retry-After``.

Raises :class:`StoreError` (``retryable`` for 429/5xx/connection errors, not for 4xx).
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

import aiohttp
from influxdb_client.client.flux_table import FluxRecord
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from mimamori.config import Config
from mimamori.contract import ID_RE, Event, GatewayState, Kind, is_activity
from store.base import (
    ActivityChanges,
    BatchResult,
    ButtonPress,
    DeviceState,
    GatewayLiveState,
    GatewaySummary,
    HourlyActivity,
    HouseholdActivity,
    IngestBatch,
    StoreError,
)

log = logging.getLogger(__name__)

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
LOOKBACK: Final = timedelta(days=30)
"""How far back live-state queries look (older households count as never seen)."""
_SENSOR_ONLY: Final = frozenset({Kind.BATTERY, Kind.CHECKIN})
_NS: Final = cast(WritePrecision, "ns")
_NEWEST: Final = '\n  |> sort(columns: ["_time"])\n  |> last(column: "_time")'
"""The newest row of each table (``group`` does not keep rows in time order)."""
POWER_READINGS_KEPT: Final = 64
"""Recent readings kept per plug, so a redelivered or slightly late reading finds its predecessor."""
Record = dict[str, Any]
"""A point as influxdb-client serialises it: measurement, tags, fields, time (ns)."""


def point_time_ns(observed_at: datetime, message_id: str) -> int:
    """Observation time in ns plus a stable sub-millisecond offset (whole microseconds, so it
    survives a round trip through Python datetimes) derived from the message id."""
    ms = round(observed_at.timestamp() * 1000)
    offset_us = int.from_bytes(hashlib.blake2b(message_id.encode(), digest_size=4).digest(), "big") % 1000
    return ms * 1_000_000 + offset_us * 1000


def _ns(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1) * 1000


def flux_string(value: str) -> str:
    """A Flux string literal (escapes quotes, backslashes and ``${`` interpolation)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return f'"{escaped}"'


def _flux_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _checked(household: str) -> str:
    if not ID_RE.match(household):
        raise StoreError(f"not a household id: {household[:80]!r}", retryable=False)
    return household


class InfluxEventStore:
    """Events and live state in an InfluxDB 2.x bucket. :meth:`open` creates the client."""

    def __init__(
        self,
        url: str,
        token: str,
        org: str,
        bucket: str,
        *,
        batch_lines: int = 5000,
        max_retries: int = 5,
        retry_base_s: float = 0.5,
        timeout_ms: int = 10_000,
    ) -> None:
        self._url = url
        self._token = token
        self._org = org
        self._bucket = bucket
        self._batch_lines = batch_lines
        self._max_retries = max_retries
        self._retry_base_s = retry_base_s
        self._timeout_ms = timeout_ms
        self._client: InfluxDBClientAsync | None = None
        self._power: dict[tuple[str, str], list[tuple[int, float]]] = {}  # (time ns, watts), oldest first

    async def open(self) -> None:
        self._client = InfluxDBClientAsync(
            url=self._url, token=self._token, org=self._org, timeout=self._timeout_ms
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()  # type: ignore[no-untyped-call]

    def _require(self) -> InfluxDBClientAsync:
        if self._client is None:
            raise StoreError("influx store is not open", retryable=False)
        return self._client

    # ------------------------------------------------------------------ writes

    async def write_batch(self, batch: IngestBatch) -> BatchResult:
        unique: dict[str, Event] = {}
        for event in batch.events:
            unique.setdefault(event.message_id, event)
        events = sorted(unique.values(), key=lambda e: e.observed_at)
        await self._load_power(events)
        points: list[Record] = []
        for event in events:
            points.extend(self._event_points(event))
        received_ns = round(batch.received_at.timestamp() * 1_000_000_000)
        for n, status in enumerate(batch.statuses):  # arrival order: one nanosecond apart
            points.append(
                _record(
                    "gateway",
                    {"household": status.household, "gateway": status.gateway},
                    {"state": status.state.value, "reported_ms": round(status.at.timestamp() * 1000)},
                    received_ns + n,
                )
            )
        for beat in batch.heartbeats:
            points.append(
                _record(
                    "heartbeat",
                    {"household": beat.household, "gateway": beat.gateway},
                    {"seq": beat.seq, "outbox_depth": beat.outbox_depth},
                    round(beat.at.timestamp() * 1000) * 1_000_000,
                )
            )
        for n, rejection in enumerate(batch.rejections):
            points.append(
                _record(
                    "rejection",
                    {"reason": rejection.reason},
                    {"topic": rejection.topic, "detail": rejection.detail},
                    received_ns + n,
                )
            )
        for start in range(0, len(points), self._batch_lines):
            await self._write(points[start : start + self._batch_lines])
        return BatchResult(stored=len(events), duplicates=len(batch.events) - len(events))

    def _event_points(self, event: Event) -> list[Record]:
        at_ns = point_time_ns(event.observed_at, event.message_id)
        if event.kind is Kind.POWER:
            readings = self._power.setdefault((event.household, event.device), [])
            i = bisect.bisect_left(readings, (at_ns, -math.inf))
            activity = is_activity(Kind.POWER, event.value, readings[i - 1][1] if i else None)
            if i == len(readings) or readings[i][0] != at_ns:
                readings.insert(i, (at_ns, event.value))
            del readings[:-POWER_READINGS_KEPT]
        else:
            activity = event.kind not in _SENSOR_ONLY and is_activity(event.kind, event.value, None)
        fields = {
            "kind": event.kind.value,
            "device": event.device,
            "gateway": event.gateway,
            "value": float(event.value),
            "id": event.message_id,
            "seq": event.seq,
        }
        points = [_record("event", {"household": event.household}, fields, at_ns)]
        if activity:
            points.append(
                _record(
                    "activity",
                    {"household": event.household, "kind": event.kind.value},
                    {"device": event.device},
                    at_ns,
                )
            )
        return points

    async def _load_power(self, events: Sequence[Event]) -> None:
        """Make sure the plug cache holds each power event's predecessor: the newest stored reading
        of plugs this process has not seen yet (after a restart, or a household the share group gave
        to another worker before), and the reading just before a late or redelivered event."""
        missing = sorted(
            {
                e.household
                for e in events
                if e.kind is Kind.POWER and (e.household, e.device) not in self._power
            }
        )
        if missing:
            households = ", ".join(flux_string(_checked(h)) for h in missing)
            query = (
                self._from("last_power", f"-{LOOKBACK.days}d")
                + '\n  |> filter(fn: (r) => r._measurement == "event"'
                + f" and contains(value: r.household, set: [{households}]))"
                + '\n  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
                + '\n  |> filter(fn: (r) => r.kind == "power")'
                + '\n  |> group(columns: ["household", "device"])'
                + _NEWEST
            )
            for record in await self._query(query):
                key = (str(record.values["household"]), str(record.values["device"]))
                self._power[key] = [(_ns(_time(record)), float(record.values["value"]))]
        for event in events:
            if event.kind is not Kind.POWER:
                continue
            readings = self._power.setdefault((event.household, event.device), [])
            if readings and point_time_ns(event.observed_at, event.message_id) <= readings[0][0]:
                before = await self._power_before(event)
                if before is not None and before not in readings:
                    bisect.insort(readings, before)

    async def _power_before(self, event: Event) -> tuple[int, float] | None:
        at_ms = event.observed_at.replace(microsecond=event.observed_at.microsecond // 1000 * 1000)
        query = (
            self._from("power_before", f"{_flux_time(at_ms - LOOKBACK)}, stop: {_flux_time(at_ms)}")
            + '\n  |> filter(fn: (r) => r._measurement == "event"'
            + f" and r.household == {flux_string(_checked(event.household))})"
            + '\n  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
            + f'\n  |> filter(fn: (r) => r.kind == "power" and r.device == {flux_string(event.device)})'
            + "\n  |> group()"
            + _NEWEST
        )
        records = await self._query(query)
        return (_ns(_time(records[-1])), float(records[-1].values["value"])) if records else None

    async def _write(self, points: list[Record]) -> None:
        client = self._require()
        attempt = 0
        while True:
            try:
                await client.write_api().write(self._bucket, self._org, points, write_precision=_NS)
                return
            except ApiException as exc:
                status = int(exc.status or 0)
                if status != 429 and status < 500:
                    raise StoreError(
                        f"influx refused the write: {status} {exc.reason}", retryable=False
                    ) from exc
                delay = _retry_after(exc.headers) or self._retry_base_s * 2**attempt
                error: Exception = exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                delay = self._retry_base_s * 2**attempt
                error = exc
            attempt += 1
            if attempt > self._max_retries:
                raise StoreError(
                    f"influx write failed after {attempt} attempts: {error}", retryable=True
                ) from error
            log.warning(
                "influx_write_retry attempt=%s delay_s=%.2f error=%s", attempt, delay, str(error)[:200]
            )
            await asyncio.sleep(delay)

    # ------------------------------------------------------------------ reads

    async def _query(self, query: str) -> list[FluxRecord]:
        client = self._require()
        try:
            tables = await client.query_api().query(query, org=self._org)
        except ApiException as exc:
            status = int(exc.status or 0)
            raise StoreError(
                f"influx query failed: {status} {exc.reason}", retryable=status == 429 or status >= 500
            ) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise StoreError(f"influx query failed: {exc}", retryable=True) from exc
        return [record for table in tables for record in table.records]

    def _from(self, name: str, start: str) -> str:
        return f"// mimamori:{name}\nfrom(bucket: {flux_string(self._bucket)})\n  |> range(start: {start})"

    async def count_events(self, household: str | None = None) -> int:
        where = f" and r.household == {flux_string(_checked(household))}" if household else ""
        query = (
            self._from("count_events", "0")
            + f'\n  |> filter(fn: (r) => r._measurement == "event" and r._field == "id"{where})'
            + "\n  |> group()\n  |> count()"
        )
        return sum(int(r.values["_value"]) for r in await self._query(query))

    async def household_activity(self) -> list[HouseholdActivity]:
        lookback = f"-{LOOKBACK.days}d"
        last_activity = (
            self._from("last_activity", lookback)
            + '\n  |> filter(fn: (r) => r._measurement == "activity" and r._field == "device")'
            + '\n  |> group(columns: ["household"])'
            + _NEWEST
        )
        last_event = (
            self._from("last_event", lookback)
            + '\n  |> filter(fn: (r) => r._measurement == "event" and r._field == "id")'
            + '\n  |> group(columns: ["household"])'
            + _NEWEST
        )
        activity = {
            str(r.values["household"]): (_time(r), str(r.values["_value"]))
            for r in await self._query(last_activity)
        }
        seen = {str(r.values["household"]): _time(r) for r in await self._query(last_event)}
        return [
            HouseholdActivity(
                household=h,
                last_activity_at=_ms_floor(activity[h][0]) if h in activity else None,
                last_activity_device=activity[h][1] if h in activity else None,
                last_event_at=_ms_floor(seen[h]),
            )
            for h in sorted(seen)
        ]

    async def activity_changes(self, since: int | None) -> ActivityChanges:
        """Every household, each time: InfluxDB keeps no change numbers."""
        return ActivityChanges(
            [
                (
                    h.household,
                    None if h.last_activity_at is None else h.last_activity_at.timestamp(),
                    h.last_activity_device,
                    None
                    if h.last_event_at is None or h.last_event_at == h.last_activity_at
                    else h.last_event_at.timestamp(),
                )
                for h in await self.household_activity()
            ],
            0,
        )

    async def gateway_summary(self) -> GatewaySummary:
        gateways = await self.gateways()
        beats = [g.last_heartbeat_at for g in gateways if g.last_heartbeat_at is not None]
        return GatewaySummary(
            [g for g in gateways if g.state is GatewayState.OFFLINE], max(beats) if beats else None
        )

    async def hourly_activity(self, household: str, start: datetime, end: datetime) -> list[HourlyActivity]:
        query = (
            self._from("hourly_activity", f"{_flux_time(start)}, stop: {_flux_time(end)}")
            + f'\n  |> filter(fn: (r) => r._measurement == "activity" and r._field == "device"'
            f" and r.household == {flux_string(_checked(household))})"
            + '\n  |> group(columns: ["kind"])'
            + '\n  |> aggregateWindow(every: 1h, fn: count, createEmpty: false, timeSrc: "_start")'
        )
        rows = [
            HourlyActivity(
                household, _time(r).astimezone(UTC), Kind(str(r.values["kind"])), int(r.values["_value"])
            )
            for r in await self._query(query)
        ]
        return sorted(rows, key=lambda h: (h.hour, h.kind.value))

    async def activity_times(self, household: str, start: datetime, end: datetime) -> list[datetime]:
        query = (
            self._from("activity_times", f"{_flux_time(start)}, stop: {_flux_time(end)}")
            + f'\n  |> filter(fn: (r) => r._measurement == "activity" and r._field == "device"'
            f" and r.household == {flux_string(_checked(household))})"
            '\n  |> keep(columns: ["_time"])\n  |> group()\n  |> sort(columns: ["_time"])'
        )
        return [_ms_floor(_time(r)) for r in await self._query(query)]

    async def events(self, household: str, start: datetime, end: datetime) -> list[Event]:
        """Every stored event of a household with ``start <= observed_at < end``, oldest first."""
        query = (
            self._from("events", f"{_flux_time(start)}, stop: {_flux_time(end)}")
            + '\n  |> filter(fn: (r) => r._measurement == "event"'
            + f" and r.household == {flux_string(_checked(household))})"
            + '\n  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
            + '\n  |> group()\n  |> sort(columns: ["_time"])'
        )
        return [
            Event(
                message_id=str(r.values["id"]),
                household=household,
                gateway=str(r.values["gateway"]),
                device=str(r.values["device"]),
                kind=Kind(str(r.values["kind"])),
                value=float(r.values["value"]),
                observed_at=_ms_floor(_time(r)),
                seq=int(r.values["seq"]),
            )
            for r in await self._query(query)
        ]

    async def device_suspects(
        self, households: Sequence[str], battery_at_most: float, seen_by: datetime
    ) -> set[str]:
        return {
            household
            for household, devices in (await self.devices_of(households)).items()
            if any(
                d.last_seen_at <= seen_by or (d.battery is not None and d.battery <= battery_at_most)
                for d in devices
            )
        }

    async def button_presses(self, since: datetime) -> list[ButtonPress]:
        query = (
            self._from("button_presses", _flux_time(since))
            + '\n  |> filter(fn: (r) => r._measurement == "event" and r._field == "value"'
            + ' and r.kind == "button" and r._value >= 1.0)'
            + '\n  |> group()\n  |> sort(columns: ["_time"])'
        )
        return [
            ButtonPress(str(r.values["household"]), str(r.values["device"]), _ms_floor(_time(r)))
            for r in await self._query(query)
        ]

    async def devices(self, household: str) -> list[DeviceState]:
        return (await self.devices_of([household])).get(household, [])

    async def devices_of(self, households: Sequence[str]) -> dict[str, list[DeviceState]]:
        if not households:
            return {}
        wanted = ", ".join(flux_string(_checked(h)) for h in households)
        query = (
            self._from("devices", f"-{LOOKBACK.days}d")
            + '\n  |> filter(fn: (r) => r._measurement == "event"'
            + f" and contains(value: r.household, set: [{wanted}]))"
            + '\n  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
            + '\n  |> group(columns: ["household", "device", "kind"])'
            + _NEWEST
        )
        newest: dict[tuple[str, str], dict[Kind, tuple[datetime, float]]] = {}
        for r in await self._query(query):
            key = (str(r.values["household"]), str(r.values["device"]))
            newest.setdefault(key, {})[Kind(str(r.values["kind"]))] = (
                _ms_floor(_time(r)),
                float(r.values["value"]),
            )
        found: dict[str, list[DeviceState]] = {}
        for (household, device), by_kind in sorted(newest.items()):
            seen = max(at for at, _ in by_kind.values())
            sensors = {k: v for k, v in by_kind.items() if k not in _SENSOR_ONLY} or by_kind
            kind, (_, value) = max(sensors.items(), key=lambda kv: kv[1][0])
            battery = by_kind.get(Kind.BATTERY)
            state = DeviceState(household, device, kind, seen, value, battery[1] if battery else None)
            found.setdefault(household, []).append(state)
        return found

    async def gateways(self, household: str | None = None) -> list[GatewayLiveState]:
        where = f" and r.household == {flux_string(_checked(household))}" if household else ""
        lookback = f"-{LOOKBACK.days}d"
        status_query = (
            self._from("gateway_status", lookback)
            + f'\n  |> filter(fn: (r) => r._measurement == "gateway" and r._field == "state"{where})'
            + '\n  |> group(columns: ["household", "gateway"])'
            + _NEWEST
        )
        beat_query = (
            self._from("gateway_heartbeat", lookback)
            + f'\n  |> filter(fn: (r) => r._measurement == "heartbeat" and r._field == "seq"{where})'
            + '\n  |> group(columns: ["household", "gateway"])'
            + _NEWEST
        )
        beats = {
            (str(r.values["household"]), str(r.values["gateway"])): _ms_floor(_time(r))
            for r in await self._query(beat_query)
        }
        states: dict[tuple[str, str], GatewayLiveState] = {}
        for r in await self._query(status_query):
            key = (str(r.values["household"]), str(r.values["gateway"]))
            states[key] = GatewayLiveState(
                *key, GatewayState(str(r.values["_value"])), _ms_floor(_time(r)), beats.get(key)
            )
        for key, beat in beats.items():  # heard from, never announced: online
            states.setdefault(key, GatewayLiveState(*key, GatewayState.ONLINE, beat, beat))
        return [states[k] for k in sorted(states)]


def _record(measurement: str, tags: dict[str, str], fields: dict[str, Any], time_ns: int) -> Record:
    return {"measurement": measurement, "tags": tags, "fields": fields, "time": time_ns}


def _time(record: FluxRecord) -> datetime:
    at: datetime = record.values["_time"]
    return at


def _ms_floor(at: datetime) -> datetime:
    """Drop the sub-millisecond id offset (the contract's times are milliseconds)."""
    return at.replace(microsecond=at.microsecond - at.microsecond % 1000).astimezone(UTC)


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    raw = headers.get("Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def influx_store(config: Config) -> InfluxEventStore:
    """The InfluxDB adapter as configured (token from MIMAMORI_INFLUX_TOKEN)."""
    s = config.store
    token = config.secrets.influx_token
    if token is None:
        raise SystemExit("mimamori: store.backend = influxdb needs MIMAMORI_INFLUX_TOKEN")
    return InfluxEventStore(
        s.influx_url,
        token.get_secret_value(),
        s.influx_org,
        s.influx_bucket,
        batch_lines=s.influx_batch_lines,
        max_retries=s.influx_max_retries,
    )
