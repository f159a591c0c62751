"""Twilio error codes: which mean "this number will not work" and which may work later.

Codes from the Messages and Calls APIs (13xxx, 21xxx, at send time) and from delivery status callbacks
(30xxx).
A failed delivery (status callback) always moves on to the next person at once; the class says
whether the number itself is broken (permanent: a coverage gap to fix) or may work another time.
Unknown codes count as permanent and are logged with their number, so the table can grow.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorClass(StrEnum):
    PERMANENT = "permanent"  # this number cannot be reached this way: next person now
    RETRYABLE = "retryable"  # provider or network trouble: same message again, with backoff
    CONFIG = "config"  # our account or sender is wrong: operators must act; no person is at fault


TWILIO_ERRORS: dict[int, tuple[ErrorClass, str]] = {
    13224: (ErrorClass.PERMANENT, "call: invalid phone number"),
    20003: (ErrorClass.CONFIG, "authentication failed"),
    20429: (ErrorClass.RETRYABLE, "too many requests"),
    20500: (ErrorClass.RETRYABLE, "internal server error"),
    20503: (ErrorClass.RETRYABLE, "service unavailable"),
    21205: (ErrorClass.CONFIG, "call: invalid answer URL"),
    21210: (ErrorClass.CONFIG, "call: 'From' is not a verified caller id"),
    21211: (ErrorClass.PERMANENT, "invalid 'To' phone number"),
    21212: (ErrorClass.CONFIG, "invalid 'From' number"),
    21408: (ErrorClass.PERMANENT, "permission to send to this region is not enabled"),
    21606: (ErrorClass.CONFIG, "'From' number is not SMS-capable"),
    21610: (ErrorClass.PERMANENT, "recipient unsubscribed (replied STOP)"),
    21611: (ErrorClass.RETRYABLE, "sender queue full"),
    21612: (ErrorClass.PERMANENT, "cannot route to this number"),
    21614: (ErrorClass.PERMANENT, "'To' is not a mobile number"),
    21215: (ErrorClass.PERMANENT, "call: geographic permission not enabled for this number"),
    21217: (ErrorClass.PERMANENT, "call: the phone number does not appear valid"),
    21617: (ErrorClass.PERMANENT, "message body too long"),
    30001: (ErrorClass.RETRYABLE, "queue overflow"),
    30002: (ErrorClass.CONFIG, "account suspended"),
    30003: (ErrorClass.RETRYABLE, "unreachable handset (off or out of coverage)"),
    30004: (ErrorClass.PERMANENT, "message blocked"),
    30005: (ErrorClass.PERMANENT, "unknown destination handset"),
    30006: (ErrorClass.PERMANENT, "landline or unreachable carrier"),
    30007: (ErrorClass.PERMANENT, "carrier filtering"),
    30008: (ErrorClass.RETRYABLE, "unknown delivery error"),
    30034: (ErrorClass.CONFIG, "sender not registered"),
}


def classify(code: int | None, http_status: int | None = None) -> ErrorClass:
    """The class of a Twilio error (by code, else by HTTP status: 429 and 5xx may work later)."""
    if code is not None and code in TWILIO_ERRORS:
        return TWILIO_ERRORS[code][0]
    if http_status is not None and (http_status == 429 or http_status >= 500):
        return ErrorClass.RETRYABLE
    return ErrorClass.PERMANENT


def describe(code: int | None) -> str:
    if code is None:
        return "no error code"
    return TWILIO_ERRORS.get(code, (ErrorClass.PERMANENT, "unknown error code"))[1]
