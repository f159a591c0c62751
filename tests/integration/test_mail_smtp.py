"""E-mail through a real SMTP server (aiosmtpd): Japanese text intact, refusals classified."""

from __future__ import annotations

import pytest

from app.mosquitto import free_port
from escalation.mail.errors import MailErrorClass, classify
from escalation.mail.port import Mail, MailError
from escalation.mail.smtp_sender import SmtpSender
from mimamori.config import EmailConfig
from tests.support.smtp_server import smtp_server

pytestmark = pytest.mark.integration

NOTICE = Mail(
    to="operator@example.org",
    subject="【見守り】基盤の異常: 30分間 ゲートウェイから応答なし",
    body="すべての家から30分間 応答がありません。ブローカーを確認してください。\nNo gateway heard for 30 min",
    key="outage:broker:2026-12-03T10:00",
)


def _sender(port: int) -> SmtpSender:
    config = EmailConfig(
        enabled=True,
        smtp_host="127.0.0.1",
        smtp_port=port,
        security="none",
        from_address="mimamori@town.example",
    )
    return SmtpSender(config, password=None)


async def test_a_japanese_notice_arrives_intact_with_a_stable_message_id() -> None:
    with smtp_server() as (mailbox, port):
        sender = _sender(port)
        first = await sender.send(NOTICE)
        again = await sender.send(NOTICE)
    assert len(mailbox.messages) == 2
    got = mailbox.messages[0]
    assert got["Subject"] == NOTICE.subject
    assert got["To"] == NOTICE.to
    assert got.get_content().strip() == NOTICE.body
    # The same notice sent twice (a resend after an ambiguous failure) carries the same Message-ID.
    assert first == again == got["Message-ID"] == mailbox.messages[1]["Message-ID"]
    assert first.endswith("@town.example>")


async def test_a_refused_address_is_permanent_and_a_busy_server_retryable() -> None:
    with smtp_server() as (mailbox, port):
        mailbox.refuse_rcpt[NOTICE.to] = "550 5.1.1 no such user"
        with pytest.raises(MailError) as refused:
            await _sender(port).send(NOTICE)
        mailbox.refuse_rcpt.clear()
        mailbox.refuse_data = "451 4.3.0 try again later"
        with pytest.raises(MailError) as busy:
            await _sender(port).send(NOTICE)
    assert (refused.value.kind, refused.value.code, refused.value.retryable) == (
        MailErrorClass.PERMANENT,
        550,
        False,
    )
    assert (busy.value.kind, busy.value.code, busy.value.retryable) == (MailErrorClass.RETRYABLE, 451, True)
    assert mailbox.messages == []


async def test_no_server_is_retryable_and_not_ambiguous() -> None:
    with pytest.raises(MailError) as down:
        await _sender(free_port()).send(NOTICE)
    assert down.value.retryable
    assert not down.value.ambiguous


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (421, "retryable"),
        (450, "retryable"),
        (499, "retryable"),
        (535, "config"),
        (550, "permanent"),
        (599, "permanent"),
    ],
)
def test_reply_codes_are_classified(code: int, kind: str) -> None:
    assert classify(code) is MailErrorClass(kind)
