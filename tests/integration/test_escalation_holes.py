"""The holes of issue #15 that are about answers, end to end through the running alerts service (the real
twilio library against the local Twilio-compatible server, real SQLite): each test failed on the code
before the fix. Holes 1, 6, 7 and the technical part of 8 are in test_escalation_episodes.py."""

from __future__ import annotations

import re
from copy import deepcopy
from datetime import timedelta
from typing import Any

import pytest

from dashboard.care_records import StateCareRecords
from dashboard.views import ContactDraft
from detection.findings import FindingKind
from escalation.codes import reply_code
from escalation.commands import StaffCommands, operators
from escalation.models import IncidentState, Outcome, StepKind
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from registry.households_import import read_file
from tests.support.escalation_harness import (
    CENTER,
    EXAMPLE,
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
RESIDENT = "+819000000001"  # 山田花子 herself


def with_resident_check() -> dict[str, Any]:
    """The example household, its resident asked first (10 minutes), then the neighbours."""
    data = read_file(EXAMPLE)
    tiers = data["households"][0]["policy"]["tiers"]
    tiers.insert(0, {"kind": "resident_check", "contacts": ["r-yamada"], "mode": "all", "wait_minutes": 10})
    return data


def with_second_home() -> dict[str, Any]:
    """A second household (佐藤次郎) whose neighbours are also 鈴木一郎 and 加藤美咲."""
    data = read_file(EXAMPLE)
    second = deepcopy(data["households"][0])
    second.update(id="demo-0002", name="佐藤次郎", address_hint="桜町3丁目", residents=[{"name": "佐藤次郎"}])
    second["policy"]["tiers"] = [
        {"kind": "neighbours", "contacts": ["n-suzuki", "n-kato"], "mode": "all", "wait_minutes": 15}
    ]
    data["households"].append(second)
    return data


# -- hole 2: ordinary replies must not opt out -----------------------------------------------------------


@pytest.mark.parametrize("text", ["1（電車が運転停止、少し遅れます）", "1 but end of day"])
async def test_a_claim_that_mentions_stop_is_a_claim(tmp_path, clock: FakeClock, text: str) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            assert await reply(service, config, SUZUKI, text, "SMclaim") == 200
            incident = service.repo.incidents()[0]
            assert (incident.state, incident.claimed_by) == (IncidentState.CLAIMED, "n-suzuki")
            suzuki = service.repo.contact("n-suzuki")
            assert suzuki is not None
            assert suzuki.opted_out_at is None
            await until(twilio, lambda: len(twilio.created(KATO)) == 2)
            assert "鈴木一郎さんが向かいます" in twilio.created(KATO)[1].body


async def test_stop_in_a_sentence_is_not_an_opt_out_and_only_stop_is(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            before = service.repo.incidents()[0]

            assert await reply(service, config, KATO, "エレベーター停止中なので階段で行きます", "SMe") == 200
            await until(twilio, lambda: len(twilio.created(KATO)) == 2)
            assert "1=行ける" in twilio.created(KATO)[1].body  # the short help, nothing else
            kato = service.repo.contact("n-kato")
            assert kato is not None
            assert kato.opted_out_at is None
            assert service.repo.incidents()[0] == before  # no state change

            assert await reply(service, config, KATO, "停止。", "SMstop") == 200
            await until(twilio, lambda: len(twilio.created(KATO)) == 3)
            assert "配信を停止しました" in twilio.created(KATO)[2].body
            kato = service.repo.contact("n-kato")
            assert kato is not None
            assert kato.opted_out_at == clock.now()
            assert ("n-kato" in {g[1] for g in service.repo.coverage_gaps()}) is True

            assert await reply(service, config, KATO, "再開", "SMstart") == 200
            await until(twilio, lambda: len(twilio.created(KATO)) == 4)
            assert "配信を再開しました" in twilio.created(KATO)[3].body
            kato = service.repo.contact("n-kato")
            assert kato is not None
            assert kato.opted_out_at is None
            actions = [e.action for e in service.repo.audit_log()]
            assert actions.count("contact.opted_out") == actions.count("contact.opted_in") == 1


# -- hole 3: the resident is the resident ----------------------------------------------------------------


async def test_the_residents_ok_means_she_is_fine_and_tells_the_neighbours(
    tmp_path, clock: FakeClock
) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, with_resident_check())
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created(RESIDENT)) == 1)
            assert "無事なら3" in twilio.created(RESIDENT)[0].body
            clock.advance(timedelta(minutes=10))
            service.engine.process_due(clock.now())
            await until(twilio, lambda: len(twilio.created()) == 3)  # the neighbours now

            assert await reply(service, config, RESIDENT, "OK", "SMres") == 200
            incident = service.repo.incidents()[0]
            assert incident.state is IncidentState.RESOLVED
            assert incident.outcome is Outcome.SAFE
            assert incident.claimed_by is None
            assert StepKind.CLAIMED not in {s.kind for s in service.repo.steps(incident.id)}
            await until(twilio, lambda: len(twilio.created()) == 6)
            for phone in (SUZUKI, KATO):
                assert "終了しました(無事)" in twilio.created(phone)[-1].body
            assert "無事とお伝えしました" in twilio.created(RESIDENT)[-1].body
            clock.advance(timedelta(hours=2))
            service.engine.process_due(clock.now())
            assert len(service.repo.sms_messages()) == 6  # nobody is texted about it again


