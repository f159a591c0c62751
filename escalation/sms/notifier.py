"""SMS as a channel of the notifier port: an :class:`SmsSender` (Twilio or the outbox) behind it."""

from __future__ import annotations

from collections.abc import Sequence

from escalation.models import SmsMessage
from escalation.notifier import Sent
from escalation.sms.port import SmsSender
from registry.models import ContactChannel


class SmsNotifier:
    """Delivery receipts only when Twilio is told where to send status callbacks."""

    channel = ContactChannel.SMS

    def __init__(self, sender: SmsSender, status_callback: str | None = None) -> None:
        self._sender = sender
        self._callback = status_callback
        self.receipts = status_callback is not None

    async def start(self) -> None:
        await self._sender.start()

    async def stop(self) -> None:
        await self._sender.stop()

    async def send(self, message: SmsMessage) -> Sent:
        return await self._sender.send(message.to, message.body, self._callback)

    async def find_sent(self, message: SmsMessage) -> Sequence[Sent]:
        found = await self._sender.find_sent(message.to, message.body, message.created_at)
        return [] if found is None else [found]
