"""One long-lived async client of the real ``twilio`` library, shared by the SMS and voice adapters."""

from __future__ import annotations

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from escalation.notifier import NotifyError


class TwilioSession:
    """Opens the library's async HTTP client on :meth:`start` and closes it on :meth:`stop`.

    ``base_url`` points the library at a local Twilio-compatible server in tests.
    """

    def __init__(self, account_sid: str, auth_token: str, *, base_url: str, timeout_s: float) -> None:
        self._sid = account_sid
        self._token = auth_token
        self._base_url = base_url
        self._timeout = timeout_s
        self._http: AsyncTwilioHttpClient | None = None
        self.client: Client | None = None  # None until started, and after stop

    async def start(self) -> None:
        self._http = AsyncTwilioHttpClient(timeout=self._timeout)
        client = Client(self._sid, self._token, http_client=self._http)
        client.api.base_url = self._base_url
        self.client = client

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._http = None
        self.client = None

    def api(self, error: type[NotifyError], adapter: str) -> Client:
        """The started client; ``error`` (retryable) before :meth:`start` or after :meth:`stop`."""
        if self.client is None:
            raise error(f"twilio {adapter} is not started", retryable=True)
        return self.client
