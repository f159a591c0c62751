"""Every code word a page can show has a Japanese and an English label (a new enum member without
one fails here), and an unknown one is logged as an error, not shown silently."""

from __future__ import annotations

import logging
from datetime import date
from enum import StrEnum

import pytest

from dashboard.i18n import LABELS, day_label, form_error, label, validation_message
from dashboard.users import StaffRole
from detection.findings import FindingKind, Severity
from escalation.models import IncidentState, Outcome, SmsPurpose, SmsStatus, StepKind
from escalation.replies import ReplyAction
from mimamori.contract import GatewayState, Kind
from registry.models import Need, TierKind

GROUPS: list[tuple[str, list[str]]] = [
    ("kind", [m.value for m in FindingKind]),
    ("severity", [m.value for m in Severity]),
    ("incident_state", [m.value for m in IncidentState]),
    ("outcome", [m.value for m in Outcome]),
    ("log", [m.value for m in StepKind] + [f"sms_{m.value}" for m in SmsPurpose]),
    ("log", ["reply", "reply.refused", "reply.unknown", "link.tap", "link.view", "link.refused"]),
    ("reply", [m.value for m in ReplyAction]),
    ("sms_status", [m.value for m in SmsStatus]),
    ("device_kind", [m.value for m in Kind]),
    ("occupancy_state", ["occupied", "clear"]),
    ("gateway_state", [m.value for m in GatewayState]),
    ("tier", [m.value for m in TierKind]),
    ("staff_role", [m.value for m in StaffRole]),
    ("need", [m.value for m in Need]),
]


@pytest.mark.parametrize(("group", "values"), GROUPS, ids=[g for g, _ in GROUPS])
def test_every_code_word_has_both_labels(group: str, values: list[str]) -> None:
    missing = [v for v in values if v not in LABELS[group]]
    assert not missing, f"add labels for {group}: {missing}"
    for value in values:
        english, japanese = LABELS[group][value]
        assert english
        assert japanese
        assert english != japanese or value == "en"
        assert label("ja", group, value) == japanese
        assert label("en", group, value) == english


def test_label_takes_the_enum_member_itself() -> None:
    assert label("ja", "incident_state", IncidentState.NOTIFYING) == "連絡中"


@pytest.mark.allow_error_logs
def test_an_unknown_code_word_is_logged_as_an_error(caplog: pytest.LogCaptureFixture) -> None:
    class New(StrEnum):
        ODD = "odd_new_state"

    with caplog.at_level(logging.ERROR):
        assert label("ja", "incident_state", New.ODD) == "odd_new_state"
    assert "dashboard.label_missing group=incident_state value=odd_new_state" in caplog.text


def test_days_in_both_languages() -> None:
    assert day_label("ja", date(2026, 12, 3)) == "12/03 (木)"
    assert day_label("en", date(2026, 12, 3)) == "12/03 (Thu)"


@pytest.mark.parametrize(
    ("error_type", "ctx", "english", "japanese"),
    [
        ("missing", None, "required", "入力してください"),
        ("string_too_long", {"max_length": 64}, "at most 64 characters", "64文字以内にしてください"),
        ("string_too_short", {"min_length": 1}, "at least 1 characters", "1文字以上にしてください"),
        ("greater_than_equal", {"ge": 1}, "at least 1", "1以上にしてください"),
        ("int_parsing", None, "a whole number", "整数を入力してください"),
    ],
)
def test_validation_messages_speak_the_page_language(
    error_type: str, ctx: dict[str, object] | None, english: str, japanese: str
) -> None:
    message = validation_message(error_type, ctx, "pydantic's own words")
    assert message == english
    assert form_error("en", message) == english
    assert form_error("ja", message) == japanese


def test_a_rule_of_our_own_keeps_its_words_or_its_translation() -> None:
    phone = validation_message("value_error", None, "Value error, phone must be E.164, e.g. +819012345678")
    assert form_error("ja", phone) == "電話番号は国番号から（例 +819012345678）"
    assert form_error("ja", "something new") == "something new"
