"""The watchdog against real parts: a mosquitto that is SIGKILLed, an ingest that stops, an alerts
process that stops ticking, an SMS provider that keeps failing. Each time the operators get one outage
message and one recovery message, never more (the outbox records what the watchdog sent)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from app.mosquitto import MosquittoProcess, free_port
from app.watchdog.cli import build_watchdog
from app.watchdog.service import Watchdog
from detection.findings import Explanation, Finding, FindingKind, Severity
from detection.live import build_live_detector
from escalation.chain import operators_snapshot
from escalation.machine import opened
from escalation.models import PLATFORM, SmsPurpose, SmsStatus
from escalation.repository import EscalationRepository
from escalation.service import AlertsService
from mimamori.clock import FakeClock, SystemClock
from mimamori.config import AlertsConfig, BrokerConfig, Config, EmailConfig, StoreConfig, WatchdogConfig
from mimamori.heartbeat import beat
from registry.repository import Registry
from store.sqlite import SqliteEventStore
from tests.support.harness import running_gateway, running_ingest, wait_for
from tests.support.smtp_server import smtp_server

pytestmark = pytest.mark.integration

OPERATOR = "+819000000099"


def config_for(tmp: Path, **watchdog: object) -> Config:
    settings: dict[str, object] = {
        "state_path": tmp / "watchdog.sqlite3",
        "check_s": 0.2,
        "hold_s": 0.6,
        "gateway_silence_s": 2.5,
        "ingest_metrics_urls": [],
        "detector_stale_s": 3600,
        "metrics_port": 0,
    }
    settings.update(watchdog)
    return Config(
        data_dir=tmp,
        store=StoreConfig(sqlite_path=tmp / "events.sqlite3"),
        alerts=AlertsConfig(
            state_path=tmp / "state.sqlite3", operators=[OPERATOR], heartbeat_path=tmp / "beats" / "detector"
        ),
        watchdog=WatchdogConfig.model_validate(settings),
    )


def operator_texts(config: Config) -> list[str]:
    if not config.alerts.state_path.exists():
        return []
    repo = EscalationRepository(config.alerts.state_path)
    repo.open()
    try:
        messages = repo.sms_messages(limit=100)
    finally:
        repo.close()
    told = [m for m in messages if m.purpose is SmsPurpose.OPERATOR and m.to == OPERATOR]
    assert all(m.status is SmsStatus.SENT for m in told)  # sent by the watchdog, never queued
    return [m.body for m in told]


async def running(watchdog: Watchdog) -> None:
    await watchdog.start()
    await wait_for(lambda: watchdog.checks >= 2, watchdog.checked)


async def test_a_killed_broker_is_told_once_and_its_return_once(
    own_mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    config = config_for(tmp_path)
    clock = SystemClock()
    home = f"h-{uuid.uuid4().hex[:6]}"
    async with (
        running_ingest(own_mosquitto, config.store.sqlite_path, clock, group=home),
        running_gateway(
            own_mosquitto, home, tmp_path / "outbox.sqlite3", clock, heartbeat=timedelta(seconds=0.4)
        ),
    ):
        watchdog = build_watchdog(config)
        await running(watchdog)
        try:
            assert operator_texts(config) == []  # two checks of a well platform: nobody is told
            own_mosquitto.kill()
            await wait_for(lambda: len(operator_texts(config)) == 1, watchdog.checked, 20)
            assert "全ゲートウェイ応答なし" in operator_texts(config)[0]
            assert b'mimamori_platform_outage{route="platform"} 1.0' in watchdog.metrics.render()
            told_at = watchdog.checks
            await wait_for(lambda: watchdog.checks >= told_at + 10, watchdog.checked)
            assert len(operator_texts(config)) == 1  # still down: no storm
            own_mosquitto.start()
            await wait_for(lambda: len(operator_texts(config)) == 2, watchdog.checked, 40)
            assert "復旧" in operator_texts(config)[1]
            back_at = watchdog.checks
            await wait_for(lambda: watchdog.checks >= back_at + 10, watchdog.checked)
            assert len(operator_texts(config)) == 2
        finally:
            await watchdog.stop()


async def test_an_alerts_process_that_stops_ticking_is_told_and_a_restart_does_not_tell_again(
    tmp_path: Path,
) -> None:
    config = config_for(tmp_path, detector_stale_s=1.0, gateway_silence_s=3600)
    clock = SystemClock()
    beat(config.alerts.heartbeat_path, clock.now())
    watchdog = build_watchdog(config)
    await running(watchdog)
    try:
        await wait_for(lambda: len(operator_texts(config)) == 1, watchdog.checked, 20)
        assert "検知停止" in operator_texts(config)[0]
    finally:
        await watchdog.stop()
    again = build_watchdog(config)  # a restarted watchdog remembers the outage it told
    await running(again)
    try:
        checks = again.checks
        await wait_for(lambda: again.checks >= checks + 5, again.checked)
        assert len(operator_texts(config)) == 1
        for _ in range(3):  # the alerts process ticks again
            beat(config.alerts.heartbeat_path, clock.now())
        async with asyncio.timeout(20):
            while len(operator_texts(config)) < 2:
                beat(config.alerts.heartbeat_path, clock.now())
                async with again.checked:
                    await again.checked.wait()
        assert "復旧" in operator_texts(config)[1]
    finally:
        await again.stop()


async def metrics_server(counter: list[int]) -> AsyncIterator[str]:
    async def metrics(_: web.Request) -> web.Response:
        sample = f'mimamori_ingest_received_total{{channel="events"}} {counter[0]}'
        body = f"# TYPE mimamori_ingest_received counter\n{sample}\n"
        return web.Response(text=body, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        await runner.cleanup()


async def test_an_ingest_whose_counter_stops_moving_is_told_once(tmp_path: Path) -> None:
    counter = [0]
    servers = metrics_server(counter)
    url = await anext(servers)
    config = config_for(tmp_path, ingest_metrics_urls=[url], ingest_stall_s=1.5, gateway_silence_s=3600)
    watchdog = build_watchdog(config)
    await running(watchdog)
    try:
        for _ in range(5):  # moving: well
            counter[0] += 10
            await wait_for(lambda seen=watchdog.checks: watchdog.checks > seen, watchdog.checked)
        assert operator_texts(config) == []
        await wait_for(lambda: len(operator_texts(config)) == 1, watchdog.checked, 20)  # stalled
        assert "取り込み停止" in operator_texts(config)[0]
        await servers.aclose()  # and then gone altogether: the same outage
        checks = watchdog.checks
        await wait_for(lambda: watchdog.checks >= checks + 8, watchdog.checked)
        assert len(operator_texts(config)) == 1
    finally:
        await watchdog.stop()


async def test_a_failing_sms_provider_is_told_by_email(tmp_path: Path) -> None:
    with smtp_server() as (mailbox, port):
        config = config_for(
            tmp_path, gateway_silence_s=3600, operator_emails=["ops@town.example"], sms_failures=3
        )
        config = config.model_copy(
            update={
                "email": EmailConfig(enabled=True, smtp_host="127.0.0.1", smtp_port=port, security="none")
            }
        )
        repo = EscalationRepository(config.alerts.state_path)
        repo.open()
        now = SystemClock().now()
        for n in range(2):  # a message whose attempts keep failing (Twilio 503s)
            repo.enqueue_sms(
                key=f"k{n}", to="+819011110000", body="x", purpose=SmsPurpose.ALERT, urgent=True, now=now
            )
        for m in repo.sms_messages():
            repo.update_sms(replace(m, attempts=2, error="503 service unavailable"))
        repo.close()
        watchdog = build_watchdog(config)
        await running(watchdog)
        try:
            await wait_for(lambda: len(mailbox.messages) == 1, watchdog.checked, 20)
        finally:
            await watchdog.stop()
    assert "SMS送信失敗4回" in str(mailbox.messages[0]["Subject"])
    assert mailbox.messages[0]["To"] == "ops@town.example"
    assert operator_texts(config) == []  # SMS is what is failing: the operators are not texted about it


async def test_the_drill_goes_through_to_the_detector_and_a_stopped_detector_fails_it(
    mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    drill_home = f"drill-{uuid.uuid4().hex[:6]}"
    config = config_for(
        tmp_path, drill_household=drill_home, drill_every_s=0.5, drill_deadline_s=3.0, gateway_silence_s=3600
    )
    config = config.model_copy(
        update={
            "broker": BrokerConfig(port=mosquitto.port),
            "alerts": config.alerts.model_copy(update={"tick_s": 0.3, "http_port": 0}),
        }
    )
    clock = SystemClock()
    async with running_ingest(mosquitto, config.store.sqlite_path, clock, group=drill_home):
        store = SqliteEventStore(config.store.sqlite_path)
        store.open()
        registry = Registry(config.alerts.state_path)
        registry.open()
        detector = build_live_detector(config, store, registry, clock)
        detector.open()
        alerts = AlertsService(config, clock, detector=detector)
        await alerts.start()
        watchdog = build_watchdog(config)
        drill = watchdog.drill
        assert drill is not None
        await running(watchdog)
        try:
            await wait_for(lambda: drill.passed >= 3, watchdog.checked, 30)  # broker, ingest, store, detector
            assert operator_texts(config) == []
            await alerts.stop()  # the alerts process stops: readings still reach the store, not the detector
            await wait_for(lambda: len(operator_texts(config)) == 1, watchdog.checked, 30)
            assert "訓練" in operator_texts(config)[0]
        finally:
            await watchdog.stop()
            detector.close()
            registry.close()
            store.close()


async def test_the_alerts_healthz_says_what_is_stale(tmp_path: Path) -> None:
    config = config_for(tmp_path, detector_stale_s=300, ingest_stall_s=600, gateway_silence_s=600)
    config = config.model_copy(
        update={"alerts": config.alerts.model_copy(update={"tick_s": 3600, "http_port": 0})}
    )
    clock = FakeClock(datetime(2026, 12, 3, 1, 0, tzinfo=UTC))
    store = SqliteEventStore(config.store.sqlite_path)
    store.open()
    registry = Registry(config.alerts.state_path)
    registry.open()
    detector = build_live_detector(config, store, registry, clock)
    detector.open()
    alerts = AlertsService(config, clock, detector=detector, activity=store)
    await alerts.start()
    try:
        async with aiohttp.ClientSession() as http:
            await wait_for(lambda: alerts.last_tick_at is not None, alerts.ticked)  # runs at start
            async with http.get(f"http://127.0.0.1:{alerts.port}/healthz") as fresh:
                assert fresh.status == 200
                assert (await fresh.json())["status"] == "ok"
            clock.advance(timedelta(minutes=11))  # no tick, no event, no heartbeat since the start
            async with http.get(f"http://127.0.0.1:{alerts.port}/healthz") as stale:
                assert stale.status == 503
                body = await stale.json()
        assert body["stale"] == ["last_tick", "last_event", "last_heartbeat"]
        assert body["last_tick_age_s"] == 660.0
        assert body["last_event_age_s"] is None  # nothing stored yet
    finally:
        await alerts.stop()
        detector.close()
        registry.close()
        store.close()


async def test_an_outage_the_alerts_service_already_told_is_folded_into_it(tmp_path: Path) -> None:
    """Every home offline through the broker's LWT: the alerts service's "many homes blind" incident
    texts the operators; the watchdog's "no gateway heard" for the same outage is not sent again."""
    config = config_for(tmp_path, gateway_silence_s=1.0)
    clock = SystemClock()
    repo = EscalationRepository(config.alerts.state_path)
    repo.open()
    outage = Finding(
        household=PLATFORM,
        kind=FindingKind.BLIND_GATEWAY,
        severity=Severity.URGENT,
        raised_at=clock.now(),
        episode="platform",
        last_activity_at=None,
        explanation=Explanation("mass_blind", {"homes": 25}),
    )
    repo.insert_incident(
        opened("platform-1", outage, operators_snapshot((), "Asia/Tokyo"), clock.now()).incident
    )
    repo.close()
    watchdog = build_watchdog(config)
    await running(watchdog)
    try:
        await wait_for(lambda: watchdog.folded >= 1, watchdog.checked, 20)
        checks = watchdog.checks
        await wait_for(lambda: watchdog.checks >= checks + 5, watchdog.checked)
    finally:
        await watchdog.stop()
    assert operator_texts(config) == []  # told once, by the alerts service


async def test_a_store_that_cannot_be_read_is_told_once(tmp_path: Path) -> None:
    config = config_for(tmp_path, gateway_silence_s=3600)
    config.store.sqlite_path.mkdir(parents=True)  # a directory where the store should be: unreadable
    watchdog = build_watchdog(config)
    await running(watchdog)
    try:
        await wait_for(lambda: len(operator_texts(config)) == 1, watchdog.checked, 20)
        assert "記録DB読めず" in operator_texts(config)[0]
        checks = watchdog.checks
        await wait_for(lambda: watchdog.checks >= checks + 5, watchdog.checked)
        assert len(operator_texts(config)) == 1
        config.store.sqlite_path.rmdir()  # the store is back
        await wait_for(lambda: len(operator_texts(config)) == 2, watchdog.checked, 20)
        assert "復旧" in operator_texts(config)[1]
    finally:
        await watchdog.stop()
