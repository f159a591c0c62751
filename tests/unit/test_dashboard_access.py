"""The authorisation matrix: every route x role x (own household / another's of the same organisation /
another organisation's / unknown id), and the audit log of every view of a household's data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dashboard.app import create_app
from mimamori.clock import FakeClock
from mimamori.config import DashboardConfig
from tests.support.dashboard_fakes import FOREIGN, OTHER, OWN, UNKNOWN, Seeded, csrf_of, seed
from tests.support.staff_sign_in import sign_in

Client = TestClient[web.Request, web.Application]

HOUSEHOLD_ROUTES = [
    ("GET", "/households/{household}"),
    ("GET", "/households/{household}/contacts"),
    ("POST", "/households/{household}/contacts"),
    ("GET", "/households/{household}/policy"),
    ("POST", "/households/{household}/policy"),
    ("GET", "/households/{household}/options"),
    ("POST", "/households/{household}/options"),
    ("GET", "/households/{household}/sensitivity"),
    ("POST", "/households/{household}/sensitivity"),
    ("GET", "/households/{household}/away"),
    ("POST", "/households/{household}/away"),
    ("POST", "/households/{household}/away/{away}/remove"),
    ("POST", "/households/{household}/calendar"),
    ("POST", "/households/{household}/calendar/{entry}/remove"),
    ("POST", "/households/{household}/incidents/{incident}/close"),
    ("GET", "/households/{household}/digest"),
    ("GET", "/households/{household}/digest.csv"),
    ("GET", "/api/households/{household}"),
    ("GET", "/api/households/{household}/activity"),
]
LIST_ROUTES = [("GET", "/"), ("GET", "/api/households")]
PUBLIC_ROUTES = [("GET", "/login"), ("POST", "/login"), ("POST", "/language"), ("GET", "/healthz")]
PUBLIC_ROUTES += [
    ("GET", "/login/code"),
    ("POST", "/login/code"),
    ("GET", "/login/enrol"),
    ("POST", "/login/enrol"),
]
SESSION_ROUTES = [("POST", "/logout"), ("GET", "/events/overview"), ("GET", "/api/openapi.json")]
SESSION_ROUTES += [("GET", "/account/2fa"), ("POST", "/account/2fa/enrol"), ("POST", "/account/2fa/remove")]

# who may see what: user -> household -> visible ("read": seen, but every change answers 403)
VISIBLE: dict[str, dict[str, bool | str]] = {
    "alice": {OWN: True, OTHER: False, FOREIGN: False, UNKNOWN: False},  # care manager of default
    "bob": {OWN: False, OTHER: True, FOREIGN: False, UNKNOWN: False},  # care manager of default
    "olga": {OWN: True, OTHER: True, FOREIGN: False, UNKNOWN: False},  # organisation admin of default
    "vera": {OWN: "read", OTHER: False, FOREIGN: False, UNKNOWN: False},  # viewer of default, area sakura
    "kai": {OWN: False, OTHER: False, FOREIGN: True, UNKNOWN: False},  # organisation admin of kirari
    "carl": {OWN: False, OTHER: False, FOREIGN: False, UNKNOWN: False},  # kirari, assigned hh-own (default)
    "root": {OWN: True, OTHER: True, FOREIGN: True, UNKNOWN: False},  # platform administrator
}


@pytest.fixture
async def setup(
    tmp_path: Path, clock: FakeClock, aiohttp_server: Any, aiohttp_client: Any
) -> AsyncIterator[tuple[Seeded, Callable[[str | None], Awaitable[Client]], web.Application]]:
    seeded = seed(tmp_path, clock.now())
    app = create_app(
        DashboardConfig(),
        users=seeded.users,
        activity=seeded.activity,
        records=seeded.records,
        classify=seeded.classify,
        clock=clock,
    )
    server = await aiohttp_server(app)

    async def client_as(username: str | None) -> Client:
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[f"http://{server.host}:{server.port}"])
        client: Client = await aiohttp_client(server, cookie_jar=jar)
        await client.get("/login")
        if username is not None:
            signed = await sign_in(client, username)
            assert signed.status == 303
        return client

    yield seeded, client_as, app
    seeded.users.close()


def test_the_matrix_covers_every_route(tmp_path: Path, clock: FakeClock) -> None:
    seeded = seed(tmp_path, clock.now())
    app = create_app(
        DashboardConfig(),
        users=seeded.users,
        activity=seeded.activity,
        records=seeded.records,
        classify=seeded.classify,
        clock=clock,
    )
    registered = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD" and r.resource is not None and not r.resource.canonical.startswith("/static")
    }
    assert registered == set(HOUSEHOLD_ROUTES + LIST_ROUTES + PUBLIC_ROUTES + SESSION_ROUTES)
    seeded.users.close()


async def _call(client: Client, method: str, path: str, token: str) -> aiohttp.ClientResponse:
    if method == "GET":
        return await client.get(path, allow_redirects=False)
    return await client.post(
        path,
        data={
            "csrf_token": token,
            "name": "Kato",
            "phone": "+819011112222",
            "role": "neighbour",
            "language": "ja",
            "wait_0": "20",
            "start": "2026-11-27T09:00",
            "end": "2026-11-28T09:00",
            "mode_0": "all",
            "wait_1": "30",
            "mode_1": "all",
            "outcome": "false_alarm",
            "note": "checked by phone",
        },
        allow_redirects=False,
    )


async def _token(client: Client) -> str:
    return csrf_of(await (await client.get("/")).text())


@pytest.mark.parametrize("username", list(VISIBLE))
async def test_household_routes_answer_only_for_the_callers_households(setup: Any, username: str) -> None:
    seeded, client_as, _ = setup
    client = await client_as(username)
    token = await _token(client)
    for (method, route), (household, visible) in (
        (r, v) for r in HOUSEHOLD_ROUTES for v in VISIBLE[username].items()
    ):
        seeded.records.audit.clear()
        response = await _call(
            client, method, route.format(household=household, away="1", entry="1", incident="inc-1"), token
        )
        if visible == "read" and method == "POST":  # a viewer changes nothing: 403, and audited
            assert response.status == 403, (route, household, response.status)
            [refusal] = seeded.records.audit
            assert (refusal.action, refusal.household) == ("edit_refused", household)
        elif visible:
            assert response.status in (200, 303, 422), (route, household, response.status)
            assert [a.household for a in seeded.records.audit] == [household]
            assert seeded.records.audit[0].actor.endswith(f":{username}")
        else:
            assert response.status == 404, (route, household, response.status)
            if username == "root":  # an administrator may see any: this one does not exist
                assert seeded.records.audit == []
            else:  # another household's: refused with the same 404, and the attempt is audited
                [refusal] = seeded.records.audit
                assert (refusal.action, refusal.household) == ("household_refused", household)
                assert refusal.actor.endswith(f":{username}")


@pytest.mark.parametrize(("method", "route"), HOUSEHOLD_ROUTES)
async def test_household_routes_need_sign_in(setup: Any, method: str, route: str) -> None:
    seeded, client_as, _ = setup
    client = await client_as(None)
    for household in (OWN, OTHER, FOREIGN, UNKNOWN):
        if method == "GET":
            response = await client.get(
                route.format(household=household, away="1", entry="1", incident="inc-1"),
                allow_redirects=False,
            )
        else:
            token = csrf_of(await (await client.get("/login")).text())
            response = await client.post(
                route.format(household=household, away="1", entry="1", incident="inc-1"),
                data={"csrf_token": token},
                allow_redirects=False,
            )
        expected = 401 if route.startswith("/api/") else 303
        assert response.status == expected
    assert seeded.records.audit == []


@pytest.mark.parametrize("username", list(VISIBLE))
async def test_lists_show_only_the_callers_households(setup: Any, username: str) -> None:
    _, client_as, _ = setup
    client = await client_as(username)
    visible = {h for h, ok in VISIBLE[username].items() if ok}
    data = await (await client.get("/api/households")).json()
    assert {h["id"] for h in data["households"]} == visible
    page = await (await client.get("/")).text()
    for household in (OWN, OTHER, FOREIGN):
        assert (f'/households/{household}"' in page) == (household in visible)


async def test_not_found_looks_the_same_for_other_and_unknown(setup: Any) -> None:
    _, client_as, _ = setup
    client = await client_as("alice")
    other = await client.get(f"/api/households/{OTHER}")
    unknown = await client.get(f"/api/households/{UNKNOWN}")
    assert (other.status, await other.text()) == (unknown.status, await unknown.text())


async def test_overview_and_household_views_are_audited(setup: Any) -> None:
    seeded, client_as, _ = setup
    client = await client_as("alice")
    seeded.records.audit.clear()
    await client.get("/")
    await client.get(f"/households/{OWN}")
    await client.get(f"/api/households/{OWN}")
    actions = [(a.action, a.household) for a in seeded.records.audit]
    assert actions == [("view_overview", None), ("view_household", OWN), ("api_household", OWN)]
