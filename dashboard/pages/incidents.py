"""Closing an incident from its panel on the household page: an outcome staff may set and a note.
The close goes through the state machine (``escalation.commands``, via the records); it is audited and
everyone already texted gets the resolved notice."""

from __future__ import annotations

import logging

from aiohttp import web

from dashboard import keys
from dashboard.access import actor_of, household_for
from dashboard.forms import form_text
from dashboard.pages.household_page import HEAT_LAYOUT, household_page
from dashboard.render import render
from dashboard.views import InvalidEdit
from mimamori.forms import read_form

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
NOTE_LIMIT = 2000  # read this much: the records refuse a note that is too long rather than cut it


@routes.post("/households/{household}/incidents/{incident}/close")
async def close_incident(request: web.Request) -> web.Response:
    household = household_for(request, "close_incident")
    incident = request.match_info["incident"]
    form = await read_form(request)
    try:
        request.app[keys.RECORDS].close_incident(
            household.id,
            incident,
            form_text(form, "outcome"),
            form_text(form, "note", NOTE_LIMIT),
            actor=actor_of(request),
            now=request.app[keys.CLOCK].now(),
        )
    except InvalidEdit as exc:
        log.info(
            "dashboard.close_refused household=%s incident=%s fields=%s",
            household.id,
            incident,
            ",".join(exc.errors),
        )
        context = {
            "page": household_page(request.app, household),
            "h": household,
            "heat_layout": HEAT_LAYOUT,
            "closed": False,
            "close_errors": {incident: exc.errors},
        }
        return render(request, "household.html", context, status=422)
    log.info("dashboard.incident_closed household=%s incident=%s", household.id, incident)
    raise web.HTTPSeeOther(f"/households/{household.id}?closed=1#incident-{incident}")
