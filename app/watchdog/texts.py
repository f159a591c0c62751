"""What the watchdog tells the operators, in Japanese and English. An SMS stays in one segment."""

from __future__ import annotations

from app.watchdog.outage import Notice, NoticeKind, Part

JA_PART = {
    Part.GATEWAYS: "全ゲートウェイ応答なし{n}分",
    Part.INGEST: "取り込み停止{n}分",
    Part.STORE: "記録DB読めず",
    Part.DETECTOR: "検知停止{n}分",
    Part.SMS: "SMS送信失敗{n}回",
    Part.DRILL: "訓練の読取値が{n}分届かず",
}
EN_PART = {
    Part.GATEWAYS: "no gateway heard for {n} min",
    Part.INGEST: "ingest stalled {n} min",
    Part.STORE: "store unreadable",
    Part.DETECTOR: "no detection tick for {n} min",
    Part.SMS: "{n} SMS attempts failed",
    Part.DRILL: "drill reading not through after {n} min",
}
JA_NAME = {
    Part.GATEWAYS: "ゲートウェイ",
    Part.INGEST: "取り込み",
    Part.STORE: "記録DB",
    Part.DETECTOR: "検知",
    Part.SMS: "SMS",
    Part.DRILL: "訓練",
}


def sms_text(notice: Notice, language: str) -> str:
    """One SMS segment: 70 characters in Japanese, 160 in English."""
    minutes = max(int((notice.at - notice.since).total_seconds() // 60), 1)
    seen_parts = list(zip(notice.parts, notice.amounts, strict=False))  # recoveries carry no amounts
    if language == "ja":
        if notice.kind is NoticeKind.OUTAGE:
            seen = "、".join(
                JA_PART[p].format(n=n) for p, n in zip(notice.parts, notice.amounts, strict=True)
            )
            return f"【見守り基盤】監視停止: {seen}。確認を"
        names = "・".join(JA_NAME[p] for p in notice.parts)
        return f"【見守り基盤】復旧しました({names} 停止{minutes}分)"
    if notice.kind is NoticeKind.OUTAGE:
        seen = "; ".join(EN_PART[p].format(n=n) for p, n in seen_parts)
        return f"Mimamori platform is not watching: {seen}. Please check."
    names = ", ".join(p.value for p in notice.parts)
    return f"Mimamori platform recovered ({names}; down {minutes} min)."


def mail_text(notice: Notice, language: str) -> tuple[str, str]:
    """Subject and body of the e-mail: the SMS text, then what to look at."""
    subject = sms_text(notice, language)
    hints = {
        Part.GATEWAYS: "broker (mosquitto) and the homes' internet: `mimamori outbox`, broker logs",
        Part.INGEST: "the ingest workers' /metrics and logs; the store's disk",
        Part.STORE: "the store (SQLite file or InfluxDB) and its disk",
        Part.DETECTOR: "the alerts process (`mimamori alerts`): is it running? its log",
        Part.SMS: "the SMS provider (Twilio console: errors, balance, sender); `mimamori outbox`",
        Part.DRILL: "broker -> ingest -> store -> detector for the drill household (the log names the stage)",
    }
    lines = [subject, "", f"since {notice.since.isoformat()} (UTC)", ""]
    if notice.kind is NoticeKind.OUTAGE:
        lines += ["Look at:"] + [f"- {p.value}: {hints[p]}" for p in notice.parts]
        lines += ["", "Nobody is told 'inactive' because of this outage; households are blind until it ends."]
    return subject, "\n".join(lines)