@pytest.mark.parametrize("text", ["はい", "1", "3", "大丈夫です"])
async def test_every_way_the_resident_says_fine_closes_as_safe(tmp_path, clock: FakeClock, text: str) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, with_resident_check())
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created(RESIDENT)) == 1)
            assert await reply(service, config, RESIDENT, text, "SMfine") == 200
            incident = service.repo.incidents()[0]
            assert (incident.state, incident.outcome) == (IncidentState.RESOLVED, Outcome.SAFE)
            assert incident.resolved_by == "contact:r-yamada"


async def test_the_residents_help_goes_to_the_professionals_at_once(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, with_resident_check())
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created(RESIDENT)) == 1)
            assert await reply(service, config, RESIDENT, "助けて", "SMhelp") == 200
            await until(twilio, lambda: len(twilio.created(CENTER)) == 1)
            assert service.repo.incidents()[0].state is IncidentState.NOTIFYING
            await until(twilio, lambda: len(twilio.created(RESIDENT)) == 2)
            assert "専門職に連絡しました" in twilio.created(RESIDENT)[1].body
            # "OK" to that is an acknowledgement: she neither claims nor closes her own alert
            assert await reply(service, config, RESIDENT, "OK", "SMack") == 200
            incident = service.repo.incidents()[0]
            assert (incident.state, incident.claimed_by) == (IncidentState.NOTIFYING, None)
            assert await reply(service, config, RESIDENT, "大丈夫", "SMfine") == 200  # explicit: closes
            assert service.repo.incidents()[0].outcome is Outcome.SAFE


@pytest.mark.parametrize(
    ("text", "state"), [("大丈夫", IncidentState.RESOLVED), ("助けて", IncidentState.NOTIFYING)]
)
async def test_the_resident_answers_for_her_home_even_when_she_was_not_asked(
    tmp_path, clock: FakeClock, text: str, state: IncidentState
) -> None:
    """A help-button press skips the resident check: she was never texted, her answer still counts."""
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, with_resident_check())
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding(kind=FindingKind.HELP_BUTTON)])
            await until(twilio, lambda: len(twilio.created()) == 2)
            assert not twilio.created(RESIDENT)
            assert await reply(service, config, RESIDENT, text, "SMself") == 200
            assert service.repo.incidents()[0].state is state
            await until(twilio, lambda: len(twilio.created(RESIDENT)) == 1)  # she is answered
            if state is IncidentState.NOTIFYING:
                await until(twilio, lambda: len(twilio.created(CENTER)) == 1)
                assert "専門職に連絡しました" in twilio.created(RESIDENT)[0].body


# -- hole 4: idempotent answers --------------------------------------------------------------------------


