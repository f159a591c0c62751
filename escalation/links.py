"""Signed, expiring one-tap links: ``/l/<token>`` opens a small page with the four actions.

A token names a link row (incident, contact) and its expiry, signed with HMAC-SHA256 under
``MIMAMORI_LINK_SECRET``; it is short enough to leave room for the Japanese alert text. Another kind of
link (a disaster check's ``/d/<token>``) signs under its own ``kind``, so a token of one kind never
verifies as the other (their rows are numbered apart).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

_SIG_BYTES = 9  # 72 bits: 12 base64url characters


class LinkError(Exception):
    """The token is malformed, forged, or expired (``expired``)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class LinkToken:
    link_id: int
    expires_at: datetime


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _sig(secret: bytes, payload: str, kind: str) -> str:
    mac = hmac.new(secret, f"mimamori-{kind}:{payload}".encode(), hashlib.sha256).digest()[:_SIG_BYTES]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sign(secret: bytes, link_id: int, expires_at: datetime, kind: str = "link") -> str:
    payload = f"{_b36(link_id)}.{_b36(int(expires_at.timestamp()) // 60)}"
    return f"{payload}.{_sig(secret, payload, kind)}"


def verify(secret: bytes, token: str, now: datetime, kind: str = "link") -> LinkToken:
    """The link a token names; raises LinkError when it is forged, malformed or expired."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 64 or not token.isascii():  # compare_digest takes ASCII only
        raise LinkError("malformed link")
    payload = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sig(secret, payload, kind), parts[2]):
        raise LinkError("bad signature")
    try:
        link_id, minutes = int(parts[0], 36), int(parts[1], 36)
    except ValueError:
        raise LinkError("malformed link") from None
    expires_at = datetime.fromtimestamp(minutes * 60, UTC)
    if now >= expires_at:
        raise LinkError("link expired", expired=True)
    return LinkToken(link_id, expires_at)
