"""Authorisation: which households the caller may see and change. A household that is not the caller's
answers 404 exactly like one that does not exist; every view of a household's data is audited.

Who sees what (docs/community.md, *Roles*): the platform administrator every household; anyone else
only their organisation's — an organisation administrator all of it, a care manager those assigned to
them, a viewer those of their area (all of the organisation without one). Viewers change nothing.
"""

from __future__ import annotations

from aiohttp import web

from dashboard import keys
from dashboard.i18n import translate
from dashboard.users import StaffRole, User
from dashboard.views import AuditView, HouseholdView

READS = frozenset({"GET", "HEAD"})


def current_user(request: web.Request) -> User:
    user = request[keys.USER]
    if user is None:  # require_sign_in lets no anonymous request through to a view
        raise web.HTTPUnauthorized()
    return user


def sees(user: User, household: HouseholdView, assigned: frozenset[str]) -> bool:
    """Whether ``user`` (assigned ``assigned``) may see ``household``."""
    if user.is_admin:
        return True
    if household.organisation != user.organisation:
        return False
    if user.role is StaffRole.CARE_MANAGER:
        return household.id in assigned
    if user.role is StaffRole.VIEWER and user.area:
        return household.area == user.area
    return True


def visible_households(request: web.Request) -> list[HouseholdView]:
    """The households the caller may see, ordered by id."""
    user = current_user(request)
    records = request.app[keys.RECORDS]
    if user.is_admin:
        return records.households()
    assigned = request.app[keys.USERS].assigned(user.username)
    found = records.households(assigned if user.role is StaffRole.CARE_MANAGER else None)
    return [h for h in found if sees(user, h, assigned)]


def visible_ids(request: web.Request) -> frozenset[str] | None:
    """The ids of the households the caller may see; None for the platform administrator (all)."""
    if current_user(request).is_admin:
        return None
    return frozenset(h.id for h in visible_households(request))


def household_for(request: web.Request, action: str) -> HouseholdView:
    """The household named in the route if the caller may see it (audited as ``action``), else 404.
    A change (any method but GET) by a viewer is refused with 403 (audited as ``edit_refused``)."""
    user = current_user(request)
    household_id = request.match_info["household"]
    household = request.app[keys.RECORDS].household(household_id)
    assigned = frozenset() if user.is_admin else request.app[keys.USERS].assigned(user.username)
    if household is None or not sees(user, household, assigned):
        if not user.is_admin:  # another's (or unknown): refused with the same 404, and audited
            audit(request, "household_refused", household_id[:64], f"{action} {request.path_qs[:200]}")
        raise web.HTTPNotFound(text=translate(request[keys.LANG], "error.not_found"))
    if user.read_only and request.method not in READS:
        audit(request, "edit_refused", household.id, f"{action} {request.path_qs[:200]}")
        raise web.HTTPForbidden(text=translate(request[keys.LANG], "error.read_only"))
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
