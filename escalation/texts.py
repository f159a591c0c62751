"""Every SMS text, in Japanese and English, short enough to be read on a basic phone.

The first Japanese alert must fit in two SMS segments: a message with any Japanese character is sent as
UCS-2, 70 characters in one segment, 67 per segment when split, so at most 134 characters.
"""

from __future__ import annotations

from collections.abc import Mapping

from detection.explain import render
from detection.findings import Explanation, FindingKind
from escalation.models import Outcome
from registry.models import Language, TierKind

UCS2_SINGLE = 70
UCS2_PART = 67
GSM_SINGLE = 160
GSM_PART = 153
ALERT_BUDGET_JA = 2 * UCS2_PART  # 134
ALERT_BUDGET_EN = 2 * GSM_PART  # 306 (GSM-7)

Params = Mapping[str, str | int | float]

# Short reasons, used when the finding's explanation has no rendering of its own.
_REASON: dict[Language, dict[FindingKind, str]] = {
    Language.JA: {
        FindingKind.HELP_BUTTON: "緊急ボタンが押されました",
        FindingKind.INACTIVITY: "{since}から動きがありません",
        FindingKind.MISSED_WAKEUP: "いつもの起床時刻を過ぎても動きがありません",
        FindingKind.LONG_ABSENCE: "外出後、普段より長く戻っていません",
        FindingKind.NIGHT_EXIT: "夜間に外出し戻っていません",
        FindingKind.EVENING_QUIET: "{since}から夜の動きがありません",
        FindingKind.BLIND_GATEWAY: "見守り機器が通信していません",
        FindingKind.BLIND_SENSORS: "センサーが全て無反応です",
        FindingKind.DEVICE_SILENT: "センサー1台が無反応です",
        FindingKind.LOW_BATTERY: "センサーの電池残量低下",
        FindingKind.STUCK_SENSOR: "センサーの異常",
        FindingKind.DATA_GAP: "記録の一部が届いていません",
        FindingKind.SLOW_DECLINE: "活動量がゆるやかに低下",
        FindingKind.NOT_BACK: "予定の時刻を過ぎても帰宅の気配がありません",
        FindingKind.HEAT: "室内が危険な暑さです",
        FindingKind.COLD: "室内が長時間寒いままです",
        FindingKind.HEAT_SHOCK: "浴室と居間の温度差が大きい",
    },
    Language.EN: {
        FindingKind.HELP_BUTTON: "the help button was pressed",
        FindingKind.INACTIVITY: "no activity since {since}",
        FindingKind.MISSED_WAKEUP: "no sign of getting up by the usual time",
        FindingKind.LONG_ABSENCE: "out for longer than ever seen",
        FindingKind.NIGHT_EXIT: "went out at night and has not come back",
        FindingKind.EVENING_QUIET: "no sign of the usual evening since {since}",
        FindingKind.BLIND_GATEWAY: "the home gateway is offline",
        FindingKind.BLIND_SENSORS: "every sensor is silent",
        FindingKind.DEVICE_SILENT: "a sensor is silent",
        FindingKind.LOW_BATTERY: "a sensor battery is low",
        FindingKind.STUCK_SENSOR: "a sensor looks stuck",
        FindingKind.DATA_GAP: "some readings were lost",
        FindingKind.SLOW_DECLINE: "activity slowly declining",
        FindingKind.NOT_BACK: "no sign of return after a planned absence",
        FindingKind.HEAT: "dangerous heat indoors",
        FindingKind.COLD: "cold indoors for hours",
        FindingKind.HEAT_SHOCK: "bathroom much colder than the living room",
    },
}
_REASON_NO_TIME = {Language.JA: "しばらく動きがありません", Language.EN: "no activity for a while"}


