"""A volunteer's pool settings, from a household's contacts page: availability windows, a rest, the
weekly cap and the organisations' pools (docs/community.md, *Volunteer pool*).

For the administrators of the household's organisation and the platform administrator; anyone else
gets 404 (a viewer's change 403), as for an unknown page. Validation is the households import's.
"""

from __future__ import annotations

import logging

from aiohttp import web

from dashboard import keys
from dashboard.access import actor_of, audit, current_user, household_for
from dashboard.forms import form_text
from dashboard.i18n import translate
from dashboard.render import render
from dashboard.views import HouseholdView, InvalidEdit, VolunteerDraft, VolunteerView
from mimamori.forms import read_form

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


def _volunteer_for(request: web.Request, action: str) -> tuple[HouseholdView, VolunteerView]:
    """The household and volunteer named in the route if the caller manages them (audited), else 404."""
    household = household_for(request, action)
    contact = request.match_info["contact"]
    now = request.app[keys.CLOCK].now()
    found = request.app[keys.RECORDS].volunteer(household.id, contact, now)
    if found is None or not current_user(request).manages:
        audit(request, "admin_refused", household.id, f"{action} {request.path_qs[:200]}")
        raise web.HTTPNotFound(text=translate(request[keys.LANG], "error.not_found"))
    return household, found


def _organisations(request: web.Request) -> list[str] | None:
    """The organisations whose pools the caller may change (None: every one)."""
    user = current_user(request)
    return None if user.is_admin else [user.organisation]


def _page(
    request: web.Request,
    household: HouseholdView,
    volunteer: VolunteerView | VolunteerDraft,
    *,
    contact: str,
    name: str,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status: int = 200,
) -> web.Response:
    allowed = _organisations(request)
    every = [o.id for o in request.app[keys.RECORDS].organisations()]
    context = {
        "h": household,
        "v": volunteer,
        "contact": contact,
        "name": name,
        "cap": "" if volunteer.weekly_cap is None else volunteer.weekly_cap,
        "availability": (
            volunteer.availability
            if isinstance(volunteer, VolunteerDraft)
            else "\n".join(volunteer.availability)
        ),
        "pool_choices": every if allowed is None else allowed,
        "errors": errors or {},
        "saved": saved,
    }
    return render(request, "volunteer.html", context, status=status)


@routes.get("/households/{household}/volunteers/{contact}", name="volunteer_settings")
async def volunteer_form(request: web.Request) -> web.Response:
    household, found = _volunteer_for(request, "view_volunteer")
    saved = request.query.get("saved") == "1"
    return _page(request, household, found, contact=found.id, name=found.name, saved=saved)


@routes.post("/households/{household}/volunteers/{contact}")
async def save_volunteer(request: web.Request) -> web.Response:
    household, found = _volunteer_for(request, "edit_volunteer")
    form = await read_form(request)
    draft = VolunteerDraft(
        weekly_cap=form_text(form, "weekly_cap", 8),
        pools=tuple(v for v in form.getall("pools", []) if isinstance(v, str)),
        availability=form_text(form, "availability", 2000),
        resting_until=form_text(form, "resting_until", 32),
    )
    try:
        request.app[keys.RECORDS].save_volunteer(
            household.id,
            found.id,
            draft,
            organisations=_organisations(request),
            actor=actor_of(request),
            now=request.app[keys.CLOCK].now(),
        )
    except InvalidEdit as exc:
        log.info("dashboard.volunteer_refused household=%s fields=%s", household.id, ",".join(exc.errors))
        return _page(
            request, household, draft, contact=found.id, name=found.name, errors=exc.errors, status=422
        )
    raise web.HTTPSeeOther(f"/households/{household.id}/volunteers/{found.id}?saved=1")
