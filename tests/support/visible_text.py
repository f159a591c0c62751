"""What a person reads on a dashboard page (text and tooltips), and the enums whose values are code
words that must never show there."""

from __future__ import annotations

import re
from enum import StrEnum
from html.parser import HTMLParser

from dashboard.users import StaffRole
from detection.findings import FindingKind, Severity
from escalation.models import IncidentState, Outcome, SmsPurpose, SmsStatus, StepKind
from escalation.replies import ReplyAction
from mimamori.contract import GatewayState, Kind
from registry.models import TierKind

CODE_WORD_ENUMS: tuple[type[StrEnum], ...] = (
    FindingKind,
    Severity,
    IncidentState,
    Outcome,
    StepKind,
    SmsStatus,
    SmsPurpose,
    ReplyAction,
    TierKind,
    GatewayState,
    Kind,
    StaffRole,
)


class _VisibleText(HTMLParser):
    """The text a person sees: text nodes and tooltips, not scripts, styles or attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts.extend(value for name, value in attrs if name in ("title", "aria-label") and value)
        if tag == "option":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_words(html: str) -> tuple[str, set[str]]:
    parser = _VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    return text, set(re.findall(r"[A-Za-z0-9_.\-]+", text))