def segments(body: str) -> int:
    """How many SMS segments ``body`` takes (GSM-7 approximated as ASCII; anything else is UCS-2)."""
    if body.isascii():
        return 1 if len(body) <= GSM_SINGLE else -(-len(body) // GSM_PART)
    return 1 if len(body) <= UCS2_SINGLE else -(-len(body) // UCS2_PART)


def explain(kind: FindingKind, key: str, params: Params, lang: Language) -> str:
    """What was seen and why it is unusual: detection's rendering of the explanation when it has one
    for these parameters (``escalation/explain.py``), else the short reason of the finding's kind."""
    text = render(Explanation(key, params), lang.value)
    return reason(kind, params, lang) if text == f"{key} {dict(params)}" else text


_CLIMATE_ADVICE: dict[Language, dict[FindingKind, str]] = {
    Language.JA: {
        FindingKind.HEAT: "室温が{temp_c}℃です。エアコンをつけて水分をとりましょう",
        FindingKind.COLD: "室温が{temp_c}℃です。暖房をつけて暖かくしましょう",
    },
    Language.EN: {
        FindingKind.HEAT: "It is {temp_c}C indoors. Please turn on the air conditioner and drink water",
        FindingKind.COLD: "It is {temp_c}C indoors. Please turn on the heating and keep warm",
    },
}
_HEATING_TOO_HIGH = {  # hot in winter (November to March): the heating, not the weather
    Language.JA: "室温が{temp_c}℃です。暖房を弱めて窓を少し開け、水分をとりましょう",
    Language.EN: "It is {temp_c}C indoors. Please turn the heating down, open a window a little and drink"
    " water",
}
_LOOK_IN = {
    Language.JA: "{what}。様子を見に行けますか",
    Language.EN: "{what}; please look in on them if you can",
}


def climate_what(kind: FindingKind, key: str, params: Params, lang: Language, *, resident: bool) -> str:
    """A heat or cold alert's words: the resident is told what to do (「室温が32℃です。エアコンを…」);
    anyone else reads what was seen and is asked to look in (「…。様子を見に行けますか」)."""
    if resident:
        try:
            if kind is FindingKind.HEAT and params.get("heating"):
                return _HEATING_TOO_HIGH[lang].format(**params)
            return _CLIMATE_ADVICE[lang][kind].format(**params)
        except (KeyError, IndexError, ValueError):
            return reason(kind, params, lang)
    return _LOOK_IN[lang].format(what=explain(kind, key, params, lang))


def reason(kind: FindingKind, params: Params, lang: Language) -> str:
    """The short "what was seen" of an alert."""
    template = _REASON[lang][kind]
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return _REASON_NO_TIME[lang] if kind is FindingKind.INACTIVITY else template.split("{")[0].strip()


def _cut(text: str, limit: int) -> str:
    if limit <= 0:
        return ""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def alert(
    *,
    lang: Language,
    tier: TierKind,
    name: str,
    address_hint: str,
    what: str,
    link: str,
    code: str = "",
) -> str:
    """The alert of an escalation wave. Japanese fits 134 characters: the hint, then the reason, then the
    name are shortened if needed; the reply keys, the reply code (``escalation.codes``) and the link
    always stay whole. The code is in the tag: 【見守り K7】."""
    label = f" {code}" if code else ""
    if lang is Language.JA:
        tag = {TierKind.TECHNICAL: "【見守り・技術{}】", TierKind.OPERATORS: "【見守り・運用{}】"}.get(
            tier, "【見守り{}】"
        ).format(label)
        keys = "行ける1 無理2 無事3 救急119"
        if tier is TierKind.RESIDENT_CHECK:
            keys = "無事なら3 助けが必要なら119"

        def build(n: str, h: str, w: str) -> str:
            where = f"({h})" if h else ""
            return f"{tag}{n}さん{where}:{w}。{keys} {link}"

        budget = ALERT_BUDGET_JA
    else:
        tag = {TierKind.TECHNICAL: "Mimamori tech{}: ", TierKind.OPERATORS: "Mimamori ops{}: "}.get(
            tier, "Mimamori{}: "
        ).format(label)
        keys = "Reply 1 going, 2 can't, 3 safe, 119 emergency"
        if tier is TierKind.RESIDENT_CHECK:
            keys = "Reply 3 if you are fine, 119 if you need help"

        def build(n: str, h: str, w: str) -> str:
            where = f" ({h})" if h else ""
            return f"{tag}{n}{where}: {w}. {keys} {link}"

        budget = ALERT_BUDGET_EN
    body = build(name, address_hint, what)
    over = len(body) - budget
    if over > 0:
        address_hint = _cut(address_hint, len(address_hint) - over)
        body = build(name, address_hint, what)
        over = len(body) - budget
    if over > 0:
        what = _cut(what, max(len(what) - over, 8))
        body = build(name, address_hint, what)
        over = len(body) - budget
    if over > 0:
        name = _cut(name, max(len(name) - over, 2))
        body = build(name, address_hint, what)
    return body


def operators_alert(lang: Language, blind_homes: int, link: str, code: str = "") -> str:
    label = f" {code}" if code else ""
    if lang is Language.JA:
        return f"【見守り・運用{label}】{blind_homes}世帯が同時に通信断。基盤障害の可能性。個別連絡は保留中。{link}"  # noqa: E501
    return (
        f"Mimamori ops{label}: {blind_homes} homes went offline at once; likely a platform or network outage."
        f" Per-home alerts are held. {link}"
    )


_TEXTS: dict[str, dict[Language, str]] = {
    "claimed_you": {
        Language.JA: "ありがとうございます。{name}さん宅へ。結果を返信: 3無事 4応答なし 5搬送 119救急",
        Language.EN: "Thank you. Please go to {name}. Then reply 3 safe, 4 no answer at door, 5 hospital, "
        "119 emergency.",
    },
    "claimed_other": {
        Language.JA: "【見守り】{name}さんの件は{claimer}さんが向かいます。ありがとうございます。",
        Language.EN: "Mimamori: {claimer} is going to {name}. Thank you.",
    },
    "already_claimed": {
        Language.JA: "{claimer}さんが既に向かっています。ありがとうございます。",
        Language.EN: "{claimer} is already going. Thank you.",
    },
    "declined": {
        Language.JA: "了解しました。次の方に連絡します。",
        Language.EN: "Understood. We will contact the next person.",
    },
    "help_sent": {
        Language.JA: "専門職に連絡しました。命に関わる場合はすぐ119番に電話してください。",
        Language.EN: "Professionals have been alerted. If life is at risk, call 119 now.",
    },
    "help_requested": {
        Language.JA: "【見守り・至急】{name}さんの件で{by}さんが救急を求めています。すぐ対応を。",
        Language.EN: "Mimamori URGENT: {by} asks for emergency help for {name}. Please act now.",
    },
    "resolved": {
        Language.JA: "【見守り】{name}さんの件は終了しました({how})。ありがとうございました。",
        Language.EN: "Mimamori: {name} is closed ({how}). Thank you.",
    },
    "activity_resolved": {
        Language.JA: "【見守り】{name}さん宅で動きが続いています。対応は不要です。ありがとうございました。",
        Language.EN: "Mimamori: activity goes on at {name}'s home. No need to go. Thank you.",
    },
    "activity_paused": {
        Language.JA: "【見守り】{name}さん宅で動きがありました。次の連絡は止めました。"
        "続けば自動で終了します。",
        Language.EN: "Mimamori: activity seen at {name}'s home; further calls stopped. "
        "It closes itself if it goes on.",
    },
    "superseded": {
        Language.JA: "【見守り】{name}さんの件は新しい連絡に置き換わりました。改めて届く場合があります。",
        Language.EN: "Mimamori: a newer alert replaces this one for {name}; you may get it.",
    },
    "claim_expired": {
        Language.JA: "{name}さんの件、結果の返信がないため次の方にも連絡しました。3(無事)で返信を。",
        Language.EN: "No outcome for {name} yet, so we contacted the next people too. Reply 3 if safe.",
    },
    "usage": {
        Language.JA: "返信は 1=行ける 2=無理 3=無事 119=救急 のいずれかで。配信停止は「停止」とだけ返信。",
        Language.EN: "Reply 1 going, 2 can't, 3 safe, 119 emergency. To opt out, reply just STOP.",
    },
    "usage_claimer": {
        Language.JA: "{name}さんの結果を返信: 3=無事 4=応答なし 5=搬送 119=救急 2=行けなくなった",
        Language.EN: "For {name}, reply 3 safe, 4 no answer at door, 5 hospital, 119 emergency, 2 can't go.",
    },
    "usage_resident": {
        Language.JA: "大丈夫なら「3」、助けが必要なら「119」と返信してください。",
        Language.EN: "Reply 3 if you are fine, 119 if you need help.",
    },
    "confirm_go": {
        Language.JA: "{name}さんの件、行けるなら1、行けないなら2と返信してください。",
        Language.EN: "For {name}: reply 1 if you can go, 2 if you cannot.",
    },
    "taken_for": {
        Language.JA: "{name}さんの件({code})への返信として受け付けました。別の件は符号を先頭に: {other} 1",
        Language.EN: "Taken as your reply about {name} ({code}). For another alert start with its code: "
        "{other} 1",
    },
    "unknown_code": {
        Language.JA: "符号{code}の連絡は見つかりません。何も変更していません。対応中の符号: {codes}",
        Language.EN: "No open alert has the code {code}; nothing was changed. Open codes: {codes}",
    },
    "resident_thanks": {
        Language.JA: "ご返信ありがとうございます。無事とお伝えしました。",
        Language.EN: "Thank you for answering. We let everyone know you are fine.",
    },
    "not_claimer": {
        Language.JA: "{name}さんの結果は向かった方からお願いします。何も変更していません。",
        Language.EN: "Only the person who went can report this outcome for {name}; nothing was changed.",
    },
    "opted_out": {
        Language.JA: "配信を停止しました。この番号には今後連絡しません。再開は「再開」と返信。",
        Language.EN: "You are opted out: Mimamori will not text this number. Reply START to opt back in.",
    },
    "opted_in": {
        Language.JA: "配信を再開しました。見守りの連絡が再び届きます。",
        Language.EN: "You are opted back in to Mimamori texts.",
    },
    "drill": {
        Language.JA: "【見守り】連絡網のテストです。受け取ったら T と返信してください({code})",
        Language.EN: "Mimamori contact test: please reply T when you get this ({code}).",
    },
    "drill_thanks": {
        Language.JA: "テストの返信を受け取りました。ありがとうございます。",
        Language.EN: "Test reply received. Thank you.",
    },
    "drill_summary": {
        Language.JA: (
            "【見守り】連絡網テスト: 応答なし{no_answer}名 送信失敗{send_failed}名 停止{opted_out}名"
            " 要確認{households}世帯"
        ),
        Language.EN: (
            "Mimamori contact test: {no_answer} no answer, {send_failed} send failed,"
            " {opted_out} opted out; {households} households to check."
        ),
    },
    "rest_started": {
        Language.JA: "{until}までお休みにします。その間は連絡しません。早めに戻るときは「再開」と返信。",
        Language.EN: "You are resting until {until}: no alerts until then. Reply START to come back sooner.",
    },
    "rest_bad": {
        Language.JA: "日数は1〜90で。例:「休み 7」で7日間お休み。何も変更していません。",
        Language.EN: "Send REST and a number of days from 1 to 90, e.g. REST 7. Nothing was changed.",
    },
    "rest_ended": {
        Language.JA: "お休みを終えました。見守りの連絡が再び届きます。",
        Language.EN: "Welcome back: Mimamori alerts reach you again.",
    },
    "volunteers_only": {
        Language.JA: "「休み」「記録」はボランティアの方向けです。何も変更していません。",
        Language.EN: "REST and RECORD are for volunteers. Nothing was changed.",
    },
    "record": {
        Language.JA: (
            "【見守り】{month}の記録: 通知{alerts} 応答{answered} 駆付{claimed} 訪問{visits}"
            " 訓練{drills} 計{points}pt"
        ),
        Language.EN: (
            "Mimamori, {month}: {alerts} alerts, {answered} answered, {claimed} claimed, {visits} visits,"
            " {drills} drills, {points} points."
        ),
    },
    "disaster_thanks": {
        Language.JA: "ご返信ありがとうございます。無事と記録しました。",
        Language.EN: "Thank you. We have noted that you are safe.",
    },
    "disaster_help": {
        Language.JA: "助けが必要と記録しました。命に関わる場合は119番へ。",
        Language.EN: "We have noted that you need help. If life is at risk, call 119.",
    },
    "disaster_ask": {
        Language.JA: "【見守り】地震後{name}さん({hint})の無事が未確認。行けるなら1、無事確認で3({code})",
        Language.EN: (
            "Mimamori: after the earthquake {name} ({hint}) is not confirmed safe. Reply 1 if you can go,"
            " 3 once they are safe ({code})."
        ),
    },
    "disaster_going": {
        Language.JA: "ありがとうございます。無事を確認したら3を返信してください。",
        Language.EN: "Thank you. Reply 3 once you have seen they are safe.",
    },
    "disaster_noted": {
        Language.JA: "ありがとうございます。無事と記録しました。",
        Language.EN: "Thank you. Noted as safe.",
    },
    "no_incident": {
        Language.JA: "現在、対応中の見守り連絡はありません。配信停止は「停止」とだけ返信。",
        Language.EN: "There is no open Mimamori alert for you. To opt out, reply just STOP.",
    },
}

_HOW: dict[Language, dict[Outcome, str]] = {
    Language.JA: {
        Outcome.SAFE: "無事",
        Outcome.FALSE_ALARM: "誤報",
        Outcome.NO_ANSWER_AT_DOOR: "訪問時応答なし",
        Outcome.HOSPITAL: "病院へ搬送",
        Outcome.EMERGENCY_HANDLED: "救急対応済",
        Outcome.ACTIVITY_RESUMED: "動きあり",
        Outcome.FAULT_CLEARED: "機器復旧",
        Outcome.ROOM_COOLED: "室温が安全な範囲に",
        Outcome.SUPERSEDED: "新しい連絡へ",
        Outcome.SUPPRESSED: "障害として処理",
        Outcome.OTHER: "その他",
    },
    Language.EN: {
        Outcome.SAFE: "safe",
        Outcome.FALSE_ALARM: "false alarm",
        Outcome.NO_ANSWER_AT_DOOR: "no answer at the door",
        Outcome.HOSPITAL: "taken to hospital",
        Outcome.EMERGENCY_HANDLED: "emergency handled",
        Outcome.ACTIVITY_RESUMED: "activity resumed",
        Outcome.FAULT_CLEARED: "fault cleared",
        Outcome.ROOM_COOLED: "the room is safe again",
        Outcome.SUPERSEDED: "replaced by a newer alert",
        Outcome.SUPPRESSED: "platform outage",
        Outcome.OTHER: "other",
    },
}


_DISASTER_CHECK = {
    Language.JA: "【見守り】地震がありました。無事なら1を返信してください({code}) {link}",
    Language.EN: "Mimamori: there has been an earthquake. If you are safe, reply 1 ({code}) or tap {link}",
}


def disaster_check(lang: Language, code: str, link: str) -> str:
    """A disaster check's question to a resident, with its one-tap link: two segments at most, as an
    alert (the link is most of it)."""
    return _DISASTER_CHECK[lang].format(code=code, link=link)


def text(key: str, lang: Language, **params: str) -> str:
    """A short notice or reply by key (see ``_TEXTS``)."""
    return _TEXTS[key][lang].format(**params)


def how(outcome: Outcome, lang: Language) -> str:
    """An outcome in words."""
    return _HOW[lang][outcome]


def keys() -> frozenset[str]:
    """Every text key (for tests: each has both languages)."""
    return frozenset(_TEXTS)
