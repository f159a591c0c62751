"""What a household's family is told of its incidents (pure): that one opened and that it closed.

Families are often far away: their texts say what happened and that people nearby are on it, never
"can you go?", and carry no reply keys. Only community incidents are told (a blind gateway or a flat
battery is the technical contact's; the daily digest mentions a blind period). Japanese within one SMS
segment (70 characters).
"""

from __future__ import annotations

from detection.findings import Audience, FindingKind
from escalation import texts
from escalation.models import Incident, Outcome
from registry.models import Language

TAG = {Language.JA: "【見守り・ご家族へ】", Language.EN: "Mimamori (family): "}
_OPENED = {
    Language.JA: "{tag}{name}さん:{what}。地域の方が確認しています。",
    Language.EN: "{tag}{name}: {what}. People nearby are checking; we will tell you when it is closed.",
}
_CLOSED = {
    Language.JA: "{tag}{name}さんの件は終了しました({how})。",
    Language.EN: "{tag}the alert for {name} is closed ({how}).",
}
_WHAT = {  # shorter than the responders' reasons: the notice stays one segment
    Language.JA: {
        FindingKind.INACTIVITY: "{since}から動きなし",
        FindingKind.MISSED_WAKEUP: "起床の気配なし",
        FindingKind.LONG_ABSENCE: "外出から戻らず",
        FindingKind.NIGHT_EXIT: "夜間に外出し戻らず",
        FindingKind.EVENING_QUIET: "夜の動きなし",
        FindingKind.HELP_BUTTON: "緊急ボタンが押されました",
    },
    Language.EN: {},  # English has room for the responders' short reasons
}


def tells_family(incident: Incident, *, opened: bool) -> bool:
    """Whether this opening or closing is told to the family: community incidents only, and not the
    close of one a newer alert replaced (the newer one is told instead)."""
    if incident.audience is not Audience.COMMUNITY:
        return False
    return opened or incident.outcome is not Outcome.SUPERSEDED


def family_notice(incident: Incident, name: str, lang: Language, *, opened: bool) -> str:
    """The notice to a family contact that ``incident`` opened (or closed, with its outcome)."""
    if not opened:
        how = texts.how(incident.outcome or Outcome.OTHER, lang)
        return _CLOSED[lang].format(tag=TAG[lang], name=name, how=how)
    template = _WHAT[lang].get(incident.kind)
    params = incident.explanation_params
    try:
        what = template.format(**params) if template else texts.reason(incident.kind, params, lang)
    except (KeyError, IndexError, ValueError):
        what = texts.reason(incident.kind, params, lang)
    body = _OPENED[lang].format(tag=TAG[lang], name=name, what=what)
    if lang is Language.JA and len(body) > texts.UCS2_SINGLE:  # a long name: cut it, keep the news
        over = len(body) - texts.UCS2_SINGLE
        name = name[: max(len(name) - over - 1, 2)] + "…"
        body = _OPENED[lang].format(tag=TAG[lang], name=name, what=what)
    return body
