"""The JSON API (described by ``/api/openapi.json``): only the caller's households, 404 otherwise."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from dashboard import keys
from dashboard.access import audit, household_for, visible_households
from dashboard.charts import window_utc
from dashboard.overview import OverviewRow
from dashboard.pages.home import overview_rows
from dashboard.pages.household_page import HEATMAP_DAYS, household_page
from dashboard.views import IncidentView
from detection.explain import render as explain

routes = web.RouteTableDef()


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def _summary(row: OverviewRow) -> dict[str, Any]:
    return {
        "id": row.household.id,
        "name": row.household.name,
        "tz": row.household.tz,
        "state": row.state.value,
        "last_activity_at": _time(row.last_activity_at),
        "open_incidents": row.open_incidents,
        "device_problems": [{"device": p.device, "problem": p.problem} for p in row.problems],
    }


def _incident(incident: IncidentView, lang: str) -> dict[str, Any]:
    return {
        "id": incident.id,
        "kind": incident.kind,
        "severity": incident.severity,
        "state": incident.state,
        "opened_at": _time(incident.opened_at),
        "closed_at": _time(incident.closed_at),
        "reason": explain(incident.explanation, "ja" if lang == "ja" else "en"),
        "explanation": {"key": incident.explanation.key, "params": dict(incident.explanation.params)},
        "resolution": incident.outcome,
        "outcome": incident.outcome,
        "note": incident.note,
        "log": [
            {"at": _time(e.at), "action": e.action, "who": e.who, "detail": e.detail} for e in incident.log
        ],
    }


@routes.get("/api/households")
async def list_households(request: web.Request) -> web.Response:
    rows = overview_rows(request.app, visible_households(request))
    audit(request, "api_households", None, f"{len(rows)} households")
    return web.json_response({"households": [_summary(r) for r in rows]})


@routes.get("/api/households/{household}")
async def get_household(request: web.Request) -> web.Response:
    household = household_for(request, "api_household")
    page = household_page(request.app, household)
    return web.json_response(
        {
            "id": household.id,
            "name": household.name,
            "address_hint": household.address_hint,
            "tz": household.tz,
            "language": household.language,
            "state": page.state.value,
            "last_activity_at": _time(page.last_activity_at),
            "devices": [
                {
                    "device": d.device,
                    "kind": d.kind.value,
                    "room": page.rooms[d.device].value,
                    "battery": d.battery,
                    "last_seen_at": _time(d.last_seen_at),
                }
                for d in page.devices
            ],
            "gateways": [
                {
                    "gateway": g.gateway,
                    "state": g.state.value,
                    "changed_at": _time(g.changed_at),
                    "last_heartbeat_at": _time(g.last_heartbeat_at),
                }
                for g in page.gateways
            ],
            "device_problems": [{"device": p.device, "problem": p.problem} for p in page.problems],
            "incidents": [_incident(i, request[keys.LANG]) for i in page.incidents],
            "away_periods": [
                {"start": _time(a.start), "end": _time(a.end), "set_by": a.set_by} for a in page.away
            ],
            "contacts": [
                {
                    "id": c.id,
                    "name": c.name,
                    "phone": c.phone,
                    "role": c.role,
                    "language": c.language,
                    "opted_out_at": _time(c.opted_out_at),
                }
                for c in page.contacts
            ],
        }
    )


@routes.get("/api/households/{household}/activity")
async def get_activity(request: web.Request) -> web.Response:
    """Hourly activity roll-ups of the last ``days`` local days (1..90)."""
    household = household_for(request, "api_activity")
    try:
        days = int(request.query.get("days", "7"))
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "days must be a whole number"}', content_type="application/json"
        ) from None
    if not 1 <= days <= HEATMAP_DAYS:
        raise web.HTTPBadRequest(text='{"error": "days must be 1..90"}', content_type="application/json")
    tz = ZoneInfo(household.tz)
    today = request.app[keys.CLOCK].now().astimezone(tz).date()
    start, end = window_utc(today, days, tz)
    rollups = request.app[keys.ACTIVITY].hourly_activity(household.id, start, end)
    return web.json_response(
        {
            "household": household.id,
            "start": _time(start),
            "end": _time(end),
            "hours": [{"hour": _time(r.hour), "kind": r.kind.value, "count": r.count} for r in rollups],
        }
    )


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    text = resources.files("dashboard").joinpath("openapi.json").read_text(encoding="utf-8")
    return web.json_response(json.loads(text))
