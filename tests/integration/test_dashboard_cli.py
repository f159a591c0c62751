"""``mimamori dashboard user ...`` and ``assign`` as subprocesses of the worktree's code."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from dashboard.users import StaffRole, UserStore

REPO = Path(__file__).resolve().parents[2]


def run(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mimamori", "dashboard", *args, "--config", str(config)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_add_users_assign_households_and_list(tmp_path: Path) -> None:
    users_path = tmp_path / "dashboard.sqlite3"
    config = tmp_path / "mimamori.toml"
    config.write_text(f'[dashboard]\nusers_path = "{users_path}"\n', encoding="utf-8")
    added = run(
        config, "user", "add", "sato", "--name", "佐藤", "--password-stdin", stdin="a long password 1\n"
    )
    assert added.returncode == 0, added.stderr
    assert "added care_manager sato" in added.stdout
    short = run(config, "user", "add", "ito", "--password-stdin", stdin="short\n")
    assert short.returncode == 2
    assert "at least 12 characters" in short.stderr
    duplicate = run(config, "user", "add", "sato", "--password-stdin", stdin="a long password 2\n")
    assert duplicate.returncode == 2
    assert "already exists" in duplicate.stderr
    assert run(config, "assign", "sato", "demo-0001", "demo-0002").returncode == 0
    assert run(config, "unassign", "sato", "demo-0002").returncode == 0
    assert run(config, "assign", "nobody", "demo-0001").returncode == 2
    viewer = run(
        config, "user", "add", "min", "--role", "viewer", "--org", "kirari", "--area", "桜町",
        "--password-stdin", stdin="a long password 3\n",
    )  # fmt: skip
    assert viewer.returncode == 0, viewer.stderr
    listing = run(config, "user", "list")
    assert listing.stdout.splitlines() == [
        "min\tviewer\tja\tmin\tarea 桜町\tkirari",
        "sato\tcare_manager\tja\t佐藤\tdemo-0001",
    ]
    before = subprocess.run(  # --config before the action, as in docs/operations.md
        [sys.executable, "-m", "mimamori", "dashboard", "--config", str(config), "user", "list"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert before.stdout == listing.stdout
    users = UserStore(users_path)
    users.open()
    try:
        user = users.authenticate("sato", "a long password 1")
        assert user is not None
        assert user.role is StaffRole.CARE_MANAGER
    finally:
        users.close()


def test_reset_second_factor_for_a_lost_phone(tmp_path: Path) -> None:
    users_path = tmp_path / "dashboard.sqlite3"
    config = tmp_path / "mimamori.toml"
    config.write_text(f'[dashboard]\nusers_path = "{users_path}"\n', encoding="utf-8")
    added = run(
        config, "user", "add", "boss", "--role", "admin", "--password-stdin", stdin="a long password 1\n"
    )
    assert added.returncode == 0, added.stderr
    users = UserStore(users_path)
    users.open()
    try:
        users.enrol_second_factor("boss", "JBSWY3DPEHPK3PXP", 1, ["x" * 64], datetime.now(UTC))
        reset = run(config, "user", "reset-second-factor", "boss")
        assert reset.returncode == 0, reset.stderr
        assert users.second_factor("boss") is None
    finally:
        users.close()
    unknown = run(config, "user", "reset-second-factor", "nobody")
    assert unknown.returncode == 2
    assert "no user 'nobody'" in unknown.stderr
