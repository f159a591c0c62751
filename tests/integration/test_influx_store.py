"""The InfluxDB adapter through the real influxdb-client: against a real InfluxDB 1.6 (influxd, started
by tests/support/influx_server.py, behind the v2 write shim) for everything stored and read, and against
the write endpoint's look-alike (tests/support/influx_fake.py) for the 2.x answers 1.6 cannot
give (token and bucket refusals, 429/5xx with retries)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestServer

from app.mosquitto import MosquittoProcess
from ingest.service import IngestService
from mimamori import contract
from mimamori.clock import SystemClock
from mimamori.contract import Event, GatewayState, GatewayStatus, Heartbeat, Kind
from store.base import IngestBatch, Rejection, StoreError
from store.influx import InfluxEventStore
from store.influx_schema import InfluxTarget, point_time_ns
from store.influxql import InfluxQL, household_is, identifier, string
from tests.support.harness import mqtt_client, wait_for
from tests.support.influx_fake import FakeInflux, parse_line
from tests.support.influx_server import RealInflux

pytestmark = pytest.mark.integration

TOKEN, ORG, BUCKET = "test-token-s3cret", "mimamori", "events"
V2 = InfluxTarget(generation="2.x", bucket=BUCKET)


@dataclass
class FakeTarget:
    url: str
    fake: FakeInflux

    def store(self, **options: object) -> InfluxEventStore:
        return InfluxEventStore(self.url, TOKEN, ORG, V2, **options)  # type: ignore[arg-type]


@pytest.fixture
async def fake_target() -> AsyncIterator[FakeTarget]:
    fake = FakeInflux(TOKEN, ORG, BUCKET)
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield FakeTarget(str(server.make_url("")).rstrip("/"), fake)
    finally:
        await server.close()


@pytest.fixture
def household() -> str:
    return "h" + uuid.uuid4().hex[:10]


def now_ms() -> datetime:
    now = datetime.now(UTC) - timedelta(hours=2)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def ev(household: str, n: int, kind: Kind, value: float, at: datetime, device: str = "hall-motion") -> Event:
    return Event(f"{household}-{n:06d}", household, "gw-1", device, kind, value, at, n)


@pytest.fixture
async def opened(real_influx: RealInflux) -> AsyncIterator[InfluxEventStore]:
    store = real_influx.store(retry_base_s=0.01)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_events_and_live_state_round_trip_idempotently(
    opened: InfluxEventStore, household: str
) -> None:
    t0 = now_ms().replace(minute=10)
    hour = t0.replace(minute=0, second=0, microsecond=0)
    events = [
        ev(household, 1, Kind.MOTION, 1, t0),
        ev(household, 2, Kind.MOTION, 0, t0 + timedelta(seconds=30)),  # cleared: not a person
        ev(household, 3, Kind.POWER, 0, t0 + timedelta(minutes=1), "kettle"),
        ev(household, 4, Kind.POWER, 1200, t0 + timedelta(minutes=2), "kettle"),  # switched on
        ev(household, 5, Kind.POWER, 1250, t0 + timedelta(minutes=3), "kettle"),  # still on
        ev(household, 6, Kind.BATTERY, 40, t0 + timedelta(minutes=4)),
        ev(household, 7, Kind.DOOR, 1, t0 - timedelta(minutes=20), "main-door"),  # late
        ev(household, 8, Kind.MOTION, 1, t0, "kitchen-motion"),  # same millisecond as the first
    ]
    online = GatewayStatus(household, "gw-1", GatewayState.ONLINE, t0)
    will = GatewayStatus(household, "gw-1", GatewayState.OFFLINE, t0 - timedelta(seconds=1))
    beat = Heartbeat(household, "gw-1", t0 + timedelta(minutes=1), 1, 0)
    batch = IngestBatch(
        received_at=t0 + timedelta(minutes=5), events=events, statuses=[online, will], heartbeats=[beat]
    )
    first = await opened.write_batch(batch)
    again = await opened.write_batch(
        IngestBatch(received_at=t0 + timedelta(minutes=6), events=events + events[:2])
    )
    assert (first.stored, first.duplicates) == (8, 0)
    assert again.duplicates == 2  # repeats inside one batch are recognised; redelivery overwrites itself
    assert await opened.count_events(household) == 8

    (house,) = [h for h in await opened.household_activity() if h.household == household]
    assert house.last_activity_at == t0 + timedelta(minutes=2)
    assert house.last_activity_device == "kettle"
    assert house.last_event_at == t0 + timedelta(minutes=4)
    assert await opened.activity_times(household, t0 - timedelta(hours=1), t0 + timedelta(hours=1)) == [
        t0 - timedelta(minutes=20),
        t0,
        t0,
        t0 + timedelta(minutes=2),
    ]
    hourly = await opened.hourly_activity(household, hour - timedelta(hours=1), hour + timedelta(hours=1))
    assert sum(h.count for h in hourly) == 4
    assert {h.kind for h in hourly} == {Kind.MOTION, Kind.POWER, Kind.DOOR}
    assert all(h.hour.minute == 0 and h.hour.tzinfo is not None for h in hourly)

    devices = {d.device: d for d in await opened.devices(household)}
    assert set(devices) == {"hall-motion", "kettle", "main-door", "kitchen-motion"}
    hall = devices["hall-motion"]
    assert (hall.kind, hall.last_value, hall.battery) == (Kind.MOTION, 0, 40)
    assert hall.last_seen_at == t0 + timedelta(minutes=4)
    assert (devices["kettle"].last_value, devices["kettle"].battery) == (1250, None)

    (gw,) = await opened.gateways(household)
    assert gw.state is GatewayState.OFFLINE  # arrival order: the will came last
    assert gw.last_heartbeat_at == t0 + timedelta(minutes=1)


async def test_a_restarted_store_judges_a_plug_against_the_stored_reading(
    real_influx: RealInflux, household: str
) -> None:
    target = real_influx
    t0 = now_ms()
    for n, watts in enumerate((1200, 1300)):  # on (first store), then still on (after a restart)
        store = target.store()
        await store.open()
        try:
            event = ev(household, n, Kind.POWER, watts, t0 + timedelta(minutes=n), "tv")
            await store.write_batch(IngestBatch(received_at=t0, events=[event]))
        finally:
            await store.close()
    store = target.store()
    await store.open()
    try:
        assert await store.activity_times(household, t0 - timedelta(hours=1), t0 + timedelta(hours=1)) == [t0]
    finally:
        await store.close()


async def test_writes_are_line_protocol_in_requests_of_at_most_5000_lines(
    fake_target: FakeTarget, household: str
) -> None:
    fake = fake_target.fake
    t0 = now_ms()
    events = [ev(household, n, Kind.CHECKIN, 0, t0 + timedelta(milliseconds=n)) for n in range(12_000)]
    rejection = Rejection(
        t0, 'mimamori/v1/x y,z/gw/"events"', "bad_topic", 'a "quoted", spaced\\ detail', b""
    )
    store = fake_target.store()
    await store.open()
    try:
        result = await store.write_batch(IngestBatch(received_at=t0, events=events, rejections=[rejection]))
    finally:
        await store.close()
    assert result.stored == 12_000
    assert fake.write_requests == [5000] * 4 + [4001]  # an event and its device point each
    stored = {key: fields for key, fields in fake.points.items() if key[0][0] == "event"}
    assert len(stored) == 12_000
    ((series, at), fields) = next(iter(stored.items()))
    assert series == ("event", (("household", household),))
    assert at == point_time_ns(events[0].observed_at, events[0].message_id)
    assert fields == {
        "kind": "checkin",
        "device": "hall-motion",
        "gateway": "gw-1",
        "value": 0.0,
        "id": events[0].message_id,
        "seq": 0,
    }
    (dead,) = [f for (s, _), f in fake.points.items() if s[0] == "rejection"]
    assert dead == {"topic": rejection.topic, "detail": rejection.detail}


async def test_429_and_5xx_are_retried_then_reported_retryable(
    fake_target: FakeTarget, household: str
) -> None:
    fake = fake_target.fake
    t0 = now_ms()
    batch = IngestBatch(received_at=t0, events=[ev(household, 1, Kind.CHECKIN, 0, t0)])
    store = fake_target.store(retry_base_s=0.001, max_retries=3)
    await store.open()
    try:
        fake.failures = [(429, {"Retry-After": "0"}), (503, {}), (500, {})]
        assert (await store.write_batch(batch)).stored == 1
        assert fake.failures == []
        fake.failures = [(503, {})] * 4
        with pytest.raises(StoreError) as failed:
            await store.write_batch(batch)
        assert failed.value.retryable
    finally:
        await store.close()
    assert len(fake.write_requests) == 1


@pytest.mark.parametrize(
    ("token", "bucket", "status"),
    [("wrong-token", BUCKET, "401"), (TOKEN, "no-such-bucket", "404")],
)
async def test_auth_and_bucket_errors_keep_the_batch_waiting_not_dead_lettered(
    fake_target: FakeTarget, household: str, token: str, bucket: str, status: str
) -> None:
    t0 = now_ms()
    target = InfluxTarget(generation="2.x", bucket=bucket)
    store = InfluxEventStore(fake_target.url, token, ORG, target, retry_base_s=0.001)
    await store.open()
    try:
        with pytest.raises(StoreError, match=status) as refused:
            await store.write_batch(
                IngestBatch(received_at=t0, events=[ev(household, 1, Kind.MOTION, 1, t0)])
            )
    finally:
        await store.close()
    # A wrong token or a missing bucket says nothing about the points: the batch is retried later,
    # never dead-lettered as refused points (docs/storage.md).
    assert refused.value.retryable
    assert fake_target.fake.points == {}


def test_influxql_literals_cannot_break_out_of_their_quotes() -> None:
    assert string("a'b\\c") == "'a\\'b\\\\c'"
    assert identifier('a"b') == '"a\\"b"'
    assert household_is(["h1"]) == "household = 'h1'"
    assert household_is(["h1", "h-2"]) == "household =~ /^(?:h1|h-2)$/"
    with pytest.raises(StoreError):
        household_is(["h1", "x|.*"])


def test_the_look_alike_parses_escaped_line_protocol() -> None:
    line = 'rejection,reason=bad\\ topic detail="a \\"q\\", b",n=3i,ok=t,v=1.5 1700000000000000001'
    assert parse_line(line) == (
        "rejection",
        {"reason": "bad topic"},
        {"detail": 'a "q", b', "n": 3, "ok": True, "v": 1.5},
        1700000000000000001,
    )


async def test_ingest_writes_through_the_influx_adapter(
    mosquitto: MosquittoProcess, real_influx: RealInflux, household: str
) -> None:
    target = real_influx
    clock = SystemClock()
    t0 = now_ms()
    events = [ev(household, n, Kind.MOTION, 1, t0 + timedelta(seconds=n)) for n in range(30)]
    topic = contract.topic(household, "gw-1", contract.Channel.EVENTS)
    store = target.store()
    await store.open()
    try:
        async with mqtt_client(
            mosquitto, f"ingest-{household}", clean_start=False, session_expiry_s=60, manual_ack=True
        ) as mqtt:
            service = IngestService(mqtt, store, clock, household, batch_size=10)
            task = asyncio.create_task(service.run())
            try:
                await asyncio.wait_for(service.ready.wait(), 10)
                async with mqtt_client(mosquitto) as publisher:
                    for e in [*events, events[0]]:
                        await publisher.publish(topic, e.encode())
                    counters = service.counters  # events only: retained statuses of other tests arrive too
                    await wait_for(lambda: counters.stored + counters.duplicates >= 31, service.committed)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        assert await store.count_events(household) == 30
        (house,) = [h for h in await store.household_activity() if h.household == household]
        assert house.last_activity_at == events[-1].observed_at
    finally:
        await store.close()


async def policies(real_influx: RealInflux) -> dict[str, tuple[str, bool]]:
    ql = InfluxQL(real_influx.server.url, "")
    await ql.open()
    try:
        (shown,) = await ql.query(
            "", "", f"SHOW RETENTION POLICIES ON {identifier(real_influx.target.database)}"
        )
    finally:
        await ql.close()
    return {row["name"]: (row["duration"], row["default"]) for s in shown for row in s.rows}


async def test_the_store_defines_the_retention_policies_it_is_configured_with(
    real_influx: RealInflux,
) -> None:
    store = real_influx.store()
    await store.open()
    await store.close()
    found = await policies(real_influx)
    assert found["raw"] == ("9600h0m0s", True)  # 400 days, where writes without a policy go
    assert found["rollup"] == ("87600h0m0s", False)  # 3650 days
    shorter = real_influx.store(raw_retention_days=30, rollup_retention_days=730)
    await shorter.open()  # a changed configuration changes the policies, and nothing else
    await shorter.close()
    found = await policies(real_influx)
    assert (found["raw"], found["rollup"]) == (("720h0m0s", True), ("17520h0m0s", False))


async def test_roll_ups_live_in_their_own_policy_and_escaped_lines_survive_the_real_parser(
    real_influx: RealInflux, household: str
) -> None:
    t0 = now_ms()
    rejection = Rejection(
        t0, 'mimamori/v1/x y,z/gw/"events"', "bad topic,=x", 'a "quoted", spaced\\ detail\nnext', b""
    )
    store = real_influx.store()
    await store.open()
    try:
        batch = IngestBatch(
            received_at=t0, events=[ev(household, 1, Kind.DOOR, 1, t0, "main-door")], rejections=[rejection]
        )
        await store.write_batch(batch)
    finally:
        await store.close()
    assert real_influx.shim.bodies, "the client's line protocol went to the real /write"
    ql = InfluxQL(real_influx.server.url, "")
    await ql.open()
    try:
        db, mine = real_influx.target.database, household_is([household])
        dead, raw = await ql.query(
            db,
            "raw",
            "SELECT topic, detail, reason FROM rejection",
            f"SELECT * FROM hourly_activity WHERE {mine}",
        )
        (rolled,) = await ql.query(db, "rollup", f'SELECT "count", kind FROM hourly_activity WHERE {mine}')
    finally:
        await ql.close()
    [row] = [r for s in dead for r in s.rows]
    assert (row["topic"], row["detail"], row["reason"]) == (
        rejection.topic,
        rejection.detail,
        rejection.reason,
    )
    assert raw == []
    [(count, kind)] = [(r["count"], r["kind"]) for s in rolled for r in s.rows]
    assert (count, kind) == (1, "door")
