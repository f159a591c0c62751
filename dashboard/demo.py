"""The dashboard inside ``mimamori demo``: served from the demo's own store and state files, with the
demo households registered (when nothing registered them yet) and a demo administrator account."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from aiohttp import web

from alerts.state.models import Contact, Household, Policy, Tier, TierKind
from alerts.state.models import Role as ContactRole
from alerts.state.repository import StateRepository
from dashboard.alerts_records import StateCareRecords
from dashboard.app import create_app
from dashboard.states import PersistedStates
from dashboard.users import Role, UserStore
from mimamori.clock import Clock
from mimamori.config import DashboardConfig
from store.sqlite import SqliteEventStore

log = logging.getLogger(__name__)

DEMO_USER: Final = "demo"
DEMO_LOGIN_FILE: Final = "dashboard-demo-login.txt"  # made once per data dir, readable by its owner only


@dataclass
class DemoDashboard:
    url: str
    password: str
    runner: web.AppRunner
    users: UserStore
    repo: StateRepository

    async def stop(self) -> None:
        await self.runner.cleanup()
        self.repo.close()
        self.users.close()


async def start_demo_dashboard(
    data_dir: Path, store: SqliteEventStore, clock: Clock, households: Sequence[str], port: int
) -> DemoDashboard:
    users = UserStore(data_dir / "dashboard.sqlite3")
    users.open()
    repo = StateRepository(data_dir / "state.sqlite3")
    repo.open()
    now = clock.now()
    with repo.transaction():
        for number, household in enumerate(households, start=1):
            if repo.household(household) is None:
                neighbour = Contact(
                    f"{household}-neighbour",
                    f"近所の方 {number}",
                    f"+8190000{number:05d}",
                    ContactRole.NEIGHBOUR,
                )
                repo.upsert_household(Household(household, f"デモ 利用者 {number}", f"デモ町{number}丁目"))
                repo.upsert_contact(neighbour)
                repo.link_contact(household, neighbour.id)
                repo.set_policy(Policy(household, (Tier(TierKind.NEIGHBOURS, (neighbour.id,)),)), now)
    password = _demo_password(data_dir / DEMO_LOGIN_FILE, users, now)
    app = create_app(
        DashboardConfig(port=port),
        users=users,
        activity=store,
        records=StateCareRecords(repo),
        classify=PersistedStates(repo),
        clock=clock,
    )
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    try:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    except BaseException:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        repo.close()
        users.close()
        raise
    url = f"http://127.0.0.1:{port}/"
    log.info("demo_dashboard url=%s user=%s", url, DEMO_USER)
    return DemoDashboard(url, password, runner, users, repo)


def _demo_password(path: Path, users: UserStore, now: datetime) -> str:
    if path.exists() and users.user(DEMO_USER) is not None:
        return path.read_text(encoding="utf-8").strip()
    password = secrets.token_urlsafe(12)
    path.touch(mode=0o600)
    path.write_text(password + "\n", encoding="utf-8")
    if users.user(DEMO_USER) is None:
        users.add_user(DEMO_USER, "Demo", Role.ADMIN, password, language="ja", now=now)
    else:
        users.set_password(DEMO_USER, password)
    return password
