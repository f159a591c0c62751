"""Middlewares: security headers on every answer, the signed-in user and language on every request,
a CSRF check on every unsafe method, and sign-in required on everything but the public routes."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import get_session

from dashboard import keys
from dashboard.i18n import pick_language
from mimamori.forms import read_form

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PUBLIC_PATHS: Final = frozenset({"/login", "/login/code", "/login/enrol", "/healthz", "/language"})
PUBLIC_PREFIXES: Final = ("/static/",)
TOKEN_PATHS: Final = frozenset({"/login", "/language"})
"""Public pages with a form: an anonymous visitor's CSRF token is kept in a session there."""
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"


def _add_headers(response: web.StreamResponse, secure: bool) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    response.headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    secure = request.app[keys.CONFIG].secure_cookies
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _add_headers(exc, secure)
        raise
    if not response.prepared:
        _add_headers(response, secure)
    return response


@web.middleware
async def identify(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is asking (from the server-side session), in which language, with which CSRF token."""
    session = await get_session(request)
    username = session.get("user")
    user = request.app[keys.USERS].user(username) if isinstance(username, str) else None
    if username is not None and user is None:
        session.invalidate()  # the account is gone
    request[keys.USER] = user
    chosen = session.get("lang")
    request[keys.LANG] = pick_language(
        chosen if isinstance(chosen, str) else None,
        user.language if user else None,
        request.headers.get("Accept-Language", ""),
        request.app[keys.CONFIG].default_language,
    )
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        # Kept (a session row) only for someone signed in or about to: an anonymous request for
        # anything else (/healthz, static files, a redirect to sign in) creates no session.
        if user is not None or request.path in TOKEN_PATHS:
            session["csrf"] = token
    request[keys.CSRF] = token
    return await handler(request)


@web.middleware
async def csrf_protect(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in UNSAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await read_form(request)
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
        # Bytes: compare_digest refuses non-ASCII str (a forged token must get 403, not a 500).
        if sent is None or not hmac.compare_digest(sent.encode(), str(request[keys.CSRF]).encode()):
            log.warning("dashboard.csrf_rejected path=%s", request.path)
            raise web.HTTPForbidden(text="CSRF token missing or wrong; reload the page and try again.")
    return await handler(request)


@web.middleware
async def require_sign_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or request[keys.USER] is not None:
        return await handler(request)
    if path.startswith("/api/") or path.startswith("/events/"):
        raise web.HTTPUnauthorized(text='{"error": "sign in first"}', content_type="application/json")
    raise web.HTTPSeeOther(f"/login?next={_quote_local(request.path_qs)}")


def _quote_local(path: str) -> str:
    return quote(path, safe="")


def safe_next(value: str | None) -> str:
    """A redirect target only within this site (no scheme, no host, no protocol-relative //)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
