"""``python -m mimamori ingest`` as a real process: SIGKILL mid-batch, session resume, clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from app.mosquitto import MosquittoProcess
from mimamori import contract
from mimamori.clock import SystemClock
from registry.models import Household
from registry.repository import Registry
from tests.support.harness import mqtt_client, wait_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


class IngestProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.ready = asyncio.Event()
        self.logged = asyncio.Condition()  # notified on every stderr line (batches log at DEBUG)
        self.metrics_port: int | None = None

    async def read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self.lines.append(text)
            if match := re.search(r"ingest.metrics_listening host=\S+ port=(\d+)", text):
                self.metrics_port = int(match.group(1))
            if "ingest.ready" in text:
                self.ready.set()
            async with self.logged:
                self.logged.notify_all()
        async with self.logged:
            self.logged.notify_all()


@contextlib.asynccontextmanager
async def ingest_process(config: Path, fault: str | None = None) -> AsyncIterator[IngestProcess]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MIMAMORI_TEST_INGEST_FAULT", None)
    if fault:
        env["MIMAMORI_TEST_INGEST_FAULT"] = fault
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mimamori", "--log-level", "DEBUG", "ingest", "--config", str(config),
        cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    running = IngestProcess(proc)
    reader = asyncio.create_task(running.read_stderr())
    try:
        waiter = asyncio.create_task(running.ready.wait())
        await asyncio.wait({waiter, reader}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not running.ready.is_set():
            raise AssertionError("ingest did not get ready:\n" + "\n".join(running.lines))
        yield running
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        await reader


def register(state: Path, household: str, gateways: list[str]) -> None:
    registry = Registry(state)
    registry.open()
    registry.upsert_household(Household(household, household, ""))
    registry.set_gateways(household, gateways)
    registry.close()


def write_config(tmp_path: Path, broker: MosquittoProcess, group: str) -> Path:
    """Ingest with ``group`` as its one registered household (any gateway of it)."""
    register(tmp_path / "state.sqlite3", group, [])
    path = tmp_path / "ingest.toml"
    path.write_text(
        f"""
