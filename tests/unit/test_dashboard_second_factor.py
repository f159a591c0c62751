"""Component tests of the second factor (TOTP, recovery codes), the idle timeout and the sign-in audit
trail, through the real app and its SQLite user store (aiohttp test client)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dashboard.app import create_app
from dashboard.users import StaffRole
from mimamori.clock import FakeClock
from mimamori.config import DashboardConfig
from tests.support.dashboard_fakes import PASSWORD, Seeded, csrf_of, seed
from tests.support.staff_sign_in import sign_in, totp_codes

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def seeded(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Seeded]:
    data = seed(tmp_path, clock.now())
    data.users.add_user("newadmin", "New Admin", StaffRole.ADMIN, PASSWORD, language="en", now=clock.now())
    yield data
    data.users.close()


@pytest.fixture
def config() -> DashboardConfig:
    return DashboardConfig(idle_minutes=30, session_hours=8)


@pytest.fixture
async def make_client(
    seeded: Seeded, clock: FakeClock, config: DashboardConfig, aiohttp_server: Any, aiohttp_client: Any
) -> MakeClient:
    app = create_app(
        config,
        users=seeded.users,
        activity=seeded.activity,
        records=seeded.records,
        classify=seeded.classify,
        clock=clock,
    )
    server = await aiohttp_server(app)

    async def make() -> Client:
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[f"http://{server.host}:{server.port}"])
        client: Client = await aiohttp_client(server, cookie_jar=jar)
        return client

    return make


async def _password(client: Client, username: str) -> aiohttp.ClientResponse:
    token = csrf_of(await (await client.get("/login")).text())
    return await client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )


async def _code(client: Client, path: str, code: str, post_to: str = "") -> aiohttp.ClientResponse:
    token = csrf_of(await (await client.get(path)).text())
    return await client.post(post_to or path, data={"code": code, "csrf_token": token}, allow_redirects=False)


async def _signed_in(client: Client) -> bool:
    return (await client.get("/", allow_redirects=False)).status == 200


def _actions(seeded: Seeded) -> list[str]:
    """The audit log's sign-in and second-factor entries (page views left out)."""
    return [a.action for a in seeded.records.audit if not a.action.startswith("view_")]


async def test_an_administrator_needs_the_code_after_the_password(
    make_client: MakeClient, seeded: Seeded
) -> None:
    client = await make_client()
    response = await _password(client, "root")
    assert (response.status, response.headers["Location"]) == (303, "/login/code")
    assert not await _signed_in(client)  # the password alone is not a sign-in
    wrong = await _code(client, "/login/code", "000000" if totp_codes()[0] != "000000" else "111111")
    assert wrong.status == 401
    assert 'id="second-error"' in await wrong.text()
    right = await _code(client, "/login/code", totp_codes()[0])
    assert right.status == 303
    assert await _signed_in(client)
    assert _actions(seeded) == ["second_factor_failed", "login"]
    login = [a for a in seeded.records.audit if a.action == "login"]
    assert "totp" in login[0].detail


async def test_a_code_is_good_once(make_client: MakeClient) -> None:
    first, second = await make_client(), await make_client()
    code = totp_codes()[0]
    await _password(first, "root")
    assert (await _code(first, "/login/code", code)).status == 303
    await _password(second, "root")
    assert (await _code(second, "/login/code", code)).status == 401  # replayed


