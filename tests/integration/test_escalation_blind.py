"""Blind households go to the technical contact, never to neighbours; a platform-wide outage (1,000
homes blind at once) gives the operators one alert and nobody else anything."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from detection.findings import FindingKind, Severity
from escalation.models import PLATFORM, IncidentState, StepKind
from mimamori.clock import FakeClock
from tests.support.escalation_harness import (
    OPERATOR,
    alerts_config,
    fake_twilio,
    finding,
    import_households,
    running_alerts,
    until,
)

pytestmark = pytest.mark.integration

TECH = "+819000000041"


def town(homes: int) -> dict[str, Any]:
    contacts = [{"id": "t-tech", "name": "技術担当", "phone": TECH, "role": "technical"}]
    households = []
    for n in range(homes):
        contacts.append({"id": f"n-{n}", "name": f"隣人{n}", "phone": f"+8170{n:08d}", "role": "neighbour"})
        households.append(
            {
                "id": f"h-{n:04d}",
                "name": f"住人{n}",
                "policy": {
                    "tiers": [{"kind": "neighbours", "contacts": [f"n-{n}"]}],
                    "technical": ["t-tech"],
                },
            }
        )
    return {"contacts": contacts, "households": households}


def blind(household: str) -> Any:
    return finding(household, FindingKind.BLIND_GATEWAY, Severity.WARNING)


async def test_one_blind_home_goes_to_the_technical_contact_after_the_hold(
    tmp_path, clock: FakeClock
) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(3))
        async with running_alerts(config, clock) as service:
            service.open_from_findings([blind("h-0001")])
            service.engine.process_due(clock.now())
            assert service.repo.sms_messages() == []  # held: it may be the start of an outage
            clock.advance(timedelta(minutes=5))
            await until(twilio, lambda: len(twilio.created()) == 1)
            (message,) = twilio.created()
            assert message.to == TECH
            assert message.body.startswith("【見守り・技術")
            assert not [m for m in service.repo.sms_messages() if m.to.startswith("+8170")]


async def test_a_thousand_homes_blind_at_once_make_one_operator_alert(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, town(1000))
        async with running_alerts(config, clock) as service:
            service.open_from_findings([blind(f"h-{n:04d}") for n in range(1000)])
            assert len(service.repo.incidents(open_only=True, limit=5000)) == 1000
            clock.advance(timedelta(minutes=5))
            service.engine.process_due(clock.now())
            await until(twilio, lambda: len(twilio.created()) == 1)
            (alert,) = twilio.created()
            assert alert.to == OPERATOR
            assert "1000世帯" in alert.body
            messages = service.repo.sms_messages(limit=5000)
            assert [m.to for m in messages] == [OPERATOR]  # zero to neighbours, zero to the technical contact
            platform = service.repo.open_incident(PLATFORM, FindingKind.BLIND_GATEWAY)
            assert platform is not None
            assert platform.state is IncidentState.NOTIFYING
            home = service.repo.open_incident("h-0500", FindingKind.BLIND_GATEWAY)
            assert home is not None
            assert home.next_due_at is None
            assert [s.kind for s in service.repo.steps(home.id)] == [StepKind.OPENED, StepKind.SUPPRESSED]
            # later ticks change nothing
            clock.advance(timedelta(hours=1))
            service.engine.process_due(clock.now())
            assert len(service.repo.sms_messages(limit=5000)) == 1
