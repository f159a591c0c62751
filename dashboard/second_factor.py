"""The staff's second factor: TOTP (RFC 6238, an authenticator app) with one-time recovery codes.

Codes are judged against wall time, as the person's authenticator app keeps it (not the simulated
clock of the demo), one step either side for a slow typist; a step once used is refused afterwards
(no replay). Recovery codes are random, shown once, and kept only as SHA-256 hashes: with 50 bits of
randomness each, a slow hash adds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final

import pyotp
import segno

ISSUER: Final = "Mimamori"
STEP_S: Final = 30
RECOVERY_CODES: Final = 10
_RECOVERY_ALPHABET: Final = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline SVG element."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff"))


def current_code(secret: str, now: float) -> str:
    return pyotp.TOTP(secret).at(now)


def matching_step(secret: str, code: str, now: float, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side), if it was not used before."""
    digits = re.sub(r"\s", "", code)
    if not re.fullmatch(r"\d{6}", digits):
        return None
    totp = pyotp.TOTP(secret)
    here = int(now // STEP_S)
    for step in (here, here - 1, here + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_S), digits):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes like ``k7p2-x9mq``, each good once."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_hash(code: str) -> str:
    """How a recovery code is kept (spaces, dashes and case do not matter when typed back)."""
    normal = re.sub(r"[\s-]", "", code).lower()
    return hashlib.sha256(normal.encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len(re.sub(r"[\s-]", "", code)) == 10
