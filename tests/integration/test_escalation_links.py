"""One-tap links: the page shows the actions for who is looking (four for a contact, the outcomes for
the claimer, two for the resident) and changes nothing; a tap acts; forged or expired links are refused.
Claim timeouts, "help" and activity resuming, end to end in the running service."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from escalation.models import IncidentState, Outcome, StepKind
from mimamori.clock import FakeClock
from registry.households_import import read_file
from store.base import HouseholdActivity
from tests.support.escalation_harness import (
    BROWN,
    CENTER,
    EXAMPLE,
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

pytestmark = pytest.mark.integration
RESIDENT = "+819000000001"  # 山田花子 herself (docs/households.example.yaml)


def link_in(body: str) -> str:
    match = re.search(r"(http://\S+/l/\S+)", body)
    assert match, body
    return match.group(1)


async def test_link_page_and_tap(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service, aiohttp.ClientSession() as http:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            url = link_in(twilio.created(KATO)[0].body)
            async with http.get(url) as page:
                html = await page.text()
                assert page.status == 200
            assert "山田花子" in html
            for label in ("1 行けます", "2 行けません", "3 無事を確認", "119 救急・専門職へ"):
                assert label in html
            assert service.repo.incidents()[0].state is IncidentState.NOTIFYING  # viewing changes nothing

            async with http.post(url, data={"action": "go"}) as tapped:
                assert tapped.status == 200
                assert "向かってください" in await tapped.text()
            incident = service.repo.incidents()[0]
            assert incident.state is IncidentState.CLAIMED
            assert incident.claimed_by == "n-kato"
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 2)  # Suzuki is told
            assert "加藤美咲" in twilio.created(SUZUKI)[1].body

            forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
            async with http.get(forged) as bad:
                assert bad.status == 404
            async with http.post(url, data={"action": "delete-everything"}) as bad_action:
                assert bad_action.status == 400
            clock.advance(timedelta(hours=25))
            async with http.get(url) as expired:
                assert expired.status == 410
            actions = [e.action for e in service.repo.audit_log()]
            assert "link.view" in actions
            assert "link.tap" in actions
            assert actions.count("link.refused") == 2


async def test_claim_without_outcome_escalates_anyway(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            assert await reply(service, config, SUZUKI, "1", "SMa") == 200
            await until(twilio, lambda: len(twilio.created()) == 4)  # thanks + Kato told
            clock.advance(timedelta(minutes=44))
            service.engine.process_due(clock.now())
            assert service.repo.incidents()[0].state is IncidentState.CLAIMED
            clock.advance(timedelta(minutes=1))  # the policy's 45 minutes
            await until(twilio, lambda: len(twilio.created(ITO)) == 1)
            incident = service.repo.incidents()[0]
            assert incident.state is IncidentState.NOTIFYING
            assert incident.claimed_by is None
            assert StepKind.CLAIM_EXPIRED in [s.kind for s in service.repo.steps(incident.id)]
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 3)
            assert "次の方" in twilio.created(SUZUKI)[2].body  # the claimer knows


async def test_help_goes_straight_to_professionals(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            assert await reply(service, config, KATO, "救急", "SMh") == 200
            await until(twilio, lambda: len(twilio.created(CENTER)) == 1)
            assert not twilio.created(ITO)  # the volunteers were skipped
            assert not twilio.created(BROWN)


async def test_activity_pauses_then_closes_and_help_still_reopens(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            moved = HouseholdActivity("demo-0001", clock.now() + timedelta(minutes=3), "motion-1", None)
            clock.advance(timedelta(minutes=4))
            service.engine.on_live_state([moved], clock.now())
            await until(twilio, lambda: len(twilio.created()) == 4)
            assert "動きがありました" in twilio.created(SUZUKI)[1].body
            assert service.repo.incidents()[0].state is IncidentState.RESUMED
            service.engine.on_live_state([moved], clock.now())  # the same activity again: told once
            assert len(service.repo.sms_messages()) == 4

            again = HouseholdActivity("demo-0001", clock.now() + timedelta(minutes=16), "motion-1", None)
            clock.advance(timedelta(minutes=17))
            service.engine.on_live_state([again], clock.now())
            await until(twilio, lambda: len(twilio.created()) == 6)
            assert "対応は不要" in twilio.created(SUZUKI)[2].body
            incident = service.repo.incidents()[0]
            assert incident.state is IncidentState.RESOLVED
            assert incident.outcome is Outcome.ACTIVITY_RESUMED

            # 119 from someone who was texted still works after an automatic close
            assert await reply(service, config, KATO, "119", "SMreopen") == 200
            await until(twilio, lambda: len(twilio.created(CENTER)) == 1)
            assert service.repo.incidents()[0].state is IncidentState.NOTIFYING


async def test_the_residents_page_has_two_buttons_and_the_claimers_page_takes_an_outcome(
    tmp_path, clock: FakeClock
) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, with_resident_check())
        async with running_alerts(config, clock) as service, aiohttp.ClientSession() as http:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created(RESIDENT)) == 1)
            resident_url = link_in(twilio.created(RESIDENT)[0].body)
            async with http.get(resident_url) as page:
                html = await page.text()
            assert html.count('type="submit"') == 2
            assert "大丈夫です" in html
            assert "助けて" in html
            assert "行けます" not in html
            async with http.post(resident_url, data={"action": "go"}) as refused:
                assert refused.status == 200  # not offered: nothing happens
            assert service.repo.incidents()[0].state is not IncidentState.RESOLVED

            clock.advance(timedelta(minutes=10))
            service.engine.process_due(clock.now())
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 1)
            url = link_in(twilio.created(SUZUKI)[0].body)
            async with http.post(url, data={"action": "go"}) as tapped:
                assert "向かってください" in await tapped.text()
            async with http.get(url) as page:
                html = await page.text()
            assert "4 訪問したが応答なし" in html
            assert "5 病院へ搬送" in html
            assert "1 行けます" not in html
            async with http.post(url, data={"action": "hospital"}) as tapped:
                assert "終了にしました" in await tapped.text()
            incident = service.repo.incidents()[0]
            assert incident.state is IncidentState.RESOLVED
            assert incident.outcome is Outcome.HOSPITAL
            assert incident.resolved_by == "link:n-suzuki"


def with_resident_check() -> dict[str, Any]:
    """The example household with the resident asked first (10 minutes), then the neighbours."""
    data = read_file(EXAMPLE)
    tiers = data["households"][0]["policy"]["tiers"]
    tiers.insert(0, {"kind": "resident_check", "contacts": ["r-yamada"], "mode": "all", "wait_minutes": 10})
    return data
