"""Reply codes: the short label a message that expects an answer carries, so a reply can say which.

A code is one letter and one digit ("K7"): always a letter first, then a digit from 2 to 9, with no
letter easily misread (no B, D, G, I, O, Q, S, Z). It is derived from the item's id, so nothing needs storing
and the same item always has the same code. Replies may start with it ("K7 1", "k71"); see
docs/escalation.md.
"""

from __future__ import annotations

import hashlib
import re

LETTERS = "ACEFHJKLMNPRTUVWXY"
DIGITS = "23456789"
CODE = re.compile(rf"^([{LETTERS.lower()}][{DIGITS}])(?![a-z])")
"""A code is always two characters, so "k71" is K7 then "1" and "k7119" is K7 then "119"."""


def reply_code(item_id: str, namespace: str = "incident") -> str:
    """The code of one item (an incident; another kind of question gives its own ``namespace``)."""
    h = int.from_bytes(hashlib.sha256(f"{namespace}:{item_id}".encode()).digest()[:4], "big")
    return LETTERS[h % len(LETTERS)] + DIGITS[(h // len(LETTERS)) % len(DIGITS)]


def split_code(normalised: str) -> tuple[str | None, str]:
    """A normalised reply split into its leading code (upper case) and the rest: ("K7", "1")."""
    m = CODE.match(normalised)
    if m is None:
        return None, normalised
    return m.group(1).upper(), normalised[2:].lstrip(" :-")
