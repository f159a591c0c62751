"""The notifier port: one queued message out through one channel (SMS, voice, LINE, e-mail).

Every channel's adapter has the same shape and the same discipline as SMS had alone: ``send`` hands one
message to the provider and returns its id, or raises :class:`NotifyError` saying whether trying again
may work and whether the provider may have taken it anyway (``ambiguous``: before any resend the
dispatcher asks :meth:`Notifier.find_sent`). Which channel a message takes is the engine's choice
(:mod:`escalation.channels`); the state machine never knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from escalation.models import SmsMessage
from registry.models import ContactChannel


class NotifyError(Exception):
    """Sending failed. ``retryable``: trying again later may work (429, 5xx, timeouts, 4yz).

    ``ambiguous``: the provider may have accepted the message anyway (timeout, 5xx), so before sending
    again the dispatcher asks :meth:`Notifier.find_sent`.
    """

    def __init__(self, message: str, *, retryable: bool, code: int | None = None, ambiguous: bool = False):
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.ambiguous = ambiguous


@dataclass(frozen=True, slots=True)
class Sent:
    sid: str  # the provider's id of the message (SMS SID, call SID, LINE request id, Message-ID)
    status: str  # the provider's status: "queued", "accepted", "sent", ...


class Notifier(Protocol):
    channel: ContactChannel
    receipts: bool
    """The provider reports what became of a message (status callbacks): an alert still not delivered
    after its channel's deadline falls back. Without receipts, "sent" is the last word."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: SmsMessage) -> Sent:
        """Hand one queued message to the provider. Raises :class:`NotifyError`."""
        ...

    async def find_sent(self, message: SmsMessage) -> Sequence[Sent]:
        """What the provider already has that may be this message (newest first); the dispatcher
        takes the first one not recorded for another message. Raises :class:`NotifyError`."""
        ...
