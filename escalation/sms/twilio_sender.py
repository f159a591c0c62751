"""The Twilio adapter of the SMS port: the real ``twilio`` library, async, one long-lived HTTP client."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from escalation.notifier import NotifyError
from escalation.sms.errors import ErrorClass, classify, describe
from escalation.sms.port import Sent, SmsError
from escalation.sms.twilio_session import TwilioSession

log = logging.getLogger(__name__)


class TwilioSender:
    """Sends through Twilio's Messages API. ``base_url`` points the library at a local server in tests."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str,
        messaging_service_sid: str | None = None,
        base_url: str = "https://api.twilio.com",
        timeout_s: float = 10.0,
    ) -> None:
        self._from = from_number
        self._service = messaging_service_sid
        self._session = TwilioSession(account_sid, auth_token, base_url=base_url, timeout_s=timeout_s)

    async def start(self) -> None:
        await self._session.start()

    async def stop(self) -> None:
        await self._session.stop()

    def _api(self) -> Client:
        return self._session.api(SmsError, "sender")

    async def send(self, to: str, body: str, status_callback: str | None) -> Sent:
        options: dict[str, str] = {"to": to, "body": body}
        if self._service:
            options["messaging_service_sid"] = self._service
        if self._from:
            options["from_"] = self._from
        if status_callback:
            options["status_callback"] = status_callback
        with twilio_errors(SmsError, ambiguous=True):
            message = await self._api().messages.create_async(**options)
        return Sent(str(message.sid), str(message.status))

    async def find_sent(self, to: str, body: str, since: datetime) -> Sent | None:
        with twilio_errors(SmsError):
            found = await self._api().messages.list_async(
                to=to, date_sent_after=since - timedelta(days=1), limit=50
            )
        for message in found:
            if message.body == body:
                return Sent(str(message.sid), str(message.status))
        return None


def rest_error(exc: TwilioRestException) -> SmsError:
    code = int(exc.code) if isinstance(exc.code, int) else None
    cls = classify(code, exc.status)
    if cls is ErrorClass.CONFIG:
        log.error("twilio.config_error code=%s status=%s reason=%s", code, exc.status, describe(code))
    retryable = cls is not ErrorClass.PERMANENT
    return SmsError(
        f"twilio {exc.status} code={code}: {describe(code)}",
        retryable=retryable,
        code=code,
        ambiguous=exc.status >= 500,
    )


@contextmanager
def twilio_errors(error: type[NotifyError], *, ambiguous: bool = False) -> Iterator[None]:
    """The ``twilio`` library's exceptions inside, as ports' errors: a REST error classified
    (:func:`rest_error`); a timeout or a connection failure an ``error``, retryable, and ``ambiguous``
    when the request may have been taken."""
    try:
        yield
    except TwilioRestException as exc:
        raise rest_error(exc) from exc
    except (TimeoutError, aiohttp.ClientError, TwilioException) as exc:
        raise error(f"twilio unreachable: {type(exc).__name__}", retryable=True, ambiguous=ambiguous) from exc
