"""A local Twilio-compatible server for tests: the Messages API, error injection, status callbacks.

It answers the real ``twilio`` library like Twilio does (basic auth with the account SID and auth
token, form-encoded create, JSON answers, Twilio's error body), records every request, and can be told
to fail: HTTP 5xx or 429 for the next N creates, hang past the client's timeout (before or after
creating the message), or refuse a number with an error code (e.g. 21211). Status callbacks are sent
signed with the auth token, as Twilio signs them.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    outcome: str  # "created", "500", "timeout", "21211", "listed", "unauthorized"


@dataclass
class FakeMessage:
    sid: str
    to: str
    from_: str
    body: str
    status: str
    status_callback: str | None
    created_at: datetime


@dataclass
class Faults:
    fail_next: int = 0  # creates answered with ``fail_status`` without creating
    fail_status: int = 500
    hang_next: int = 0  # creates that hang for ``hang_s`` (the client times out)
    hang_after_create: bool = False  # hang after the message was created (the client cannot know)
    hang_s: float = 5.0
    number_errors: dict[str, int] = field(default_factory=dict)  # To -> Twilio error code


class FakeTwilio:
    """Start with :meth:`start`; ``base_url`` is what the twilio client is pointed at."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.faults = Faults()
        self.requests: list[Recorded] = []
        self.messages: dict[str, FakeMessage] = {}
        self.changed = asyncio.Condition()
        self._sids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        app.router.add_post(base, self._create)
        app.router.add_get(base, self._list)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def created(self, to: str | None = None) -> list[FakeMessage]:
        return [m for m in self.messages.values() if to is None or m.to == to]

    async def _record(self, request: web.Request, form: Mapping[str, str], outcome: str) -> None:
        self.requests.append(Recorded(request.method, request.path, dict(form), outcome))
        async with self.changed:
            self.changed.notify_all()

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("Authorization", "") == f"Basic {expected}"

    async def _create(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not self._authorized(request):
            await self._record(request, form, "unauthorized")
            return _error(401, 20003, "Authenticate")
        f = self.faults
        if f.fail_next > 0:
            f.fail_next -= 1
            await self._record(request, form, str(f.fail_status))
            return _error(f.fail_status, 20500 if f.fail_status >= 500 else 20429, "injected failure")
        if f.hang_next > 0 and not f.hang_after_create:
            f.hang_next -= 1
            await self._record(request, form, "timeout")
            await asyncio.sleep(f.hang_s)
            return _error(503, 20503, "too late")
        code = f.number_errors.get(form.get("To", ""))
        if code is not None:
            await self._record(request, form, str(code))
            return _error(400, code, f"The 'To' number {form.get('To')} is not valid.")
        sid = f"SM{next(self._sids):032x}"
        message = FakeMessage(
            sid,
            form.get("To", ""),
            form.get("From", ""),
            form.get("Body", ""),
            "queued",
            form.get("StatusCallback"),
            datetime.now(UTC),
        )
        self.messages[sid] = message
        if f.hang_next > 0 and f.hang_after_create:
            f.hang_next -= 1
            await self._record(request, form, "created-then-timeout")
            await asyncio.sleep(f.hang_s)
            return _error(503, 20503, "too late")
        await self._record(request, form, "created")
        return web.json_response(_resource(self.account_sid, message), status=201)

    async def _list(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        to = request.query.get("To")
        found = [_resource(self.account_sid, m) for m in self.messages.values() if to is None or m.to == to]
        await self._record(request, dict(request.query), "listed")
        return web.json_response(
            {
                "messages": found,
                "page": 0,
                "page_size": 50,
                "first_page_uri": request.path_qs,
                "next_page_uri": None,
                "previous_page_uri": None,
                "uri": request.path_qs,
                "start": 0,
                "end": len(found),
            }
        )

    async def send_status(self, sid: str, status: str, error_code: int | None = None) -> int:
        """POST a signed status callback for ``sid``, as Twilio would; the HTTP status of the answer."""
        message = self.messages[sid]
        message.status = status
        assert message.status_callback, "the message was sent without a StatusCallback"
        form = {
            "MessageSid": sid,
            "MessageStatus": status,
            "AccountSid": self.account_sid,
            "To": message.to,
            "From": message.from_,
        }
        if error_code is not None:
            form["ErrorCode"] = str(error_code)
        return await post_signed(message.status_callback, form, self.auth_token)


async def post_signed(url: str, form: dict[str, str], auth_token: str, signature: str | None = None) -> int:
    """POST ``form`` to ``url`` with Twilio's signature (or the given one); the HTTP status."""
    sig = RequestValidator(auth_token).compute_signature(url, form) if signature is None else signature
    headers = {"X-Twilio-Signature": sig} if sig else {}
    async with aiohttp.ClientSession() as session, session.post(url, data=form, headers=headers) as resp:
        await resp.read()
        return resp.status


def _resource(account_sid: str, m: FakeMessage) -> dict[str, Any]:
    return {
        "sid": m.sid,
        "account_sid": account_sid,
        "to": m.to,
        "from": m.from_,
        "body": m.body,
        "status": m.status,
        "num_segments": "1",
        "direction": "outbound-api",
        "date_created": format_datetime(m.created_at, usegmt=True),
        "date_updated": format_datetime(m.created_at, usegmt=True),
        "date_sent": None,
        "error_code": None,
        "error_message": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{m.sid}.json",
    }


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )
