"""Privacy operations: everything held about one household, exported or erased.

``mimamori household export ID`` writes, as one JSON document, every row that concerns the
household in every SQLite database: the registry (household, residents, contacts, policy, away
periods), incidents with their escalation steps, SMS and links, audit entries, detection episodes,
events, roll-ups and live state, rejected messages from its topics, and dashboard assignments.
``mimamori household delete ID --yes`` removes all of it (contacts only when no other household
uses them) with SQLite's ``secure_delete`` on, except the audit trail (who saw the household, and one
more entry saying that it was deleted); it also removes the household's broker account from the
generated broker files and, given the broker's pid, reloads mosquitto, so its gateway can no longer
publish. Meanwhile ingest refuses it already: it is no longer in the registry.

Rows are found by rule, not by a fixed list, so a table added later is covered without change:
a ``household`` column, an ``incident`` column (the household's incidents), a ``topic`` under
``mimamori/v1/{household}/``, and the contacts linked to the household.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.broker_accounts import BrokerConfigError, reload_broker, revoke
from mimamori.clock import SystemClock
from mimamori.commands import Subcommands, add_config_argument, config_from
from mimamori.config import Config
from mimamori.contract import ID_RE, TOPIC_ROOT, TOPIC_VERSION, format_time
from mimamori.sqlite import connect, to_db_time

STATE = "state"
DELETED = "household_deleted"


class PrivacyError(Exception):
    """The operation cannot be done; the message says why."""


@dataclass(frozen=True, slots=True)
class Databases:
    """The SQLite files that may hold a household's data, by name."""

    paths: dict[str, Path]

    @classmethod
    def from_config(cls, config: Config) -> Databases:
        return cls(
            {
                STATE: config.alerts.state_path,
                "events": config.store.sqlite_path,
                "dashboard": config.dashboard.users_path,
            }
        )


@dataclass(frozen=True, slots=True)
class _Selection:
    table: str
    where: str
    params: tuple[str, ...]


def export_household(dbs: Databases, household: str, now: datetime, actor: str) -> dict[str, Any]:
    """Every row held about ``household``; the export itself is audited."""
    _check_id(household)
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name, db in _open_all(dbs):
        with closing(db):
            db.execute("BEGIN")
            tables: dict[str, list[dict[str, Any]]] = {}
            for sel in _selections(db, household, for_delete=False):
                cursor = db.execute(f'SELECT * FROM "{sel.table}" WHERE {sel.where}', sel.params)  # noqa: S608
                columns = [c[0] for c in cursor.description]
                rows = [dict(zip(columns, map(_json_value, row), strict=True)) for row in cursor]
                if rows:
                    tables[sel.table] = rows
            db.execute("ROLLBACK")
            if tables:
                found[name] = tables
    if not found:
        raise PrivacyError(f"no data is held about household {household!r}")
    _audit(dbs, now, actor, "household_exported", household, {"rows": _counts(found)})
    return {"household": household, "exported_at": format_time(now), "databases": found}


