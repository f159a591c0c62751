"""APScheduler 3 for escalation: one exact job per incident at its next due step, plus periodic jobs.

The job store is in memory and is a cache: the due times live in the state database and the jobs are
rebuilt from it at start. Job ids are stable (``incident:<id>``), added with ``replace_existing``,
``coalesce`` and ``max_instances=1``; a job that fires early or twice does nothing (the engine checks
what is due against ``now``), and a periodic sweep catches anything a job missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from mimamori.clock import Clock


class EscalationScheduler:
    def __init__(
        self, clock: Clock, run_incident: Callable[[str], Awaitable[None]], misfire_grace_s: int
    ) -> None:
        self._clock = clock
        self._run_incident = run_incident
        self._grace = misfire_grace_s
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        self._scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        self._scheduler.start()

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Start no more jobs, let the running ones finish, then shut down. (APScheduler's own shutdown
        cancels running coroutine jobs and logs each as an error; a step cut off is redone after a
        restart anyway, but a clean stop should not cut it off.)"""
        if self._scheduler is None:
            return
        self._scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout_s)
        self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def _run(self, func: Callable[..., Awaitable[None]], *args: Any) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await func(*args)
        finally:
            if task is not None:
                self._running.discard(task)

    def every(self, job_id: str, seconds: float, func: Callable[[], Awaitable[None]]) -> None:
        assert self._scheduler is not None
        self._scheduler.add_job(
            self._run,
            "interval",
            args=[func],
            seconds=seconds,
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=self._grace,
            next_run_time=datetime.now(UTC),
        )

    def due(self, incident_id: str, at: datetime | None) -> None:
        """Run the incident's step at ``at`` (by the injected clock); None removes its job."""
        if self._scheduler is None:
            return
        job_id = f"incident:{incident_id}"
        if at is None:
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(job_id)
            return
        real = datetime.now(UTC) + max(at - self._clock.now(), timedelta(0))
        self._scheduler.add_job(
            self._run,
            "date",
            run_date=real,
            args=[self._run_incident, incident_id],
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=self._grace,
        )

    def rebuild(self, due: Iterable[tuple[str, datetime]]) -> int:
        count = 0
        for incident_id, at in due:
            self.due(incident_id, at)
            count += 1
        return count

    def job_ids(self) -> list[str]:
        return [] if self._scheduler is None else [j.id for j in self._scheduler.get_jobs()]
