"""Volunteer records from what escalation stored (a real state file, the engine and the reply desk), the
points rule, month boundaries in the deployment's time zone, the CLI; and the volunteers' SMS words."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.models import Outcome
from escalation.records import PointsRule, month_span, records, to_csv
from escalation.replies import ReplyAction, ReplyDesk, parse
from escalation.repository import EscalationRepository
from escalation.volunteer_sms import rest_days
from tests.conftest import FIXED_NOW
from tests.support.escalation_harness import ITO, KATO, alerts_config, finding, import_households

BROWN = "+819000000022"


@pytest.mark.parametrize(
    ("text", "action", "argument"),
    [
        ("休み 7", ReplyAction.REST, "7"),
        ("休み７日", ReplyAction.REST, "7"),
        ("REST 7", ReplyAction.REST, "7"),
        ("rest seven", ReplyAction.REST, "seven"),  # told the days are 1-90
        ("休み", ReplyAction.REST, ""),
        ("休みなので行けません", ReplyAction.UNKNOWN, ""),  # an answer, not a command: the usual help
        ("記録", ReplyAction.RECORD, ""),
        ("Record", ReplyAction.RECORD, ""),
        ("再開", ReplyAction.START, ""),
    ],
)
def test_the_volunteers_words(text: str, action: ReplyAction, argument: str) -> None:
    assert (parse(text).action, parse(text).argument) == (action, argument)


@pytest.mark.parametrize(
    ("argument", "days"),
    [("7", 7), ("1", 1), ("90", 90), ("7 days", 7), ("0", None), ("91", None), ("", None), ("x", None)],
)
def test_rest_days_are_one_to_ninety(argument: str, days: int | None) -> None:
    assert rest_days(argument) == days


@pytest.mark.parametrize(
    ("month", "start", "end"),
    [
        ("2026-11", datetime(2026, 10, 31, 15, tzinfo=UTC), datetime(2026, 11, 30, 15, tzinfo=UTC)),
        ("2026-12", datetime(2026, 11, 30, 15, tzinfo=UTC), datetime(2026, 12, 31, 15, tzinfo=UTC)),
    ],
)
def test_months_are_local(month: str, start: datetime, end: datetime) -> None:
    assert month_span(month, "Asia/Tokyo") == (start, end)


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "11-2026", "", "2026-00"])
def test_a_bad_month_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_span(bad, "Asia/Tokyo")


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """A month of the example household: 伊藤 claims, reports safe and answers a drill; Brown declines."""
    config = alerts_config(tmp_path, None)
    import_households(config)
    repo = EscalationRepository(config.alerts.state_path)
    repo.open()
    engine = EscalationEngine(repo, EngineSettings("http://localhost", b"k" * 32))
    desk = ReplyDesk(engine, repo)
    engine.open_from_finding(finding(), FIXED_NOW)
    later = FIXED_NOW + timedelta(minutes=15)
    engine.process_due(later)  # the volunteers' wave
    desk.handle_reply(KATO, "2", later)  # a neighbour: not counted
    desk.handle_reply(BROWN, "2", later)
    desk.handle_reply(ITO, "1", later)
    desk.handle_reply(ITO, "3", later + timedelta(minutes=30))
    repo.add_drill("run-1", "v-ito", FIXED_NOW, "pending")
    repo.settle_drill("run-1", "v-ito", "answered", FIXED_NOW)
    repo.close()
    return config.alerts.state_path


def test_records_count_what_each_volunteer_did(state: Path) -> None:
    repo = EscalationRepository(state)
    repo.open()
    found = {r.contact: r for r in records(repo, "2026-11", "Asia/Tokyo")}
    assert set(found) == {"v-ito", "v-brown"}  # volunteers only
    ito, brown = found["v-ito"], found["v-brown"]
    assert (ito.alerts, ito.answered, ito.claimed, ito.visits, ito.drills) == (1, 1, 1, {Outcome.SAFE: 1}, 1)
    assert (brown.alerts, brown.answered, brown.claimed, brown.visit_count, brown.drills) == (1, 1, 0, 0, 0)
    assert ito.points(PointsRule()) == 1 + 3 + 1
    assert ito.points(PointsRule(alert=2, answered=0, claimed=5, visit=0, drill=0)) == 7
    assert all(r.alerts == 0 for r in records(repo, "2026-12", "Asia/Tokyo"))
    assert records(repo, "2026-11", "Asia/Tokyo", "elsewhere") == []
    rows = list(csv.DictReader(io.StringIO(to_csv(list(found.values()), PointsRule()))))
    assert [(r["contact"], r["visit_safe"]) for r in rows] == [("v-brown", "0"), ("v-ito", "1")]
    repo.close()


def test_the_command_writes_csv_and_a_table(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    config = tmp_path / "mimamori.toml"
    config.write_text(
        f'[alerts]\nstate_path = "{state}"\n[volunteers]\npoints = {{answered = 2, visit = 10, drill = 1}}\n'
    )
    assert main(["volunteers", "records", "--month", "2026-11", "--csv", "--config", str(config)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [
        (r["contact"], r["alerts"], r["answered"], r["claimed"], r["visits"], r["drills"], r["points"])
        for r in rows
    ] == [
        ("v-brown", "1", "1", "0", "0", "0", "2"),
        ("v-ito", "1", "1", "1", "1", "1", "13"),
    ]
    assert main(["volunteers", "records", "--month", "2026-11", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    assert "伊藤健" in table
    assert "Emma Brown" in table
    assert main(["volunteers", "records", "--month", "2026-13", "--config", str(config)]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    assert (
        main(["volunteers", "records", "--month", "2026-11", "--org", "nope", "--config", str(config)]) == 2
    )
    assert "unknown organisation" in capsys.readouterr().err
