"""``mimamori broker-config`` against a real mosquitto started with the generated files.

Negative checks are made conclusive by ordering: a broker delivers one connection's messages in
order, so once a later allowed message has arrived, an earlier forbidden one would have too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.broker_accounts import (
    BrokerConfigError,
    BrokerLayout,
    TlsListener,
    generate,
    read_households_file,
    read_passwd,
    reload_broker,
    render_mosquitto_conf,
    revoke,
    security_config,
)
from app.mosquitto import MosquittoProcess, free_port
from mimamori import contract
from mimamori.mqtt import Message, MqttClient, MqttError, settings_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
INGEST_PASSWORD = "ingest-secret-1"
A, B = "home-a", "home-b"


def _env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


@dataclass
class Secured:
    broker: MosquittoProcess
    out: Path

    def password(self, household: str) -> str:
        return _env_file(self.out / "gateways" / f"{household}.env")["MIMAMORI_BROKER_PASSWORD"]


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Secured]:
    out = tmp_path / "broker-config"
    generate(out, [A, B], INGEST_PASSWORD)
    broker = MosquittoProcess(
        tmp_path / "mosquitto", extra_config=security_config(out), allow_anonymous=False
    )
    broker.start()
    yield Secured(broker, out)
    broker.kill()


@contextlib.asynccontextmanager
async def client(
    broker: MosquittoProcess | int, username: str | None, password: str | None, **options: Any
) -> AsyncIterator[MqttClient]:
    mqtt = MqttClient(
        settings_for(
            "127.0.0.1",
            broker if isinstance(broker, int) else broker.port,
            f"c-{username}-{os.urandom(3).hex()}",
            username=username,
            password=password,
            reconnect_max_s=1,
            **options,
        )
    )
    await mqtt.start(timeout_s=5)
    try:
        yield mqtt
    finally:
        await mqtt.stop()


async def _until(mqtt: MqttClient, payload: bytes) -> list[Message]:
    """Everything received up to and including the message carrying ``payload``."""
    seen: list[Message] = []
    while not any(m.payload == payload for m in seen):
        seen += await asyncio.wait_for(mqtt.next_batch(100), 10)
    return seen


def _events(household: str) -> str:
    return contract.topic(household, "gw-1", contract.Channel.EVENTS)


async def test_household_publishes_only_under_its_own_topic(secured: Secured) -> None:
    async with (
        client(secured.broker, "ingest", INGEST_PASSWORD) as ingest,
        client(secured.broker, A, secured.password(A)) as home_a,
    ):
        await ingest.subscribe(f"$share/ingest/{contract.subscription(contract.Channel.EVENTS)}")
        with contextlib.suppress(MqttError):  # mosquitto may refuse it or drop it silently
            await home_a.publish(_events(B), b"forged by A")
        await home_a.publish(_events(A), b"A's own")
        received = await _until(ingest, b"A's own")
    assert [(m.topic, m.payload) for m in received] == [(_events(A), b"A's own")]


async def test_household_cannot_read_another_households_topics(secured: Secured) -> None:
    async with (
        client(secured.broker, "ingest", INGEST_PASSWORD) as ingest,
        client(secured.broker, A, secured.password(A)) as home_a,
        client(secured.broker, B, secured.password(B)) as home_b,
    ):
        await ingest.subscribe(contract.subscription(contract.Channel.EVENTS))
        refused = 0
        for topic_filter in (_events(B), f"{contract.TOPIC_ROOT}/#", "#"):
            try:
                await home_a.subscribe(topic_filter)
            except MqttError:
                refused += 1
        await home_b.publish(_events(B), b"B's private")
        await _until(ingest, b"B's private")
        # A's own publish round-trip: its PUBACK is queued behind anything already sent to A.
        await home_a.publish(_events(A), b"round trip")
        assert home_a.pending_messages() == 0, f"A received B's data ({refused} subscriptions refused)"


def _ack(household: str) -> str:
    return contract.topic(household, "gw-1", contract.Channel.ACK)


async def test_ingest_acknowledges_to_each_gateway_and_only_it_reads_its_acks(secured: Secured) -> None:
    async with (
        client(secured.broker, "ingest", INGEST_PASSWORD) as ingest,
        client(secured.broker, A, secured.password(A)) as home_a,
        client(secured.broker, B, secured.password(B)) as home_b,
    ):
        await home_a.subscribe(_ack(A))
        await home_b.subscribe(_ack(B))
        with contextlib.suppress(MqttError):  # mosquitto may refuse it or grant it and deliver nothing
            await home_b.subscribe(_ack(A))
        await ingest.publish(_ack(A), b"for A")
        await ingest.publish(_ack(B), b"for B")
        assert [m.payload for m in await _until(home_a, b"for A")] == [b"for A"]
        assert [m.payload for m in await _until(home_b, b"for B")] == [b"for B"]  # nothing of A's


async def test_a_revoked_household_can_no_longer_connect_after_a_reload(secured: Secured) -> None:
    password = secured.password(A)
    async with client(secured.broker, A, password) as home_a:
        await home_a.publish(_events(A), b"before")
    assert revoke(secured.out, A)
    assert secured.broker.pid is not None
    reload_broker(secured.broker.pid)
    with pytest.raises(MqttError, match=r"connection refused: Not authorized"):
        async with client(secured.broker, A, password):
            pass
    async with client(secured.broker, B, secured.password(B)) as home_b:  # the others are untouched
        await home_b.publish(_events(B), b"still here")
    assert not revoke(secured.out, A)  # revoking twice changes nothing


async def test_a_message_above_the_size_limit_never_reaches_ingest(secured: Secured) -> None:
    async with client(secured.broker, "ingest", INGEST_PASSWORD) as ingest:
        await ingest.subscribe(contract.subscription(contract.Channel.EVENTS))
        async with client(secured.broker, A, secured.password(A)) as home_a:
            # mosquitto 2.0 drops the connection of a client that sends one (the gateway never does:
            # it dead-letters such a row before sending, tests/integration/test_gateway_broker.py).
            home_a.publish_nowait(_events(A), b"x" * (contract.MAX_MESSAGE_BYTES + 1)).add_done_callback(
                lambda f: f.cancelled() or f.exception()
            )
            async with client(secured.broker, B, secured.password(B)) as home_b:
                await home_b.publish(_events(B), b"after")
            received = await _until(ingest, b"after")
    assert all(len(m.payload) <= contract.MAX_MESSAGE_BYTES for m in received)


async def test_anonymous_and_wrong_passwords_are_refused(secured: Secured) -> None:
    for username, password in ((None, None), (A, "wrong"), (A, secured.password(B)), ("nobody", "x")):
        with pytest.raises(MqttError, match=r"connection refused: Not authorized"):
            async with client(secured.broker, username, password):
                pass


async def test_rerun_keeps_passwords_adds_rotates_and_removes(tmp_path: Path) -> None:
    out = tmp_path / "broker-config"
    generate(out, [A, B], INGEST_PASSWORD)
    first = read_passwd(out / "passwd")
    old_b = _env_file(out / "gateways" / f"{B}.env")["MIMAMORI_BROKER_PASSWORD"]
    (out / "gateways" / f"{A}.env").unlink()  # provisioned and taken away, as an operator would

    result = generate(out, [A, B, "home-c"], "ingest-secret-2", rotate=[B])
    second = read_passwd(out / "passwd")
    assert second[A] == first[A]
    assert second[B] != first[B]
    assert sorted(result.new_credentials) == [B, "home-c"]
    assert not (out / "gateways" / f"{A}.env").exists(), "an unchanged household's secret is not re-issued"
    assert stat.S_IMODE((out / "passwd").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "gateways" / "home-c.env").stat().st_mode) == 0o600

    broker = MosquittoProcess(
        tmp_path / "mosquitto", extra_config=security_config(out), allow_anonymous=False
    )
    broker.start()
    try:
        async with client(broker, "ingest", "ingest-secret-2"):
            pass
        with pytest.raises(MqttError):
            async with client(broker, B, old_b):
                pass
        async with client(broker, B, result.new_credentials[B]):
            pass
    finally:
        broker.kill()

    generate(out, [B], "ingest-secret-2")
    assert set(read_passwd(out / "passwd")) == {"ingest", B}
    assert not (out / "gateways" / "home-c.env").exists()


def test_bad_households_are_refused_with_a_reason(tmp_path: Path) -> None:
    for households, reason in (
        (["Home A"], "must match"),
        ([A, A], "twice"),
        (["ingest"], "service user"),
    ):
        with pytest.raises(BrokerConfigError, match=reason):
            generate(tmp_path / "out", households, INGEST_PASSWORD)
    with pytest.raises(BrokerConfigError, match="password"):
        generate(tmp_path / "out", [A], "")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mimamori", "broker-config", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_command_reads_a_households_file(tmp_path: Path) -> None:
    households = tmp_path / "households.yaml"
    households.write_text(f"households:\n  - id: {A}\n    name: 田中\n  - id: {B}\n")
    out = tmp_path / "out"
    done = _cli("--households", str(households), "--out", str(out), env={"MIMAMORI_BROKER_PASSWORD": "pw"})
    assert done.returncode == 0, done.stderr
    assert "2 households, 2 new credentials" in done.stdout
    assert set(read_passwd(out / "passwd")) == {"ingest", A, B}
    acl = (out / "acl").read_text()
    assert f"user {A}\ntopic write mimamori/v1/{A}/#" in acl

    households.write_text("households: nope\n")
    done = _cli("--households", str(households), "--out", str(out), env={"MIMAMORI_BROKER_PASSWORD": "pw"})
    assert done.returncode != 0
    assert "expected a list under 'households'" in done.stderr


def test_command_reads_the_household_registry(tmp_path: Path) -> None:
    config = tmp_path / "mimamori.toml"
    config.write_text(f'[alerts]\nstate_path = "{tmp_path / "state.sqlite3"}"\n')
    out = tmp_path / "out"
    env = {"MIMAMORI_BROKER_PASSWORD": "pw"}
    missing = _cli("--config", str(config), "--out", str(out), env=env)
    assert missing.returncode != 0
    assert "mimamori households import" in missing.stderr

    example = REPO / "docs" / "households.example.yaml"
    imported = subprocess.run(
        [sys.executable, "-m", "mimamori", "households", "import", "--config", str(config), str(example)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    done = _cli("--config", str(config), "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    registered = set(read_passwd(out / "passwd")) - {"ingest"}
    assert registered
    assert registered == set(read_households_file(example)), "the file and the registry agree"


def _self_signed(directory: Path) -> tuple[Path, Path]:
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
    return cert, key


async def test_tls_listener_carries_authenticated_clients(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    out = tmp_path / "broker-config"
    generate(out, [A], INGEST_PASSWORD)
    tls_port = free_port()
    conf = render_mosquitto_conf(
        BrokerLayout(out.resolve(), tmp_path, free_port(), TlsListener(cert, key, None, tls_port))
    )
    tls_part = conf[conf.index(f"listener {tls_port}") :]
    broker = MosquittoProcess(
        tmp_path / "mosquitto", extra_config=security_config(out) + tls_part, allow_anonymous=False
    )
    broker.start()
    try:
        password = _env_file(out / "gateways" / f"{A}.env")["MIMAMORI_BROKER_PASSWORD"]
        async with client(tls_port, A, password, tls=True, ca_file=cert) as home_a:
            await home_a.publish(_events(A), b"over TLS")
        with pytest.raises(MqttError):
            async with client(tls_port, A, password):  # plain MQTT on the TLS port
                pass
    finally:
        broker.kill()
