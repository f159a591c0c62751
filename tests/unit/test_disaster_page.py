"""The disaster check page over a real state file whose households are the fakes' (two organisations):
an organisation administrator starts a check of their organisation, sees its ordered list, asks an
area's volunteers and ends it, in English and Japanese; a viewer reads their area's part only and
changes nothing (403); a care manager gets 404; another organisation's administrator neither sees nor
ends it; the platform administrator sees it all; bad input is refused."""

from __future__ import annotations

import re
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
from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from mimamori.config import DashboardConfig
from registry.models import Household, Need, Organisation
from tests.support.dashboard_fakes import FOREIGN, HOUSEHOLDS, OTHER, OTHER_ORG, OWN, csrf_of, seed
from tests.support.staff_sign_in import sign_in

Client = TestClient[web.Request, web.Application]
STAFF = ("root", "olga", "vera", "alice", "kai")


@pytest.fixture
async def staff(
    tmp_path: Path, clock: FakeClock, aiohttp_server: Any, aiohttp_client: Any
) -> AsyncIterator[tuple[dict[str, Client], EscalationRepository]]:
    seeded = seed(tmp_path, clock.now())
    repo = EscalationRepository(tmp_path / "state.sqlite3")
    repo.open()
    repo.upsert_organisation(Organisation(OTHER_ORG, "きらり"))
    for hid, name, org, area in HOUSEHOLDS:
        needs = (Need.OXYGEN,) if hid == OTHER else ()
        repo.upsert_household(Household(hid, name, "", organisation=org, area=area, needs=needs))
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
    clients: dict[str, Client] = {}
    for name in STAFF:
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[origin])
        clients[name] = await aiohttp_client(server, cookie_jar=jar)
        assert (await sign_in(clients[name], name)).status == 303
    yield clients, repo
    repo.close()
    seeded.users.close()


def alerts_side(repo: EscalationRepository) -> DisasterChecks:
    """What the alerts service runs on its ticks (no SMS are sent here: nobody dispatches the queue)."""
    engine = EscalationEngine(repo, EngineSettings("http://alerts.test", b"secret"))
    return DisasterChecks(repo, engine, DisasterSettings(), "http://alerts.test", b"secret")


async def token_of(client: Client) -> str:
    return csrf_of(await (await client.get("/")).text())


def listed(html: str) -> list[str]:
    part = html.split('id="disaster-ordered"')[1].split("</ol>")[0]
    return re.findall(r'data-household="([^"]+)"', part)


