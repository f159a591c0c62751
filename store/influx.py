"""InfluxDB adapter of the Store ports: writes through ``influxdb-client`` (the v2 write API, which
InfluxDB 1.8+, 2.x and 3.x accept), reads in InfluxQL over the v1 ``/query`` API (``store/influxql.py``).

The schema is ``store/influx_schema.py``'s: raw points in the raw retention policy, the hourly
roll-ups Mimamori writes itself in the roll-up one; the server expires both
(:meth:`InfluxEventStore.open` creates the 1.x database and policies; docs/storage.md for 2.x/3.x).

Writes are idempotent without a read: a point's timestamp is the observation time in nanoseconds
plus a sub-millisecond offset derived from the message id, so a redelivered event overwrites itself
and two events of one household in the same millisecond do not collide. A roll-up is recounted
from the raw activity points of its hour after they are written, so redelivery never inflates it.
Requests carry at most ``batch_lines`` lines; 429 and 5xx answers (and connection failures) are
retried with backoff, honouring ``Retry-After``.

Raises :class:`StoreError` (``retryable`` for 429/5xx/connection errors, not for 4xx).
"""

# InfluxDB 1.x has no query parameters: every literal below goes through store/influxql.py's
# string(), identifier() or household_is() (checked ids), or is a number.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import bisect
import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

import aiohttp
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from mimamori.config import Config
from mimamori.contract import Event, GatewayState, Kind, is_activity
from store.base import (
    ActivityChanges,
    BatchResult,
    ButtonPress,
    Calm,
    ClimateChanges,
    ClimateReading,
    DeviceState,
    GatewayLiveState,
    GatewaySummary,
    HourlyActivity,
    HouseholdActivity,
    IngestBatch,
    StoreError,
)
from store.influx_climate import KINDS as CLIMATE_KINDS
from store.influx_climate import climate_changes, climate_point, climate_readings, climate_since
from store.influx_schema import (
    HOUR_NS,
    SENSOR_ONLY,
    InfluxTarget,
    Record,
    event_points,
    point_time_ns,
    record,
)
from store.influxql import (
    InfluxQL,
    Series,
    checked,
    from_ns,
    household_is,
    identifier,
    ms_floor,
    ms_ns,
    string,
)

log = logging.getLogger(__name__)

LOOKBACK: Final = timedelta(days=30)
"""How far back live-state queries look (older households count as never seen)."""
_NS: Final = cast(WritePrecision, "ns")
_SINCE: Final = f"time > now() - {LOOKBACK.days}d"
POWER_READINGS_KEPT: Final = 64
"""Recent readings kept per plug, so a redelivered or slightly late reading finds its predecessor."""


REFUSED_POINTS = frozenset({400, 422})
"""Write statuses that refuse the points themselves (bad line protocol, a field's type conflict): not
retried, the batch's points are dead-lettered one by one. Every other status (401/403 credentials,
404 bucket or database missing, 413 too large, 429, 5xx) and a timeout say nothing about the points:
retried, and the batch waits (docs/storage.md)."""


