"""The e-mail adapter: one message per person through an SMTP server, with ``aiosmtplib``."""

from __future__ import annotations

import hashlib
import logging
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from escalation.mail.errors import MailErrorClass, classify, describe
from escalation.mail.port import Mail, MailError
from mimamori.config import EmailConfig

log = logging.getLogger(__name__)


def compose(mail: Mail, from_address: str) -> EmailMessage:
    """The message as sent: UTF-8 plain text, a Message-ID derived from ``mail.key``."""
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    domain = from_address.rpartition("@")[2] or "mimamori.invalid"
    digest = hashlib.sha256(mail.key.encode("utf-8")).hexdigest()[:24]
    message["Message-ID"] = f"<{digest}@{domain}>"
    message.set_content(mail.body, charset="utf-8")
    return message


class SmtpSender:
    """Sends through the configured server. A connection per message: notices are few, and a
    long-lived connection would only be closed by the server between them."""

    def __init__(self, config: EmailConfig, password: str | None) -> None:
        self._config = config
        self._password = password

    async def start(self) -> None:
        """Nothing to open: each message connects (constructors and start do no network I/O)."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def send(self, mail: Mail) -> str:
        c = self._config
        message = compose(mail, c.from_address)
        try:
            await aiosmtplib.send(
                message,
                hostname=c.smtp_host,
                port=c.smtp_port,
                username=c.username or None,
                password=self._password if c.username else None,
                use_tls=c.security == "tls",
                start_tls=c.security == "starttls",
                timeout=c.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            code = codes[0] if codes else 550
            raise MailError(
                f"recipient refused: {code} {describe(code)}", kind=classify(code), code=code
            ) from exc
        except aiosmtplib.SMTPSenderRefused as exc:
            raise MailError(
                f"sender refused: {exc.code} {exc.message}", kind=MailErrorClass.CONFIG, code=exc.code
            ) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise MailError(
                f"authentication failed: {exc.code}", kind=MailErrorClass.CONFIG, code=exc.code
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(
                f"refused: {exc.code} {describe(exc.code)}", kind=classify(exc.code), code=exc.code
            ) from exc
        except aiosmtplib.SMTPConnectError as exc:
            raise MailError(f"cannot connect: {exc}", kind=MailErrorClass.RETRYABLE) from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            # The data may have been taken before the line dropped: a resend may duplicate.
            raise MailError(f"connection lost: {exc}", kind=MailErrorClass.RETRYABLE, ambiguous=True) from exc
        except aiosmtplib.SMTPException as exc:
            raise MailError(f"smtp failed: {exc}", kind=MailErrorClass.RETRYABLE) from exc
        message_id = str(message["Message-ID"])
        log.info("mail.sent message_id=%s", message_id)
        return message_id
