"""Prometheus metrics of one ingest process, served over HTTP by aiohttp (``GET /metrics``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger(__name__)


class IngestMetrics:
    """The counters of one ingest process, in a registry of its own (no global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "mimamori_ingest_received", "Messages taken from the broker", ["channel"], registry=r
        )
        self.stored = Counter("mimamori_ingest_events_stored", "Events new to the store", registry=r)
        self.thinned = Counter(
            "mimamori_ingest_climate_thinned", "Climate readings not stored: unchanged and recent", registry=r
        )
        self.duplicates = Counter(
            "mimamori_ingest_events_duplicate", "Events already stored (redelivery, repeats)", registry=r
        )
        self.rejected = Counter(
            "mimamori_ingest_rejected", "Messages refused, by contract reason", ["reason"], registry=r
        )
        self.seq_gaps = Counter(
            "mimamori_ingest_seq_gaps",
            "Ranges of a gateway's seq skipped (most fill as backlogs drain)",
            registry=r,
        )
        self.store_errors = Counter(
            "mimamori_ingest_store_errors", "Batch writes that failed and were retried", registry=r
        )
        self.batch_seconds = Histogram(
            "mimamori_ingest_batch_seconds",
            "Time from taking a batch to acknowledging it",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.batch_messages = Histogram(
            "mimamori_ingest_batch_messages",
            "Messages per batch",
            buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000),
            registry=r,
        )
        self.queue_depth = Gauge(
            "mimamori_ingest_queue_depth", "Messages received from the broker, not yet in a batch", registry=r
        )

    def track_queue(self, depth: Callable[[], int]) -> None:
        self.queue_depth.set_function(lambda: float(depth()))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """``GET /metrics`` on ``host:port`` (port 0 picks a free one; see :attr:`port`)."""

    def __init__(self, metrics: IngestMetrics, host: str, port: int) -> None:
        self._metrics = metrics
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("ingest.metrics_listening host=%s port=%s", self._host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, _request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
