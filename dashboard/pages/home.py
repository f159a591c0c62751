"""The overview page and its live updates (server-sent events)."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp_session import get_session
from aiohttp_sse import sse_response

from dashboard import keys
from dashboard.access import audit, visible_households
from dashboard.overview import OverviewRow, build_overview, device_problems
from dashboard.records import Household
from dashboard.render import render, render_fragment
from store.base import GatewayLiveState

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


def overview_rows(app: web.Application, households: list[Household]) -> list[OverviewRow]:
    """Current state of ``households``, most urgent first."""
    now = app[keys.CLOCK].now()
    activity_reader = app[keys.ACTIVITY]
    wanted = {h.id for h in households}
    activity = {a.household: a for a in activity_reader.household_activity() if a.household in wanted}
    gateways: dict[str, list[GatewayLiveState]] = {}
    for gateway in activity_reader.gateways(None):
        if gateway.household in wanted:
            gateways.setdefault(gateway.household, []).append(gateway)
    classify = app[keys.CLASSIFY]
    states = classify.states(wanted, now)
    problems = {
        h.id: device_problems(activity_reader.devices(h.id), gateways.get(h.id, []), now) for h in households
    }
    return build_overview(households, states, activity, problems, app[keys.RECORDS].open_incidents())


@routes.get("/", name="overview")
async def overview(request: web.Request) -> web.Response:
    households = visible_households(request)
    rows = overview_rows(request.app, households)
    audit(request, "view_overview", None, f"{len(rows)} households")
    return render(request, "overview.html", {"rows": rows})


@routes.get("/events/overview")
async def overview_events(request: web.Request) -> web.StreamResponse:
    """Pushes the overview's table body whenever it changes (checked on every broadcaster tick)."""
    broadcaster = request.app[keys.BROADCASTER]
    session_id = (await get_session(request)).identity
    sessions = request.app[keys.SESSIONS]
    last = ""
    async with sse_response(request) as stream:
        ticks = broadcaster.subscribe()
        try:
            while True:
                households = visible_households(request)
                rows = overview_rows(request.app, households)
                body = render_fragment(request, "overview_rows.html", {"rows": rows})
                if body != last:
                    audit(request, "view_overview_live", None, f"{len(rows)} households")
                    await stream.send(json.dumps({"html": body, "count": len(rows)}), event="overview")
                    last = body
                await ticks.next()
                if broadcaster.closed or not stream.is_connected() or not sessions.is_live(session_id):
                    break
        finally:
            broadcaster.unsubscribe(ticks)
    return stream
