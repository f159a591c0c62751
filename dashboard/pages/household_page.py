"""The household page: heat map, today's timeline, rhythm, incidents with their log, devices, away."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from aiohttp import web

from dashboard import keys
from dashboard.access import household_for
from dashboard.charts import (
    HEAT_CELL_H,
    HEAT_CELL_W,
    HEAT_LEFT,
    HEAT_TOP,
    DayRhythm,
    HeatMap,
    Timeline,
    heat_map,
    local_days,
    rhythm,
    timeline,
    window_utc,
)
from dashboard.climate_view import CHART_DAYS, ClimateChart, climate_chart, level_hours, summer_start
from dashboard.live_view import read_one
from dashboard.overview import DeviceProblem, device_problems
from dashboard.pages.sensitivity import LearnedView, learned
from dashboard.render import render
from dashboard.views import AwayView, ContactView, HouseholdView, IncidentView, PolicyView
from detection.climate import HeatLevel
from detection.detector import HouseholdStatus
from detection.rooms import Room, RoomMap
from registry.models import Sensitivity
from store.base import ClimateReader, DeviceState, GatewayLiveState, SeqGap, SeqGapReader

HEATMAP_DAYS: Final = 90
HEAT_LAYOUT: Final = {"w": HEAT_CELL_W, "h": HEAT_CELL_H, "left": HEAT_LEFT, "top": HEAT_TOP}
RHYTHM_DAYS: Final = 30
routes = web.RouteTableDef()


ROOMS: Final = RoomMap()


@dataclass(frozen=True, slots=True)
class HouseholdPage:
    household: HouseholdView
    state: HouseholdStatus
    last_activity_at: datetime | None
    heat: HeatMap
    today: Timeline
    rhythm: tuple[DayRhythm, ...]
    incidents: list[IncidentView]
    devices: list[DeviceState]
    new_devices: frozenset[str]  # reporting, but not in the households file's `devices:` (yet)
    rooms: dict[str, Room]  # each device's room: given in the households file, else from its name
    gateways: list[GatewayLiveState]
    seq_gaps: list[SeqGap]  # events a gateway numbered but that never arrived (yet)
    problems: tuple[DeviceProblem, ...]
    away: list[AwayView]
    contacts: list[ContactView]
    policy: PolicyView
    sensitivity: Sensitivity  # the care manager's (docs/detection.md, *Sensitivity*)
    learned: list[LearnedView]  # thresholds the household's closed incidents adjust now
    climate: ClimateChart | None = None  # None: the store keeps no climate (InfluxDB)
    heat_hours: dict[HeatLevel, float] | None = None


def household_page(app: web.Application, household: HouseholdView) -> HouseholdPage:
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
    live = read_one(reader, household.id, times)
    devices = list(live.devices[household.id])
    gateways = list(live.gateways[household.id])
    found = live.activity.get(household.id)
    registered = records.registered_devices(household.id)
    given = records.device_rooms(household.id)
    climate, heat_hours = None, None
    if isinstance(reader, ClimateReader):
        rooms = RoomMap(households={household.id: given})
        chart_start, _ = window_utc(today, CHART_DAYS, tz)
        climate = climate_chart(
            reader.climate_readings(household.id, chart_start, end), today, tz, rooms, household.id
        )
        summer = reader.climate_readings(household.id, summer_start(now, tz), end)
        heat_hours = level_hours(summer, rooms, household.id) if summer else None
    return HouseholdPage(
        household=household,
        state=app[keys.CLASSIFY].states([household.id], now, live)[household.id],
        last_activity_at=found.last_activity_at if found else None,
        heat=heat_map(rollups, today, HEATMAP_DAYS, tz),
        today=timeline(reader.events(household.id, today_start, end), today, tz, now),
        rhythm=rhythm(times, local_days(today - timedelta(days=1), RHYTHM_DAYS), tz),
        incidents=records.incidents(household.id, now - timedelta(days=HEATMAP_DAYS)),
        devices=devices,
        new_devices=frozenset(d.device for d in devices if registered and d.device not in registered),
        rooms={d.device: given.get(d.device) or ROOMS.room(d.device) for d in devices},
        gateways=gateways,
        seq_gaps=reader.seq_gaps(household.id) if isinstance(reader, SeqGapReader) else [],
        problems=device_problems(devices, gateways, now),
        away=records.away_periods(household.id),
        contacts=records.contacts(household.id),
        policy=records.policy(household.id),
        sensitivity=records.sensitivity(household.id),
        learned=learned(app, household, now),
        climate=climate,
        heat_hours=heat_hours,
    )


@routes.get("/households/{household}", name="household")
async def household_view(request: web.Request) -> web.Response:
    household = household_for(request, "view_household")
    page = household_page(request.app, household)
    context = {
        "page": page,
        "h": household,
        "heat_layout": HEAT_LAYOUT,
        "closed": request.query.get("closed") == "1",
        "close_errors": {},
    }
    return render(request, "household.html", context)
