"""Sign in (throttled), sign out, and the language switch.

A password that matches starts a sign-in; a staff member with a second factor (required for
administrators, and for care managers when ``dashboard.care_manager_2fa`` is on) then gives a code
(:mod:`dashboard.pages.two_factor`) before the session is theirs. Sign-ins, failures and sign-outs go
to the audit log.
"""

from __future__ import annotations

import logging
import math
import secrets
from datetime import timedelta

from aiohttp import web
from aiohttp_session import Session, get_session, new_session

from dashboard import keys
from dashboard.forms import form_text
from dashboard.i18n import LANGUAGES, translate
from dashboard.render import render
from dashboard.security import safe_next
from dashboard.users import User
from dashboard.views import AuditView
from mimamori.forms import read_form

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/login", name="login")
async def login_form(request: web.Request) -> web.Response:
    if request[keys.USER] is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return render(request, "login.html", {"next": safe_next(request.query.get("next")), "error": None})


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await read_form(request)
    username = form_text(form, "username", 64).strip().lower()
    raw_password = form.get("password")
    password = raw_password[:1024] if isinstance(raw_password, str) else ""  # not trimmed
    target = safe_next(form_text(form, "next", 2000))
    config = request.app[keys.CONFIG]
    users = request.app[keys.USERS]
    now = request.app[keys.CLOCK].now()
    window = timedelta(minutes=config.login_window_minutes)
    address = request.remote or "unknown"
    throttle_keys = (f"user:{username}", f"ip:{address}")
    lang = request[keys.LANG]
    if any(users.failures_since(k, now - window) >= config.login_max_failures for k in throttle_keys):
        log.warning("dashboard.login_throttled user=%s remote=%s", username, address)
        audit_account(request, f"login:{username}", "login_throttled")
        message = translate(lang, "login.throttled", minutes=math.ceil(window.total_seconds() / 60))
        return render(request, "login.html", {"next": target, "error": message}, status=429)
    user = users.authenticate(username, password)
    if user is None:
        users.record_failure(throttle_keys, now)
        log.info("dashboard.login_failed user=%s remote=%s", username, address)
        audit_account(request, f"login:{username}", "login_failed")
        return render(
            request, "login.html", {"next": target, "error": translate(lang, "login.failed")}, status=401
        )
    users.clear_failures(f"user:{username}")
    if users.second_factor(user.username) is not None or second_factor_required(request, user):
        session = await fresh_session(request)
        session["pending"] = user.username
        session["pending_at"] = now.timestamp()
        session["next"] = target
        raise web.HTTPSeeOther("/login/code")
    await sign_in(request, user, "password")
    raise web.HTTPSeeOther(target)


def second_factor_required(request: web.Request, user: User) -> bool:
    """Administrators (of the platform or an organisation) always; other staff when the configuration
    says so."""
    return user.manages or request.app[keys.CONFIG].care_manager_2fa


async def fresh_session(request: web.Request) -> Session:
    """A new session id (no fixation), keeping the chosen language."""
    old = await get_session(request)
    chosen = old.get("lang")
    if old.identity is not None:
        request.app[keys.SESSIONS].forget(str(old.identity))
    session = await new_session(request)
    session["csrf"] = secrets.token_urlsafe(32)
    if isinstance(chosen, str):
        session["lang"] = chosen
    return session


async def sign_in(request: web.Request, user: User, how: str) -> None:
    """The session becomes the user's (a fresh id), signed in ``how`` (password, totp, recovery_code)."""
    session = await fresh_session(request)
    session["user"] = user.username
    log.info("dashboard.login user=%s role=%s with=%s", user.username, user.role.value, how)
    audit_account(request, f"{user.role.value}:{user.username}", "login", how)


def audit_account(request: web.Request, actor: str, action: str, detail: str = "") -> None:
    """Sign-ins, their failures and second-factor changes, in the audit log (``dashboard.<action>``)."""
    address = request.remote or "unknown"
    request.app[keys.RECORDS].record_view(
        AuditView(
            at=request.app[keys.CLOCK].now(),
            actor=actor,
            action=action,
            household=None,
            detail=f"{detail} remote={address}".strip(),
        )
    )


@routes.post("/logout", name="logout")
async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    user = request[keys.USER]
    session.invalidate()
    log.info("dashboard.logout user=%s", user.username if user else "-")
    if user is not None:
        audit_account(request, f"{user.role.value}:{user.username}", "logout")
    raise web.HTTPSeeOther("/login")


@routes.post("/language")
async def switch_language(request: web.Request) -> web.Response:
    form = await read_form(request)
    lang = form_text(form, "lang", 5)
    if lang not in LANGUAGES:
        raise web.HTTPBadRequest(text="unknown language")
    session = await get_session(request)
    session["lang"] = lang
    raise web.HTTPSeeOther(safe_next(form_text(form, "next", 2000)))


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
