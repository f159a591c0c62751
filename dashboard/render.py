"""Rendering pages: every template gets the translator, the caller, the CSRF token and time helpers
in the caller's language; times are shown in the household's (or the platform's) time zone."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import jinja2
from aiohttp import web

from dashboard import keys
from dashboard.charts import clock_label
from dashboard.i18n import day_label, form_error, label, translate
from detection.explain import render as explain


def setup_templates(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("dashboard", "templates"),
        autoescape=jinja2.select_autoescape(["html", "svg"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


TIME_FORMAT = "%Y/%m/%d %H:%M"  # the one format of every time a page shows, in the household's zone


def local_time(at: datetime | None, tz: str) -> str:
    return "—" if at is None else at.astimezone(ZoneInfo(tz)).strftime(TIME_FORMAT)


def ago(lang: str, now: datetime, at: datetime | None) -> str:
    if at is None:
        return translate(lang, "time.never")
    minutes = max(0, int((now - at).total_seconds() // 60))
    if minutes < 120:
        return translate(lang, "time.ago_min", n=minutes)
    if minutes < 48 * 60:
        return translate(lang, "time.ago_h", n=minutes // 60)
    return translate(lang, "time.ago_d", n=minutes // (24 * 60))


def page_context(request: web.Request) -> dict[str, Any]:
    lang = request[keys.LANG]
    now = request.app[keys.CLOCK].now()
    t: Callable[..., str] = partial(translate, lang)
    return {
        "t": t,
        "lang": lang,
        "now": now,
        "user": request[keys.USER],
        "csrf": request[keys.CSRF],
        "path": request.path_qs,
        "local_time": local_time,
        "label": partial(label, lang),
        "day_label": partial(day_label, lang),
        "form_error": partial(form_error, lang),
        "ago": partial(ago, lang, now),
        "clock_label": clock_label,
        "reason": lambda incident: explain(incident.explanation, "ja" if lang == "ja" else "en"),
    }


def render(
    request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(
        template, request, {**page_context(request), **context}, status=status
    )


def render_fragment(request: web.Request, template: str, context: Mapping[str, Any]) -> str:
    return aiohttp_jinja2.render_string(template, request, {**page_context(request), **context})
