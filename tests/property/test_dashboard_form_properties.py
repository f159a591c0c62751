"""Property-based tests of the dashboard's forms and query strings: whatever a browser (or someone
pretending to be one) posts, the answer is a page, a redirect or a clear 4xx, never a 500."""

from __future__ import annotations

import asyncio
import http.cookiejar
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dashboard.app import create_app
from mimamori.clock import FakeClock
from mimamori.config import DashboardConfig
from tests.conftest import FIXED_NOW
from tests.support.dashboard_fakes import OWN, PASSWORD, csrf_of, seed

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
CONTACT_FIELDS = ("contact_id", "name", "phone", "role", "language", "csrf_token")
POLICY_FIELDS = (
    "wait_0",
    "wait_1",
    "mode_0",
    "mode_1",
    "members_0",
    "members_1",
    "claim_timeout",
    "csrf_token",
)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


@dataclass
class Browser:
    base: str
    opener: urllib.request.OpenerDirector

    def request(self, path: str, form: list[tuple[str, str]] | None = None) -> tuple[int, str]:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(self.base + path, data, timeout=10) as response:
                return int(response.status), response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode(errors="replace")

    def csrf(self, path: str) -> str:
        return csrf_of(self.request(path)[1])


def _browser(base: str) -> Browser:
    jar = http.cookiejar.CookieJar()
    return Browser(base, urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect()))


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real dashboard app over seeded stores, on its own loop in a thread (plain HTTP here)."""
    seeded = seed(Path(tmp_path_factory.mktemp("dashboard")), FIXED_NOW)
    config = DashboardConfig(secure_cookies=False, login_max_failures=100, login_window_minutes=1)
    app = create_app(
        config,
        users=seeded.users,
        activity=seeded.activity,
        records=seeded.records,
        classify=seeded.classify,
        clock=FakeClock(FIXED_NOW),
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(app, access_log=None)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        seeded.users.close()


@pytest.fixture(scope="module")
def alice(dashboard: str) -> Browser:
    browser = _browser(dashboard)
    form = [
        ("username", "alice"),
        ("password", PASSWORD),
        ("csrf_token", browser.csrf("/login")),
        ("next", "/"),
    ]
    status, _ = browser.request("/login", form)
    assert status == 303, "alice signs in"
    return browser


@SETTINGS
@given(
    fields=st.dictionaries(st.sampled_from(["username", "password", "next", "x"]), texts),
    token=st.one_of(st.none(), texts),
)
def test_any_sign_in_form_is_answered(dashboard: str, fields: dict[str, str], token: str | None) -> None:
    browser = _browser(dashboard)
    real = browser.csrf("/login")
    status, _ = browser.request("/login", [*fields.items(), ("csrf_token", real if token is None else token)])
    assert status in (200, 303, 400, 401, 403, 429)


@SETTINGS
@given(
    fields=st.lists(st.tuples(st.sampled_from(CONTACT_FIELDS), texts), max_size=8),
    with_token=st.booleans(),
)
def test_any_contact_form_is_answered(
    alice: Browser, fields: list[tuple[str, str]], with_token: bool
) -> None:
    path = f"/households/{OWN}/contacts"
    token = [("csrf_token", alice.csrf(path))] if with_token else []
    status, _ = alice.request(path, token + fields)
    assert status in (200, 303, 400, 403, 422)


@SETTINGS
@given(fields=st.lists(st.tuples(st.sampled_from(POLICY_FIELDS), texts), max_size=10))
def test_any_policy_form_is_answered(alice: Browser, fields: list[tuple[str, str]]) -> None:
    path = f"/households/{OWN}/policy"
    status, _ = alice.request(path, [("csrf_token", alice.csrf(path)), *fields])
    assert status in (200, 303, 400, 403, 422)


@SETTINGS
@given(
    path=st.sampled_from(
        [
            f"/households/{OWN}",
            f"/households/{OWN}/digest",
            f"/api/households/{OWN}/activity",
            "/api/households",
        ]
    ),
    query=st.dictionaries(
        st.sampled_from(["start", "end", "from", "to", "days", "lang", "week", "x"]), texts
    ),
    household=st.one_of(st.just(OWN), texts.filter(bool)),
)
def test_any_query_string_is_answered(
    alice: Browser, path: str, query: dict[str, str], household: str
) -> None:
    path = path.replace(OWN, urllib.parse.quote(household, safe=""))
    status, _ = alice.request(f"{path}?{urllib.parse.urlencode(query)}")
    assert status in (200, 400, 403, 404)


# --------------------------------------------------------------------------- raw bodies

CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "application/x-www-form-urlencoded; charset=no-such-charset",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "text/plain",
    ]
)
MULTIPART_FILE = b'--x\r\nContent-Disposition: form-data; name="a"; filename="f"\r\n\r\nhi\r\n--x--\r\n'
raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda head, value: b"--x\r\n" + head + b"\r\n\r\n" + value + b"\r\n--x--\r\n",
        st.binary(max_size=60),
        st.binary(max_size=60),
    ),
    st.sampled_from([b"a=\xff\xfe", b"csrf_token=\xff", b"--x\r\nbroken", MULTIPART_FILE]),
)
FORM_POSTS = [
    f"/households/{OWN}/contacts",
    f"/households/{OWN}/policy",
    f"/households/{OWN}/options",
    f"/households/{OWN}/away",
    "/language",
    "/login",
]


@SETTINGS
@given(
    path=st.sampled_from(FORM_POSTS), body=raw_bodies, content_type=CONTENT_TYPES, header_token=st.booleans()
)
@example(
    path=f"/households/{OWN}/contacts",
    body=b"name=\xff",
    content_type="application/x-www-form-urlencoded",
    header_token=True,
)
@example(
    path="/login", body=b"--x\r\nbroken", content_type="multipart/form-data; boundary=x", header_token=False
)
def test_any_raw_form_body_is_a_4xx_at_worst(
    alice: Browser, path: str, body: bytes, content_type: str, header_token: bool
) -> None:
    """Raw ``\\xff``, broken multipart, unknown charsets, files: never a 5xx (mimamori.forms)."""
    headers = {"Content-Type": content_type}
    if header_token:  # past the CSRF check: the page's own form parsing answers
        headers["X-CSRF-Token"] = alice.csrf(f"/households/{OWN}")
    try:
        with alice.opener.open(urllib.request.Request(alice.base + path, body, headers), timeout=10) as r:
            status = int(r.status)
    except urllib.error.HTTPError as error:
        status = int(error.code)
    assert status < 500, status
