"""Component tests of sign-in, sessions, CSRF, throttling and security headers (aiohttp test client)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dashboard.app import create_app
from dashboard.sessions import COOKIE_NAME
from mimamori.clock import FakeClock
from mimamori.config import DashboardConfig
from tests.support.dashboard_fakes import OWN, PASSWORD, Seeded, csrf_of, seed

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
def seeded(tmp_path: Path, clock: FakeClock) -> Seeded:
    data = seed(tmp_path, clock.now())
    yield data
    data.users.close()


@pytest.fixture
def config() -> DashboardConfig:
    return DashboardConfig(login_max_failures=3, login_window_minutes=15, session_hours=8)


@pytest.fixture
async def make_client(
    seeded: Seeded, clock: FakeClock, config: DashboardConfig, aiohttp_server: Any, aiohttp_client: Any
) -> MakeClient:
    server: TestServer | None = None

    async def make() -> Client:
        nonlocal server
        if server is None:
            app = create_app(
                config,
                users=seeded.users,
                activity=seeded.activity,
                records=seeded.records,
                classify=seeded.classify,
                clock=clock,
            )
            server = await aiohttp_server(app)
        origin = f"http://{server.host}:{server.port}"
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[origin])
        client: Client = await aiohttp_client(server, cookie_jar=jar)
        return client

    return make


async def sign_in(
    client: Client, username: str = "alice", password: str = PASSWORD
) -> aiohttp.ClientResponse:
    page = await client.get("/login")
    token = csrf_of(await page.text())
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        allow_redirects=False,
    )


async def test_sign_in_sets_a_secure_httponly_strict_session_cookie(make_client: MakeClient) -> None:
    client = await make_client()
    response = await sign_in(client)
    assert response.status == 303
    assert response.headers["Location"] == "/"
    cookie = response.cookies[COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert int(cookie["max-age"]) == 8 * 3600
    overview = await client.get("/")
    assert overview.status == 200
    assert "Hanako Tanaka" in await overview.text()


async def test_wrong_password_is_refused_and_the_page_says_so(make_client: MakeClient) -> None:
    client = await make_client()
    response = await sign_in(client, password="wrong password here")
    assert response.status == 401
    assert "ユーザー名またはパスワードが違います" in await response.text()
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_unknown_user_is_refused_like_a_wrong_password(make_client: MakeClient) -> None:
    client = await make_client()
    response = await sign_in(client, username="mallory")
    assert response.status == 401


async def test_session_id_changes_at_sign_in(make_client: MakeClient) -> None:
    client = await make_client()
    await client.get("/login")
    before = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE_NAME].value
    await sign_in(client)
    after = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE_NAME].value
    assert before != after


async def test_pages_and_api_need_sign_in(make_client: MakeClient) -> None:
    client = await make_client()
    page = await client.get(f"/households/{OWN}", allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"].startswith("/login?next=")
    api = await client.get("/api/households")
    assert api.status == 401
    assert (await client.get("/events/overview")).status == 401


async def test_post_without_csrf_token_is_forbidden(make_client: MakeClient) -> None:
    client = await make_client()
    await client.get("/login")
    response = await client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status == 403
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_post_with_another_sessions_csrf_token_is_forbidden(make_client: MakeClient) -> None:
    attacker = await make_client()
    token = csrf_of(await (await attacker.get("/login")).text())
    victim = await make_client()
    await sign_in(victim)
    response = await victim.post(
        f"/households/{OWN}/contacts",
        data={
            "csrf_token": token,
            "name": "Evil",
            "phone": "+819000000000",
            "role": "neighbour",
            "language": "ja",
        },
    )
    assert response.status == 403


async def test_every_form_carries_the_csrf_token(make_client: MakeClient) -> None:
    client = await make_client()
    await sign_in(client)
    for path in ("/", f"/households/{OWN}", f"/households/{OWN}/contacts", f"/households/{OWN}/policy"):
        html = await (await client.get(path)).text()
        assert html.count("<form") == html.count('name="csrf_token"'), path


async def test_failed_sign_ins_are_throttled_even_with_the_right_password(
    make_client: MakeClient, clock: FakeClock
) -> None:
    client = await make_client()
    for _ in range(3):
        assert (await sign_in(client, password="not the password")).status == 401
    blocked = await sign_in(client)
    assert blocked.status == 429
    assert "ログインの失敗が多すぎます" in await blocked.text()
    clock.advance(timedelta(minutes=16))
    assert (await sign_in(client)).status == 303


async def test_throttling_is_per_user_name_too(make_client: MakeClient) -> None:
    client = await make_client()
    for _ in range(3):
        await sign_in(client, username="bob", password="not the password")
    assert (await sign_in(client, username="bob")).status == 429


async def test_session_expires_on_the_server_clock(make_client: MakeClient, clock: FakeClock) -> None:
    client = await make_client()
    await sign_in(client)
    clock.advance(timedelta(hours=7, minutes=59))
    assert (await client.get("/")).status == 200
    clock.advance(timedelta(minutes=2))
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303
    assert (await client.get("/api/households")).status == 401


async def test_sign_out_kills_the_session_on_the_server(make_client: MakeClient) -> None:
    client = await make_client()
    await sign_in(client)
    stolen = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE_NAME].value
    token = csrf_of(await (await client.get("/")).text())
    out = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert out.status == 303
    thief = await make_client()
    thief.session.cookie_jar.update_cookies({COOKIE_NAME: stolen}, thief.make_url("/"))
    assert (await thief.get("/api/households")).status == 401


async def test_security_headers_on_pages_errors_and_static(make_client: MakeClient) -> None:
    client = await make_client()
    await sign_in(client)
    for path in ("/", "/login", "/households/nope", "/static/dashboard.css", "/api/households"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp, path
        assert "default-src 'none'" in csp, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path


async def test_redirect_after_sign_in_stays_on_this_site(make_client: MakeClient) -> None:
    client = await make_client()
    token = csrf_of(await (await client.get("/login")).text())
    response = await client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/"


async def test_language_switch_changes_the_pages(make_client: MakeClient) -> None:
    client = await make_client()
    await sign_in(client)
    page = await (await client.get("/")).text()
    assert "Your households" in page
    await client.post("/language", data={"lang": "ja", "next": "/", "csrf_token": csrf_of(page)})
    assert "担当世帯" in await (await client.get("/")).text()