async def test_twilio_retries_and_repeated_answers_change_nothing(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            for _ in range(3):  # the same signed webhook, retried
                assert await reply(service, config, SUZUKI, "1", "SMretried") == 200
            claimed = service.repo.incidents()[0]
            assert claimed.claimed_by == "n-suzuki"
            assert len(service.repo.sms_messages()) == 4  # 2 alerts, "thank you", Kato told
            clock.advance(timedelta(minutes=3))
            assert await reply(service, config, SUZUKI, "１", "SMagain") == 200  # pressed 1 again
            assert service.repo.incidents()[0] == claimed  # the deadline did not move
            assert len(service.repo.sms_messages()) == 4
            steps = [s.kind for s in service.repo.steps(claimed.id)]
            assert steps.count(StepKind.CLAIMED) == 1
            await until(twilio, lambda: len(twilio.created()) == 4)

        async with running_alerts(config, clock) as service:  # a restart: the SID is still known
            assert await reply(service, config, SUZUKI, "2", "SMretried") == 200
            assert service.repo.incidents()[0] == claimed
            assert len(service.repo.sms_messages()) == 4


# -- hole 5: staff close with an outcome; the claimer reports one ------------------------------------------


async def test_staff_close_with_an_outcome_tells_the_texted_and_frees_the_household(
    tmp_path, clock: FakeClock
) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            incident = service.repo.incidents()[0]

            dashboard_repo = EscalationRepository(config.alerts.state_path)  # another process's view
            dashboard_repo.open()
            try:
                staff = StaffCommands(dashboard_repo, operators(config), config.time_zone)
                closed = staff.close(
                    incident.id, Outcome.FALSE_ALARM, "電話で確認", "care_manager:alice", clock.now()
                )
                assert closed.refused == ""
                again = staff.close(incident.id, Outcome.SAFE, "", "care_manager:alice", clock.now())
                assert again.refused == "closed"
                refused = StaffCommands(dashboard_repo).close(
                    "nope", Outcome.SAFE, "", "care_manager:alice", clock.now()
                )
                assert refused.incident is None
            finally:
                dashboard_repo.close()

            done = service.repo.incident(incident.id)
            assert done is not None
            assert (done.state, done.outcome, done.note) == (
                IncidentState.RESOLVED,
                Outcome.FALSE_ALARM,
                "電話で確認",
            )
            await until(twilio, lambda: len(twilio.created()) == 4)  # the dispatcher sends the notices
            for phone in (SUZUKI, KATO):
                assert "終了しました(誤報)" in twilio.created(phone)[-1].body
            audit = [e for e in service.repo.audit_log() if e.action == "incident.resolved"]
            assert [(e.actor, e.detail.get("outcome"), e.detail.get("note")) for e in audit] == [
                ("care_manager:alice", "false_alarm", "電話で確認")
            ]

            later = clock.now() + timedelta(days=1)
            service.open_from_findings([finding(at=later)])  # the next episode is not blocked
            await until(twilio, lambda: len(twilio.created()) == 6)


@pytest.mark.parametrize(
    ("text", "outcome"),
    [("4", Outcome.NO_ANSWER_AT_DOOR), ("5 救急車で搬送", Outcome.HOSPITAL), ("3", Outcome.SAFE)],
)
async def test_the_claimer_reports_the_outcome_by_sms(
    tmp_path, clock: FakeClock, text: str, outcome: Outcome
) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config)
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created()) == 2)
            assert await reply(service, config, KATO, "5", "SMearly") == 200  # not the claimer: refused
            assert service.repo.incidents()[0].state is IncidentState.NOTIFYING
            assert await reply(service, config, SUZUKI, "1", "SMgo") == 200
            assert await reply(service, config, KATO, "4", "SMnot") == 200  # still not the claimer
            assert service.repo.incidents()[0].state is IncidentState.CLAIMED
            assert await reply(service, config, SUZUKI, text, "SMdone") == 200
            incident = service.repo.incidents()[0]
            assert (incident.state, incident.outcome) == (IncidentState.RESOLVED, outcome)
            assert incident.resolved_by == "contact:n-suzuki"
            kato = [m.body for m in service.repo.sms_messages() if m.to == KATO]
            assert sum("向かった方から" in b for b in kato) == 2
            assert "終了しました" in kato[-1]


# -- hole 8: two open alerts; shared contacts -------------------------------------------------------------


