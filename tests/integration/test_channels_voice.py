"""Voice calls through the real twilio library against the local server: the resident's own menu, a
neighbour's keypress, no answer / a machine / a bad number falling back, a call create that timed out
placed once, and signatures refused when wrong."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from escalation.models import IncidentState, Outcome, SmsStatus
from escalation.service import AlertsService
from mimamori.clock import FakeClock
from registry.models import ContactChannel
from tests.support.escalation_harness import (
    KATO,
    SUZUKI,
    alerts_config,
    fake_twilio,
    finding,
    import_households,
    running_alerts,
    until,
)
from tests.support.harness import wait_for
from tests.support.twilio_fake_server import FakeTwilio, post_signed

pytestmark = pytest.mark.integration

YAMADA = "+819000000001"


def town(suzuki: list[str], *, resident: bool = False) -> dict[str, Any]:
    """Yamada (on voice) checked first when ``resident``; then Suzuki (``suzuki`` channels), then Kato."""
    tiers: list[dict[str, Any]] = [
        {"kind": "neighbours", "contacts": ["n-suzuki", "n-kato"], "mode": "one_by_one", "wait_minutes": 15}
    ]
    if resident:
        tiers.insert(0, {"kind": "resident_check", "contacts": ["r-yamada"], "wait_minutes": 10})
    return {
        "contacts": [
            {
                "id": "r-yamada",
                "name": "山田花子",
                "phone": YAMADA,
                "role": "resident",
                "channels": ["voice"],
            },
            {"id": "n-suzuki", "name": "鈴木一郎", "phone": SUZUKI, "role": "neighbour", "channels": suzuki},
            {"id": "n-kato", "name": "加藤美咲", "phone": KATO, "role": "neighbour"},
        ],
        "households": [
            {"id": "demo-0001", "name": "山田花子", "address_hint": "桜町2丁目", "policy": {"tiers": tiers}}
        ],
    }


async def call_to(twilio: FakeTwilio, service: AlertsService, phone: str) -> str:
    """The SID of the call placed to ``phone``, once our queue has recorded it."""
    await until(twilio, lambda: len(twilio.placed(phone)) == 1)
    sid = twilio.placed(phone)[0].sid
    await wait_for(lambda: service.repo.sms_by_sid(sid) is not None, service.dispatcher.changed)
    return sid


async def test_the_resident_is_called_and_presses_1_for_i_am_fine(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(["sms"], resident=True))
        async with running_alerts(config, clock) as service:
            (incident,) = [service.engine.open_from_finding(finding(), clock.now())]
            assert incident is not None
            sid = await call_to(twilio, service, YAMADA)
            call = twilio.placed(YAMADA)[0]
            assert call.machine_detection == "Enable"
            assert call.url.startswith(f"{service.public_url}/twilio/voice/answer?m=")
            spoken, answered = await twilio.answer(sid, digits="1")
            assert 'language="ja-JP"' in spoken
            assert "<Gather" in spoken
            assert "大丈夫なら1を、助けが必要なら9を押してください" in spoken
            assert "行ける方は1" not in spoken  # her own menu: 1 never means "I'll go" to her
            assert "ありがとうございました" in answered
            assert "<Hangup" in answered
            closed = service.repo.incident(incident.id)
            assert closed is not None
            assert closed.outcome is Outcome.SAFE
            assert twilio.created() == []  # no SMS to anyone: she answered the call
            (alert,) = service.repo.sms_messages(incident=incident.id)
            assert alert.channel is ContactChannel.VOICE
            assert "07:10" in alert.body  # the same explanation as the SMS


async def test_the_resident_presses_9_for_help_and_a_stray_key_is_asked_again(
    tmp_path, clock: FakeClock
) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(["sms"], resident=True))
        async with running_alerts(config, clock) as service:
            incident = service.engine.open_from_finding(finding(), clock.now())
            assert incident is not None
            sid = await call_to(twilio, service, YAMADA)
            _, again = await twilio.answer(sid, digits="2")  # not on her menu: asked again
            assert "その番号は使えません" in again
            assert "<Gather" in again
            assert service.repo.incident(incident.id).state is not IncidentState.RESOLVED  # type: ignore[union-attr]
            *_, helped = await twilio.press(sid, "9")
            assert "専門職に連絡しました" in helped
            steps = [s.kind.value for s in service.repo.steps(incident.id)]
            assert "help" in steps


async def test_a_neighbour_presses_1_and_claims_it(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(["voice", "sms"]))
        async with running_alerts(config, clock) as service:
            incident = service.engine.open_from_finding(finding(), clock.now())
            assert incident is not None
            sid = await call_to(twilio, service, SUZUKI)
            spoken, answered = await twilio.answer(sid, digits="1")
            assert "行ける方は1、行けない方は2、無事を確認済みなら3、救急が必要なら9" in spoken
            assert "向かってください" in answered
            claimed = service.repo.incident(incident.id)
            assert claimed is not None
            assert claimed.claimed_by == "n-suzuki"
            # His thanks go to his first text channel (SMS), never as a second call.
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 1)
            assert len(twilio.placed(SUZUKI)) == 1
            (alert,) = [m for m in service.repo.sms_messages() if m.channel is ContactChannel.VOICE]
            retried = {"CallSid": sid, "AccountSid": twilio.account_sid, "Digits": "1", "To": SUZUKI}
            gather = f"{service.public_url}/twilio/voice/gather?m={alert.id}"
            assert await post_signed(gather, retried, twilio.auth_token) == 200  # Twilio retrying it
            assert len(service.repo.sms_messages(incident=incident.id)) == 2


async def test_no_answer_falls_back_to_sms_then_the_next_person(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(["voice", "sms"]))
        async with running_alerts(config, clock) as service:
            incident = service.engine.open_from_finding(finding(), clock.now())
            assert incident is not None
            sid = await call_to(twilio, service, SUZUKI)
            assert await twilio.end_call(sid, "no-answer") == 204
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 1)  # the same alert by SMS, at once
            sms = twilio.created(SUZUKI)[0]
            assert "行ける1 無理2 無事3 救急119" in sms.body
            await wait_for(lambda: service.repo.sms_by_sid(sms.sid) is not None, service.dispatcher.changed)
            assert twilio.created(KATO) == []  # Suzuki may still read it: Kato waits his turn
            await twilio.send_status(sms.sid, "undelivered", 30005)  # no channel left for Suzuki
            await until(twilio, lambda: len(twilio.created(KATO)) == 1)  # the next person, at once
            audit = [a.action for a in service.repo.audit_log(incident=incident.id)]
            assert "notify.fallback" in audit
            assert "voice.status" in audit
            assert "voice.sent" in audit


async def test_an_answering_machine_moves_on_at_once(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(["sms"], resident=True))
        async with running_alerts(config, clock) as service:
            service.engine.open_from_finding(finding(), clock.now())
            sid = await call_to(twilio, service, YAMADA)
            (said,) = await twilio.answer(sid, answered_by="machine_start")
            assert "<Hangup" in said
            assert "<Say" not in said
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 1)  # not 10 minutes later
            message = service.repo.sms_by_sid(sid)
            assert message is not None
            assert message.status is SmsStatus.UNDELIVERED


async def test_an_invalid_number_falls_back_and_a_busy_line_too(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(["voice", "sms"]))
        twilio.faults.number_errors[SUZUKI] = 21217  # refused for calls and SMS alike
        async with running_alerts(config, clock) as service:
            incident = service.engine.open_from_finding(finding(), clock.now())
            assert incident is not None
            await until(twilio, lambda: len(twilio.placed(KATO)) + len(twilio.created(KATO)) == 1)
            channels = {m.channel: m.status for m in service.repo.sms_messages(incident=incident.id)}
            assert channels[ContactChannel.VOICE] is SmsStatus.FAILED
            assert channels[ContactChannel.SMS] in (SmsStatus.FAILED, SmsStatus.SENT)


async def test_a_call_create_that_timed_out_is_placed_once(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(["voice"]))
        twilio.faults.hang_next = 1
        twilio.faults.hang_after_create = True
        twilio.faults.hang_s = 2.0
        async with running_alerts(config, clock) as service:
            service.engine.open_from_finding(finding(), clock.now())
            await wait_for(lambda: service.dispatcher.attempts >= 1, service.dispatcher.changed)
            clock.advance(timedelta(seconds=5))
            service.dispatcher.wake()
            await wait_for(lambda: service.dispatcher.attempts >= 2, service.dispatcher.changed)
            assert len(twilio.placed(SUZUKI)) == 1
            (message,) = service.repo.sms_messages()
            assert message.status is SmsStatus.SENT
            assert message.provider_sid == twilio.placed(SUZUKI)[0].sid


async def test_call_webhooks_refuse_a_wrong_signature(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(["voice"]))
        async with running_alerts(config, clock) as service:
            incident = service.engine.open_from_finding(finding(), clock.now())
            assert incident is not None
            sid = await call_to(twilio, service, SUZUKI)
            (message,) = service.repo.sms_messages()
            form = {"CallSid": sid, "Digits": "1", "From": "+815000000000", "To": SUZUKI}
            for path in (
                f"/twilio/voice/gather?m={message.id}",
                "/twilio/voice/status",
                "/twilio/voice/answer",
            ):
                url = f"{service.public_url}{path}"
                assert await post_signed(url, {**form, "CallStatus": "failed"}, "wrong-token") == 403
                assert await post_signed(url, form, twilio.auth_token, signature="") == 403
            assert service.webhooks is not None
            assert service.webhooks.rejected_signatures == 6
            after = service.repo.incident(incident.id)
            assert after is not None
            assert after.claimed_by is None
            assert service.repo.sms_by_sid(sid).status is SmsStatus.SENT  # type: ignore[union-attr]
