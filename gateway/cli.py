"""``mimamori gateway --config FILE``: run one home gateway."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from zoneinfo import ZoneInfo

from gateway.outbox import FullPolicy, Outbox
from gateway.router import Router, Source
from gateway.service import GatewayService, status_will
from mimamori.clock import SystemClock
from mimamori.commands import Subcommands, add_config_argument, config_from
from mimamori.config import Config, GatewayConfig
from mimamori.mqtt import MqttClient, MqttError, settings_for

log = logging.getLogger(__name__)

LOCAL_SESSION_EXPIRY_S = 7 * 24 * 3600
"""The home's broker keeps readings for a stopped gateway this long (its persistent local session)."""


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("gateway", help="relay one home's sensors upstream through a durable outbox")
    add_config_argument(parser)
    parser.set_defaults(func=lambda args: asyncio.run(run_gateway(config_from(args))))


async def _start_upstream(upstream: MqttClient) -> None:
    """Keep trying until the platform's broker answers; meanwhile the home's broker holds the
    readings in the gateway's persistent local session."""
    delay = 1.0
    while True:
        try:
            await upstream.start()
            return
        except MqttError as exc:
            log.warning("gateway.upstream_unreachable retry_in_s=%.0f error=%s", delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)


def router_for(gw: GatewayConfig) -> Router:
    return Router(
        devices_by_id={name: (Source(d.source), d.address) for name, d in gw.devices.items()},
        zone=ZoneInfo(gw.time_zone),
        root=gw.local_root,
        native_prefix=gw.native_prefix,
        zigbee2mqtt_base=gw.zigbee2mqtt_base,
        accept_unlisted_native=gw.accept_unlisted_native,
        presence_devices=[name for name, d in gw.devices.items() if d.presence],
    )


async def run_gateway(config: Config) -> int:
    clock = SystemClock()
    gw = config.gateway
    broker = config.broker
    secret = config.secrets.broker_password
    service: GatewayService | None = None

    def connected(session_present: bool) -> None:
        if service is not None:
            service.upstream_connected(session_present)

    upstream = MqttClient(
        settings_for(
            broker.host,
            broker.port,
            f"gw-{gw.household}-{gw.gateway}",
            username=broker.username,
            password=secret.get_secret_value() if secret else None,
            tls=broker.tls,
            ca_file=broker.ca_file,
            keepalive_s=broker.keepalive_s,
            will=status_will(gw.household, gw.gateway, clock),
            max_inflight=gw.publish_window,
            require_subscribers=True,
        ),
        on_connect=connected,
    )
    local = MqttClient(
        settings_for(
            gw.local_host,
            gw.local_port,
            f"gw-local-{gw.household}-{gw.gateway}",
            clean_start=False,
            session_expiry_s=LOCAL_SESSION_EXPIRY_S,
            manual_ack=True,
        )
    )
    outbox = Outbox(gw.outbox_path, gw.outbox_max_events, FullPolicy(gw.outbox_full_policy))
    outbox.open()
    service = GatewayService(
        household=gw.household,
        gateway=gw.gateway,
        local=local,
        router=router_for(gw),
        upstream=upstream,
        outbox=outbox,
        clock=clock,
        heartbeat=timedelta(seconds=gw.heartbeat_s),
        publish_window=gw.publish_window,
        drain_rate_per_s=gw.drain_rate_per_s,
        ack_timeout=timedelta(seconds=gw.ack_timeout_s),
    )
    main = asyncio.current_task()
    assert main is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, main.cancel)
    try:
        await local.start()
        await _start_upstream(upstream)
        log.info("gateway.started household=%s outbox_depth=%s", gw.household, outbox.depth())
        await service.run()
    except asyncio.CancelledError:
        main.uncancel()
        log.info("gateway.stopping household=%s outbox_depth=%s", gw.household, outbox.depth())
    finally:
        await local.stop()
        await upstream.stop()
        outbox.close()
    return 0
