"""Explanations in Japanese and English, short enough for one SMS segment."""

from __future__ import annotations

import pytest

from detection.explain import TEMPLATES, render
from detection.findings import Explanation

SAMPLES = {
    "inactivity": {"since": "11/27 07:10", "quiet_h": 12.5, "usual_h": 10.5, "days": 28},
    "missed_wakeup": {"since": "23:40", "wake_by": "8:00", "days": 21},
    "long_absence": {"since": "11/27 10:02", "quiet_h": 14.2, "longest_h": 10.5},
    "night_exit": {"since": "02:10"},
    "evening_quiet": {"since": "11/27 19:25", "active_until": "20:13", "days": 28},
    "inactivity.prior": {"since": "11/27 07:10", "quiet_h": 12.5, "days": 3},
    "long_absence.prior": {"since": "11/27 10:02", "quiet_h": 14.2, "longest_h": 0.0},
    "help_button": {"at": "10:00"},
    "not_back": {"label": "デイサービス（送迎あり）一二三四五", "end": "12/24 16:00"},
    "not_back.unlabelled": {"end": "12/24 16:00"},
    "blind_gateway": {"since": "11/27 07:10"},
    "blind_sensors": {"since": "11/27 07:10"},
    "device_silent": {"device": "kitchen-motion", "since": "11/27 07:10"},
    "low_battery": {"device": "kitchen-motion", "pct": 9},
    "stuck_sensor": {"device": "kitchen-motion", "since": "11/27 07:10"},
    "data_gap": {"device": "gw-kitchen", "missing": 1234, "since": "07:10"},
    "inactivity.bathroom": {"since": "11/27 19:40", "quiet_min": 125, "usual_min": 105, "room": "bathroom"},
    "inactivity.toilet": {"since": "11/27 02:10", "quiet_min": 125, "usual_min": 105, "room": "toilet"},
    "heat": {
        "room": "bedroom",
        "temp_c": 41,
        "humidity": 100,
        "wbgt": 44,
        "level_ja": "厳重警戒",
        "level_en": "severe",
        "hours": 23.5,
    },
    "heat.no_humidity": {
        "room": "bedroom",
        "temp_c": 41,
        "wbgt": 44,
        "level_ja": "厳重警戒",
        "level_en": "severe",
        "hours": 23.5,
    },
    "cold": {"room": "bedroom", "temp_c": -5, "hours": 23.5},
    "heat_shock": {"bath_c": -5, "living_c": 25},
    "inactivity.still": {"since": "11/27 19:40", "quiet_min": 125, "usual_min": 105, "room": "toilet"},
    "inactivity.still_unlearned": {"since": "11/27 19:40", "quiet_min": 125, "room": "toilet"},
    "inactivity.out_of_bed": {"since": "11/27 02:10", "quiet_min": 125},
}
# findings about a quiet stretch at home say where it began (the longest room name: トイレ)
ROOMED = ("inactivity", "inactivity.prior", "missed_wakeup", "evening_quiet")


def test_the_example_from_the_design() -> None:
    text = render(Explanation("missed_wakeup", {"since": "7:10", "wake_by": "8:00", "days": 21}), "ja")
    assert text == "7:10以降 動きなし。普段は8:00までに起床(21日間の学習)"
    english = render(Explanation("missed_wakeup", {"since": "07:10", "wake_by": "8:00", "days": 21}), "en")
    assert english == "No activity since 07:10; usually up by 8:00 (learned over 21 days)"


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_japanese_explanation_fits_one_segment(key: str) -> None:
    assert set(SAMPLES) == set(TEMPLATES)
    params = {**SAMPLES[key], "room": "toilet"} if key in ROOMED else SAMPLES[key]
    text = render(Explanation(key, params), "ja")
    assert "{" not in text
    assert len(text) <= 70, text
    assert "{" not in render(Explanation(key, params), "en")


@pytest.mark.parametrize(
    ("key", "params", "ja", "en"),
    [
        (
            "inactivity.still",
            {"since": "14:05", "quiet_min": 31, "usual_min": 12, "room": "kitchen"},
            "台所で14:05以降 在室のまま動きなし(31分)。普段は12分以内に動きあり",
            "Kitchen: present but not moving since 14:05 (31 min); usually moves within 12 min",
        ),
        (
            "inactivity.out_of_bed",
            {"since": "02:10", "quiet_min": 46},
            "寝室: 夜間02:10に寝床を離れた後 動きなし(46分)。戻っていません",
            "Bedroom: out of bed at night since 02:10, no activity (46 min), not back",
        ),
        (
            "inactivity.bathroom",
            {"since": "19:40", "quiet_min": 45, "usual_min": 30, "room": "bathroom"},
            "浴室で19:40以降 動きなし(45分)。普段の入浴は30分以内",
            "Bathroom: no activity since 19:40 (45 min); baths usually ≤30 min",
        ),
        (
            "inactivity.toilet",
            {"since": "02:10", "quiet_min": 31, "usual_min": 9, "room": "toilet"},
            "トイレで02:10以降 動きなし(31分)。普段は9分以内に出る",
            "Toilet: no activity since 02:10 (31 min); usually out within 9 min",
        ),
        (
            "missed_wakeup",
            {"since": "21:40", "wake_by": "8:00", "days": 21, "room": "bedroom"},
            "寝室で21:40以降 動きなし。普段は8:00までに起床(21日間の学習)",
            "Bedroom: no activity since 21:40; usually up by 8:00 (learned over 21 days)",
        ),
        (
            "inactivity",
            {"since": "10:05", "quiet_h": 3.5, "usual_h": 2.1, "days": 28, "room": "kitchen"},
            "台所で10:05以降 動きなし(3.5時間)。この時間帯は普段2.1時間以内(28日間の学習)",
            "Kitchen: no activity since 10:05 (3.5 h); at this time usually quiet ≤2.1 h "
            "(learned over 28 days)",
        ),
    ],
)
def test_explanations_say_the_room(key: str, params: dict[str, str | int], ja: str, en: str) -> None:
    assert render(Explanation(key, params), "ja") == ja
    assert render(Explanation(key, params), "en") == en


def test_prior_variant_says_still_learning() -> None:
    text = render(Explanation("missed_wakeup.prior", {"since": "23:40", "wake_by": "9:00", "days": 2}), "ja")
    assert text.endswith("(学習中)")
    assert "日間の学習" not in text


def test_slow_decline_lists_what_drifted() -> None:
    e = Explanation("slow_decline", {"activity_pct": 40, "wake_shift_min": 75})
    assert render(e, "ja") == "この1週間の変化: 活動量40%減、起床が75分遅く"
    assert render(e, "en") == "Over the last week: activity down 40%, waking 75 min later"


def test_unknown_or_broken_explanations_still_render() -> None:
    assert render(Explanation("something_new", {"a": 1}), "en") == "something_new {'a': 1}"
    assert render(Explanation("inactivity", {}), "ja").startswith("inactivity")


def test_untrusted_baselines_do_not_claim_a_usual_they_have_not_learned() -> None:
    text = render(Explanation("long_absence.prior", SAMPLES["long_absence.prior"]), "en")
    assert text == "Main door at 11/27 10:02, nothing since (14.2 h); usual outings still being learned"
    assert "普段" in render(Explanation("inactivity.prior", SAMPLES["inactivity.prior"]), "ja")
