"""The registry and escalation repository on a real SQLite file, and the households import."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from app.demo_town import town_data
from detection.findings import Audience, FindingKind, Severity
from escalation.models import Incident, IncidentState, PolicySnapshot, SmsPurpose
from escalation.repository import EscalationRepository
from registry.households_import import ImportError_, import_data, read_file
from registry.models import Household, Room, Switch, TierKind
from tests.conftest import FIXED_NOW

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "households.example.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> EscalationRepository:
    r = EscalationRepository(tmp_path / "state.sqlite3")
    r.open()
    return r


def _incident(id_: str, household: str = "demo-0001") -> Incident:
    return Incident(
        id=id_,
        household=household,
        kind=FindingKind.INACTIVITY,
        severity=Severity.URGENT,
        audience=Audience.COMMUNITY,
        state=IncidentState.OPEN,
        opened_at=FIXED_NOW,
        updated_at=FIXED_NOW,
        episode="e1",
        explanation_key="inactivity",
        explanation_params={"since": "07:10"},
        last_activity_at=FIXED_NOW - timedelta(hours=2),
        snapshot=PolicySnapshot((), 45, None, "Asia/Tokyo"),
        next_due_at=FIXED_NOW,
    )


def test_import_example_round_trips(repo: EscalationRepository) -> None:
    report = import_data(repo, read_file(EXAMPLE), FIXED_NOW)
    assert (report.households, report.contacts, report.rejected) == (1, 7, [])
    h = repo.household("demo-0001")
    assert h is not None
    assert h.name == "山田花子"
    assert h.time_zone == "Asia/Tokyo"
    policy = repo.policy("demo-0001")
    assert policy is not None
    assert [t.kind for t in policy.tiers] == [
        TierKind.NEIGHBOURS,
        TierKind.VOLUNTEERS,
        TierKind.PROFESSIONALS,
    ]
    assert policy.tiers[0].contacts == ("n-suzuki", "n-kato")
    assert policy.quiet_hours is not None
    assert policy.quiet_hours.start.hour == 21
    assert {c.id for c in repo.contacts("demo-0001")} == {
        "n-suzuki",
        "n-kato",
        "v-ito",
        "v-brown",
        "p-center",
        "t-tech",
    }
    again = import_data(repo, read_file(EXAMPLE), FIXED_NOW)
    assert again.rejected == []
    assert len(repo.households()) == 1


def test_bad_entries_are_rejected_one_by_one(repo: EscalationRepository, tmp_path: Path) -> None:
    data = {
        "contacts": [
            {"id": "ok", "name": "A", "phone": "+819011112222", "role": "neighbour"},
            {"id": "bad-phone", "name": "B", "phone": "090-1111", "role": "neighbour"},
        ],
        "households": [
            {"id": "h1", "name": "H1", "policy": {"tiers": [{"kind": "neighbours", "contacts": ["ok"]}]}},
            {"id": "h2", "name": "H2", "policy": {"tiers": [{"kind": "neighbours", "contacts": ["ghost"]}]}},
            {"id": "h3", "name": "H3", "time_zone": "Mars/Olympus", "policy": {"tiers": []}},
            {"id": "h4", "name": "H4", "evening_check": "maybe", "policy": {"tiers": []}},
        ],
    }
    report = import_data(repo, data, FIXED_NOW)
    assert (report.households, report.contacts) == (1, 1)
    assert len(report.rejected) == 4
    assert any("bad-phone" in r and "E.164" in r for r in report.rejected)
    assert any("h4" in r and "evening_check" in r for r in report.rejected)
    assert any("h2" in r and "ghost" in r for r in report.rejected)
    assert [h.id for h in repo.households()] == ["h1"]
    broken = tmp_path / "broken.toml"
    broken.write_text("contacts = [", encoding="utf-8")
    with pytest.raises(ImportError_, match="not valid TOML"):
        read_file(broken)


def test_episodes_not_kinds_several_open_incidents(repo: EscalationRepository) -> None:
    import_data(repo, read_file(EXAMPLE), FIXED_NOW)
    repo.insert_incident(_incident("i1"))
    repo.insert_incident(replace(_incident("i2"), episode="e2", device="motion-1"))
    first = repo.incident("i1")
    assert first is not None
    assert first.explanation_params == {"since": "07:10"}
    assert [i.id for i in repo.open_incidents_of("demo-0001", FindingKind.INACTIVITY, None)] == ["i1"]
    assert repo.incident_for_episode("demo-0001", FindingKind.INACTIVITY, "e2", "motion-1") is not None
    assert repo.incident_for_episode("demo-0001", FindingKind.INACTIVITY, "e2", None) is None
    repo.save_incident(replace(first, state=IncidentState.RESOLVED, next_due_at=None, note="メモ"))
    assert repo.due_incidents() == [("i2", FIXED_NOW)]
    assert repo.incident("i1") == replace(first, state=IncidentState.RESOLVED, next_due_at=None, note="メモ")


OLD_SCHEMA = Path(__file__).with_name("old_escalation_schema.sql")


def test_a_state_file_from_before_episodes_still_opens(tmp_path: Path) -> None:
    """The schema before episodes: a unique index on (household, kind) and fewer incident columns."""
    path = tmp_path / "old.sqlite3"
    old = EscalationRepository(path)
    old.open()
    old.close()
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE incidents;" + OLD_SCHEMA.read_text(encoding="utf-8"))
    snapshot = '{"waves": [], "claim_timeout": 45, "resolve_on_activity": true, "quiet_hours": null,'
    snapshot += ' "time_zone": "Asia/Tokyo", "first_wave_delay": 0}'
    db.execute(
        "INSERT INTO incidents (id, household, kind, severity, audience, state, opened_at, updated_at,"
        " episode, explanation_key, explanation_params, snapshot, resolution)"
        " VALUES ('old', 'demo-0001', 'inactivity', 'urgent', 'community', 'resolved',"
        " '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z', 'e0', 'inactivity', '{}', ?, 'safe')",
        (snapshot,),
    )
    db.commit()
    db.close()
    repo = EscalationRepository(path)
    repo.open()
    old_incident = repo.incident("old")
    assert old_incident is not None
    assert (old_incident.outcome, old_incident.note, old_incident.device) == ("safe", "", None)
    repo.insert_incident(_incident("i1"))
    repo.insert_incident(replace(_incident("i2"), episode="e2"))  # two open of one kind: no unique index
    assert len(repo.incidents(open_only=True)) == 2
    repo.close()


def test_sms_queue_is_idempotent_and_urgent_first(repo: EscalationRepository) -> None:
    common = {"purpose": SmsPurpose.ALERT, "now": FIXED_NOW}
    assert repo.enqueue_sms(key="a", to="+819000000001", body="later", urgent=False, **common)
    assert repo.enqueue_sms(key="b", to="+819000000002", body="now", urgent=True, **common)
    assert not repo.enqueue_sms(key="a", to="+819000000001", body="dup", urgent=True, **common)
    assert [m.body for m in repo.due_sms(FIXED_NOW)] == ["now", "later"]


def test_away_periods_expire_and_opt_ins(repo: EscalationRepository) -> None:
    import_data(repo, read_file(EXAMPLE), FIXED_NOW)
    assert repo.away_periods("demo-0001", now=FIXED_NOW) == []
    away_id = repo.add_away(
        "demo-0001", FIXED_NOW, FIXED_NOW + timedelta(days=2), "care_manager:sato", "旅行"
    )
    (away,) = repo.away_periods("demo-0001", now=FIXED_NOW + timedelta(hours=1))
    assert away.set_by == "care_manager:sato"
    assert repo.away_periods("demo-0001", now=FIXED_NOW + timedelta(days=3)) == []  # expired by itself
    repo.remove_away(away_id)
    assert repo.away_periods("demo-0001") == []
    with pytest.raises(ValueError, match="ends after"):
        repo.add_away("demo-0001", FIXED_NOW, FIXED_NOW, "resident")
    household = repo.household("demo-0001")
    assert household is not None
    assert not household.night_exit_opt_in
    repo.set_night_exit_opt_in("demo-0001", True)
    household = repo.household("demo-0001")
    assert household is not None
    assert (household.night_exit_opt_in, household.evening_check) == (True, Switch.AUTO)
    for switch in (Switch.ON, Switch.OFF):
        repo.set_evening_check("demo-0001", switch)
        household = repo.household("demo-0001")
        assert household is not None
        assert household.evening_check is switch
    import_data(repo, read_file(EXAMPLE), FIXED_NOW)  # the file says auto: the import sets it back
    household = repo.household("demo-0001")
    assert household is not None
    assert household.evening_check is Switch.AUTO


def test_devices_carry_their_rooms_where_given(repo: EscalationRepository) -> None:
    tiers = [{"kind": "neighbours", "contacts": ["n1"]}]
    devices = ["kitchen-motion", {"id": "pir-2", "room": "bathroom"}, {"id": "back-door", "room": "entrance"}]
    home = {"id": "h1", "name": "H1", "devices": devices, "policy": {"tiers": tiers}}
    contacts = [{"id": "n1", "name": "N", "phone": "+819011112222", "role": "neighbour"}]
    report = import_data(repo, {"contacts": contacts, "households": [home]}, FIXED_NOW)
    assert report.rejected == []
    assert repo.devices("h1") == ["back-door", "kitchen-motion", "pir-2"]
    assert repo.device_rooms("h1") == {"pir-2": Room.BATHROOM, "back-door": Room.ENTRANCE}
    bad = {**home, "devices": [{"id": "pir-2", "room": "garage"}]}
    report = import_data(repo, {"contacts": contacts, "households": [bad]}, FIXED_NOW)
    assert any("h1" in r and "room" in r for r in report.rejected), report.rejected
    assert repo.device_rooms("h1") == {"pir-2": Room.BATHROOM, "back-door": Room.ENTRANCE}  # unchanged
    example = import_data(repo, read_file(EXAMPLE), FIXED_NOW)
    assert example.rejected == []
    assert repo.device_rooms("demo-0001") == {"help-button": Room.LIVING}


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("auto", Switch.AUTO),
        ("on", Switch.ON),
        ("off", Switch.OFF),
        (True, Switch.ON),  # the opt-in's old values: no households file breaks
        (False, Switch.OFF),
        ("true", Switch.ON),
        ("false", Switch.OFF),
        (None, Switch.AUTO),  # not written: automatic
    ],
)
def test_the_evening_check_is_a_switch_and_old_booleans_still_read(
    repo: EscalationRepository, written: object, read: Switch
) -> None:
    tiers = [{"kind": "neighbours", "contacts": ["n1"]}]
    home: dict[str, object] = {"id": "h1", "name": "H1", "policy": {"tiers": tiers}}
    if written is not None:
        home["evening_check"] = written
    contacts = [{"id": "n1", "name": "N", "phone": "+819011112222", "role": "neighbour"}]
    report = import_data(repo, {"contacts": contacts, "households": [home]}, FIXED_NOW)
    assert report.rejected == []
    household = repo.household("h1")
    assert household is not None
    assert household.evening_check is read


def test_the_demo_town_imports_with_its_opt_ins(repo: EscalationRepository) -> None:
    data = town_data(["home-0001", "home-0002"], "Asia/Tokyo", evening_check=["home-0002"])
    assert import_data(repo, data, FIXED_NOW).rejected == []
    opted = [(h.id, h.night_exit_opt_in, h.evening_check) for h in repo.households()]
    assert opted == [("home-0001", True, Switch.AUTO), ("home-0002", False, Switch.ON)]


def test_a_state_file_from_before_the_evening_check_gains_its_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE households (id TEXT PRIMARY KEY, name TEXT NOT NULL, address_hint TEXT NOT NULL"
        " DEFAULT '', time_zone TEXT NOT NULL DEFAULT 'Asia/Tokyo', language TEXT NOT NULL DEFAULT 'ja',"
        " night_exit_opt_in INTEGER NOT NULL DEFAULT 0)"
    )
    old.execute("INSERT INTO households VALUES ('h1', '山田花子', '', 'Asia/Tokyo', 'ja', 1)")
    old.commit()
    old.close()
    repo = EscalationRepository(path)
    repo.open()
    assert repo.household("h1") == Household("h1", "山田花子", "", night_exit_opt_in=True)
    assert repo.household("h1") == Household("h1", "山田花子", "", night_exit_opt_in=True)  # auto
    repo.set_evening_check("h1", Switch.ON)
    household = repo.household("h1")
    assert household is not None
    assert household.evening_check is Switch.ON
    repo.close()
    repo.open()  # opening again adds nothing twice
    repo.close()


def test_coverage_gaps(repo: EscalationRepository) -> None:
    import_data(repo, read_file(EXAMPLE), FIXED_NOW)
    assert repo.coverage_gaps() == []
    repo.set_opted_out("n-kato", FIXED_NOW)
    repo.upsert_household(Household("h2", "Nobody", ""))
    assert repo.coverage_gaps() == [
        ("demo-0001", "n-kato", "opted out (STOP)"),
        ("h2", "", "no escalation policy"),
    ]


def test_households_a_contact_serves(repo: EscalationRepository) -> None:
    import_data(repo, read_file(EXAMPLE), FIXED_NOW)
    assert repo.households_of("n-suzuki") == ["demo-0001"]
    repo.upsert_household(Household("demo-0002", "佐藤次郎", "桜町3丁目"))
    repo.link_contact("demo-0002", "n-suzuki")
    assert repo.households_of("n-suzuki") == ["demo-0001", "demo-0002"]
    assert repo.households_of("nobody") == []
