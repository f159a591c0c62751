"""SQLite adapter of the Store ports: the embedded default (WAL, one file).

One batch is one ``BEGIN IMMEDIATE`` transaction: new events, their hourly roll-ups, live state
(households, devices, gateways) and dead letters commit together or not at all, so acknowledging
the batch to the broker after :meth:`SqliteEventStore.commit_batch` returns never loses anything,
and a redelivered batch changes nothing (events are keyed by message id; roll-ups and live state
are only touched by events that are new).

The events table is one B-tree keyed by (household, observed time, device, message id): the
history reads by household and time need no second index, and each new event costs one B-tree
insert. A message id is derived from the event's content (``contract.message_id_for``), so a
repeated id always comes with the same household, time and device, and this key refuses exactly
the repeats a key on the id alone would.

Times are stored as integer milliseconds since the Unix epoch (UTC). Live state upserts compare
times inside SQL, so several ingest processes writing the same file can never move "last activity"
backwards, whatever order their batches commit in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from mimamori.contract import Event, GatewayState, Kind, event_seq, is_activity
from mimamori.sqlite import Synchronous, connect
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
    Purged,
    Rejection,
    Retention,
    SeqGap,
    StoreError,
)

SCHEMA_VERSION: Final = 4
HOUR_MS: Final = 3_600_000
PURGE_HOUSEHOLDS: Final = 100
_SENSOR_ONLY: Final = frozenset({Kind.BATTERY, Kind.CHECKIN})
_SENSOR_ONLY_VALUES: Final = frozenset({Kind.BATTERY.value, Kind.CHECKIN.value})

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS events (
    household   TEXT NOT NULL,
    observed_ms INTEGER NOT NULL,
    device      TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    gateway     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    value       REAL NOT NULL,
    seq         INTEGER NOT NULL,
    activity    INTEGER NOT NULL,
    PRIMARY KEY (household, observed_ms, device, message_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS hourly_activity (
    household TEXT NOT NULL,
    hour_ms   INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (household, hour_ms, kind)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS household_live (
    household            TEXT PRIMARY KEY,
    last_activity_ms     INTEGER,
    last_activity_device TEXT,
    last_event_ms        INTEGER NOT NULL,
    changed_seq          INTEGER NOT NULL DEFAULT 0,
    device_seq           INTEGER NOT NULL DEFAULT 0  -- the batch that last changed last_activity_device
) WITHOUT ROWID;

-- 'change_seq' numbers the batches that changed live state, in commit order (writers take turns);
-- 'latest_heartbeat_ms' is the newest heartbeat of any gateway (-1: none yet).
CREATE TABLE IF NOT EXISTS store_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO store_meta VALUES ('change_seq', 0);

CREATE TABLE IF NOT EXISTS devices (
    household    TEXT NOT NULL,
    device       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    last_value   REAL NOT NULL,
    value_ms     INTEGER NOT NULL,
    battery      REAL,
    battery_ms   INTEGER,
    PRIMARY KEY (household, device)
) WITHOUT ROWID;
-- The newest temperature and humidity of each room sensor: detection's climate watch reads the
-- rows changed since its last tick by their batch's change number (docs/climate.md).
CREATE TABLE IF NOT EXISTS climate_live (
    household   TEXT NOT NULL,
    device      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    value       REAL NOT NULL,
    observed_ms INTEGER NOT NULL,
    changed_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (household, device, kind)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS climate_live_recent ON climate_live (observed_ms);
-- Detection asks every minute for recent help-button presses; only button rows are in it.
CREATE INDEX IF NOT EXISTS devices_button_presses ON devices (value_ms) WHERE kind = 'button';

CREATE TABLE IF NOT EXISTS gateways (
    household         TEXT NOT NULL,
    gateway           TEXT NOT NULL,
    state             TEXT NOT NULL,
    changed_ms        INTEGER NOT NULL,
    reported_ms       INTEGER NOT NULL,
    last_heartbeat_ms INTEGER,
    outbox_depth      INTEGER,
    PRIMARY KEY (household, gateway)
) WITHOUT ROWID;
-- Detection reads the offline gateways every minute; few are offline, and heartbeats leave this alone.
CREATE INDEX IF NOT EXISTS gateways_offline ON gateways (household, gateway) WHERE state = 'offline';
INSERT OR IGNORE INTO store_meta
    SELECT 'latest_heartbeat_ms', coalesce(max(last_heartbeat_ms), -1) FROM gateways;

-- Gap detection on each gateway's seq (docs/storage.md): the highest seq seen, and the ranges below
-- it not seen yet. A range opens when a higher seq arrives first (a backlog drains after live
-- events, so most close again within minutes) and closes as its seqs arrive; one that stays open
-- means events lost before ingest (an outbox that was full, a broker that dropped its queue).
CREATE TABLE IF NOT EXISTS gateway_seq (
    household TEXT NOT NULL,
    gateway   TEXT NOT NULL,
    high      INTEGER NOT NULL,
    PRIMARY KEY (household, gateway)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seq_gaps (
    household TEXT NOT NULL,
    gateway   TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    opened_ms INTEGER NOT NULL,
    PRIMARY KEY (household, gateway, first_seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    topic       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    payload     BLOB NOT NULL
);
"""

