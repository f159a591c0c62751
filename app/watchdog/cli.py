"""``mimamori watchdog``: the platform watchdog as a process of its own (docs/operations.md)."""

from __future__ import annotations

import asyncio
import signal

from app.watchdog.drill import Drill
from app.watchdog.metrics import WatchdogMetrics
from app.watchdog.probes import Probes
from app.watchdog.service import Watchdog
from escalation.cli import clock_for
from escalation.mail.port import MailSender
from escalation.mail.smtp_sender import SmtpSender
from escalation.service import build_sender
from mimamori.clock import Clock
from mimamori.commands import Subcommands, add_config_argument, config_from
from mimamori.config import Config


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("watchdog", help="tell the operators when the platform stops watching")
    add_config_argument(parser)
    parser.set_defaults(func=lambda args: asyncio.run(run_watchdog(config_from(args))))


def build_watchdog(config: Config, clock: Clock | None = None) -> Watchdog:
    """The watchdog of ``config``, on ``clock`` (the platform's: the demo passes its own)."""
    clock = clock or clock_for(config)
    mail: MailSender | None = None
    if config.email.enabled:
        password = config.secrets.smtp_password
        mail = SmtpSender(config.email, None if password is None else password.get_secret_value())
    metrics = WatchdogMetrics()
    drill = Drill(config) if config.watchdog.drill_household else None
    probes = Probes(config, clock.now(), metrics, drill)
    return Watchdog(config, clock, build_sender(config), mail, probes, metrics)


async def run_watchdog(config: Config) -> int:
    if not config.alerts.operators and not config.watchdog.operator_emails:
        raise SystemExit(
            "mimamori: the watchdog has nobody to tell: set [alerts] operators or [watchdog] operator_emails"
        )
    watchdog = build_watchdog(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await watchdog.start()
    try:
        await stop.wait()
    finally:
        await watchdog.stop()
    return 0
