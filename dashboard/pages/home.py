"""The overview page and its live updates (server-sent events)."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from aiohttp_session import get_session
from aiohttp_sse import EventSourceResponse, sse_response

from dashboard import keys
from dashboard.access import audit, visible_households
from dashboard.climate_view import CURRENT_WINDOW, current_climate
from dashboard.live_view import read_live
from dashboard.overview import OverviewRow, build_overview, device_problems
from dashboard.render import render, render_fragment
from dashboard.views import HouseholdView
from detection.rooms import RoomMap
from store.base import ClimateReader

log = logging.getLogger(__name__)
PAGE_SIZE: Final = 200
ROOMS: Final = RoomMap()  # climate sensors' rooms, from their names
routes = web.RouteTableDef()


def overview_rows(app: web.Application, households: list[HouseholdView]) -> list[OverviewRow]:
    """Current state of ``households``, most urgent first."""
    now = app[keys.CLOCK].now()
    wanted = {h.id for h in households}
    live = read_live(app[keys.ACTIVITY], wanted)
    states = app[keys.CLASSIFY].states(wanted, now, live)
    problems = {h: device_problems(live.devices[h], live.gateways[h], now) for h in wanted}
    records = app[keys.RECORDS]
    reader = app[keys.ACTIVITY]
    climate = (
        current_climate(reader.climate_since(now - CURRENT_WINDOW), ROOMS, now)
        if isinstance(reader, ClimateReader)
        else {}
    )
    return build_overview(
        households,
        states,
        live.activity,
        problems,
        records.open_incidents(),
        records.coverage(wanted),
        climate,
    )


@dataclass(frozen=True, slots=True)
class OverviewPage:
    rows: list[OverviewRow]  # this page's rows
    number: int  # 1-based
    pages: int
    total: int
    first: int  # 1-based position of the first row


def overview_page(request: web.Request) -> OverviewPage:
    """The rows of the page asked for (``?page=N``, most urgent first, PAGE_SIZE each)."""
    rows = overview_rows(request.app, visible_households(request))
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    try:
        number = min(max(1, int(request.query.get("page", "1"))), pages)
    except ValueError:
        number = 1
    start = (number - 1) * PAGE_SIZE
    return OverviewPage(rows[start : start + PAGE_SIZE], number, pages, len(rows), start + 1)


@routes.get("/", name="overview")
async def overview(request: web.Request) -> web.Response:
    page = overview_page(request)
    audit(request, "view_overview", None, f"{len(page.rows)} of {page.total} households, page {page.number}")
    return render(request, "overview.html", {"rows": page.rows, "page": page})


@routes.get("/events/overview")
async def overview_events(request: web.Request) -> web.StreamResponse:
    """Pushes the overview's table body whenever it changes (checked on every broadcaster tick)."""
    try:
        async with sse_response(request) as stream:
            await _push_overview(request, stream)
    except ConnectionResetError:  # the browser left before the stream started (a page change)
        log.info("dashboard.overview_stream_gone")
        return web.Response(status=204)
    return stream


async def _push_overview(request: web.Request, stream: EventSourceResponse) -> None:
    """Until the browser, the session or the broadcaster goes away."""
    broadcaster = request.app[keys.BROADCASTER]
    session_id = (await get_session(request)).identity
    sessions = request.app[keys.SESSIONS]
    last = ""
    ticks = broadcaster.subscribe()
    try:
        while True:
            page = overview_page(request)
            body = render_fragment(request, "overview_rows.html", {"rows": page.rows})
            if not stream.is_connected():
                break
            if body != last:
                audit(request, "view_overview_live", None, f"{len(page.rows)} households, page {page.number}")
                try:
                    await stream.send(json.dumps({"html": body, "total": page.total}), event="overview")
                except (ConnectionResetError, TimeoutError):  # the browser went away or stalled
                    log.info("dashboard.overview_stream_gone")
                    break
                last = body
            await ticks.next()
            if broadcaster.closed or not stream.is_connected() or not sessions.is_live(session_id):
                break
    finally:
        await broadcaster.unsubscribe(ticks)
