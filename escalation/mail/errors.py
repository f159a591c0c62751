"""SMTP reply codes: which mean "this address will not work" and which may work later (RFC 5321 §4.2).

4yz replies are transient and 5yz permanent, with two exceptions that are ours to fix rather than the
recipient's: authentication and the sender address (the operators must act, no person is at fault).
"""

from __future__ import annotations

from enum import StrEnum


class MailErrorClass(StrEnum):
    PERMANENT = "permanent"  # this address cannot be reached: a coverage gap to report
    RETRYABLE = "retryable"  # server or network trouble: the same message again, with backoff
    CONFIG = "config"  # our server, account or sender is wrong: operators must act


SMTP_CODES: dict[int, tuple[MailErrorClass, str]] = {
    421: (MailErrorClass.RETRYABLE, "service not available, closing channel"),
    450: (MailErrorClass.RETRYABLE, "mailbox unavailable (busy or greylisted)"),
    451: (MailErrorClass.RETRYABLE, "local error in processing"),
    452: (MailErrorClass.RETRYABLE, "insufficient system storage"),
    454: (MailErrorClass.CONFIG, "TLS or authentication temporarily unavailable"),
    530: (MailErrorClass.CONFIG, "authentication required"),
    534: (MailErrorClass.CONFIG, "authentication mechanism too weak"),
    535: (MailErrorClass.CONFIG, "authentication credentials invalid"),
    550: (MailErrorClass.PERMANENT, "mailbox unavailable (no such user)"),
    551: (MailErrorClass.PERMANENT, "user not local"),
    552: (MailErrorClass.PERMANENT, "mailbox full"),
    553: (MailErrorClass.PERMANENT, "mailbox name not allowed"),
    554: (MailErrorClass.PERMANENT, "transaction failed (rejected)"),
    555: (MailErrorClass.CONFIG, "MAIL FROM parameters not recognised"),
}


def classify(code: int) -> MailErrorClass:
    """The class of an SMTP reply code (unknown 4yz: retryable; unknown 5yz and others: permanent)."""
    if code in SMTP_CODES:
        return SMTP_CODES[code][0]
    return MailErrorClass.RETRYABLE if 400 <= code < 500 else MailErrorClass.PERMANENT


def describe(code: int) -> str:
    return SMTP_CODES.get(code, (classify(code), "unlisted SMTP reply"))[1]
