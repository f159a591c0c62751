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
from dashboard.disaster_desk import DisasterDesk
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from mimamori.config import DashboardConfig
from registry.models import Household
from tests.support.dashboard_fakes import FOREIGN, HOUSEHOLDS, OTHER, OWN, UNKNOWN, Seeded, csrf_of, seed
from tests.support.staff_sign_in import sign_in

Client = TestClient[web.Request, web.Application]

HOUSEHOLD_ROUTES = [
    ("GET", "/households/{household}"),
    ("GET", "/households/{household}/contacts"),
    ("POST", "/households/{household}/contacts"),
    ("POST", "/households/{household}/family"),
    ("GET", "/households/{household}/policy"),
    ("POST", "/households/{household}/policy"),
    ("GET", "/households/{household}/options"),
    ("POST", "/households/{household}/options"),
    ("GET", "/households/{household}/sensitivity"),
    ("POST", "/households/{household}/sensitivity"),
    ("POST", "/households/{household}/sensitivity/reset-learning"),
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
# the administration pages: {username} is a member of staff, {household} a household
ADMIN_ROUTES = [
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("GET", "/admin/users/{username}"),
    ("POST", "/admin/users/{username}"),
    ("GET", "/admin/households"),
    ("POST", "/admin/households"),
    ("GET", "/admin/households/{household}"),
    ("POST", "/admin/households/{household}"),
]
PUBLIC_ROUTES = [("GET", "/login"), ("POST", "/login"), ("POST", "/language"), ("GET", "/healthz")]
PUBLIC_ROUTES += [
    ("GET", "/login/code"),
    ("POST", "/login/code"),
    ("GET", "/login/enrol"),
    ("POST", "/login/enrol"),
]
# the disaster check page: administrators (of an organisation or the platform) act, viewers read
DISASTER_ROUTES = [
    ("GET", "/disaster"),
    ("POST", "/disaster/start"),
    ("POST", "/disaster/{check}/end"),
    ("POST", "/disaster/{check}/ask"),
]
DISASTER_ACCESS: dict[str, bool | str] = {
    "root": True,
    "olga": True,
    "kai": True,
    "vera": "read",
    "alice": False,
    "bob": False,
    "carl": False,
}
SESSION_ROUTES = [("POST", "/logout"), ("GET", "/events/overview"), ("GET", "/api/openapi.json")]
SESSION_ROUTES += [("GET", "/account/2fa"), ("POST", "/account/2fa/enrol"), ("POST", "/account/2fa/remove")]
VOLUNTEER_ROUTES = [("GET", "/volunteers/records"), ("GET", "/volunteers/records.csv")]
# a volunteer's pool settings, from a household's contacts: {contact} c2 is its volunteer, c1 a neighbour
VOLUNTEER_SETTINGS_ROUTES = [
    ("GET", "/households/{household}/volunteers/{contact}"),
    ("POST", "/households/{household}/volunteers/{contact}"),
]
MANAGERS = frozenset({"olga", "kai", "root"})

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
    everything = HOUSEHOLD_ROUTES + LIST_ROUTES + PUBLIC_ROUTES + SESSION_ROUTES + ADMIN_ROUTES
    assert registered == set(everything + VOLUNTEER_ROUTES + DISASTER_ROUTES + VOLUNTEER_SETTINGS_ROUTES)
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


# who manages what: user -> (staff of the own organisation, of the other one), (households likewise)
MANAGES = {
    "olga": {"alice": True, "carl": False, "root": False, OWN: True, FOREIGN: False},
    "kai": {"alice": False, "carl": True, "root": False, OWN: False, FOREIGN: True},
    "root": {"alice": True, "carl": True, "root": True, OWN: True, FOREIGN: True},
}
ADMIN_FORM = {
    "display_name": "New Name",
    "role": "care_manager",
    "language": "en",
    "password": "a long enough password",
    "name": "Ume Tanaka",
    "time_zone": "Asia/Tokyo",
    "lives_alone": "1",
    "contact_name": "Neighbour Abe",
    "contact_phone": "+819055556666",
    "contact_role": "neighbour",
    "contact_language": "ja",
}


@pytest.mark.parametrize("username", list(VISIBLE))
async def test_administration_answers_only_for_the_callers_organisation(setup: Any, username: str) -> None:
    seeded, client_as, _ = setup
    client = await client_as(username)
    token = await _token(client)
    may = MANAGES.get(username, {})
    for n, (method, route) in enumerate(ADMIN_ROUTES):
        targets = [("{household}", h) for h in (OWN, FOREIGN)] if "{household}" in route else []
        targets += [("{username}", u) for u in ("alice", "carl", "root")] if "{username}" in route else []
        for key, target in targets or [("", "")]:
            seeded.records.audit.clear()
            path = route.replace(key, target) if key else route
            data = ADMIN_FORM | {"csrf_token": token, "username": f"new-{n}", "id": f"hh-new-{n}"}
            if target == username:  # one's own account: the role stays
                data["role"] = "admin"
            if method == "GET":
                response = await client.get(path, allow_redirects=False)
            else:
                response = await client.post(path, data=data, allow_redirects=False)
            allowed = may.get(target, False) if key else username in MANAGES
            if allowed:
                assert response.status in (200, 303), (path, response.status, await response.text())
            else:
                assert response.status == 404, (path, response.status)
                [refusal] = seeded.records.audit[-1:]
                assert refusal.action in ("admin_refused", "household_refused"), refusal
                assert refusal.actor.endswith(f":{username}")


@pytest.mark.parametrize(
    ("username", "staff", "households"),
    [
        ("olga", {"alice", "bob", "olga", "vera"}, {OWN, OTHER}),
        ("kai", {"kai", "carl"}, {FOREIGN}),
        ("root", {"alice", "bob", "olga", "vera", "kai", "carl", "root"}, {OWN, OTHER, FOREIGN}),
    ],
)
async def test_administration_lists_only_the_callers_organisation(
    setup: Any, username: str, staff: set[str], households: set[str]
) -> None:
    _, client_as, _ = setup
    client = await client_as(username)
    users_page = await (await client.get("/admin/users")).text()
    every = set(VISIBLE)
    assert {u for u in every if f'href="/admin/users/{u}"' in users_page} == staff
    households_page = await (await client.get("/admin/households")).text()
    assert {h for h in (OWN, OTHER, FOREIGN) if f'/admin/households/{h}"' in households_page} == households


async def test_an_organisation_administrator_stays_in_its_organisation(setup: Any) -> None:
    seeded, client_as, _ = setup
    client = await client_as("olga")
    token = await _token(client)
    base = ADMIN_FORM | {"csrf_token": token}
    # another organisation asked for: the account and the household are still olga's organisation's
    made = await client.post(
        "/admin/users", data=base | {"username": "newbie", "organisation": "kirari"}, allow_redirects=False
    )
    assert made.status == 303
    newbie = seeded.users.user("newbie")
    assert newbie is not None
    assert newbie.organisation == "default"
    home = await client.post(
        "/admin/households", data=base | {"id": "hh-ume", "organisation": "kirari"}, allow_redirects=False
    )
    assert home.status == 303
    assert seeded.records.homes["hh-ume"].organisation == "default"
    # no platform administrator, no other organisation's household
    for data in ({"role": "admin"}, {"households": FOREIGN}):
        refused = await client.post("/admin/users/alice", data=base | data, allow_redirects=False)
        assert refused.status == 422
    alice = seeded.users.user("alice")
    assert alice is not None
    assert alice.role.value == "care_manager"
    assert seeded.users.assigned("alice") == {OWN}


async def test_a_viewer_reads_forms_without_buttons(setup: Any) -> None:
    _, client_as, _ = setup
    for username, read_only in (("vera", True), ("alice", False)):
        client = await client_as(username)
        for part in ("contacts", "policy", "away", "options"):
            page = await (await client.get(f"/households/{OWN}/{part}")).text()
            assert ('method="post" inert' in page) is read_only, (username, part)
            assert ('id="read-only"' in page) is read_only


# who reads which organisation's volunteer records: user -> ?org= -> the organisation shown (None: 404)
RECORDS_OF: dict[str | None, dict[str, str | None]] = {
    "root": {"": "", "default": "default", "kirari": "kirari"},  # "": every volunteer
    "olga": {"": "default", "default": "default", "kirari": None},
    "kai": {"": "kirari", "default": None, "kirari": "kirari"},
    **{u: {"": None, "default": None, "kirari": None} for u in ("alice", "bob", "vera", "carl")},
}


@pytest.mark.parametrize("username", list(VISIBLE))
async def test_volunteer_settings_answer_only_the_households_administrators(
    setup: Any, username: str
) -> None:
    seeded, client_as, _ = setup
    client = await client_as(username)
    token = await _token(client)
    for (method, route), (household, visible), contact in (
        (r, v, c) for r in VOLUNTEER_SETTINGS_ROUTES for v in VISIBLE[username].items() for c in ("c2", "c1")
    ):
        seeded.records.audit.clear()
        path = route.format(household=household, contact=contact)
        response = await client.request(
            method, path, data={"csrf_token": token, "weekly_cap": "2"}, allow_redirects=False
        )
        actions = [a.action for a in seeded.records.audit]
        if visible == "read" and method == "POST":
            assert response.status == 403, (path, response.status)
            assert actions == ["edit_refused"]
        elif visible and username in MANAGERS and contact == "c2":
            assert response.status in (200, 303), (path, response.status)
            assert [a.household for a in seeded.records.audit] == [household]
        else:
            assert response.status == 404, (path, response.status)
            assert actions[-1:] == (
                []
                if username == "root" and not visible
                else ["admin_refused" if visible else "household_refused"]
            ), (path, actions)


@pytest.mark.parametrize(("method", "route"), VOLUNTEER_ROUTES)
@pytest.mark.parametrize("username", [*RECORDS_OF, None])
async def test_volunteer_records_are_for_the_organisations_administrators(
    setup: Any, method: str, route: str, username: str | None
) -> None:
    seeded, client_as, _ = setup
    client = await client_as(username)
    for asked, shown in (RECORDS_OF[username] if username else {"": None}).items():
        seeded.records.audit.clear()
        response = await client.get(f"{route}?org={asked}", allow_redirects=False)
        if username is None:
            assert response.status == 303
            continue
        expected = 404 if shown is None else 200
        assert response.status == expected, (asked, response.status)
        refused = [a for a in seeded.records.audit if a.action == "volunteers_refused"]
        assert bool(refused) == (shown is None)
        if shown is not None:
            assert seeded.records.sheets[-1] == (shown or None)


@pytest.mark.parametrize(("username", "access"), list(DISASTER_ACCESS.items()))
async def test_disaster_routes_answer_administrators_and_viewers_only(
    tmp_path: Path,
    clock: FakeClock,
    aiohttp_server: Any,
    aiohttp_client: Any,
    username: str,
    access: bool | str,
) -> None:
    seeded = seed(tmp_path, clock.now())
    repo = EscalationRepository(tmp_path / "state.sqlite3")
    repo.open()
    for hid, name, org, area in HOUSEHOLDS:
        repo.upsert_household(Household(hid, name, "", organisation=org, area=area))
    app = create_app(
        DashboardConfig(),
        users=seeded.users,
        activity=seeded.activity,
        records=seeded.records,
        classify=seeded.classify,
        clock=clock,
        disasters=DisasterDesk(repo),
    )
    server = await aiohttp_server(app)
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[f"http://{server.host}:{server.port}"])
    client: Client = await aiohttp_client(server, cookie_jar=jar)
    assert (await sign_in(client, username)).status == 303
    token = await _token(client)
    try:
        for method, route in DISASTER_ROUTES:
            path = route.format(check="nosuch")
            response = await _call(client, method, path, token)
            if access == "read" and method == "POST":
                assert response.status == 403, (path, response.status)
                assert seeded.records.audit[-1].action == "edit_refused"
            elif access:
                assert response.status in (200, 303), (path, response.status)
            else:
                assert response.status == 404, (path, response.status)
    finally:
        repo.close()
        seeded.users.close()
