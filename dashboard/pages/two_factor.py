"""The second factor: the code step of a sign-in, enrolment (QR code, then recovery codes shown once),
and the account page where a member of staff sets it up or removes it (when their role allows).

A sign-in waiting for its code lasts five minutes. Wrong codes count towards the same throttle as
wrong passwords; every outcome is in the audit log.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp_session import Session, get_session

from dashboard import keys
from dashboard.access import current_user
from dashboard.forms import form_text
from dashboard.i18n import translate
from dashboard.pages.signin import audit_account, second_factor_required, sign_in
from dashboard.render import render
from dashboard.second_factor import (
    looks_like_recovery_code,
    matching_step,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    qr_svg,
    recovery_hash,
)
from dashboard.security import safe_next
from dashboard.users import User
from mimamori.forms import read_form

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PENDING = timedelta(minutes=5)


def _actor(user: User) -> str:
    return f"{user.role.value}:{user.username}"


def _pending(request: web.Request, session: Session) -> User:
    """The user whose password matched a moment ago; back to the sign-in page otherwise."""
    username, at = session.get("pending"), session.get("pending_at")
    now = request.app[keys.CLOCK].now().timestamp()
    if isinstance(username, str) and isinstance(at, float) and now - at <= PENDING.total_seconds():
        user = request.app[keys.USERS].user(username)
        if user is not None:
            return user
    raise web.HTTPSeeOther("/login")


def _enrolment(session: Session, user: User) -> dict[str, Any]:
    """The secret being enrolled (kept in the server-side session until confirmed) and its QR code."""
    secret = session.get("enrol_secret")
    if not isinstance(secret, str):
        secret = session["enrol_secret"] = new_secret()
    uri = provisioning_uri(secret, user.username)
    return {"secret": secret, "qr": qr_svg(uri)}


def _throttled(request: web.Request, user: User) -> bool:
    config = request.app[keys.CONFIG]
    since = request.app[keys.CLOCK].now() - timedelta(minutes=config.login_window_minutes)
    users = request.app[keys.USERS]
    return users.failures_since(f"user:{user.username}", since) >= config.login_max_failures


def _failed(request: web.Request, user: User) -> None:
    users = request.app[keys.USERS]
    users.record_failure(
        (f"user:{user.username}", f"ip:{request.remote or 'unknown'}"), request.app[keys.CLOCK].now()
    )
    log.info("dashboard.second_factor_failed user=%s", user.username)
    audit_account(request, _actor(user), "second_factor_failed")


def _check(request: web.Request, user: User, code: str) -> str | None:
    """How ``code`` proves the second factor ("totp" or "recovery_code"), or None."""
    users = request.app[keys.USERS]
    factor = users.second_factor(user.username)
    if factor is None:
        return None
    step = matching_step(factor.totp_secret, code, time.time(), factor.last_step)  # wall time: the app's
    if step is not None and users.use_totp_step(user.username, step):
        return "totp"
    if looks_like_recovery_code(code) and users.use_recovery_code(
        user.username, recovery_hash(code), request.app[keys.CLOCK].now()
    ):
        audit_account(request, _actor(user), "recovery_code_used")
        return "recovery_code"
    return None


@routes.get("/login/code")
async def code_form(request: web.Request) -> web.Response:
    user = _pending(request, await get_session(request))
    if request.app[keys.USERS].second_factor(user.username) is None:
        raise web.HTTPSeeOther("/login/enrol")
    return render(request, "second_factor.html", {"mode": "code", "error": None})


@routes.post("/login/code")
async def code_given(request: web.Request) -> web.Response:
    session = await get_session(request)
    user = _pending(request, session)
    lang = request[keys.LANG]
    if _throttled(request, user):
        config = request.app[keys.CONFIG]
        error = translate(lang, "login.throttled", minutes=config.login_window_minutes)
        return render(request, "second_factor.html", {"mode": "code", "error": error}, status=429)
    how = _check(request, user, form_text(await read_form(request), "code", 40))
    if how is None:
        _failed(request, user)
        error = translate(lang, "second.wrong_code")
        return render(request, "second_factor.html", {"mode": "code", "error": error}, status=401)
    target = safe_next(str(session.get("next", "/")))
    await sign_in(request, user, how)
    raise web.HTTPSeeOther(target)


@routes.get("/login/enrol")
async def enrol_form(request: web.Request) -> web.Response:
    session = await get_session(request)
    user = _pending(request, session)
    return render(
        request, "second_factor.html", {"mode": "enrol", "error": None, **_enrolment(session, user)}
    )


@routes.post("/login/enrol")
async def enrol_confirmed(request: web.Request) -> web.Response:
    session = await get_session(request)
    user = _pending(request, session)
    target = safe_next(str(session.get("next", "/")))
    codes = await _confirm(request, session, user)
    if codes is None:
        error = translate(request[keys.LANG], "second.wrong_code")
        context = {"mode": "enrol", "error": error, **_enrolment(session, user)}
        return render(request, "second_factor.html", context, status=401)
    await sign_in(request, user, "totp")
    return _recovery_codes(request, codes, target)


async def _confirm(request: web.Request, session: Session, user: User) -> list[str] | None:
    """Enrol the session's secret when the code matches it; the new recovery codes (None: wrong code)."""
    secret = session.get("enrol_secret")
    code = form_text(await read_form(request), "code", 40)
    step = matching_step(secret, code, time.time(), None) if isinstance(secret, str) else None
    if step is None or not isinstance(secret, str):
        _failed(request, user)
        return None
    codes = new_recovery_codes()
    request.app[keys.USERS].enrol_second_factor(
        user.username, secret, step, [recovery_hash(c) for c in codes], request.app[keys.CLOCK].now()
    )
    session.pop("enrol_secret", None)
    log.info("dashboard.second_factor_enrolled user=%s", user.username)
    audit_account(request, _actor(user), "second_factor_enrolled")
    return codes


