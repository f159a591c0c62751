"""Staff sign-in with the second factor in real headless Chromium: an administrator enrols (QR code,
key, first code, recovery codes) on the first sign-in, then signs in with a code; screenshots go to
test-artifacts/browser/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from dashboard.users import StaffRole, UserStore
from tests.browser.conftest import ARTIFACTS, Dashboard
from tests.support.dashboard_fakes import FAST_HASHER, PASSWORD
from tests.support.staff_sign_in import totp_codes

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def page(browser: Browser, dashboard: Dashboard) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    context.close()
    assert problems == [], problems


def _password(page: Page, dashboard: Dashboard, username: str) -> None:
    page.goto(dashboard.url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")


def test_an_administrator_enrols_on_the_first_sign_in_then_uses_codes(
    page: Page, dashboard: Dashboard
) -> None:
    users = UserStore(dashboard.users_path, FAST_HASHER)
    users.open()
    try:
        users.add_user("head", "Head Office", StaffRole.ADMIN, PASSWORD, language="ja", now=datetime.now(UTC))
    finally:
        users.close()

    _password(page, dashboard, "head")
    expect(page).to_have_url(re.compile(r"/login/enrol$"))
    expect(page.locator("#qr svg")).to_be_visible()
    key = page.locator("#totp-key").inner_text()
    page.screenshot(path=ARTIFACTS / "second-factor-enrol.png", full_page=True)
    page.fill("#code", "000000" if pyotp.TOTP(key).now() != "000000" else "111111")
    page.click("#code-submit")
    expect(page.locator("#second-error")).to_be_visible()  # a wrong first code enrols nothing
    page.fill("#code", pyotp.TOTP(key).now())
    page.click("#code-submit")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.screenshot(path=ARTIFACTS / "second-factor-recovery-codes.png", full_page=True)
    page.click("#codes-kept")
    expect(page.locator("#overview")).to_be_visible()
    page.click("#sign-out")

    _password(page, dashboard, "head")  # the next time: the code page
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.fill("#code", totp_codes(key)[1])  # this step's code was used to enrol: the next one
    page.click("#code-submit")
    expect(page.locator("#overview")).to_be_visible()


def test_an_enrolled_administrator_signs_in_with_the_code(page: Page, dashboard: Dashboard) -> None:
    _password(page, dashboard, "root")
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.screenshot(path=ARTIFACTS / "second-factor-code.png")
    page.goto(dashboard.url + "/")  # the password alone is no sign-in
    expect(page).to_have_url(re.compile(r"/login\?next="))
    _password(page, dashboard, "root")
    page.fill("#code", totp_codes()[0])
    page.click("#code-submit")
    expect(page.locator("#overview")).to_be_visible()
