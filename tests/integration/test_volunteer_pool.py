"""The shared volunteer pool through the running alerts service and the real twilio library: round-robin,
weekly caps, availability windows, 休み/再開 by SMS, and the month's record by SMS (記録)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from escalation.models import Outcome, SmsPurpose
from escalation.records import PointsRule, records
from escalation.service import AlertsService
from mimamori.clock import FakeClock
from tests.support.escalation_harness import (
    alerts_config,
    fake_twilio,
    finding,
    import_households,
    reply,
    running_alerts,
    until,
)
from tests.support.twilio_fake_server import FakeTwilio

pytestmark = pytest.mark.integration
REPLY = SmsPurpose.REPLY

A, B, DAY, RESTING, PRO = "+819000000101", "+819000000102", "+819000000103", "+819000000104", "+819000000131"


def _volunteer(cid: str, phone: str, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "name": cid.upper(), "phone": phone, "role": "volunteer", "pools": ["kirari"], **extra}


HOMES = ("h1", "h2", "h3", "h4", "h5")
POOLED: dict[str, Any] = {
    "organisations": [{"id": "kirari", "name": "きらりよしじま"}],
    "contacts": [
        _volunteer("p-a", A, weekly_cap=1),
        _volunteer("p-b", B),
        # weekdays 9-17 only: FIXED_NOW is a Thursday, 18:00 in Tokyo
        _volunteer(
            "p-day",
            DAY,
            availability=[{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
        ),
        _volunteer("p-rest", RESTING, resting_until="2026-12-31"),
        {"id": "pro", "name": "センター", "phone": PRO, "role": "professional"},
    ],
    "households": [
        {
            "id": h,
            "name": f"家{n}",
            "organisation": "kirari",
            "policy": {
                "tiers": [
                    {"kind": "volunteers", "pool": True, "pool_size": 1, "wait_minutes": 60},
                    {"kind": "professionals", "contacts": ["pro"]},
                ],
                "volunteer_weekly_cap": 3,
            },
        }
        for n, h in enumerate(HOMES, start=1)
    ],
}


def _alerted(service: AlertsService, household: str) -> list[str]:
    """Who the (only) incident of ``household`` alerted, in order."""
    incident = next(i for i in service.repo.incidents() if i.household == household)
    return [
        m.contact or "" for m in service.repo.sms_messages(incident=incident.id) if m.purpose.value == "alert"
    ]


async def _open(service: AlertsService, twilio: FakeTwilio, household: str, clock: FakeClock) -> list[str]:
    sent = len(twilio.created())
    service.open_from_findings([finding(household, at=clock.now())])
    await until(twilio, lambda: len(twilio.created()) > sent)
    return _alerted(service, household)


async def _answer(service, config, twilio: FakeTwilio, phone: str, text: str, sid: str) -> str:
    """The service's SMS reply to ``text`` from ``phone``, once Twilio has it."""

    def answers() -> list[str]:
        return [m.body for m in service.repo.sms_messages(limit=1000) if m.to == phone and m.purpose is REPLY]

    before = len(answers())
    assert await reply(service, config, phone, text, sid) == 200
    assert len(answers()) == before + 1
    body = answers()[-1]
    await until(twilio, lambda: any(m.body == body for m in twilio.created(phone)))
    return body


async def test_the_pool_rotates_respects_caps_hours_and_rest_and_answers_commands(
    tmp_path, clock: FakeClock
) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, POOLED)
        async with running_alerts(config, clock) as service:
            # round-robin: nobody alerted yet (p-day is off duty, p-rest resting), then the other one
            assert await _open(service, twilio, "h1", clock) == ["p-a"]
            assert "家1" in await _answer(service, config, twilio, A, "1", "SM1")
            assert await reply(service, config, A, "3", "SM2") == 200
            h1 = next(i for i in service.repo.incidents() if i.household == "h1")
            assert (h1.claimed_by, h1.outcome) == ("p-a", Outcome.SAFE)
            clock.advance(timedelta(minutes=5))
            assert await _open(service, twilio, "h2", clock) == ["p-b"]
            # p-a is at their own cap of 1: p-b again, though p-a was alerted longer ago
            clock.advance(timedelta(minutes=5))
            assert await _open(service, twilio, "h3", clock) == ["p-b"]

            # 休み 7: p-b rests; with p-a over the cap and nobody else free, the capped one is kept
            bad = await _answer(service, config, twilio, B, "休み 100", "SM3")
            assert "1〜90" in bad
            rested = await _answer(service, config, twilio, B, "休み７", "SM4")
            assert "12/03 18:10までお休み" in rested, rested
            clock.advance(timedelta(minutes=5))
            assert await _open(service, twilio, "h4", clock) == ["p-a"]
            assert not twilio.created(DAY)
            assert not twilio.created(RESTING)

            # 再開: back at once ("send to me again", as after STOP)
            back = await _answer(service, config, twilio, B, "再開", "SM5")
            assert "お休みを終えました" in back
            assert service.repo.resting(["p-b"], clock.now()) == {}

            # the next morning at 10:00 p-day is on duty and the least recently alerted
            clock.advance(timedelta(hours=15, minutes=45))
            assert await _open(service, twilio, "h5", clock) == ["p-day"]
            assert not twilio.created(RESTING)

            # 記録: the volunteer's own month, one Japanese segment
            mine = await _answer(service, config, twilio, A, "記録", "SM6")
            assert mine == "【見守り】2026年11月の記録: 通知2 応答1 駆付1 訪問1 訓練0 計4pt", mine
            assert len(mine) <= 70
            found = {r.contact: r for r in records(service.repo, "2026-11", "Asia/Tokyo", "kirari")}
            assert (found["p-b"].alerts, found["p-b"].answered, found["p-b"].visit_count) == (2, 0, 0)
            assert found["p-a"].points(PointsRule(visit=10)) == 11
            # a professional is not a volunteer
            refused = await _answer(service, config, twilio, PRO, "REST 7", "SM7")
            assert "REST" not in refused
            assert "ボランティア" in refused


async def test_a_volunteer_who_rests_after_the_opening_is_skipped_when_their_wave_comes(
    tmp_path, clock: FakeClock
) -> None:
    neighbour, own = "+819000000111", "+819000000112"
    data = {
        "contacts": [
            {"id": "n", "name": "N", "phone": neighbour, "role": "neighbour"},
            {"id": "v", "name": "V", "phone": own, "role": "volunteer"},
            {"id": "pro", "name": "センター", "phone": PRO, "role": "professional"},
        ],
        "households": [
            {
                "id": "h1",
                "name": "家1",
                "policy": {
                    "tiers": [
                        {"kind": "neighbours", "contacts": ["n"], "wait_minutes": 10},
                        {"kind": "volunteers", "contacts": ["v"], "wait_minutes": 10},
                        {"kind": "professionals", "contacts": ["pro"]},
                    ]
                },
            }
        ],
    }
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, data)
        async with running_alerts(config, clock) as service:
            assert await _open(service, twilio, "h1", clock) == ["n"]
            assert "お休み" in await _answer(service, config, twilio, own, "REST 3", "SM1")
            clock.advance(timedelta(minutes=10))
            await until(twilio, lambda: bool(twilio.created(PRO)))
            assert _alerted(service, "h1") == ["n", "pro"]
            assert len(twilio.created(own)) == 1  # the rest's confirmation only
