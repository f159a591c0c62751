"""Ticks for the live overview: every open overview stream re-checks its households on each tick.

The broadcaster's task is started and stopped by the app's cleanup context; tests call
:meth:`OverviewBroadcaster.tick` themselves instead of waiting for the timer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web


class Subscription:
    def __init__(self) -> None:
        self._due = asyncio.Event()

    def wake(self) -> None:
        self._due.set()

    async def next(self) -> None:
        await self._due.wait()
        self._due.clear()


class OverviewBroadcaster:
    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._subscribers: set[Subscription] = set()
        self._closed = False
        self.changed = asyncio.Condition()  # notified when a stream ends (tests wait on it)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self) -> Subscription:
        subscription = Subscription()
        self._subscribers.add(subscription)
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        async with self.changed:
            self.changed.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def tick(self) -> None:
        for subscription in self._subscribers:
            subscription.wake()

    async def on_shutdown(self, app: web.Application) -> None:
        """Let every open stream end, so the server stops without waiting for them."""
        self._closed = True
        self.tick()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)  # the live-update period, not synchronisation
            self.tick()

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(self._run(), name="overview-broadcaster")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
