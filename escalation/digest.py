"""The family's daily digest (pure): 「今日も元気に過ごされています」 when the day looked normal, a short
factual note when it did not.

:func:`compose` takes the day's facts (:class:`DayFacts`, gathered by ``escalation/digest_job.py``) and
``now``, and writes the SMS (Japanese within one 70-character segment) and the e-mail. A day is
*normal* when nothing below happened; otherwise the notes say what did, most important first:

| note | when |
|---|---|
| an incident | a community incident of the household opened today (its time, what, and how it ended) |
| no activity | nothing seen in the home today (and it was not away) |
| a blind period | the home could not be seen (gateway or sensors offline) for ``BLIND_MINUTES`` or more |
| a quiet day | activity so far below ``QUIET_SHARE`` of the usual for this time of day |
| away | a planned absence (away period, care calendar) covered most of the day: nothing to say of it |

The digest never claims more than the data shows: a day with a note does not say 「元気」.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from detection.findings import FindingKind
from escalation import texts
from escalation.models import Outcome
from registry.models import Language

BLIND_MINUTES = 30
"""A blind stretch this long (in total) is worth a note; a minute's network hiccup is not."""
QUIET_SHARE = 0.4
"""Activity below this share of the usual (for the same stretch of the day) is a quiet day."""
QUIET_MIN_USUAL = 10.0
"""Below this many usual events the comparison means little: no quiet-day note."""
AWAY_SHARE = 0.5
"""A planned absence covering this share of the day so far: the day is not judged."""


@dataclass(frozen=True, slots=True)
class IncidentOfDay:
    kind: FindingKind
    opened_at: datetime
    outcome: Outcome | None = None  # None: still open


@dataclass(frozen=True, slots=True)
class DayFacts:
    """What is known of a household's day, from its local midnight (``day_start``) until now."""

    name: str
    time_zone: str
    day_start: datetime  # local midnight, aware
    incidents: tuple[IncidentOfDay, ...] = ()  # community incidents opened today, or still open
    blind: tuple[
        tuple[datetime, datetime], ...
    ] = ()  # stretches the home could not be seen, clipped to the day
    activity: int | None = None  # activity events today so far; None: no store to ask
    usual: float | None = None  # the usual count for the same stretch of the day (median of past days)
    last_activity_at: datetime | None = None
    away: timedelta = timedelta(0)  # planned absence today so far
    away_label: str = ""  # "デイサービス", "ショートステイ"; "" for an away period


@dataclass(frozen=True, slots=True)
class DigestText:
    normal: bool
    sms: str  # Japanese: at most 70 characters
    mail: str  # first line: the subject
    notes: tuple[str, ...] = ()


_NORMAL = {Language.JA: "今日も元気に過ごされています。", Language.EN: "A normal day: all looked well."}
_HEAD = {Language.JA: "【見守り】{name}さん({day}):", Language.EN: "Mimamori: {name} ({day}): "}
_KIND = {
    Language.JA: {
        FindingKind.INACTIVITY: "動きなし",
        FindingKind.MISSED_WAKEUP: "起床なし",
        FindingKind.LONG_ABSENCE: "外出が長い",
        FindingKind.NIGHT_EXIT: "夜間外出",
        FindingKind.EVENING_QUIET: "夜の動きなし",
        FindingKind.HELP_BUTTON: "緊急ボタン",
    },
    Language.EN: {
        FindingKind.INACTIVITY: "no activity",
        FindingKind.MISSED_WAKEUP: "not up",
        FindingKind.LONG_ABSENCE: "out long",
        FindingKind.NIGHT_EXIT: "out at night",
        FindingKind.EVENING_QUIET: "quiet evening",
        FindingKind.HELP_BUTTON: "help button",
    },
}
_NOTE = {
    Language.JA: {
        "incident": "{at}見守り連絡({what}){state}",
        "open": "対応中",
        "closed": "→{how}",
        "nothing": "今日は動きが記録されていません",
        "blind": "{start}〜{end}通信断で様子不明",
        "quiet": "動きが普段より少なめ(約{pct}%)",
        "away": "{label}で不在の予定",
        "away_unlabelled": "不在の予定",
        "last": "最後の動き {at}",
    },
    Language.EN: {
        "incident": "alert at {at} ({what}){state}",
        "open": ", still open",
        "closed": ", closed: {how}",
        "nothing": "no activity recorded today",
        "blind": "home not visible {start}-{end} (offline)",
        "quiet": "quieter than usual (about {pct}%)",
        "away": "planned absence ({label})",
        "away_unlabelled": "planned absence",
        "last": "last activity {at}",
    },
}
_FOOT = {
    Language.JA: "毎日のお知らせです。見守りの記録に基づく内容で、ご本人の様子を保証するものではありません。",
    Language.EN: "Your daily note, from what the sensors recorded; it cannot vouch for everything.",
}


