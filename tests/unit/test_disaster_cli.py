"""``mimamori disaster-check`` on a state file in a working directory (the default configuration)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import build_parser
from escalation.repository import EscalationRepository
from registry.models import Household


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    parsed = build_parser().parse_args(["disaster-check", *args])  # as `main`, without its logging setup
    code: int = parsed.func(parsed)
    out, err = capsys.readouterr()
    return code, out, err


def test_start_status_end_and_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "status", "--json")[1].strip() == "null"  # nothing yet, nothing created
    with pytest.raises(SystemExit) as exited:
        run(capsys, "start")
    assert exited.value.code == 1
    assert list(tmp_path.iterdir()) == []

    repo = EscalationRepository(tmp_path / "var" / "mimamori-state.sqlite3")
    repo.open()
    repo.upsert_household(Household("h-1", "山田花子", "", area="桜町"))
    repo.close()
    assert run(capsys, "start", "--org", "nope")[0] == 2
    assert run(capsys, "start", "--area", "梅町")[0] == 2
    code, out, _ = run(capsys, "start", "--area", "桜町")
    assert code == 0
    assert "requested" in out
    assert run(capsys, "start")[0] == 1  # one open check at a time
    status = json.loads(run(capsys, "status", "--json")[1])
    assert status["area"] == "桜町"
    assert status["started_at"] is None  # the alerts service starts it
    assert status["ordered"] == []
    assert run(capsys, "ask", "--area", "桜町")[0] == 1  # not started yet: nobody to ask about
    code, out, _ = run(capsys, "end")
    assert code == 0
    assert "end of check" in out
    assert run(capsys, "end", "--id", "nosuch")[0] == 1
