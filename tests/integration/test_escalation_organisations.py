"""Organisations' own operators, through the running alerts service (real twilio library against the
local Twilio server): a chain that runs out goes to its organisation's operators (the platform's when it
has none), and a platform outage stays with the platform operators."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from detection.findings import FindingKind, Severity
from escalation.models import PLATFORM, SmsPurpose, StepKind
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

DUTY = "+819000000051"  # the 地域包括支援センター's duty phone: its operator


def two_organisations() -> dict[str, Any]:
    """hokatsu (its own operator c-duty) with h-a and h-c; kirari (none: the platform's) with h-b."""
    contacts = [{"id": "c-duty", "name": "当番", "phone": DUTY, "role": "professional"}]
    households = []
    for n, (hid, org) in enumerate((("h-a", "hokatsu"), ("h-b", "kirari"), ("h-c", "hokatsu"))):
        contacts.append(
            {"id": f"n-{hid}", "name": f"隣人{n}", "phone": f"+81700000000{n}", "role": "neighbour"}
        )
        tiers = [{"kind": "neighbours", "contacts": [f"n-{hid}"], "wait_minutes": 15}]
        households.append({"id": hid, "name": f"住人{n}", "organisation": org, "policy": {"tiers": tiers}})
    organisations = [
        {"id": "hokatsu", "name": "地域包括支援センター", "operators": ["c-duty"]},
        {"id": "kirari", "name": "きらりよしじま"},
    ]
    return {"organisations": organisations, "contacts": contacts, "households": households}


async def test_exhausted_chains_go_to_their_organisations_operators(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, two_organisations())
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding("h-a"), finding("h-b")])
            await until(twilio, lambda: len(twilio.created()) == 2)  # the two neighbours
            clock.advance(timedelta(minutes=15))  # nobody answered: both chains run out
            service.engine.process_due(clock.now())
            await until(twilio, lambda: len(twilio.created()) == 4)
            household_of = {i.id: i.household for i in service.repo.incidents()}
            operators = {
                household_of[str(m.incident)]: m.to
                for m in service.repo.sms_messages()
                if m.purpose is SmsPurpose.OPERATOR
            }
            assert operators == {"h-a": DUTY, "h-b": OPERATOR}
            assert "住人0" in twilio.created(DUTY)[0].body  # the household's alert, to its own operator
            for household, told in (("h-a", "c-duty"), ("h-b", "operator-1")):
                [incident] = service.repo.incidents(household)
                steps = {s.kind: s.detail for s in service.repo.steps(incident.id)}
                assert steps[StepKind.OPERATORS_TOLD] == told


async def test_a_platform_outage_stays_with_the_platform_operators(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url, mass_blind_threshold=3)
        import_households(config, two_organisations())
        async with running_alerts(config, clock) as service:
            blind = [finding(h, FindingKind.BLIND_GATEWAY, Severity.WARNING) for h in ("h-a", "h-b", "h-c")]
            service.open_from_findings(blind)
            clock.advance(timedelta(minutes=5))
            service.engine.process_due(clock.now())
            await until(twilio, lambda: len(twilio.created()) == 1)
            assert [m.to for m in twilio.created()] == [OPERATOR]
            assert service.repo.open_incident(PLATFORM, FindingKind.BLIND_GATEWAY) is not None
            clock.advance(timedelta(hours=1))
            service.engine.process_due(clock.now())
            assert [m.to for m in service.repo.sms_messages()] == [OPERATOR]  # never the duty phone
