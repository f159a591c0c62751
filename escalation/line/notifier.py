"""LINE as a channel of the notifier port: the Messaging API's push through the real ``line-bot-sdk`` (v3).

Each push carries ``X-Line-Retry-Key``, derived from the queue's idempotency key: LINE accepts a key
once and answers a resend with 409, so an ambiguous time-out is simply sent again and never arrives
twice. LINE reports no delivery: "sent" is the last word (the unfollow event tells us of a block).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence

import aiohttp
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    ButtonsTemplate,
    Configuration,
    Message,
    PostbackAction,
    PushMessageRequest,
    TemplateMessage,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException

from escalation.line.messages import PROMPT, Button
from escalation.models import SmsMessage
from escalation.notifier import NotifyError, Sent
from registry.models import ContactChannel, Language

log = logging.getLogger(__name__)

RETRY_KEYS = uuid.UUID("5b0e7a52-3c1f-4f57-9a5e-6d1c8e2f4a10")
TEXT_MAX = 5000  # a LINE text message
BUTTONS_TEXT_MAX = 160  # a buttons template's text (no image)


class LineNotifier:
    channel = ContactChannel.LINE
    receipts = False

    def __init__(
        self,
        access_token: str,
        *,
        buttons: Callable[[SmsMessage], tuple[Button, ...]],
        language: Callable[[SmsMessage], Language],
        base_url: str = "https://api.line.me",
        timeout_s: float = 10.0,
    ) -> None:
        self._token = access_token
        self._buttons = buttons
        self._language = language
        self._base_url = base_url
        self._timeout = timeout_s
        self._client: AsyncApiClient | None = None

    async def start(self) -> None:
        self._client = AsyncApiClient(Configuration(host=self._base_url, access_token=self._token))

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        self._client = None

    def messages(self, message: SmsMessage) -> list[Message]:
        out: list[Message] = [TextMessage(text=message.body[:TEXT_MAX], quickReply=None, quoteToken=None)]
        buttons = self._buttons(message)
        if buttons:
            actions = [PostbackAction(label=label, data=data, displayText=label) for label, data in buttons]
            template = ButtonsTemplate(
                text=PROMPT[self._language(message)][:BUTTONS_TEXT_MAX], actions=actions
            )
            out.append(TemplateMessage(altText=message.body[:400], template=template, quickReply=None))
        return out

    async def send(self, message: SmsMessage) -> Sent:
        if self._client is None:
            raise NotifyError("line is not started", retryable=True)
        key = str(uuid.uuid5(RETRY_KEYS, message.idempotency_key))
        request = PushMessageRequest(
            to=message.to, messages=self.messages(message), notificationDisabled=False
        )
        try:
            response = await AsyncMessagingApi(self._client).push_message(
                request, x_line_retry_key=key, _request_timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
        except ApiException as exc:
            if exc.status == 409:  # this retry key was accepted before: it went out
                return Sent(key, "accepted")
            raise _api_error(exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            reason = f"line unreachable: {type(exc).__name__}"
            raise NotifyError(reason, retryable=True, ambiguous=True) from exc
        sent = response.sent_messages or []
        return Sent(str(sent[0].id) if sent else key, "accepted")

    async def find_sent(self, message: SmsMessage) -> Sequence[Sent]:
        return ()  # the retry key makes a resend safe


def _api_error(exc: ApiException) -> NotifyError:
    """400: this user cannot be reached (blocked, unknown): permanent. 401/403: our channel is wrong
    (operators act; retried). 429 and 5xx: later."""
    status = int(exc.status or 0)
    if status in (401, 403):
        log.error("line.config_error status=%s reason=%s", status, exc.reason)
        return NotifyError(f"line {status}: {exc.reason}", retryable=True, code=status)
    if status == 429 or status >= 500:
        return NotifyError(
            f"line {status}: {exc.reason}", retryable=True, code=status, ambiguous=status >= 500
        )
    return NotifyError(f"line {status}: {exc.reason} {exc.body or ''}".strip(), retryable=False, code=status)
