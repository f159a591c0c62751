"""The simulated fall, end to end: finding → incident → neighbours → volunteers → claim → safe.

Real twilio library (async client) against the local Twilio-compatible server, signed webhooks over
HTTP, a fixed clock moved by the test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from twilio.request_validator import RequestValidator

from escalation.models import IncidentState, Outcome, SmsStatus
from escalation.texts import ALERT_BUDGET_JA
from mimamori.clock import FakeClock
from tests.support.escalation_harness import (
    BROWN,
    CENTER,
    ITO,
    KATO,
    SUZUKI,
    alerts_config,
    fake_twilio,
    finding,
    import_households,
    reply,
    running_alerts,
    until,
)
from tests.support.twilio_fake_server import AUTH_TOKEN, post_signed

pytestmark = pytest.mark.integration


async def test_simulated_fall_goes_through_the_tiers(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            assert {m.to for m in twilio.created()} == {SUZUKI, KATO}
            first = twilio.created(SUZUKI)[0]
            assert len(first.body) <= ALERT_BUDGET_JA, first.body
            assert "山田花子" in first.body
            assert "07:10" in first.body
            assert "/l/" in first.body
            assert first.status_callback == f"{service.public_url}/twilio/status"

            # nobody answers: 14 minutes is not yet the wait, 15 is
            clock.advance(timedelta(minutes=14))
            service.engine.process_due(clock.now())
            assert len(twilio.created()) == 2
            clock.advance(timedelta(minutes=1))
            await until(twilio, lambda: len(twilio.created()) == 4)
            assert {m.to for m in twilio.created()[2:]} == {ITO, BROWN}

            assert await reply(service, config, ITO, "1", "SMin1") == 200
            incident = service.repo.incidents()[0]
            assert incident.state is IncidentState.CLAIMED
            assert incident.claimed_by == "v-ito"
            await until(twilio, lambda: len(twilio.created()) == 8)
            told = {m.to: m.body for m in twilio.created()[4:]}
            assert set(told) == {ITO, SUZUKI, KATO, BROWN}
            assert "伊藤健" in told[SUZUKI]  # the others are told who is going

            # a second claim loses, politely
            assert await reply(service, config, BROWN, "OK", "SMin2") == 200
            await until(twilio, lambda: len(twilio.created()) == 9)
            assert "伊藤健 is already going" in twilio.created()[-1].body  # Brown reads English
            assert service.repo.incidents()[0].claimed_by == "v-ito"

            assert await reply(service, config, ITO, "3", "SMin3") == 200
            incident = service.repo.incidents()[0]
            assert incident.state is IncidentState.RESOLVED
            assert incident.outcome is Outcome.SAFE
            assert incident.resolved_by == "contact:v-ito"
            await until(twilio, lambda: len(twilio.created()) == 13)

            # the professionals' wave never fires: the incident is resolved
            clock.advance(timedelta(hours=2))
            service.engine.process_due(clock.now())
            assert not twilio.created(CENTER)

            actions = [e.action for e in service.repo.audit_log(incident=incident.id)]
            for expected in (
                "incident.opened",
                "incident.notified",
                "sms.sent",
                "reply",
                "incident.claimed",
                "incident.resolved",
            ):
                assert expected in actions, expected
            assert actions.count("incident.notified") == 2
            assert actions.index("incident.claimed") < actions.index("incident.resolved")
            # delivery statuses are recorded too
            assert await twilio.send_status(first.sid, "delivered") == 204
            stored = next(m for m in service.repo.sms_messages() if m.provider_sid == first.sid)
            assert stored.status is SmsStatus.DELIVERED
            assert "sms.status" in [e.action for e in service.repo.audit_log(incident=incident.id)]


async def test_bad_signatures_are_refused_and_change_nothing(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            before = (
                service.repo.incidents(),
                len(service.repo.audit_log()),
                len(service.repo.sms_messages()),
            )
            url = f"{service.public_url}/twilio/sms"
            form = {"From": SUZUKI, "To": "+815000000000", "Body": "1", "MessageSid": "SMx"}
            assert await post_signed(url, form, "wrong-token") == 403
            assert await post_signed(url, form, "", signature="") == 403
            assert await post_signed(url, form, "", signature="AAAA") == 403
            status = {
                "MessageSid": twilio.created()[0].sid,
                "MessageStatus": "undelivered",
                "ErrorCode": "30003",
            }
            assert await post_signed(f"{service.public_url}/twilio/status", status, "wrong-token") == 403
            after = (
                service.repo.incidents(),
                len(service.repo.audit_log()),
                len(service.repo.sms_messages()),
            )
            assert after == before
            assert service.webhooks is not None
            assert service.webhooks.rejected_signatures == 4


async def test_stop_opts_out_and_unknown_numbers_are_refused(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)

            assert await reply(service, config, "+819012345678", "1", "SMu1") == 200
            assert service.desk is not None
            assert service.desk.refused_replies == 1
            assert service.repo.incidents()[0].state is IncidentState.NOTIFYING

            assert await reply(service, config, KATO, "停止", "SMs1") == 200
            kato = service.repo.contact("n-kato")
            assert kato is not None
            assert kato.opted_out_at == clock.now()
            incident = service.repo.incidents()[0]
            assert incident.state is IncidentState.NOTIFYING
            assert incident.claimed_by is None
            actions = [e.action for e in service.repo.audit_log()]
            assert "contact.opted_out" in actions
            assert "coverage.gap" in actions

            # Kato is told once that she opted out; Suzuki claims; Kato is not told, nor ever again
            assert await reply(service, config, SUZUKI, "行きます", "SMc1") == 200
            await until(twilio, lambda: len(twilio.created()) == 4)
            assert len(twilio.created(KATO)) == 2  # the alert and the opt-out confirmation
            assert len([m for m in service.repo.sms_messages() if m.to == KATO]) == 2


async def test_signatures_behind_a_tls_proxy_use_the_public_url(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url, public_url="https://mimamori.example.jp")
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            assert "https://mimamori.example.jp/l/" in twilio.created()[0].body
            local = f"http://127.0.0.1:{service.port}/twilio/sms"
            form = {"From": SUZUKI, "To": "+815000000000", "Body": "1", "MessageSid": "SMp"}
            # Twilio signs the URL it was given (the proxy's); the request reaches us on the local one
            assert await post_signed(local, form, AUTH_TOKEN, signature=_sign(local, form)) == 403
            assert (
                await post_signed(local, form, AUTH_TOKEN, signature=_sign(PUBLIC + "/twilio/sms", form))
                == 200
            )
            assert service.repo.incidents()[0].claimed_by == "n-suzuki"


PUBLIC = "https://mimamori.example.jp"


def _sign(url: str, form: dict[str, str]) -> str:
    return str(RequestValidator(AUTH_TOKEN).compute_signature(url, form))
