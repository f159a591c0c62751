"""``mimamori call-answer``, ``line-answer``, ``line-code``: the phone keypad and LINE, from the command line.

Siblings of ``sms-reply``: each posts to the running alerts service exactly what Twilio or LINE would
(signed with the service's webhook keys), so the demo can be answered by voice and on LINE.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from twilio.request_validator import RequestValidator

from escalation.codes import reply_code
from escalation.line.events import new_code
from escalation.models import SmsMessage, SmsPurpose
from escalation.service import line_secret, webhook_token
from escalation.state_file import open_existing
from mimamori.clock import SystemClock
from mimamori.commands import Subcommands, add_config_argument, config_from
from mimamori.config import Config
from registry.models import ContactChannel

WORDS = {"go": "1", "cant": "2", "safe": "3", "help": "119", "fine": "1"}
"""``line-answer --data``: the buttons' meanings (the resident's 大丈夫 is "fine", 助けて "help")."""


def register(sub: Subcommands) -> None:
    call = sub.add_parser("call-answer", help="answer a voice alert as a phone keypad would (signed webhook)")
    call.add_argument("--from", dest="phone", required=True, help="the phone that was called, E.164")
    call.add_argument("--digits", required=True, help="the key pressed: 1, 2, 3, 9 (the resident: 1, 9)")
    add_config_argument(call)
    call.set_defaults(func=_call_answer)

    line = sub.add_parser("line-answer", help="tap an alert's button (or send a text) as a LINE user would")
    line.add_argument("--user", required=True, help="the LINE user id (see `mimamori outbox`)")
    what = line.add_mutually_exclusive_group(required=True)
    what.add_argument("--data", help="a button: go, cant, safe, help, fine (or a reply such as 'K7 1')")
    what.add_argument("--text", help="a text message: an answer, or the one-time code that links the user")
    add_config_argument(line)
    line.set_defaults(func=_line_answer)

    code = sub.add_parser("line-code", help="a one-time code a contact sends to the LINE account to link it")
    code.add_argument("contact", help="the contact id")
    add_config_argument(code)
    code.set_defaults(func=_line_code)


def _newest(config: Config, channel: ContactChannel, to: str) -> SmsMessage | None:
    """The newest alert sent on ``channel`` to ``to``."""
    repo = open_existing(config)
    if repo is None:
        return None
    try:
        found = [
            m
            for m in repo.sms_messages(limit=5000)
            if m.channel is channel and m.to == to and m.purpose is SmsPurpose.ALERT
        ]
    finally:
        repo.close()
    return found[-1] if found else None


def _urls(config: Config, path: str) -> tuple[str, str]:
    """(the URL as signed: the public one, the URL posted to: the local one)."""
    a = config.alerts
    public = a.public_url or f"http://{a.http_host}:{a.http_port}"
    return f"{public.rstrip('/')}{path}", f"http://{a.http_host}:{a.http_port}{path}"


def _post(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as r:  # noqa: S310
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        print(f"mimamori: the alerts service answered HTTP {exc.code}", file=sys.stderr)
    except urllib.error.URLError as exc:
        print(f"mimamori: the alerts service is not reachable at {url}: {exc.reason}", file=sys.stderr)
    return None


def _call_answer(args: argparse.Namespace) -> int:
    """POST what Twilio would post when the called phone presses a key at the alert's menu."""
    config = config_from(args)
    message = _newest(config, ContactChannel.VOICE, args.phone)
    if message is None:
        print(f"mimamori: no call to {args.phone} in the state", file=sys.stderr)
        return 1
    signed, local = _urls(config, f"/twilio/voice/gather?m={message.id}")
    form = {
        "CallSid": message.provider_sid or "CA" + uuid.uuid4().hex,
        "AccountSid": "ACmimamori-local",
        "From": config.twilio.voice_from_number or config.twilio.from_number,
        "To": args.phone,
        "Digits": args.digits,
        "CallStatus": "in-progress",
    }
    signature = RequestValidator(webhook_token(config)).compute_signature(signed, form)
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    answer = _post(local, urllib.parse.urlencode(form).encode(), headers)
    if answer is None:
        return 1
    said = " ".join(html.unescape(t) for t in re.findall(r"<Say[^>]*>(.*?)</Say>", answer[1]))
    print(f"sent: HTTP {answer[0]}; the call says: {said}")
    return 0


def _line_answer(args: argparse.Namespace) -> int:
    """POST what LINE would post when the user taps a button (postback) or sends a text, signed."""
    config = config_from(args)
    event: dict[str, object] = {
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": args.user},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
    }
    if args.text is not None:
        event |= {
            "type": "message",
            "message": {"type": "text", "id": "1", "text": args.text, "quoteToken": "q"},
        }
    else:
        data = WORDS.get(args.data, args.data)
        alert = _newest(config, ContactChannel.LINE, args.user)
        if alert is not None and alert.incident and data in WORDS.values():
            data = f"{reply_code(alert.incident)} {data}"  # as the alert's own button carries it
        event |= {"type": "postback", "postback": {"data": data}}
    body = json.dumps({"destination": "Umimamori-local", "events": [event]}, ensure_ascii=False).encode()
    digest = hmac.new(line_secret(config).encode(), body, hashlib.sha256).digest()
    _, local = _urls(config, "/line/webhook")
    headers = {"X-Line-Signature": base64.b64encode(digest).decode(), "Content-Type": "application/json"}
    answer = _post(local, body, headers)
    if answer is None:
        return 1
    print(f"sent: HTTP {answer[0]}")
    return 0


def _line_code(args: argparse.Namespace) -> int:
    config = config_from(args)
    repo = open_existing(config)
    if repo is None:
        return 1
    try:
        if repo.contact(args.contact) is None:
            print(f"mimamori: no contact {args.contact}", file=sys.stderr)
            return 1
        code = new_code(repo, args.contact, SystemClock().now(), config.line.link_code_hours)
    finally:
        repo.close()
    print(f"{code}  (send it to the LINE official account within {config.line.link_code_hours} h)")
    return 0
