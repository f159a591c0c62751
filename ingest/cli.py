"""``mimamori ingest``: run one ingest worker (SQLite or InfluxDB store, metrics over HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from ingest.admission import Admission
from ingest.metrics import IngestMetrics, MetricsServer
from ingest.retention import RetentionJob
from ingest.service import IngestService
from ingest.sink import MessageSink, SqliteWorkerSink
from ingest.thinning import ClimateThinner
from mimamori.clock import SystemClock
from mimamori.commands import Subcommands, add_config_argument, config_from
from mimamori.config import Config
from mimamori.mqtt import MqttClient, MqttSettings, settings_for
from store.base import BatchWriter, Retention
from store.influx import influx_store
from store.sqlite import SqliteEventStore

log = logging.getLogger(__name__)

FAULT_ENV = "MIMAMORI_TEST_INGEST_FAULT"
"""Test-only: ``before_commit:N`` or ``after_commit:N`` makes the process SIGKILL itself at that
point of its N-th batch, so tests can crash it exactly between receiving and committing."""


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("ingest", help="validate and store events from the broker")
    add_config_argument(parser)
    parser.set_defaults(func=lambda args: asyncio.run(run_ingest(config_from(args))))


def fault_hook(spec: str | None) -> Callable[[str], None] | None:
    """The crash hook described by :data:`FAULT_ENV`, or None."""
    if not spec:
        return None
    point, _, nth = spec.partition(":")
    if point not in ("before_commit", "after_commit") or not nth.isdigit():
        raise SystemExit(f"mimamori: {FAULT_ENV} must be before_commit:N or after_commit:N, not {spec!r}")
    remaining = {"count": int(nth)}

    def hook(at: str) -> None:
        if at != point:
            return
        remaining["count"] -= 1
        if remaining["count"] <= 0:
            log.warning("ingest.test_fault_kill point=%s", point)
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def broker_settings(config: Config, client_id: str, **options: Any) -> MqttSettings:
    secret = config.secrets.broker_password
    return settings_for(
        config.broker.host,
        config.broker.port,
        client_id,
        username=config.broker.username,
        password=secret.get_secret_value() if secret else None,
        tls=config.broker.tls,
        ca_file=config.broker.ca_file,
        keepalive_s=config.broker.keepalive_s,
        **options,
    )


async def run_ingest(config: Config) -> int:
    ingest = config.ingest
    mqtt = MqttClient(
        broker_settings(
            config,
            ingest.client_id,
            clean_start=False,
            session_expiry_s=ingest.session_expiry_s,
            receive_maximum=ingest.receive_maximum,
            manual_ack=True,
        )
    )
    async with opened_store(config) as store:
        await _serve(mqtt, store, config)
    return 0


async def _serve(mqtt: MqttClient, store: BatchWriter | MessageSink, config: Config) -> None:
    ingest = config.ingest
    metrics = IngestMetrics()
    server = MetricsServer(metrics, ingest.metrics_host, ingest.metrics_port)
    service = IngestService(
        mqtt,
        store,
        SystemClock(),
        ingest.share_group,
        ingest.batch_size,
        batch_interval=timedelta(milliseconds=ingest.batch_interval_ms),
        metrics=metrics,
        fault_hook=fault_hook(os.environ.get(FAULT_ENV)),
        admission=admission_for(config),
        thinner=ClimateThinner.configured(config.climate),
    )
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await server.start()
        await mqtt.start()
        async with housekeeping(config):
            await service.run()
    except asyncio.CancelledError:
        log.info("ingest.stopping")
    finally:
        with contextlib.suppress(Exception):
            await mqtt.stop()
        await server.stop()


def admission_for(config: Config) -> Admission | None:
    """The registry at the edge (``[alerts] state_path``), unless ``[ingest] registered_only`` is off."""
    if not config.ingest.registered_only:
        return None
    return Admission(config.alerts.state_path, config.ingest.registry_refresh_s)


@contextlib.asynccontextmanager
async def housekeeping(config: Config) -> AsyncIterator[None]:
    """The retention job beside ingest, for the SQLite store (its own connection to the file)."""
    s = config.store
    if s.backend != "sqlite":
        yield
        return
    store = SqliteEventStore(s.sqlite_path, synchronous=s.sqlite_synchronous)
    store.open()
    job = RetentionJob(store, Retention(s.raw_retention_days, s.rollup_retention_days), SystemClock())
    task = asyncio.create_task(job.run(), name="retention")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        store.close()


@contextlib.asynccontextmanager
async def opened_store(config: Config) -> AsyncIterator[BatchWriter | MessageSink]:
    """The configured store, open for the duration of the block (SQLite: in a worker process)."""
    s = config.store
    if s.backend == "influxdb":
        influx = influx_store(config)
        await influx.open()
        try:
            yield influx
        finally:
            await influx.close()
        return
    worker = SqliteWorkerSink(
        s.sqlite_path,
        dead_letter_limit=s.dead_letter_limit,
        synchronous=s.sqlite_synchronous,
        workers=config.ingest.store_workers,
        registry_path=config.alerts.state_path if config.ingest.registered_only else None,
        registry_refresh_s=config.ingest.registry_refresh_s,
        acks=broker_settings(config, f"{config.ingest.client_id}-acks"),
        thinner=ClimateThinner.configured(config.climate),
    )
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
