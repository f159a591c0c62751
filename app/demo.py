"""``mimamori demo``: the whole platform on embedded defaults, watching a simulated town in fast time.

One process runs a broker (mosquitto when installed, else the embedded one), ingest, every home's
gateway (each behind its own cuttable uplink), the alerts service with the SMS outbox, and the
dashboard. Every part reads one :class:`~mimamori.clock.ScaledClock`, so a simulated day passes in
minutes. Two weeks of history are backfilled into the store first (so baselines are learned), then
the homes live on from 06:00 on the demo's day (one fixed day, the same for every run, unless
``--date`` says otherwise): one resident falls at 09:40, and one home's internet is cut at
13:00 for two hours. The demo uses the default file locations, so ``mimamori outbox`` and
``mimamori sms-reply`` in another terminal in the same directory work on it without flags.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import secrets
import shutil
import signal
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from app.demo_console import DemoConsole
from app.demo_homes import publish_homes
from app.demo_report import announce_script, print_welcome, report
from app.demo_town import (
    DEMO_DAY,
    LINE_USER,
    LINE_VOLUNTEER,
    LIVE_FROM,
    OPERATOR_PHONE,
    OUTAGE,
    Town,
    add_demo_accounts,
    town_data,
    until,
)
from app.embedded_broker import DemoBroker, demo_broker
from app.watchdog.cli import build_watchdog
from app.watchdog.service import Watchdog
from dashboard.app import create_app
from dashboard.care_records import StateCareRecords
from dashboard.disaster_desk import DisasterDesk
from dashboard.second_factor import new_secret
from dashboard.states import PersistedStates
from dashboard.users import MIN_PASSWORD_LENGTH, UserStore
from detection.findings import Finding
from detection.live import LiveDetector, build_live_detector
from detection.model import tuning_from
from escalation.repository import EscalationRepository
from escalation.service import AlertsService
from firmware_sim.network import NetworkLink
from gateway.outbox import Outbox
from gateway.router import Router
from gateway.service import GatewayService, status_will
from ingest.service import IngestService
from mimamori.clock import ScaledClock
from mimamori.commands import Subcommands, add_config_argument, config_from
from mimamori.config import Config
from mimamori.mqtt import MqttClient, settings_for
from registry.households_import import import_data
from store.base import IngestBatch
from store.sqlite import SqliteEventStore

log = logging.getLogger(__name__)

MARKER = ".mimamori-demo"
HEARTBEAT = timedelta(minutes=5)  # simulated
DETECT_EVERY = timedelta(minutes=1)  # simulated: the detector's tick, whatever the speed
STOP_WITHIN_S = 2.5  # real seconds the parts get to stop after Ctrl-C


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "demo",
        help="the whole platform on embedded defaults, watching 20 simulated homes in fast time",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_argument(parser)
    parser.add_argument("--households", type=int, default=20, help="simulated homes (default 20)")
    parser.add_argument(
        "--speed",
        type=float,
        default=240.0,
        help="simulated seconds per real second (240: a day in 6 minutes)",
    )
    parser.add_argument(
        "--slow-to",
        type=float,
        default=20.0,
        help="once the first community incident opens, slow to this speed so you can answer it (0: never)",
    )
    parser.add_argument("--seed", type=int, default=7, help="the simulation seed")
    parser.add_argument(
        "--history-days", type=int, default=14, help="days of history backfilled before the demo's day"
    )
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        default=DEMO_DAY,
        help=f"the day to live (default {DEMO_DAY}: the tested day, the same for every run)",
    )
    parser.add_argument("--duration", type=float, default=None, help="stop after this many real seconds")
    parser.add_argument(
        "--hours", type=float, default=None, help="stop after this many simulated hours (24: the whole day)"
    )
    parser.add_argument("--host", default=None, help="the dashboard's address (setting dashboard.host)")
    parser.add_argument(
        "--port", type=int, default=None, help="the dashboard's port (setting dashboard.port)"
    )
    # The demo narrates itself on standard output; logs stay at WARNING unless --log-level says otherwise.
    parser.set_defaults(func=_run, quiet_log_level="WARNING")


def _run(args: argparse.Namespace) -> int:
    config = config_from(args)
    updates = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if updates:
        config = config.model_copy(update={"dashboard": config.dashboard.model_copy(update=updates)})
    return asyncio.run(run_demo(config, args))


def demo_config(config: Config, speed: float) -> Config:
    """The configuration the demo's parts run with: the detector ticks once a simulated minute at any
    speed (so a fast test day decides as a default run does), sweeps as often; an operator is always
    told."""
    tick_s = DETECT_EVERY.total_seconds() / speed
    operators = config.alerts.operators or [OPERATOR_PHONE]  # someone is always told
    alerts = config.alerts.model_copy(
        update={"tick_s": tick_s, "sweep_s": max(tick_s, 0.5), "operators": operators}
    )
    dashboard = config.dashboard.model_copy(
        update={"session_hours": 24 * 7.0, "idle_minutes": 24 * 7 * 60.0, "live_interval_s": 2.0}
    )
    # The watchdog judges on the demo's clock (simulated seconds) and looks every real second; in fast
    # time its limits last at least a few real seconds, so that a busy machine's late tick is no outage.
    # The demo's ingest serves no metrics and there is no drill household.
    w = config.watchdog
    watchdog = w.model_copy(
        update={
            "state_path": config.data_dir / "demo" / "watchdog.sqlite3",
            "check_s": 1.0,
            "hold_s": max(w.hold_s, 3 * speed),
            "gateway_silence_s": max(w.gateway_silence_s, 10 * speed),
            "detector_stale_s": max(w.detector_stale_s, 10 * speed),
            "ingest_metrics_urls": [],
            "metrics_port": None,
            "drill_household": "",
        }
    )
    disaster = config.disaster.model_copy(update={"check_s": max(tick_s, 0.5)})  # `disaster-check start`
    return config.model_copy(
        update={"alerts": alerts, "dashboard": dashboard, "watchdog": watchdog, "disaster": disaster}
    )


def demo_password() -> str:
    """``MIMAMORI_DEMO_PASSWORD``, checked before any work, or a fresh one."""
    password = os.environ.get("MIMAMORI_DEMO_PASSWORD")
    if password is None:
        return secrets.token_urlsafe(12)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SystemExit(
            f"mimamori demo: MIMAMORI_DEMO_PASSWORD must be at least {MIN_PASSWORD_LENGTH} characters "
            f"(it has {len(password)}); unset it to get a generated one"
        )
    return password


def check_ports(config: Config) -> None:
    """Fail at once, in one line naming the setting, when a port the demo serves on is taken."""
    for setting, host, port, flag in (
        ("dashboard.port", config.dashboard.host, config.dashboard.port, " or --port"),
        ("alerts.http_port", config.alerts.http_host, config.alerts.http_port, ""),
    ):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise SystemExit(port_error(setting, host, port, exc, flag)) from None


def port_error(setting: str, host: str, port: int, exc: OSError, flag: str = "") -> str:
    reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
    variable = "MIMAMORI__" + setting.upper().replace(".", "__")
    return f"mimamori: {host}:{port} {reason}; choose another with {variable}{flag} (setting {setting})"


def reset_demo_files(config: Config) -> Path:
    """Start from nothing, but only over files an earlier demo made (a marker file says so)."""
    data_dir = config.data_dir
    work = data_dir / "demo"
    files = [config.store.sqlite_path, config.alerts.state_path, config.dashboard.users_path]
    present = [p for p in files if p.exists()]
    if present and not (data_dir / MARKER).exists():
        raise SystemExit(
            f"mimamori demo: {', '.join(map(str, present))} exist and were not made by the demo; "
            "run it in another directory or with --config pointing elsewhere"
        )
    for path in files:
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (data_dir / MARKER).write_text("files here belong to `mimamori demo` and are reset by it\n")
    return work


def backfill(town: Town, store: SqliteEventStore, history_days: int, console: DemoConsole) -> int:
    """The homes' past days up to the live start, written to the store as ingest would have written
    them: the live day continues this history without a gap."""
    start = town.live_start - timedelta(days=history_days)
    stored = 0
    description = f"history: {history_days} days of {len(town.homes)} homes"
    for home in console.track(town.homes, len(town.homes), description):
        events = [e.envelope("gw-1", n) for n, e in enumerate(home.events_between(start, town.live_start))]
        for lo in range(0, len(events), 5000):
            batch = IngestBatch(received_at=town.live_start, events=events[lo : lo + 5000])
            stored += store.commit_batch(batch).stored
    return stored


def set_history_aside(detector: LiveDetector, now: datetime) -> list[Finding]:
    """Let the detector learn every home and judge the history once, before the day starts.

    Whatever the history alone already shows at the live start (a night that was longer than usual,
    a slow decline over the past weeks, a sensor stuck since yesterday) is recorded in the episode log
    as seen, so the day does not open with yesterday's findings as if they were news; the findings
    are returned to be printed.
    """
    found = detector.tick(now)
    while any(not st.learned for st in detector.engine.states().values()):
        found += detector.tick(now)  # each tick relearns within its time budget
    for _ in range(detector.settings.sweep_ticks):  # a round of the sweep: every home's devices
        found += detector.tick(now)
    found += detector.climate_tick(now)
    detector.ack(found)
    return found


@dataclass
class Running:
    """Everything the demo started, stopped together."""

    clients: list[MqttClient] = field(default_factory=list)
    links: dict[str, NetworkLink] = field(default_factory=dict)
    outboxes: list[Outbox] = field(default_factory=list)

    async def stop(self) -> None:
        """Every client disconnects at once (each a second at most), then the uplinks and outboxes."""
        await asyncio.gather(
            *(mqtt.stop(flush_timeout_s=1.0) for mqtt in self.clients), return_exceptions=True
        )
        await asyncio.gather(*(link.stop() for link in self.links.values()), return_exceptions=True)
        for outbox in self.outboxes:
            outbox.close()


async def run_demo(config_in: Config, args: argparse.Namespace) -> int:
    config = demo_config(config_in, args.speed)
    password = demo_password()
    check_ports(config)
    work = reset_demo_files(config)
    console = DemoConsole()
    town = Town.build(args.households, args.seed, args.history_days, config.time_zone, args.date)
    clock = ScaledClock(town.live_start, args.speed, running=False)  # runs once everything is up

    store = SqliteEventStore(config.store.sqlite_path)
    store.open()
    console.say(f"history: {backfill(town, store, args.history_days, console)} events")
    admin_key = new_secret()
    register_town(config, town, password, admin_key, clock.now())
    repo = EscalationRepository(config.alerts.state_path)
    repo.open()
    detector = build_live_detector(config, store, repo, clock)
    detector.open()
    for finding in set_history_aside(detector, clock.now()):
        console.say(
            f"history: {finding.household} {finding.kind} already showed before {LIVE_FROM:%H:%M}; "
            "left as history (the day starts clean)"
        )

    broker = demo_broker(work / "broker")
    await broker.start()
    running = Running()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    alerts: AlertsService | None = None
    watchdog: Watchdog | None = None
    dashboard: web.AppRunner | None = None
    try:
        async with asyncio.TaskGroup() as tasks:
            ingest = await start_ingest(config, broker, store, clock, running, tasks)
            await start_gateways(broker, town, work, clock, running, tasks)
            alerts = AlertsService(config, clock, detector=detector, activity=store)
            await alerts.start()
            watchdog = build_watchdog(config, clock)  # kill the broker: the operator is texted
            await watchdog.start()
            dashboard, url = await start_dashboard(config, store, clock)
            sim = await _client(broker, running, "demo-sim")  # every client is connected before the welcome
            print_welcome(console, url, alerts.public_url, password, admin_key, town, broker)
            clock.resume()
            tasks.create_task(publish_homes(sim, town, clock, store, ingest, running.links))
            tasks.create_task(announce_script(town, clock, console))
            tasks.create_task(cut_uplink(town, clock, running))
            tasks.create_task(report(store, repo, ingest, clock, town, args.slow_to, admin_key, console))
            if args.duration is not None:
                tasks.create_task(_stop_after(args.duration, stop))
            if args.hours is not None:
                tasks.create_task(_stop_at(clock, town.live_start + timedelta(hours=args.hours), stop))
            await stop.wait()
            raise _Stop
    except* _Stop:
        pass
    finally:
        console.close()
        console.say("stopping ...")
        try:
            async with asyncio.timeout(STOP_WITHIN_S):
                await _stop_all(dashboard, alerts, watchdog, running)
        except TimeoutError:
            log.warning("demo.stop_slow within_s=%s", STOP_WITHIN_S)  # the rest still closes below
        await broker.stop()
        detector.close()
        repo.close()
        store.close()
    return 0


async def _stop_all(
    dashboard: web.AppRunner | None, alerts: AlertsService | None, watchdog: Watchdog | None, running: Running
) -> None:
    await asyncio.gather(
        *(
            part.cleanup() if isinstance(part, web.AppRunner) else part.stop()
            for part in (dashboard, alerts, watchdog)
            if part
        ),
        return_exceptions=True,
    )
    await running.stop()


class _Stop(Exception):
    """Raised inside the task group to end the demo."""


async def _stop_after(seconds: float, stop: asyncio.Event) -> None:
    await asyncio.sleep(seconds)  # the demo's own duration, not synchronisation
    stop.set()


async def _stop_at(clock: ScaledClock, at: datetime, stop: asyncio.Event) -> None:
    await until(clock, at)
    stop.set()


def register_town(config: Config, town: Town, password: str, admin_key: str, now: datetime) -> None:
    repo = EscalationRepository(config.alerts.state_path)
    repo.open()
    try:
        blind_evenings = [home.household for home in town.homes if not home.kit.sees_evening]
        imported = import_data(repo, town_data(town.households, config.time_zone, blind_evenings), now)
        repo.set_line_user(LINE_VOLUNTEER, LINE_USER)  # as if they had sent `mimamori line-code`'s code
        for household in town.households:  # residents on no tier are linked to their home by hand
            if repo.contact(f"r-{household}") is not None:
                repo.link_contact(household, f"r-{household}")
    finally:
        repo.close()
    if imported.rejected:
        raise SystemExit(f"mimamori demo: the demo town did not import: {imported.rejected}")
    users = UserStore(config.dashboard.users_path)
    users.open()
    try:
        add_demo_accounts(users, town.households, password, admin_key, now)
    finally:
        users.close()


async def _client(
    broker: DemoBroker, running: Running, client_id: str, port: int | None = None, **options: Any
) -> MqttClient:
    mqtt = MqttClient(settings_for("127.0.0.1", port or broker.port, client_id, **options))
    await mqtt.start()
    running.clients.append(mqtt)
    return mqtt


async def start_ingest(
    config: Config,
    broker: DemoBroker,
    store: SqliteEventStore,
    clock: ScaledClock,
    running: Running,
    tasks: asyncio.TaskGroup,
) -> IngestService:
    mqtt = await _client(
        broker, running, "demo-ingest", clean_start=False, session_expiry_s=3600, manual_ack=True
    )
    group = config.ingest.share_group if broker.supports_shared_subscriptions else ""
    ingest = IngestService(mqtt, store, clock, group, config.ingest.batch_size)
    tasks.create_task(ingest.run())
    await ingest.ready.wait()
    return ingest


async def start_gateways(
    broker: DemoBroker,
    town: Town,
    work: Path,
    clock: ScaledClock,
    running: Running,
    tasks: asyncio.TaskGroup,
) -> None:
    """One gateway per home, reading the home's local topics, publishing through the home's uplink."""
    heartbeat = timedelta(seconds=clock.real_seconds(HEARTBEAT))
    for home in town.homes:
        household = home.household
        link = NetworkLink("127.0.0.1", broker.port)
        await link.start()
        running.links[household] = link
        outbox = Outbox(work / "gateways" / f"{household}.sqlite3")
        outbox.open()
        running.outboxes.append(outbox)
        gateway = GatewayService(
            household=household,
            gateway="gw-1",
            local=await _client(
                broker,
                running,
                f"demo-local-{household}",
                clean_start=False,
                session_expiry_s=3600,
                manual_ack=True,
            ),
            router=Router(devices_by_id={}, zone=home.zone, root=f"sim/{household}"),
            upstream=await _client(
                broker,
                running,
                f"demo-gw-{household}",
                port=link.port,
                keepalive_s=10,
                will=status_will(household, "gw-1", clock),
                reconnect_max_s=2,
            ),
            outbox=outbox,
            clock=clock,
            heartbeat=heartbeat,
        )
        tasks.create_task(gateway.run())
        await gateway.ready.wait()


async def cut_uplink(town: Town, clock: ScaledClock, running: Running) -> None:
    """The outage home loses its internet at 13:00 for two simulated hours."""
    link = running.links[town.outage_home]
    for at, action in ((town.outage_at, link.cut), (town.outage_at + OUTAGE, link.restore)):
        await until(clock, at)
        action()


async def start_dashboard(
    config: Config, store: SqliteEventStore, clock: ScaledClock
) -> tuple[web.AppRunner, str]:
    users = UserStore(config.dashboard.users_path)
    users.open()
    repo = EscalationRepository(config.alerts.state_path)
    repo.open()
    app = create_app(
        config.dashboard,
        users=users,
        activity=store,
        records=StateCareRecords(repo),
        classify=PersistedStates(repo, tuning_from(config.detection)),
        clock=clock,
        disasters=DisasterDesk(repo),
    )

    async def close_stores(_app: web.Application) -> AsyncIterator[None]:
        yield
        repo.close()
        users.close()

    app.cleanup_ctx.append(close_stores)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = config.dashboard.host, config.dashboard.port
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise SystemExit(port_error("dashboard.port", host, port, exc, " or --port")) from None
    port = runner.addresses[0][1]
    return runner, f"http://{host}:{port}"