def delete_household(
    dbs: Databases, household: str, now: datetime, actor: str, dry_run: bool = False
) -> dict[str, int]:
    """Erase every row held about ``household``; returns ``{"db.table": rows}``.

    Each database is changed in one transaction with ``secure_delete`` (freed pages are zeroed) and
    its write-ahead log is checkpointed afterwards, so the data does not linger in the files. With
    ``dry_run`` nothing changes and the counts say what would go.
    """
    _check_id(household)
    counts: dict[str, int] = {}
    for name, db in _open_all(dbs):
        with closing(db):
            db.execute("PRAGMA secure_delete=ON")
            db.execute("BEGIN IMMEDIATE")
            try:
                for sel in _selections(db, household, for_delete=True):
                    if dry_run:
                        sql = f'SELECT count(*) FROM "{sel.table}" WHERE {sel.where}'  # noqa: S608
                        rows = int(db.execute(sql, sel.params).fetchone()[0])
                    else:
                        sql = f'DELETE FROM "{sel.table}" WHERE {sel.where}'  # noqa: S608
                        rows = db.execute(sql, sel.params).rowcount
                    if rows:
                        counts[f"{name}.{sel.table}"] = rows
                db.execute("ROLLBACK" if dry_run else "COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if not dry_run:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if not counts:
        raise PrivacyError(f"no data is held about household {household!r}")
    if not dry_run:
        _audit(dbs, now, actor, DELETED, household, {"rows_deleted": counts})
    return counts


# --------------------------------------------------------------------------- selection rules


def _selections(db: sqlite3.Connection, household: str, *, for_delete: bool) -> list[_Selection]:
    """Which rows of which table concern ``household``, in an order safe for deleting.

    The household's incidents and contacts are fixed first in temporary tables, so that deleting
    one table never changes which rows of another are selected.
    """
    tables = [
        r[0]
        for r in db.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    columns = {t: {c[1] for c in db.execute(f'PRAGMA main.table_info("{t}")')} for t in tables}
    has_incidents = "incidents" in tables
    has_contacts = "contacts" in tables and "household_contacts" in tables
    if has_incidents:
        db.execute("DROP TABLE IF EXISTS temp._incidents")
        db.execute(
            "CREATE TEMP TABLE _incidents AS SELECT id FROM main.incidents WHERE household = ?", (household,)
        )
    if has_contacts:
        linked = "SELECT contact FROM main.household_contacts WHERE household = ?"
        others = "SELECT contact FROM main.household_contacts WHERE household != ?"
        where = f"id IN ({linked}) AND id NOT IN ({others})" if for_delete else f"id IN ({linked})"
        params: tuple[str, ...] = (household, household) if for_delete else (household,)
        db.execute("DROP TABLE IF EXISTS temp._contacts")
        db.execute(f"CREATE TEMP TABLE _contacts AS SELECT id FROM main.contacts WHERE {where}", params)  # noqa: S608
    incidents = "incident IN (SELECT id FROM temp._incidents)"
    topic = f"{TOPIC_ROOT}/{TOPIC_VERSION}/{household.replace('_', '!_')}/%"
    out: list[_Selection] = []
    for table in tables:
        cols = columns[table]
        if table == "households" and "id" in cols:
            out.append(_Selection(table, "id = ?", (household,)))
        elif table == "contacts" and has_contacts:
            out.append(_Selection(table, "id IN (SELECT id FROM temp._contacts)", ()))
        elif "household" in cols and "incident" in cols and has_incidents:
            out.append(_Selection(table, f"household = ? OR {incidents}", (household,)))
        elif "household" in cols:
            out.append(_Selection(table, "household = ?", (household,)))
        elif "incident" in cols and has_incidents:
            where = incidents
            if for_delete and "contact" in cols and has_contacts:
                where += " OR contact IN (SELECT id FROM temp._contacts)"
            out.append(_Selection(table, where, ()))
        elif "topic" in cols:
            out.append(_Selection(table, "topic LIKE ? ESCAPE '!'", (topic,)))
    if for_delete:  # the audit trail (who saw the household, that it was deleted) outlives it
        out = [sel for sel in out if sel.table != "audit_log"]
    last = {"incidents": 1, "contacts": 2, "households": 3}  # referred to by the others
    return sorted(out, key=lambda sel: last.get(sel.table, 0))


# --------------------------------------------------------------------------- helpers


def _check_id(household: str) -> None:
    if not ID_RE.match(household):
        raise PrivacyError(f"household id {household[:80]!r} must match {ID_RE.pattern}")


def _connect(path: Path) -> sqlite3.Connection:
    """Open an existing database read-write; never creates one."""
    return connect(path, create=False)


def _open_all(dbs: Databases) -> Iterator[tuple[str, sqlite3.Connection]]:
    """Each existing database, opened read-write; the caller closes it."""
    for name, path in dbs.paths.items():
        if path.exists():
            yield name, _connect(path)


def _json_value(value: object) -> object:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode()
    return value


def _counts(found: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, int]:
    return {f"{db}.{table}": len(rows) for db, tables in found.items() for table, rows in tables.items()}


def _audit(dbs: Databases, now: datetime, actor: str, action: str, household: str, detail: object) -> None:
    path = dbs.paths[STATE]
    if not path.exists():
        return
    with closing(_connect(path)) as db:
        db.execute(
            "INSERT INTO audit_log (at, actor, action, household, incident, detail) VALUES (?,?,?,?,NULL,?)",
            (to_db_time(now), actor, action, household, json.dumps(detail, ensure_ascii=False)),
        )


# --------------------------------------------------------------------------- command


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("household", help="privacy: export or delete everything held about a household")
    actions = parser.add_subparsers(dest="household_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="everything held about a household, as JSON")
    export.add_argument("household")
    export.add_argument("--out", type=Path, help="write to this file (default: standard output)")
    delete = actions.add_parser("delete", help="remove a household's personal data and events")
    delete.add_argument("household")
    delete.add_argument("--yes", action="store_true", help="really delete (without it: only show what)")
    delete.add_argument(
        "--broker-dir",
        type=Path,
        default=Path("var/broker"),
        help="the 'mimamori broker-config --out' directory: the household's broker account is removed",
    )
    delete.add_argument("--broker-pid", type=int, help="mosquitto's pid: reload it (SIGHUP) afterwards")
    for action in (export, delete):
        add_config_argument(action)
        action.add_argument("--actor", default=getpass.getuser(), help="who asked (for the audit log)")
    export.set_defaults(func=_export)
    delete.set_defaults(func=_delete)


def _export(args: argparse.Namespace) -> int:
    config = config_from(args)
    try:
        document = export_household(
            Databases.from_config(config), args.household, SystemClock().now(), args.actor
        )
    except PrivacyError as exc:
        print(f"mimamori: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(document, ensure_ascii=False, indent=1)
    if args.out is None:
        print(text)
    else:
        args.out.touch(mode=0o600)
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"exported {sum(_counts(document['databases']).values())} rows to {args.out}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    config = config_from(args)
    dbs = Databases.from_config(config)
    try:
        counts = delete_household(dbs, args.household, SystemClock().now(), args.actor, dry_run=not args.yes)
    except PrivacyError as exc:
        print(f"mimamori: {exc}", file=sys.stderr)
        return 1
    for table, rows in sorted(counts.items()):
        print(f"{table}\t{rows}")
    if not args.yes:
        print(f"nothing deleted: run again with --yes to delete {sum(counts.values())} rows")
        return 1
    print(f"deleted {sum(counts.values())} rows about {args.household} (the audit trail is kept)")
    try:
        revoked = revoke(args.broker_dir, args.household)
        if revoked and args.broker_pid is not None:
            reload_broker(args.broker_pid)
    except BrokerConfigError as exc:
        print(f"mimamori: {exc}", file=sys.stderr)
        return 1
    if not revoked:
        print(f"no broker account of {args.household} in {args.broker_dir} (--broker-dir)")
    elif args.broker_pid is None:
        print(f"broker account removed from {args.broker_dir}: reload mosquitto (SIGHUP) to revoke it")
    else:
        print(f"broker account revoked (mosquitto pid {args.broker_pid} reloaded)")
    if config.store.backend == "influxdb":
        print("delete its points in InfluxDB too (docs/operations.md)")
    return 0
