"""The disaster check page over a real state file: administrators start, see the ordered list, ask an
area's volunteers and end it, in Japanese and English; a care manager gets 404; bad input is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dashboard.app import create_app
from dashboard.disaster_desk import DisasterDesk
from escalation.disaster.checks import DisasterChecks
from escalation.disaster.models import DisasterSettings
from escalation.disaster.records import DisasterRecords
from escalation.engine import EngineSettings, EscalationEngine
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from mimamori.config import DashboardConfig
from tests.support.dashboard_fakes import csrf_of, seed
from tests.support.disaster_town import household_id, seed_households
from tests.support.staff_sign_in import sign_in

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def page(
    tmp_path: Path, clock: FakeClock, aiohttp_server: Any, aiohttp_client: Any
) -> AsyncIterator[tuple[Client, Client, EscalationRepository]]:
    seeded = seed(tmp_path, clock.now())
    repo = EscalationRepository(tmp_path / "state.sqlite3")
    repo.open()
    seed_households(repo, 8, clock.now())
    app = create_app(
        DashboardConfig(default_language="en", live_interval_s=3600),
        users=seeded.users,
        activity=seeded.activity,
        records=seeded.records,
        classify=seeded.classify,
        clock=clock,
        disasters=DisasterDesk(repo),
    )
    server = await aiohttp_server(app)
    origin = f"http://{server.host}:{server.port}"
    admin: Client = await aiohttp_client(
        server, cookie_jar=aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[origin])
    )
    carer: Client = await aiohttp_client(
        server, cookie_jar=aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[origin])
    )
    assert (await sign_in(admin, "root")).status == 303
    assert (await sign_in(carer, "alice")).status == 303
    yield admin, carer, repo
    repo.close()
    seeded.users.close()


def alerts_side(repo: EscalationRepository) -> DisasterChecks:
    """What the alerts service runs on its ticks (no SMS are sent here: nobody dispatches the queue)."""
    engine = EscalationEngine(repo, EngineSettings("http://alerts.test", b"secret"))
    return DisasterChecks(repo, engine, DisasterSettings(), "http://alerts.test", b"secret")


async def test_an_administrator_runs_a_check_from_the_page(
    page: tuple[Client, Client, EscalationRepository], clock: FakeClock
) -> None:
    admin, carer, repo = page
    home = await admin.get("/")
    assert 'href="/disaster"' in await home.text()
    empty = await (await admin.get("/disaster")).text()
    assert "Start the check" in empty
    token = csrf_of(empty)
    assert (await admin.post("/disaster/start", data={"area": "nowhere", "csrf_token": token})).status == 400
    started = await admin.post("/disaster/start", data={"area": "", "csrf_token": token})
    assert started.status == 200
    assert "Check requested." in await started.text()
    again = await admin.post("/disaster/start", data={"area": "桜町", "csrf_token": token})
    assert "A check is already open." in await again.text()

    alerts_side(repo).tick(clock.now())
    html = await (await admin.get("/disaster")).text()
    assert '<dd id="count-households">8</dd>' in html
    assert '<dd id="count-waiting">8</dd>' in html
    listed = html.split('id="disaster-ordered"')[1]
    assert listed.index(household_id(1)) < listed.index(household_id(0))  # oxygen first; h-0 not alone
    assert "home oxygen" in listed

    check = DisasterRecords(repo).open_checks()[0]
    asked = await admin.post(f"/disaster/{check.id}/ask", data={"area": "桜町", "csrf_token": token})
    assert "Volunteers will be asked" in await asked.text()
    assert DisasterRecords(repo).asked_areas(check.id) == ["桜町"]
    refused = await admin.post(f"/disaster/{check.id}/ask", data={"area": "x" * 81, "csrf_token": token})
    assert refused.status == 400

    japanese = await admin.post("/language", data={"lang": "ja", "next": "/disaster", "csrf_token": token})
    ja = await japanese.text()
    assert "優先して確認する世帯" in ja
    assert "在宅酸素" in ja

    assert (await carer.get("/disaster")).status == 404
    carer_token = csrf_of(await (await carer.get("/")).text())
    assert (await carer.post(f"/disaster/{check.id}/end", data={"csrf_token": carer_token})).status == 404
    assert DisasterRecords(repo).open_checks()[0].end_requested_by is None
    assert (await admin.post(f"/disaster/{check.id}/end", data={})).status == 403  # no CSRF token

    ended = await admin.post(f"/disaster/{check.id}/end", data={"csrf_token": token})
    assert ended.status == 200
    alerts_side(repo).tick(clock.now())
    after = await (await admin.get("/disaster")).text()
    assert 'id="disaster-last"' in after
    assert 'id="disaster-start"' in after
