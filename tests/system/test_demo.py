"""The README's demo, end to end as a person tries it: the fall reaches a neighbour by SMS, the
neighbour answers with ``mimamori sms-reply``, and the dashboard shows the incident resolved; her son
(the family contact) is told when it opens and when it closes, never asked to go; the
home whose internet is cut is reported blind to the technical contact, never as inactivity; the home
whose heater is left on high texts its resident, then its neighbours."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pyotp
import pytest

from app.demo_town import OPERATOR_PHONE, family_phone, neighbour_phone
from tests.support.demo_day import FALL_HOME, OUTAGE_HOME, check_scripted_day
from tests.support.demo_process import PASSWORD, DemoProcess

pytestmark = pytest.mark.integration

DAY_HOURS = 13.5  # 06:00 to 19:30: every scripted incident and the 19:00 digests


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[DemoProcess]:
    process = DemoProcess(tmp_path, "--households", "8", "--speed", "1200", "--slow-to", "600")
    await process.start()
    try:
        yield process
    finally:
        await process.kill()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "page has no CSRF token"
    return found.group(1)


async def test_the_fall_reaches_a_neighbour_who_claims_and_resolves_it(demo: DemoProcess) -> None:
    await demo.expect(r"^dashboard: http://127\.0\.0\.1:\d+$")
    # an earthquake drill while the day goes on (no flags in the demo); the fall is handled as usual
    started = await demo.run("disaster-check", "start")
    assert started.returncode == 0, started.stderr
    await demo.expect(r"disaster check \w+ running: \d+ of 8 safe")
    await demo.expect(r"sms to \+\d+: 【見守り】地震がありました。無事なら1を返信してください")
    status = await demo.run("disaster-check", "status", "--json")
    assert status.returncode == 0, status.stderr
    check = json.loads(status.stdout)
    assert {"id", "started_at", "households", "safe", "unknown", "ordered"} <= check.keys()
    assert check["households"] == 8
    assert check["safe"] + len(check["ordered"]) == 8
    ended = await demo.run("disaster-check", "end")
    assert ended.returncode == 0, ended.stderr
    await demo.expect(r"disaster check \w+ ended: ")

    neighbour = neighbour_phone(2, 0)
    await demo.expect(rf"incident {FALL_HOME} inactivity: notifying", timeout_s=180)
    await demo.expect(rf"sms to {re.escape(neighbour)}: ")

    listed = await demo.run("outbox", "--json")
    assert listed.returncode == 0, listed.stderr
    to_neighbour = [m for m in json.loads(listed.stdout) if m["to"] == neighbour]
    assert to_neighbour, listed.stdout
    assert {"to", "body", "status", "created_at"} <= to_neighbour[0].keys()
    assert "動き" in to_neighbour[0]["body"]
    (to_son,) = [m for m in json.loads(listed.stdout) if m["to"] == family_phone()]
    assert to_son["purpose"] == "family_notice"
    assert to_son["body"].startswith("【見守り・ご家族へ】")
    assert "行ける" not in to_son["body"]

    claimed = await demo.run("sms-reply", "--from", neighbour, "--text", "1")
    assert claimed.returncode == 0, claimed.stderr
    await demo.expect(rf"incident {FALL_HOME} inactivity: claimed")
    safe = await demo.run("sms-reply", "--from", neighbour, "--text", "3")
    assert safe.returncode == 0, safe.stderr
    await demo.expect(rf"incident {FALL_HOME} inactivity: resolved")
    await demo.expect(rf"sms to {re.escape(family_phone())}: 【見守り・ご家族へ】.*終了しました\(無事\)")

    origin = demo.dashboard_url
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[origin])
    async with aiohttp.ClientSession(origin, cookie_jar=jar) as browser:
        token = csrf_of(await (await browser.get("/login")).text())
        signed_in = await browser.post(
            "/login", data={"username": "care1", "password": PASSWORD, "csrf_token": token, "next": "/"}
        )
        assert signed_in.status == 200
        page = await browser.get(f"/households/{FALL_HOME}")
        assert page.status == 200
        html = await page.text()
        assert "inactivity" in html or "動きなし" in html or "不活動" in html
        incident = await browser.get(f"/api/households/{FALL_HOME}")
        assert incident.status == 200
        other = await browser.get("/api/households/home-0008")  # care2's home
        assert other.status == 404

    # admin gives the second factor: the key printed at start-up, or the code on the status line
    key = (await demo.expect(r"add the key ([A-Z2-7]+) to an authenticator app")).group(1)
    admin_jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[origin])
    async with aiohttp.ClientSession(origin, cookie_jar=admin_jar) as admin:
        token = csrf_of(await (await admin.get("/login")).text())
        asked = await admin.post(
            "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
        )
        assert asked.url.path == "/login/code"
        token = csrf_of(await asked.text())
        code = pyotp.TOTP(key).now()
        signed_in = await admin.post("/login/code", data={"code": code, "csrf_token": token})
        assert signed_in.status == 200
        assert signed_in.url.path == "/"
    assert any(re.search(r"\| admin code \d{6}$", line) for line in demo.lines)

    await demo.expect(rf"^\[.*\] {OUTAGE_HOME}: internet back", timeout_s=120)  # not the banner's
    outage_lines = [line for line in demo.lines if f"incident {OUTAGE_HOME}" in line]
    assert any("blind_gateway" in line for line in outage_lines), demo.lines[-60:]
    community = ("inactivity", "missed_wakeup", "long_absence", "night_exit", "evening_quiet")
    assert not [line for line in outage_lines if any(kind in line for kind in community)]
    code, seconds, after = await demo.interrupt()
    assert code == 0
    assert seconds < 3.0  # Ctrl-C stops everything within 3 s ...
    assert after == []  # ... with one line, "stopping ...": no disconnect storm, no traceback


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_default_day_raises_exactly_the_scripted_incidents(tmp_path: Path) -> None:
    """The default town (20 homes, seed 7) from 06:00 to past the 19:00 digests, as fast as the detector
    allows: the detector ticks once a simulated minute at any speed, so this day decides as a default
    run's. The day opens without an incident; the fall, the heater and the outage are announced as they
    happen and are the only incidents (the outage home only ever blind, to the technical contact; the
    heated home's hot living room its resident's first, then her neighbours'). The night after is
    ``benchmarks/demo_day.py``'s (the whole day, judged the same)."""
    process = DemoProcess(tmp_path, "--speed", "1200", "--slow-to", "0", "--hours", str(DAY_HOURS))
    await process.start()
    try:
        assert await process.finish(timeout_s=540) == 0, process.lines[-40:]
    finally:
        await process.kill()
    check_scripted_day(process.lines, tmp_path)


def demo_broker_pid(workdir: Path) -> int:
    found = subprocess.run(
        ["pgrep", "-f", "mosquitto -c var/demo/broker/mosquitto.conf"],
        capture_output=True,
        text=True,
        check=False,
    )
    ours = workdir.resolve()
    pids = [int(p) for p in found.stdout.split() if Path(f"/proc/{int(p)}/cwd").resolve() == ours]
    assert len(pids) == 1, f"the demo's mosquitto: {found.stdout!r}"
    return pids[0]


async def test_killing_the_demos_broker_texts_its_operator_once(demo: DemoProcess) -> None:
    await demo.expect(r"^dashboard: http://127\.0\.0\.1:\d+$")
    pid = demo_broker_pid(demo.workdir)  # the demo's broker runs in the demo's directory
    os.kill(pid, signal.SIGKILL)
    operator = re.escape(OPERATOR_PHONE)
    told = await demo.expect(rf"sms to {operator}: (.*)", timeout_s=60)
    assert "監視停止" in told.group(1)
    assert "全ゲートウェイ応答なし" in told.group(1)
    listed = await demo.run("outbox", "--json")
    to_operator = [m for m in json.loads(listed.stdout) if m["to"] == OPERATOR_PHONE]
    assert [m["purpose"] for m in to_operator] == ["operator"]  # one message for the outage, not a storm
