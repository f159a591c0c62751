"""Authorisation: which households the caller may see. A household that is not the caller's answers
404 exactly like one that does not exist; every view of a household's data is audited."""

from __future__ import annotations

from aiohttp import web

from dashboard import keys
from dashboard.i18n import translate
from dashboard.users import User
from dashboard.views import AuditView, HouseholdView


def current_user(request: web.Request) -> User:
    user = request[keys.USER]
    if user is None:  # require_sign_in lets no anonymous request through to a view
        raise web.HTTPUnauthorized()
    return user


def visible_households(request: web.Request) -> list[HouseholdView]:
    """Every household for an administrator; the assigned ones (that exist) for a care manager."""
    user = current_user(request)
    records = request.app[keys.RECORDS]
    if user.is_admin:
        return records.households()
    return records.households(request.app[keys.USERS].assigned(user.username))


def household_for(request: web.Request, action: str) -> HouseholdView:
    """The household named in the route if the caller may see it (audited as ``action``), else 404."""
    user = current_user(request)
    household_id = request.match_info["household"]
    allowed = user.is_admin or household_id in request.app[keys.USERS].assigned(user.username)
    household = request.app[keys.RECORDS].household(household_id) if allowed else None
    if household is None:
        if not allowed:  # another household's: refused (the answer is the same 404), and audited
            audit(request, "household_refused", household_id[:64], f"{action} {request.path_qs[:200]}")
        raise web.HTTPNotFound(text=translate(request[keys.LANG], "error.not_found"))
    audit(request, action, household.id)
    return household


def actor_of(request: web.Request) -> str:
    """How the audit log names the caller, e.g. ``care_manager:sato``."""
    user = current_user(request)
    return f"{user.role.value}:{user.username}"


def audit(request: web.Request, action: str, household: str | None, detail: str = "") -> None:
    request.app[keys.RECORDS].record_view(
        AuditView(
            at=request.app[keys.CLOCK].now(),
            actor=actor_of(request),
            action=action,
            household=household,
            detail=detail or request.path_qs,
        )
    )
