"""The sensitivity page's cost tables, computed once per household and version, off the request path.

A cost table replays a home's last weeks at each sensitivity (seconds for a busy home). The page asks
``get(key)``: a table computed for that exact key is returned at once; otherwise ``start(key, compute)``
runs the computation as a background task (the page says 「計算中」 and refreshes). The key names what the
table depends on — the household, its options, given rooms and learned outcomes (the profile), the local
day, and the day of the store's newest event — so new data or a closed incident makes a new key, and the
old table is dropped. At most ``capacity`` households are kept (least recently used first out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import date

from aiohttp import web

from detection.cost import SettingCost

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CostKey:
    """What one household's cost table depends on."""

    household: str
    version: Hashable  # the profile (options, outcomes) and the given rooms
    today: date  # the household's local day: the window ends now
    newest: date | None  # the local day of the store's newest event of the household


class CostCache:
    """Bounded cache of cost tables, one per household, each computed by one background task."""

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._done: OrderedDict[str, tuple[CostKey, list[SettingCost]]] = OrderedDict()
        self._running: dict[CostKey, asyncio.Task[None]] = {}

    @property
    def running(self) -> int:
        """How many computations are running."""
        return len(self._running)

    def get(self, key: CostKey) -> list[SettingCost] | None:
        """The table computed for ``key``, or None (not computed yet, or computed for an older key)."""
        found = self._done.get(key.household)
        if found is None or found[0] != key:
            return None
        self._done.move_to_end(key.household)
        return found[1]

    def start(self, key: CostKey, compute: Callable[[], Awaitable[list[SettingCost]]]) -> None:
        """Computes ``key``'s table in a background task unless one is already running for it."""
        if key not in self._running:
            self._running[key] = asyncio.create_task(self._run(key, compute), name=f"cost-{key.household}")

    async def settled(self) -> None:
        """Returns once no computation is running (tests and shutdown wait on it)."""
        while self._running:
            await asyncio.wait(list(self._running.values()))

    async def _run(self, key: CostKey, compute: Callable[[], Awaitable[list[SettingCost]]]) -> None:
        try:
            costs = await compute()
        except Exception:  # a failed computation is retried on the next view
            log.exception("dashboard.cost_failed household=%s", key.household)
            return
        finally:
            self._running.pop(key, None)
        self._done[key.household] = (key, costs)
        self._done.move_to_end(key.household)
        while len(self._done) > self._capacity:
            self._done.popitem(last=False)
        log.info("dashboard.cost_computed household=%s", key.household)

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """Cancels and awaits the computations still running when the dashboard stops."""
        yield
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
