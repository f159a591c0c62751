"""E-mail as a channel of the notifier port: a :class:`MailSender` (SMTP) behind it.

SMTP has no delivery receipt and cannot be asked afterwards: an ambiguous failure is resent (the
Message-ID, from the queue's idempotency key, folds the copies) and a refused address is permanent.
"""

from __future__ import annotations

from collections.abc import Sequence

from escalation.mail.port import Mail, MailError, MailSender
from escalation.models import SmsMessage
from escalation.notifier import NotifyError, Sent
from registry.models import ContactChannel

SUBJECT_MAX = 60


class MailNotifier:
    channel = ContactChannel.EMAIL
    receipts = False

    def __init__(self, sender: MailSender) -> None:
        self._sender = sender

    async def start(self) -> None:
        await self._sender.start()

    async def stop(self) -> None:
        await self._sender.stop()

    async def send(self, message: SmsMessage) -> Sent:
        mail = Mail(message.to, subject(message.body), message.body, message.idempotency_key)
        try:
            return Sent(await self._sender.send(mail), "accepted")
        except MailError as exc:
            raise NotifyError(
                str(exc), retryable=exc.retryable, code=exc.code, ambiguous=exc.ambiguous
            ) from exc

    async def find_sent(self, message: SmsMessage) -> Sequence[Sent]:
        return ()  # SMTP cannot be asked: a resend carries the same Message-ID


def subject(body: str) -> str:
    """The first sentence of the text (its tag 【見守り K7】 included), ``SUBJECT_MAX`` characters at most."""
    first = body.split("\n", 1)[0]
    for stop in ("。", ". "):
        if stop in first:
            first = first.split(stop, 1)[0] + stop.strip()
            break
    return first if len(first) <= SUBJECT_MAX else first[: SUBJECT_MAX - 1] + "…"
