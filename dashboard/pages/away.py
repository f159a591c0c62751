"""Away periods and the care calendar: the resident is away (hospital stay, family visit, day service
every Tuesday); detection stays quiet meanwhile. Times are typed in the household's local time."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from dashboard import keys
from dashboard.access import actor_of, household_for
from dashboard.forms import form_text
from dashboard.render import render
from dashboard.views import HouseholdView, InvalidEdit
from mimamori.forms import read_form

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


CALENDAR_FIELDS = ("kind", "label", "from", "to", "start", "end")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # the form sends 0..6 (date.weekday())


def _page(
    request: web.Request,
    household: HouseholdView,
    errors: dict[str, str],
    form: dict[str, str],
    status: int = 200,
    *,
    cal_errors: dict[str, str] | None = None,
    cal_form: dict[str, object] | None = None,
) -> web.Response:
    records = request.app[keys.RECORDS]
    return render(
        request,
        "away.html",
        {
            "h": household,
            "periods": records.away_periods(household.id),
            "calendar": records.calendar(household.id),
            "errors": errors,
            "form": form,
            "cal_errors": cal_errors or {},
            "cal_form": cal_form or {"kind": "weekly", "days": []},
            "saved": request.query.get("saved") == "1",
        },
        status=status,
    )


def _local(value: str, tz: ZoneInfo) -> datetime | None:
    try:
        return datetime.strptime(value, LOCAL_FORMAT).replace(tzinfo=tz)
    except ValueError:
        return None


@routes.get("/households/{household}/away", name="away")
async def away_form(request: web.Request) -> web.Response:
    household = household_for(request, "view_away")
    return _page(request, household, {}, {})


@routes.post("/households/{household}/away")
async def add_away(request: web.Request) -> web.Response:
    household = household_for(request, "add_away")
    posted = await read_form(request)
    form = {name: form_text(posted, name) for name in ("start", "end", "note")}
    tz = ZoneInfo(household.tz)
    start, end = _local(form["start"], tz), _local(form["end"], tz)
    errors = {name: "YYYY-MM-DD HH:MM" for name, value in (("start", start), ("end", end)) if value is None}
    if start is not None and end is not None:
        try:
            request.app[keys.RECORDS].add_away(
                household.id,
                start,
                end,
                form["note"],
                actor=actor_of(request),
                now=request.app[keys.CLOCK].now(),
            )
        except InvalidEdit as exc:
            errors = exc.errors
    if errors:
        log.info("dashboard.away_refused household=%s fields=%s", household.id, ",".join(errors))
        return _page(request, household, errors, form, status=422)
    raise web.HTTPSeeOther(f"/households/{household.id}/away?saved=1")


@routes.post("/households/{household}/away/{away}/remove")
async def remove_away(request: web.Request) -> web.Response:
    household = household_for(request, "remove_away")
    try:
        away_id = int(request.match_info["away"])
        request.app[keys.RECORDS].remove_away(
            household.id, away_id, actor=actor_of(request), now=request.app[keys.CLOCK].now()
        )
    except (ValueError, InvalidEdit):
        return _page(request, household, {"form": "no such away period"}, {}, status=422)
    raise web.HTTPSeeOther(f"/households/{household.id}/away?saved=1")


def _calendar_entry(form: dict[str, str], days: list[str]) -> dict[str, object]:
    """The posted form as a households-file entry (validated by the same model as the import)."""
    entry: dict[str, object] = {"label": form["label"], "start": form["start"], "end": form["end"]}
    if form["kind"] == "dated":
        entry["from"] = form["from"]
        entry["to"] = form["to"] or form["from"]
    else:
        entry["weekly"] = [DAYS[int(d)] for d in days if d in {"0", "1", "2", "3", "4", "5", "6"}]
    return {k: v for k, v in entry.items() if v != ""}  # empty fields are missing, not malformed


@routes.post("/households/{household}/calendar")
async def add_calendar_entry(request: web.Request) -> web.Response:
    household = household_for(request, "add_calendar")
    posted = await read_form(request)
    form = {name: form_text(posted, name) for name in CALENDAR_FIELDS}
    days = [v for v in posted.getall("days", []) if isinstance(v, str)][:7]
    try:
        request.app[keys.RECORDS].add_calendar_entry(
            household.id,
            _calendar_entry(form, days),
            actor=actor_of(request),
            now=request.app[keys.CLOCK].now(),
        )
    except InvalidEdit as exc:
        log.info("dashboard.calendar_refused household=%s fields=%s", household.id, ",".join(exc.errors))
        errors = {("days" if k == "weekly" else k): v for k, v in exc.errors.items()}
        return _page(request, household, {}, {}, 422, cal_errors=errors, cal_form={**form, "days": days})
    raise web.HTTPSeeOther(f"/households/{household.id}/away?saved=1")


@routes.post("/households/{household}/calendar/{entry}/remove")
async def remove_calendar_entry(request: web.Request) -> web.Response:
    household = household_for(request, "remove_calendar")
    try:
        entry_id = int(request.match_info["entry"])
        request.app[keys.RECORDS].remove_calendar_entry(
            household.id, entry_id, actor=actor_of(request), now=request.app[keys.CLOCK].now()
        )
    except (ValueError, InvalidEdit):
        return _page(request, household, {}, {}, 422, cal_errors={"form": "no such calendar entry"})
    raise web.HTTPSeeOther(f"/households/{household.id}/away?saved=1")
