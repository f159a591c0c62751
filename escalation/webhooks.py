"""Webhooks and one-tap links on aiohttp: Twilio's inbound SMS, calls and status callbacks, ``/l/<token>``.

Twilio requests are checked with Twilio's own ``RequestValidator`` before anything else happens; a
missing or wrong ``X-Twilio-Signature`` gets 403 and changes nothing. The URL that was signed is the
configured public URL plus the path, so the check holds behind a TLS-terminating proxy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from importlib import resources
from typing import Any

import jinja2
from aiohttp import web
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from twilio.request_validator import RequestValidator

from escalation import texts
from escalation.codes import reply_code
from escalation.engine import EscalationEngine
from escalation.health import Health
from escalation.line.events import LineEvents
from escalation.links import LinkError, verify
from escalation.models import IncidentState, SmsMessage, SmsStatus
from escalation.replies import ReplyAction, ReplyDesk, link_actions
from escalation.repository import EscalationRepository
from escalation.voice import CONTACT_KEYS, RESIDENT_KEYS, answer_twiml, call_twiml, hangup_twiml, spoken
from mimamori.clock import Clock
from mimamori.forms import read_form
from registry.models import Contact, ContactRole, Language

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class WebhookContext:
    """What the handlers need. ``public_url`` is the URL Twilio signs (the proxy's, behind one)."""

    def __init__(
        self,
        engine: EscalationEngine,
        desk: ReplyDesk,
        repo: EscalationRepository,
        clock: Clock,
        auth_token: str,
        link_secret: bytes,
        public_url: str,
        on_change: Callable[[], None],
        health: Callable[[], Health] | None = None,
        line: LineEvents | None = None,
        line_secret: str = "",
    ) -> None:
        self.engine = engine
        self.desk = desk
        self.repo = repo
        self.clock = clock
        self.validator = RequestValidator(auth_token)
        self.link_secret = link_secret
        self.public_url = public_url
        self.on_change = on_change
        self.health = health
        self.line = line
        self.line_parser = WebhookParser(line_secret) if line is not None and line_secret else None
        self.rejected_signatures = 0
        self.templates = jinja2.Environment(
            loader=jinja2.FunctionLoader(_template), autoescape=True, undefined=jinja2.StrictUndefined
        )


CTX = web.AppKey("webhooks", WebhookContext)


def _template(name: str) -> str:
    return resources.files("escalation").joinpath("templates", name).read_text("utf-8")


def build_app(ctx: WebhookContext) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app[CTX] = ctx
    app.router.add_post("/twilio/sms", inbound_sms)
    app.router.add_post("/twilio/status", status_callback)
    app.router.add_post("/twilio/voice/answer", voice_answer)
    app.router.add_post("/twilio/voice/gather", voice_gather)
    app.router.add_post("/twilio/voice/status", voice_status)
    app.router.add_post("/line/webhook", line_webhook)
    app.router.add_get("/l/{token}", link_page)
    app.router.add_post("/l/{token}", link_action)
    app.router.add_get("/healthz", healthz)
    return app


async def healthz(request: web.Request) -> web.Response:
    """200 while the last tick, the newest stored event and the newest heartbeat are recent; else 503.
    Both with the ages as JSON (docs/operations.md)."""
    check = request.app[CTX].health
    if check is None:
        return web.Response(text="ok")
    health = await asyncio.to_thread(check)
    return web.json_response(health.as_json(), status=200 if health.ok else 503)


async def _signed_form(request: web.Request) -> dict[str, str]:
    """The form of a Twilio request whose signature is right; raises 403 otherwise."""
    ctx = request.app[CTX]
    form = await read_form(request)
    params = {k: str(v) for k, v in form.items()}
    url = ctx.public_url.rstrip("/") + request.path_qs
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not ctx.validator.validate(url, params, signature):
        ctx.rejected_signatures += 1
        log.warning("webhook.bad_signature path=%s signed=%s", request.path, bool(signature))
        raise web.HTTPForbidden(text="invalid signature")
    return params


async def inbound_sms(request: web.Request) -> web.Response:
    params = await _signed_form(request)
    ctx = request.app[CTX]
    phone, body = params.get("From", ""), params.get("Body", "")
    if not phone:
        raise web.HTTPBadRequest(text="From is missing")
    outcome = ctx.desk.handle_reply(phone, body, ctx.clock.now(), ref=params.get("MessageSid"))
    ctx.on_change()
    log.info(
        "webhook.sms action=%s accepted=%s incident=%s", outcome.action, outcome.accepted, outcome.incident
    )
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


async def status_callback(request: web.Request) -> web.Response:
    params = await _signed_form(request)
    ctx = request.app[CTX]
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    code_text = params.get("ErrorCode", "")
    # Twilio's codes are five ASCII digits; anything else ("²" passes isdigit) is no code.
    code = int(code_text) if code_text.isascii() and code_text.isdigit() and len(code_text) <= 9 else None
    known = ctx.engine.delivery.handle_status(sid, status, code, ctx.clock.now())
    ctx.on_change()
    if not known:
        log.info("webhook.status_unknown_sid sid=%s status=%s", sid, status)
    return web.Response(text="", status=204)


def _twiml(xml: str) -> web.Response:
    return web.Response(text=xml, content_type="text/xml")


def _call_of(request: web.Request) -> tuple[SmsMessage, Contact] | None:
    """The queued voice alert a call webhook is about (``?m=<id>``) and its contact."""
    ctx = request.app[CTX]
    ref = request.query.get("m", "")
    message = ctx.repo.sms(int(ref)) if ref.isascii() and ref.isdigit() and len(ref) <= 18 else None
    contact = ctx.repo.contact(message.contact) if message is not None and message.contact else None
    if message is None or contact is None:
        log.warning("webhook.call_unknown m=%s", ref[:20])
        return None
    return message, contact


def _gather_url(ctx: WebhookContext, message: SmsMessage) -> str:
    return f"{ctx.public_url.rstrip('/')}/twilio/voice/gather?m={message.id}"


async def voice_answer(request: web.Request) -> web.Response:
    """The call was answered: the message and its menu; an answering machine gets a hang-up and the
    alert moves on at once (the person's next channel, else the next person)."""
    params = await _signed_form(request)
    ctx = request.app[CTX]
    target = _call_of(request)
    if target is None:
        return _twiml(hangup_twiml())
    message, contact = target
    answered = params.get("AnsweredBy", "")
    if answered.startswith("machine") or answered == "fax":
        reason = f"answered by {answered}"
        sid = params.get("CallSid", "") or message.provider_sid or ""
        ctx.engine.delivery.record_delivery(
            sid, SmsStatus.UNDELIVERED, answered, None, reason, ctx.clock.now(), permanent=False
        )
        ctx.on_change()
        return _twiml(hangup_twiml())
    return _twiml(call_twiml(message.body, contact.language, _gather_url(ctx, message)))


async def voice_gather(request: web.Request) -> web.Response:
    """A keypress: the reply it stands for goes through the reply router (with the alert's code)."""
    params = await _signed_form(request)
    ctx = request.app[CTX]
    target = _call_of(request)
    if target is None:
        return _twiml(hangup_twiml())
    message, contact = target
    lang = contact.language
    digits = params.get("Digits", "")
    incident = ctx.repo.incident(message.incident or "")
    resident = contact.role is ContactRole.RESIDENT
    answer = (RESIDENT_KEYS if resident else CONTACT_KEYS).get(digits)
    if answer is None or incident is None:
        return _twiml(call_twiml(message.body, lang, _gather_url(ctx, message), prefix=spoken("again", lang)))
    ref = f"call:{params.get('CallSid', message.provider_sid)}:{digits}"
    outcome = ctx.desk.handle_reply(
        contact.phone, f"{reply_code(incident.id)} {answer}", ctx.clock.now(), ref=ref
    )
    ctx.on_change()
    log.info(
        "webhook.call_key key=%s action=%s accepted=%s incident=%s",
        digits,
        outcome.action,
        outcome.accepted,
        incident.id,
    )
    said = "closed" if incident.state is IncidentState.RESOLVED and not outcome.accepted else outcome.detail
    return _twiml(answer_twiml(spoken(said, lang), lang))


_CALL_STATUS = {
    "completed": SmsStatus.DELIVERED,
    "busy": SmsStatus.UNDELIVERED,
    "no-answer": SmsStatus.UNDELIVERED,
    "canceled": SmsStatus.UNDELIVERED,
    "failed": SmsStatus.FAILED,
}


async def voice_status(request: web.Request) -> web.Response:
    """How a call ended: answered by a person is delivered; busy, no answer, failed or a machine move
    the alert on at once."""
    params = await _signed_form(request)
    ctx = request.app[CTX]
    status, answered = params.get("CallStatus", ""), params.get("AnsweredBy", "")
    mapped = _CALL_STATUS.get(status)
    if mapped is SmsStatus.DELIVERED and (answered.startswith("machine") or answered == "fax"):
        mapped = SmsStatus.UNDELIVERED
    reason = f"call {status}" + (f" ({answered})" if answered else "")
    sid = params.get("CallSid", "")
    known = ctx.engine.delivery.record_delivery(
        sid, mapped, status, None, reason, ctx.clock.now(), permanent=mapped is SmsStatus.FAILED
    )
    ctx.on_change()
    if not known:
        log.info("webhook.call_status_unknown sid=%s status=%s", sid, status)
    return web.Response(text="", status=204)


async def line_webhook(request: web.Request) -> web.Response:
    """LINE's webhook: the X-Line-Signature (HMAC-SHA256 of the body under the channel secret) is
    checked before anything else; a wrong one is 403 and changes nothing (counted)."""
    ctx = request.app[CTX]
    if ctx.line is None or ctx.line_parser is None:
        raise web.HTTPNotFound(text="LINE is not configured")
    body = (await request.read()).decode("utf-8", "replace")
    try:
        events = ctx.line_parser.parse(body, request.headers.get("X-Line-Signature", ""))
    except InvalidSignatureError:
        ctx.rejected_signatures += 1
        log.warning(
            "webhook.bad_signature path=%s signed=%s", request.path, "X-Line-Signature" in request.headers
        )
        raise web.HTTPForbidden(text="invalid signature") from None
    except (ValueError, TypeError, KeyError) as exc:
        log.info("webhook.line_rejected reason=%s", type(exc).__name__)
        raise web.HTTPBadRequest(text="not a LINE webhook body") from None
    now = ctx.clock.now()
    done = [ctx.line.handle(event, now) for event in events]
    ctx.on_change()
    log.info("webhook.line events=%s done=%s", len(done), ",".join(done) or "-")
    return web.Response(text="ok")


_LABELS = {
    Language.JA: {
        "title": "見守り",
        "go": "1 行けます",
        "cant": "2 行けません",
        "safe": "3 無事を確認",
        "no_answer_at_door": "4 訪問したが応答なし",
        "hospital": "5 病院へ搬送",
        "help": "119 救急・専門職へ",
        "resident_safe": "大丈夫です",
        "resident_help": "助けて",
        "open": "対応する人を探しています。",
        "claimed": "{who}さんが向かっています。",
        "resolved": "この件は解決しました。ありがとうございました。",
        "expired": "このリンクは期限切れです。",
        "invalid": "このリンクは無効です。",
    },
    Language.EN: {
        "title": "Mimamori",
        "go": "1 I'll go",
        "cant": "2 I can't",
        "safe": "3 They are safe",
        "no_answer_at_door": "4 No answer at the door",
        "hospital": "5 Taken to hospital",
        "help": "119 Emergency / professionals",
        "resident_safe": "I'm fine",
        "resident_help": "Help",
        "open": "Looking for someone to go.",
        "claimed": "{who} is going.",
        "resolved": "This is resolved. Thank you.",
        "expired": "This link has expired.",
        "invalid": "This link is not valid.",
    },
}
_DONE = {
    "claimed": ("ありがとうございます。向かってください。", "Thank you. Please go."),
    "already claimed": ("既に別の方が向かっています。", "Someone else is already going."),
    "declined": ("了解しました。次の方に連絡します。", "Understood. We will contact the next person."),
    "resolved": ("ありがとうございました。終了にしました。", "Thank you. Marked as closed."),
    "not the claimer": ("結果は向かった方から報告してください。", "Only the person who went reports this."),
    "help": (
        "専門職に連絡しました。命に関わる場合は119番へ。",
        "Professionals alerted. If life is at risk, call 119.",
    ),
}


def _label(action: ReplyAction, resident: bool) -> str:
    """The resident's page says "I'm fine" / "Help" (her two buttons), not a neighbour's words."""
    return f"resident_{action.value}" if resident else action.value


def _link_target(request: web.Request) -> tuple[int, str, str] | web.Response:
    ctx = request.app[CTX]
    try:
        token = verify(ctx.link_secret, request.match_info["token"], ctx.clock.now())
    except LinkError as exc:
        ctx.repo.audit(ctx.clock.now(), "link", "link.refused", detail={"reason": str(exc)})
        text = _LABELS[Language.JA]["expired" if exc.expired else "invalid"]
        return web.Response(text=text, status=410 if exc.expired else 404)
    link = ctx.repo.link(token.link_id)
    if link is None:
        return web.Response(text=_LABELS[Language.JA]["invalid"], status=404)
    return token.link_id, link[0], link[1]


def _render(request: web.Request, incident_id: str, contact_id: str, message: str = "") -> web.Response:
    ctx = request.app[CTX]
    incident = ctx.repo.incident(incident_id)
    contact = ctx.repo.contact(contact_id)
    if incident is None or contact is None:
        raise web.HTTPNotFound
    lang = contact.language
    t = _LABELS[lang]
    offered = link_actions(incident, contact)
    resident = contact.role is ContactRole.RESIDENT
    household = ctx.repo.household(incident.household)
    if incident.state is IncidentState.RESOLVED:
        state = t["resolved"]
    elif incident.state is IncidentState.CLAIMED:
        who = ctx.repo.contact(incident.claimed_by or "")
        state = t["claimed"].format(who=who.name if who else "?")
    else:
        state = t["open"]
    page: dict[str, Any] = {
        "lang": lang.value,
        "t": t,
        "name": household.name if household else incident.household,
        "hint": household.address_hint if household else "",
        "what": texts.explain(incident.kind, incident.explanation_key, incident.explanation_params, lang),
        "state": state,
        "message": message,
        "open": bool(offered),
        "actions": [(a.value, t[_label(a, resident)]) for a in offered],
    }
    html = ctx.templates.get_template("link.html").render(page)
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


async def link_page(request: web.Request) -> web.Response:
    """Showing the page changes nothing (link previews open it too); only the buttons act."""
    target = _link_target(request)
    if isinstance(target, web.Response):
        return target
    ctx = request.app[CTX]
    ctx.repo.audit(ctx.clock.now(), f"link:{target[2]}", "link.view", incident=target[1])
    return _render(request, target[1], target[2])


async def link_action(request: web.Request) -> web.Response:
    target = _link_target(request)
    if isinstance(target, web.Response):
        return target
    ctx = request.app[CTX]
    form = await read_form(request)
    try:
        action = ReplyAction(str(form.get("action", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="unknown action") from None
    outcome = ctx.desk.handle_link(target[0], action, ctx.clock.now())
    ctx.on_change()
    contact = ctx.repo.contact(target[2])
    lang_index = 0 if contact is None or contact.language is Language.JA else 1
    done = _DONE.get(outcome.detail)
    return _render(request, target[1], target[2], done[lang_index] if done else "")
