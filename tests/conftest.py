"""Shared fixtures: real mosquitto brokers, unique topics, a fixed clock, strict logging."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from app.mosquitto import MosquittoProcess
from mimamori.clock import FakeClock
from tests.support.influx_server import InfluxdProcess, InfluxTarget, RealInflux, V2WriteShim

FIXED_NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoProcess]:
    """One real mosquitto for the whole session. Tests isolate themselves with ``topic_prefix``."""
    broker = MosquittoProcess(tmp_path_factory.mktemp("mosquitto-session"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A mosquitto of this test's own, which the test may kill, stop and start again on the same port."""
    broker = MosquittoProcess(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture
def topic_prefix() -> str:
    """A unique id for this test's households/topics on the shared broker."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(FIXED_NOW)


@pytest.fixture(autouse=True)
def fail_on_logged_errors(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Code under test logs errors in production; in tests an ERROR log (or a lost task exception) fails,
    unless the test is marked ``allow_error_logs``."""
    caplog.set_level(logging.INFO)
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors and request.node.get_closest_marker("allow_error_logs") is None:
        pytest.fail("logged errors: " + "; ".join(f"{r.name}: {r.getMessage()}" for r in errors))


@pytest.fixture(scope="session", name="influxd")
def influxd_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxdProcess]:
    """One real influxd for the session; tests isolate themselves with a database each."""
    server = InfluxdProcess(tmp_path_factory.mktemp("influxd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="real_influx")
async def real_influx_fixture(influxd: InfluxdProcess) -> AsyncIterator[RealInflux]:
    shim = V2WriteShim(influxd.url)
    server = TestServer(shim.app(), host="127.0.0.1")
    await server.start_server()
    target = InfluxTarget(generation="1.8+", database="t_" + uuid.uuid4().hex[:12])
    try:
        yield RealInflux(str(server.make_url("")).rstrip("/"), target, shim, influxd)
    finally:
        await server.close()
