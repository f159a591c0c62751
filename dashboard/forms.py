"""Reading posted form fields safely: text only, trimmed, bounded."""

from __future__ import annotations

from collections.abc import Mapping


def form_text(form: Mapping[str, object], name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""
