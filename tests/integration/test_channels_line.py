"""LINE through the real line-bot-sdk against a local Messaging API server: linking by a one-time code,
alerts with answer buttons, a tap claiming, a blocked user falling back to SMS, follow/unfollow,
time-outs sent once by the retry key, 5xx retried, and webhook signatures refused when wrong."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from escalation.line.events import new_code
from escalation.models import SmsStatus
from escalation.service import AlertsService
from mimamori.clock import FakeClock
from registry.models import ContactChannel
from tests.support.escalation_harness import (
    ITO,
    alerts_config,
    fake_twilio,
    finding,
    import_households,
    running_alerts,
    until,
)
from tests.support.harness import wait_for
from tests.support.line_fake_server import FakeLine, event, post_events, postback, text
from tests.support.twilio_fake_server import FakeTwilio

pytestmark = pytest.mark.integration

USER = "U" + "1" * 32


def volunteers(channels: list[str]) -> dict[str, Any]:
    return {
        "contacts": [
            {"id": "v-ito", "name": "伊藤健", "phone": ITO, "role": "volunteer", "channels": channels}
        ],
        "households": [
            {
                "id": "demo-0001",
                "name": "山田花子",
                "address_hint": "桜町2丁目",
                "policy": {"tiers": [{"kind": "volunteers", "contacts": ["v-ito"], "wait_minutes": 20}]},
            }
        ],
    }


@contextlib.asynccontextmanager
async def line_town(
    tmp_path: Any, clock: FakeClock, channels: list[str]
) -> AsyncIterator[tuple[AlertsService, FakeLine, FakeTwilio]]:
    line = FakeLine()
    await line.start()
    try:
        async with fake_twilio() as twilio:
            config = alerts_config(tmp_path, twilio.base_url, line_url=line.base_url)
            import_households(config, volunteers(channels))
            async with running_alerts(config, clock) as service:
                yield service, line, twilio
    finally:
        await line.stop()


async def link(service: AlertsService, line: FakeLine, clock: FakeClock) -> None:
    code = new_code(service.repo, "v-ito", clock.now(), 72)
    assert await post_events(f"{service.public_url}/line/webhook", [text(USER, f"コード {code}")]) == 200
    await until_pushed(line, 1)
    ito = service.repo.contact("v-ito")
    assert ito is not None
    assert ito.line_user == USER


async def until_pushed(line: FakeLine, n: int) -> None:
    await wait_for(lambda: len(line.pushes) >= n, line.changed)


async def test_linked_by_code_then_an_alert_with_buttons_and_a_tap_claims(tmp_path, clock: FakeClock) -> None:
    async with line_town(tmp_path, clock, ["line", "sms"]) as (service, line, twilio):
        await link(service, line, clock)
        assert "LINEで受け取る設定ができました" in line.pushes[0].messages[0]["text"]
        incident = service.engine.open_from_finding(finding(), clock.now())
        assert incident is not None
        await until_pushed(line, 2)
        alert = line.pushes[1]
        assert alert.to == USER
        assert alert.messages[0]["type"] == "text"
        assert "07:10" in alert.messages[0]["text"]
        buttons = alert.messages[1]["template"]["actions"]
        assert [b["label"] for b in buttons] == ["行ける", "無理", "無事", "救急"]
        assert (
            await post_events(f"{service.public_url}/line/webhook", [postback(USER, buttons[0]["data"])])
            == 200
        )
        claimed = service.repo.incident(incident.id)
        assert claimed is not None
        assert claimed.claimed_by == "v-ito"
        await until_pushed(line, 3)  # the thanks, on LINE too (his first text channel)
        assert twilio.created() == []  # nothing by SMS
        assert {m.channel for m in service.repo.sms_messages(incident=incident.id)} == {ContactChannel.LINE}


async def test_a_blocked_user_falls_back_to_sms_at_once(tmp_path, clock: FakeClock) -> None:
    async with line_town(tmp_path, clock, ["line", "sms"]) as (service, line, twilio):
        await link(service, line, clock)
        line.faults.blocked.add(USER)
        incident = service.engine.open_from_finding(finding(), clock.now())
        assert incident is not None
        await until(twilio, lambda: len(twilio.created(ITO)) == 1)
        assert "行ける1 無理2 無事3 救急119" in twilio.created(ITO)[0].body
        by_channel = {m.channel: m.status for m in service.repo.sms_messages(incident=incident.id)}
        assert by_channel[ContactChannel.LINE] is SmsStatus.FAILED
        actions = [a.action for a in service.repo.audit_log(incident=incident.id)]
        assert "line.failed" in actions
        assert "notify.fallback" in actions


async def test_unfollow_skips_line_until_followed_again(tmp_path, clock: FakeClock) -> None:
    async with line_town(tmp_path, clock, ["line", "sms"]) as (service, line, twilio):
        await link(service, line, clock)
        url = f"{service.public_url}/line/webhook"
        assert await post_events(url, [event("unfollow", USER)]) == 200
        ito = service.repo.contact("v-ito")
        assert ito is not None
        assert ito.line_blocked
        service.engine.open_from_finding(finding(), clock.now())
        await until(twilio, lambda: len(twilio.created(ITO)) == 1)  # straight to SMS
        assert len(line.pushes) == 1  # only the link confirmation
        assert await post_events(url, [event("follow", USER)]) == 200
        ito = service.repo.contact("v-ito")
        assert ito is not None
        assert not ito.line_blocked
        later = finding(at=clock.now() + timedelta(hours=5))
        clock.advance(timedelta(hours=5))
        service.engine.open_from_finding(later, clock.now())
        await until_pushed(line, 2)


async def test_a_push_that_timed_out_after_acceptance_arrives_once(tmp_path, clock: FakeClock) -> None:
    async with line_town(tmp_path, clock, ["line"]) as (service, line, _twilio):
        await link(service, line, clock)
        line.faults.hang_after_accept = 1
        service.engine.open_from_finding(finding(), clock.now())
        await wait_for(lambda: "accepted-then-timeout" in line.outcomes, line.changed)
        await wait_for(lambda: service.dispatcher.attempts >= 2, service.dispatcher.changed)
        clock.advance(timedelta(seconds=5))  # the backoff
        service.dispatcher.wake()
        await wait_for(lambda: "409" in line.outcomes, line.changed)
        await wait_for(lambda: service.dispatcher.attempts >= 3, service.dispatcher.changed)
        assert len(line.pushed(USER)) == 2  # the link confirmation and the alert, once
        alert = [m for m in service.repo.sms_messages() if m.purpose.value == "alert"]
        assert [m.status for m in alert] == [SmsStatus.SENT]


async def test_server_errors_are_retried(tmp_path, clock: FakeClock) -> None:
    async with line_town(tmp_path, clock, ["line"]) as (service, line, _twilio):
        await link(service, line, clock)
        line.faults.fail_next = 1
        service.engine.open_from_finding(finding(), clock.now())
        await wait_for(lambda: "500" in line.outcomes, line.changed)
        clock.advance(timedelta(seconds=5))
        service.dispatcher.wake()
        await until_pushed(line, 2)


async def test_webhook_signatures_and_codes(tmp_path, clock: FakeClock) -> None:
    async with line_town(tmp_path, clock, ["line", "sms"]) as (service, line, _twilio):
        url = f"{service.public_url}/line/webhook"
        code = new_code(service.repo, "v-ito", clock.now(), 72)
        assert await post_events(url, [text(USER, code)], secret="wrong") == 403
        assert await post_events(url, [text(USER, code)], signature="") == 403
        assert service.webhooks is not None
        assert service.webhooks.rejected_signatures == 2
        ito = service.repo.contact("v-ito")
        assert ito is not None
        assert ito.line_user is None  # nothing changed
        assert await post_events(url, [text(USER, "123")]) == 200  # not a code: told so, not linked
        await until_pushed(line, 1)
        assert "期限切れ" in line.pushes[0].messages[0]["text"]
        clock.advance(timedelta(hours=73))
        assert await post_events(url, [text(USER, code)]) == 200  # expired
        ito = service.repo.contact("v-ito")
        assert ito is not None
        assert ito.line_user is None
