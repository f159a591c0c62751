"""Staff roles and organisations: who sees which household (a table), and accounts files from before
organisations keep working (their users in ``default``, their administrator the platform's)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard.access import sees
from dashboard.users import StaffRole, User, UserError, UserStore
from dashboard.views import HouseholdView
from tests.support.dashboard_fakes import FAST_HASHER, PASSWORD

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SAKURA = HouseholdView("h-1", "Tanaka", "", "Asia/Tokyo", "ja", "hokatsu", "桜町")
UME = HouseholdView("h-2", "Suzuki", "", "Asia/Tokyo", "ja", "hokatsu", "梅町")
KIRARI = HouseholdView("h-3", "Kato", "", "Asia/Tokyo", "ja", "kirari", "桜町")


def _user(role: StaffRole, org: str = "hokatsu", area: str = "") -> User:
    return User("u", "U", role, "ja", org, area)


CASES = [
    # (who, assigned, household, sees)
    (_user(StaffRole.ADMIN, "default"), set(), KIRARI, True),
    (_user(StaffRole.ORG_ADMIN), set(), UME, True),
    (_user(StaffRole.ORG_ADMIN), set(), KIRARI, False),
    (_user(StaffRole.CARE_MANAGER), {"h-1"}, SAKURA, True),
    (_user(StaffRole.CARE_MANAGER), {"h-1"}, UME, False),
    (_user(StaffRole.CARE_MANAGER), {"h-3"}, KIRARI, False),  # assigned, but another organisation's
    (_user(StaffRole.VIEWER), set(), UME, True),  # no area: the whole organisation
    (_user(StaffRole.VIEWER, area="桜町"), set(), SAKURA, True),
    (_user(StaffRole.VIEWER, area="桜町"), set(), UME, False),
    (_user(StaffRole.VIEWER, area="桜町"), set(), KIRARI, False),  # the same area name elsewhere
]


@pytest.mark.parametrize(("user", "assigned", "household", "expected"), CASES)
def test_who_sees_which_household(
    user: User, assigned: set[str], household: HouseholdView, expected: bool
) -> None:
    assert sees(user, household, frozenset(assigned)) is expected


def test_an_accounts_file_from_before_organisations_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "dashboard.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE users (username TEXT PRIMARY KEY, display_name TEXT NOT NULL, role TEXT NOT NULL,"
        " language TEXT NOT NULL, password_hash TEXT NOT NULL, created_ms INTEGER NOT NULL) WITHOUT ROWID;"
    )
    old.executemany(
        "INSERT INTO users VALUES (?, ?, ?, 'ja', ?, 0)",
        [("admin", "管理者", "admin", FAST_HASHER.hash(PASSWORD)), ("sato", "佐藤", "care_manager", "x")],
    )
    old.commit()
    old.close()
    users = UserStore(path, FAST_HASHER)
    users.open()
    try:
        admin = users.authenticate("admin", PASSWORD)
        assert admin is not None
        assert admin.is_admin
        assert admin.manages
        assert (admin.organisation, admin.area) == ("default", "")
        assert [u.username for u in users.users("default")] == ["admin", "sato"]
        users.add_user("kai", "Kai", StaffRole.ORG_ADMIN, PASSWORD, organisation="kirari", now=NOW)
        assert [u.username for u in users.users("kirari")] == ["kai"]
    finally:
        users.close()


def test_users_are_changed_and_bad_organisations_refused(tmp_path: Path) -> None:
    users = UserStore(tmp_path / "dashboard.sqlite3", FAST_HASHER)
    users.open()
    try:
        users.add_user(
            "vera", "Vera", StaffRole.VIEWER, PASSWORD, organisation="hokatsu", area="桜町", now=NOW
        )
        with pytest.raises(UserError, match="organisation"):
            users.add_user("x1", "X", StaffRole.VIEWER, PASSWORD, organisation="Bad Org!", now=NOW)
        users.save_user(User("vera", "Vera Ito", StaffRole.CARE_MANAGER, "en", "hokatsu", ""))
        users.set_assigned("vera", ["h-2", "h-1"])
        assert users.user("vera") == User("vera", "Vera Ito", StaffRole.CARE_MANAGER, "en", "hokatsu", "")
        assert users.assigned("vera") == {"h-1", "h-2"}
        with pytest.raises(UserError, match="no user"):
            users.save_user(User("nobody", "N", StaffRole.VIEWER, "ja"))
    finally:
        users.close()