async def test_organisation_staff_run_and_read_a_check_of_their_own(
    staff: tuple[dict[str, Client], EscalationRepository], clock: FakeClock
) -> None:
    clients, repo = staff
    olga, vera, alice, kai, root = (clients[n] for n in ("olga", "vera", "alice", "kai", "root"))
    assert 'href="/disaster"' in await (await olga.get("/")).text()
    assert 'href="/disaster"' not in await (await alice.get("/")).text()
    empty = await (await olga.get("/disaster")).text()
    assert "Start the check" in empty
    token = csrf_of(empty)
    unknown = await olga.post("/disaster/start", data={"area": "nowhere", "csrf_token": token})
    assert unknown.status == 400
    started = await olga.post("/disaster/start", data={"area": "", "csrf_token": token})
    assert "Check requested." in await started.text()
    again = await olga.post("/disaster/start", data={"area": "sakura", "csrf_token": token})
    assert "A check is already open." in await again.text()
    check = DisasterRecords(repo).open_checks()[0]
    assert check.organisation == "default"

    alerts_side(repo).tick(clock.now())
    html = await (await olga.get("/disaster")).text()
    assert '<dd id="count-households">2</dd>' in html  # the organisation's two, not kirari's
    assert listed(html) == [OTHER, OWN]  # home oxygen first
    assert "home oxygen" in html

    viewer = await (await vera.get("/disaster")).text()
    assert listed(viewer) == [OWN]  # her area only
    assert '<dd id="count-households">1</dd>' in viewer
    assert 'id="disaster-end"' not in viewer
    assert 'id="disaster-ask"' not in viewer
    vera_token = await token_of(vera)
    assert (await vera.post(f"/disaster/{check.id}/end", data={"csrf_token": vera_token})).status == 403
    assert (await vera.post("/disaster/start", data={"csrf_token": vera_token})).status == 403
    assert (await alice.get("/disaster")).status == 404

    kirari = await (await kai.get("/disaster")).text()
    assert 'id="disaster-start"' in kirari  # nothing of default's check; his own may start
    kai_token = csrf_of(kirari)
    refused = await kai.post(f"/disaster/{check.id}/end", data={"csrf_token": kai_token})
    assert "Nothing changed." in await refused.text()
    assert (
        await kai.post(f"/disaster/{check.id}/ask", data={"area": "sakura", "csrf_token": kai_token})
    ).status == 200
    assert DisasterRecords(repo).asked_areas(check.id) == []  # kirari's sakura has no household of it

    platform = await (await root.get("/disaster")).text()
    assert listed(platform) == [OTHER, OWN]

    asked = await olga.post(f"/disaster/{check.id}/ask", data={"area": "sakura", "csrf_token": token})
    assert "Volunteers will be asked" in await asked.text()
    assert DisasterRecords(repo).asked_areas(check.id) == ["sakura"]
    long = await olga.post(f"/disaster/{check.id}/ask", data={"area": "x" * 81, "csrf_token": token})
    assert long.status == 400
    assert (await olga.post(f"/disaster/{check.id}/end", data={})).status == 403  # no CSRF token

    japanese = await olga.post("/language", data={"lang": "ja", "next": "/disaster", "csrf_token": token})
    ja = await japanese.text()
    assert "優先して確認する世帯" in ja
    assert "在宅酸素" in ja

    ended = await olga.post(f"/disaster/{check.id}/end", data={"csrf_token": token})
    assert ended.status == 200
    alerts_side(repo).tick(clock.now())
    after = await (await olga.get("/disaster")).text()
    assert 'id="disaster-last"' in after
    assert 'id="disaster-start"' in after
    assert FOREIGN not in after


async def test_the_platform_administrator_picks_the_organisation_and_an_area_of_it(
    staff: tuple[dict[str, Client], EscalationRepository],
) -> None:
    clients, repo = staff
    repo.upsert_household(Household("hh-momo", "Momo", "", organisation=OTHER_ORG, area="momo"))
    olga, kai, root = (clients[n] for n in ("olga", "kai", "root"))

    def start_areas(html: str) -> list[str]:
        part = html.split('id="disaster-area"')[1].split("</select>")[0]
        return re.findall(r"<option>([^<]+)</option>", part)

    own = await (await olga.get("/disaster")).text()
    assert start_areas(own) == ["sakura", "ume"]  # her organisation's areas only
    assert 'name="organisation"' not in own
    assert start_areas(await (await kai.get("/disaster")).text()) == ["momo", "sakura"]
    platform = await (await root.get("/disaster")).text()
    assert re.findall(r'<optgroup label="([^"]+)">', platform) == ["default", OTHER_ORG]
    assert 'name="organisation"' in platform
    token = csrf_of(platform)
    for bad in ({"organisation": "nosuch"}, {"organisation": "default", "area": "momo"}, {"area": "nowhere"}):
        refused = await root.post("/disaster/start", data={**bad, "csrf_token": token})
        assert refused.status == 400, bad
    assert DisasterRecords(repo).open_checks() == []
    started = await root.post(
        "/disaster/start", data={"organisation": OTHER_ORG, "area": "momo", "csrf_token": token}
    )
    assert "Check requested." in await started.text()
    [check] = DisasterRecords(repo).open_checks()
    assert (check.organisation, check.area) == (OTHER_ORG, "momo")
