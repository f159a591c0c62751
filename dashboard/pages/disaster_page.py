"""The disaster check page (安否確認): the latest check's counts and who to reach first.

Organisation administrators start a check of their organisation's households (or of one of its areas),
ask an area's volunteers and end it; the platform administrator does so for every organisation, or
picks one (and an area of it). Viewers read
the page (their area's households) and change nothing (403); care managers get 404. Staff of one
organisation see only their households of a check, even of one across organisations. The alerts
service acts on the requests within seconds (``[disaster] check_s``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from dashboard import keys
from dashboard.access import READS, actor_of, audit, current_user, visible_households, visible_ids
from dashboard.disaster_desk import DisasterDesk
from dashboard.i18n import translate
from dashboard.render import render
from dashboard.users import User
from mimamori.forms import read_form

routes = web.RouteTableDef()
FIELD_MAX = 80
NOTES = frozenset({"started", "busy", "ended", "asked", "refused"})


def _desk(request: web.Request) -> tuple[DisasterDesk, User]:
    """The desk and the caller: administrators (of an organisation or the platform) and viewers; 404
    for anyone else (as for a household not theirs); 403 for a viewer's change (audited)."""
    desk = request.app.get(keys.DISASTER)
    user = current_user(request)
    if desk is None or not (user.manages or user.read_only):
        raise web.HTTPNotFound(text=translate(request[keys.LANG], "error.not_found"))
    if user.read_only and request.method not in READS:
        audit(request, "edit_refused", None, f"disaster {request.path_qs[:200]}")
        raise web.HTTPForbidden(text=translate(request[keys.LANG], "error.read_only"))
    return desk, user


def _organisation(user: User) -> str | None:
    """The caller's scope: None for the platform administrator (every organisation)."""
    return None if user.is_admin else user.organisation


def _field(form: MultiDictProxy[str], name: str) -> str:
    value = form.get(name, "").strip()
    if len(value) > FIELD_MAX:
        raise web.HTTPBadRequest(text=f"{name} is too long")
    return value


def _with_times(status: dict[str, Any] | None) -> dict[str, Any] | None:
    """The status with its times as datetimes, for the page's ``local_time``."""
    if status is None:
        return None

    def at(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    rows = [{**row, "last_activity_at": at(row["last_activity_at"])} for row in status["ordered"]]
    times = {k: at(status[k]) for k in ("started_at", "ended_at")}
    return {**status, **times, "ordered": rows}


@routes.get("/disaster", name="disaster")
async def disaster_page(request: web.Request) -> web.Response:
    desk, user = _desk(request)
    audit(request, "disaster_view", None)
    homes = visible_households(request)
    status = _with_times(desk.status(_organisation(user), visible_ids(request)))
    note = request.query.get("note", "")
    organisations = [o.id for o in request.app[keys.RECORDS].organisations()] if user.is_admin else []
    return render(
        request,
        "disaster.html",
        {
            "check": status,
            "tz": homes[0].tz if homes else "Asia/Tokyo",
            "areas": sorted({h.area for h in homes if h.area}),
            # to start a check: the platform administrator picks an organisation (or every one) and
            # an area of it; an organisation's administrator an area of their organisation
            "organisations": organisations,
            "start_areas": {o: desk.areas(o) for o in organisations or [user.organisation]},
            "can_change": user.manages,
            "note": note if note in NOTES else "",
        },
    )


@routes.post("/disaster/start")
async def start(request: web.Request) -> web.Response:
    desk, user = _desk(request)
    form = await read_form(request)
    area = _field(form, "area")
    organisation = _organisation(user)
    if user.is_admin:  # the platform administrator's choice ("": every organisation)
        organisation = _field(form, "organisation") or None
        known = {o.id for o in request.app[keys.RECORDS].organisations()}
        if organisation is not None and organisation not in known:
            raise web.HTTPBadRequest(text="unknown organisation")
    if area and area not in desk.areas(organisation):
        raise web.HTTPBadRequest(text="unknown area")
    fresh = desk.start(organisation, area or None, actor_of(request), request.app[keys.CLOCK].now())
    raise web.HTTPSeeOther(f"/disaster?note={'started' if fresh else 'busy'}")


@routes.post("/disaster/{check}/end")
async def end(request: web.Request) -> web.Response:
    desk, user = _desk(request)
    check = request.match_info["check"][:40]
    done = desk.end(check, _organisation(user), actor_of(request), request.app[keys.CLOCK].now())
    raise web.HTTPSeeOther(f"/disaster?note={'ended' if done else 'refused'}")


@routes.post("/disaster/{check}/ask")
async def ask(request: web.Request) -> web.Response:
    desk, _ = _desk(request)
    form = await read_form(request)
    area = _field(form, "area")
    check = request.match_info["check"][:40]
    done = desk.ask(check, area, visible_ids(request), actor_of(request), request.app[keys.CLOCK].now())
    raise web.HTTPSeeOther(f"/disaster?note={'asked' if done else 'refused'}")
