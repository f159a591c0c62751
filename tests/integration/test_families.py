"""Families through the running alerts service, with the real twilio library (against
tests/support/twilio_fake_server.py) and a real SMTP server (aiosmtpd): told when an incident opens and
closes, never asked to go; the daily digest at 19:00 household time, once, by SMS and by e-mail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from escalation.models import SmsPurpose
from escalation.service import AlertsService
from mimamori.clock import FakeClock
from mimamori.config import Config, EmailConfig
from tests.support.escalation_harness import (
    SUZUKI,
    alerts_config,
    fake_twilio,
    finding,
    import_households,
    reply,
    running_alerts,
    until,
)
from tests.support.harness import wait_for
from tests.support.smtp_server import smtp_server

pytestmark = pytest.mark.integration

TOKYO = ZoneInfo("Asia/Tokyo")
SON = "+819000000071"
DAUGHTER = "mary@example.org"
NEIGHBOUR_2 = "+819000000072"


def town() -> dict[str, Any]:
    def household(id_: str, name: str, neighbour: str, family: list[dict[str, Any]]) -> dict[str, Any]:
        policy = {"tiers": [{"kind": "neighbours", "contacts": [neighbour]}]}
        return {"id": id_, "name": name, "policy": policy, "family": family}

    return {
        "contacts": [
            {"id": "n-suzuki", "name": "鈴木一郎", "phone": SUZUKI, "role": "neighbour"},
            {"id": "n-kato", "name": "加藤", "phone": NEIGHBOUR_2, "role": "neighbour"},
            {"id": "f-son", "name": "山田一郎", "phone": SON, "role": "family"},
            {
                "id": "f-daughter",
                "name": "Mary Yamada",
                "phone": "+447700900123",
                "role": "family",
                "language": "en",
                "email": DAUGHTER,
                "channels": ["email"],
            },
        ],
        "households": [
            household("demo-0001", "山田花子", "n-suzuki", [{"contact": "f-son", "digest": "sms"}]),
            household(
                "demo-0002",
                "Yamada Ume",
                "n-kato",
                [{"contact": "f-daughter", "digest": "email", "incidents": True}],
            ),
        ],
    }


def local(h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, 26, h, m, tzinfo=TOKYO)


async def next_digest_run(service: AlertsService) -> None:
    """Wait for a whole run of the digest job that started after this call."""
    seen = service.digest_runs
    await wait_for(lambda: service.digest_runs >= seen + 2, service.digested)


def config_with_mail(tmp_path: Any, twilio_url: str, port: int) -> Config:
    email = EmailConfig(enabled=True, smtp_host="127.0.0.1", smtp_port=port, security="none")
    return alerts_config(tmp_path, twilio_url).model_copy(update={"email": email})


async def test_the_family_is_told_when_an_incident_opens_and_closes(tmp_path, clock: FakeClock) -> None:
    with smtp_server() as (mailbox, port):
        async with fake_twilio() as twilio:
            config = config_with_mail(tmp_path, twilio.base_url, port)
            import_households(config, town())
            clock.set(local(10, 20))
            async with running_alerts(config, clock) as service:
                service.engine.open_from_finding(finding(at=clock.now()), clock.now())
                await until(
                    twilio, lambda: len(twilio.created(SON)) == 1 and len(twilio.created(SUZUKI)) == 1
                )
                (opened,) = twilio.created(SON)
                assert (
                    opened.body
                    == "【見守り・ご家族へ】山田花子さん:07:10から動きなし。地域の方が確認しています。"
                )
                assert "行ける" in twilio.created(SUZUKI)[0].body  # the neighbour is asked; the son is not
                assert await reply(service, config, SUZUKI, "3", "SMreply1") == 200
                await until(twilio, lambda: len(twilio.created(SON)) == 2)
                assert (
                    twilio.created(SON)[1].body
                    == "【見守り・ご家族へ】山田花子さんの件は終了しました(無事)。"
                )
                # the other household's family, in English and by e-mail
                other = finding(household="demo-0002", at=clock.now())
                service.engine.open_from_finding(other, clock.now())
                await wait_for(lambda: len(mailbox.messages) == 1, service.dispatcher.changed)
                mail = mailbox.messages[0]
                assert mail["To"] == DAUGHTER
                assert str(mail["Subject"]).startswith(
                    "Mimamori (family): Yamada Ume: no activity since 07:10."
                )
                purposes = {
                    m.purpose for m in service.repo.sms_messages() if m.contact in ("f-son", "f-daughter")
                }
                assert purposes == {SmsPurpose.FAMILY_NOTICE}


async def test_the_daily_digest_at_seven_in_the_evening_once(tmp_path, clock: FakeClock) -> None:
    with smtp_server() as (mailbox, port):
        async with fake_twilio() as twilio:
            config = config_with_mail(tmp_path, twilio.base_url, port)
            data = town()
            for h in data["households"]:  # only the digest here: no incident notices
                h["family"][0]["incidents"] = False
            import_households(config, data)
            clock.set(local(10, 20))
            async with running_alerts(config, clock) as service:
                incident = service.engine.open_from_finding(finding(at=clock.now()), clock.now())
                assert incident is not None
                await until(twilio, lambda: len(twilio.created(SUZUKI)) == 1)
                assert await reply(service, config, SUZUKI, "3", "SMreply2") == 200
                await until(twilio, lambda: len(twilio.created(SUZUKI)) == 2)
                clock.set(local(18, 59))
                await next_digest_run(service)
                assert twilio.created(SON) == []
                assert mailbox.messages == []
                clock.set(local(19, 0))
                await until(twilio, lambda: len(twilio.created(SON)) == 1)
                assert (
                    twilio.created(SON)[0].body
                    == "【見守り】山田花子さん(11/26):10:20見守り連絡(動きなし)→無事。"
                )
                await wait_for(lambda: len(mailbox.messages) == 1, service.dispatcher.changed)
                mail = mailbox.messages[0]
                assert mail["To"] == DAUGHTER
                assert str(mail["Subject"]) == "Mimamori: Yamada Ume (11/26): A normal day: all looked well."
                clock.set(local(20, 30))
                await next_digest_run(service)
            async with running_alerts(config, clock) as service:  # a restart the same evening
                await next_digest_run(service)
                clock.advance(timedelta(hours=3))  # 23:30: too late for a digest
                await next_digest_run(service)
                digests = [m for m in service.repo.sms_messages() if m.purpose is SmsPurpose.DIGEST]
                assert len(digests) == 2
            assert len(twilio.created(SON)) == 1
            assert len(mailbox.messages) == 1
