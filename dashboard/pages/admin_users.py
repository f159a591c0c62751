"""Staff accounts in the web UI, for organisation administrators (their organisation's staff) and the
platform administrator (everyone): create an account, change its role, organisation, area, language and
assignments, set a new password. Anyone else, and an account outside the caller's reach, gets the same
404 as an unknown one; every change is audited (``dashboard.user_added``, ``dashboard.user_saved``)."""

from __future__ import annotations

import logging

from aiohttp import web

from dashboard import keys
from dashboard.access import audit, current_user, visible_households
from dashboard.forms import form_text
from dashboard.i18n import translate
from dashboard.render import render
from dashboard.users import MIN_PASSWORD_LENGTH, StaffRole, User, UserError
from mimamori.forms import read_form

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

FIELDS = ("username", "display_name", "role", "organisation", "area", "language", "password")


def manager(request: web.Request, action: str) -> User:
    """The caller when they manage an organisation (or the platform); 404 otherwise (audited)."""
    user = current_user(request)
    if not user.manages:
        audit(request, "admin_refused", None, f"{action} {request.path_qs[:200]}")
        raise web.HTTPNotFound(text=translate(request[keys.LANG], "error.not_found"))
    return user


def may_manage(caller: User, target: User) -> bool:
    """The platform administrator manages everyone; an organisation administrator its own staff."""
    return caller.is_admin or (target.organisation == caller.organisation and not target.is_admin)


def roles_for(caller: User) -> list[str]:
    return [r.value for r in StaffRole if caller.is_admin or r is not StaffRole.ADMIN]


def _target(request: web.Request, caller: User) -> User:
    name = request.match_info["username"]
    target = request.app[keys.USERS].user(name)
    if target is None or not may_manage(caller, target):
        audit(request, "admin_refused", None, f"user {name[:64]}")
        raise web.HTTPNotFound(text=translate(request[keys.LANG], "error.not_found"))
    return target


def _page(
    request: web.Request,
    caller: User,
    form: dict[str, str],
    *,
    editing: bool,
    assigned: frozenset[str] = frozenset(),
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    households = [h for h in visible_households(request) if h.organisation == form["organisation"]]
    users = request.app[keys.USERS]
    scope = None if caller.is_admin else caller.organisation
    context = {
        "form": form,
        "editing": editing,
        "errors": errors or {},
        "roles": roles_for(caller),
        "organisations": request.app[keys.RECORDS].organisations() if caller.is_admin else [],
        "households": households,
        "assigned": assigned,
        "staff": [] if editing else [u for u in users.users(scope) if may_manage(caller, u)],
        "saved": request.query.get("saved") == "1",
    }
    return render(request, "admin_users.html", context, status=status)


def _account(request: web.Request, form: dict[str, str], caller: User) -> User:
    """The account as posted; an organisation administrator's staff stay in its organisation."""
    if form["role"] not in roles_for(caller):
        raise UserError("role: choose a role")
    organisation = form["organisation"] if caller.is_admin and form["organisation"] else caller.organisation
    if organisation not in {o.id for o in request.app[keys.RECORDS].organisations()}:
        raise UserError("organisation: unknown organisation")
    area = form["area"]
    return User(
        form["username"], form["display_name"], StaffRole(form["role"]), form["language"], organisation, area
    )


def _assignments(request: web.Request, posted: list[str], organisation: str) -> frozenset[str]:
    """The posted households the caller may assign: their own, of the account's organisation."""
    allowed = {h.id for h in visible_households(request) if h.organisation == organisation}
    unknown = [h for h in posted if h not in allowed]
    if unknown:
        raise UserError("households: unknown households")
    return frozenset(posted)


def _error(exc: UserError) -> dict[str, str]:
    """``"password: at least 12 characters"`` -> {"password": "at least 12 characters"}."""
    field, _, reason = str(exc).partition(": ")
    return {field: reason} if reason and field.isidentifier() else {"form": str(exc)}


async def _read(request: web.Request) -> tuple[dict[str, str], list[str]]:
    posted = await read_form(request)
    form = {name: form_text(posted, name, 80) for name in FIELDS}
    form["password"] = form_text(posted, "password", 200)
    households = [v for v in posted.getall("households", []) if isinstance(v, str)]
    return form, households


@routes.get("/admin/users", name="admin_users")
async def user_list(request: web.Request) -> web.Response:
    caller = manager(request, "view_users")
    audit(request, "view_users", None)
    form = dict.fromkeys(FIELDS, "") | {"role": StaffRole.CARE_MANAGER.value, "language": caller.language}
    form["organisation"] = caller.organisation
    return _page(request, caller, form, editing=False)


@routes.post("/admin/users")
async def add_user(request: web.Request) -> web.Response:
    caller = manager(request, "add_user")
    form, households = await _read(request)
    users = request.app[keys.USERS]
    try:
        account = _account(request, form, caller)
        assigned = _assignments(request, households, account.organisation)
        users.add_user(
            account.username,
            account.display_name,
            account.role,
            form["password"],
            language=account.language,
            organisation=account.organisation,
            area=account.area,
            now=request.app[keys.CLOCK].now(),
        )
        users.set_assigned(account.username, assigned)
    except UserError as exc:
        log.info("dashboard.user_refused user=%s reason=%s", form["username"][:64], exc)
        form["password"] = ""
        return _page(request, caller, form, editing=False, errors=_error(exc), status=422)
    audit(request, "user_added", None, f"{account.username} {account.role.value} {account.organisation}")
    raise web.HTTPSeeOther(f"/admin/users/{account.username}?saved=1")


@routes.get("/admin/users/{username}", name="admin_user")
async def user_form(request: web.Request) -> web.Response:
    caller = manager(request, "view_user")
    target = _target(request, caller)
    audit(request, "view_user", None, target.username)
    form = {
        "username": target.username,
        "display_name": target.display_name,
        "role": target.role.value,
        "organisation": target.organisation,
        "area": target.area,
        "language": target.language,
        "password": "",
    }
    assigned = request.app[keys.USERS].assigned(target.username)
    return _page(request, caller, form, editing=True, assigned=assigned)


@routes.post("/admin/users/{username}")
async def save_user(request: web.Request) -> web.Response:
    caller = manager(request, "save_user")
    target = _target(request, caller)
    form, households = await _read(request)
    form["username"] = target.username
    users = request.app[keys.USERS]
    try:
        account = _account(request, form, caller)
        if target.username == caller.username and (account.role, account.organisation) != (
            caller.role,
            caller.organisation,
        ):  # nobody locks themselves (or the last platform administrator) out
            raise UserError("role: your own role and organisation stay as they are")
        assigned = _assignments(request, households, account.organisation)
        if form["password"] and len(form["password"]) < MIN_PASSWORD_LENGTH:
            raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
        users.save_user(account)
        if form["password"]:
            users.set_password(target.username, form["password"])
        hidden = users.assigned(target.username) - {h.id for h in visible_households(request)}
        users.set_assigned(target.username, assigned | hidden)  # others' assignments are not the caller's
    except UserError as exc:
        log.info("dashboard.user_refused user=%s reason=%s", target.username, exc)
        form["password"] = ""
        return _page(
            request,
            caller,
            form,
            editing=True,
            assigned=frozenset(households),
            errors=_error(exc),
            status=422,
        )
    detail = f"{account.username} {account.role.value} {account.organisation}"
    audit(request, "user_saved", None, detail + (" password" if form["password"] else ""))
    raise web.HTTPSeeOther(f"/admin/users/{target.username}?saved=1")
