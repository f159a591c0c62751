"""Reading a form body robustly: a body that is not a well-formed form is a 400, never a 500.

aiohttp's ``request.post()`` raises whatever its parsers raise on a malformed body:
``UnicodeDecodeError`` for raw ``\\xff`` bytes in a URL-encoded form, ``ValueError`` or
``InvalidHeader`` for broken multipart, ``LookupError`` for an unknown charset. :func:`read_form` turns
all of those into :class:`FormError`, an ``HTTPBadRequest``: the dashboard's forms and the Twilio
webhook (whose signature covers the form, so it must be parsed first) both answer 400. Bodies that
are too large still answer 413 (aiohttp's own ``HTTPRequestEntityTooLarge``).
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDict, MultiDictProxy

log = logging.getLogger(__name__)


class FormError(web.HTTPBadRequest):
    """The request body is not a well-formed form (answered 400)."""

    def __init__(self, why: str) -> None:
        super().__init__(text=f"malformed form: {why}")


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The request's form fields (text only: a file field is malformed here), or :class:`FormError`."""
    try:
        form = await request.post()
    except web.HTTPException:
        raise
    except (HttpProcessingError, ValueError, LookupError, AssertionError, RuntimeError, TypeError) as exc:
        log.warning("http.form_rejected path=%s error=%s", request.path, type(exc).__name__)
        raise FormError(type(exc).__name__) from None
    fields: MultiDict[str] = MultiDict()
    for name, value in form.items():
        if not isinstance(value, str):
            log.warning("http.form_rejected path=%s error=not_text", request.path)
            raise FormError(f"field {name[:40]!r} is not text")
        fields.add(name, value)
    return MultiDictProxy(fields)
