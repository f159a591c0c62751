"""Sign in, overview, household (heat map, incident log), contact editing with a validation error,
watching options, the sensitivity with its cost, language switch and live updates, the
administration pages on a phone (an account and a household in Japanese, a policy's settings in
English), the volunteer records (Japanese, phone width) and a disaster check (Japanese, phone width), in
real headless Chromium. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pyotp
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from dashboard.users import StaffRole, UserStore
from escalation.disaster.checks import DisasterChecks
from escalation.disaster.models import DisasterSettings
from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.repository import EscalationRepository
from tests.browser.conftest import ARTIFACTS, Dashboard
from tests.support.dashboard_fakes import ADMIN_TOTP_SECRET, FAST_HASHER, PASSWORD
from tests.support.dashboard_real import OTHER, OWN
from tests.support.staff_sign_in import totp_codes

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def page(browser: Browser, dashboard: Dashboard) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # a refused sign-in (401) or form (422) is logged as a failed load; anything else is a problem
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    context.close()
    assert problems == [], f"browser console errors (CSP violations?): {problems}"


def sign_in(page: Page, dashboard: Dashboard, username: str = "alice") -> None:
    page.goto(dashboard.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    expect(page.locator("#overview")).to_be_visible()


def test_sign_in_and_see_the_overview(page: Page, dashboard: Dashboard) -> None:
    page.goto(dashboard.url + "/login")
    page.fill("#username", "alice")
    page.fill("#password", "wrong password!!")
    page.click("#sign-in")
    expect(page.locator("#login-error")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "login-error.png")
    sign_in(page, dashboard)
    rows = page.locator("#overview-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("田中 花子")
    expect(rows.first.locator(".badge")).to_have_text("Quiet")
    expect(page.locator("body")).to_have_attribute("data-live-updates", "1")  # the first live push arrived
    page.screenshot(path=ARTIFACTS / "overview.png", full_page=True)


def test_household_page_shows_heat_map_and_incident_log(page: Page, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.click(f"a[href='/households/{OWN}']")
    expect(page.locator("h1")).to_contain_text("田中 花子")
    assert page.locator("#heatmap rect.heat").count() > 900
    incident = page.locator("#incident-inc-1")
    expect(incident).to_contain_text("森 Mori")
    expect(incident).to_contain_text("claimed")
    expect(incident).to_contain_text("見守り: 田中さん宅")
    expect(page.locator("#devices")).to_contain_text("motion-living")
    page.screenshot(path=ARTIFACTS / "household.png", full_page=True)


def test_edit_contact_shows_the_validation_error(page: Page, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.goto(f"{dashboard.url}/households/{OWN}/contacts")
    form = page.locator("#contact-c-kato")
    form.locator("input[name=phone]").fill("090-1234-5678")
    form.locator("button[type=submit]").click()
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#error-phone")).to_contain_text("E.164")
    page.screenshot(path=ARTIFACTS / "contact-error.png", full_page=True)
    page.locator("#contact-c-kato input[name=phone]").fill("+819012345678")
    page.locator("#contact-c-kato button[type=submit]").click()
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#contact-c-kato input[name=phone]")).to_have_value("+819012345678")


def test_turn_on_the_evening_check(page: Page, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.click(f"a[href='/households/{OWN}']")
    page.click(f"a[href='/households/{OWN}/options']")
    switch = page.locator("#option-evening_check")
    expect(switch).to_have_value("auto")  # the detector decides unless the care manager overrides
    expect(page.locator("#help-evening_check")).to_contain_text("living room or bedroom")
    switch.select_option("on")
    page.click("#options-form button[type=submit]")
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#option-evening_check")).to_have_value("on")  # read back from the state file
    expect(page.locator("#option-night_exit")).not_to_be_checked()
    page.screenshot(path=ARTIFACTS / "options.png", full_page=True)


def test_set_the_sensitivity_with_its_cost(page: Page, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.click(f"a[href='/households/{OWN}']")
    page.click("#sensitivity-link")
    expect(page.locator("#cost-table tr[id^=cost-]")).to_have_count(
        3, timeout=30_000
    )  # computed in the background, the page refreshing itself
    expect(page.locator("#cost-standard")).to_contain_text("(current)")
    select = page.locator("#option-sensitivity")
    expect(select).to_have_value("standard")
    select.evaluate("s => { s.options[2].value = 'maximum'; }")  # a forged value is refused, not saved
    select.select_option("maximum")
    page.click("#sensitivity-form button[type=submit]")
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator(".field-error")).to_contain_text("choose low, standard or high")
    expect(page.locator("#cost-standard")).to_contain_text("(current)")
    page.locator("#option-sensitivity").select_option("high")
    page.click("#sensitivity-form button[type=submit]")
    expect(page.locator("#saved")).to_be_visible()
    expect(page.locator("#option-sensitivity")).to_have_value("high")  # read back from the state file
    expect(page.locator("#cost-high")).to_contain_text("(current)")
    page.screenshot(path=ARTIFACTS / "sensitivity.png", full_page=True)


def test_japanese_on_a_phone(browser: Browser, dashboard: Dashboard) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="ja-JP")
    phone = context.new_page()
    try:
        sign_in(phone, dashboard)
        phone.click("#lang-switch")
        expect(phone.locator("h1")).to_contain_text("担当世帯")
        expect(phone.locator("#overview-rows .badge")).to_have_text("静か（要注意）")
        phone.screenshot(path=ARTIFACTS / "overview-phone-ja.png", full_page=True)
        phone.click(f"a[href='/households/{OWN}']")
        expect(phone.locator("#heatmap")).to_be_visible()
        phone.screenshot(path=ARTIFACTS / "household-phone-ja.png", full_page=True)
        phone.click(f"a[href='/households/{OWN}/options']")
        expect(phone.locator("h1")).to_contain_text("見守りの設定")
        expect(phone.locator("#help-evening_check")).to_contain_text("居間や寝室")
        phone.screenshot(path=ARTIFACTS / "options-phone-ja.png", full_page=True)
        phone.goto(f"{dashboard.url}/households/{OWN}/sensitivity")
        expect(phone.locator("h1")).to_contain_text("感度")
        expect(phone.locator("#cost-table")).to_contain_text("転倒から通知まで")
        phone.screenshot(path=ARTIFACTS / "sensitivity-phone-ja.png", full_page=True)
    finally:
        context.close()


def test_sign_out_ends_the_session(page: Page, dashboard: Dashboard) -> None:
    sign_in(page, dashboard)
    page.click("#sign-out")
    expect(page.locator("#sign-in")).to_be_visible()
    page.goto(f"{dashboard.url}/households/{OWN}")
    expect(page.locator("#sign-in")).to_be_visible()


def test_close_an_incident_with_an_outcome(page: Page, dashboard: Dashboard) -> None:
    """Last in the file: it closes the seeded incident (through the state machine, in the state file)."""
    sign_in(page, dashboard)
    page.goto(f"{dashboard.url}/households/{OWN}")
    form = page.locator("#close-inc-1")
    expect(form).to_be_visible()
    form.locator("select[name=outcome]").select_option("false_alarm")
    form.locator("textarea[name=note]").fill("Phoned her: she was at the clinic")
    form.locator("button[type=submit]").click()
    expect(page.locator("#closed")).to_be_visible()
    incident = page.locator("#incident-inc-1")
    expect(incident).to_contain_text("false alarm")
    expect(incident).to_contain_text("Phoned her: she was at the clinic")
    expect(incident).to_contain_text("care_manager:alice")
    expect(page.locator("#close-inc-1")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "incident-closed.png", full_page=True)


PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, dashboard: Dashboard, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, locale=request.param)
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):  # 422s
            problems.append(message.text)

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    context.close()
    assert problems == [], f"browser console errors (CSP violations?): {problems}"


def _sign_in_with_code(page: Page, dashboard: Dashboard, username: str) -> None:
    page.goto(dashboard.url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    for code in totp_codes():  # this step's code may have signed this user in earlier in the module
        page.fill("#code", code)
        page.click("#code-submit")
        expect(page.locator("#overview").or_(page.locator("#second-error"))).to_be_visible()
        if page.locator("#overview").is_visible():
            return
    expect(page.locator("#overview")).to_be_visible()


def _fits(page: Page) -> None:
    """Usable at phone width: nothing wider than the screen."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("phone", ["ja-JP"], indirect=True)
