"""A real SMTP server for tests (``aiosmtpd``) that keeps what it receives and can refuse on cue."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from app.mosquitto import free_port


class Mailbox:
    """The aiosmtpd handler: stores every accepted message; ``refuse`` makes RCPT or DATA fail."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse_rcpt: dict[str, str] = {}  # address -> SMTP reply, e.g. "550 no such user"
        self.refuse_data: str | None = None  # e.g. "451 try again later"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data is not None:
            return self.refuse_data
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A running SMTP server on a free port of 127.0.0.1 (no TLS, no auth: a local relay)."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
