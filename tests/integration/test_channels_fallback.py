"""Falling back across channels in the running service: an SMS never reported delivered calls the
person after its deadline; e-mail through a real SMTP server (aiosmtpd), and a refused address falls
back to SMS at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from detection.findings import FindingKind, Severity
from escalation.channels import DELIVERY_DEADLINE
from escalation.models import SmsStatus
from mimamori.clock import FakeClock
from mimamori.config import EmailConfig
from registry.models import ContactChannel
from tests.support.escalation_harness import (
    SUZUKI,
    alerts_config,
    fake_twilio,
    finding,
    import_households,
    running_alerts,
    until,
)
from tests.support.harness import wait_for
from tests.support.smtp_server import smtp_server

pytestmark = pytest.mark.integration

TECH = "+819000000041"
TECH_MAIL = "tech@example.jp"
TECHNICAL = {"technical": ["t-tech"]}


def town(suzuki: list[str]) -> dict[str, Any]:
    tech = {"id": "t-tech", "name": "高橋", "phone": TECH, "role": "technical", "email": TECH_MAIL}
    return {
        "contacts": [
            {"id": "n-suzuki", "name": "鈴木一郎", "phone": SUZUKI, "role": "neighbour", "channels": suzuki},
            tech | {"channels": ["email", "sms"]},
        ],
        "households": [
            {
                "id": "demo-0001",
                "name": "山田花子",
                "policy": {
                    "tiers": [{"kind": "neighbours", "contacts": ["n-suzuki"]}],
                    "technical": ["t-tech"],
                },
            }
        ],
    }


async def test_an_sms_not_delivered_in_time_becomes_a_call(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(["sms", "voice"]))
        async with running_alerts(config, clock) as service:
            service.engine.open_from_finding(finding(), clock.now())
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 1)
            await wait_for(lambda: service.dispatcher.attempts >= 1, service.dispatcher.changed)
            clock.advance(DELIVERY_DEADLINE[ContactChannel.SMS] - timedelta(seconds=1))
            assert service.engine.delivery.check_overdue(clock.now()) == 0  # not yet
            clock.advance(timedelta(seconds=2))
            await until(twilio, lambda: len(twilio.placed(SUZUKI)) == 1)  # the sweep called him
            (sms,) = [m for m in service.repo.sms_messages() if m.channel is ContactChannel.SMS]
            assert sms.status is SmsStatus.UNDELIVERED
            assert "not delivered in 10 min" in sms.error


async def test_email_first_and_a_refused_address_falls_back_to_sms(tmp_path, clock: FakeClock) -> None:
    with smtp_server() as (mailbox, port):
        async with fake_twilio() as twilio:
            email = EmailConfig(enabled=True, smtp_host="127.0.0.1", smtp_port=port, security="none")
            config = alerts_config(tmp_path, twilio.base_url).model_copy(update={"email": email})
            import_households(config, town(["sms"]))
            async with running_alerts(config, clock) as service:
                battery = finding(kind=FindingKind.LOW_BATTERY, severity=Severity.INFO)
                service.engine.open_from_finding(battery, clock.now())
                await wait_for(lambda: len(mailbox.messages) == 1, service.dispatcher.changed)
                mail = mailbox.messages[0]
                assert mail["To"] == TECH_MAIL
                assert "見守り" in str(mail["Subject"])
                assert twilio.created(TECH) == []
                mailbox.refuse_rcpt[TECH_MAIL] = "550 5.1.1 no such user"
                later = finding(
                    kind=FindingKind.LOW_BATTERY, severity=Severity.INFO, at=clock.now() + timedelta(days=8)
                )
                clock.advance(timedelta(days=8))
                service.engine.open_from_finding(later, clock.now())
                await until(twilio, lambda: len(twilio.created(TECH)) == 1)
                assert len(mailbox.messages) == 1