def test_an_account_and_a_household_are_made_in_japanese(phone: Page, dashboard: Dashboard) -> None:
    _sign_in_with_code(phone, dashboard, "root")
    phone.click("#lang-switch")  # root's account reads English
    phone.click("#nav-admin")
    expect(phone.locator("h1")).to_have_text("職員")
    _fits(phone)
    phone.fill("input[name=username]", "minsei")
    phone.fill("input[name=display_name]", "民生委員 山本")
    phone.select_option("select[name=role]", "viewer")
    phone.fill("input[name=area]", "梅町")
    # past the browser's own check, to the server's
    phone.evaluate("document.querySelector('input[name=password]').removeAttribute('minlength')")
    phone.fill("input[name=password]", "short")
    phone.click("#user-save")
    expect(phone.locator("#error-password")).to_have_text("12文字以上にしてください")
    phone.fill("input[name=password]", "a long password 1")
    phone.click("#user-save")
    expect(phone.locator("#saved")).to_be_visible()
    expect(phone.locator("select[name=role]")).to_have_value("viewer")
    phone.screenshot(path=ARTIFACTS / "admin-user-phone-ja.png", full_page=True)

    phone.goto(dashboard.url + "/admin/households")
    _fits(phone)
    phone.fill("input[name=id]", "hh-ume")
    phone.fill("input[name=name]", "梅田 ハナ")
    phone.fill("input[name=area]", "梅町")
    phone.check("input[name=needs][value=oxygen]")
    phone.fill("input[name=contact_name]", "阿部")
    phone.fill("input[name=contact_phone]", "090-5555-6666")
    phone.click("#household-add")
    expect(phone.locator("#error-contact_phone")).to_contain_text("国番号")
    phone.fill("input[name=contact_phone]", "+819055556666")
    phone.click("#household-add")
    expect(phone.locator("#saved")).to_be_visible()
    expect(phone.locator("input[name=needs][value=oxygen]")).to_be_checked()
    _fits(phone)
    phone.screenshot(path=ARTIFACTS / "admin-household-phone-ja.png", full_page=True)


