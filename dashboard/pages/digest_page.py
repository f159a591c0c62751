"""The weekly digest: a printable page and the same rows as CSV."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from dashboard import keys
from dashboard.access import household_for
from dashboard.climate_view import hot_hours_by_day
from dashboard.digest import DigestDay, digest_csv, digest_days, parse_week
from dashboard.render import render
from dashboard.views import HouseholdView, IncidentView
from detection.rooms import RoomMap
from store.base import ClimateReader

routes = web.RouteTableDef()


def _week(request: web.Request, household: HouseholdView) -> tuple[date, list[DigestDay], list[IncidentView]]:
    tz = ZoneInfo(household.tz)
    now = request.app[keys.CLOCK].now()
    try:
        start = parse_week(request.query.get("week"), now.astimezone(tz).date())
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    begin = datetime.combine(start, time(0), tz)
    end = begin + timedelta(days=8)  # one more day: bedtime after midnight on Sunday
    reader = request.app[keys.ACTIVITY]
    rollups = reader.hourly_activity(household.id, begin, begin + timedelta(days=7))
    times = reader.activity_times(household.id, begin, end)
    incidents = [
        i
        for i in request.app[keys.RECORDS].incidents(household.id, begin)
        if begin <= i.opened_at < begin + timedelta(days=7)
    ]
    days = digest_days(start, rollups, times, incidents, tz)
    if isinstance(reader, ClimateReader):
        readings = reader.climate_readings(household.id, begin, begin + timedelta(days=7))
        if readings:
            rooms = RoomMap(households={household.id: request.app[keys.RECORDS].device_rooms(household.id)})
            hot = hot_hours_by_day(readings, rooms, household.id, tz)
            days = [replace(d, hot_hours=hot.get(d.day, 0.0)) for d in days]
    return start, days, incidents


@routes.get("/households/{household}/digest", name="digest")
async def digest_page(request: web.Request) -> web.Response:
    household = household_for(request, "view_digest")
    start, days, incidents = _week(request, household)
    return render(
        request,
        "digest.html",
        {
            "h": household,
            "start": start,
            "end": start + timedelta(days=6),
            "days": days,
            "incidents": incidents,
            "prev_week": start - timedelta(days=7),
            "next_week": start + timedelta(days=7),
        },
    )


@routes.get("/households/{household}/digest.csv", name="digest_csv")
async def digest_export(request: web.Request) -> web.Response:
    household = household_for(request, "export_digest")
    start, days, _ = _week(request, household)
    return web.Response(
        text=digest_csv(household.id, days),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{household.id}-{start.isoformat()}.csv"'},
    )
