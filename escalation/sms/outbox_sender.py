"""The outbox adapter of the SMS port: nothing leaves the machine; the stored queue is the outbox.

For the demo and for anyone without Twilio: ``mimamori outbox`` and the dashboard show what would
have been sent, and ``mimamori sms-reply`` plays the part of a phone answering.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from escalation.models import SmsMessage
from escalation.sms.port import Sent
from registry.models import ContactChannel


class OutboxSender:
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, to: str, body: str, status_callback: str | None) -> Sent:
        return Sent("OB" + uuid.uuid4().hex, "stored")

    async def find_sent(self, to: str, body: str, since: datetime) -> Sent | None:
        return None  # the outbox never leaves a message half-sent


class OutboxNotifier:
    """The outbox as any channel of the notifier port (the demo's calls, LINE and e-mail)."""

    receipts = False

    def __init__(self, channel: ContactChannel) -> None:
        self.channel = channel

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: SmsMessage) -> Sent:
        return Sent(f"OB{self.channel}-" + uuid.uuid4().hex, "stored")

    async def find_sent(self, message: SmsMessage) -> Sequence[Sent]:
        return ()
