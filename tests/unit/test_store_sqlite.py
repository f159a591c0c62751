"""The SQLite store on real files: idempotence, roll-ups, live state, dead letters."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mimamori.contract import Event, GatewayState, GatewayStatus, Heartbeat, Kind
from store.base import (
    ButtonPress,
    Calm,
    GatewaySummary,
    IngestBatch,
    Purged,
    Rejection,
    Retention,
    StoreError,
)
from store.sqlite import SCHEMA_VERSION, SqliteEventStore

T0 = datetime(2026, 11, 26, 7, 10, tzinfo=UTC)
_seq = iter(range(1, 1_000_000))


def ev(
    kind: Kind, value: float, at: datetime, device: str = "hall-motion", household: str = "kita-0001"
) -> Event:
    mid = f"m{next(_seq):08d}"
    return Event(mid, household, "gw-1", device, kind, value, at, int(mid[1:]))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    s = SqliteEventStore(tmp_path / "events.sqlite3", dead_letter_limit=3)
    s.open()
    yield s
    s.close()


def write(store: SqliteEventStore, *events: Event, received_at: datetime = T0) -> tuple[int, int]:
    result = store.commit_batch(IngestBatch(received_at=received_at, events=events))
    return result.stored, result.duplicates


def test_an_event_is_stored_once_across_and_within_batches(store: SqliteEventStore) -> None:
    a, b = ev(Kind.MOTION, 1, T0), ev(Kind.DOOR, 1, T0 + timedelta(minutes=1))
    assert write(store, a, b, a) == (2, 1)
    assert write(store, b, ev(Kind.MOTION, 1, T0 + timedelta(minutes=2))) == (1, 1)
    assert store.count_events() == 3
    counts = {
        (h.kind, h.count)
        for h in store.hourly_activity("kita-0001", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    }
    assert counts == {(Kind.MOTION, 2), (Kind.DOOR, 1)}


def test_hourly_roll_ups_count_only_activity_per_hour_and_kind(store: SqliteEventStore) -> None:
    hour = T0.replace(minute=0)
    write(
        store,
        ev(Kind.MOTION, 1, hour + timedelta(minutes=5)),
        ev(Kind.MOTION, 0, hour + timedelta(minutes=6)),  # motion cleared: no person
        ev(Kind.MOTION, 1, hour + timedelta(minutes=59, seconds=59)),
        ev(Kind.MOTION, 1, hour + timedelta(hours=1)),
        ev(Kind.BATTERY, 80, hour + timedelta(minutes=7)),
        ev(Kind.CHECKIN, 0, hour + timedelta(minutes=8)),
        ev(Kind.BUTTON, 1, hour + timedelta(minutes=9), device="help-button"),
    )
    rows = store.hourly_activity("kita-0001", hour, hour + timedelta(hours=2))
    assert [(r.hour, r.kind, r.count) for r in rows] == [
        (hour, Kind.BUTTON, 1),
        (hour, Kind.MOTION, 2),
        (hour + timedelta(hours=1), Kind.MOTION, 1),
    ]
    assert (
        store.hourly_activity("kita-0001", hour + timedelta(hours=1), hour + timedelta(hours=2))[0].count == 1
    )
    assert store.hourly_activity("other", hour, hour + timedelta(hours=2)) == []


def test_last_activity_never_moves_backwards(store: SqliteEventStore) -> None:
    write(store, ev(Kind.MOTION, 1, T0, device="kitchen-motion"))
    write(store, ev(Kind.DOOR, 1, T0 - timedelta(hours=2), device="main-door"))  # late
    write(store, ev(Kind.BATTERY, 50, T0 + timedelta(minutes=5)))  # newer, but not a person
    (house,) = store.household_activity()
    assert house.last_activity_at == T0
    assert house.last_activity_device == "kitchen-motion"
    assert house.last_event_at == T0 + timedelta(minutes=5)
    assert store.activity_times("kita-0001", T0 - timedelta(hours=3), T0 + timedelta(hours=1)) == [
        T0 - timedelta(hours=2),
        T0,
    ]


def test_a_household_with_only_check_ins_has_no_activity(store: SqliteEventStore) -> None:
    write(store, ev(Kind.CHECKIN, 0, T0), ev(Kind.MOTION, 0, T0 + timedelta(seconds=1)))
    (house,) = store.household_activity()
    assert house.last_activity_at is None
    assert house.last_activity_device is None
    assert house.last_event_at == T0 + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("readings", "activity_minutes"),
    [
        ([0, 1200, 1250, 1300, 0], [1, 4]),  # on, steady (no), off
        ([80, 80, 80], [0]),  # a TV already on when first seen counts once (switched on)
        ([0, 5, 10], []),  # standby noise below 20 W never counts
    ],
)
def test_a_plug_counts_when_it_switches_on_or_off(
    store: SqliteEventStore, readings: list[float], activity_minutes: list[int]
) -> None:
    events = [ev(Kind.POWER, w, T0 + timedelta(minutes=i), device="kettle") for i, w in enumerate(readings)]
    for event in events:  # one batch each: previous values come from the stored live state
        write(store, event)
    times = store.activity_times("kita-0001", T0, T0 + timedelta(hours=1))
    assert times == [T0 + timedelta(minutes=m) for m in activity_minutes]


def test_a_plug_in_one_batch_is_judged_in_observation_order(store: SqliteEventStore) -> None:
    events = [
        ev(Kind.POWER, w, T0 + timedelta(minutes=i), device="kettle") for i, w in enumerate([0, 1200, 0])
    ]
    write(store, *reversed(events))
    assert store.activity_times("kita-0001", T0, T0 + timedelta(hours=1)) == [
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=2),
    ]


def test_a_late_plug_reading_is_judged_against_its_predecessor(store: SqliteEventStore) -> None:
    write(
        store,
        ev(Kind.POWER, 1200, T0, device="kettle"),
        ev(Kind.POWER, 0, T0 + timedelta(minutes=10), device="kettle"),
    )
    write(store, ev(Kind.POWER, 1250, T0 + timedelta(minutes=5), device="kettle"))  # late, still on
    write(store, ev(Kind.POWER, 1200, T0 - timedelta(minutes=5), device="kettle"))  # late, first: on
    assert store.activity_times("kita-0001", T0 - timedelta(hours=1), T0 + timedelta(hours=1)) == [
        T0 - timedelta(minutes=5),
        T0,
        T0 + timedelta(minutes=10),
    ]
    (device,) = store.devices("kita-0001")
    assert (device.last_value, device.last_seen_at) == (0, T0 + timedelta(minutes=10))


def test_devices_keep_last_seen_reading_and_battery(store: SqliteEventStore) -> None:
    write(
        store,
        ev(Kind.MOTION, 1, T0),
        ev(Kind.BATTERY, 40, T0 + timedelta(minutes=1)),
        ev(Kind.BATTERY, 90, T0 - timedelta(days=1)),  # an old report does not win
        ev(Kind.CHECKIN, 0, T0 + timedelta(minutes=2)),
        ev(Kind.BATTERY, 70, T0, device="door-sensor"),
    )
    write(store, ev(Kind.MOTION, 0, T0 - timedelta(minutes=1)))  # late reading does not win
    door, hall = store.devices("kita-0001")
    assert (hall.device, hall.kind, hall.last_value, hall.battery) == ("hall-motion", Kind.MOTION, 1, 40)
    assert hall.last_seen_at == T0 + timedelta(minutes=2)
    assert (door.kind, door.battery, door.last_seen_at) == (Kind.BATTERY, 70, T0)
    write(store, ev(Kind.DOOR, 1, T0 + timedelta(minutes=3), device="door-sensor"))
    door, _ = store.devices("kita-0001")
    assert (door.kind, door.last_value, door.battery) == (Kind.DOOR, 1, 70)


def test_gateway_status_follows_arrival_order_and_the_last_will(store: SqliteEventStore) -> None:
    registered = T0
    online = GatewayStatus("kita-0001", "gw-1", GatewayState.ONLINE, registered + timedelta(milliseconds=5))
    will = GatewayStatus("kita-0001", "gw-1", GatewayState.OFFLINE, registered)  # stamped before "online"
    store.commit_batch(IngestBatch(received_at=T0, statuses=[online]))
    beat = Heartbeat("kita-0001", "gw-1", T0 + timedelta(minutes=1), 1, 3)
    store.commit_batch(IngestBatch(received_at=T0 + timedelta(minutes=1), heartbeats=[beat]))
    (gw,) = store.gateways()
    assert (gw.state, gw.changed_at, gw.last_heartbeat_at) == (
        GatewayState.ONLINE,
        T0,
        T0 + timedelta(minutes=1),
    )
    died = T0 + timedelta(minutes=3)
    store.commit_batch(IngestBatch(received_at=died, statuses=[will]))
    store.commit_batch(
        IngestBatch(received_at=died + timedelta(minutes=1), statuses=[will])
    )  # retained again
    (gw,) = store.gateways("kita-0001")
    assert (gw.state, gw.changed_at, gw.last_heartbeat_at) == (
        GatewayState.OFFLINE,
        died,
        T0 + timedelta(minutes=1),
    )
    assert store.gateways("other") == []


def test_a_heartbeat_from_an_unannounced_gateway_means_online(store: SqliteEventStore) -> None:
    beat = Heartbeat("kita-0002", "gw-1", T0, 7, 0)
    older = Heartbeat("kita-0002", "gw-1", T0 - timedelta(minutes=1), 6, 9)
    store.commit_batch(IngestBatch(received_at=T0, heartbeats=[beat, older]))
    (gw,) = store.gateways()
    assert (gw.state, gw.last_heartbeat_at) == (GatewayState.ONLINE, T0)


def test_dead_letters_are_kept_newest_first_and_bounded(store: SqliteEventStore) -> None:
    for n in range(5):
        rejection = Rejection(T0, f"mimamori/v1/x/gw/events{n}", "malformed_json", "bad", b"{" * n)
        store.commit_batch(IngestBatch(received_at=T0, rejections=[rejection]))
    letters = store.dead_letters()
    assert [r.topic[-1] for r in letters] == ["4", "3", "2"]
    assert letters[0].payload == b"{{{{"


def test_two_writers_on_one_file_never_move_live_state_back(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    first, second = SqliteEventStore(path), SqliteEventStore(path)
    first.open()
    second.open()
    try:
        first.commit_batch(IngestBatch(received_at=T0, events=[ev(Kind.MOTION, 1, T0)]))
        second.commit_batch(IngestBatch(received_at=T0, events=[ev(Kind.DOOR, 1, T0 - timedelta(hours=1))]))
        assert first.household_activity()[0].last_activity_at == T0
        assert second.count_events() == 2
    finally:
        first.close()
        second.close()


def test_a_file_from_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE events (message_id TEXT PRIMARY KEY, observed_at TEXT)")
    with pytest.raises(StoreError, match="schema"):
        SqliteEventStore(path).open()


SCHEMA_2 = """
CREATE TABLE events (
    message_id TEXT PRIMARY KEY, household TEXT NOT NULL, gateway TEXT NOT NULL, device TEXT NOT NULL,
    kind TEXT NOT NULL, value REAL NOT NULL, observed_ms INTEGER NOT NULL, seq INTEGER NOT NULL,
    activity INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX events_household_time ON events (household, observed_ms);
CREATE TABLE household_live (
    household TEXT PRIMARY KEY, last_activity_ms INTEGER, last_activity_device TEXT,
    last_event_ms INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO household_live VALUES ('kita-0001', 1, 'hall-motion', 1);
PRAGMA user_version = 2;
"""


def test_a_schema_2_file_is_migrated_with_its_events(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite3"
    at_ms = int(T0.timestamp() * 1000)
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_2)
        db.execute(
            "INSERT INTO events VALUES ('m-old', 'kita-0001', 'gw-1', 'hall-motion', 'motion', 1, ?, 7, 1)",
            (at_ms,),
        )
    store = SqliteEventStore(path)
    store.open()
    try:
        old = Event("m-old", "kita-0001", "gw-1", "hall-motion", Kind.MOTION, 1.0, T0, 7)
        assert store.events("kita-0001", T0, T0 + timedelta(seconds=1)) == [old]
        assert write(store, old) == (0, 1)  # still refused as a repeat after the migration
        assert [h[0] for h in store.activity_changes(None).households] == ["kita-0001"]
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'events%'").fetchall() == [
            ("events",)
        ]


def test_a_schema_3_file_is_upgraded_with_its_live_state(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite3"
    store = SqliteEventStore(path)
    store.open()
    store.commit_batch(
        IngestBatch(
            received_at=T0,
            events=[ev(Kind.BUTTON, 1, T0, device="help-button", household="a")],
            statuses=[GatewayStatus("b", "gw-1", GatewayState.OFFLINE, T0)],
            heartbeats=[Heartbeat("a", "gw-1", T0, 1, 0)],
        )
    )
    store.close()
    with sqlite3.connect(path) as db:  # what schema 3 had
        db.execute("DROP INDEX gateways_offline")
        db.execute("DROP INDEX devices_button_presses")
        db.execute("ALTER TABLE household_live DROP COLUMN device_seq")
        db.execute("DELETE FROM store_meta WHERE key = 'latest_heartbeat_ms'")
        db.execute("PRAGMA user_version = 3")
    store.open()
    try:
        summary = store.gateway_summary()
        assert [g.household for g in summary.offline] == ["b"]
        assert summary.latest_heartbeat_at == T0
        assert store.button_presses(T0) == [ButtonPress("a", "help-button", T0)]
        assert store.activity_changes(None).households == [("a", T0.timestamp(), "help-button", None)]
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_repeat_is_recognised_by_id_among_events_at_the_same_instant(store: SqliteEventStore) -> None:
    first, second = ev(Kind.MOTION, 1, T0), ev(Kind.MOTION, 0, T0)  # same device and millisecond
    assert write(store, first, second) == (2, 0)
    assert write(store, second, ev(Kind.DOOR, 1, T0, device="main-door")) == (1, 1)
    assert store.count_events() == 3


def test_events_reads_back_what_was_written(store: SqliteEventStore) -> None:
    event = ev(Kind.POWER, 1234.5, T0, device="kettle")
    write(store, event)
    assert store.events("kita-0001", T0, T0 + timedelta(seconds=1)) == [event]
    with pytest.raises(StoreError):
        SqliteEventStore(Path("/nonexistent")).count_events()


def test_activity_changes_return_the_households_changed_after_the_cursor(store: SqliteEventStore) -> None:
    first = ev(Kind.MOTION, 1, T0, household="a")
    write(store, first, ev(Kind.MOTION, 1, T0, household="b"))
    everything = store.activity_changes(None)
    assert sorted(h[0] for h in everything.households) == ["a", "b"]
    assert store.activity_changes(everything.cursor).households == []
    write(store, first)  # a redelivered event changes nothing
    assert store.activity_changes(everything.cursor).households == []
    write(store, ev(Kind.BATTERY, 50, T0 - timedelta(hours=1), household="b"))  # late, still a change
    later = store.activity_changes(everything.cursor)
    # the device, told before, is not repeated; the newest event is the last activity (T0)
    assert later.households == [("b", T0.timestamp(), None, None)]
    assert later.cursor > everything.cursor
    write(store, ev(Kind.CHECKIN, 0, T0 + timedelta(minutes=1), household="b"))
    write(store, ev(Kind.CHECKIN, 0, T0, household="c"))  # a home never active: its check-in
    write(store, ev(Kind.DOOR, 1, T0 + timedelta(minutes=2), device="main-door", household="a"))
    latest = store.activity_changes(later.cursor)
    assert sorted(latest.households, key=lambda h: h[0]) == [
        ("a", (T0 + timedelta(minutes=2)).timestamp(), "main-door", None),  # a new device is told
        ("b", T0.timestamp(), None, (T0 + timedelta(minutes=1)).timestamp()),
        ("c", None, None, T0.timestamp()),
    ]
    write(store, ev(Kind.DOOR, 0, T0 + timedelta(minutes=3), device="main-door", household="a"))
    assert store.activity_changes(latest.cursor).households == [
        ("a", (T0 + timedelta(minutes=3)).timestamp(), None, None)
    ]
    assert store.activity_changes(None).households[0] == (  # a reader starting afresh is told all
        "a",
        (T0 + timedelta(minutes=3)).timestamp(),
        "main-door",
        None,
    )


def test_climate_changes_return_the_newest_readings_written_after_the_cursor(store: SqliteEventStore) -> None:
    ms = int(T0.timestamp() * 1000)
    write(store, ev(Kind.TEMPERATURE, 30.0, T0, device="living-temp"), ev(Kind.MOTION, 1, T0))
    everything = store.climate_changes(None)
    assert everything.rows == [("kita-0001", "living-temp", "temperature", 30.0, ms)]
    assert store.climate_changes(everything.cursor).rows == []
    write(store, ev(Kind.TEMPERATURE, 29.0, T0 - timedelta(minutes=1), device="living-temp"))  # older
    write(store, ev(Kind.MOTION, 0, T0 + timedelta(minutes=1)))  # no climate
    assert store.climate_changes(everything.cursor).rows == []
    late = T0 - timedelta(hours=1)  # delivered late, but the first of its sensor: read now
    write(store, ev(Kind.HUMIDITY, 60.0, late, device="living-temp"))
    later = store.climate_changes(everything.cursor)
    assert later.rows == [("kita-0001", "living-temp", "humidity", 60.0, int(late.timestamp() * 1000))]
    assert later.cursor > everything.cursor


def test_climate_changes_leave_calm_sensors_out_unless_their_home_is_watched(store: SqliteEventStore) -> None:
    calm = Calm(10.0, 27.5)
    start = store.climate_changes(None).cursor
    write(
        store,
        ev(Kind.HUMIDITY, 70.0, T0, device="living-temp"),  # before a hot temperature: read with it
        ev(Kind.TEMPERATURE, 26.0, T0, device="bedroom-temp"),  # calm
        ev(Kind.TEMPERATURE, 9.5, T0, device="bathroom-temp", household="b"),  # cold: not calm
    )
    write(store, ev(Kind.TEMPERATURE, 27.5, T0 + timedelta(minutes=1), device="living-temp"))
    changed = store.climate_changes(start, (), calm)
    assert sorted((r[0], r[1], r[2], r[3]) for r in changed.rows) == [
        ("b", "bathroom-temp", "temperature", 9.5),
        ("kita-0001", "living-temp", "humidity", 70.0),
        ("kita-0001", "living-temp", "temperature", 27.5),
    ]
    watched = store.climate_changes(start, ["kita-0001"], calm)  # a watched home: every changed row
    assert sorted((r[0], r[1], r[3]) for r in watched.rows) == [
        ("b", "bathroom-temp", 9.5),
        ("kita-0001", "bedroom-temp", 26.0),
        ("kita-0001", "living-temp", 27.5),
        ("kita-0001", "living-temp", 70.0),
    ]


def test_a_home_no_longer_watched_has_only_its_loud_sensors_read(store: SqliteEventStore) -> None:
    calm = Calm(10.0, 27.5)
    start = store.climate_changes(None).cursor
    store.climate_changes(start, ["kita-0001", "b"], calm)  # both watched
    write(
        store,
        ev(Kind.TEMPERATURE, 26.0, T0, device="bedroom-temp"),  # calm
        ev(Kind.TEMPERATURE, 26.0, T0, device="living-temp", household="b"),  # calm
        ev(Kind.TEMPERATURE, 9.0, T0, device="bathroom-temp", household="b"),  # cold
    )
    assert sorted((r[0], r[1]) for r in store.climate_changes(start, ["b"], calm).rows) == [
        ("b", "bathroom-temp"),
        ("b", "living-temp"),
    ]
    assert [(r[0], r[1]) for r in store.climate_changes(start, [], calm).rows] == [("b", "bathroom-temp")]
    assert len(store.climate_changes(start, ["kita-0001"], calm).rows) == 2


def test_a_file_with_the_earlier_change_index_gets_the_covering_one_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    store = SqliteEventStore(path)
    store.open()
    store.close()
    with sqlite3.connect(path) as db:  # the index as it was: on changed_seq alone
        db.execute("DROP INDEX climate_live_changed")
        db.execute("CREATE INDEX climate_live_changed ON climate_live (changed_seq)")
    store.open()
    store.close()
    with sqlite3.connect(path) as db:
        columns = [row[2] for row in db.execute("PRAGMA index_info(climate_live_changed)")]
    assert columns == ["kind", "changed_seq", "value", "observed_ms"]


def test_a_file_from_before_climate_change_numbers_gets_them_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    store = SqliteEventStore(path)
    store.open()
    store.commit_batch(IngestBatch(T0, events=[ev(Kind.TEMPERATURE, 30.0, T0, device="living-temp")]))
    store.close()
    with sqlite3.connect(path) as db:  # what the file had before
        db.execute("DROP INDEX climate_live_changed")
        db.execute("ALTER TABLE climate_live DROP COLUMN changed_seq")
    store.open()
    try:
        start = store.climate_changes(None)
        assert [r[3] for r in start.rows] == [30.0]
        write(store, ev(Kind.TEMPERATURE, 31.0, T0 + timedelta(minutes=5), device="living-temp"))
        assert [r[3] for r in store.climate_changes(start.cursor).rows] == [31.0]
    finally:
        store.close()


def test_gateway_summary_lists_offline_gateways_and_the_newest_heartbeat(store: SqliteEventStore) -> None:
    store.commit_batch(
        IngestBatch(
            received_at=T0,
            statuses=[
                GatewayStatus("a", "gw-1", GatewayState.ONLINE, T0),
                GatewayStatus("b", "gw-1", GatewayState.OFFLINE, T0),
            ],
            heartbeats=[Heartbeat("a", "gw-1", T0 + timedelta(minutes=1), 1, 0)],
        )
    )
    summary = store.gateway_summary()
    assert [(g.household, g.state) for g in summary.offline] == [("b", GatewayState.OFFLINE)]
    assert summary.latest_heartbeat_at == T0 + timedelta(minutes=1)
    # an older heartbeat arriving late (a gateway's outbox) does not move it back
    store.commit_batch(IngestBatch(received_at=T0, heartbeats=[Heartbeat("b", "gw-1", T0, 1, 3)]))
    assert store.gateway_summary().latest_heartbeat_at == T0 + timedelta(minutes=1)
    store.commit_batch(
        IngestBatch(received_at=T0, statuses=[GatewayStatus("b", "gw-1", GatewayState.ONLINE, T0)])
    )
    assert store.gateway_summary().offline == []


def test_gateway_summary_of_an_empty_store_has_no_heartbeat(store: SqliteEventStore) -> None:
    assert store.gateway_summary() == GatewaySummary([], None)


def test_button_presses_are_read_by_when_they_were_pressed(store: SqliteEventStore) -> None:
    write(store, ev(Kind.CHECKIN, 0, T0 - timedelta(hours=2), device="help-button"))
    assert store.button_presses(T0 - timedelta(hours=3)) == []  # a button that was never pressed
    write(
        store,
        ev(Kind.BUTTON, 1, T0, device="help-button"),
        ev(Kind.BUTTON, 1, T0 + timedelta(minutes=1), device="pendant", household="b"),
        ev(Kind.MOTION, 1, T0 + timedelta(minutes=2)),
    )
    write(store, ev(Kind.CHECKIN, 0, T0 + timedelta(minutes=5), device="help-button"))  # not a press
    assert store.button_presses(T0) == [
        ButtonPress("kita-0001", "help-button", T0),
        ButtonPress("b", "pendant", T0 + timedelta(minutes=1)),
    ]
    assert store.button_presses(T0 + timedelta(seconds=1)) == [
        ButtonPress("b", "pendant", T0 + timedelta(minutes=1))
    ]


def test_device_suspects_are_homes_with_a_low_battery_or_an_unseen_device(store: SqliteEventStore) -> None:
    write(store, ev(Kind.MOTION, 1, T0, household="fine"), ev(Kind.BATTERY, 60, T0, household="fine"))
    write(store, ev(Kind.BATTERY, 15, T0, household="low"))
    write(store, ev(Kind.MOTION, 1, T0 - timedelta(days=1), household="unseen"))
    write(store, ev(Kind.BATTERY, 5, T0, household="not-asked"))
    asked = ["fine", "low", "unseen", "nobody"]
    assert store.device_suspects(asked, 15, T0 - timedelta(days=1)) == {"low", "unseen"}
    assert store.device_suspects(asked, 14, T0 - timedelta(days=1, seconds=1)) == set()


def test_devices_of_many_households_in_one_read(store: SqliteEventStore) -> None:
    write(store, ev(Kind.MOTION, 1, T0), ev(Kind.DOOR, 1, T0, device="main-door"))
    write(store, ev(Kind.MOTION, 1, T0, household="b"))
    found = store.devices_of(["b", "kita-0001", "nobody", "o'neil"])
    assert {h: [d.device for d in ds] for h, ds in found.items()} == {
        "b": ["hall-motion"],
        "kita-0001": ["hall-motion", "main-door"],
    }
    assert found["kita-0001"] == store.devices("kita-0001")
    assert store.devices_of([]) == {}


def test_retention_keeps_raw_events_and_roll_ups_for_their_days_as_the_clock_moves_on(
    store: SqliteEventStore,
) -> None:
    old, recent = T0, T0 + timedelta(days=30)
    write(store, ev(Kind.MOTION, 1, old), ev(Kind.MOTION, 1, recent), ev(Kind.DOOR, 1, recent, household="b"))
    store.commit_batch(
        IngestBatch(
            received_at=old, rejections=[Rejection(old, "mimamori/v1/x/gw-1/events", "bad_id", "", b"")]
        )
    )
    keep = Retention(raw_days=400, rollup_days=3650)
    a_year_on = old + timedelta(days=365)
    assert store.purge(keep, a_year_on) == Purged(0, 0, 0)  # nothing is due yet

    after_raw = old + timedelta(days=401)  # the old event's day is past 400 days; the recent one's not
    assert store.purge(keep, after_raw) == Purged(events=1, rollups=0, dead_letters=1)
    assert store.count_events() == 2
    assert store.dead_letters() == []
    span = (old - timedelta(days=1), recent + timedelta(days=1))
    assert [h.hour for h in store.hourly_activity("kita-0001", *span)] == [
        old.replace(minute=0),
        recent.replace(minute=0),
    ]  # the roll-up of the purged event stays: history for baselines and digests
    assert store.purge(keep, after_raw) == Purged(0, 0, 0)  # idempotent

    after_rollups = old + timedelta(days=3651)
    assert store.purge(keep, after_rollups) == Purged(events=2, rollups=1, dead_letters=0)
    assert [h.hour for h in store.hourly_activity("kita-0001", *span)] == [recent.replace(minute=0)]
    assert store.purge(keep, recent + timedelta(days=3651)) == Purged(events=0, rollups=2, dead_letters=0)


def test_a_row_refused_by_the_database_is_refused_for_good(store: SqliteEventStore, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "events.sqlite3") as db:
        db.execute(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON events WHEN NEW.device = 'poison'"
            " BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
        )
    with pytest.raises(StoreError) as refused:
        write(store, ev(Kind.MOTION, 1, T0), ev(Kind.MOTION, 1, T0, device="poison"))
    assert not refused.value.retryable  # ingest splits the batch and dead-letters the refused point
    assert "poison refused" in str(refused.value)
    assert store.count_events() == 0  # the batch rolled back as a whole
    assert write(store, ev(Kind.MOTION, 1, T0)) == (1, 0)


def _seq_event(seq: int, gateway: str = "gw-1") -> Event:
    return Event(f"s{gateway}{seq:06d}", "kita-0001", gateway, "hall-motion", Kind.MOTION, 1,
                 T0 + timedelta(seconds=seq), seq)  # fmt: skip


def test_gaps_in_a_gateways_seq_open_when_skipped_and_close_as_late_events_arrive(
    store: SqliteEventStore,
) -> None:
    def commit(*seqs: int, gateway: str = "gw-1") -> int:
        events = [_seq_event(seq, gateway) for seq in seqs]
        return store.commit_batch(IngestBatch(received_at=T0, events=events)).gaps_opened

    assert commit(5, 6) == 0  # the first seqs seen from a gateway set where it starts
    assert commit(7, 10, 14) == 2  # 8-9 and 11-13 skipped (live events ahead of a backlog?)
    assert [(g.first, g.last, g.missing) for g in store.seq_gaps("kita-0001")] == [(8, 9, 2), (11, 13, 3)]
    assert commit(12, 9) == 0  # the backlog drains: gaps narrow and split
    assert [(g.first, g.last) for g in store.seq_gaps()] == [(8, 8), (11, 11), (13, 13)]
    assert commit(1, 2, gateway="gw-2") == 0  # each gateway has its own numbers
    letter = Rejection(T0, "mimamori/v1/kita-0001/gw-1/events", "bad_value", "", b'{"seq": 11}')
    store.commit_batch(IngestBatch(received_at=T0, events=[_seq_event(8)], rejections=[letter]))
    assert [(g.gateway, g.first, g.last) for g in store.seq_gaps()] == [
        ("gw-1", 13, 13)
    ]  # dead letters count
    assert commit(14) == 0  # a repeat changes nothing
    assert [g.opened_at for g in store.seq_gaps()] == [T0]
