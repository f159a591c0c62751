"""The watchdog process: read every part, follow outages, tell the operators once, and once again when
it is over. Its own process (``mimamori watchdog``), so that the alerts process dying is noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import aiohttp
from aiohttp import web

from app.watchdog import texts
from app.watchdog.drill import Drill
from app.watchdog.journal import Journal
from app.watchdog.metrics import WatchdogMetrics
from app.watchdog.outage import Notice, NoticeKind, Part, Route, assess
from app.watchdog.probes import Probes
from detection.findings import FindingKind
from escalation.mail.port import Mail, MailError, MailSender
from escalation.models import PLATFORM, SmsPurpose
from escalation.repository import EscalationRepository
from escalation.sms.port import SmsError, SmsSender
from mimamori.clock import Clock
from mimamori.config import Config
from mimamori.sqlite import DatabaseError

log = logging.getLogger(__name__)


class Watchdog:
    """Constructors do no I/O; :meth:`start` opens the journal and the senders, :meth:`stop` closes them."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        sms: SmsSender,
        mail: MailSender | None,
        probes: Probes,
        metrics: WatchdogMetrics,
    ) -> None:
        self._config = config
        self._clock = clock
        self._sms = sms
        self._mail = mail
        self._probes = probes
        self.metrics = metrics
        self._runner: web.AppRunner | None = None
        self._journal = Journal(config.watchdog.state_path)
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self.checked = asyncio.Condition()  # notified after every check (tests wait on it)
        self.checks = 0
        self.folded = 0  # notices told by the alerts service's platform incident instead

    @property
    def drill(self) -> Drill | None:
        return self._probes.drill

    async def start(self) -> None:
        self._journal.open()
        self._session = aiohttp.ClientSession()
        await self._sms.start()
        if self._probes.drill is not None:
            await self._probes.drill.start()
        if self._mail is not None:
            await self._mail.start()
        await self._serve_metrics()
        self._task = asyncio.create_task(self._run(), name="watchdog")
        log.info(
            "watchdog.started operators=%s emails=%s",
            len(self._config.alerts.operators),
            len(self._config.watchdog.operator_emails),
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
        self._probes.close()
        if self._probes.drill is not None:
            await self._probes.drill.stop()
        await self._sms.stop()
        if self._mail is not None:
            await self._mail.stop()
        self._journal.close()

    async def _serve_metrics(self) -> None:
        w = self._config.watchdog
        if w.metrics_port is None:
            return

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=self.metrics.render(), content_type="text/plain", charset="utf-8")

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, w.metrics_host, w.metrics_port).start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise SystemExit(
                f"mimamori: watchdog metrics port {w.metrics_port} is busy ({exc.strerror}): "
                "set [watchdog] metrics_port"
            ) from None
        log.info("watchdog.metrics_listening host=%s port=%s", w.metrics_host, w.metrics_port)

    async def _run(self) -> None:
        while True:
            try:  # nothing but stop() may end the watching
                await self.check()
            except Exception:
                log.exception("watchdog.check_crashed")
            await asyncio.sleep(self._config.watchdog.check_s)

    async def check(self) -> list[Notice]:
        """Read every part once, follow the outages, send what is owed; the notices this check raised."""
        assert self._session is not None, "start() first"
        now = self._clock.now()
        readings = await self._probes.read(self._session, now)
        hold = timedelta(seconds=self._config.watchdog.hold_s)
        outages, notices = assess(self._journal.outages(), readings, now, hold)
        self._journal.save(outages, notices)
        for route in Route:
            self.metrics.outage.labels(route.value).set(1 if route in outages else 0)
        self.metrics.checks.inc()
        for notice in notices:
            log.warning(
                "watchdog.%s route=%s parts=%s",
                notice.kind.value,
                notice.route.value,
                ",".join(p.value for p in notice.parts),
            )
        await self._send_owed()
        self.checks += 1
        async with self.checked:
            self.checked.notify_all()
        return notices

    async def _send_owed(self) -> None:
        """Every notice not yet sent on each of its channels; a failed send is tried at the next check."""
        for notice, sms_done, mail_done in self._journal.owed():
            if self._told_by_alerts(notice):
                self._journal.fold(notice)
                self.folded += 1
                log.warning("watchdog.folded key=%s into=platform_incident", notice.key)
                continue
            # The SMS path is told by e-mail only (SMS is what is failing), unless there is no e-mail.
            wants_sms = notice.route is Route.PLATFORM or not self._mail_targets()
            if not sms_done:
                sms_done = not wants_sms or await self._send_sms(notice)
            if not mail_done:
                mail_done = await self._send_mail(notice)
            self._journal.done(notice, sms=sms_done, mail=mail_done)

    def _told_by_alerts(self, notice: Notice) -> bool:
        """A platform outage of the gateways alone that the alerts service already tells the operators
        about (its "many homes blind" incident, open): one message per outage, not two. Its recovery
        follows the outage: folded when the outage was."""
        if notice.route is not Route.PLATFORM or set(notice.parts) != {Part.GATEWAYS}:
            return False
        if notice.kind is NoticeKind.RECOVERED:
            return self._journal.folded(notice.route, notice.since)
        if not self._config.alerts.state_path.exists():
            return False
        repo = EscalationRepository(self._config.alerts.state_path)
        try:
            repo.open()
            return repo.open_incident(PLATFORM, FindingKind.BLIND_GATEWAY) is not None
        except (DatabaseError, OSError) as exc:
            log.warning("watchdog.state_unreadable error=%s", exc)
            return False
        finally:
            repo.close()

    def _mail_targets(self) -> list[str]:
        return self._config.watchdog.operator_emails if self._mail is not None else []

    async def _send_sms(self, notice: Notice) -> bool:
        operators = self._config.alerts.operators
        if not operators:
            log.error("watchdog.no_operators: set [alerts] operators; %s not texted", notice.key)
            return True
        body = texts.sms_text(notice, self._config.alerts.operator_language)
        sent_all = True
        for number in operators:
            key = f"{notice.key}:{number}"
            try:
                sent = await self._sms.send(number, body, None)
            except SmsError as exc:  # retryable: the next check tries again; permanent: never will work
                log.error("watchdog.sms_failed to=%s retryable=%s error=%s", number[-4:], exc.retryable, exc)
                sent_all = sent_all and not exc.retryable
                continue
            self._record(key, number, body, sent.sid)
        return sent_all

    def _record(self, key: str, to: str, body: str, sid: str) -> None:
        """Show the message in `mimamori outbox` and the audit, if the state file can be written."""
        repo = EscalationRepository(self._config.alerts.state_path)
        try:
            repo.open()
            with repo.transaction():
                now = self._clock.now()
                repo.record_sent_sms(key=key, to=to, body=body, purpose=SmsPurpose.OPERATOR, sid=sid, now=now)
                repo.audit(now, "watchdog", "sms.sent", detail={"key": key, "sid": sid})
        except (DatabaseError, OSError) as exc:
            log.warning("watchdog.record_failed key=%s error=%s", key, exc)
        finally:
            repo.close()

    async def _send_mail(self, notice: Notice) -> bool:
        targets = self._mail_targets()
        if self._mail is None or not targets:
            return True
        subject, body = texts.mail_text(notice, self._config.alerts.operator_language)
        sent_all = True
        for address in targets:
            try:
                await self._mail.send(Mail(address, subject, body, f"{notice.key}:{address}"))
            except MailError as exc:
                log.error("watchdog.mail_failed to=%s retryable=%s error=%s", address, exc.retryable, exc)
                sent_all = sent_all and not exc.retryable
        return sent_all
