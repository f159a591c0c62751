"""Households in the web UI, for organisation administrators (their organisation's) and the platform
administrator (any): the list, a new household with its first contact, and a household's own fields
(name, address hint, area, time zone, language, living alone, needs). Validated like the households
import (``registry.households_import.HouseholdIn``, ``ContactIn``) by the records; audited there
(``household.added``, ``household.saved``). Contacts and the policy are edited on the household's own
pages, as care managers do (an administrator also sets the policy's settings there)."""

from __future__ import annotations

import logging

from aiohttp import web
from multidict import MultiDictProxy

from dashboard import keys
from dashboard.access import actor_of, audit, household_for, visible_households
from dashboard.forms import form_text
from dashboard.pages.admin_users import manager
from dashboard.render import render
from dashboard.users import User
from dashboard.views import HouseholdView, InvalidEdit
from mimamori.forms import read_form
from registry.models import Need

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

FIELDS = ("id", "name", "address_hint", "area", "time_zone", "language", "organisation")
CONTACT_FIELDS = ("name", "phone", "role", "language")
FIRST_ROLES = ("neighbour", "volunteer", "professional", "resident")  # tier: neighbours, volunteers, ...
NEEDS = tuple(n.value for n in Need)


def _fields(posted: MultiDictProxy[str], caller: User) -> dict[str, object]:
    """A household's fields as posted (the caller's organisation unless the platform's administrator)."""
    fields: dict[str, object] = {name: form_text(posted, name, 100) for name in FIELDS}
    if not caller.is_admin or not fields["organisation"]:
        fields["organisation"] = caller.organisation
    fields["lives_alone"] = form_text(posted, "lives_alone") == "1"
    fields["needs"] = [v for v in posted.getall("needs", []) if isinstance(v, str)]
    return fields


def _list_page(
    request: web.Request,
    caller: User,
    form: dict[str, object],
    contact: dict[str, object],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "households": visible_households(request),
        "organisations": request.app[keys.RECORDS].organisations() if caller.is_admin else [],
        "form": form,
        "contact": contact,
        "errors": errors or {},
        "needs": NEEDS,
        "first_roles": FIRST_ROLES,
    }
    return render(request, "admin_households.html", context, status=status)


@routes.get("/admin/households", name="admin_households")
async def household_list(request: web.Request) -> web.Response:
    caller = manager(request, "view_households")
    audit(request, "view_households", None)
    form: dict[str, object] = dict.fromkeys(FIELDS, "")
    form |= {"time_zone": "Asia/Tokyo", "language": "ja", "organisation": caller.organisation}
    form |= {"lives_alone": True, "needs": []}
    contact: dict[str, object] = {"role": "neighbour", "language": "ja"}
    return _list_page(request, caller, form, contact)


@routes.post("/admin/households")
async def add_household(request: web.Request) -> web.Response:
    caller = manager(request, "add_household")
    posted = await read_form(request)
    fields = _fields(posted, caller)
    contact: dict[str, object] = {name: form_text(posted, f"contact_{name}", 100) for name in CONTACT_FIELDS}
    try:
        household = request.app[keys.RECORDS].create_household(
            fields, contact, actor=actor_of(request), now=request.app[keys.CLOCK].now()
        )
    except InvalidEdit as exc:
        log.info("dashboard.household_refused fields=%s", ",".join(exc.errors))
        return _list_page(request, caller, fields, contact, errors=exc.errors, status=422)
    log.info("dashboard.household_added household=%s org=%s", household.id, household.organisation)
    raise web.HTTPSeeOther(f"/admin/households/{household.id}?saved=1")


def _edit_page(
    request: web.Request,
    household: HouseholdView,
    form: dict[str, object],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    context = {
        "h": household,
        "form": form,
        "errors": errors or {},
        "needs": NEEDS,
        "saved": request.query.get("saved") == "1",
    }
    return render(request, "admin_household.html", context, status=status)


@routes.get("/admin/households/{household}", name="admin_household")
async def household_form(request: web.Request) -> web.Response:
    manager(request, "view_household_settings")
    h = household_for(request, "view_household_settings")
    form: dict[str, object] = {
        "name": h.name,
        "address_hint": h.address_hint,
        "area": h.area,
        "time_zone": h.tz,
        "language": h.language,
        "lives_alone": h.lives_alone,
        "needs": list(h.needs),
    }
    return _edit_page(request, h, form)


@routes.post("/admin/households/{household}")
async def save_household(request: web.Request) -> web.Response:
    caller = manager(request, "edit_household")
    h = household_for(request, "edit_household")
    posted = await read_form(request)
    fields = _fields(posted, caller)
    for key in ("id", "organisation"):  # neither changes here
        fields.pop(key)
    try:
        request.app[keys.RECORDS].save_household(
            h.id, fields, actor=actor_of(request), now=request.app[keys.CLOCK].now()
        )
    except InvalidEdit as exc:
        log.info("dashboard.household_refused household=%s fields=%s", h.id, ",".join(exc.errors))
        return _edit_page(request, h, fields, errors=exc.errors, status=422)
    raise web.HTTPSeeOther(f"/admin/households/{h.id}?saved=1")