EVENT_COLUMNS: Final = "message_id, household, gateway, device, kind, value, observed_ms, seq, activity"
_INSERT_EVENT: Final = f"INSERT OR IGNORE INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608

# Schema 2 keyed events by message id alone, with a second B-tree for (household, time), and had
# no change numbers.
_MIGRATE_FROM_2: Final = f"""
ALTER TABLE household_live ADD COLUMN changed_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO store_meta VALUES ('change_seq', 0);
ALTER TABLE events RENAME TO events_v2;
DROP INDEX IF EXISTS events_household_time;
{SCHEMA.split(";", 1)[0]};
INSERT INTO events ({EVENT_COLUMNS}) SELECT {EVENT_COLUMNS} FROM events_v2;
DROP TABLE events_v2;
"""  # noqa: S608 (constants only)

# Schema 3 had no device_seq: its devices count as changed before any cursor a reader holds (0).
_MIGRATE_FROM_3: Final = "ALTER TABLE household_live ADD COLUMN device_seq INTEGER NOT NULL DEFAULT 0"

_UPSERT_HOURLY: Final = """
INSERT INTO hourly_activity VALUES (?, ?, ?, ?)
ON CONFLICT (household, hour_ms, kind) DO UPDATE SET count = count + excluded.count
"""

_UPSERT_HOUSEHOLD: Final = """
INSERT INTO household_live VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (household) DO UPDATE SET
    changed_seq = excluded.changed_seq,
    device_seq = CASE WHEN excluded.last_activity_ms > coalesce(last_activity_ms, -1)
        AND excluded.last_activity_device IS NOT last_activity_device
        THEN excluded.changed_seq ELSE device_seq END,
    last_activity_device = CASE WHEN excluded.last_activity_ms > coalesce(last_activity_ms, -1)
        THEN excluded.last_activity_device ELSE last_activity_device END,
    last_activity_ms = CASE WHEN excluded.last_activity_ms > coalesce(last_activity_ms, -1)
        THEN excluded.last_activity_ms ELSE last_activity_ms END,
    last_event_ms = max(last_event_ms, excluded.last_event_ms)
"""

# Parameters: household, device, kind, seen_ms, value, value_ms, battery, battery_ms.
# A battery or check-in report refreshes "last seen" but not the sensor's kind or reading.
_UPSERT_CLIMATE: Final = """
INSERT INTO climate_live VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (household, device, kind) DO UPDATE SET
    value = excluded.value, observed_ms = excluded.observed_ms, changed_seq = excluded.changed_seq
WHERE excluded.observed_ms >= observed_ms
"""
# After the column is there (files from before it get it on open, their rows as changed at 0). By
# kind and change number, with every column: the live climate read visits only the changed rows, in
# the index alone (docs/climate.md, "Speed at 100k homes"); a file with the earlier index on
# (changed_seq) alone gets this one on open.
_CLIMATE_CHANGED_COLUMNS: Final = ("kind", "changed_seq", "value", "observed_ms")
_CLIMATE_CHANGED: Final = (
    f"CREATE INDEX IF NOT EXISTS climate_live_changed ON climate_live ({', '.join(_CLIMATE_CHANGED_COLUMNS)})"
)
_CLIMATE_KINDS: Final = (Kind.TEMPERATURE.value, Kind.HUMIDITY.value)
# The live climate watch's homes, kept in a temporary table of the reading connection (changed by
# difference each pass, not sent whole).
_CLIMATE_WATCHED: Final = (
    "CREATE TEMP TABLE IF NOT EXISTS climate_watched (household TEXT PRIMARY KEY) WITHOUT ROWID"
)
# Parameters: the cursor, the calm range. Every changed row of a watched home; elsewhere the sensors
# whose changed temperature is not calm, with their humidity. Both walk the changed rows in
# climate_live_changed (the first in the index alone).
_CLIMATE_NOT_CALM: Final = """
SELECT household, device, kind, value, observed_ms FROM climate_live INDEXED BY climate_live_changed
WHERE kind IN ('humidity', 'temperature') AND changed_seq > ?1 AND household IN temp.climate_watched
UNION ALL
SELECT c.household, c.device, c.kind, c.value, c.observed_ms
FROM climate_live AS t INDEXED BY climate_live_changed
JOIN climate_live AS c ON c.household = t.household AND c.device = t.device
WHERE t.kind = 'temperature' AND t.changed_seq > ?1 AND NOT (t.value >= ?2 AND t.value < ?3)
    AND t.household NOT IN temp.climate_watched
"""

