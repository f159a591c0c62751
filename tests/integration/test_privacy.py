"""``mimamori household export|delete`` on real SQLite files filled through the stages' own APIs."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from app.broker_accounts import generate, read_passwd
from app.privacy import Databases, PrivacyError, delete_household, export_household
from dashboard.users import StaffRole, UserStore
from detection.findings import Audience, FindingKind, Severity
from escalation.models import AuditEntry, Incident, IncidentState, PolicySnapshot, SmsPurpose, StepKind
from escalation.repository import EscalationRepository
from mimamori import contract
from mimamori.contract import Channel, Kind
from registry.households_import import import_data, read_file
from store.base import IngestBatch, Rejection
from store.sqlite import SqliteEventStore
from tests.conftest import FIXED_NOW

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "households.example.yaml"
GONE, KEPT = "demo-0001", "other-0002"
NAME = "山田花子"  # the resident of demo-0001 in the example
ONLY_GONE_PHONES = ("+819000000001", "+819000000012")  # r-yamada, n-kato: contacts of demo-0001 only
SHARED_PHONE = "+819000000011"  # n-suzuki, also the neighbour of other-0002
OTHER_HOUSEHOLD = """
households:
  - id: other-0002
    name: 佐藤次郎
    address_hint: 梅町1丁目
    residents: [{name: 佐藤次郎}]
    policy:
      tiers:
        - {kind: neighbours, contacts: [n-suzuki], mode: all, wait_minutes: 15}
      technical: [t-tech]
"""


def _incident(incident_id: str, household: str) -> Incident:
    return Incident(
        id=incident_id,
        household=household,
        kind=FindingKind.INACTIVITY,
        severity=Severity.URGENT,
        audience=Audience.COMMUNITY,
        state=IncidentState.OPEN,
        opened_at=FIXED_NOW,
        updated_at=FIXED_NOW,
        episode=f"ep-{household}",
        explanation_key="inactivity",
        explanation_params={"since": "07:10"},
        last_activity_at=FIXED_NOW - timedelta(hours=2),
        snapshot=PolicySnapshot((), 45, None, "Asia/Tokyo"),
        next_due_at=FIXED_NOW,
    )


def _events(household: str, count: int) -> list[contract.Event]:
    return [
        contract.Event(
            message_id=f"{household}-msg-{n:04d}",
            household=household,
            gateway="gw-1",
            device="motion-1",
            kind=Kind.MOTION,
            value=1.0,
            observed_at=FIXED_NOW - timedelta(minutes=10 * n),
            seq=n,
        )
        for n in range(count)
    ]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A deployment's three SQLite files, filled as the running services would fill them."""
    config = tmp_path / "mimamori.toml"
    config.write_text(
        f'[store]\nsqlite_path = "{tmp_path / "events.sqlite3"}"\n'
        f'[alerts]\nstate_path = "{tmp_path / "state.sqlite3"}"\n'
        f'[dashboard]\nusers_path = "{tmp_path / "dashboard.sqlite3"}"\n'
    )
    (tmp_path / "other.yaml").write_text(OTHER_HOUSEHOLD)

    repo = EscalationRepository(tmp_path / "state.sqlite3")
    repo.open()
    example = read_file(EXAMPLE)
    [gone] = example["households"]
    # The resident is asked first: that links their own contact (and phone) to the household.
    gone["policy"]["tiers"].insert(
        0, {"kind": "resident_check", "contacts": ["r-yamada"], "wait_minutes": 10}
    )
    assert not import_data(repo, example, FIXED_NOW).rejected
    assert not import_data(repo, read_file(tmp_path / "other.yaml"), FIXED_NOW).rejected
    for household, contact, phone in (
        (GONE, "n-kato", ONLY_GONE_PHONES[1]),
        (KEPT, "n-suzuki", SHARED_PHONE),
    ):
        incident = f"inc-{household}"
        repo.insert_incident(_incident(incident, household))
        repo.add_step(incident, StepKind.OPENED, FIXED_NOW)
        repo.enqueue_sms(
            key=f"sms-{household}",
            to=phone,
            body=f"見守り: {household} で 07:10 から動きがありません",
            purpose=SmsPurpose.ALERT,
            urgent=True,
            now=FIXED_NOW,
            incident=incident,
            contact=contact,
        )
        repo.link_id(incident, contact, FIXED_NOW + timedelta(hours=24))
        repo.audit(FIXED_NOW, "care1", "household_viewed", household=household)
        repo.audit(FIXED_NOW, "system", "sms_sent", incident=incident)
    repo.close()

    store = SqliteEventStore(tmp_path / "events.sqlite3")
    store.open()
    rejection = Rejection(
        FIXED_NOW,
        contract.topic(GONE, "gw-1", Channel.EVENTS),
        "bad_value",
        "motion value 7",
        b'{"r":"' + NAME.encode() + b'"}',
    )
    store.commit_batch(
        IngestBatch(
            received_at=FIXED_NOW,
            events=[*_events(GONE, 30), *_events(KEPT, 20)],
            statuses=[
                contract.GatewayStatus(h, "gw-1", contract.GatewayState.ONLINE, FIXED_NOW)
                for h in (GONE, KEPT)
            ],
            heartbeats=[contract.Heartbeat(h, "gw-1", FIXED_NOW, 1, 0) for h in (GONE, KEPT)],
            rejections=[rejection],
        )
    )
    store.close()

    users = UserStore(tmp_path / "dashboard.sqlite3")
    users.open()
    users.add_user("care1", "ケアマネ1", StaffRole.CARE_MANAGER, "correct horse battery", now=FIXED_NOW)
    users.assign("care1", GONE)
    users.assign("care1", KEPT)
    users.close()
    return config


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mimamori",
            "household",
            *args,
            "--config",
            str(config),
            "--actor",
            "operator-1",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _dbs(config: Path) -> Databases:
    from mimamori.config import load_config

    return Databases.from_config(load_config(config, {}))


