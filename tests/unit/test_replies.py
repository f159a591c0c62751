"""Reply parsing, table-driven, Japanese and English."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalation.replies import ReplyAction, parse_reply

CASES = [
    ("1", ReplyAction.GO),
    ("１", ReplyAction.GO),
    (" 1 ", ReplyAction.GO),
    ("OK", ReplyAction.GO),
    ("ok!", ReplyAction.GO),
    ("ＯＫ", ReplyAction.GO),
    ("行きます", ReplyAction.GO),
    ("行きます！", ReplyAction.GO),
    ("今から行きます", ReplyAction.UNKNOWN),
    ("I'll go", ReplyAction.GO),
    ("1 on my way", ReplyAction.GO),
    ("2", ReplyAction.CANT),
    ("NG", ReplyAction.CANT),
    ("無理", ReplyAction.CANT),
    ("無理です。", ReplyAction.CANT),
    ("行けません", ReplyAction.CANT),
    ("can't", ReplyAction.CANT),
    ("3", ReplyAction.SAFE),
    ("３", ReplyAction.SAFE),
    ("無事", ReplyAction.SAFE),
    ("無事でした", ReplyAction.SAFE),
    ("safe", ReplyAction.SAFE),
    ("119", ReplyAction.HELP),
    ("１１９", ReplyAction.HELP),
    ("HELP", ReplyAction.HELP),
    ("救急", ReplyAction.HELP),
    ("救急車お願い", ReplyAction.HELP),
    ("STOP", ReplyAction.STOP),
    ("stop", ReplyAction.STOP),
    ("停止", ReplyAction.STOP),
    ("配信停止してください", ReplyAction.STOP),
    ("1 STOP", ReplyAction.STOP),
    ("OK stop", ReplyAction.STOP),
    ("Unsubscribe", ReplyAction.STOP),
    ("12", ReplyAction.UNKNOWN),
    ("11", ReplyAction.UNKNOWN),
    ("1191", ReplyAction.UNKNOWN),
    ("こんにちは", ReplyAction.UNKNOWN),
    ("", ReplyAction.UNKNOWN),
    ("   ", ReplyAction.UNKNOWN),
    ("okay", ReplyAction.UNKNOWN),
    ("stopwatch", ReplyAction.UNKNOWN),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_parse_reply(text: str, expected: ReplyAction) -> None:
    assert parse_reply(text) is expected


@given(st.text(max_size=40))
def test_stop_always_wins(prefix: str) -> None:
    assert parse_reply(f"{prefix} 停止") is ReplyAction.STOP


@given(st.text(max_size=200))
def test_any_text_parses_without_error(text: str) -> None:
    assert isinstance(parse_reply(text), ReplyAction)