class InfluxEventStore:
    """Events, live state and roll-ups in InfluxDB. :meth:`open` creates the clients (and, on 1.x,
    the database and its retention policies)."""

    def __init__(
        self,
        url: str,
        token: str,
        org: str,
        target: InfluxTarget,
        *,
        raw_retention_days: int = 400,
        rollup_retention_days: int = 3650,
        batch_lines: int = 5000,
        max_retries: int = 5,
        retry_base_s: float = 0.5,
        timeout_ms: int = 10_000,
    ) -> None:
        self._url = url
        self._token = token
        self._org = org
        self.target = target
        self._raw_days = raw_retention_days
        self._rollup_days = rollup_retention_days
        self._batch_lines = batch_lines
        self._max_retries = max_retries
        self._retry_base_s = retry_base_s
        self._timeout_ms = timeout_ms
        self._client: InfluxDBClientAsync | None = None
        self._ql = InfluxQL(url, token, timeout_s=timeout_ms / 1000)
        self._power: dict[tuple[str, str], list[tuple[int, float]]] = {}  # (time ns, watts), oldest first
        self._gateways: dict[tuple[str, str], tuple[str, int]] = {}  # state, changed ms

    async def open(self) -> None:
        self._client = InfluxDBClientAsync(
            url=self._url, token=self._token, org=self._org, timeout=self._timeout_ms
        )
        await self._ql.open()
        if self.target.generation == "1.8+":
            try:
                await self.ensure_retention()
            except BaseException:
                await self.close()
                raise

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()  # type: ignore[no-untyped-call]
        await self._ql.close()

    def _require(self) -> InfluxDBClientAsync:
        if self._client is None:
            raise StoreError("influx store is not open", retryable=False)
        return self._client

    async def ensure_retention(self) -> None:
        """InfluxDB 1.x: the database, its raw policy (the default) and the roll-up policy, with
        the configured durations; changes only what differs (SHOW first, so a reader without admin
        rights passes when all is in place)."""
        t = self.target
        db = identifier(t.database)
        wanted = {t.retention_policy: self._raw_days, t.rollup_retention_policy: self._rollup_days}
        (databases,) = await self._ql.query(t.database, "", "SHOW DATABASES")
        known = {row["name"] for s in databases for row in s.rows}
        statements = [] if t.database in known else [f"CREATE DATABASE {db}"]
        policies: dict[str, tuple[str, bool]] = {}
        if not statements:
            (shown,) = await self._ql.query(t.database, "", f"SHOW RETENTION POLICIES ON {db}")
            policies = {r["name"]: (r["duration"], r["default"]) for s in shown for r in s.rows}
        for name, days in wanted.items():
            default = name == t.retention_policy
            spec = f"{identifier(name)} ON {db} DURATION {days}d REPLICATION 1" + (
                " DEFAULT" if default else ""
            )
            current = policies.get(name)
            if current is None:
                statements.append(f"CREATE RETENTION POLICY {spec}")
            elif current[0] != f"{days * 24}h0m0s" or (default and not current[1]):
                statements.append(f"ALTER RETENTION POLICY {spec}")
        for statement in statements:  # one by one: CREATE DATABASE must land before its policies
            await self._ql.query(t.database, "", statement)
            log.info("store.influx_retention statement=%s", statement)

    async def _raw(self, *statements: str) -> list[list[Series]]:
        return await self._ql.query(self.target.database, self.target.retention_policy, *statements)

    # ------------------------------------------------------------------ writes

    async def write_batch(self, batch: IngestBatch) -> BatchResult:
        unique: dict[str, Event] = {}
        for event in batch.events:
            unique.setdefault(event.message_id, event)
        events = sorted(unique.values(), key=lambda e: e.observed_at)
        await self._load_power(events)
        points: list[Record] = []
        hours: dict[int, set[str]] = {}  # hour (ns) → households with activity in it
        for event in events:
            points.extend(self._event_points(event, hours))
        points.extend(await self._gateway_points(batch))
        received_ns = round(batch.received_at.timestamp() * 1_000_000_000)
        for n, rejection in enumerate(batch.rejections):
            points.append(
                record(
                    "rejection",
                    {"reason": rejection.reason},
                    {"topic": rejection.topic, "detail": rejection.detail},
                    received_ns + n,
                )
            )
        for start in range(0, len(points), self._batch_lines):
            await self._write(points[start : start + self._batch_lines])
        if hours:
            await self._write(await self._rollups(hours), rollup=True)
        return BatchResult(stored=len(events), duplicates=len(batch.events) - len(events))

    def _event_points(self, event: Event, hours: dict[int, set[str]]) -> list[Record]:
        at_ns = point_time_ns(event.observed_at, event.message_id)
        if event.kind is Kind.POWER:
            readings = self._power.setdefault((event.household, event.device), [])
            i = bisect.bisect_left(readings, (at_ns, -math.inf))
            activity = is_activity(Kind.POWER, event.value, readings[i - 1][1] if i else None)
            if i == len(readings) or readings[i][0] != at_ns:
                readings.insert(i, (at_ns, event.value))
            del readings[:-POWER_READINGS_KEPT]
        else:
            activity = event.kind not in SENSOR_ONLY and is_activity(event.kind, event.value, None)
        if activity:
            hours.setdefault(at_ns - at_ns % HOUR_NS, set()).add(event.household)
        points = event_points(event, at_ns, activity)
        if event.kind in CLIMATE_KINDS:
            points.append(climate_point(event))
        return points

    async def _rollups(self, hours: dict[int, set[str]]) -> list[Record]:
        """The hourly roll-ups of the hours this batch touched, counted again from the raw activity
        points (so a redelivered event, which overwrote itself, is counted once)."""
        order = sorted(hours)
        answers = await self._raw(
            *(
                f"SELECT count(device) FROM activity WHERE time >= {hour} AND time < {hour + HOUR_NS}"
                f" AND {household_is(sorted(hours[hour]))} GROUP BY household, kind"
                for hour in order
            )
        )
        return [
            record("hourly_activity", s.tags, {"count": int(row["count"])}, hour)
            for hour, series in zip(order, answers, strict=True)
            for s in series
            for row in s.rows
        ]

    async def _gateway_points(self, batch: IngestBatch) -> list[Record]:
        """Status points in arrival order, each with the time ingest learned of the gateway's current
        state (``changed_ms``); a heartbeat from a gateway never announced makes it online."""
        keys = {(s.household, s.gateway) for s in batch.statuses}
        keys |= {(b.household, b.gateway) for b in batch.heartbeats}
        missing = sorted(k for k in keys if k not in self._gateways)
        if missing:
            (series,) = await self._raw(
                "SELECT last(state), changed_ms FROM gateway"
                f" WHERE {household_is(sorted({h for h, _ in missing}))} GROUP BY household, gateway"
            )
            for s in series:
                for row in s.rows:
                    key = (s.tags["household"], s.tags["gateway"])
                    self._gateways.setdefault(key, (str(row["last"]), int(row["changed_ms"])))
        received_ms = round(batch.received_at.timestamp() * 1000)
        received_ns = received_ms * 1_000_000
        points: list[Record] = []

        def status(household: str, gateway: str, state: str, reported_ms: int) -> None:
            previous = self._gateways.get((household, gateway))
            changed = previous[1] if previous is not None and previous[0] == state else received_ms
            self._gateways[(household, gateway)] = (state, changed)
            points.append(
                record(
                    "gateway",
                    {"household": household, "gateway": gateway},
                    {"state": state, "reported_ms": reported_ms, "changed_ms": changed},
                    received_ns + len(points),  # arrival order: one nanosecond apart
                )
            )

        for st in batch.statuses:
            status(st.household, st.gateway, st.state.value, round(st.at.timestamp() * 1000))
        for beat in batch.heartbeats:
            at_ms = round(beat.at.timestamp() * 1000)
            if (beat.household, beat.gateway) not in self._gateways:
                status(beat.household, beat.gateway, GatewayState.ONLINE.value, at_ms)
        for beat in batch.heartbeats:
            points.append(
                record(
                    "heartbeat",
                    {"household": beat.household, "gateway": beat.gateway},
                    {"seq": beat.seq, "outbox_depth": beat.outbox_depth},
                    round(beat.at.timestamp() * 1000) * 1_000_000,
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
            (series,) = await self._raw(
                f"SELECT last(value) FROM device WHERE {household_is(missing)} AND kind = 'power'"
                f" AND {_SINCE} GROUP BY household, device"
            )
            for s in series:
                for row in s.rows:
                    key = (s.tags["household"], s.tags["device"])
                    self._power[key] = [(int(row["time"]), float(row["last"]))]
        for event in events:
            if event.kind is not Kind.POWER:
                continue
            readings = self._power.setdefault((event.household, event.device), [])
            if readings and point_time_ns(event.observed_at, event.message_id) <= readings[0][0]:
                before = await self._power_before(event)
                if before is not None and before not in readings:
                    bisect.insort(readings, before)

    async def _power_before(self, event: Event) -> tuple[int, float] | None:
        at = ms_ns(event.observed_at)
        (series,) = await self._raw(
            f"SELECT last(value) FROM device WHERE household = {string(checked(event.household))}"
            f" AND device = {string(event.device)} AND kind = 'power'"
            f" AND time >= {at - LOOKBACK // timedelta(microseconds=1) * 1000} AND time < {at}"
        )
        rows = [row for s in series for row in s.rows]
        return (int(rows[-1]["time"]), float(rows[-1]["last"])) if rows else None

    async def _write(self, points: list[Record], *, rollup: bool = False) -> None:
        client = self._require()
        bucket = self.target.write_bucket(rollup)
        attempt = 0
        while True:
            try:
                await client.write_api().write(bucket, self._org, points, write_precision=_NS)
                return
            except ApiException as exc:
                status = int(exc.status or 0)
                if status in REFUSED_POINTS:  # these points will never be taken: dead-lettered
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
                "store.influx_write_retry attempt=%s delay_s=%.2f error=%s",
                attempt,
                delay,
                str(error)[:200],
            )
            await asyncio.sleep(delay)

    # ------------------------------------------------------------------ reads

    async def count_events(self, household: str | None = None) -> int:
        where = f" WHERE household = {string(checked(household))}" if household else ""
        (series,) = await self._raw(f"SELECT count(id) FROM event{where}")
        return sum(int(row["count"]) for s in series for row in s.rows)

    async def household_activity(self) -> list[HouseholdActivity]:
        activity, seen = await self._raw(
            f"SELECT last(device) FROM activity WHERE {_SINCE} GROUP BY household",
            f"SELECT last(id) FROM event WHERE {_SINCE} GROUP BY household",
        )
        last_activity = {s.tags["household"]: s.rows[-1] for s in activity if s.rows}
        last_seen = {s.tags["household"]: int(s.rows[-1]["time"]) for s in seen if s.rows}
        return [
            HouseholdActivity(
                household=h,
                last_activity_at=ms_floor(int(last_activity[h]["time"])) if h in last_activity else None,
                last_activity_device=str(last_activity[h]["last"]) if h in last_activity else None,
                last_event_at=ms_floor(last_seen[h]),
            )
            for h in sorted(last_seen)
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
        """Every gateway's state, the newest heartbeat of any, and the heartbeats of the offline ones
        only (not one row per gateway: at 10,000 homes that was most of the read)."""
        states, newest = await self._raw(
            "SELECT last(state), changed_ms FROM gateway GROUP BY household, gateway",
            f"SELECT last(seq) FROM heartbeat WHERE {_SINCE}",
        )
        offline = {
            (s.tags["household"], s.tags["gateway"]): int(s.rows[-1]["changed_ms"])
            for s in states
            if s.rows and s.rows[-1]["last"] == GatewayState.OFFLINE.value
        }
        heard: dict[tuple[str, str], datetime] = {}
        if offline:
            (beats,) = await self._raw(
                f"SELECT last(seq) FROM heartbeat WHERE {household_is(sorted({h for h, _ in offline}))}"
                f" AND {_SINCE} GROUP BY household, gateway"
            )
            heard = {
                (s.tags["household"], s.tags["gateway"]): ms_floor(int(s.rows[-1]["time"]))
                for s in beats
                if s.rows
            }
        latest = [int(row["time"]) for s in newest for row in s.rows]
        return GatewaySummary(
            [
                GatewayLiveState(*key, GatewayState.OFFLINE, ms_floor(changed * 1_000_000), heard.get(key))
                for key, changed in sorted(offline.items())
            ],
            ms_floor(max(latest)) if latest else None,
        )

    async def hourly_activity(self, household: str, start: datetime, end: datetime) -> list[HourlyActivity]:
        (series,) = await self._ql.query(
            self.target.database,
            self.target.rollup_retention_policy,
            f'SELECT "count", kind FROM hourly_activity WHERE household = {string(checked(household))}'
            f" AND time >= {ms_ns(start)} AND time < {ms_ns(end)}",
        )
        rows = [
            HourlyActivity(
                household,
                from_ns(int(row["time"])).astimezone(UTC),
                Kind(str(row["kind"])),
                int(row["count"]),
            )
            for s in series
            for row in s.rows
        ]
        return sorted(rows, key=lambda h: (h.hour, h.kind.value))

    async def activity_times(self, household: str, start: datetime, end: datetime) -> list[datetime]:
        (series,) = await self._raw(
            f"SELECT device FROM activity WHERE household = {string(checked(household))}"
            f" AND time >= {ms_ns(start)} AND time < {ms_ns(end)}"
        )
        return sorted(ms_floor(int(row["time"])) for s in series for row in s.rows)

    async def events(self, household: str, start: datetime, end: datetime) -> list[Event]:
        """Every stored event of a household with ``start <= observed_at < end``, oldest first."""
        (series,) = await self._raw(
            "SELECT device, gateway, id, kind, seq, value FROM event"
            f" WHERE household = {string(checked(household))}"
            f" AND time >= {ms_ns(start)} AND time < {ms_ns(end)}"
        )
        # Oldest first; within a millisecond by device and id, as SQLite's key orders them.
        rows = sorted(
            (row for s in series for row in s.rows),
            key=lambda r: (int(r["time"]) // 1_000_000, str(r["device"]), str(r["id"])),
        )
        return [
            Event(
                message_id=str(r["id"]),
                household=household,
                gateway=str(r["gateway"]),
                device=str(r["device"]),
                kind=Kind(str(r["kind"])),
                value=float(r["value"]),
                observed_at=ms_floor(int(r["time"])),
                seq=int(r["seq"]),
            )
            for r in rows
        ]

    async def climate_since(self, since: datetime) -> list[ClimateReading]:
        return await climate_since(self._raw, since)

    async def climate_changes(
        self, since: int | None, watched: Sequence[str] = (), calm: Calm | None = None
    ) -> ClimateChanges:
        return await climate_changes(self._raw, since, watched, calm)

    async def climate_readings(self, household: str, start: datetime, end: datetime) -> list[ClimateReading]:
        return await climate_readings(self._raw, household, start, end)

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
        """Every press (value ≥ 1) observed at or after ``since``, oldest first."""
        (series,) = await self._raw(
            "SELECT device, household FROM activity"
            f" WHERE kind = 'button' AND value >= 1 AND time >= {ms_ns(since)}"
        )
        rows = sorted((row for s in series for row in s.rows), key=lambda r: int(r["time"]))
        return [ButtonPress(str(r["household"]), str(r["device"]), ms_floor(int(r["time"]))) for r in rows]

    async def devices(self, household: str) -> list[DeviceState]:
        return (await self.devices_of([household])).get(household, [])

    async def devices_of(self, households: Sequence[str]) -> dict[str, list[DeviceState]]:
        """Each device's newest sensor reading (or, for a device that only ever reported battery
        or check-ins, its first such report, as SQLite keeps it), last seen and newest battery."""
        if not households:
            return {}
        where = f"WHERE {household_is(sorted(set(households)))} AND {_SINCE} GROUP BY household, device"
        sensor, report, first_report, battery = await self._raw(
            f"SELECT last(value), kind FROM device {where}",
            f"SELECT last(report_value) FROM device {where}",
            f"SELECT first(report_value), report_kind FROM device {where}",
            f"SELECT last(battery) FROM device {where}",
        )

        def by_device(series: list[Series]) -> dict[tuple[str, str], dict[str, Any]]:
            return {(s.tags["household"], s.tags["device"]): s.rows[-1] for s in series if s.rows}

        sensors, reports, firsts, batteries = map(by_device, (sensor, report, first_report, battery))
        found: dict[str, list[DeviceState]] = {}
        for key in sorted(sensors.keys() | reports.keys()):
            seen = max(int(r["time"]) for r in (sensors.get(key), reports.get(key)) if r is not None)
            reading = sensors.get(key)
            if reading is not None:
                kind, value = str(reading["kind"]), float(reading["last"])
            else:
                kind, value = str(firsts[key]["report_kind"]), float(firsts[key]["first"])
            level = batteries.get(key)
            found.setdefault(key[0], []).append(
                DeviceState(
                    key[0],
                    key[1],
                    Kind(kind),
                    ms_floor(seen),
                    value,
                    None if level is None else float(level["last"]),
                )
            )
        return found

    async def gateways(self, household: str | None = None) -> list[GatewayLiveState]:
        where = f"WHERE {household_is([household])} " if household else ""
        beat_where = f"WHERE {household_is([household])} AND {_SINCE}" if household else f"WHERE {_SINCE}"
        states, beats = await self._raw(
            f"SELECT last(state), changed_ms FROM gateway {where}GROUP BY household, gateway",
            f"SELECT last(seq) FROM heartbeat {beat_where} GROUP BY household, gateway",
        )
        heard = {
            (s.tags["household"], s.tags["gateway"]): ms_floor(int(s.rows[-1]["time"]))
            for s in beats
            if s.rows
        }
        found = [
            GatewayLiveState(
                s.tags["household"],
                s.tags["gateway"],
                GatewayState(str(row["last"])),
                ms_floor(int(row["changed_ms"]) * 1_000_000),
                heard.get((s.tags["household"], s.tags["gateway"])),
            )
            for s in states
            for row in s.rows[-1:]
        ]
        return sorted(found, key=lambda g: (g.household, g.gateway))


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    raw = headers.get("Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def influx_store(config: Config) -> InfluxEventStore:
    """The InfluxDB adapter as configured (token from MIMAMORI_INFLUX_TOKEN; on 1.8+ it may be
    absent, or ``username:password``)."""
    s = config.store
    token = config.secrets.influx_token
    if token is None and s.influx_generation != "1.8+":
        raise SystemExit("mimamori: store.backend = influxdb needs MIMAMORI_INFLUX_TOKEN")
    target = InfluxTarget(
        generation=s.influx_generation,
        database=s.influx_database,
        retention_policy=s.influx_retention_policy,
        rollup_retention_policy=s.influx_rollup_retention_policy,
        bucket=s.influx_bucket,
        rollup_bucket=s.influx_rollup_bucket,
    )
    return InfluxEventStore(
        s.influx_url,
        "" if token is None else token.get_secret_value(),
        s.influx_org,
        target,
        raw_retention_days=s.raw_retention_days,
        rollup_retention_days=s.rollup_retention_days,
        batch_lines=s.influx_batch_lines,
        max_retries=s.influx_max_retries,
    )