_UPSERT_DEVICE: Final = """
INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (household, device) DO UPDATE SET
    kind = CASE WHEN excluded.value_ms > value_ms THEN excluded.kind ELSE kind END,
    last_value = CASE WHEN excluded.value_ms > value_ms THEN excluded.last_value ELSE last_value END,
    value_ms = max(value_ms, excluded.value_ms),
    last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),
    battery = CASE WHEN excluded.battery_ms > coalesce(battery_ms, -1)
        THEN excluded.battery ELSE battery END,
    battery_ms = CASE WHEN excluded.battery_ms > coalesce(battery_ms, -1)
        THEN excluded.battery_ms ELSE battery_ms END
"""

# Status messages apply in arrival order: a Last Will carries the time it was registered (before
# the matching "online"), so its own timestamp cannot order it. ``changed_ms`` is when ingest
# learned of a change of state; ``reported_ms`` is the gateway's own timestamp.
_UPSERT_STATUS: Final = """
INSERT INTO gateways VALUES (?, ?, ?, ?, ?, NULL, NULL)
ON CONFLICT (household, gateway) DO UPDATE SET
    changed_ms = CASE WHEN excluded.state != state THEN excluded.changed_ms ELSE changed_ms END,
    state = excluded.state,
    reported_ms = excluded.reported_ms
"""

# A heartbeat from a gateway never announced (ingest started after its retained status) is proof
# that it is online.
_UPSERT_HEARTBEAT: Final = """
INSERT INTO gateways VALUES (?, ?, 'online', ?, ?, ?, ?)
ON CONFLICT (household, gateway) DO UPDATE SET
    outbox_depth = CASE WHEN excluded.last_heartbeat_ms > coalesce(last_heartbeat_ms, -1)
        THEN excluded.outbox_depth ELSE outbox_depth END,
    last_heartbeat_ms = max(coalesce(last_heartbeat_ms, -1), excluded.last_heartbeat_ms)
"""


def to_ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


_Row = tuple[str, str, str, str, str, float, int, int, int]
"""An ``events`` row: message id, household, gateway, device, kind, value, observed ms, seq, activity."""