async def test_enrolment_is_required_for_an_administrator_and_gives_recovery_codes(
    make_client: MakeClient, seeded: Seeded
) -> None:
    client = await make_client()
    response = await _password(client, "newadmin")
    assert response.headers["Location"] == "/login/code"
    page = await client.get("/login/code")  # not enrolled yet: to enrolment
    assert page.url.path == "/login/enrol"
    html = await page.text()
    assert "<svg" in html  # the QR code
    key = re.search(r'id="totp-key">([A-Z2-7]+)<', html)
    assert key is not None
    done = await _code(client, "/login/enrol", totp_codes(key.group(1))[0])
    assert done.status == 200
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", await done.text())
    assert len(codes) == 10
    assert await _signed_in(client)
    factor = seeded.users.second_factor("newadmin")
    assert factor is not None
    assert factor.recovery_left == 10
    stored = seeded.users.db.execute("SELECT code_hash FROM recovery_codes").fetchall()
    assert not {c.replace("-", "") for c in codes} & {row[0] for row in stored}  # hashed, not kept
    assert "second_factor_enrolled" in _actions(seeded)

    other = await make_client()  # a recovery code signs in once
    await _password(other, "newadmin")
    assert (await _code(other, "/login/code", codes[3].upper())).status == 303
    again = await make_client()
    await _password(again, "newadmin")
    assert (await _code(again, "/login/code", codes[3])).status == 401
    assert "recovery_code_used" in _actions(seeded)


async def test_a_care_manager_signs_in_with_a_password_and_may_add_the_second_factor(
    make_client: MakeClient, seeded: Seeded
) -> None:
    client = await make_client()
    assert (await _password(client, "alice")).headers["Location"] == "/"
    page = await (await client.get("/account/2fa")).text()
    key = re.search(r'id="totp-key">([A-Z2-7]+)<', page)
    assert key is not None
    enrolled = await _code(client, "/account/2fa", totp_codes(key.group(1))[0], "/account/2fa/enrol")
    assert enrolled.status == 200
    recovery = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", await enrolled.text())
    assert "second_factor_enrolled" in _actions(seeded)
    later = await make_client()
    assert (await _password(later, "alice")).headers["Location"] == "/login/code"
    removed = await _code(later, "/login/code", totp_codes(key.group(1))[1])
    assert removed.status == 303
    page = await (await later.get("/account/2fa")).text()
    token = csrf_of(page)
    gone = await later.post(
        "/account/2fa/remove",
        data={"code": recovery[0], "csrf_token": token},  # this step's code was used to sign in
        allow_redirects=False,
    )
    assert gone.status == 303
    assert seeded.users.second_factor("alice") is None
    assert "second_factor_removed" in _actions(seeded)


@pytest.mark.parametrize("config", [DashboardConfig(care_manager_2fa=True)])
async def test_the_configuration_can_require_it_of_care_managers(make_client: MakeClient) -> None:
    client = await make_client()
    assert (await _password(client, "alice")).headers["Location"] == "/login/code"
    assert (await client.get("/login/code")).url.path == "/login/enrol"


async def test_a_half_done_sign_in_expires(make_client: MakeClient, clock: FakeClock) -> None:
    client = await make_client()
    await _password(client, "root")
    clock.advance(timedelta(minutes=6))
    late = await _code(client, "/login/code", totp_codes()[0])
    assert late.status == 303
    assert late.headers["Location"] == "/login"
    assert not await _signed_in(client)


async def test_an_idle_session_ends_and_a_used_one_does_not(
    make_client: MakeClient, clock: FakeClock
) -> None:
    busy, idle = await make_client(), await make_client()
    assert (await sign_in(busy, "alice")).status == 303
    assert (await sign_in(idle, "bob")).status == 303
    for _ in range(4):  # two hours, with a page every 25 minutes
        clock.advance(timedelta(minutes=25))
        assert await _signed_in(busy)
    assert not await _signed_in(idle)
    clock.advance(timedelta(minutes=31))
    assert not await _signed_in(busy)


async def test_sign_ins_and_failures_are_audited(make_client: MakeClient, seeded: Seeded) -> None:
    client = await make_client()
    token = csrf_of(await (await client.get("/login")).text())
    await client.post(
        "/login", data={"username": "alice", "password": "wrong password!", "csrf_token": token}
    )
    assert (await sign_in(client, "alice")).status == 303
    token = csrf_of(await (await client.get("/")).text())
    await client.post("/logout", data={"csrf_token": token})
    assert [(a.actor, a.action) for a in seeded.records.audit if not a.action.startswith("view_")] == [
        ("login:alice", "login_failed"),
        ("care_manager:alice", "login"),
        ("care_manager:alice", "logout"),
    ]
