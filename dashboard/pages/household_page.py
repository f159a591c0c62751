"""The household page: heat map, today's timeline, rhythm, incidents with their log, devices, away."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from aiohttp import web

from dashboard import keys
from dashboard.access import household_for
from dashboard.charts import DayRhythm, HeatMap, Timeline, heat_map, local_days, rhythm, timeline, window_utc
from dashboard.overview import DeviceProblem, device_problems
from dashboard.records import AwayPeriod, Contact, Household, HouseholdState, Incident, Policy
from dashboard.render import render
from store.base import DeviceState, GatewayLiveState

HEATMAP_DAYS: Final = 90
RHYTHM_DAYS: Final = 30
routes = web.RouteTableDef()


@dataclass(frozen=True, slots=True)
class HouseholdPage:
    household: Household
    state: HouseholdState
    last_activity_at: datetime | None
    heat: HeatMap
    today: Timeline
    rhythm: tuple[DayRhythm, ...]
    incidents: list[Incident]
    devices: list[DeviceState]
    gateways: list[GatewayLiveState]
    problems: tuple[DeviceProblem, ...]
    away: list[AwayPeriod]
    contacts: list[Contact]
    policy: Policy


def household_page(app: web.Application, household: Household) -> HouseholdPage:
    now = app[keys.CLOCK].now()
    reader = app[keys.ACTIVITY]
    records = app[keys.RECORDS]
    tz = ZoneInfo(household.tz)
    today = now.astimezone(tz).date()
    start, end = window_utc(today, HEATMAP_DAYS, tz)
    rollups = reader.hourly_activity(household.id, start, end)
    rhythm_start, _ = window_utc(today, RHYTHM_DAYS + 1, tz)
    times = reader.activity_times(household.id, rhythm_start, end)
    today_start, _ = window_utc(today, 1, tz)
    devices = reader.devices(household.id)
    gateways = reader.gateways(household.id)
    last = times[-1] if times else _last_activity(app, household.id)
    return HouseholdPage(
        household=household,
        state=app[keys.CLASSIFY].states([household.id], now)[household.id],
        last_activity_at=last,
        heat=heat_map(rollups, today, HEATMAP_DAYS, tz),
        today=timeline(reader.events(household.id, today_start, end), today, tz, now),
        rhythm=rhythm(times, local_days(today - timedelta(days=1), RHYTHM_DAYS), tz),
        incidents=records.incidents(household.id, now - timedelta(days=HEATMAP_DAYS)),
        devices=devices,
        gateways=gateways,
        problems=device_problems(devices, gateways, now),
        away=records.away_periods(household.id),
        contacts=records.contacts(household.id),
        policy=records.policy(household.id),
    )


def _last_activity(app: web.Application, household: str) -> datetime | None:
    found = (a for a in app[keys.ACTIVITY].household_activity() if a.household == household)
    return next((a.last_activity_at for a in found), None)


@routes.get("/households/{household}", name="household")
async def household_view(request: web.Request) -> web.Response:
    household = household_for(request, "view_household")
    page = household_page(request.app, household)
    return render(request, "household.html", {"page": page, "h": household})
