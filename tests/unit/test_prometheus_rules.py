"""The shipped Prometheus alert rules are valid and fire on the conditions the watchdog watches
(promtool, from Debian's `prometheus` package, installed by scripts/setup.sh)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool() -> str:
    found = shutil.which("promtool")
    assert found is not None, "promtool is missing: scripts/setup.sh installs Debian's prometheus package"
    return found


def test_the_rules_file_is_valid() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(RULES / "mimamori-rules.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 rules found" in result.stdout


def test_the_rules_fire_when_the_platform_stops_watching() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", "mimamori-rules.test.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
