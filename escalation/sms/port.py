"""The SMS port. One adapter talks to Twilio; the outbox adapter only stores (demo, no provider)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class SmsError(Exception):
    """Sending failed. ``retryable``: trying again later may work (429, 5xx, timeouts).

    ``ambiguous``: the provider may have accepted the message anyway (timeout, 5xx), so before sending
    again the dispatcher asks :meth:`SmsSender.find_sent`.
    """

    def __init__(self, message: str, *, retryable: bool, code: int | None = None, ambiguous: bool = False):
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.ambiguous = ambiguous


@dataclass(frozen=True, slots=True)
class Sent:
    sid: str
    status: str  # the provider's status: "queued", "accepted", "sent", ...


class SmsSender(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, to: str, body: str, status_callback: str | None) -> Sent:
        """Hand one message to the provider. Raises :class:`SmsError`."""
        ...

    async def find_sent(self, to: str, body: str, since: datetime) -> Sent | None:
        """A message with exactly this body sent to ``to`` since ``since``, if the provider has one.

        Raises :class:`SmsError` when the provider cannot be asked.
        """
        ...