def _without_audit(document: dict[str, Any]) -> dict[str, Any]:
    return {
        db: {t: rows for t, rows in tables.items() if t != "audit_log"}
        for db, tables in document["databases"].items()
    }


def test_export_holds_everything_about_the_household_and_nothing_else(config_file: Path) -> None:
    done = _cli(config_file, "export", GONE)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    state, events, dashboard = (document["databases"][n] for n in ("state", "events", "dashboard"))
    assert [h["name"] for h in state["households"]] == [NAME]
    assert [r["name"] for r in state["residents"]] == [NAME]
    assert {c["id"] for c in state["contacts"]} >= {"r-yamada", "n-suzuki", "n-kato", "t-tech"}
    assert [i["id"] for i in state["incidents"]] == [f"inc-{GONE}"]
    assert {s["incident"] for s in state["escalation_steps"]} == {f"inc-{GONE}"}
    assert [m["to_number"] for m in state["sms_messages"]] == [ONLY_GONE_PHONES[1]]
    assert len(state["links"]) == 1
    assert {a["action"] for a in state["audit_log"]} == {"household_viewed", "sms_sent"}
    assert "policies" in state
    # APPI: the resident's consent, and to whom the household's alerts are provided since when.
    [consent] = state["consents"]
    assert (consent["given_by"], consent["given_at"]) == ("resident", "2026-04-01T01:00:00.000000+00:00")
    assert {p["contact"] for p in state["provisions"]} >= {"n-suzuki", "n-kato", "p-center", "t-tech"}
    assert {p["until"] for p in state["provisions"]} == {None}
    assert [g["gateway"] for g in state["household_gateways"]] == ["gw-1"]
    assert len(events["events"]) == 30
    assert {"hourly_activity", "household_live", "devices", "gateways", "dead_letters"} <= set(events)
    assert NAME in events["dead_letters"][0]["payload"]
    assert dashboard == {"assignments": [{"username": "care1", "household": GONE}]}
    assert KEPT not in json.dumps(document, ensure_ascii=False)

    repo = EscalationRepository(Path(_dbs(config_file).paths["state"]))
    repo.open()
    [entry] = [a for a in repo.audit_log(household=GONE) if a.action == "household_exported"]
    repo.close()
    assert entry.actor == "operator-1"


