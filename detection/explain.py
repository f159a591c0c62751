"""Explanations rendered for people, in Japanese and English, short enough for SMS.

A Japanese SMS segment holds 70 characters; every rendering here stays within one segment for
realistic parameters (see the unit tests), leaving room for a name and a link in a second segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from detection.findings import Explanation

Lang = Literal["ja", "en"]

TEMPLATES: Mapping[str, Mapping[Lang, str]] = {
    "inactivity": {
        "ja": "{since}以降 動きなし({quiet_h}時間)。この時間帯は普段{usual_h}時間以内({days}日間の学習)",
        "en": "No activity since {since} ({quiet_h} h); at this time usually quiet ≤{usual_h} h "
        "(learned over {days} days)",
    },
    "inactivity.bathroom": {
        "ja": "浴室で{since}以降 動きなし({quiet_min}分)。普段の入浴は{usual_min}分以内",
        "en": "Bathroom: no activity since {since} ({quiet_min} min); baths usually ≤{usual_min} min",
    },
    "inactivity.toilet": {
        "ja": "トイレで{since}以降 動きなし({quiet_min}分)。普段は{usual_min}分以内に出る",
        "en": "Toilet: no activity since {since} ({quiet_min} min); usually out within {usual_min} min",
    },
    "inactivity.still": {
        "ja": "{since}以降 在室のまま動きなし({quiet_min}分)。普段は{usual_min}分以内に動きあり",
        "en": "Present but not moving since {since} ({quiet_min} min); usually moves within {usual_min} min",
    },
    "inactivity.still_unlearned": {
        "ja": "{since}以降 在室のまま動きなし({quiet_min}分)。普段の様子は学習中",
        "en": "Present but not moving since {since} ({quiet_min} min); usual routine still being learned",
    },
    "inactivity.out_of_bed": {
        "ja": "寝室: 夜間{since}に寝床を離れた後 動きなし({quiet_min}分)。戻っていません",
        "en": "Bedroom: out of bed at night since {since}, no activity ({quiet_min} min), not back",
    },
    "inactivity.prior": {
        "ja": "{since}以降 動きなし({quiet_h}時間)。普段の様子はまだ学習中",
        "en": "No activity since {since} ({quiet_h} h); usual routine still being learned",
    },
    "long_absence.prior": {
        "ja": "{since}に玄関の後 動きなし({quiet_h}時間)。普段の外出はまだ学習中",
        "en": "Main door at {since}, nothing since ({quiet_h} h); usual outings still being learned",
    },
    "missed_wakeup": {
        "ja": "{since}以降 動きなし。普段は{wake_by}までに起床({days}日間の学習)",
        "en": "No activity since {since}; usually up by {wake_by} (learned over {days} days)",
    },
    "long_absence": {
        "ja": "{since}に玄関の後 動きなし({quiet_h}時間)。これまでの最長外出{longest_h}時間",
        "en": "Main door at {since}, nothing since ({quiet_h} h); longest outing so far {longest_h} h",
    },
    "night_exit": {
        "ja": "夜間{since}に玄関が開き、その後 動きなし(戻っていない可能性)",
        "en": "Main door opened at night ({since}) and no sign of return",
    },
    "evening_quiet": {
        "ja": "{since}以降 動きなし。普段は毎晩{active_until}より後にも動きあり({days}日間の学習)",
        "en": "No activity since {since}; every evening there was activity after {active_until} "
        "(learned over {days} days)",
    },
    "not_back": {
        "ja": "{label}から{end}の予定を過ぎても帰宅の気配なし",
        "en": "No sign of return from {label}, expected by {end}",
    },
    "not_back.unlabelled": {
        "ja": "予定の外出({end}まで)を過ぎても帰宅の気配なし",
        "en": "No sign of return from a planned absence, expected by {end}",
    },
    "heat": {
        "ja": "室温{temp_c}℃・湿度{humidity}%、暑さ指数{wbgt}({level_ja})が{hours}時間",
        "en": "{temp_c}C, {humidity}% humidity, heat index (WBGT) {wbgt}: {level_en} for {hours} h",
    },
    "heat.no_humidity": {
        "ja": "室温{temp_c}℃、暑さ指数{wbgt}({level_ja})が{hours}時間",
        "en": "{temp_c}C, heat index (WBGT) {wbgt}: {level_en} for {hours} h",
    },
    "cold": {
        "ja": "室温{temp_c}℃の寒さが{hours}時間続いています",
        "en": "{temp_c}C indoors for {hours} h",
    },
    "heat_shock": {
        "ja": "浴室{bath_c}℃、居間{living_c}℃。入浴前に脱衣所と浴室を暖めましょう(ヒートショック予防)",
        "en": "Bathroom {bath_c}C, living room {living_c}C: warm the bathroom before a bath (heat shock)",
    },
    "help_button": {
        "ja": "{at} 緊急ボタンが押されました",
        "en": "Help button pressed at {at}",
    },
    "blind_gateway": {
        "ja": "{since}以降 ゲートウェイがオフライン。見守りできていません(技術担当へ)",
        "en": "Gateway offline since {since}: home not monitored (technical)",
    },
    "blind_sensors": {
        "ja": "{since}以降 全センサーが無応答。見守りできていません(技術担当へ)",
        "en": "Every sensor silent since {since}: home not monitored (technical)",
    },
    "device_silent": {
        "ja": "センサー{device}が{since}以降 無応答",
        "en": "Sensor {device} silent since {since}",
    },
    "low_battery": {
        "ja": "センサー{device}の電池残量{pct}%",
        "en": "Sensor {device} battery at {pct}%",
    },
    "data_gap": {
        "ja": "ゲートウェイ{device}の{missing}件の記録が{since}以降 届いていません(技術担当へ)",
        "en": "{missing} readings of gateway {device} lost since {since} (technical)",
    },
    "stuck_sensor": {
        "ja": "センサー{device}が{since}から反応したまま(故障の可能性)",
        "en": "Sensor {device} stuck on since {since}",
    },
}

PRIOR_NOTE: Mapping[Lang, str] = {"ja": "(学習中)", "en": " (still learning)"}

ROOM_NAMES: Mapping[str, Mapping[Lang, str]] = {
    "entrance": {"ja": "玄関", "en": "Entrance"},
    "living": {"ja": "居間", "en": "Living room"},
    "bedroom": {"ja": "寝室", "en": "Bedroom"},
    "kitchen": {"ja": "台所", "en": "Kitchen"},
    "bathroom": {"ja": "浴室", "en": "Bathroom"},
    "toilet": {"ja": "トイレ", "en": "Toilet"},
}
"""Where a quiet stretch began (the ``room`` parameter), said first: 「台所で…」, "Kitchen: …"."""

DECLINE_PARTS: Mapping[str, Mapping[Lang, str]] = {
    "activity_pct": {"ja": "活動量{activity_pct}%減", "en": "activity down {activity_pct}%"},
    "wake_shift_min": {"ja": "起床が{wake_shift_min}分遅く", "en": "waking {wake_shift_min} min later"},
    "night_ratio": {"ja": "夜間の活動{night_ratio}倍", "en": "night activity x{night_ratio}"},
}


def render(explanation: Explanation, lang: Lang = "ja") -> str:
    """The sentence a person reads. Unknown keys render their key and parameters, never fail."""
    params: Mapping[str, str | int | float] = explanation.params
    key = explanation.key
    if key == "slow_decline":
        parts = [DECLINE_PARTS[name][lang].format(**params) for name in DECLINE_PARTS if name in params]
        joined = "、".join(parts) if lang == "ja" else ", ".join(parts)
        return f"この1週間の変化: {joined}" if lang == "ja" else f"Over the last week: {joined}"
    base, _, variant = key.partition(".")
    if key in TEMPLATES:  # a variant with its own wording
        base, variant = key, ""
    template = TEMPLATES.get(base, {}).get(lang)
    if template is None:
        return f"{key} {dict(params)}"
    try:
        text = template.format(**params)
    except (KeyError, IndexError, ValueError):
        return f"{key} {dict(params)}"
    if variant == "prior":
        text = text.replace(f"({params.get('days')}日間の学習)", "").replace(
            f" (learned over {params.get('days')} days)", ""
        )
        text += PRIOR_NOTE[lang]
    room = ROOM_NAMES.get(str(params.get("room", "")))
    if room is not None and not text.startswith(room[lang]):
        text = f"{room['ja']}で{text}" if lang == "ja" else f"{room['en']}: {text[:1].lower()}{text[1:]}"
    return text
