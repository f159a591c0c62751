"""Disaster checks through the running alerts service: real state file, real SQLite store, the real
twilio library against the local Twilio server, signed webhooks and one-tap links."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from escalation.disaster.checks import DisasterChecks
from escalation.disaster.commands import ask_area, request, request_end, running_status
from escalation.disaster.models import SafeBy
from escalation.disaster.records import DisasterRecords
from escalation.links import sign
from escalation.repository import EscalationRepository
from escalation.service import AlertsService
from mimamori.clock import FakeClock
from store.sqlite import SqliteEventStore
from tests.conftest import FIXED_NOW
from tests.support.disaster_town import (
    expected,
    household_id,
    resident_phone,
    seed_after,
    seed_before,
    seed_households,
    texted,
    volunteer_phone,
)
from tests.support.escalation_harness import (
    SUZUKI,
    alerts_config,
    fake_twilio,
    finding,
    import_households,
    reply,
    until,
)

pytestmark = pytest.mark.integration

RATE = 25.0  # SMS a second: well below what the dispatcher can do here, so the rate is what limits
BACKLOG_S = 0.5  # queued ahead of the dispatcher: 12 messages
EVERY = 20  # one home in twenty has a resident to text: 50 SMS, 2 s


def checks_of(service: AlertsService) -> DisasterChecks:
    assert service.disaster is not None
    return service.disaster


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_a_thousand_homes_ordered_at_once_texted_at_the_sms_rate_and_none_lost(tmp_path: Path) -> None:
    n = 1000
    clock = FakeClock(FIXED_NOW)
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        config = config.model_copy(
            update={
                "twilio": config.twilio.model_copy(update={"rate_per_s": RATE}),
                "disaster": config.disaster.model_copy(update={"backlog_s": BACKLOG_S, "check_s": 0.3}),
            }
        )
        repo = EscalationRepository(config.alerts.state_path)
        repo.open()
        seed_households(repo, n, clock.now(), EVERY)
        store = SqliteEventStore(tmp_path / "events.sqlite3")
        store.open()
        seed_before(store, n, clock.now())
        service = AlertsService(config, clock, activity=store)
        await service.start()
        try:
            records = DisasterRecords(repo)
            began = time.perf_counter()
            check, fresh = request(records, None, None, "cli:test", clock.now())
            checks_of(service).tick(clock.now())
            first = running_status(records)
            to_list_s = time.perf_counter() - began
            assert fresh
            assert first is not None
            assert first["started_at"] is not None
            assert (first["households"], first["safe"], first["unknown"]) == (n, 0, 100)
            top = first["ordered"][0]
            # no sign since the start, alone, on oxygen: first; blind homes are in the list, not lost
            assert (top["no_sign_since_start"], top["lives_alone"], top["needs"]) == (True, True, ["oxygen"])
            assert len(first["ordered"]) == n
            assert to_list_s < 2.0, f"the prioritised list took {to_list_s:.2f} s"

            backlog = round(RATE * BACKLOG_S)
            seen_queued: list[int] = []

            def all_texted() -> bool:
                seen_queued.append(records.queued(check.id))
                return len(twilio.created()) >= n // EVERY

            await until(twilio, all_texted, timeout_s=30)
            sent = twilio.created()
            assert sorted(m.to for m in sent) == sorted(
                resident_phone(i) for i in range(n) if texted(i, EVERY)
            )
            assert all("無事なら1を返信" in m.body and "/d/" in m.body for m in sent)
            times = [m.created_at.timestamp() for m in sent]
            assert max_in_window(times, 0.2) <= RATE * 0.2 + 2, "never faster than the SMS rate"
            assert max(times) - min(times) >= (len(sent) - 1) / RATE * 0.9
            assert max(seen_queued) <= backlog, "the queue is topped up, never filled with the whole town"

            clock.advance(timedelta(minutes=20))
            seed_after(store, n, FIXED_NOW)
            checks_of(service).tick(clock.now())
            later = running_status(records)
            assert later is not None
            want = expected(n)
            assert {k: later[k] for k in want} == want
            assert later["safe_by"][SafeBy.ACTIVITY] == want["safe"]
            quake_only = {household_id(i) for i in range(n) if i % 10 in (1, 2)}
            ordered = [row["household"] for row in later["ordered"]]
            assert quake_only <= set(ordered), "sensors tripped by the quake itself are no sign of life"
            safe = {h.household for h in records.households(check.id) if h.safe_at is not None}
            assert safe | set(ordered) == {household_id(i) for i in range(n)}  # none lost
            assert not safe & set(ordered)

            assert request_end(records, check, "cli:test", clock.now())
            checks_of(service).tick(clock.now())
            ended = records.check(check.id)
            assert ended is not None
            assert ended.ended_at == clock.now()
            assert ended.report is not None
            report = json.loads(ended.report)
            assert (report["households"], report["safe"], report["unknown"]) == (n, want["safe"], 100)
            assert len(report["not_known_safe"]) == n - want["safe"]
            assert report["sms"]["sent"] == n // EVERY
        finally:
            await service.stop()
            store.close()
            repo.close()


async def test_residents_answer_by_sms_and_link_volunteers_by_area_and_alerts_keep_running(
    tmp_path: Path,
) -> None:
    clock = FakeClock(FIXED_NOW)
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        repo = EscalationRepository(config.alerts.state_path)
        repo.open()
        seed_households(repo, 8, clock.now())
        records = DisasterRecords(repo)
        try:
            service = AlertsService(config, clock)
            await service.start()
            try:
                check, _ = request(records, None, None, "cli:test", clock.now())
                again, fresh = request(records, None, "桜町", "cli:test", clock.now())
                assert (again.id, fresh) == (check.id, False)  # one open check at a time
                checks_of(service).tick(clock.now())
                # the 8 homes' residents (demo-0001's is in no resident_check tier: nobody to text)
                await until(twilio, lambda: len(twilio.created()) == 8)

                # h-00000's resident answers "1" by SMS (a signed webhook)
                first = resident_phone(0)
                assert await reply(service, config, first, "1", "SMd1") == 200
                assert await reply(service, config, first, "1", "SMd1") == 200  # Twilio's retry: once
                await until(twilio, lambda: any("無事と記録" in m.body for m in twilio.created(first)))
                assert len(twilio.created(first)) == 2
                # h-00001's resident taps the link: safe; h-00002's asks for help on the page
                link_of = {m.to: m.body.rsplit(" ", 1)[1] for m in twilio.created() if "/d/" in m.body}
                async with aiohttp.ClientSession() as http:
                    page = await http.get(link_of[resident_phone(1)])
                    assert page.status == 200
                    assert "無事です" in await page.text()
                    tapped = await http.post(link_of[resident_phone(1)], data={"action": "safe"})
                    assert tapped.status == 200
                    helped = await http.post(link_of[resident_phone(2)], data={"action": "help"})
                    assert "助けが必要と記録" in await helped.text()
                    bad = await http.post(link_of[resident_phone(3)], data={"action": "go"})
                    assert bad.status == 400
                    token = link_of[resident_phone(3)].rsplit("/", 1)[1]
                    forged = await http.get(f"{service.public_url}/d/{token[:-2]}xx")
                    assert forged.status == 404
                    as_alert = await http.get(f"{service.public_url}/l/{token}")
                    assert as_alert.status == 404, "a check's link never opens an alert's page"
                    other = sign(b"test-link-secret", 1, clock.now() + timedelta(hours=1))  # an alert's kind
                    assert (await http.get(f"{service.public_url}/d/{other}")).status == 404
                status = running_status(records)
                assert status is not None
                by = {h.household: h.safe_by for h in records.households(check.id)}
                assert (by[household_id(0)], by[household_id(1)]) == (SafeBy.REPLY, SafeBy.LINK)
                assert status["ordered"][0]["household"] == household_id(2)  # asked for help: first
                assert status["ordered"][0]["help"] is True

                # normal inactivity alerts keep running beside the check
                service.open_from_findings([finding(at=clock.now())])
                await until(twilio, lambda: any("/l/" in m.body for m in twilio.created(SUZUKI)))

                # volunteers of one area, asked by staff: sent by the ticks, one household each
                assert ask_area(records, check, "桜町", "cli:test", clock.now())
                checks_of(service).tick(clock.now())
                await until(twilio, lambda: len(twilio.created(volunteer_phone(0))) == 1)
                ask = twilio.created(volunteer_phone(0))[0]
                assert "住民4さん(桜町4)の無事が未確認" in ask.body  # h-00000, also 桜町, is safe already
                asked = [h.household for h in records.households(check.id) if h.asked is not None]
                assert asked == [household_id(4)]
                code = ask.body.rsplit("(", 1)[1].rstrip(")")
                assert await reply(service, config, volunteer_phone(0), f"{code} 3", "SMv3") == 200
                home = records.household(check.id, household_id(4))
                assert home is not None
                assert home.safe_by is SafeBy.VOLUNTEER
            finally:
                await service.stop()

            # a restart: the check is still there and nobody is texted twice
            texted = len(twilio.created())
            service = AlertsService(config, clock)
            await service.start()
            try:
                checks_of(service).tick(clock.now())
                status = running_status(records)
                assert status is not None
                assert status["ended_at"] is None
                assert status["safe"] == 3
                clock.advance(timedelta(hours=25))  # the check's time is up: it ends by itself
                checks_of(service).tick(clock.now())
                ended = records.check(check.id)
                assert ended is not None
                assert ended.report is not None
                assert json.loads(ended.report)["ended_by"] == "system"
                assert len([m for m in twilio.created() if "無事なら1を返信" in m.body]) == 8
                assert len(twilio.created()) >= texted
            finally:
                await service.stop()
        finally:
            repo.close()
