"""The SMS port. One adapter talks to Twilio; the outbox adapter only stores (demo, no provider)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from escalation.notifier import NotifyError, Sent

__all__ = ["Sent", "SmsError", "SmsSender"]


class SmsError(NotifyError):
    """An SMS could not be handed to the provider (see :class:`NotifyError`)."""


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
