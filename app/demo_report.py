"""What the demo tells the person watching it: the banner, each scripted event as it happens, every
incident change and SMS, and the status line (:class:`~app.demo_console.DemoConsole` draws them)."""

from __future__ import annotations

import asyncio
import time

from app.demo_console import DemoConsole
from app.demo_town import DEMO_USERS, LIVE_FROM, Town, local_stamp, until
from app.embedded_broker import DemoBroker
from dashboard.second_factor import current_code
from escalation.disaster.records import DisasterRecords
from escalation.models import IncidentState
from escalation.repository import EscalationRepository
from ingest.service import IngestService
from mimamori.clock import ScaledClock
from store.sqlite import SqliteEventStore


def print_welcome(
    console: DemoConsole,
    url: str,
    alerts_url: str,
    password: str,
    admin_key: str,
    town: Town,
    broker: DemoBroker,
) -> None:
    lines = [
        f"broker: {'mosquitto' if broker.supports_shared_subscriptions else 'embedded (pure Python)'}"
        f" on 127.0.0.1:{broker.port}",
        f"dashboard: {url}",
        f"sign in: {', '.join(DEMO_USERS)} (care1 and care2 each look after half of the homes)",
        f"password: {password}",
        f"admin also gives a second factor: add the key {admin_key} to an authenticator app, or type the"
        " 'admin code' shown in the status line (it changes every 30 s)",
        f"alerts webhooks and one-tap links: {alerts_url}",
        "the town:",
        *town.community(),
        f"the day: {town.live_start:%a %Y-%m-%d}, from {LIVE_FROM:%H:%M} ({town.zone.key}):",
        *(f"  {local_stamp(at, town.zone)[-5:]}  {text}" for at, text in town.script()),
        "try, in another terminal here:  mimamori outbox   then   mimamori sms-reply --from NUMBER --text 1",
        "an earthquake drill (安否確認):  mimamori disaster-check start   then   disaster-check status",
    ]
    for line in lines:
        console.say(line)


def status_line(
    stamp: str, speed: float, events: int, rejected: int, open_count: int, sms: int, admin_code: str
) -> str:
    return (
        f"[{stamp}] {speed:g}x | events {events} (rejected {rejected}) | open incidents {open_count}"
        f" | sms {sms} | admin code {admin_code}"
    )


async def report(
    store: SqliteEventStore,
    repo: EscalationRepository,
    ingest: IngestService,
    clock: ScaledClock,
    town: Town,
    slow_to: float,
    admin_key: str,
    console: DemoConsole,
) -> None:
    """A line for every incident change and SMS, and the status line, so a person can follow along."""
    seen_incidents: dict[str, IncidentState] = {}
    seen_sms: set[int] = set()
    checks = DisasterRecords(repo)
    seen_check: str | None = None
    slowed = False
    while True:
        stamp = local_stamp(clock.now(), town.zone)
        for incident in reversed(repo.incidents(limit=200)):
            if seen_incidents.get(incident.id) != incident.state:
                seen_incidents[incident.id] = incident.state
                console.say(f"[{stamp}] incident {incident.household} {incident.kind}: {incident.state}")
                if not slowed and slow_to and incident.audience == "community" and clock.speed > slow_to:
                    clock.set_speed(slow_to)
                    slowed = True
                    console.say(f"[{stamp}] simulated time slows to {slow_to:g}x so you can answer")
        for sms in repo.sms_messages(limit=200):
            if sms.id not in seen_sms:
                seen_sms.add(sms.id)
                first, *more = sms.body.splitlines()  # an e-mail: its first line
                extra = f" (+{len(more)} lines)" if more else ""
                console.say(f"[{stamp}] {sms.channel} to {sms.to}: {first}{extra}")
        line = check_line(checks)
        if line is not None and line != seen_check:
            seen_check = line
            console.say(f"[{stamp}] {line}")
        open_count = sum(1 for state in seen_incidents.values() if state != IncidentState.RESOLVED)
        rejected = sum(ingest.counters.rejected.values())
        code = current_code(admin_key, time.time())  # wall time, as an authenticator app
        console.status(
            status_line(stamp, clock.speed, store.count_events(), rejected, open_count, len(seen_sms), code)
        )
        await asyncio.sleep(1.0)  # the demo's refresh period, not synchronisation


def check_line(checks: DisasterRecords) -> str | None:
    """The latest disaster check in one line (None: none started)."""
    check = checks.latest()
    if check is None or check.started_at is None:
        return None
    homes = checks.households(check.id)
    safe = sum(1 for h in homes if h.safe_at is not None)
    state = "ended" if check.ended_at else "running"
    return f"disaster check {check.id} {state}: {safe} of {len(homes)} safe"


async def announce_script(town: Town, clock: ScaledClock, console: DemoConsole) -> None:
    """Each scripted event, in the console as it happens."""
    for at, text in town.script():
        await until(clock, at)
        console.say(f"[{local_stamp(at, town.zone)}] {text}")