async def test_someone_on_two_alerts_says_which_with_the_code(tmp_path, clock: FakeClock) -> None:
    async with fake_twilio() as twilio:
        config = alerts_config(tmp_path, twilio.base_url)
        import_households(config, with_second_home())
        async with running_alerts(config, clock) as service:
            service.open_from_findings([finding()])
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 1)
            clock.advance(timedelta(minutes=1))
            service.open_from_findings([finding(household="demo-0002", at=clock.now())])
            await until(twilio, lambda: len(twilio.created(SUZUKI)) == 2)
            first, second = sorted(service.repo.incidents(open_only=True), key=lambda i: i.opened_at)
            code_first, code_second = reply_code(first.id), reply_code(second.id)
            bodies = [m.body for m in twilio.created(SUZUKI)]
            assert f"【見守り {code_first}】山田花子" in bodies[0]
            assert f"【見守り {code_second}】佐藤次郎" in bodies[1]

            # without a code: the newest, and the answer says which
            assert await reply(service, config, SUZUKI, "1", "SMnocode") == 200
            assert service.repo.incident(second.id).claimed_by == "n-suzuki"  # type: ignore[union-attr]
            assert service.repo.incident(first.id).claimed_by is None  # type: ignore[union-attr]
            notes = [
                m.body for m in service.repo.sms_messages() if m.to == SUZUKI and "受け付けました" in m.body
            ]
            assert len(notes) == 1
            assert re.search(rf"佐藤次郎さんの件\({code_second}\).*{code_first} 1", notes[0])

            # with the code: that one (if the two codes are the same, the newest is still meant)
            if code_first != code_second:
                assert await reply(service, config, SUZUKI, f"{code_first.lower()} 2", "SMcode") == 200
                steps = service.repo.steps(first.id)
                assert [s.contact for s in steps if s.kind is StepKind.DECLINED] == ["n-suzuki"]
                assert service.repo.incident(second.id).claimed_by == "n-suzuki"  # type: ignore[union-attr]
            unknown = "X9" if "X9" not in (code_first, code_second) else "Y8"
            assert await reply(service, config, SUZUKI, f"{unknown} 1", "SMunknown") == 200
            assert any(f"符号{unknown}の連絡は見つかりません" in m.body for m in service.repo.sms_messages())


async def test_a_care_manager_cannot_change_a_contact_for_another_managers_home(
    tmp_path, clock: FakeClock
) -> None:
    config = alerts_config(tmp_path, None)
    import_households(config, with_second_home())
    repo = EscalationRepository(config.alerts.state_path)
    repo.open()
    try:
        records = StateCareRecords(repo)
        draft = ContactDraft("鈴木一郎", "+819000000099", "neighbour", "ja", id="n-suzuki")
        saved = records.save_contact(
            "demo-0001", draft, actor="care_manager:alice", now=clock.now(), visible={"demo-0001"}
        )
        assert saved.id != "n-suzuki"  # this household's own entry
        suzuki = repo.contact("n-suzuki")
        assert suzuki is not None
        assert suzuki.phone == SUZUKI
        assert "n-suzuki" in {c.id for c in repo.contacts("demo-0002")}
        assert "n-suzuki" not in {c.id for c in repo.contacts("demo-0001")}
        policy = repo.policy("demo-0001")
        assert policy is not None
        assert saved.id in policy.tiers[0].contacts
        copied = [e for e in repo.audit_log() if e.action == "contact.copied"]
        assert [(e.household, e.detail["copied_from"]) for e in copied] == [("demo-0001", "n-suzuki")]

        draft = ContactDraft("加藤美咲", "+819000000098", "neighbour", "ja", id="n-kato")
        records.save_contact("demo-0002", draft, actor="admin:root", now=clock.now(), visible=None)
        kato = repo.contact("n-kato")
        assert kato is not None
        assert kato.phone == "+819000000098"
        saved_rows = [e for e in repo.audit_log() if e.action == "contact.saved"]
        assert sorted(e.household for e in saved_rows) == ["demo-0001", "demo-0002"]
        assert {e.detail["households"] for e in saved_rows} == {"demo-0001,demo-0002"}
        assert {c.id: c.shared_with for c in records.contacts("demo-0002")}["n-kato"] == ("demo-0001",)
    finally:
        repo.close()