[broker]
port = {broker.port}
[store]
sqlite_path = "{tmp_path / "events.sqlite3"}"
[ingest]
client_id = "{group}-worker"
share_group = "{group}"
batch_size = 100
batch_interval_ms = 20
receive_maximum = 100
metrics_port = 0
registry_refresh_s = 0.2
[alerts]
state_path = "{tmp_path / "state.sqlite3"}"
"""
    )
    return path


def stored_ids(db_path: Path) -> list[str]:
    if not db_path.exists():
        return []
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        try:
            return [row[0] for row in db.execute("SELECT message_id FROM events")]
        except sqlite3.OperationalError:  # schema not created yet
            return []


@pytest.mark.parametrize("fault", ["before_commit:2", "after_commit:2"])
async def test_sigkill_mid_batch_loses_nothing_and_a_new_process_resumes_the_session(
    mosquitto: MosquittoProcess, tmp_path: Path, topic_prefix: str, fault: str
) -> None:
    household = topic_prefix
    config = write_config(tmp_path, mosquitto, topic_prefix)
    now = SystemClock().now()
    events = [
        contract.Event(f"{household}-{n:05d}", household, "gw-1", "hall-motion", contract.Kind.MOTION, 1,
                       now - timedelta(minutes=10) + timedelta(milliseconds=n), n)
        for n in range(600)
    ]  # fmt: skip
    topic = contract.topic(household, "gw-1", contract.Channel.EVENTS)
    db_path = tmp_path / "events.sqlite3"
    async with mqtt_client(mosquitto) as publisher:
        async with ingest_process(config, fault) as first:
            await asyncio.gather(*(publisher.publish_nowait(topic, e.encode()) for e in events[:400]))
            assert await asyncio.wait_for(first.proc.wait(), 30) == -signal.SIGKILL
        crashed_with = len(stored_ids(db_path))
        assert crashed_with < 400, "the crash hook never fired"
        # While no ingest runs, the broker queues for the persistent session.
        await asyncio.gather(*(publisher.publish_nowait(topic, e.encode()) for e in events[400:]))
        async with ingest_process(config) as second:
            await wait_for(lambda: len(stored_ids(db_path)) >= len(events), second.logged, 60)
            assert second.metrics_port is not None
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{second.metrics_port}/metrics"
                async with http.get(url) as resp:
                    metrics = await resp.text()
            second.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.proc.wait(), 30) == 0
    ids = stored_ids(db_path)
    assert sorted(ids) == sorted(e.message_id for e in events)
    if fault.startswith("after_commit"):
        # That batch was committed but never acknowledged: redelivered, recognised, not stored twice.
        assert crashed_with > 0
        assert re.search(r"mimamori_ingest_events_duplicate_total [1-9]", metrics)
    assert not [line for line in second.lines if " ERROR " in line]


async def test_only_registered_households_and_their_gateways_get_in(
    mosquitto: MosquittoProcess, tmp_path: Path, topic_prefix: str
) -> None:
    home, ghost = topic_prefix, f"{topic_prefix}-ghost"
    config = write_config(tmp_path, mosquitto, topic_prefix)
    register(tmp_path / "state.sqlite3", home, ["gw-1"])  # this home has one known gateway
    now = SystemClock().now()

    def event(household: str, gateway: str, n: int) -> tuple[str, bytes]:
        e = contract.Event(f"{household}-{gateway}-{n:04d}", household, gateway, "hall-motion",
                           contract.Kind.MOTION, 1, now - timedelta(seconds=n), n)  # fmt: skip
        return contract.topic(household, gateway, contract.Channel.EVENTS), e.encode()

    db_path = tmp_path / "events.sqlite3"
    async with mqtt_client(mosquitto) as publisher, ingest_process(config) as ingest:
        sent = [event(home, "gw-1", n) for n in range(5)]
        sent += [event(home, "gw-9", n) for n in range(2)] + [event(ghost, "gw-1", n) for n in range(3)]
        ghost_status = contract.GatewayStatus(ghost, "gw-1", contract.GatewayState.ONLINE, now)
        sent.append((contract.topic(ghost, "gw-1", contract.Channel.STATUS), ghost_status.encode()))
        for topic, payload in sent:
            await publisher.publish(topic, payload)
        # Ingest logs its rejections just after each batch's commit, so the store is read again then.
        # The shared broker also hands it other tests' retained statuses: only this test's topics count.
        ours = lambda: dead_letters(db_path, topic_prefix)  # noqa: E731
        await wait_for(lambda: len(ours()) == 6, ingest.logged, 30)
        assert sorted(stored_ids(db_path)) == [f"{home}-gw-1-{n:04d}" for n in range(5)]
        assert sorted(ours()) == ["unknown_gateway"] * 2 + ["unknown_household"] * 4
        with contextlib.closing(sqlite3.connect(db_path)) as db:  # no live state for a ghost
            assert (
                db.execute("SELECT count(*) FROM gateways WHERE household = ?", (ghost,)).fetchone()[0] == 0
            )
            assert (
                db.execute("SELECT count(*) FROM household_live WHERE household = ?", (ghost,)).fetchone()[0]
                == 0
            )

        register(tmp_path / "state.sqlite3", ghost, [])  # registered now: in within registry_refresh_s
        async with asyncio.timeout(30):
            while f"{ghost}-gw-1-0099" not in stored_ids(db_path):
                await publisher.publish(*event(ghost, "gw-1", 99))
                async with ingest.logged:
                    await ingest.logged.wait()


def dead_letters(db_path: Path, topic_prefix: str = "") -> list[str]:
    """The reasons of the dead letters (of the topics of households named ``topic_prefix...``)."""
    pattern = f"mimamori/v1/{topic_prefix}%"
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        try:
            return [
                row[0] for row in db.execute("SELECT reason FROM dead_letters WHERE topic LIKE ?", (pattern,))
            ]
        except sqlite3.OperationalError:  # schema not created yet
            return []
