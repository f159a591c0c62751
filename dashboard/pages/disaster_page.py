"""The disaster check page (安否確認): the running check's counts and who to reach first; administrators
start one (every household or an area), ask an area's volunteers, end it. The alerts service acts on
these requests within seconds (``[disaster] check_s``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from dashboard import keys
from dashboard.access import actor_of, audit, current_user
from dashboard.disaster_desk import DisasterDesk
from dashboard.i18n import translate
from dashboard.render import render
from mimamori.forms import read_form

routes = web.RouteTableDef()
FIELD_MAX = 80


def _desk(request: web.Request) -> DisasterDesk:
    """The desk, for an administrator; 404 for anyone else (as for a household not theirs)."""
    desk = request.app.get(keys.DISASTER)
    if desk is None or not current_user(request).is_admin:
        raise web.HTTPNotFound(text=translate(request[keys.LANG], "error.not_found"))
    return desk


def _field(form: MultiDictProxy[str], name: str) -> str:
    value = form.get(name, "").strip()
    if len(value) > FIELD_MAX:
        raise web.HTTPBadRequest(text=f"{name} is too long")
    return value


@routes.get("/disaster", name="disaster")
async def disaster_page(request: web.Request) -> web.Response:
    desk = _desk(request)
    audit(request, "disaster_view", None)
    status = _with_times(desk.status())
    note = request.query.get("note", "")
    homes = request.app[keys.RECORDS].households()
    return render(
        request,
        "disaster.html",
        {
            "check": status,
            "tz": homes[0].tz if homes else "Asia/Tokyo",
            "areas": desk.areas(),
            "note": note if note in ("started", "busy", "ended", "asked", "refused") else "",
        },
    )


def _with_times(status: dict[str, Any] | None) -> dict[str, Any] | None:
    """The status with its times as datetimes, for the page's ``local_time``."""
    if status is None:
        return None

    def at(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    rows = [{**row, "last_activity_at": at(row["last_activity_at"])} for row in status["ordered"]]
    times = {k: at(status[k]) for k in ("started_at", "ended_at")}
    return {**status, **times, "ordered": rows}


@routes.post("/disaster/start")
async def start(request: web.Request) -> web.Response:
    desk = _desk(request)
    form = await read_form(request)
    area = _field(form, "area")
    if area and area not in desk.areas():
        raise web.HTTPBadRequest(text="unknown area")
    fresh = desk.start(None, area or None, actor_of(request), request.app[keys.CLOCK].now())
    raise web.HTTPSeeOther(f"/disaster?note={'started' if fresh else 'busy'}")


@routes.post("/disaster/{check}/end")
async def end(request: web.Request) -> web.Response:
    desk = _desk(request)
    done = desk.end(request.match_info["check"][:40], actor_of(request), request.app[keys.CLOCK].now())
    raise web.HTTPSeeOther(f"/disaster?note={'ended' if done else 'refused'}")


@routes.post("/disaster/{check}/ask")
async def ask(request: web.Request) -> web.Response:
    desk = _desk(request)
    form = await read_form(request)
    area = _field(form, "area")
    done = desk.ask(request.match_info["check"][:40], area, actor_of(request), request.app[keys.CLOCK].now())
    raise web.HTTPSeeOther(f"/disaster?note={'asked' if done else 'refused'}")
