"""Volunteer records for an organisation: a printable month (ボランティアポイント) and the same rows as CSV.

For an organisation's administrators (their own organisation's volunteers only) and the platform
administrator (any organisation, or every volunteer); anyone else gets 404, as for an unknown page.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from aiohttp import web

from dashboard import keys
from dashboard.access import audit, current_user
from dashboard.i18n import translate
from dashboard.render import render
from dashboard.users import StaffRole
from dashboard.views import VolunteerSheet

routes = web.RouteTableDef()

MONTH_ZONE = ZoneInfo("Asia/Tokyo")  # the month shown first: this one, in Japan
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _sheet(request: web.Request, action: str) -> VolunteerSheet:
    """The sheet asked for, if the caller may see it (audited), else 404; a bad month or org is 400."""
    user = current_user(request)
    org = request.query.get("org") or None
    if not user.is_admin:
        own = user.role is StaffRole.ORG_ADMIN and org in (None, user.organisation)
        if not own:
            audit(request, "volunteers_refused", None, f"{action} {request.path_qs[:200]}")
            raise web.HTTPNotFound(text=translate(request[keys.LANG], "error.not_found"))
        org = user.organisation
    if org is not None and not _ORG.match(org):
        raise web.HTTPBadRequest(text=translate(request[keys.LANG], "volunteers.bad_org"))
    now = request.app[keys.CLOCK].now()
    month = request.query.get("month") or now.astimezone(MONTH_ZONE).strftime("%Y-%m")
    try:
        sheet = request.app[keys.RECORDS].volunteer_sheet(month, org)
    except ValueError:
        raise web.HTTPBadRequest(text=translate(request[keys.LANG], "volunteers.bad_month")) from None
    audit(request, action, None, request.path_qs[:200])
    return sheet


@routes.get("/volunteers/records", name="volunteer_records")
async def records_page(request: web.Request) -> web.Response:
    sheet = _sheet(request, "view_volunteer_records")
    return render(request, "volunteer_records.html", {"sheet": sheet})


@routes.get("/volunteers/records.csv", name="volunteer_records_csv")
async def records_export(request: web.Request) -> web.Response:
    sheet = _sheet(request, "export_volunteer_records")
    name = f"volunteers-{sheet.organisation or 'all'}-{sheet.month}.csv"
    return web.Response(
        text=sheet.csv,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
