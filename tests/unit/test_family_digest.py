"""The families' daily digest and incident notices (pure): what a normal day and each kind of other day
say, in Japanese and English, and that every Japanese SMS stays within one segment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from detection.findings import Audience, FindingKind, Severity
from escalation.digest import DayFacts, IncidentOfDay, compose
from escalation.family_notices import family_notice, tells_family
from escalation.models import Incident, IncidentState, Outcome, PolicySnapshot
from escalation.texts import UCS2_SINGLE
from registry.models import Language

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = datetime(2026, 12, 3, 0, 0, tzinfo=TOKYO)
NOW = datetime(2026, 12, 3, 19, 0, tzinfo=TOKYO).astimezone(UTC)


def at(h: int, m: int = 0) -> datetime:
    return (DAY + timedelta(hours=h, minutes=m)).astimezone(UTC)


BASE = DayFacts(
    name="山田花子",
    time_zone="Asia/Tokyo",
    day_start=DAY.astimezone(UTC),
    activity=48,
    usual=50.0,
    last_activity_at=at(18, 52),
)

CASES = [
    # (name, facts, normal, Japanese SMS)
    (
        "a normal day",
        BASE,
        True,
        "【見守り】山田花子さん(12/3):今日も元気に過ごされています。最後の動き 18:52",
    ),
    (
        "an incident, closed",
        replace(BASE, incidents=(IncidentOfDay(FindingKind.INACTIVITY, at(10, 20), Outcome.SAFE),)),
        False,
        "【見守り】山田花子さん(12/3):10:20見守り連絡(動きなし)→無事。",
    ),
    (
        "an incident still open",
        replace(BASE, incidents=(IncidentOfDay(FindingKind.HELP_BUTTON, at(17, 5)),)),
        False,
        "【見守り】山田花子さん(12/3):17:05見守り連絡(緊急ボタン)対応中。",
    ),
    (
        "a blind period",
        replace(BASE, blind=((at(13, 5), at(15, 10)),)),
        False,
        "【見守り】山田花子さん(12/3):13:05〜15:10通信断で様子不明。",
    ),
    (
        "a short blind period is not worth a note",
        replace(BASE, blind=((at(13, 5), at(13, 20)),)),
        True,
        "【見守り】山田花子さん(12/3):今日も元気に過ごされています。最後の動き 18:52",
    ),
    (
        "a quiet day",
        replace(BASE, activity=12, last_activity_at=at(16, 0)),
        False,
        "【見守り】山田花子さん(12/3):動きが普段より少なめ(約24%)。",
    ),
    (
        "nothing at all",
        replace(BASE, activity=0, last_activity_at=None),
        False,
        "【見守り】山田花子さん(12/3):今日は動きが記録されていません。",
    ),
    (
        "away most of the day: not judged, said",
        replace(BASE, activity=2, away=timedelta(hours=15), away_label="ショートステイ"),
        False,
        "【見守り】山田花子さん(12/3):ショートステイで不在の予定。",
    ),
    (
        "a day service in the day is normal",
        replace(BASE, activity=30, away=timedelta(hours=7), away_label="デイサービス"),
        True,
        "【見守り】山田花子さん(12/3):今日も元気に過ごされています。最後の動き 18:52",
    ),
    (
        "no store to ask: incidents and blind periods only",
        replace(BASE, activity=None, usual=None, last_activity_at=None),
        True,
        "【見守り】山田花子さん(12/3):今日も元気に過ごされています。",
    ),
    (
        "several notes: the most important first, as many as fit",
        replace(
            BASE,
            activity=10,
            incidents=(IncidentOfDay(FindingKind.MISSED_WAKEUP, at(8, 30), Outcome.ACTIVITY_RESUMED),),
            blind=((at(13, 0), at(14, 0)),),
        ),
        False,
        "【見守り】山田花子さん(12/3):08:30見守り連絡(起床なし)→動きあり。13:00〜14:00通信断で様子不明。",
    ),
]


@pytest.mark.parametrize(("facts", "normal", "sms"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_digest_says_what_the_day_was(facts: DayFacts, normal: bool, sms: str) -> None:
    digest = compose(facts, NOW, Language.JA)
    assert (digest.normal, digest.sms) == (normal, sms)
    assert len(digest.sms) <= UCS2_SINGLE
    assert digest.mail.splitlines()[0].startswith("【見守り】山田花子さん(12/3):")
    assert ("今日も元気" in digest.mail) is normal  # a day with a note never says 元気
    for note in digest.notes:
        assert note in digest.mail  # the e-mail lists every note, even those the SMS had no room for


def test_english() -> None:
    normal = compose(replace(BASE, name="Hanako Yamada"), NOW, Language.EN)
    assert normal.sms == "Mimamori: Hanako Yamada (12/3): A normal day: all looked well. last activity 18:52"
    day = replace(BASE, name="Hanako Yamada", incidents=(IncidentOfDay(FindingKind.INACTIVITY, at(10, 20)),))
    assert compose(day, NOW, Language.EN).sms == (
        "Mimamori: Hanako Yamada (12/3): alert at 10:20 (no activity), still open."
    )


def test_a_long_name_and_many_notes_stay_in_one_segment() -> None:
    facts = replace(
        BASE,
        name="長谷川" * 10,
        activity=1,
        incidents=tuple(IncidentOfDay(FindingKind.LONG_ABSENCE, at(h), Outcome.HOSPITAL) for h in (8, 9, 10)),
        blind=((at(11), at(18)),),
    )
    digest = compose(facts, NOW, Language.JA)
    assert len(digest.sms) <= UCS2_SINGLE
    assert digest.sms.endswith("08:00見守り連絡(外出が長い)→病院へ搬送。")  # the name was shortened
    assert len(digest.notes) == 5


def _incident(kind: FindingKind, audience: Audience, outcome: Outcome | None = None) -> Incident:
    return Incident(
        id="i1",
        household="h-1",
        kind=kind,
        severity=Severity.URGENT,
        audience=audience,
        state=IncidentState.RESOLVED if outcome else IncidentState.NOTIFYING,
        opened_at=NOW,
        updated_at=NOW,
        episode="e",
        explanation_key="inactivity",
        explanation_params={"since": "07:10", "quiet_h": 4, "usual_h": 3, "days": 21},
        last_activity_at=None,
        snapshot=PolicySnapshot((), 45, None, "Asia/Tokyo"),
        outcome=outcome,
    )


NOTICES = [
    (
        FindingKind.INACTIVITY,
        None,
        Language.JA,
        "【見守り・ご家族へ】山田花子さん:07:10から動きなし。地域の方が確認しています。",
    ),
    (
        FindingKind.HELP_BUTTON,
        None,
        Language.JA,
        "【見守り・ご家族へ】山田花子さん:緊急ボタンが押されました。地域の方が確認しています。",
    ),
    (
        FindingKind.INACTIVITY,
        Outcome.SAFE,
        Language.JA,
        "【見守り・ご家族へ】山田花子さんの件は終了しました(無事)。",
    ),
    (
        FindingKind.INACTIVITY,
        Outcome.HOSPITAL,
        Language.JA,
        "【見守り・ご家族へ】山田花子さんの件は終了しました(病院へ搬送)。",
    ),
    (
        FindingKind.INACTIVITY,
        None,
        Language.EN,
        "Mimamori (family): Hanako Yamada: no activity since 07:10. People nearby are checking; we will tell"
        " you when it is closed.",
    ),
    (
        FindingKind.INACTIVITY,
        Outcome.SAFE,
        Language.EN,
        "Mimamori (family): the alert for Hanako Yamada is closed (safe).",
    ),
]


@pytest.mark.parametrize(("kind", "outcome", "lang", "text"), NOTICES)
def test_family_notices_say_what_happened_and_never_ask_to_go(
    kind: FindingKind, outcome: Outcome | None, lang: Language, text: str
) -> None:
    name = "山田花子" if lang is Language.JA else "Hanako Yamada"
    body = family_notice(_incident(kind, Audience.COMMUNITY, outcome), name, lang, opened=outcome is None)
    assert body == text
    assert "1" not in body.replace("10", "")  # no reply keys
    if lang is Language.JA:
        assert len(body) <= UCS2_SINGLE


def test_a_long_name_is_cut_to_keep_one_segment() -> None:
    body = family_notice(
        _incident(FindingKind.INACTIVITY, Audience.COMMUNITY), "長谷川" * 10, Language.JA, opened=True
    )
    assert len(body) <= UCS2_SINGLE
    assert "07:10から動きなし" in body


@pytest.mark.parametrize(
    ("kind", "audience", "outcome", "opened", "told"),
    [
        (FindingKind.INACTIVITY, Audience.COMMUNITY, None, True, True),
        (FindingKind.INACTIVITY, Audience.COMMUNITY, Outcome.SAFE, False, True),
        (
            FindingKind.INACTIVITY,
            Audience.COMMUNITY,
            Outcome.SUPERSEDED,
            False,
            False,
        ),  # the newer one is told
        (FindingKind.BLIND_GATEWAY, Audience.TECHNICAL, None, True, False),  # the digest mentions it
        (FindingKind.NOT_BACK, Audience.CARE_MANAGER, None, True, False),
    ],
)
def test_which_incidents_the_family_is_told_of(
    kind: FindingKind, audience: Audience, outcome: Outcome | None, opened: bool, told: bool
) -> None:
    assert tells_family(_incident(kind, audience, outcome), opened=opened) is told
