"""The e-mail port: one adapter speaks SMTP (``aiosmtplib``); errors say whether to try again.

One :class:`Mail` goes to one person, so a refused address reduces that person's coverage only.
SMTP cannot be asked afterwards whether a message was taken, so :class:`MailError` marks a failure
after the message data was sent as ``ambiguous``: a resend may arrive twice, and the stable
``Message-ID`` lets the recipient's mail client fold the copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from escalation.mail.errors import MailErrorClass


class MailError(Exception):
    """Sending failed: ``kind`` says whether a later attempt may work (see :mod:`escalation.mail.errors`)."""

    def __init__(
        self, message: str, *, kind: MailErrorClass, code: int | None = None, ambiguous: bool = False
    ):
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.ambiguous = ambiguous

    @property
    def retryable(self) -> bool:
        return self.kind is MailErrorClass.RETRYABLE


@dataclass(frozen=True, slots=True)
class Mail:
    """One message to one person. ``key`` is stable for the same notice (it becomes the Message-ID)."""

    to: str
    subject: str
    body: str
    key: str


class MailSender(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, mail: Mail) -> str:
        """Hand ``mail`` to the server; returns its Message-ID. Raises :class:`MailError`."""
        ...
