"""The disaster check's one-tap page, ``/d/<token>``: "I am safe" or "I need help", for the resident.

The token is signed like an alert's link but under its own kind, so neither verifies as the other.
Showing the page changes nothing (link previews open it too); only the buttons act. A bad or expired
token gets 404 or 410 and is counted in the audit log.
"""

from __future__ import annotations

import jinja2
from aiohttp import web

from escalation.disaster.checks import LINK_KIND, DisasterChecks
from escalation.links import LinkError, verify
from escalation.replies import ReplyAction
from mimamori.clock import Clock
from mimamori.forms import read_form
from registry.models import Language


class DisasterPage:
    def __init__(
        self, checks: DisasterChecks, clock: Clock, link_secret: bytes, templates: jinja2.Environment
    ):
        self.checks = checks
        self.clock = clock
        self.secret = link_secret
        self.templates = templates


PAGE = web.AppKey("disaster_page", DisasterPage)

_LABELS = {
    Language.JA: {
        "title": "安否確認",
        "question": "地震がありました。ご無事ですか。",
        "safe": "無事です",
        "help": "助けが必要です",
        "done_safe": "ありがとうございます。無事と記録しました。",
        "done_help": "助けが必要と記録しました。命に関わる場合は119番へ。",
        "closed": "この安否確認は終了しました。",
        "expired": "このリンクは期限切れです。",
        "invalid": "このリンクは無効です。",
    },
    Language.EN: {
        "title": "Safety check",
        "question": "There has been an earthquake. Are you safe?",
        "safe": "I am safe",
        "help": "I need help",
        "done_safe": "Thank you. We have noted that you are safe.",
        "done_help": "We have noted that you need help. If life is at risk, call 119.",
        "closed": "This safety check has ended.",
        "expired": "This link has expired.",
        "invalid": "This link is not valid.",
    },
}
_ACTIONS = {"safe": ReplyAction.SAFE, "help": ReplyAction.HELP}


def add_routes(app: web.Application, page: DisasterPage) -> None:
    app[PAGE] = page
    app.router.add_get("/d/{token}", show)
    app.router.add_post("/d/{token}", act)


def _target(request: web.Request) -> tuple[str, str, str] | web.Response:
    page = request.app[PAGE]
    now = page.clock.now()
    records = page.checks.records
    try:
        token = verify(page.secret, request.match_info["token"], now, LINK_KIND)
    except LinkError as exc:
        records.repo.audit(now, "link", "disaster.link_refused", detail={"reason": str(exc)})
        text = _LABELS[Language.JA]["expired" if exc.expired else "invalid"]
        return web.Response(text=text, status=410 if exc.expired else 404)
    link = records.link(token.link_id)
    if link is None:
        return web.Response(text=_LABELS[Language.JA]["invalid"], status=404)
    return link


def _render(request: web.Request, check_id: str, contact_id: str, message_key: str = "") -> web.Response:
    page = request.app[PAGE]
    contact = page.checks.records.repo.contact(contact_id)
    check = page.checks.records.check(check_id)
    lang = contact.language if contact else Language.JA
    t = _LABELS[lang]
    running = check is not None and check.running
    html = page.templates.get_template("disaster.html").render(
        lang=lang.value,
        t=t,
        open=running,
        message=t[message_key] if message_key else ("" if running else t["closed"]),
    )
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


async def show(request: web.Request) -> web.Response:
    target = _target(request)
    if isinstance(target, web.Response):
        return target
    page = request.app[PAGE]
    page.checks.records.repo.audit(
        page.clock.now(), f"link:{target[2]}", "disaster.link_view", household=target[1]
    )
    return _render(request, target[0], target[2])


async def act(request: web.Request) -> web.Response:
    target = _target(request)
    if isinstance(target, web.Response):
        return target
    page = request.app[PAGE]
    form = await read_form(request)
    action = _ACTIONS.get(str(form.get("action", "")))
    if action is None:
        raise web.HTTPBadRequest(text="unknown action")
    check_id, household, contact_id = target
    check = page.checks.records.check(check_id)
    contact = page.checks.records.repo.contact(contact_id)
    if check is None or not check.running or contact is None:
        return _render(request, check_id, contact_id)
    now = page.clock.now()
    with page.checks.records.repo.transaction():
        page.checks.resident_answer(
            check_id, household, contact, action, now, f"link:{contact_id}", by_link=True
        )
    return _render(request, check_id, contact_id, "done_help" if action is ReplyAction.HELP else "done_safe")
