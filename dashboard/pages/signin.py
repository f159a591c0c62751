"""Sign in (throttled), sign out, and the language switch."""

from __future__ import annotations

import logging
import math
import secrets
from datetime import timedelta

from aiohttp import web
from aiohttp_session import get_session, new_session

from dashboard import keys
from dashboard.forms import form_text
from dashboard.i18n import LANGUAGES, translate
from dashboard.render import render
from dashboard.security import safe_next

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/login", name="login")
async def login_form(request: web.Request) -> web.Response:
    if request[keys.USER] is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return render(request, "login.html", {"next": safe_next(request.query.get("next")), "error": None})


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
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
        message = translate(lang, "login.throttled", minutes=math.ceil(window.total_seconds() / 60))
        return render(request, "login.html", {"next": target, "error": message}, status=429)
    user = users.authenticate(username, password)
    if user is None:
        users.record_failure(throttle_keys, now)
        log.info("dashboard.login_failed user=%s remote=%s", username, address)
        return render(
            request, "login.html", {"next": target, "error": translate(lang, "login.failed")}, status=401
        )
    users.clear_failures(f"user:{username}")
    old = await get_session(request)
    chosen = old.get("lang")
    if old.identity is not None:
        request.app[keys.SESSIONS].forget(str(old.identity))  # a fresh id at sign-in: no fixation
    session = await new_session(request)
    session["user"] = user.username
    session["csrf"] = secrets.token_urlsafe(32)
    if isinstance(chosen, str):
        session["lang"] = chosen
    log.info("dashboard.login user=%s role=%s", user.username, user.role.value)
    raise web.HTTPSeeOther(target)


@routes.post("/logout", name="logout")
async def logout(request: web.Request) -> web.Response:
    session = await get_session(request)
    user = request[keys.USER]
    session.invalidate()
    log.info("dashboard.logout user=%s", user.username if user else "-")
    raise web.HTTPSeeOther("/login")


@routes.post("/language")
async def switch_language(request: web.Request) -> web.Response:
    form = await request.post()
    lang = form_text(form, "lang", 5)
    if lang not in LANGUAGES:
        raise web.HTTPBadRequest(text="unknown language")
    session = await get_session(request)
    session["lang"] = lang
    raise web.HTTPSeeOther(safe_next(form_text(form, "next", 2000)))


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