@routes.get("/account/2fa", name="account_2fa")
async def account(request: web.Request) -> web.Response:
    user = current_user(request)
    factor = request.app[keys.USERS].second_factor(user.username)
    wrong = "wrong" in request.query
    context: dict[str, Any] = {
        "mode": "account",
        "error": translate(request[keys.LANG], "second.wrong_code") if wrong else None,
        "factor": factor,
        "required": second_factor_required(request, user),
    }
    if factor is None:
        context.update(_enrolment(await get_session(request), user))
    return render(request, "second_factor.html", context)


@routes.post("/account/2fa/enrol")
async def account_enrol(request: web.Request) -> web.Response:
    user = current_user(request)
    session = await get_session(request)
    codes = await _confirm(request, session, user)
    if codes is None:
        context = {
            "mode": "account",
            "error": translate(request[keys.LANG], "second.wrong_code"),
            "factor": None,
            "required": second_factor_required(request, user),
            **_enrolment(session, user),
        }
        return render(request, "second_factor.html", context, status=401)
    return _recovery_codes(request, codes, "/")


def _recovery_codes(request: web.Request, codes: list[str], target: str) -> web.Response:
    """The new recovery codes, shown this once."""
    return render(
        request, "second_factor.html", {"mode": "codes", "error": None, "codes": codes, "next": target}
    )


@routes.post("/account/2fa/remove")
async def account_remove(request: web.Request) -> web.Response:
    user = current_user(request)
    users = request.app[keys.USERS]
    if second_factor_required(request, user):
        raise web.HTTPForbidden(text=translate(request[keys.LANG], "second.required"))
    if _check(request, user, form_text(await read_form(request), "code", 40)) is None:
        _failed(request, user)
        raise web.HTTPSeeOther("/account/2fa?wrong=1")
    users.remove_second_factor(user.username)
    log.info("dashboard.second_factor_removed user=%s", user.username)
    audit_account(request, _actor(user), "second_factor_removed")
    raise web.HTTPSeeOther("/account/2fa")
