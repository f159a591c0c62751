"""``mimamori demo`` serves the dashboard on the demo's own files, with a demo account."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alerts.state.repository import StateRepository
from dashboard.demo import DEMO_LOGIN_FILE, DEMO_USER
from dashboard.users import UserStore
from mimamori.broker import free_port

REPO = Path(__file__).resolve().parents[2]


def test_demo_starts_the_dashboard_with_a_demo_account(tmp_path: Path) -> None:
    port = free_port()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mimamori",
            "demo",
            "--data-dir",
            str(tmp_path),
            "--households",
            "2",
            "--events",
            "20",
            "--exit-when-done",
            "--dashboard-port",
            str(port),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    password = (tmp_path / DEMO_LOGIN_FILE).read_text(encoding="utf-8").strip()
    assert f"dashboard: http://127.0.0.1:{port}/ (user {DEMO_USER}, password {password})" in done.stdout
    assert (tmp_path / DEMO_LOGIN_FILE).stat().st_mode & 0o077 == 0
    users = UserStore(tmp_path / "dashboard.sqlite3")
    users.open()
    repo = StateRepository(tmp_path / "state.sqlite3")
    repo.open()
    try:
        assert users.authenticate(DEMO_USER, password) is not None
        assert [h.id for h in repo.households()] == ["demo-0001", "demo-0002"]
    finally:
        repo.close()
        users.close()
