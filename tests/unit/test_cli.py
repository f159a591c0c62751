"""The console script: every subcommand has --help."""

from __future__ import annotations

import argparse
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import THIRD_PARTY_LOGGERS, build_parser, main, setup_logging


def _subcommands() -> list[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for name in _subcommands():
        assert name in out


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert "usage: mimamori" in capsys.readouterr().out


@pytest.fixture
def quiet_levels_restored() -> Iterator[None]:
    """``main`` sets third-party loggers' levels; put them back for the other tests."""
    before = {name: logging.getLogger(name).level for name in THIRD_PARTY_LOGGERS}
    yield
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("quiet_levels_restored")
@pytest.mark.parametrize(("log_level", "expect"), [(None, logging.WARNING), ("DEBUG", logging.NOTSET)])
def test_third_party_loggers_are_quiet_unless_a_level_is_given(log_level: str | None, expect: int) -> None:
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    setup_logging(argparse.Namespace(log_level=log_level))
    assert {logging.getLogger(name).level for name in THIRD_PARTY_LOGGERS} == {expect}


@pytest.mark.usefixtures("quiet_levels_restored")
@pytest.mark.parametrize("as_json", [False, True])
def test_outbox_in_a_fresh_directory_creates_nothing(
    as_json: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["outbox", *(["--json"] if as_json else [])])
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert "nothing here yet" in err
    assert json.loads(out) == [] if as_json else out == ""
    assert list(tmp_path.iterdir()) == []


def _one_line_error(exited: pytest.ExceptionInfo[SystemExit]) -> str:
    message = str(exited.value.code)
    assert message.startswith("mimamori"), message
    assert "\n" not in message
    return message


@pytest.mark.usefixtures("quiet_levels_restored")
def test_demo_with_a_short_password_is_one_line_and_touches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIMAMORI_DEMO_PASSWORD", "short")
    with pytest.raises(SystemExit) as exited:
        main(["demo"])
    assert "MIMAMORI_DEMO_PASSWORD must be at least 12 characters" in _one_line_error(exited)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("quiet_levels_restored")
def test_demo_on_a_busy_port_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIMAMORI_DEMO_PASSWORD", "long-enough-password")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["demo", "--port", str(port)])
    message = _one_line_error(exited)
    assert f"127.0.0.1:{port} is already in use" in message
    assert "dashboard.port" in message
    assert "--port" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("quiet_levels_restored")
def test_dashboard_on_a_busy_port_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["dashboard", "--port", str(port)])
    message = _one_line_error(exited)
    assert f"cannot serve on 127.0.0.1:{port}" in message
    assert "dashboard.port" in message


def test_sim_kit_is_one_of_the_simulators_kits(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert parser.parse_args(["sim", "--kit", "presence"]).kit == "presence"
    assert parser.parse_args(["sim"]).kit is None  # drawn per home, as before
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["sim", "--kit", "lavish"])
    assert exited.value.code == 2
    assert "invalid choice: 'lavish'" in capsys.readouterr().err
