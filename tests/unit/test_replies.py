"""The reply grammar and reply codes: a table of what people send and what it means."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalation.codes import LETTERS, reply_code
from escalation.replies import OPT_IN, OPT_OUT, Reply, ReplyAction, parse, parse_reply

A = ReplyAction
CASES = [
    # the answers, in both languages, full width, punctuated
    ("1", A.GO),
    ("１", A.GO),
    (" 1 ", A.GO),
    ("行きます", A.GO),
    ("行きます！", A.GO),
    ("I'll go", A.GO),
    ("1 on my way", A.GO),
    ("2", A.CANT),
    ("NG", A.CANT),
    ("無理", A.CANT),
    ("無理です。", A.CANT),
    ("行けません", A.CANT),
    ("can't", A.CANT),
    ("3", A.SAFE),
    ("３", A.SAFE),
    ("無事", A.SAFE),
    ("無事でした", A.SAFE),
    ("大丈夫", A.SAFE),
    ("safe", A.SAFE),
    ("4", A.NO_ANSWER),
    ("応答なし", A.NO_ANSWER),
    ("5", A.HOSPITAL),
    ("搬送しました", A.HOSPITAL),
    ("119", A.HELP),
    ("１１９", A.HELP),
    ("HELP", A.HELP),
    ("救急", A.HELP),
    ("救急車お願い", A.HELP),
    ("助けて", A.HELP),
    # ambiguous agreement: a contact is asked to confirm, the resident means "I'm fine"
    ("OK", A.ACK),
    ("ok!", A.ACK),
    ("ＯＫ", A.ACK),
    ("okay", A.ACK),
    ("yes", A.ACK),
    ("はい", A.ACK),
    ("了解", A.ACK),
    ("了解です", A.ACK),
    # the examples: claims, not opt-outs
    ("1（電車が運転停止、少し遅れます）", A.GO),
    ("1 but end of day", A.GO),
    ("エレベーター停止中なので階段で行きます", A.UNKNOWN),
    ("1 STOP", A.GO),
    ("OK stop", A.ACK),
    ("配信停止してください", A.UNKNOWN),
    ("stop texting me", A.UNKNOWN),
    # opt-out only when the whole message is an opt-out word
    ("STOP", A.STOP),
    ("stop", A.STOP),
    ("Stop.", A.STOP),
    ("ＳＴＯＰ", A.STOP),
    ("S.T.O.P!", A.STOP),
    ("停止", A.STOP),
    ("停止。", A.STOP),
    ("配信停止", A.STOP),
    ("「配信 停止」", A.STOP),
    ("Unsubscribe", A.STOP),
    ("END", A.STOP),
    ("cancel", A.STOP),
    ("START", A.START),
    ("再開", A.START),
    ("unstop", A.START),
    # nothing understood: help text, no change
    ("12", A.UNKNOWN),
    ("11", A.UNKNOWN),
    ("1191", A.UNKNOWN),
    ("6", A.UNKNOWN),
    ("今から行きます", A.UNKNOWN),
    ("こんにちは", A.UNKNOWN),
    ("", A.UNKNOWN),
    ("   ", A.UNKNOWN),
    ("stopwatch", A.UNKNOWN),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_parse_reply(text: str, expected: ReplyAction) -> None:
    assert parse_reply(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("K7 1", Reply(A.GO, "K7")),
        ("k71", Reply(A.GO, "K7")),
        ("Ｋ７　１", Reply(A.GO, "K7")),
        ("K7119", Reply(A.HELP, "K7")),
        ("k7: 2", Reply(A.CANT, "K7")),
        ("M3 無事", Reply(A.SAFE, "M3")),
        ("M3 stop", Reply(A.UNKNOWN, "M3")),  # a code is never an opt-out
        ("K7", Reply(A.UNKNOWN, "K7")),
        ("ok", Reply(A.ACK, None)),  # a word, not a code
        ("yes", Reply(A.ACK, None)),
        ("1 K7", Reply(A.GO, None)),  # the code comes first, or it is not read
    ],
)
def test_reply_codes(text: str, expected: Reply) -> None:
    assert parse(text) == expected


def test_codes_are_stable_short_and_readable() -> None:
    codes = {reply_code(f"incident-{n}") for n in range(2000)}
    assert reply_code("abc") == reply_code("abc")
    assert all(len(c) == 2 and c[0] in LETTERS and c[1] in "23456789" for c in codes)
    assert len(codes) == len(LETTERS) * 8  # every code is used
    assert not set("BDGIOQSZ") & {c[0] for c in codes}
    assert reply_code("abc", "drill") != reply_code("abc") or reply_code("abd", "drill") != reply_code("abd")


def test_every_opt_out_and_opt_in_word_is_read_as_itself() -> None:
    assert all(parse_reply(w) is A.STOP for w in OPT_OUT)
    assert all(parse_reply(w) is A.START for w in OPT_IN)


@given(prefix=st.text(min_size=1, max_size=40))
def test_a_message_with_more_than_an_opt_out_word_never_opts_out(prefix: str) -> None:
    for word in ("停止", "STOP", "配信停止"):
        if parse(f"{prefix} {word}").action is A.STOP:  # only when the rest was spaces and punctuation
            assert not any(ch.isalnum() for ch in prefix)


@given(st.text(max_size=200))
def test_any_text_parses_without_error(text: str) -> None:
    assert isinstance(parse(text).action, ReplyAction)
