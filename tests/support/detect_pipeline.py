"""The live detector at the end of the real pipeline (gateway → mosquitto → ingest → SQLite), for
integration tests: weeks of history written to the store first, then the detector ticking every
simulated minute while nothing moves and the gateway's heartbeats say the home is still connected."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from detection.episodes import SqliteEpisodes
from detection.findings import Finding
from detection.live import LiveDetector
from detection.model import FixedProfiles
from mimamori import contract
from mimamori.clock import FakeClock
from mimamori.mqtt import MqttClient
from store.sqlite import SqliteEventStore
from tests.support.harness import RunningIngest, wait_for

Observation = tuple[datetime, str, contract.Kind, float]  # at, device, kind, value


def seed_history(
    path: Path,
    household: str,
    today: datetime,
    day: Callable[[datetime], Sequence[Observation]],
    days: int = 14,
) -> int:
    """The ``days`` days before ``today``, each ``day(midnight)``'s readings, written to the store at
    ``path`` as gateway ``gw-1``'s events; how many."""
    store = SqliteEventStore(path)
    store.open()
    events = [
        contract.Event(
            message_id=contract.message_id_for(household, device, kind, value, at),
            household=household,
            gateway="gw-1",
            device=device,
            kind=kind,
            value=value,
            observed_at=at.astimezone(UTC),
            seq=k * 1000 + seq,
        )
        for k in range(days, 0, -1)
        for seq, (at, device, kind, value) in enumerate(day(today - timedelta(days=k)))
    ]
    store.write_events(events)
    store.close()
    return len(events)


def live_detector(store: SqliteEventStore, directory: Path, time_zone: str, clock: FakeClock) -> LiveDetector:
    """An opened live detector over ``store``, its episodes in ``directory`` (a restart finds them)."""
    detector = LiveDetector(
        store, FixedProfiles(time_zone), SqliteEpisodes(directory / "alerts.sqlite3"), clock
    )
    detector.open()
    return detector


async def tick_while_still(
    ingest: RunningIngest,
    beats: MqttClient,
    household: str,
    directory: Path,
    time_zone: str,
    clock: FakeClock,
    minutes: int,
) -> list[Finding]:
    """Tick a live detector every simulated minute for ``minutes`` while nothing moves; every 10 minutes
    the gateway ``gw-1`` heartbeats (its own timer runs in real time), stored before the tick. What it
    raised."""
    detector = live_detector(ingest.store, directory, time_zone, clock)
    beat_topic = contract.topic(household, "gw-1", contract.Channel.HEARTBEAT)
    found: list[Finding] = []
    for minute in range(minutes):
        now = clock.now()
        if minute % 10 == 0:
            beat = contract.Heartbeat(household, "gw-1", now.astimezone(UTC), 1_000 + minute, 0)
            await beats.publish(beat_topic, beat.encode())
            await wait_for(
                lambda at=now: any(
                    g.last_heartbeat_at is not None and g.last_heartbeat_at >= at.astimezone(UTC)
                    for g in ingest.store.gateways(household)
                ),
                ingest.service.committed,
            )
        found += detector.tick(now)
        clock.advance(timedelta(minutes=1))
    detector.close()
    return found