@pytest.mark.parametrize("phone", ["en-GB"], indirect=True)
def test_an_organisation_administrator_sets_the_policy_in_english(phone: Page, dashboard: Dashboard) -> None:
    users = UserStore(dashboard.users_path, FAST_HASHER)
    users.open()
    try:
        now = datetime.now(UTC)
        users.add_user("olga", "Olga", StaffRole.ORG_ADMIN, PASSWORD, language="en", now=now)
        users.enrol_second_factor("olga", ADMIN_TOTP_SECRET, 0, [], now)
    finally:
        users.close()
    _sign_in_with_code(phone, dashboard, "olga")
    phone.goto(dashboard.url + f"/households/{OTHER}/policy")
    phone.fill("input[name=claim_timeout_minutes]", "3")
    phone.click("#policy-form button[type=submit]")
    expect(phone.locator("#error-claim_timeout_minutes")).to_have_text("at least 5")
    phone.fill("input[name=claim_timeout_minutes]", "30")
    phone.fill("input[name=quiet_start]", "21:00")
    phone.fill("input[name=quiet_end]", "07:00")
    phone.click("#policy-form button[type=submit]")
    expect(phone.locator("#saved")).to_be_visible()
    expect(phone.locator("input[name=claim_timeout_minutes]")).to_have_value("30")
    expect(phone.locator("input[name=quiet_start]")).to_have_value("21:00")
    _fits(phone)
    phone.screenshot(path=ARTIFACTS / "admin-policy-phone-en.png", full_page=True)


@pytest.mark.parametrize("phone", ["ja-JP"], indirect=True)
def test_an_organisation_administrator_prints_the_volunteer_records_in_japanese(
    phone: Page, dashboard: Dashboard
) -> None:
    secret = pyotp.random_base32()  # its own: a code step another test used is refused (no replay)
    users = UserStore(dashboard.users_path, FAST_HASHER)
    users.open()
    try:
        now = datetime.now(UTC)
        users.add_user("otto", "Otto", StaffRole.ORG_ADMIN, PASSWORD, language="ja", now=now)
        users.enrol_second_factor("otto", secret, 0, [], now)
    finally:
        users.close()
    phone.goto(dashboard.url + "/login")
    phone.fill("#username", "otto")
    phone.fill("#password", PASSWORD)
    phone.click("#sign-in")
    phone.fill("#code", pyotp.TOTP(secret).now())
    phone.click("#code-submit")
    expect(phone.locator("#overview")).to_be_visible()
    phone.click("#nav-volunteers")
    expect(phone.locator("h1")).to_contain_text("ボランティア活動記録")
    table = phone.locator("#volunteer-records")
    expect(table).to_contain_text("ポイント")
    expect(table).to_contain_text("森 Mori")
    _fits(phone)
    phone.screenshot(path=ARTIFACTS / "volunteer-records-phone-ja.png", full_page=True)
    response = phone.goto(dashboard.url + "/volunteers/records?month=2026-13")
    assert response is not None
    assert response.status == 400
    other = phone.goto(dashboard.url + "/volunteers/records?org=kirari")  # another organisation's
    assert other is not None
    assert other.status == 404


