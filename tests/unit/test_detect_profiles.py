"""Profiles from the real alerts state file: time zone, opt-ins, away periods (and expiry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from detection.engine import Engine
from detection.episodes import MemoryEpisodes
from detection.findings import FindingKind
from detection.profiles import StateProfiles
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from registry.models import Household, Switch

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


def repo_with_household(tmp_path: Path) -> EscalationRepository:
    repo = EscalationRepository(tmp_path / "alerts.sqlite3")
    repo.open()
    repo.upsert_household(
        Household(
            "h1",
            "山田花子",
            "桜町2-5",
            time_zone="Europe/Madrid",
            night_exit_opt_in=True,
            evening_check=Switch.OFF,
        )
    )
    return repo


def test_profile_reads_zone_opt_in_and_recent_away(tmp_path: Path) -> None:
    repo = repo_with_household(tmp_path)
    repo.add_away("h1", NOW - timedelta(days=5), NOW - timedelta(days=4), "care_manager:sato")  # long gone
    repo.add_away("h1", NOW - timedelta(hours=3), NOW + timedelta(hours=5), "contact:c-1")
    profile = StateProfiles(repo, FakeClock(NOW)).profile("h1")
    assert (profile.tz, profile.night_exit_enabled, profile.evening_check) == (
        "Europe/Madrid",
        True,
        Switch.OFF,
    )
    assert [(p.start, p.end) for p in profile.away] == [(NOW - timedelta(hours=3), NOW + timedelta(hours=5))]
    unknown = StateProfiles(repo, FakeClock(NOW)).profile("nobody")
    assert (unknown.tz, unknown.night_exit_enabled, unknown.evening_check, unknown.away) == (
        "Asia/Tokyo",
        False,
        Switch.AUTO,
        (),
    )
    repo.close()


def test_away_set_in_the_state_suppresses_then_expires(tmp_path: Path) -> None:
    repo = repo_with_household(tmp_path)
    clock = FakeClock(NOW)
    profiles = StateProfiles(repo, clock, ttl_s=0)
    engine = Engine(profiles, MemoryEpisodes())
    last = NOW.timestamp()
    engine.activity("h1", last, "kitchen-motion")
    repo.add_away("h1", NOW + timedelta(minutes=30), NOW + timedelta(hours=10), "resident")
    # quiet for 9 hours while away: nothing
    clock.set(NOW + timedelta(hours=9))
    assert engine.tick(clock.now().timestamp()) == []
    # the period expires; the stretch restarts as "probably out" and the long-absence rule applies
    clock.set(NOW + timedelta(hours=30))
    found = engine.tick(clock.now().timestamp())
    assert [f.kind for f in found] == [FindingKind.LONG_ABSENCE]
    repo.close()
