"""``mimamori gateway`` over TLS with its household's own credentials, against a broker configured by
``mimamori broker-config`` (password file + per-household ACL)."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from app.broker_accounts import BrokerLayout, TlsListener, generate, render_mosquitto_conf, security_config
from app.mosquitto import MosquittoProcess, free_port
from firmware_sim.homes import HouseholdSpec, SimHome
from gateway.native import Reading, encode_reading
from mimamori import contract
from mimamori.clock import SystemClock
from tests.integration.test_gateway_process import gateway_process, next_status
from tests.support.harness import mqtt_client, running_ingest, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
INGEST_PASSWORD = "ingest-secret-1"


def self_signed(directory: Path) -> Path:
    cert, key = directory / "server.pem", directory / "server.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert


async def test_gateway_over_tls_with_per_household_credentials(
    mosquitto: MosquittoProcess, tmp_path: Path, topic_prefix: str
) -> None:
    household = topic_prefix
    cert = self_signed(tmp_path)
    out = tmp_path / "broker-config"
    generate(out, [household], INGEST_PASSWORD)
    tls_port = free_port()
    conf = render_mosquitto_conf(
        BrokerLayout(
            out.resolve(), tmp_path, free_port(), TlsListener(cert, cert.with_suffix(".key"), None, tls_port)
        )
    )
    upstream = MosquittoProcess(
        tmp_path / "upstream",
        extra_config=security_config(out) + conf[conf.index(f"listener {tls_port}") :],
        allow_anonymous=False,
    )
    upstream.start()
    # The household's credentials exactly as broker-config hands them to the installer.
    env = dict(
        line.split("=", 1) for line in (out / "gateways" / f"{household}.env").read_text().splitlines()
    )
    config = tmp_path / "gateway.toml"
    config.write_text(
        f"""
[broker]
port = {tls_port}
tls = true
ca_file = "{cert}"
keepalive_s = 5

[gateway]
gateway = "gw-1"
outbox_path = "{tmp_path / "outbox.sqlite3"}"
local_port = {mosquitto.port}
local_root = "local/{household}"
"""
    )
    clock = SystemClock()
    now = clock.now()
    events = SimHome(HouseholdSpec(household, kit="sparse"), 4, now - timedelta(days=1)).events_between(
        now - timedelta(hours=6), now
    )
    log = tmp_path / "gateway.log"
    status_topic = contract.topic(household, "gw-1", contract.Channel.STATUS)
    ingest_login = {"username": "ingest", "password": INGEST_PASSWORD}
    try:
        async with (
            running_ingest(
                upstream, tmp_path / "events.sqlite3", clock, topic_prefix, **ingest_login
            ) as ingest,
            mqtt_client(upstream, **ingest_login) as watcher,
            mqtt_client(mosquitto) as device,
        ):
            await watcher.subscribe(status_topic)
            with gateway_process(config, log, env):
                assert await next_status(watcher, 20) == "online"
                for e in events:
                    topic, payload = encode_reading(Reading(e.device, e.kind, e.value, e.observed_at))
                    await device.publish(f"local/{household}/home/{topic}", payload)
                await wait_for(
                    lambda: ingest.store.count_events(household) == len(events), ingest.service.committed, 30
                )
                gateways = ingest.store.gateways(household)
    finally:
        upstream.kill()
    assert [g.gateway for g in gateways] == ["gw-1"]
    assert len(events) > 20
    assert "Traceback" not in log.read_text()
