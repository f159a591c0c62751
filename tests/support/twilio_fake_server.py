"""A local Twilio-compatible server for tests: the Messages and Calls APIs, error injection, callbacks.

It answers the real ``twilio`` library like Twilio does (basic auth with the account SID and auth
token, form-encoded create, JSON answers, Twilio's error body), records every request, and can be told
to fail: HTTP 5xx or 429 for the next N creates, hang past the client's timeout (before or after
creating the message), or refuse a number with an error code (e.g. 21211). Status callbacks are sent
signed with the auth token, as Twilio signs them. A created call does nothing until the test plays the
phone: :meth:`FakeTwilio.answer` (a person or a machine picks up; optionally presses a key, posting the
signed gather webhook named in the TwiML) and :meth:`FakeTwilio.end_call` (the final status callback:
completed, busy, no-answer, failed).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import xml.etree.ElementTree as ET
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
class FakeCall:
    sid: str
    to: str
    from_: str
    url: str  # where the call fetches its TwiML when answered
    status_callback: str | None
    machine_detection: str | None
    status: str
    created_at: datetime
    twiml: list[str] = field(default_factory=list)  # every TwiML document the call was given


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
        self.calls: dict[str, FakeCall] = {}
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
        calls = f"/2010-04-01/Accounts/{self.account_sid}/Calls.json"
        app.router.add_post(calls, self._create_call)
        app.router.add_get(calls, self._list_calls)
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

    async def _refused(self, request: web.Request, form: Mapping[str, str]) -> web.Response | None:
        """The injected failure of a create (or None: go on)."""
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
        return None

    async def _create_call(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        refused = await self._refused(request, form)
        if refused is not None:
            return refused
        sid = f"CA{next(self._sids):032x}"
        call = FakeCall(
            sid,
            form.get("To", ""),
            form.get("From", ""),
            form.get("Url", ""),
            form.get("StatusCallback"),
            form.get("MachineDetection"),
            "queued",
            datetime.now(UTC),
        )
        self.calls[sid] = call
        f = self.faults
        if f.hang_next > 0 and f.hang_after_create:
            f.hang_next -= 1
            await self._record(request, form, "created-then-timeout")
            await asyncio.sleep(f.hang_s)
            return _error(503, 20503, "too late")
        await self._record(request, form, "created")
        return web.json_response(_call_resource(self.account_sid, call), status=201)

    async def _list_calls(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        to = request.query.get("To")
        found = [
            _call_resource(self.account_sid, c) for c in reversed(self.calls.values()) if to in (None, c.to)
        ]
        await self._record(request, dict(request.query), "listed")
        return web.json_response(_page("calls", found, request.path_qs))

    def placed(self, to: str | None = None) -> list[FakeCall]:
        return [c for c in self.calls.values() if to is None or c.to == to]

    async def answer(self, sid: str, *, digits: str | None = None, answered_by: str = "human") -> list[str]:
        """The phone is picked up (by ``answered_by``: human, machine_start, ...); with ``digits``, that
        key is pressed at the first ``<Gather>``. The TwiML documents our service answered, in order."""
        call = self.calls[sid]
        call.status = "in-progress"
        form = self._call_form(call)
        if call.machine_detection:
            form["AnsweredBy"] = answered_by
        status, twiml = await post_signed_text(call.url, form, self.auth_token)
        assert status == 200, f"the answer webhook said HTTP {status}"
        call.twiml.append(twiml)
        return call.twiml if digits is None else await self.press(sid, digits)

    async def press(self, sid: str, digits: str) -> list[str]:
        """``digits`` pressed at the ``<Gather>`` of the call's latest TwiML (posting its signed action)."""
        call = self.calls[sid]
        gather = ET.fromstring(call.twiml[-1]).find(".//Gather")
        assert gather is not None, f"no <Gather> in {call.twiml[-1]}"
        pressed = {**self._call_form(call), "Digits": digits}
        status, twiml = await post_signed_text(gather.attrib["action"], pressed, self.auth_token)
        assert status == 200, f"the gather webhook said HTTP {status}"
        call.twiml.append(twiml)
        return call.twiml

    async def end_call(self, sid: str, status: str = "completed", answered_by: str | None = None) -> int:
        """The call's final status callback (completed, busy, no-answer, failed, canceled)."""
        call = self.calls[sid]
        call.status = status
        assert call.status_callback, "the call was placed without a StatusCallback"
        form = {**self._call_form(call), "CallStatus": status}
        if answered_by is not None:
            form["AnsweredBy"] = answered_by
        return await post_signed(call.status_callback, form, self.auth_token)

    def _call_form(self, call: FakeCall) -> dict[str, str]:
        return {
            "CallSid": call.sid,
            "AccountSid": self.account_sid,
            "From": call.from_,
            "To": call.to,
            "CallStatus": call.status,
            "Direction": "outbound-api",
        }

    async def _create(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        refused = await self._refused(request, form)
        if refused is not None:
            return refused
        f = self.faults
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
    return (await post_signed_text(url, form, auth_token, signature))[0]


async def post_signed_text(
    url: str, form: dict[str, str], auth_token: str, signature: str | None = None
) -> tuple[int, str]:
    """:func:`post_signed`, with the answer's body (a call's TwiML)."""
    sig = RequestValidator(auth_token).compute_signature(url, form) if signature is None else signature
    headers = {"X-Twilio-Signature": sig} if sig else {}
    async with aiohttp.ClientSession() as session, session.post(url, data=form, headers=headers) as resp:
        return resp.status, await resp.text()


def _page(key: str, items: list[dict[str, Any]], uri: str) -> dict[str, Any]:
    return {
        key: items,
        "page": 0,
        "page_size": 50,
        "first_page_uri": uri,
        "next_page_uri": None,
        "previous_page_uri": None,
        "uri": uri,
        "start": 0,
        "end": len(items),
    }


def _call_resource(account_sid: str, c: FakeCall) -> dict[str, Any]:
    return {
        "sid": c.sid,
        "account_sid": account_sid,
        "to": c.to,
        "from": c.from_,
        "status": c.status,
        "direction": "outbound-api",
        "date_created": format_datetime(c.created_at, usegmt=True),
        "date_updated": format_datetime(c.created_at, usegmt=True),
        "start_time": None,
        "end_time": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{c.sid}.json",
    }


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
