"""The demo's homes: what their devices report, pushed to the broker as simulated time passes, with
the demo's clock held back until the store has it.

The detector judges a home's silence against the clock, and a report takes real time to reach the
store (simulator → broker → gateway → uplink → ingest → SQLite). At 1200× a real second is twenty
simulated minutes: on a busy machine a home whose reports are only late would look silent, and the
demo would raise an inactivity nobody scripted. So the clock runs at most ``LEAD`` ahead of what the
store has of every home that can reach it, and waits there (on ingest's commits) for the rest. ``LEAD``
is what an unloaded machine shows anyway at 1200× (a push every quarter of a real second, and the way
to the store), so there the clock never waits; on a busy one the demo slows instead of lying. A home
whose uplink is cut is not waited for (it is blind: that is the outage), nor is the town while the
broker is gone (the watchdog tells that, on a clock that goes on).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.demo_town import Town
from firmware_sim.formats import encode
from firmware_sim.network import NetworkLink
from ingest.service import IngestService
from mimamori.clock import ScaledClock
from mimamori.mqtt import MqttClient
from store.sqlite import SqliteEventStore

log = logging.getLogger(__name__)

LEAD = timedelta(minutes=10)  # simulated: how far the clock may run ahead of what the store has
PUBLISH_EVERY_S = 0.25  # real seconds between pushes of simulated readings
LOOK_AGAIN_S = 1.0  # real: with no commit meanwhile, whether the broker is still there
GIVE_UP_S = 30.0  # real: reports this late mean a part is down, not a busy machine; time goes on


@dataclass(frozen=True, slots=True)
class Push:
    """The reports of ``since``..the next push: each home's newest, to find in the store."""

    since: datetime
    newest: Mapping[str, datetime]


async def publish_homes(
    sim: MqttClient,
    town: Town,
    clock: ScaledClock,
    store: SqliteEventStore,
    ingest: IngestService,
    links: Mapping[str, NetworkLink],
) -> None:
    """Push each home's reports up to the clock's now, a push every ``PUBLISH_EVERY_S``, the clock
    held at most ``LEAD`` past the oldest push not yet stored."""
    done = town.live_start
    unstored: deque[Push] = deque()
    clock.hold_at(max(done + LEAD, clock.now()))  # a slow start may have let it run on
    while True:
        now = clock.now()
        newest: dict[str, datetime] = {}
        for home in town.homes:
            for event in home.events_between(done, now):  # in time order
                for topic, payload in encode(event, f"sim/{home.household}", "native", home.zone):
                    sim.publish_nowait(topic, payload)
                if links[home.household].up:
                    newest[home.household] = event.observed_at
        unstored.append(Push(done, newest))
        done = now
        await keep_up(unstored, done, clock, store, ingest, sim)
        await asyncio.sleep(PUBLISH_EVERY_S)  # pacing simulated time, not synchronisation


async def keep_up(
    unstored: deque[Push],
    done: datetime,
    clock: ScaledClock,
    store: SqliteEventStore,
    ingest: IngestService,
    sim: MqttClient,
) -> None:
    """Forget the pushes the store has, move the clock's limit to ``LEAD`` past the oldest one left
    (or past ``done``), and while the clock waits at that limit, wait on ingest's commits: return once
    it may go on, the broker is gone, or after ``GIVE_UP_S`` (logged)."""

    def limit() -> datetime:
        have = {a.household: a.last_event_at for a in store.household_activity() if a.last_event_at}
        while unstored and all(h in have and have[h] >= at for h, at in unstored[0].newest.items()):
            unstored.popleft()
        if not sim.is_connected:  # what is on its way stays there until the broker is back
            unstored.clear()
        at = (unstored[0].since if unstored else done) + LEAD
        clock.hold_at(at)
        return at

    def may_go_on() -> bool:
        return clock.now() < limit()

    loop = asyncio.get_running_loop()
    deadline = loop.time() + GIVE_UP_S
    while loop.time() < deadline:
        async with ingest.committed:
            try:
                async with asyncio.timeout(LOOK_AGAIN_S):
                    await ingest.committed.wait_for(may_go_on)
                return
            except TimeoutError:
                continue
    log.warning("demo.reports_late pushes=%s after_s=%s", len(unstored), GIVE_UP_S)
    unstored.clear()
    clock.hold_at(done + LEAD)
