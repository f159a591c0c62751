"""SMS texts: the first Japanese alert fits two segments whatever the names; links verify."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detection.findings import FindingKind
from escalation import texts
from escalation.links import LinkError, sign, verify
from escalation.models import Outcome
from escalation.sms.errors import ErrorClass, classify
from registry.models import Language, TierKind
from tests.conftest import FIXED_NOW

LINK = "https://mimamori.example.jp/l/" + sign(b"s" * 32, 123456, FIXED_NOW + timedelta(hours=24))


@given(
    name=st.text(min_size=1, max_size=40),
    hint=st.text(max_size=60),
    kind=st.sampled_from(list(FindingKind)),
    since=st.text(max_size=30),
)
def test_first_japanese_alert_fits_two_segments(name: str, hint: str, kind: FindingKind, since: str) -> None:
    what = texts.reason(kind, {"since": since}, Language.JA)
    body = texts.alert(
        lang=Language.JA, tier=TierKind.NEIGHBOURS, name=name, address_hint=hint, what=what, link=LINK
    )
    assert len(body) <= texts.ALERT_BUDGET_JA
    assert body.endswith(LINK)  # the link and the reply keys are never cut
    assert "行ける1 無理2 無事3 救急119" in body


def test_a_typical_alert_keeps_everything() -> None:
    what = texts.reason(FindingKind.INACTIVITY, {"since": "07:10"}, Language.JA)
    body = texts.alert(
        lang=Language.JA,
        tier=TierKind.NEIGHBOURS,
        name="山田花子",
        address_hint="桜町2丁目",
        what=what,
        link=LINK,
    )
    assert body.startswith("【見守り】山田花子さん(桜町2丁目):07:10から動きがありません。")
    assert texts.segments(body) == 2


def test_segments() -> None:
    assert texts.segments("a" * 160) == 1
    assert texts.segments("a" * 161) == 2
    assert texts.segments("あ" * 70) == 1
    assert texts.segments("あ" * 134) == 2
    assert texts.segments("あ" * 135) == 3


def test_links_verify_and_expire() -> None:
    secret = b"k" * 32
    token = sign(secret, 42, FIXED_NOW + timedelta(hours=1))
    assert verify(secret, token, FIXED_NOW).link_id == 42
    with pytest.raises(LinkError, match="expired"):
        verify(secret, token, FIXED_NOW + timedelta(hours=2))
    with pytest.raises(LinkError, match="signature"):
        verify(b"other" * 8, token, FIXED_NOW)
    forged = token.replace(token.split(".")[0], "43", 1)
    with pytest.raises(LinkError):
        verify(secret, forged, FIXED_NOW)
    for junk in ("", "a.b", "..", "x" * 100):
        with pytest.raises(LinkError):
            verify(secret, junk, FIXED_NOW)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (21211, 400, ErrorClass.PERMANENT),
        (21610, 400, ErrorClass.PERMANENT),
        (21614, 400, ErrorClass.PERMANENT),
        (30003, None, ErrorClass.RETRYABLE),
        (30005, None, ErrorClass.PERMANENT),
        (30008, None, ErrorClass.RETRYABLE),
        (20429, 429, ErrorClass.RETRYABLE),
        (None, 503, ErrorClass.RETRYABLE),
        (None, 429, ErrorClass.RETRYABLE),
        (99999, 400, ErrorClass.PERMANENT),
        (20003, 401, ErrorClass.CONFIG),
    ],
)
def test_error_table(code: int | None, status: int | None, expected: ErrorClass) -> None:
    assert classify(code, status) is expected


def test_alerts_carry_detections_explanation_and_still_fit() -> None:
    params = {"since": "07:10", "wake_by": "08:00", "days": 21}
    what = texts.explain(FindingKind.MISSED_WAKEUP, "missed_wakeup", params, Language.JA)
    assert what == "07:10以降 動きなし。普段は08:00までに起床(21日間の学習)"
    body = texts.alert(
        lang=Language.JA,
        tier=TierKind.NEIGHBOURS,
        name="山田花子",
        address_hint="桜町2丁目",
        what=what,
        link=LINK,
    )
    assert len(body) <= texts.ALERT_BUDGET_JA
    assert "普段は08:00までに起床" in body
    # parameters detection's template does not know: the short reason of the kind
    assert texts.explain(FindingKind.INACTIVITY, "inactivity", {"since": "07:10"}, Language.JA) == (
        "07:10から動きがありません"
    )


TYPICAL = {
    "name": "山田花子",
    "claimer": "佐藤一郎",
    "by": "佐藤一郎",
    "code": "K7",
    "other": "M3",
    "codes": "K7 M3",
    "no_answer": "12",
    "send_failed": "3",
    "opted_out": "2",
    "households": "15",
    "until": "12/10 14:00",
    "month": "2026年11月",
    "alerts": "12",
    "answered": "10",
    "claimed": "4",
    "visits": "3",
    "drills": "1",
    "points": "24",
    "hint": "桜町2丁目 青い屋根",
}


@pytest.mark.parametrize("key", sorted(texts.keys()))
def test_every_text_is_in_both_languages_and_one_japanese_segment(key: str) -> None:
    for outcome in Outcome:
        for lang in Language:
            body = texts.text(key, lang, how=texts.how(outcome, lang), **TYPICAL)
            assert "{" not in body
            if lang is Language.JA:
                assert len(body) <= texts.UCS2_SINGLE, body


def test_every_outcome_has_words() -> None:
    for lang in Language:
        assert len({texts.how(o, lang) for o in Outcome}) == len(Outcome)


@pytest.mark.parametrize("lang", list(Language))
def test_the_reply_code_is_in_the_tag_and_never_cut(lang: Language) -> None:
    body = texts.alert(
        lang=lang,
        tier=TierKind.NEIGHBOURS,
        name="山" * 40,
        address_hint="桜" * 60,
        what="x" * 80,
        link=LINK,
        code="K7",
    )
    assert body.startswith("【見守り K7】" if lang is Language.JA else "Mimamori K7: ")
    assert len(body) <= (texts.ALERT_BUDGET_JA if lang is Language.JA else texts.ALERT_BUDGET_EN)
    assert body.endswith(LINK)
