"""The watchdog's pure core: readings of the platform's parts in, one outage notice and one recovery out.

Each check gives a :class:`Observation` per :class:`Part`. A part that keeps failing for ``hold`` opens an
outage; every part failing while it is open belongs to the same outage, so a broker that stops gives
one message (no heartbeats, ingest still) and not one per symptom. The outage is told once, and its
recovery once, after every part has passed for ``hold``. The SMS path is told separately and by
e-mail, since SMS is what is failing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum


class Part(StrEnum):
    """What the watchdog watches. Each member's comment says what failing means."""

    GATEWAYS = "gateways"  # no heartbeat from any gateway (broker, network or ingest down)
    INGEST = "ingest"  # ingest's received counter stopped moving, or its metrics cannot be read
    STORE = "store"  # the store cannot be read
    DETECTOR = "detector"  # the alerts process has not completed a detection tick
    SMS = "sms"  # the SMS provider keeps failing
    DRILL = "drill"  # a drill reading did not reach the store and the detector in time


class Route(StrEnum):
    """Which outage a part belongs to, and so how it is told."""

    PLATFORM = "platform"  # SMS (and e-mail) to the operators
    SMS = "sms"  # e-mail to the operators


ROUTE_OF: dict[Part, Route] = {p: Route.SMS if p is Part.SMS else Route.PLATFORM for p in Part}


@dataclass(frozen=True, slots=True)
class Observation:
    part: Part
    failing: bool
    amount: int = 0  # what was seen, for the message: minutes silent, or failed SMS attempts


@dataclass(frozen=True, slots=True)
class Outage:
    """One outage of one route, as persisted: restart-proof."""

    route: Route
    failing_since: dict[Part, datetime]  # parts failing now, since when
    told_at: datetime | None = None  # the outage message went out
    began_at: datetime | None = None  # the first failure of the told outage (names its notices)
    parts_told: tuple[Part, ...] = ()
    passing_since: datetime | None = None  # every part passing since then (recovery pending)
    amounts: dict[Part, int] = field(default_factory=dict)


class NoticeKind(StrEnum):
    OUTAGE = "outage"
    RECOVERED = "recovered"


@dataclass(frozen=True, slots=True)
class Notice:
    route: Route
    kind: NoticeKind
    parts: tuple[Part, ...]
    amounts: tuple[int, ...]  # one per part, as read when told (recoveries: none)
    since: datetime  # when the outage began
    at: datetime

    @property
    def key(self) -> str:
        """Stable for this notice: the same outage is never told twice, even across restarts."""
        return f"watchdog:{self.route.value}:{self.kind.value}:{self.since.isoformat()}"


def assess(
    outages: dict[Route, Outage], readings: Iterable[Observation], now: datetime, hold: timedelta
) -> tuple[dict[Route, Outage], list[Notice]]:
    """The outages after ``readings`` at ``now``, and the notices to send (none most of the time)."""
    by_route: dict[Route, list[Observation]] = {}
    for reading in readings:
        by_route.setdefault(ROUTE_OF[reading.part], []).append(reading)
    result = dict(outages)
    notices: list[Notice] = []
    for route, route_readings in by_route.items():
        outage, notice = _step(outages.get(route), route, route_readings, now, hold)
        if outage is None:
            result.pop(route, None)
        else:
            result[route] = outage
        if notice is not None:
            notices.append(notice)
    return result, notices


def _step(
    outage: Outage | None, route: Route, readings: list[Observation], now: datetime, hold: timedelta
) -> tuple[Outage | None, Notice | None]:
    failing = {r.part: r for r in readings if r.failing}
    passing = {r.part for r in readings if not r.failing}
    if outage is None:
        if not failing:
            return None, None
        outage = Outage(route, {})
    since = {p: t for p, t in outage.failing_since.items() if p not in passing}
    since.update({p: outage.failing_since.get(p, now) for p in failing})
    amounts = {**outage.amounts, **{p: r.amount for p, r in failing.items()}}
    outage = replace(outage, failing_since=since, amounts=amounts)
    if outage.told_at is None:
        if not since:
            return None, None  # a blip that never lasted ``hold``: forgotten, nobody told
        if now - min(since.values()) < hold:
            return outage, None
        parts = tuple(sorted(since, key=list(Part).index))
        start = min(since.values())
        told = replace(outage, told_at=now, began_at=start, parts_told=parts, passing_since=None)
        return told, Notice(route, NoticeKind.OUTAGE, parts, tuple(amounts[p] for p in parts), start, now)
    if since:
        return replace(outage, passing_since=None), None
    passing_from = outage.passing_since or now
    if now - passing_from < hold:
        return replace(outage, passing_since=passing_from), None
    start = outage.began_at or outage.told_at
    notice = Notice(route, NoticeKind.RECOVERED, outage.parts_told, (), start, now)
    return None, notice
