"""Real headless Chromium (the Debian ``chromium`` package) driven by Playwright, against the dashboard
running as its own process on real SQLite files. If Chromium cannot start, the tests fail: never skip."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from app.mosquitto import free_port
from tests.support.dashboard_real import seed_real

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Dashboard:
    url: str
    process: subprocess.Popen[str]
    users_path: Path


# Module scope: sync Playwright runs its own event loop in this thread, which must be gone before
# the asyncio tests of other modules start theirs.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: bash scripts/test.sh installs it (apt-get install chromium)")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """``mimamori dashboard`` as a subprocess on seeded stores (real clock: the page shows real times)."""
    directory = tmp_path_factory.mktemp("dashboard")
    paths = seed_real(directory, datetime.now(UTC))
    port = free_port()
    config = directory / "mimamori.toml"
    config.write_text(paths.config_toml(port), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "mimamori", "dashboard", "--config", str(config)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = _Output(process)
    try:
        if not output.serving.wait(START_TIMEOUT_S):
            pytest.fail("dashboard did not start:\n" + "".join(output.lines))
        yield Dashboard(f"http://127.0.0.1:{port}", process, paths.users)
    finally:
        process.terminate()
        process.wait(timeout=10)
        output.thread.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
        first = next((i for i, line in enumerate(output.lines) if " ERROR " in line), None)
        assert first is None, "the dashboard logged errors:\n" + "".join(output.lines[first : first + 40])


class _Output:
    """Drains the process output (so its pipe never fills) and says when aiohttp is serving."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.serving = threading.Event()
        self.thread = threading.Thread(target=self._drain, args=(process,), daemon=True)
        self.thread.start()

    def _drain(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)
            if "Running on" in line:
                self.serving.set()


@pytest.fixture(autouse=True, scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
