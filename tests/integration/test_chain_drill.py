"""Chain health drills through the running alerts service (real twilio library against the local server,
real state file): every contact texted once, "T" answers the drill and never an open alert, the silent,
the refused and the opted out end on the coverage list, uncovered tiers are flagged, the operators get
the weekly summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalation.drills import ChainDrills, DrillOutcome, coverage
from escalation.models import IncidentState, SmsPurpose
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from tests.support.escalation_harness import (
    BROWN,
    CENTER,
    ITO,
    KATO,
    OPERATOR,
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

ELEVEN_IN_TOKYO = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
TECH = "+819000000041"
CHAIN = {SUZUKI, KATO, ITO, BROWN, CENTER, TECH}  # every contact but the resident


def drills_of(service: object) -> ChainDrills:
    drills = getattr(service, "drills", None)
    assert isinstance(drills, ChainDrills), "drill_every_days is set: the service runs drills"
    return drills


async def test_a_drill_finds_who_cannot_be_reached_without_touching_an_alert(tmp_path: Path) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url, drill_every_days=30)
        import_households(config)
        twilio.faults.number_errors[BROWN] = 21211  # a changed number: the provider refuses it for good
        clock = FakeClock(ELEVEN_IN_TOKYO)
        async with running_alerts(config, clock) as service:
            drills = drills_of(service)
            drills.tick(clock.now())
            service.open_from_findings([])  # wakes the dispatcher
            await until(twilio, lambda: {m.to for m in twilio.created()} == CHAIN - {BROWN})
            assert all("T と返信" in m.body for m in twilio.created())
            drills.tick(clock.now())  # the same run is not sent twice
            service.open_from_findings([finding(at=clock.now())])  # an alert: the neighbours are texted
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 2)
            incident = service.repo.incidents(open_only=True)[0]

            assert await reply(service, config, SUZUKI, "T", "SMdrill1") == 200
            after = service.repo.incident(incident.id)
            assert after is not None
            assert after.state is IncidentState.NOTIFYING
            assert after.claimed_by is None
            await until(twilio, lambda: any("テストの返信" in m.body for m in twilio.created(SUZUKI)))
            assert await reply(service, config, SUZUKI, "1", "SMclaim1") == 200  # the alert still works
            claimed = service.repo.incident(incident.id)
            assert claimed is not None
            assert claimed.claimed_by == "n-suzuki"
            assert await reply(service, config, ITO, "STOP", "SMstop1") == 200

            clock.advance(timedelta(hours=49))
            drills.tick(clock.now())
            found = coverage(service.repo)
            outcomes = {g.contact: g.outcome for g in found.gaps}
            assert outcomes == {
                "n-kato": DrillOutcome.NO_ANSWER,
                "v-ito": DrillOutcome.OPTED_OUT,
                "v-brown": DrillOutcome.SEND_FAILED,
                "p-center": DrillOutcome.NO_ANSWER,
                "t-tech": DrillOutcome.NO_ANSWER,
            }
            assert set(found.flagged) == {("demo-0001", "volunteers"), ("demo-0001", "professionals")}

            clock.advance(timedelta(days=7))  # a week on: the operators' summary, once
            drills.tick(clock.now())
            drills.tick(clock.now())
            service.open_from_findings([])
            await until(twilio, lambda: any("連絡網テスト" in m.body for m in twilio.created(OPERATOR)))
            summaries = [m.body for m in twilio.created(OPERATOR) if "連絡網テスト" in m.body]
            assert summaries == ["【見守り】連絡網テスト: 応答なし3名 送信失敗1名 停止1名 要確認1世帯"]


async def test_no_drill_at_night_and_none_in_the_embedded_default(tmp_path: Path) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url, drill_every_days=30)
        import_households(config)
        clock = FakeClock(datetime(2026, 11, 26, 18, 0, tzinfo=UTC))  # 03:00 in Tokyo
        async with running_alerts(config, clock) as service:
            drills_of(service).tick(clock.now())
            repo: EscalationRepository = service.repo
            assert repo.last_drill_run() is None
            assert [m for m in repo.sms_messages() if m.purpose is SmsPurpose.DRILL] == []
    default = alerts_config(tmp_path / "default", None)
    assert default.alerts.drill_every_days == 0
