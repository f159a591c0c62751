"""``mimamori alerts``, ``outbox``, ``sms-reply``: escalation from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

from twilio.request_validator import RequestValidator

from detection.live import build_live_detector
from escalation.repository import EscalationRepository
from escalation.service import AlertsService, webhook_token
from mimamori.clock import Clock, FileClock, SystemClock
from mimamori.commands import Subcommands, add_config_argument, config_from
from mimamori.config import Config
from mimamori.sqlite import to_db_time
from store.readers import open_reader


def register(sub: Subcommands) -> None:
    alerts = sub.add_parser("alerts", help="run detection ticks, incidents, escalation, SMS and webhooks")
    add_config_argument(alerts)
    alerts.set_defaults(func=lambda args: asyncio.run(run_alerts(config_from(args))))

    reply = sub.add_parser("sms-reply", help="answer an alert as a phone would (a signed webhook)")
    reply.add_argument("--from", dest="phone", required=True, help="the phone number answering, E.164")
    reply.add_argument("--text", required=True, help="the answer: 1, 2, 3, 119, 行きます, STOP, ...")
    add_config_argument(reply)
    reply.set_defaults(func=_sms_reply)

    outbox = sub.add_parser("outbox", help="list the SMS messages (sent, queued, or stored in the outbox)")
    outbox.add_argument("--json", action="store_true", help="a JSON list: to, body, status, created_at, ...")
    outbox.add_argument("--limit", type=int, default=100)
    add_config_argument(outbox)
    outbox.set_defaults(func=_outbox)


def _repo(args: argparse.Namespace) -> EscalationRepository:
    """The state file for a command that only reads: never created here. Without one there is nothing
    to show yet: says so (an empty list with ``--json``) and exits 0."""
    path = config_from(args).alerts.state_path
    if not path.exists():
        if getattr(args, "json", False):
            print("[]")
        print(
            f"nothing here yet: {path} does not exist (it appears once `mimamori alerts` or "
            "`mimamori demo` has run in this directory)",
            file=sys.stderr,
        )
        raise SystemExit(0)
    repo = EscalationRepository(path)
    repo.open()
    return repo


def _outbox(args: argparse.Namespace) -> int:
    repo = _repo(args)
    try:
        messages = repo.sms_messages(limit=args.limit)
    finally:
        repo.close()
    if args.json:
        rows = [
            {
                "id": m.id,
                "to": m.to,
                "body": m.body,
                "status": m.status.value,
                "purpose": m.purpose.value,
                "urgent": m.urgent,
                "incident": m.incident,
                "contact": m.contact,
                "created_at": to_db_time(m.created_at),
                "error_code": m.error_code,
            }
            for m in messages
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not messages:
        print("nothing here yet: no SMS has been sent", file=sys.stderr)
    for m in messages:
        print(f"{to_db_time(m.created_at)}  {m.status.value:<11} {m.to:<16} {m.body}")
    return 0


def clock_for(config: Config) -> Clock:
    return FileClock(config.alerts.clock_file) if config.alerts.clock_file else SystemClock()


async def run_alerts(config: Config) -> int:
    store = open_reader(config)  # SQLite or InfluxDB, as ingest writes (docs/detection.md)
    clock = clock_for(config)
    profiles_repo = EscalationRepository(config.alerts.state_path)
    profiles_repo.open()
    detector = build_live_detector(config, store, profiles_repo, clock)
    detector.open()
    service = AlertsService(config, clock, activity=store, detector=detector)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    try:
        await stop.wait()
    finally:
        await service.stop()
        detector.close()
        profiles_repo.close()
        store.close()
    return 0


def _sms_reply(args: argparse.Namespace) -> int:
    """POST what Twilio would post for an incoming SMS, signed with the service's webhook key."""
    config = config_from(args)
    a = config.alerts
    public = a.public_url or f"http://{a.http_host}:{a.http_port}"
    local = f"http://{a.http_host}:{a.http_port}/twilio/sms"
    form = {
        "From": args.phone,
        "To": config.twilio.from_number,
        "Body": args.text,
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "ACmimamori-local",
    }
    signature = RequestValidator(webhook_token(config)).compute_signature(
        f"{public.rstrip('/')}/twilio/sms", form
    )
    request = urllib.request.Request(
        local,
        data=urllib.parse.urlencode(form).encode(),
        headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            print(f"sent: HTTP {response.status}")
            return 0
    except urllib.error.HTTPError as exc:
        print(f"mimamori: the alerts service answered HTTP {exc.code}", file=sys.stderr)
    except urllib.error.URLError as exc:
        print(f"mimamori: the alerts service is not reachable at {local}: {exc.reason}", file=sys.stderr)
    return 1
