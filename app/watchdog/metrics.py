"""What the watchdog saw, as Prometheus metrics, so that an existing Prometheus can alert on the same
conditions (deploy/prometheus/mimamori-rules.yml) and on the watchdog itself being gone."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class WatchdogMetrics:
    """A registry of its own (no global state); :meth:`render` is served on ``/metrics``."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.gateway_heartbeat = Gauge(
            "mimamori_gateway_last_heartbeat_timestamp_seconds", "Newest heartbeat of any gateway", registry=r
        )
        self.detector_tick = Gauge(
            "mimamori_detector_last_tick_timestamp_seconds", "Last completed detection tick", registry=r
        )
        self.store_readable = Gauge("mimamori_store_readable", "1 when the store could be read", registry=r)
        self.sms_sent = Gauge("mimamori_sms_sent_window", "SMS sent in the judged window", registry=r)
        self.sms_failed = Gauge(
            "mimamori_sms_failed_attempts_window", "Failed SMS attempts in the judged window", registry=r
        )
        self.outage = Gauge(
            "mimamori_platform_outage", "1 while an outage is open (told or not)", ["route"], registry=r
        )
        self.checks = Counter("mimamori_watchdog_checks", "Checks completed", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
