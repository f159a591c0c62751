"""A local server that speaks the LINE Messaging API's HTTP, for the real ``line-bot-sdk``, plus webhooks.

Push (``POST /v2/bot/message/push``) with the channel access token, ``X-Line-Retry-Key`` honoured as
LINE does (a key accepted before answers 409), and injected failures: 5xx for the next N pushes, a hang
past the client's time-out (after accepting, so only the retry key prevents a second message), and
users who blocked the account or never existed (400). :func:`post_events` plays LINE's side of the
webhook: events signed with the channel secret in ``X-Line-Signature``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

ACCESS_TOKEN = "fake-line-access-token"
CHANNEL_SECRET = "fake-line-channel-secret"


@dataclass
class Push:
    to: str
    messages: list[dict[str, Any]]
    retry_key: str
    request_id: str


@dataclass
class LineFaults:
    fail_next: int = 0  # pushes answered with ``fail_status``
    fail_status: int = 500
    hang_after_accept: int = 0  # pushes accepted, then the answer hangs for ``hang_s``
    hang_s: float = 3.0
    blocked: set[str] = field(default_factory=set)  # user ids that answer 400


class FakeLine:
    def __init__(self, access_token: str = ACCESS_TOKEN) -> None:
        self.access_token = access_token
        self.faults = LineFaults()
        self.pushes: list[Push] = []
        self.outcomes: list[str] = []  # per push request: "accepted", "409", "400", "500", "unauthorized"
        self.changed = asyncio.Condition()
        self._accepted: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v2/bot/message/push", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def pushed(self, to: str | None = None) -> list[Push]:
        return [p for p in self.pushes if to is None or p.to == to]

    async def _outcome(self, outcome: str) -> None:
        self.outcomes.append(outcome)
        async with self.changed:
            self.changed.notify_all()

    async def _push(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            await self._outcome("unauthorized")
            return web.json_response({"message": "Authentication failed"}, status=401)
        body = await request.json()
        key = request.headers.get("X-Line-Retry-Key", "")
        f = self.faults
        if key and key in self._accepted:
            await self._outcome("409")
            return web.json_response(
                {"message": "The retry key is already accepted"},
                status=409,
                headers={"x-line-accepted-request-id": self._accepted[key]},
            )
        if f.fail_next > 0:
            f.fail_next -= 1
            await self._outcome(str(f.fail_status))
            return web.json_response({"message": "injected failure"}, status=f.fail_status)
        if body.get("to") in f.blocked:
            await self._outcome("400")
            return web.json_response({"message": "Failed to send messages"}, status=400)
        request_id = uuid.uuid4().hex
        if key:
            self._accepted[key] = request_id
        self.pushes.append(Push(body["to"], body["messages"], key, request_id))
        if f.hang_after_accept > 0:
            f.hang_after_accept -= 1
            await self._outcome("accepted-then-timeout")
            await asyncio.sleep(f.hang_s)
        else:
            await self._outcome("accepted")
        sent = [{"id": str(next(self._ids)), "quoteToken": uuid.uuid4().hex} for _ in body["messages"]]
        return web.json_response({"sentMessages": sent}, headers={"x-line-request-id": request_id})


def event(kind: str, user: str, **extra: Any) -> dict[str, Any]:
    """One webhook event as LINE sends it (``kind``: message, postback, follow, unfollow)."""
    e: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        **extra,
    }
    if kind in ("message", "postback", "follow"):
        e["replyToken"] = uuid.uuid4().hex
    if kind == "follow":
        e["follow"] = {"isUnblocked": False}
    return e


def text(user: str, words: str) -> dict[str, Any]:
    return event("message", user, message={"type": "text", "id": "1", "text": words, "quoteToken": "q"})


def postback(user: str, data: str) -> dict[str, Any]:
    return event("postback", user, postback={"data": data})


def sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


async def post_events(
    url: str, events: list[dict[str, Any]], secret: str = CHANNEL_SECRET, signature: str | None = None
) -> int:
    """POST events to our webhook as LINE does, signed (or with the given signature); the HTTP status."""
    body = json.dumps({"destination": "U" + "0" * 32, "events": events}, ensure_ascii=False).encode()
    sig = sign(body, secret) if signature is None else signature
    headers = {"Content-Type": "application/json", **({"X-Line-Signature": sig} if sig else {})}
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
        await resp.read()
        return resp.status
