"""Delivery through the real twilio library when Twilio misbehaves: 500s, timeouts, bad numbers,
undelivered status callbacks. Messages go out exactly once; a person who cannot be reached is
skipped at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from escalation.models import SmsStatus
from escalation.service import AlertsService
from mimamori.clock import FakeClock
from tests.support.escalation_harness import (
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
from tests.support.harness import wait_for

pytestmark = pytest.mark.integration


async def attempts(service: AlertsService, n: int) -> None:
    """Wait until the dispatcher has made ``n`` attempts (each ends with the stored outcome)."""
    await wait_for(lambda: service.dispatcher.attempts >= n, service.dispatcher.changed)


def one_by_one() -> dict[str, Any]:
    """Neighbours one at a time (15 minutes each), then a volunteer."""
    return {
        "contacts": [
            {"id": "n-suzuki", "name": "鈴木一郎", "phone": SUZUKI, "role": "neighbour"},
            {"id": "n-kato", "name": "加藤美咲", "phone": KATO, "role": "neighbour"},
            {"id": "v-ito", "name": "伊藤健", "phone": ITO, "role": "volunteer"},
        ],
        "households": [
            {
                "id": "demo-0001",
                "name": "山田花子",
                "address_hint": "桜町2丁目",
                "policy": {
                    "tiers": [
                        {"kind": "neighbours", "contacts": ["n-suzuki", "n-kato"], "mode": "one_by_one"},
                        {"kind": "volunteers", "contacts": ["v-ito"]},
                    ]
                },
            }
        ],
    }


async def test_server_errors_then_recovery_send_once(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, one_by_one())
        twilio.faults.fail_next = 3  # three 500s in a row
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            for n in range(1, 4):
                await attempts(service, n)
                assert service.repo.sms_messages()[0].status is SmsStatus.QUEUED
                clock.advance(timedelta(seconds=5 * 2 ** (n - 1)))  # the backoff: 5 s, 10 s, 20 s
                service.dispatcher.wake()
            await until(twilio, lambda: len(twilio.created()) == 1)
            (message,) = service.repo.sms_messages()
            assert message.status is SmsStatus.SENT
            assert message.attempts == 4
            assert [r.outcome for r in twilio.requests if r.method == "POST"] == [
                "500",
                "500",
                "500",
                "created",
            ]
            assert len(twilio.created(SUZUKI)) == 1


async def test_timeout_after_twilio_accepted_is_not_sent_twice(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, one_by_one())
        twilio.faults.hang_next = 1
        twilio.faults.hang_after_create = True  # Twilio took it, but the answer never arrives in time
        twilio.faults.hang_s = 2.0
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await attempts(service, 1)
            assert service.repo.sms_messages()[0].status is SmsStatus.QUEUED
            assert len(twilio.created()) == 1
            clock.advance(timedelta(seconds=5))
            service.dispatcher.wake()
            await attempts(service, 2)
            assert service.repo.sms_messages()[0].status is SmsStatus.SENT
            assert len(twilio.created(SUZUKI)) == 1  # found by asking Twilio, not sent again
            assert [r.outcome for r in twilio.requests] == ["created-then-timeout", "listed"]
            assert "sms.recovered" in [e.action for e in service.repo.audit_log()]


async def test_timeouts_before_twilio_accepted_send_once_on_recovery(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, one_by_one())
        twilio.faults.hang_next = 2
        twilio.faults.hang_s = 2.0
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            for n in (1, 2):
                await attempts(service, n)
                assert service.repo.sms_messages()[0].status is SmsStatus.QUEUED
                clock.advance(timedelta(seconds=60))
                service.dispatcher.wake()
            await until(twilio, lambda: len(twilio.created()) == 1)
            assert len(twilio.created(SUZUKI)) == 1


async def test_invalid_number_skips_to_the_next_person_at_once(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, one_by_one())
        twilio.faults.number_errors[SUZUKI] = 21211
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            # no time passes: Kato is texted as soon as Suzuki's number is refused
            await until(twilio, lambda: len(twilio.created(KATO)) == 1)
            suzuki = [m for m in service.repo.sms_messages() if m.to == SUZUKI]
            assert [(m.status, m.error_code, m.attempts) for m in suzuki] == [(SmsStatus.FAILED, 21211, 1)]
            assert not twilio.created(ITO)
            steps = [s.kind.value for s in service.repo.steps(service.repo.incidents()[0].id)]
            assert steps == ["opened", "notified", "delivery_failed", "notified"]


async def test_undelivered_status_moves_on_at_once(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, one_by_one())
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 1)
            assert not twilio.created(KATO)
            assert await twilio.send_status(twilio.created(SUZUKI)[0].sid, "undelivered", 30003) == 204
            await until(twilio, lambda: len(twilio.created(KATO)) == 1)
            (stored,) = [m for m in service.repo.sms_messages() if m.to == SUZUKI]
            assert stored.status is SmsStatus.UNDELIVERED
            assert stored.error_code == 30003


async def test_stop_from_the_only_person_texted_moves_on_at_once(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, one_by_one())
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 1)
            assert await reply(service, config, SUZUKI, "STOP", "SMstop") == 200
            await until(twilio, lambda: len(twilio.created(KATO)) == 1)  # no 15-minute wait
            assert len(twilio.created(SUZUKI)) == 1  # and no acknowledgement to the opted-out number
