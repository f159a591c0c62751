"""``mimamori alerts``, ``outbox``, ``sms-reply``: escalation from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from twilio.request_validator import RequestValidator

from detection.live import build_live_detector
from escalation import answer_cli, records_cli
from escalation.commands import NOTE_MAX, STAFF_OUTCOMES, StaffCommands, operators
from escalation.disaster import cli as disaster_cli
from escalation.models import Incident, IncidentState, Outcome, SmsPurpose
from escalation.repository import EscalationRepository
from escalation.service import AlertsService, webhook_token
from escalation.state_file import open_existing
from mimamori.clock import Clock, FileClock, SystemClock
from mimamori.commands import Subcommands, add_config_argument, config_from
from mimamori.config import Config
from mimamori.sqlite import opt_db_time, to_db_time
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

    answer_cli.register(sub)
    records_cli.register(sub)
    disaster_cli.register(sub)

    outbox = sub.add_parser("outbox", help="list the messages of every channel (sent, queued, stored)")
    outbox.add_argument("--json", action="store_true", help="a JSON list: to, body, status, created_at, ...")
    outbox.add_argument("--limit", type=int, default=100)
    add_config_argument(outbox)
    outbox.set_defaults(func=_outbox)

    incidents = sub.add_parser("incidents", help="list incidents, newest first")
    incidents.add_argument("--open", action="store_true", help="only the open ones")
    incidents.add_argument(
        "--json",
        action="store_true",
        help="a JSON list: id, household, kind, state, claimed_by, outcome, ...",
    )
    incidents.add_argument("--limit", type=int, default=200)
    add_config_argument(incidents)
    incidents.set_defaults(func=_incidents)

    incident = sub.add_parser("incident", help="act on one incident as staff")
    actions = incident.add_subparsers(dest="action", required=True, metavar="ACTION")
    resolve = actions.add_parser("resolve", help="close an incident with an outcome (audited)")
    resolve.add_argument("id", help="the incident id (see `mimamori incidents`)")
    resolve.add_argument("--outcome", required=True, choices=[o.value for o in STAFF_OUTCOMES])
    resolve.add_argument("--note", default="", help=f"what happened (at most {NOTE_MAX} characters)")
    resolve.add_argument("--by", default="", help="who closes it, for the audit (default: the OS user)")
    add_config_argument(resolve)
    resolve.set_defaults(func=_resolve)


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
        messages = [  # the watchdog's drill messages are never sent: not part of the outbox
            m for m in repo.sms_messages(limit=args.limit) if m.purpose is not SmsPurpose.DRILL_DRY_RUN
        ]
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
                "channel": m.channel.value,
            }
            for m in messages
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not messages:
        print("nothing here yet: no SMS has been sent", file=sys.stderr)
    for m in messages:
        print(f"{to_db_time(m.created_at)}  {m.channel.value:<5} {m.status.value:<11} {m.to:<16} {m.body}")
    return 0


def incident_row(i: Incident) -> dict[str, str | None]:
    """One incident as `incidents --json` lists it (times ISO 8601 UTC)."""
    return {
        "id": i.id,
        "household": i.household,
        "kind": i.kind.value,
        "state": i.state.value,
        "claimed_by": i.claimed_by,
        "outcome": i.outcome.value if i.outcome else None,
        "opened_at": to_db_time(i.opened_at),
        "resolved_at": opt_db_time(i.resolved_at),
        "resolved_by": i.resolved_by,
        "note": i.note,
        "device": i.device,
        "superseded_by": i.superseded_by,
    }


def _incidents(args: argparse.Namespace) -> int:
    repo = open_existing(config_from(args))
    if repo is None:
        if args.json:
            print("[]")
        return 0
    try:
        found = repo.incidents(open_only=args.open, limit=args.limit)
        zones = {i.household: _zone(repo, i.household, config_from(args).time_zone) for i in found}
    finally:
        repo.close()
    if args.json:
        print(json.dumps([incident_row(i) for i in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("no open incidents" if args.open else "no incidents")
    else:
        print(
            _ROW.format(
                "id", "household", "kind", "state", "claimed_by", "outcome", "opened / closed (local)"
            )
        )
    for i in found:
        outcome = i.outcome.value if i.outcome else "-"
        zone = zones[i.household]
        when = f"{_local(i.opened_at, zone)} / {_local(i.resolved_at, zone)}"
        print(_ROW.format(i.id, i.household, i.kind.value, i.state.value, i.claimed_by or "-", outcome, when))
    return 0


_ROW = "{:<13} {:<14} {:<15} {:<10} {:<12} {:<18} {}"


def _zone(repo: EscalationRepository, household: str, default: str) -> ZoneInfo:
    """The household's time zone (for display; everything stored is UTC)."""
    h = repo.household(household)
    return ZoneInfo(h.time_zone if h else default)


def _local(at: datetime | None, zone: ZoneInfo) -> str:
    return "-" if at is None else at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _resolve(args: argparse.Namespace) -> int:
    config = config_from(args)
    repo = open_existing(config_from(args))
    if repo is None:
        return 1
    actor = f"cli:{args.by or os.environ.get('USER') or 'operator'}"
    try:
        closed = StaffCommands(repo, operators(config), config.time_zone).close(
            args.id, Outcome(args.outcome), args.note, actor, clock_for(config).now()
        )
    finally:
        repo.close()
    if closed.incident is None:
        print(f"mimamori: no incident {args.id} (see `mimamori incidents`)", file=sys.stderr)
        return 1
    i = closed.incident
    if closed.refused == "closed":
        print(f"mimamori: incident {i.id} is already closed ({i.outcome})", file=sys.stderr)
        return 1
    if closed.refused:
        print(f"mimamori: incident {i.id} not closed: {closed.refused}", file=sys.stderr)
        return 1
    assert i.state is IncidentState.RESOLVED
    print(f"closed {i.id} as {i.outcome}; the people already texted are told")
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
