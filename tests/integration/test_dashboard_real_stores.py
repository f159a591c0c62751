"""The dashboard over the real stores: the events SQLite file written by the store's batch writer and
the registry and escalation repository (the same files the ingest and alerts processes write)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dashboard import keys
from detection.profiles import StateProfiles
from escalation.repository import EscalationRepository
from mimamori.clock import FakeClock
from mimamori.contract import Event, Kind, message_id_for
from registry.calendar import CalendarIn
from registry.models import Feedback, Room, Sensitivity, Switch
from store.base import IngestBatch
from store.sqlite import SqliteEventStore
from tests.support.dashboard_fakes import PASSWORD, csrf_of
from tests.support.dashboard_real import OTHER, OWN, TOKYO, Client, cookie_client, real_dashboard
from tests.support.visible_text import CODE_WORD_ENUMS, visible_words


@pytest.fixture
async def alice(
    tmp_path: Path, clock: FakeClock, aiohttp_server: Any, aiohttp_client: Any
) -> AsyncIterator[tuple[Client, EscalationRepository]]:
    async with real_dashboard(tmp_path, clock, aiohttp_server) as real:
        client = await cookie_client(aiohttp_client, real.server)
        token = csrf_of(await (await client.get("/login")).text())
        signed = await client.post(
            "/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
        )
        assert signed.status == 200
        yield client, real.repo


async def test_overview_reads_state_and_incidents(alice: tuple[Client, EscalationRepository]) -> None:
    client, _ = alice
    data = await (await client.get("/api/households")).json()
    assert [h["id"] for h in data["households"]] == [OWN]
    own = data["households"][0]
    assert own["state"] == "quiet"  # an open inactivity incident
    assert own["open_incidents"] == 1
    assert {"device": "motion-living", "problem": "low_battery"} in own["device_problems"]
    assert own["last_activity_at"] is not None


async def test_household_page_shows_heat_map_and_full_escalation_log(
    alice: tuple[Client, EscalationRepository],
) -> None:
    client, repo = alice
    # the households file gives one device's room (the futon is in the living room): the card says it
    repo.set_devices(
        OWN,
        ["door-main", "motion-bedroom", "motion-kitchen", "motion-living"],
        {"motion-bedroom": Room.LIVING},
    )
    html = await (await client.get(f"/households/{OWN}")).text()
    heat_cells = re.findall(r'<rect [^>]*class="heat l[1-4]"', html)
    assert len(heat_cells) > 90 * 10  # about 15 active hours on each of 90 days
    assert 'id="incident-inc-1"' in html
    for expected in (
        "加藤 Kato",
        "森 Mori",
        "見守り: 田中さん宅 07:10から活動なし",
        "「1」",  # what the volunteer replied
        "reply by SMS",
        "claimed (going)",
    ):
        assert expected in html, expected
    assert "No activity since 07:10 (3 h); at this time usually quiet ≤2 h (learned over 21 days)" in html
    assert 'class="wake"' in html
    assert 'class="bed"' in html
    assert "motion-living" in html
    # the device card says each device's room (from its name: docs/detection.md, Rooms)
    rows = dict(re.findall(r"<tr><td>([a-z-]+)</td><td>[^<]*</td><td class=\"room\">([^<]*)</td>", html))
    assert rows == {
        "door-main": "entrance",
        "motion-bedroom": "living room",
        "motion-kitchen": "kitchen",
        "motion-living": "living room",
    }


async def test_api_household_detail_and_404_for_others(alice: tuple[Client, EscalationRepository]) -> None:
    client, _ = alice
    detail = await (await client.get(f"/api/households/{OWN}")).json()
    actions = [e["action"] for e in detail["incidents"][0]["log"]]
    assert actions[0] == "opened"
    assert "claimed" in actions
    assert "sms_alert" in actions
    assert "reply" in actions
    assert {d["device"]: d["room"] for d in detail["devices"]} == {  # from the names (none given)
        "door-main": "entrance",
        "motion-bedroom": "bedroom",
        "motion-kitchen": "kitchen",
        "motion-living": "living",
    }
    assert (await client.get(f"/api/households/{OTHER}")).status == 404
    activity = await (await client.get(f"/api/households/{OWN}/activity?days=7")).json()
    assert sum(h["count"] for h in activity["hours"]) > 7 * 10


async def test_views_go_to_the_alerts_audit_log(alice: tuple[Client, EscalationRepository]) -> None:
    client, repo = alice
    await client.get(f"/households/{OWN}")
    await client.get(f"/households/{OWN}/digest.csv")
    entries = [(e.actor, e.action) for e in repo.audit_log(household=OWN)]
    assert ("care_manager:alice", "dashboard.view_household") in entries
    assert ("care_manager:alice", "dashboard.export_digest") in entries


async def test_contact_edit_is_validated_by_the_alerts_rules(
    alice: tuple[Client, EscalationRepository],
) -> None:
    client, repo = alice
    page = await (await client.get(f"/households/{OWN}/contacts")).text()
    form = {
        "csrf_token": csrf_of(page),
        "contact_id": "c-kato",
        "name": "加藤 Kato",
        "role": "neighbour",
        "language": "ja",
    }
    bad = await client.post(f"/households/{OWN}/contacts", data={**form, "phone": "090-1111-2222"})
    assert bad.status == 422
    assert "E.164" in await bad.text()
    contact = repo.contact("c-kato")
    assert contact is not None
    assert contact.phone == "+819011112222"
    good = await client.post(f"/households/{OWN}/contacts", data={**form, "phone": "+819099990000"})
    assert good.status == 200
    assert "Saved." in await good.text()
    contact = repo.contact("c-kato")
    assert contact is not None
    assert contact.phone == "+819099990000"
    assert any(e.action == "contact.saved" for e in repo.audit_log(household=OWN))


async def test_policy_edit_round_trips_and_rejects_bad_waits(
    alice: tuple[Client, EscalationRepository],
) -> None:
    client, repo = alice
    page = await (await client.get(f"/households/{OWN}/policy")).text()
    form = {
        "csrf_token": csrf_of(page),
        "mode_0": "all",
        "wait_0": "10",
        "members_0": "c-kato",
        "mode_1": "one_by_one",
        "wait_1": "0",
        "members_1": "c-mori",
        "mode_2": "all",
        "wait_2": "30",
        "members_2": "c-clinic",
    }
    bad = await client.post(f"/households/{OWN}/policy", data=form)
    assert bad.status == 422
    assert "wait_1" in await bad.text()
    good = await client.post(f"/households/{OWN}/policy", data={**form, "wait_1": "25"})
    assert good.status == 200
    policy = repo.policy(OWN)
    assert policy is not None
    assert [t.wait_minutes for t in policy.tiers] == [10, 25, 30]


async def test_watching_options_reach_the_state_detection_reads(
    alice: tuple[Client, EscalationRepository], clock: FakeClock
) -> None:
    client, repo = alice
    page = await (await client.get(f"/households/{OWN}/options")).text()
    assert 'id="option-evening_check"' in page
    assert "checked" not in page
    assert '<option value="auto" selected>' in page
    token = csrf_of(page)
    bad = await client.post(f"/households/{OWN}/options", data={"csrf_token": token, "evening_check": "yes"})
    assert bad.status == 422
    assert "evening_check" in await bad.text()
    household = repo.household(OWN)
    assert household is not None
    assert household.evening_check is Switch.AUTO  # a refused form changes nothing
    saved = await client.post(f"/households/{OWN}/options", data={"csrf_token": token, "evening_check": "on"})
    assert saved.status == 200
    assert "Saved." in await saved.text()
    profile = StateProfiles(repo, clock).profile(OWN)  # what the live detector reads
    assert (profile.evening_check, profile.night_exit_enabled) == (Switch.ON, False)
    assert [e.detail for e in repo.audit_log(household=OWN) if e.action == "options.saved"] == [
        {"night_exit": 0, "evening_check": "on"}
    ]
    data = {"csrf_token": token, "night_exit": "1", "evening_check": "off"}
    again = await client.post(f"/households/{OWN}/options", data=data)
    assert again.status == 200
    household = repo.household(OWN)
    assert household is not None
    assert (household.night_exit_opt_in, household.evening_check) == (True, Switch.OFF)
    other = await client.post(f"/households/{OTHER}/options", data={"csrf_token": token, "night_exit": "1"})
    assert other.status == 404  # not alice's household


async def test_sensitivity_reaches_the_state_detection_reads(
    alice: tuple[Client, EscalationRepository], clock: FakeClock
) -> None:
    client, repo = alice
    assert 'id="calculating"' in await (await client.get(f"/households/{OWN}/sensitivity")).text()
    assert client.app is not None
    await client.app[keys.COSTS].settled()  # computed in the background from the real store
    page = await (await client.get(f"/households/{OWN}/sensitivity")).text()
    assert page.count('<tr id="cost-') == 3  # every setting replayed over the stored history
    token = csrf_of(page)
    bad = await client.post(
        f"/households/{OWN}/sensitivity", data={"csrf_token": token, "sensitivity": "1.5"}
    )
    assert bad.status == 422
    assert repo.sensitivity(OWN) is Sensitivity.STANDARD  # a refused form changes nothing
    saved = await client.post(
        f"/households/{OWN}/sensitivity", data={"csrf_token": token, "sensitivity": "low"}
    )
    assert saved.status == 200
    assert StateProfiles(repo, clock).profile(OWN).sensitivity == 0.85  # what the live detector reads
    assert [e.detail for e in repo.audit_log(household=OWN) if e.action == "sensitivity.saved"] == [
        {"sensitivity": "low"}
    ]
    other = await client.post(
        f"/households/{OTHER}/sensitivity", data={"csrf_token": token, "sensitivity": "high"}
    )
    assert other.status == 404  # not alice's household
    assert repo.sensitivity(OTHER) is Sensitivity.STANDARD


async def test_learned_adjustments_reset_from_the_sensitivity_page(
    alice: tuple[Client, EscalationRepository], clock: FakeClock
) -> None:
    client, repo = alice
    closed = clock.now() - timedelta(days=1)
    repo.add_feedback(Feedback(OWN, "inc-1", closed, False, "quiet", 4))  # staff closed a false alarm
    repo.add_feedback(Feedback(OTHER, "inc-2", closed, False, "quiet", 4))
    assert StateProfiles(repo, clock).profile(OWN).feedback  # what the live detector reads
    page = await (await client.get(f"/households/{OWN}/sensitivity")).text()
    assert "learned-row" in page
    assert 'id="reset-learning-form"' in page
    token = csrf_of(page)
    path = f"/households/{OWN}/sensitivity/reset-learning"
    unconfirmed = await client.post(path, data={"csrf_token": token})
    assert unconfirmed.status == 422
    assert "tick the box to confirm the reset" in await unconfirmed.text()
    assert len(repo.feedback(OWN, closed)) == 1  # nothing forgotten without the confirmation
    reset = await client.post(path, data={"csrf_token": token, "confirm": "1"})
    assert reset.status == 200  # redirected back to the page
    page = await reset.text()
    assert 'id="reset-done"' in page
    assert 'id="learned-none"' in page
    assert 'id="reset-learning-form"' not in page  # nothing left to reset
    assert StateProfiles(repo, clock).profile(OWN).feedback == ()
    assert [e.detail for e in repo.audit_log(household=OWN) if e.action == "learning.reset"] == [
        {"outcomes": 1}
    ]
    other = await client.post(
        f"/households/{OTHER}/sensitivity/reset-learning", data={"csrf_token": token, "confirm": "1"}
    )
    assert other.status == 404  # not alice's household
    assert len(repo.feedback(OTHER, closed)) == 1


async def test_weekly_digest_page_and_csv(alice: tuple[Client, EscalationRepository]) -> None:
    client, _ = alice
    page = await client.get(f"/households/{OWN}/digest")
    assert page.status == 200
    csv_response = await client.get(f"/households/{OWN}/digest.csv")
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    lines = (await csv_response.text()).strip().splitlines()
    assert lines[0].startswith("household,date,activity_events")
    assert len(lines) == 8
    assert all(int(line.split(",")[2]) > 0 for line in lines[1:])


async def test_away_period_added_checked_and_removed(
    alice: tuple[Client, EscalationRepository], clock: FakeClock
) -> None:
    client, repo = alice
    page = await (await client.get(f"/households/{OWN}/away")).text()
    token = csrf_of(page)
    now_local = clock.now().astimezone(ZoneInfo("Asia/Tokyo"))
    start = (now_local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    end = (now_local + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    backwards = await client.post(
        f"/households/{OWN}/away", data={"csrf_token": token, "start": end, "end": start, "note": ""}
    )
    assert backwards.status == 422
    assert "must be after the start" in await backwards.text()
    assert repo.away_periods(OWN) == []
    added = await client.post(
        f"/households/{OWN}/away", data={"csrf_token": token, "start": start, "end": end, "note": "入院"}
    )
    assert added.status == 200
    periods = repo.away_periods(OWN)
    assert [(p.set_by, p.note) for p in periods] == [("care_manager:alice", "入院")]
    assert periods[0].start == (now_local - timedelta(hours=1)).replace(second=0, microsecond=0)
    state = (await (await client.get("/api/households")).json())["households"][0]["state"]
    assert state == "away"
    removed = await client.post(f"/households/{OWN}/away/{periods[0].id}/remove", data={"csrf_token": token})
    assert removed.status == 200
    assert repo.away_periods(OWN) == []
    actions = [e.action for e in repo.audit_log(household=OWN)]
    assert "away.added" in actions
    assert "away.removed" in actions


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_care_calendar_added_refused_and_removed(
    alice: tuple[Client, EscalationRepository], clock: FakeClock, lang: str
) -> None:
    client, repo = alice
    token = csrf_of(await (await client.get("/")).text())
    assert (await client.post("/language", data={"csrf_token": token, "lang": lang})).status == 200
    page = await (await client.get(f"/households/{OWN}/away")).text()
    assert ("ケアカレンダー" if lang == "ja" else "Care calendar") in page
    form = {"csrf_token": token, "kind": "weekly", "label": "デイサービス", "start": "09:00", "end": "16:00"}
    no_days = await client.post(f"/households/{OWN}/calendar", data=form)
    assert no_days.status == 422
    assert ("1つ以上選んでください" if lang == "ja" else "at least 1 chosen") in await no_days.text()
    backwards = {**form, "kind": "dated", "from": "2026-12-09", "start": "12:00", "end": "09:00"}
    refused = await client.post(f"/households/{OWN}/calendar", data=backwards)
    assert refused.status == 422
    expected = "終了は開始より後にしてください" if lang == "ja" else "the end must be after the start"
    assert expected in await refused.text()
    assert repo.calendar(OWN) == []
    weekly = await client.post(
        f"/households/{OWN}/calendar", data=[*form.items(), ("days", "1"), ("days", "3")]
    )
    assert weekly.status == 200
    visit = {**form, "kind": "dated", "label": "通院", "from": "2026-12-09", "start": "09:30", "end": "12:00"}
    assert (await client.post(f"/households/{OWN}/calendar", data=visit)).status == 200
    entries = repo.calendar(OWN)
    assert [(e.label, e.weekdays, e.first_day, e.last_day) for e in entries] == [
        ("デイサービス", (1, 3), None, None),
        ("通院", (), date(2026, 12, 9), date(2026, 12, 9)),
    ]
    page = await (await client.get(f"/households/{OWN}/away")).text()
    assert ("毎週 火・木" if lang == "ja" else "every Tue・Thu") in page
    assert "12/09" in page
    removed = await client.post(
        f"/households/{OWN}/calendar/{entries[0].id}/remove", data={"csrf_token": token}
    )
    assert removed.status == 200
    assert [e.label for e in repo.calendar(OWN)] == ["通院"]
    unknown = await client.post(f"/households/{OWN}/calendar/999/remove", data={"csrf_token": token})
    assert unknown.status == 422
    no_token = await client.post(f"/households/{OWN}/calendar/{entries[1].id}/remove", data={})
    assert no_token.status == 403
    assert [e.label for e in repo.calendar(OWN)] == ["通院"]
    actions = [e.action for e in repo.audit_log(household=OWN)]
    assert actions.count("calendar.added") == 2
    assert "calendar.removed" in actions
    # a calendar absence covering now shows the household as away, like an away period
    today = clock.now().astimezone(ZoneInfo("Asia/Tokyo")).date()
    stay = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    repo.set_calendar(OWN, [CalendarIn.model_validate({**stay, "start": "10:00", "end": "15:00"}).entry(OWN)])
    state = (await (await client.get("/api/households")).json())["households"][0]["state"]
    assert state == "away"


ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|[+-]\d{2}:\d{2}\b|\bUTC\b")


@pytest.mark.parametrize("lang", ["ja", "en"])
async def test_every_page_speaks_one_language_and_one_time_format(
    alice: tuple[Client, EscalationRepository], clock: FakeClock, lang: str
) -> None:
    """No code word (an enum's value) and no ISO or UTC time in what a person reads, on every page, in
    Japanese and in English; a code word without a label fails too (the label lookup logs an ERROR)."""
    client, repo = alice
    repo.add_away(
        OWN, clock.now() + timedelta(days=1), clock.now() + timedelta(days=2), "care_manager:alice", ""
    )
    repo.set_calendar(
        OWN,
        [
            CalendarIn.model_validate(raw).entry(OWN)
            for raw in (
                {"label": "デイサービス", "weekly": ["tue", "thu"], "start": "09:00", "end": "16:00"},
                {"from": "2026-12-21", "to": "2026-12-24", "start": "10:00", "end": "15:00"},
            )
        ],
    )
    token = csrf_of(await (await client.get("/")).text())
    assert (await client.post("/language", data={"csrf_token": token, "lang": lang})).status == 200
    codes = {member.value for enum in CODE_WORD_ENUMS for member in enum}
    # English labels may be the same plain word ("resolved"); a code word with "_" never reads as English
    forbidden = codes if lang == "ja" else {code for code in codes if "_" in code}
    pages = ["/", "/account/2fa", f"/households/{OWN}", f"/households/{OWN}/digest"]
    pages += [
        f"/households/{OWN}/{part}" for part in ("contacts", "policy", "away", "options", "sensitivity")
    ]
    for path in [*pages, f"/households/{OTHER}"]:
        response = await client.get(path)
        assert response.status == (404 if path.endswith(OTHER) else 200), path
        text, words = visible_words(await response.text())
        assert not words & forbidden, (path, sorted(words & forbidden))
        assert not ISO_TIMESTAMP.search(text), (path, ISO_TIMESTAMP.findall(text))
        # the page is in the language chosen
        mark = {"ja": ("ログアウト", "見つかりません"), "en": ("Sign out", "Not found")}
        assert mark[lang][path.endswith(OTHER)] in text, path
        assert mark["en" if lang == "ja" else "ja"][path.endswith(OTHER)] not in text, path


async def test_a_refused_form_speaks_the_page_language(
    alice: tuple[Client, EscalationRepository], clock: FakeClock
) -> None:
    client, _ = alice
    token = csrf_of(await (await client.get(f"/households/{OWN}/away")).text())
    await client.post("/language", data={"csrf_token": token, "lang": "ja"})
    now_local = clock.now().astimezone(ZoneInfo("Asia/Tokyo"))
    start = (now_local + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    end = (now_local + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    refused = await client.post(
        f"/households/{OWN}/away", data={"csrf_token": token, "start": start, "end": end, "note": ""}
    )
    assert refused.status == 422
    html = await refused.text()
    assert "開始より後にしてください" in html
    assert "must be after the start" not in html


async def test_the_device_card_shows_events_a_gateway_numbered_that_never_arrived(
    alice: tuple[Client, EscalationRepository], tmp_path: Path, clock: FakeClock
) -> None:
    client, _ = alice
    store = SqliteEventStore(tmp_path / "events.sqlite3")  # the file seed_real wrote
    store.open()
    at = clock.now() - timedelta(minutes=5)
    events = [
        Event(f"gap-test-{seq:04d}", OWN, "gw-gap", "hall-motion", Kind.MOTION, 1, at, seq)
        for seq in (1, 2, 6)
    ]
    store.commit_batch(IngestBatch(received_at=at, events=events))
    store.close()
    html = await (await client.get(f"/households/{OWN}")).text()
    assert re.search(r"gw-gap: 3 events not received \(no. 3–5\) since [-/\d]+ \d\d:\d\d", html)


async def test_contact_channels_are_edited_and_validated(alice: tuple[Client, EscalationRepository]) -> None:
    client, repo = alice
    page = await (await client.get(f"/households/{OWN}/contacts")).text()
    assert 'name="channels"' in page
    form = {
        "csrf_token": csrf_of(page),
        "contact_id": "c-kato",
        "name": "加藤 Kato",
        "phone": "+819011112222",
        "role": "neighbour",
        "language": "ja",
    }
    alone = await client.post(
        f"/households/{OWN}/contacts", data={**form, "channels": "email", "email": "k@x.jp"}
    )
    assert alone.status == 422  # e-mail alone cannot reach a neighbour in time
    assert "e-mail alone" in await alone.text()
    unknown = await client.post(f"/households/{OWN}/contacts", data={**form, "channels": "pager"})
    assert unknown.status == 422
    good = await client.post(
        f"/households/{OWN}/contacts", data={**form, "channels": "line、 sms", "email": ""}
    )
    assert good.status == 200
    contact = repo.contact("c-kato")
    assert contact is not None
    assert [c.value for c in contact.channels] == ["line", "sms"]
    kept = await client.post(f"/households/{OWN}/contacts", data=form)  # no channels field: unchanged
    assert kept.status == 200
    contact = repo.contact("c-kato")
    assert contact is not None
    assert [c.value for c in contact.channels] == ["line", "sms"]


async def test_room_climate_chart_summer_heat_hours_and_the_overview_column(
    alice: tuple[Client, EscalationRepository], clock: FakeClock
) -> None:
    client, _ = alice
    now = clock.now()
    events: list[Event] = []

    def reading(device: str, kind: Kind, value: float, at: datetime) -> None:
        mid = message_id_for(OWN, device, kind, value, at)
        events.append(Event(mid, OWN, "gw-1", device, kind, value, at, 50_000 + len(events)))

    hot_day = datetime(2026, 8, 10, 12, 0, tzinfo=TOKYO)
    for k in range(4 * 12):  # four hours at 35 °C, 70 %: 危険
        reading("living-temp", Kind.HUMIDITY, 70.0, hot_day + k * timedelta(minutes=5))
        reading("living-temp", Kind.TEMPERATURE, 35.0, hot_day + k * timedelta(minutes=5))
    for k in range(48, 0, -1):  # the last two days, hourly
        reading("bedroom-temp", Kind.TEMPERATURE, 21.0, now - timedelta(hours=k))
        reading("bedroom-temp", Kind.HUMIDITY, 50.0, now - timedelta(hours=k))
    reading("living-temp", Kind.HUMIDITY, 65.0, now - timedelta(minutes=10))
    reading("living-temp", Kind.TEMPERATURE, 33.0, now - timedelta(minutes=10))
    store = client.server.app[keys.ACTIVITY]  # the dashboard's own reader of the events file
    assert isinstance(store, SqliteEventStore)
    store.commit_batch(IngestBatch(now, events=events))
    html = await (await client.get(f"/households/{OWN}")).text()
    assert 'id="climate"' in html
    assert 'class="temperature"' in html
    assert 'class="humidity"' in html
    hours = re.search(r'<table class="heat-hours" id="heat-hours">(.*?)</table>', html, re.S)
    assert hours is not None
    assert "danger<br>4.0 h" in hours.group(1)
    overview = await (await client.get("/")).text()
    assert "33℃ severe" in overview
    # the care manager's summary: the week's digest has each day's hours at 厳重警戒 or above
    digest = await (await client.get(f"/households/{OWN}/digest?week=2026-08-10")).text()
    assert re.findall(r'<td class="hot-hours">([^<]*)</td>', digest) == ["4.0 h"] + ["0.0 h"] * 6
    csv_text = await (await client.get(f"/households/{OWN}/digest.csv?week=2026-08-10")).text()
    assert csv_text.splitlines()[0].endswith(",hours_severe_heat")
    assert csv_text.splitlines()[1].startswith(f"{OWN},2026-08-10,")
    assert csv_text.splitlines()[1].endswith(",4.0")