def compose(facts: DayFacts, now: datetime, lang: Language) -> DigestText:
    """The digest of ``facts`` at ``now`` in ``lang``."""
    zone = ZoneInfo(facts.time_zone)

    def hm(at: datetime) -> str:
        return at.astimezone(zone).strftime("%H:%M")

    words = _NOTE[lang]
    notes = [
        words["incident"].format(
            at=hm(i.opened_at),
            what=_KIND[lang].get(i.kind, texts.reason(i.kind, {}, lang)),
            state=words["open"]
            if i.outcome is None
            else words["closed"].format(how=texts.how(i.outcome, lang)),
        )
        for i in sorted(facts.incidents, key=lambda i: i.opened_at)
    ]
    elapsed = max(now - facts.day_start, timedelta(minutes=1))
    away = facts.away >= elapsed * AWAY_SHARE
    if facts.activity == 0 and not away:
        notes.append(words["nothing"])
    blind = sum((end - start for start, end in facts.blind), timedelta(0))
    if blind >= timedelta(minutes=BLIND_MINUTES):
        notes.append(words["blind"].format(start=hm(facts.blind[0][0]), end=hm(facts.blind[-1][1])))
    if (
        not away
        and facts.activity
        and facts.usual is not None
        and facts.usual >= QUIET_MIN_USUAL
        and facts.activity < facts.usual * QUIET_SHARE
    ):
        notes.append(words["quiet"].format(pct=round(100 * facts.activity / facts.usual)))
    if away:
        notes.append(
            words["away"].format(label=facts.away_label) if facts.away_label else words["away_unlabelled"]
        )
    day = now.astimezone(zone)
    head = _HEAD[lang].format(name=facts.name, day=f"{day.month}/{day.day}")
    last = (
        words["last"].format(at=hm(facts.last_activity_at))
        if facts.last_activity_at is not None and facts.last_activity_at >= facts.day_start
        else ""
    )
    if not notes:
        sms = _fit(head, [_NORMAL[lang], last], lang, facts.name)
        mail = "\n".join([head + _NORMAL[lang], "", *([last] if last else []), "", _FOOT[lang]])
        return DigestText(True, sms, mail)
    end = "。" if lang is Language.JA else "."
    sms = _fit(head, [n + end for n in notes], lang, facts.name)
    lines = [f"- {n}" for n in notes] + ([f"- {last}"] if last else [])
    mail = "\n".join([head + notes[0] + end, "", *lines, "", _FOOT[lang]])
    return DigestText(False, sms, mail, tuple(notes))


def _fit(head: str, parts: list[str], lang: Language, name: str) -> str:
    """``head`` and as many ``parts`` as fit one segment (Japanese: 70 characters); the first part is
    always there: a long ``name`` in the head is shortened first, the part cut with … last."""
    budget = texts.UCS2_SINGLE if lang is Language.JA else texts.GSM_SINGLE
    sep = "" if lang is Language.JA else " "
    over = len(head + parts[0]) - budget
    if over > 0 and len(name) > 3:
        head = head.replace(name, name[: max(len(name) - over - 1, 2)] + "…", 1)
    body = head + parts[0]
    if len(body) > budget:
        return body[: budget - 1] + "…"
    for part in parts[1:]:
        if part and len(body + sep + part) <= budget:
            body = body + sep + part
    return body.rstrip()