def test_delete_leaves_nothing_but_the_audit_trail_and_revokes_the_broker_account(
    config_file: Path, tmp_path: Path
) -> None:
    dbs = _dbs(config_file)
    kept_before = _without_audit(export_household(dbs, KEPT, FIXED_NOW, "test"))

    dry = _cli(config_file, "delete", GONE)
    assert dry.returncode == 1
    assert "run again with --yes" in dry.stdout
    assert "events.events\t30" in dry.stdout
    assert export_household(dbs, GONE, FIXED_NOW, "test")["databases"]["events"]["events"]

    broker = tmp_path / "broker"
    generate(broker, [GONE, KEPT], "ingest-secret")
    done = _cli(config_file, "delete", GONE, "--yes", "--broker-dir", str(broker))
    assert done.returncode == 0, done.stderr
    assert "reload mosquitto (SIGHUP)" in done.stdout
    assert set(read_passwd(broker / "passwd")) == {"ingest", KEPT}
    assert f"user {GONE}" not in (broker / "acl").read_text()
    assert f"user {KEPT}" in (broker / "acl").read_text()
    assert not (broker / "gateways" / f"{GONE}.env").exists()

    leftovers = _rows_mentioning(dbs, [GONE, NAME, *ONLY_GONE_PHONES, "r-yamada", "n-kato"])
    assert sorted(leftovers) == [  # who saw it, what was sent about it, and that it was deleted
        ("state", "audit_log", "household_deleted"),
        ("state", "audit_log", "household_exported"),
        ("state", "audit_log", "household_viewed"),
        ("state", "audit_log", "sms_sent"),
    ], leftovers
    trail = {(a.actor, a.action) for a in _audit(dbs, GONE)}
    assert trail == {
        ("operator-1", "household_deleted"),
        ("test", "household_exported"),
        ("care1", "household_viewed"),
    }
    [record] = [a for a in _audit(dbs, GONE) if a.action == "household_deleted"]
    assert record.detail["rows_deleted"]["events.events"] == 30
    for path in dbs.paths.values():  # secure_delete + checkpoint: not even in free pages or the WAL
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert NAME.encode() not in raw, path
        assert ONLY_GONE_PHONES[0].encode() not in raw, path

    assert _without_audit(export_household(dbs, KEPT, FIXED_NOW, "test")) == kept_before
    with pytest.raises(PrivacyError, match="no data"):  # deleting again keeps the record
        delete_household(dbs, GONE, FIXED_NOW, "test")
    after = export_household(dbs, GONE, FIXED_NOW, "test")["databases"]
    assert [(t, sorted(r["action"] for r in rows)) for t, rows in after["state"].items()] == [
        ("audit_log", ["household_deleted", "household_exported", "household_viewed"])
    ]  # (the SMS record stays too, under its incident's id: the incident itself is gone)


def test_bad_ids_are_refused(config_file: Path) -> None:
    for bad in ("DEMO", "x%", "a/b"):
        done = _cli(config_file, "export", bad)
        assert done.returncode == 1
        assert "must match" in done.stderr


def _audit(dbs: Databases, household: str) -> list[AuditEntry]:
    repo = EscalationRepository(dbs.paths["state"])
    repo.open()
    try:
        return repo.audit_log(household=household)
    finally:
        repo.close()


def _rows_mentioning(dbs: Databases, needles: list[str]) -> list[tuple[str, str, str]]:
    """(database, table, action or first column) of every row with a needle in any text column."""
    found = []
    for name, path in dbs.paths.items():
        db = sqlite3.connect(path)
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [c[0] for c in cursor.description]
            for row in cursor:
                text = " ".join(v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in row)
                if any(needle in text for needle in needles):
                    record = dict(zip(columns, row, strict=True))
                    found.append((name, table, str(record.get("action", row[0]))))
        db.close()
    return found
