"""Voice as a channel of the notifier port: Twilio Programmable Voice through the real ``twilio`` library.

A call fetches its TwiML from our signed ``/twilio/voice/answer?m=<message>`` (so an answering machine,
detected by Twilio, gets a hang-up and the next person is called at once), reports its end to
``/twilio/voice/status``, and its keypress comes to ``/twilio/voice/gather?m=<message>``
(``escalation/webhooks.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from twilio.rest import Client

from escalation.models import SmsMessage
from escalation.notifier import NotifyError, Sent
from escalation.sms.twilio_sender import twilio_errors
from escalation.sms.twilio_session import TwilioSession
from registry.models import ContactChannel


class TwilioVoiceNotifier:
    channel = ContactChannel.VOICE
    receipts = True  # every call ends with a status callback (completed, busy, no-answer, failed)

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str,
        public_url: str,
        base_url: str = "https://api.twilio.com",
        timeout_s: float = 10.0,
        ring_timeout_s: int = 30,
    ) -> None:
        self._from = from_number
        self._public = public_url.rstrip("/")
        self._ring = ring_timeout_s
        self._session = TwilioSession(account_sid, auth_token, base_url=base_url, timeout_s=timeout_s)

    async def start(self) -> None:
        await self._session.start()

    async def stop(self) -> None:
        await self._session.stop()

    def _api(self) -> Client:
        return self._session.api(NotifyError, "voice")

    async def send(self, message: SmsMessage) -> Sent:
        with twilio_errors(NotifyError, ambiguous=True):
            call = await self._api().calls.create_async(
                to=message.to,
                from_=self._from,
                url=f"{self._public}/twilio/voice/answer?m={message.id}",
                method="POST",
                status_callback=f"{self._public}/twilio/voice/status",
                status_callback_method="POST",
                machine_detection="Enable",
                timeout=self._ring,
            )
        return Sent(str(call.sid), str(call.status))

    async def find_sent(self, message: SmsMessage) -> Sequence[Sent]:
        """Calls to this number since the message was queued (a call has no body to match)."""
        with twilio_errors(NotifyError):
            calls = await self._api().calls.list_async(
                to=message.to, start_time_after=message.created_at - timedelta(days=1), limit=20
            )
        return [Sent(str(c.sid), str(c.status)) for c in calls]