@pytest.mark.parametrize("phone", ["ja-JP"], indirect=True)
def test_an_organisation_administrator_runs_a_disaster_check_in_japanese(
    phone: Page, dashboard: Dashboard
) -> None:
    secret = pyotp.random_base32()  # its own: a code step another test used is refused (no replay)
    users = UserStore(dashboard.users_path, FAST_HASHER)
    users.open()
    try:
        now = datetime.now(UTC)
        users.add_user("dora", "Dora", StaffRole.ORG_ADMIN, PASSWORD, language="ja", now=now)
        users.enrol_second_factor("dora", secret, 0, [], now)
    finally:
        users.close()
    phone.goto(dashboard.url + "/login")
    phone.fill("#username", "dora")
    phone.fill("#password", PASSWORD)
    phone.click("#sign-in")
    phone.fill("#code", pyotp.TOTP(secret).now())
    phone.click("#code-submit")
    expect(phone.locator("#overview")).to_be_visible()
    phone.click("#nav-disaster")
    expect(phone.locator("h1")).to_have_text("安否確認")
    _fits(phone)
    phone.click("#disaster-start button")
    expect(phone.locator("#disaster-note")).to_have_text("安否確認の開始を依頼しました。")
    expect(phone.locator("#disaster-requested")).to_be_visible()

    # what the alerts service does on its next tick (it does not run beside this dashboard)
    repo = EscalationRepository(dashboard.users_path.parent / "state.sqlite3")
    repo.open()
    try:
        engine = EscalationEngine(repo, EngineSettings("http://alerts.test", b"secret"))
        DisasterChecks(repo, engine, DisasterSettings(), "http://alerts.test", b"secret").tick(
            datetime.now(UTC)
        )
    finally:
        repo.close()
    phone.reload()
    expect(phone.locator("#disaster-counts")).to_be_visible()
    expect(phone.locator(f"#disaster-ordered li[data-household='{OWN}']")).to_contain_text("開始後の動きなし")
    _fits(phone)
    phone.screenshot(path=ARTIFACTS / "disaster-phone-ja.png", full_page=True)
    phone.click("#disaster-end button")
    expect(phone.locator("#disaster-note")).to_have_text("終了を依頼しました。報告は保存されます。")


@pytest.mark.parametrize("phone", ["ja-JP"], indirect=True)
def test_an_administrator_sets_a_volunteers_hours_and_rest_on_a_phone(
    phone: Page, dashboard: Dashboard
) -> None:
    _sign_in_with_code(phone, dashboard, "root")
    phone.click("#lang-switch")  # root's account reads English
    phone.goto(dashboard.url + f"/households/{OWN}/contacts")
    phone.click(f'#contact-c-mori a[href="/households/{OWN}/volunteers/c-mori"]')
    expect(phone.locator("h1")).to_contain_text("ボランティアの設定")
    phone.fill("textarea[name=availability]", "mon,tue,funday 09:00-17:00")
    phone.fill("input[name=resting_until]", "2030-01-31")
    phone.check("input[name=pools][value=default]")
    phone.click("#volunteer-form button[type=submit]")
    expect(phone.locator("#error-availability")).to_be_visible()
    phone.fill("textarea[name=availability]", "mon,tue,wed,thu,fri 09:00-17:00\nsat 22:00-06:00")
    phone.click("#volunteer-form button[type=submit]")
    expect(phone.locator("#saved")).to_be_visible()
    expect(phone.locator("textarea[name=availability]")).to_have_value(
        "mon,tue,wed,thu,fri 09:00-17:00\nsat 22:00-06:00"
    )
    expect(phone.locator("input[name=resting_until]")).to_have_value("2030-01-31")
    expect(phone.locator("input[name=pools][value=default]")).to_be_checked()
    _fits(phone)
    phone.screenshot(path=ARTIFACTS / "volunteer-settings-phone-ja.png", full_page=True)
