"""The alerts process: detector tick, incidents, escalation, SMS dispatch, webhooks and links.

``AlertsService`` owns every task and client; the constructor does no I/O, ``start`` opens the state,
rebuilds the schedule from persisted due steps and binds the web server, ``stop`` undoes it all.
The detector is a port (:class:`FindingSource`): plugged in when detection provides one.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from aiohttp import web

from detection.climate import climate_tuning_from
from detection.climate_live import calm_kinds
from detection.findings import CLIMATE_KINDS, Finding
from detection.rooms import RoomMap
from escalation.digest_job import DailyDigests, DigestSettings
from escalation.disaster.checks import DisasterChecks
from escalation.disaster.link_page import DisasterPage, add_routes
from escalation.disaster.models import DisasterSettings
from escalation.drills import ChainDrills, DrillSettings
from escalation.engine import EscalationEngine
from escalation.engine_settings import EngineSettings
from escalation.health import Health, assess
from escalation.line.events import LineEvents
from escalation.line.messages import alert_buttons
from escalation.mail.notifier import MailNotifier
from escalation.mail.smtp_sender import SmtpSender
from escalation.models import SmsMessage, SmsPurpose, SnapshotContact
from escalation.notifier import Notifier
from escalation.records import points_rule
from escalation.replies import ReplyDesk
from escalation.repository import EscalationRepository
from escalation.scheduling import EscalationScheduler
from escalation.sms.dispatch import DispatchSettings, SmsDispatcher
from escalation.sms.notifier import SmsNotifier
from escalation.sms.outbox_sender import OutboxNotifier, OutboxSender
from escalation.sms.port import SmsSender
from escalation.sms.twilio_sender import TwilioSender
from escalation.voice_twilio import TwilioVoiceNotifier
from escalation.volunteer_sms import VolunteerCommands
from escalation.webhooks import WebhookContext, build_app
from mimamori.clock import Clock
from mimamori.config import Config
from mimamori.heartbeat import beat, drill_beat_path
from registry.models import ContactChannel, ContactRole, Language
from store.base import ActivityReader, ClimateReader

log = logging.getLogger(__name__)

CLIMATE_FRESH = timedelta(minutes=30)
"""A heat or cold incident closes when the readings of this long say its rooms are safe again."""
DRILL_CHECK_S = 600.0
"""How often the drills are looked at (start a due run, settle the unanswered)."""
# A line per job run and a dozen per Twilio request (headers included) are noise at INFO.
logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
logging.getLogger("twilio").setLevel(logging.WARNING)


class FindingSource(Protocol):
    """The detector (``detection.live.LiveDetector``). Asking for the next tick acknowledges the
    findings the previous one returned; after a restart, unacknowledged findings come again (opening an
    incident is idempotent per episode)."""

    def tick(self, now: datetime) -> Sequence[Finding]:
        """Evaluate every household at ``now``; the findings to act on."""
        ...

    def climate_tick(self, now: datetime) -> Sequence[Finding]:
        """The climate pass at ``now``, after the tick (its own budget); acknowledged like :meth:`tick`."""
        ...

    def last_activity_at(self, household: str) -> datetime | None:
        """The newest activity of ``household`` the detector has seen (the watchdog's drill)."""
        ...


def local_secret(config: Config, name: str) -> str:
    """A secret this installation generated for itself (kept in ``data_dir``, mode 0600)."""
    path = config.data_dir / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def webhook_token(config: Config) -> str:
    """The key webhooks are signed with: Twilio's auth token, or a local one for the outbox."""
    token = config.secrets.twilio_auth_token
    if config.alerts.sms_backend == "twilio" and token is not None:
        return token.get_secret_value()
    return local_secret(config, "webhook-token")


def link_secret(config: Config) -> bytes:
    secret = config.secrets.link_secret
    return (secret.get_secret_value() if secret else local_secret(config, "link-secret")).encode()


def build_sender(config: Config) -> SmsSender:
    if config.alerts.sms_backend == "outbox":
        return OutboxSender()
    sid, token = config.secrets.twilio_account_sid, config.secrets.twilio_auth_token
    if sid is None or token is None:
        raise SystemExit("mimamori: sms_backend = 'twilio' needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    t = config.twilio
    return TwilioSender(
        sid.get_secret_value(),
        token.get_secret_value(),
        from_number=t.from_number,
        messaging_service_sid=t.messaging_service_sid,
        base_url=t.api_base_url,
        timeout_s=t.timeout_s,
    )


def line_secret(config: Config) -> str:
    """The key LINE webhooks are signed with: the channel secret, or a local one for the outbox."""
    secret = config.secrets.line_channel_secret
    if config.line.enabled and secret is not None:
        return secret.get_secret_value()
    return local_secret(config, "line-secret")


def build_notifiers(
    config: Config, public_url: str, repo: EscalationRepository, sms: SmsSender | None = None
) -> list[Notifier]:
    """Every configured channel's adapter. A channel whose provider is not set up goes to the outbox in
    the demo (``sms_backend = "outbox"``) and is left out otherwise (contacts fall back to SMS)."""
    a = config.alerts
    wanted = {ContactChannel(c) for c in a.channels}
    outbox = a.sms_backend == "outbox"
    callback = None if outbox else f"{public_url}/twilio/status"
    notifiers: list[Notifier] = [SmsNotifier(sms or build_sender(config), callback)]
    if ContactChannel.VOICE in wanted:
        notifiers.append(OutboxNotifier(ContactChannel.VOICE) if outbox else _voice(config, public_url))
    if ContactChannel.LINE in wanted and config.line.enabled:
        token = config.secrets.line_channel_access_token
        if token is None or config.secrets.line_channel_secret is None:
            raise SystemExit(
                "mimamori: [line] enabled needs LINE_CHANNEL_ACCESS_TOKEN and LINE_CHANNEL_SECRET"
            )
        from escalation.line.notifier import LineNotifier  # the LINE SDK takes ~1 s to import: only when used

        notifiers.append(
            LineNotifier(
                token.get_secret_value(),
                buttons=lambda m: alert_buttons(m, repo.contact(m.contact or "")),
                language=lambda m: _language(repo, m.contact),
                base_url=config.line.api_base_url,
                timeout_s=config.line.timeout_s,
            )
        )
    elif ContactChannel.LINE in wanted and outbox:
        notifiers.append(OutboxNotifier(ContactChannel.LINE))
    if ContactChannel.EMAIL in wanted and config.email.enabled:
        password = config.secrets.smtp_password
        secret = password.get_secret_value() if password else None
        notifiers.append(MailNotifier(SmtpSender(config.email, secret)))
    elif ContactChannel.EMAIL in wanted and outbox:
        notifiers.append(OutboxNotifier(ContactChannel.EMAIL))
    return notifiers


def _voice(config: Config, public_url: str) -> TwilioVoiceNotifier:
    sid, token, t = config.secrets.twilio_account_sid, config.secrets.twilio_auth_token, config.twilio
    if sid is None or token is None:
        raise SystemExit("mimamori: voice calls need TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    return TwilioVoiceNotifier(
        sid.get_secret_value(),
        token.get_secret_value(),
        from_number=t.voice_from_number or t.from_number,
        public_url=public_url,
        base_url=t.api_base_url,
        timeout_s=t.timeout_s,
        ring_timeout_s=t.ring_timeout_s,
    )


def _language(repo: EscalationRepository, contact_id: str | None) -> Language:
    contact = repo.contact(contact_id) if contact_id else None
    return contact.language if contact else Language.JA


class AlertsService:
    def __init__(
        self,
        config: Config,
        clock: Clock,
        *,
        sender: SmsSender | None = None,
        detector: FindingSource | None = None,
        activity: ActivityReader | None = None,
    ) -> None:
        self._config = config
        self.clock = clock
        self._sender = sender
        self._detector = detector
        self._activity = activity
        self.repo = EscalationRepository(config.alerts.state_path)
        self.ready = asyncio.Event()
        self.port = 0
        self.public_url = config.alerts.public_url
        self._runner: web.AppRunner | None = None
        self._engine: EscalationEngine | None = None
        self._dispatcher: SmsDispatcher | None = None
        self._scheduler: EscalationScheduler | None = None
        self.webhooks: WebhookContext | None = None
        self.desk: ReplyDesk | None = None
        self.last_tick_at: datetime | None = None
        self._drill_seen: datetime | None = None  # the drill reading last put through the SMS queue
        self.ticked = asyncio.Condition()  # notified after every completed detection tick (tests wait)
        self.started_at = clock.now()
        self.drills: ChainDrills | None = None
        self.disaster: DisasterChecks | None = None
        self.digests: DailyDigests | None = None
        self.digest_runs = 0  # completed runs of the digest job; ``digested`` is notified after each (tests)
        self.digested = asyncio.Condition()

    @property
    def engine(self) -> EscalationEngine:
        assert self._engine is not None, "service not started"
        return self._engine

    @property
    def dispatcher(self) -> SmsDispatcher:
        assert self._dispatcher is not None, "service not started"
        return self._dispatcher

    async def start(self) -> None:
        cfg = self._config
        cfg.alerts.require_operators()
        self.repo.open()
        secret = link_secret(cfg)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((cfg.alerts.http_host, cfg.alerts.http_port))
        self.port = sock.getsockname()[1]
        if not self.public_url:
            self.public_url = f"http://{cfg.alerts.http_host}:{self.port}"
        self._scheduler = EscalationScheduler(self.clock, self._run_incident, cfg.alerts.misfire_grace_s)
        notifiers = build_notifiers(cfg, self.public_url, self.repo, self._sender)
        language = Language(cfg.alerts.operator_language)
        operators = tuple(
            SnapshotContact(f"operator-{n}", "operator", phone, ContactRole.TECHNICAL, language)
            for n, phone in enumerate(cfg.alerts.operators, start=1)
        )
        self._engine = EscalationEngine(
            self.repo,
            EngineSettings(
                public_url=self.public_url,
                link_secret=secret,
                link_ttl=timedelta(hours=cfg.alerts.link_ttl_hours),
                operators=operators,
                blind_hold_minutes=cfg.alerts.blind_hold_minutes,
                mass_blind_threshold=cfg.alerts.mass_blind_threshold,
                time_zone=cfg.time_zone,
                channels=frozenset(n.channel for n in notifiers),
                receipts=frozenset(n.channel for n in notifiers if n.receipts),
            ),
            on_due=self._scheduler.due,
            on_queued=self._wake,
        )
        self._dispatcher = SmsDispatcher(
            self.repo,
            notifiers,
            self.clock,
            DispatchSettings(
                rate_per_s=cfg.twilio.rate_per_s,
                max_attempts=cfg.twilio.max_attempts,
                backoff_base_s=cfg.twilio.backoff_base_s,
                backoff_max_s=cfg.twilio.backoff_max_s,
                idle_check_s=cfg.alerts.sweep_s,
            ),
            self._send_failed,
        )
        self.desk = ReplyDesk(self._engine, self.repo)
        self.digests = DailyDigests(
            self.repo, self._engine, DigestSettings(cfg.alerts.digest_at), self._activity
        )
        if cfg.alerts.drill_every_days:
            self.drills = ChainDrills(
                self.repo,
                self._engine,
                DrillSettings(
                    every_days=cfg.alerts.drill_every_days,
                    answer_hours=cfg.alerts.drill_answer_hours,
                    summary_every_days=cfg.alerts.drill_summary_days,
                    time_zone=cfg.time_zone,
                ),
                operators,
            )
            self.desk.register(self.drills)
        self.desk.register(
            VolunteerCommands(self.repo, self._engine, points_rule(cfg.volunteers.points), cfg.time_zone)
        )
        d = cfg.disaster
        self.disaster = DisasterChecks(
            self.repo,
            self._engine,
            DisasterSettings(
                ignore_minutes=d.ignore_minutes,
                duration_hours=d.duration_hours,
                backlog_s=d.backlog_s,
                sms_rate_per_s=cfg.twilio.rate_per_s,
                volunteers_per_minute=d.volunteers_per_minute,
                link_ttl_hours=cfg.alerts.link_ttl_hours,
            ),
            self.public_url,
            secret,
            self._activity,
        )
        self.desk.register(self.disaster)
        self.webhooks = WebhookContext(
            engine=self._engine,
            desk=self.desk,
            repo=self.repo,
            clock=self.clock,
            auth_token=webhook_token(cfg),
            link_secret=secret,
            public_url=self.public_url,
            on_change=self._wake,
            health=self.health,
            line=LineEvents(self.repo, self.desk) if ContactChannel.LINE in self._engine.channels else None,
            line_secret=line_secret(cfg),
        )
        app = build_app(self.webhooks)
        add_routes(app, DisasterPage(self.disaster, self.clock, secret, self.webhooks.templates))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._scheduler.start()
        rebuilt = self._scheduler.rebuild(self.repo.due_incidents())
        self._scheduler.every("sweep", cfg.alerts.sweep_s, self._sweep)
        if self.drills is not None:
            self._scheduler.every("drills", DRILL_CHECK_S, self._drill)
        self._scheduler.every("disaster", cfg.disaster.check_s, self._disaster)
        self._scheduler.every("digests", cfg.alerts.sweep_s, self._digests)
        if self._detector is not None or self._activity is not None:
            self._scheduler.every("detector", cfg.alerts.tick_s, self._tick)
        await self._dispatcher.start()
        log.info("alerts.started port=%s public_url=%s rebuilt_jobs=%s", self.port, self.public_url, rebuilt)
        self.ready.set()

    async def stop(self) -> None:
        if self._scheduler is not None:
            await self._scheduler.stop()
        if self._dispatcher is not None:
            await self._dispatcher.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        self.repo.close()
        self.ready.clear()

    def _wake(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.wake()

    def _send_failed(self, message: SmsMessage, reason: str, now: datetime) -> None:
        self.engine.delivery.fall_back(message, reason, self.clock.now())

    async def _run_incident(self, incident_id: str) -> None:
        self.engine.advance(incident_id, self.clock.now())
        self._wake()

    async def _drill(self) -> None:
        assert self.drills is not None
        self.drills.tick(self.clock.now())
        self._wake()

    async def _disaster(self) -> None:
        assert self.disaster is not None
        self.disaster.tick(self.clock.now())
        self._wake()

    async def _digests(self) -> None:
        assert self.digests is not None
        if self.digests.run(self.clock.now()):
            self._wake()
        self.digest_runs += 1
        async with self.digested:
            self.digested.notify_all()

    async def _sweep(self) -> None:
        self.engine.process_due(self.clock.now())
        self.engine.delivery.check_overdue(self.clock.now())
        self._wake()

    async def _tick(self) -> None:
        now = self.clock.now()
        if self._detector is not None:
            for finding in self._detector.tick(now):
                self.engine.open_from_finding(finding, now)
            # The climate pass after the tick, timed and budgeted apart (docs/climate.md)
            for finding in self._detector.climate_tick(now):
                self.engine.open_from_finding(finding, now)
        if self._activity is not None:
            faulty = sorted(
                {i.household for i in self.repo.incidents(open_only=True, limit=100_000) if i.device}
            )
            devices = self._activity.devices_of(faulty) if faulty else {}
            self.engine.on_live_state(self._activity.household_activity(), now, devices)
            self._climate_calm(now)
        self._wake()
        if self._detector is not None:
            self.last_tick_at = self.clock.now()
            self._beat()
            async with self.ticked:
                self.ticked.notify_all()

    def health(self) -> Health:
        """Ages of the last tick (with a detector), the newest stored event and heartbeat (with a store)."""
        now = self.clock.now()
        seen: dict[str, datetime | None] = {}
        if self._detector is not None:
            seen["last_tick"] = self.last_tick_at
        if self._activity is not None:
            events = [a.last_event_at for a in self._activity.household_activity() if a.last_event_at]
            beats = [g.last_heartbeat_at for g in self._activity.gateways() if g.last_heartbeat_at]
            seen["last_event"] = max(events, default=None)
            seen["last_heartbeat"] = max(beats, default=None)
        w = self._config.watchdog
        limits = {
            "last_tick": w.detector_stale_s,
            "last_event": w.ingest_stall_s,
            "last_heartbeat": w.gateway_silence_s,
        }
        return assess(now, self.started_at, seen, limits)

    def _beat(self) -> None:
        """Tell the watchdog a tick completed (on the platform's clock, which the watchdog reads too)."""
        drill = self._config.watchdog.drill_household
        try:
            beat(self._config.alerts.heartbeat_path, self.clock.now())
            seen = None if not drill or self._detector is None else self._detector.last_activity_at(drill)
            if seen is not None:
                beat(drill_beat_path(self._config), seen)
                self._drill_dry_run(seen)
        except OSError as exc:
            log.warning(
                "detection.heartbeat_failed path=%s error=%s", self._config.alerts.heartbeat_path, exc
            )

    def _drill_dry_run(self, seen: datetime) -> None:
        """The drill's last stage: a message through the SMS queue and the dispatcher (never sent)."""
        if self._drill_seen is not None and seen <= self._drill_seen:
            return
        self._drill_seen = seen
        now = self.clock.now()
        self.repo.enqueue_sms(
            key=f"drill-dry-run:{seen.isoformat()}",
            to="dry-run",
            body="drill",
            purpose=SmsPurpose.DRILL_DRY_RUN,
            urgent=False,
            now=now,
        )
        self.repo.prune_dry_runs(now - timedelta(days=1))
        self._wake()

    def _climate_calm(self, now: datetime) -> None:
        """Close the heat and cold incidents whose rooms are safe again (by the store's newest readings)."""
        if not isinstance(self._activity, ClimateReader):
            return
        if not any(i.kind in CLIMATE_KINDS for i in self.repo.incidents(open_only=True, limit=100_000)):
            return
        readings = self._activity.climate_since(now - CLIMATE_FRESH)
        rooms = RoomMap(households=self.repo.all_device_rooms())
        self.engine.on_climate(calm_kinds(readings, rooms, climate_tuning_from(self._config.climate)), now)

    def open_from_findings(self, findings: Sequence[Finding]) -> None:
        now = self.clock.now()
        for finding in findings:
            self.engine.open_from_finding(finding, now)
        self._wake()
