"""Reading SMS replies (and one-tap link actions) in Japanese and English.

Only a few answers mean something; anything else gets a short help text. Opt-out words are checked
first and always win: "STOP" is never read as an acknowledgement.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class ReplyAction(StrEnum):
    GO = "go"  # 1 / OK / 行きます: I'll go (claims the incident)
    CANT = "cant"  # 2 / NG / 無理: pass to the next person
    SAFE = "safe"  # 3 / 無事: the person is safe (resolves)
    HELP = "help"  # 119 / HELP / 救急: straight to the professionals
    STOP = "stop"  # STOP / 停止: never text this number again
    UNKNOWN = "unknown"


_STOP = ("stopall", "stop", "unsubscribe", "cancel", "end", "quit", "配信停止", "停止", "ていし")
_WORDS: tuple[tuple[str, ReplyAction], ...] = (
    ("119", ReplyAction.HELP),
    ("help", ReplyAction.HELP),
    ("sos", ReplyAction.HELP),
    ("救急", ReplyAction.HELP),
    ("きゅうきゅう", ReplyAction.HELP),
    ("助けて", ReplyAction.HELP),
    ("1", ReplyAction.GO),
    ("ok", ReplyAction.GO),
    ("yes", ReplyAction.GO),
    ("going", ReplyAction.GO),
    ("i'll go", ReplyAction.GO),
    ("ill go", ReplyAction.GO),
    ("行けません", ReplyAction.CANT),
    ("行けない", ReplyAction.CANT),
    ("いけません", ReplyAction.CANT),
    ("いけない", ReplyAction.CANT),
    ("行きます", ReplyAction.GO),
    ("いきます", ReplyAction.GO),
    ("向かいます", ReplyAction.GO),
    ("行く", ReplyAction.GO),
    ("2", ReplyAction.CANT),
    ("ng", ReplyAction.CANT),
    ("can't", ReplyAction.CANT),
    ("cant", ReplyAction.CANT),
    ("cannot", ReplyAction.CANT),
    ("無理", ReplyAction.CANT),
    ("むり", ReplyAction.CANT),
    ("3", ReplyAction.SAFE),
    ("safe", ReplyAction.SAFE),
    ("無事", ReplyAction.SAFE),
    ("ぶじ", ReplyAction.SAFE),
    ("大丈夫", ReplyAction.SAFE),
)
_TRIM = re.compile(r"^[\s\"'「『(（]+|[\s。．.!！?？、,，)）」』〜~ー-]+$")
_TOKEN = re.compile(r"[a-z']+|\d+|\S")


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), lower case, trimmed of punctuation."""
    folded = unicodedata.normalize("NFKC", text).replace("’", "'").lower()
    previous = None
    while previous != folded:
        previous, folded = folded, _TRIM.sub("", folded)
    return folded


def parse_reply(text: str) -> ReplyAction:
    s = normalize(text)
    if not s:
        return ReplyAction.UNKNOWN
    tokens = _TOKEN.findall(s)
    if any(t in _STOP for t in tokens) or any(w in s for w in _STOP if not w.isascii()):
        return ReplyAction.STOP
    for word, action in _WORDS:
        if s == word:
            return action
    for word, action in _WORDS:
        if word.isascii():
            if tokens and (tokens[0] == word or s.startswith(word + " ")):
                return action
        elif s.startswith(word):
            return action
    return ReplyAction.UNKNOWN