class SqliteEventStore:
    """Events, roll-ups, live state and dead letters in one SQLite file.

    Opened by :meth:`open`; the constructor does no I/O. One connection, used by one writer at a
    time (ingest runs :meth:`commit_batch` in a worker thread), and one of the live climate read's
    own (opened on its first call); readers in other processes open their own store on the same
    file (WAL lets them read while ingest writes).
    """

    def __init__(self, path: Path, *, dead_letter_limit: int = 10_000, synchronous: str = "FULL") -> None:
        level: Synchronous
        if synchronous.upper() == "FULL":
            level = "FULL"
        elif synchronous.upper() == "NORMAL":
            level = "NORMAL"
        else:
            raise ValueError("synchronous must be FULL or NORMAL")
        self._path = path
        self._dead_letter_limit = dead_letter_limit
        self._synchronous: Synchronous = level
        self._db: sqlite3.Connection | None = None
        self._climate_db: sqlite3.Connection | None = None  # the live climate read's (opened on use)
        self._climate_watched: set[str] = set()  # what its temp.climate_watched holds

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = connect(self._path, synchronous=self._synchronous)
            # A batch dirties thousands of random pages; checkpoint every 64 MiB of WAL rather than
            # every 4 MiB, so hot pages (live state, current roll-ups) go to the file once per
            # checkpoint instead of once per batch.
            db.execute("PRAGMA wal_autocheckpoint=16384")
            db.execute("PRAGMA cache_size=-131072")  # 128 MiB: the hot part of the indexes
            # Read pages in place instead of copying them: a reader's cache is dropped whenever another
            # process commits (every batch), and the detector reads 100k live-state rows a minute.
            # The file never shrinks (no VACUUM), so the mapping stays valid. SQLite caps the size.
            db.execute("PRAGMA mmap_size=2147483648")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            has_events = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone()
            if version in (2, 3):
                self._migrate(db, version)
                version = SCHEMA_VERSION
            if version not in (0, SCHEMA_VERSION) or (version == 0 and has_events):
                db.close()
                raise StoreError(
                    f"{self._path} has store schema {version}, this build needs {SCHEMA_VERSION}",
                    retryable=False,
                )
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(climate_live)")}
            if "changed_seq" not in columns:  # a file from before climate_live's change number
                db.execute("ALTER TABLE climate_live ADD COLUMN changed_seq INTEGER NOT NULL DEFAULT 0")
            indexed = tuple(row[2] for row in db.execute("PRAGMA index_info(climate_live_changed)"))
            if indexed and indexed != _CLIMATE_CHANGED_COLUMNS:  # the earlier index, on changed_seq alone
                db.execute("DROP INDEX climate_live_changed")
            db.execute(_CLIMATE_CHANGED)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self._path}: {exc}", retryable=False) from exc
        self._db = db

    def _migrate(self, db: sqlite3.Connection, version: int) -> None:
        """Bring a schema 2 or 3 file to this schema in one transaction: schema 2's events go into
        schema 3's table; schema 4 adds device_seq (SCHEMA then adds the indexes and the newest
        heartbeat that schema 3 lacked)."""
        db.execute("BEGIN IMMEDIATE")
        try:
            steps = (_MIGRATE_FROM_2 if version == 2 else "") + ";" + _MIGRATE_FROM_3
            for statement in steps.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._climate_db is not None:
            self._climate_db.close()
            self._climate_db = None
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("store is not open", retryable=False)
        return self._db

    # ------------------------------------------------------------------ writes

    async def write_batch(self, batch: IngestBatch) -> BatchResult:
        return await asyncio.to_thread(self.commit_batch, batch)

    def write_events(self, events: Sequence[Event]) -> int:
        return self.commit_batch(IngestBatch(received_at=datetime.now(UTC), events=events)).stored

    def commit_batch(self, batch: IngestBatch) -> BatchResult:
        """Write one batch in one transaction; returns once it is durable (WAL; with the default
        ``synchronous=FULL`` the commit is on disk, NORMAL survives a process crash but may lose the
        newest commits on power loss)."""
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                new = self._insert_events(db, batch.events)
                self._update_activity(db, new)
                self._update_gateways(db, batch)
                opened = _track_seqs(db, batch)
                self._insert_dead_letters(db, batch.rejections)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.IntegrityError as exc:
            # A constraint or trigger refused a row: the same rows will be refused again.
            raise StoreError(f"sqlite refused the batch: {exc}", retryable=False) from exc
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite write failed: {exc}", retryable=True) from exc
        return BatchResult(stored=len(new), duplicates=len(batch.events) - len(new), gaps_opened=opened)

    def _insert_events(self, db: sqlite3.Connection, events: Sequence[Event]) -> list[_Row]:
        """Insert the events not stored yet and return their rows, oldest first."""
        unique: dict[str, Event] = {}
        for event in events:
            unique.setdefault(event.message_id, event)
        if not unique:
            return []
        candidates = sorted(unique.values(), key=lambda e: e.observed_at)
        previous = self._previous_power(db, candidates)
        rows: list[_Row] = []
        for e in candidates:
            kind = e.kind
            if kind is Kind.POWER:
                key = (e.household, e.device)
                activity = is_activity(kind, e.value, previous.get(key))
                previous[key] = e.value
            else:
                activity = kind not in _SENSOR_ONLY and is_activity(kind, e.value, None)
            rows.append(
                (e.message_id, e.household, e.gateway, e.device, kind.value, e.value,
                 to_ms(e.observed_at), e.seq, int(activity))
            )  # fmt: skip
        # Optimistic path: normally nothing is a duplicate, and one executemany says so.
        db.execute("SAVEPOINT events_insert")
        before = db.total_changes
        db.executemany(_INSERT_EVENT, rows)
        if db.total_changes - before == len(rows):
            db.execute("RELEASE events_insert")
            return rows
        db.execute("ROLLBACK TO events_insert")
        db.execute("RELEASE events_insert")
        stored = self._existing(db, rows)
        fresh = [unique[row[0]] for row in rows if row[0] not in stored]
        if len(fresh) == len(rows):
            raise StoreError(
                "events refused by the database for a reason other than duplicates", retryable=False
            )
        # Activity of power events was computed against the duplicates too; redo it without them.
        return self._insert_events(db, fresh) if fresh else []

    @staticmethod
    def _existing(db: sqlite3.Connection, rows: list[_Row]) -> set[str]:
        """The message ids of ``rows`` already stored (looked up by the table's key)."""
        found: set[str] = set()
        for start in range(0, len(rows), 200):
            chunk = rows[start : start + 200]
            keys = ",".join("(?, ?, ?, ?)" for _ in chunk)
            found.update(
                mid
                for (mid,) in db.execute(
                    f"WITH c(h, t, d, m) AS (VALUES {keys})"  # noqa: S608
                    " SELECT message_id FROM c JOIN events"
                    " ON household = c.h AND observed_ms = c.t AND device = c.d AND message_id = c.m",
                    [part for row in chunk for part in (row[1], row[6], row[3], row[0])],
                )
            )
        return found

    @staticmethod
    def _previous_power(db: sqlite3.Connection, events: Sequence[Event]) -> dict[tuple[str, str], float]:
        """The stored reading of each plug just before its oldest event in this batch."""
        first: dict[tuple[str, str], int] = {}
        for event in events:
            if event.kind is Kind.POWER:
                first.setdefault((event.household, event.device), to_ms(event.observed_at))
        previous: dict[tuple[str, str], float] = {}
        keys = list(first)
        for start in range(0, len(keys), 400):
            chunk = keys[start : start + 400]
            pairs = ",".join("(?, ?)" for _ in chunk)
            rows = db.execute(
                f"WITH plug(h, d) AS (VALUES {pairs})"  # noqa: S608
                " SELECT household, device, last_value, value_ms FROM plug"
                " JOIN devices ON household = plug.h AND device = plug.d",
                [part for key in chunk for part in key],
            )
            for household, device, value, value_ms in rows:
                key = (household, device)
                if value_ms < first[key]:
                    previous[key] = value
                    continue
                # A late event: its predecessor is in the history, not in the live state.
                late = db.execute(
                    "SELECT value FROM events WHERE household = ? AND observed_ms < ? AND device = ?"
                    " AND kind = 'power' ORDER BY observed_ms DESC LIMIT 1",
                    (household, first[key], device),
                ).fetchone()
                if late is not None:
                    previous[key] = late[0]
        return previous

    @staticmethod
    def _update_activity(db: sqlite3.Connection, rows: Sequence[_Row]) -> None:
        """Roll-ups, household and device live state from the new events' rows (oldest first)."""
        if not rows:
            return
        # This batch's change number: households it touches are "changed since" anything before.
        (seq,) = db.execute(
            "UPDATE store_meta SET value = value + 1 WHERE key = 'change_seq' RETURNING value"
        ).fetchone()
        hourly: dict[tuple[str, int, str], int] = {}
        households: dict[str, list[object]] = {}
        devices: dict[tuple[str, str], list[object]] = {}
        climate: dict[tuple[str, str, str], tuple[float, int, int]] = {}
        for _, household, _, device_id, kind, value, at, _, activity in rows:
            house = households.get(household)
            if house is None:
                house = households[household] = [household, None, None, at, seq, seq]
            else:
                house[3] = at  # rows are oldest first
            if activity:
                key = (household, at - at % HOUR_MS, kind)
                hourly[key] = hourly.get(key, 0) + 1
                house[1] = at
                house[2] = device_id
            sensor = kind not in _SENSOR_ONLY_VALUES
            device = devices.get((household, device_id))
            if device is None:
                # A battery report seeds the reading with the oldest possible time, so a real
                # sensor reading (later, or already stored) wins.
                device = devices[(household, device_id)] = [
                    household, device_id, kind, at, value, at if sensor else -1, None, None
                ]  # fmt: skip
            else:
                device[3] = at
                if sensor:
                    device[2], device[4], device[5] = kind, value, at
            if kind == "battery":
                device[6], device[7] = value, at
            elif kind in _CLIMATE_KINDS:
                climate[(household, device_id, kind)] = (value, at, seq)
        if hourly:
            db.executemany(_UPSERT_HOURLY, ((*key, count) for key, count in hourly.items()))
        if households:
            db.executemany(_UPSERT_HOUSEHOLD, households.values())
        if devices:
            db.executemany(_UPSERT_DEVICE, devices.values())
        if climate:
            db.executemany(_UPSERT_CLIMATE, ((*key, *reading) for key, reading in climate.items()))

    @staticmethod
    def _update_gateways(db: sqlite3.Connection, batch: IngestBatch) -> None:
        received_ms = to_ms(batch.received_at)
        for status in batch.statuses:
            db.execute(
                _UPSERT_STATUS,
                (status.household, status.gateway, status.state.value, received_ms, to_ms(status.at)),
            )
        if batch.heartbeats:
            beats = [to_ms(b.at) for b in batch.heartbeats]
            db.executemany(
                _UPSERT_HEARTBEAT,
                (
                    (b.household, b.gateway, received_ms, at, at, b.outbox_depth)
                    for b, at in zip(batch.heartbeats, beats, strict=True)
                ),
            )
            db.execute(
                "UPDATE store_meta SET value = max(value, ?) WHERE key = 'latest_heartbeat_ms'", (max(beats),)
            )

    def _insert_dead_letters(self, db: sqlite3.Connection, rejections: Sequence[Rejection]) -> None:
        if not rejections:
            return
        db.executemany(
            "INSERT INTO dead_letters (received_ms, topic, reason, detail, payload) VALUES (?, ?, ?, ?, ?)",
            ((to_ms(r.received_at), r.topic, r.reason, r.detail, r.payload) for r in rejections),
        )
        db.execute(
            "DELETE FROM dead_letters WHERE id <= (SELECT max(id) FROM dead_letters) - ?",
            (self._dead_letter_limit,),
        )

    # ------------------------------------------------------------------ housekeeping

    def purge(self, retention: Retention, now: datetime) -> Purged:
        """Retention (``store.base.Housekeeping``). Events and roll-ups are keyed by household first:
        each household's old rows are one range of the key, deleted ``PURGE_HOUSEHOLDS`` households
        per transaction, so ingest's batches never wait long for the write lock."""
        raw_before, rollups_before = retention.cutoffs(now)
        raw_ms, rollups_ms = to_ms(raw_before), to_ms(rollups_before)
        db = self._conn()
        try:
            households = [h for (h,) in db.execute("SELECT household FROM household_live ORDER BY household")]
            events = rollups = 0
            for start in range(0, len(households), PURGE_HOUSEHOLDS):
                with _transaction(db):
                    for household in households[start : start + PURGE_HOUSEHOLDS]:
                        events += db.execute(
                            "DELETE FROM events WHERE household = ? AND observed_ms < ?", (household, raw_ms)
                        ).rowcount
                        rollups += db.execute(
                            "DELETE FROM hourly_activity WHERE household = ? AND hour_ms < ?",
                            (household, rollups_ms),
                        ).rowcount
            with _transaction(db):
                dead = db.execute("DELETE FROM dead_letters WHERE received_ms < ?", (raw_ms,)).rowcount
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite purge failed: {exc}", retryable=True) from exc
        return Purged(events, rollups, dead)

    # ------------------------------------------------------------------ reads

    def count_events(self, household: str | None = None) -> int:
        db = self._conn()
        if household is None:
            row = db.execute("SELECT count(*) FROM events").fetchone()
        else:
            row = db.execute("SELECT count(*) FROM events WHERE household = ?", (household,)).fetchone()
        return int(row[0])

    def household_activity(self) -> list[HouseholdActivity]:
        rows = self._conn().execute(
            "SELECT household, last_activity_ms, last_activity_device, last_event_ms"
            " FROM household_live ORDER BY household"
        )
        return [
            HouseholdActivity(
                household=h,
                last_activity_at=None if act is None else from_ms(act),
                last_activity_device=device,
                last_event_at=from_ms(seen),
            )
            for h, act, device, seen in rows
        ]

    def activity_changes(self, since: int | None) -> ActivityChanges:
        db = self._conn()
        # The change number first: a batch committed between the two reads is read now and again
        # next time (harmless), never skipped.
        (cursor,) = db.execute("SELECT value FROM store_meta WHERE key = 'change_seq'").fetchone()
        after = -1 if since is None else since
        rows = db.execute(
            "SELECT household, last_activity_ms / 1000.0,"
            " CASE WHEN device_seq > ?1 THEN last_activity_device END,"
            " nullif(last_event_ms, last_activity_ms) / 1000.0 FROM household_live WHERE changed_seq > ?1",
            (after,),
        ).fetchall()
        return ActivityChanges(rows, cursor)

    def gateway_summary(self) -> GatewaySummary:
        db = self._conn()
        offline = db.execute(
            "SELECT household, gateway, changed_ms, last_heartbeat_ms"
            " FROM gateways INDEXED BY gateways_offline WHERE state = 'offline' ORDER BY household, gateway"
        )
        (latest,) = db.execute("SELECT value FROM store_meta WHERE key = 'latest_heartbeat_ms'").fetchone()
        return GatewaySummary(
            [
                GatewayLiveState(
                    h, g, GatewayState.OFFLINE, from_ms(changed), None if beat is None else from_ms(beat)
                )
                for h, g, changed, beat in offline
            ],
            None if latest < 0 else from_ms(latest),
        )

    def device_suspects(
        self, households: Sequence[str], battery_at_most: float, seen_by: datetime
    ) -> set[str]:
        rows = self._conn().execute(
            "SELECT DISTINCT household FROM devices WHERE household IN (SELECT value FROM json_each(?))"
            " AND (battery <= ? OR last_seen_ms <= ?)",
            (json.dumps(list(households)), battery_at_most, to_ms(seen_by)),
        )
        return {household for (household,) in rows}

    def button_presses(self, since: datetime) -> list[ButtonPress]:
        rows = self._conn().execute(
            "SELECT household, device, value_ms FROM devices INDEXED BY devices_button_presses"
            " WHERE kind = 'button' AND value_ms >= ? AND last_value >= 1 ORDER BY value_ms",
            (to_ms(since),),
        )
        return [ButtonPress(household, device, from_ms(at)) for household, device, at in rows]

    def devices(self, household: str) -> list[DeviceState]:
        return self.devices_of([household]).get(household, [])

    def devices_of(self, households: Sequence[str]) -> dict[str, list[DeviceState]]:
        rows = self._conn().execute(
            "SELECT household, device, kind, last_seen_ms, last_value, battery FROM devices"
            " WHERE household IN (SELECT value FROM json_each(?)) ORDER BY household, device",
            (json.dumps(list(households)),),
        )
        found: dict[str, list[DeviceState]] = {}
        kinds = {kind.value: kind for kind in Kind}
        for household, device, kind, seen, value, battery in rows:
            state = DeviceState(
                household, device, kinds[kind], datetime.fromtimestamp(seen / 1000, UTC), value, battery
            )
            found.setdefault(household, []).append(state)
        return found

    def gateways(self, household: str | None = None) -> list[GatewayLiveState]:
        sql = "SELECT household, gateway, state, changed_ms, last_heartbeat_ms FROM gateways"
        args: tuple[str, ...] = ()
        if household is not None:
            sql += " WHERE household = ?"
            args = (household,)
        rows = self._conn().execute(sql + " ORDER BY household, gateway", args)
        return [
            GatewayLiveState(
                h, g, GatewayState(state), from_ms(changed), None if beat is None else from_ms(beat)
            )
            for h, g, state, changed, beat in rows
        ]

    def hourly_activity(self, household: str, start: datetime, end: datetime) -> list[HourlyActivity]:
        rows = self._conn().execute(
            "SELECT hour_ms, kind, count FROM hourly_activity"
            " WHERE household = ? AND hour_ms >= ? AND hour_ms < ? ORDER BY hour_ms, kind",
            (household, to_ms(start), to_ms(end)),
        )
        return [HourlyActivity(household, from_ms(hour), Kind(kind), count) for hour, kind, count in rows]

    def activity_times(self, household: str, start: datetime, end: datetime) -> list[datetime]:
        rows = self._conn().execute(
            "SELECT observed_ms FROM events WHERE household = ? AND observed_ms >= ? AND observed_ms < ?"
            " AND activity = 1 ORDER BY observed_ms",
            (household, to_ms(start), to_ms(end)),
        )
        return [from_ms(at) for (at,) in rows]

    def events(self, household: str, start: datetime, end: datetime) -> list[Event]:
        """Every stored event of a household with ``start <= observed_at < end``, oldest first."""
        rows = self._conn().execute(
            "SELECT message_id, household, gateway, device, kind, value, observed_ms, seq FROM events"
            " WHERE household = ? AND observed_ms >= ? AND observed_ms < ? ORDER BY observed_ms",
            (household, to_ms(start), to_ms(end)),
        )
        return [
            Event(mid, h, g, device, Kind(kind), value, from_ms(at), seq)
            for mid, h, g, device, kind, value, at, seq in rows
        ]

    def climate_since(self, since: datetime) -> list[ClimateReading]:
        rows = self._conn().execute(
            "SELECT household, device, kind, value, observed_ms FROM climate_live"
            " WHERE observed_ms >= ? ORDER BY observed_ms",
            (to_ms(since),),
        )
        return [ClimateReading(h, d, Kind(k), v, from_ms(at)) for h, d, k, v, at in rows]

    def climate_changes(
        self, since: int | None, watched: Sequence[str] = (), calm: Calm | None = None
    ) -> ClimateChanges:
        db = self._climate_reader()
        # The change number first: a batch committed between the two reads is read now and again
        # next time (harmless: the detector skips what it has fed), never skipped.
        (cursor,) = db.execute("SELECT value FROM store_meta WHERE key = 'change_seq'").fetchone()
        after = -1 if since is None else since
        if calm is None:
            rows = db.execute(
                "SELECT household, device, kind, value, observed_ms FROM climate_live WHERE changed_seq > ?",
                (after,),
            ).fetchall()
        else:
            self._watch_climate(db, watched)
            rows = db.execute(_CLIMATE_NOT_CALM, (after, calm.low, calm.high)).fetchall()
        return ClimateChanges(rows, cursor)

    def _climate_reader(self) -> sqlite3.Connection:
        """The live climate read's own connection: it writes its temporary table of watched homes each
        pass, which the store's connection must not (it may be in a batch's transaction, in another
        thread), and reads the change number outside any such transaction."""
        self._conn()  # open
        if self._climate_db is None:
            db = connect(self._path, synchronous=self._synchronous, create=False)
            db.execute("PRAGMA cache_size=-131072")  # as the store's connection
            db.execute("PRAGMA mmap_size=2147483648")
            db.execute(_CLIMATE_WATCHED)
            self._climate_db = db
            self._climate_watched = set()
        return self._climate_db

    def _watch_climate(self, db: sqlite3.Connection, watched: Iterable[str]) -> None:
        """Make temp.climate_watched hold ``watched``, by difference (a few homes a pass)."""
        want = set(watched)
        had = self._climate_watched
        if want == had:
            return
        db.execute("BEGIN")
        try:
            db.executemany("DELETE FROM temp.climate_watched WHERE household = ?", ((h,) for h in had - want))
            db.executemany("INSERT INTO temp.climate_watched VALUES (?)", ((h,) for h in want - had))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._climate_watched = want

    def climate_readings(self, household: str, start: datetime, end: datetime) -> list[ClimateReading]:
        rows = self._conn().execute(
            "SELECT device, kind, value, observed_ms FROM events WHERE household = ?"
            " AND observed_ms >= ? AND observed_ms < ? AND kind IN (?, ?) ORDER BY observed_ms",
            (household, to_ms(start), to_ms(end), *_CLIMATE_KINDS),
        )
        return [ClimateReading(household, d, Kind(k), v, from_ms(at)) for d, k, v, at in rows]

    def seq_gaps(self, household: str | None = None) -> list[SeqGap]:
        """The open gaps in gateways' seq (of one household, or all), oldest first."""
        sql = "SELECT household, gateway, first_seq, last_seq, opened_ms FROM seq_gaps"
        args: tuple[str, ...] = ()
        if household is not None:
            sql += " WHERE household = ?"
            args = (household,)
        rows = self._conn().execute(sql + " ORDER BY opened_ms, household, gateway", args)
        return [SeqGap(h, g, first, last, from_ms(at)) for h, g, first, last, at in rows]

    def dead_letters(self, limit: int = 100) -> list[Rejection]:
        """The newest rejected messages, newest first."""
        rows = self._conn().execute(
            "SELECT received_ms, topic, reason, detail, payload FROM dead_letters ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [
            Rejection(from_ms(at), topic, reason, detail, bytes(payload))
            for at, topic, reason, detail, payload in rows
        ]


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _track_seqs(db: sqlite3.Connection, batch: IngestBatch) -> int:
    """Gap detection on each gateway's seq (see the schema); returns how many gaps this batch opened.
    Dead-lettered events count as seen: their gateway sent them, ingest refused them."""
    seen: dict[tuple[str, str], set[int]] = {}
    for event in (*batch.events, *batch.thinned):
        seen.setdefault((event.household, event.gateway), set()).add(event.seq)
    for rejection in batch.rejections:
        if rejection.topic.endswith("/events"):
            seq = event_seq(rejection.payload)
            parts = rejection.topic.split("/")
            if seq is not None and len(parts) == 5:
                seen.setdefault((parts[2], parts[3]), set()).add(seq)
    opened = 0
    now_ms = to_ms(batch.received_at)
    for (household, gateway), seqs in seen.items():
        row = db.execute(
            "SELECT high FROM gateway_seq WHERE household = ? AND gateway = ?", (household, gateway)
        ).fetchone()
        ordered = sorted(seqs)
        high = ordered[0] - 1 if row is None else int(row[0])
        late = [seq for seq in ordered if seq <= high]
        if late and row is not None:
            _fill_gaps(db, household, gateway, late)
        expected = high + 1
        for seq in ordered:
            if seq > expected:
                db.execute(
                    "INSERT OR IGNORE INTO seq_gaps VALUES (?, ?, ?, ?, ?)",
                    (household, gateway, expected, seq - 1, now_ms),
                )
                opened += 1
            expected = max(expected, seq + 1)
        if row is None or expected - 1 > high:
            db.execute(
                "INSERT INTO gateway_seq VALUES (?, ?, ?) ON CONFLICT (household, gateway)"
                " DO UPDATE SET high = max(high, excluded.high)",
                (household, gateway, expected - 1),
            )
    return opened


def _fill_gaps(db: sqlite3.Connection, household: str, gateway: str, seqs: list[int]) -> None:
    """Close or narrow the open gaps that ``seqs`` (late arrivals, ascending) fall into."""
    gaps = db.execute(
        "SELECT first_seq, last_seq, opened_ms FROM seq_gaps WHERE household = ? AND gateway = ?"
        " AND first_seq <= ? AND last_seq >= ?",
        (household, gateway, seqs[-1], seqs[0]),
    ).fetchall()
    for first, last, opened_ms in gaps:
        inside = [seq for seq in seqs if first <= seq <= last]
        if not inside:
            continue
        db.execute(
            "DELETE FROM seq_gaps WHERE household = ? AND gateway = ? AND first_seq = ?",
            (household, gateway, first),
        )
        start = first
        for seq in [*inside, last + 1]:
            if seq > start:
                db.execute(
                    "INSERT INTO seq_gaps VALUES (?, ?, ?, ?, ?)",
                    (household, gateway, start, seq - 1, opened_ms),
                )
            start = seq + 1
