"""Every SMS text, in Japanese and English, short enough to be read on a basic phone.

The first Japanese alert must fit in two SMS segments: a message with any Japanese character is sent as
UCS-2, 70 characters in one segment, 67 per segment when split, so at most 134 characters.
"""

from __future__ import annotations

from collections.abc import Mapping

from detection.explain import render
from detection.findings import Explanation, FindingKind
from escalation.models import Resolution
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
        FindingKind.SLOW_DECLINE: "活動量がゆるやかに低下",
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
        FindingKind.SLOW_DECLINE: "activity slowly declining",
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
) -> str:
    """The alert of an escalation wave. Japanese fits 134 characters: the hint, then the reason, then the
    name are shortened if needed; the reply keys and the link always stay whole."""
    if lang is Language.JA:
        tag = {TierKind.TECHNICAL: "【見守り・技術】", TierKind.OPERATORS: "【見守り・運用】"}.get(
            tier, "【見守り】"
        )
        keys = "行ける1 無理2 無事3 救急119"
        if tier is TierKind.RESIDENT_CHECK:
            keys = "無事なら3 助けが必要なら119"

        def build(n: str, h: str, w: str) -> str:
            where = f"({h})" if h else ""
            return f"{tag}{n}さん{where}:{w}。{keys} {link}"

        budget = ALERT_BUDGET_JA
    else:
        tag = {TierKind.TECHNICAL: "Mimamori tech: ", TierKind.OPERATORS: "Mimamori ops: "}.get(
            tier, "Mimamori: "
        )
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


def operators_alert(lang: Language, blind_homes: int, link: str) -> str:
    if lang is Language.JA:
        return f"【見守り・運用】{blind_homes}世帯が同時に通信断。基盤障害の可能性。個別連絡は保留中。{link}"
    return (
        f"Mimamori ops: {blind_homes} homes went offline at once; likely a platform or network outage."
        f" Per-home alerts are held. {link}"
    )


_TEXTS: dict[str, dict[Language, str]] = {
    "claimed_you": {
        Language.JA: "ありがとうございます。{name}さん宅へお願いします。様子は3(無事)か119(救急)で返信を。",
        Language.EN: "Thank you. Please go to {name}. Reply 3 if safe, 119 if an emergency.",
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
    "resolved": {
        Language.JA: "【見守り】{name}さんの件は解決しました({how})。ありがとうございました。",
        Language.EN: "Mimamori: {name} is resolved ({how}). Thank you.",
    },
    "activity_resolved": {
        Language.JA: "【見守り】{name}さん宅で動きが戻りました。対応は不要です。ありがとうございました。",
        Language.EN: "Mimamori: activity resumed at {name}'s home. No need to go. Thank you.",
    },
    "activity_open": {
        Language.JA: "【見守り】{name}さん宅で動きが戻りました。念のため対応は継続中です。",
        Language.EN: "Mimamori: activity resumed at {name}'s home; the alert stays open to be sure.",
    },
    "claim_expired": {
        Language.JA: "{name}さんの件、結果の返信がないため次の方にも連絡しました。3(無事)で返信を。",
        Language.EN: "No outcome for {name} yet, so we contacted the next people too. Reply 3 if safe.",
    },
    "usage": {
        Language.JA: "返信は 1=行ける 2=無理 3=無事 119=救急 のいずれかで。配信停止は「停止」。",
        Language.EN: "Reply 1 going, 2 can't, 3 safe, 119 emergency. STOP to opt out.",
    },
    "no_incident": {
        Language.JA: "現在、対応中の見守り連絡はありません。",
        Language.EN: "There is no open Mimamori alert for you.",
    },
}

_HOW: dict[Language, dict[Resolution, str]] = {
    Language.JA: {
        Resolution.SAFE: "無事",
        Resolution.EMERGENCY_HANDLED: "救急対応済",
        Resolution.FALSE_ALARM: "誤報",
        Resolution.ACTIVITY_RESUMED: "動きあり",
        Resolution.SUPPRESSED: "障害として処理",
    },
    Language.EN: {
        Resolution.SAFE: "safe",
        Resolution.EMERGENCY_HANDLED: "emergency handled",
        Resolution.FALSE_ALARM: "false alarm",
        Resolution.ACTIVITY_RESUMED: "activity resumed",
        Resolution.SUPPRESSED: "platform outage",
    },
}


def text(key: str, lang: Language, **params: str) -> str:
    """A short notice or reply by key (see ``_TEXTS``)."""
    return _TEXTS[key][lang].format(**params)


def how(resolution: Resolution, lang: Language) -> str:
    return _HOW[lang][resolution]
