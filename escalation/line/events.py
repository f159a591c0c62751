"""What comes back from LINE (the webhook's events, already signature-checked): answers, links, blocks.

- a tap on an alert's button (postback) or a text from a linked user: a reply, through the reply router,
  exactly as an SMS from the contact's phone would be (a redelivered event is handled once);
- a text from a user not linked yet: a one-time code (``mimamori line-code CONTACT``) links them;
- follow / unfollow: LINE opted in again / opted out (blocked): the contact's other channels carry on.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from datetime import datetime, timedelta

from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

from escalation.line.messages import LINKED, UNKNOWN_CODE, WELCOME
from escalation.models import SmsPurpose
from escalation.replies import ReplyDesk
from escalation.repository import EscalationRepository
from registry.models import Contact, ContactChannel

log = logging.getLogger(__name__)

CODE_DIGITS = 6


def new_code(repo: EscalationRepository, contact_id: str, now: datetime, hours: int) -> str:
    """A one-time code for a contact to send to the official account (valid ``hours``)."""
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    repo.add_line_code(code, contact_id, now + timedelta(hours=hours))
    repo.audit(now, "system", "line.code_issued", detail={"contact": contact_id})
    return code


class LineEvents:
    def __init__(self, repo: EscalationRepository, desk: ReplyDesk) -> None:
        self._repo = repo
        self._desk = desk

    def handle(self, event: Event, now: datetime) -> str:
        """Act on one event; what it did (for the log and tests)."""
        source = getattr(event, "source", None)
        if not isinstance(source, UserSource) or not source.user_id:
            return "ignored"
        user = str(source.user_id)
        ref = f"line:{getattr(event, 'webhook_event_id', '') or ''}"
        contact = self._repo.contact_by_line_user(user)
        if isinstance(event, PostbackEvent) and contact is not None:
            return self._reply(contact, str(event.postback.data), now, ref)
        if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
            text = str(event.message.text)
            if contact is not None and not contact.line_blocked:
                return self._reply(contact, text, now, ref)
            with self._repo.transaction():
                if not self._repo.mark_reply_handled(ref, now, "line"):
                    return "duplicate"
                return self._link(user, text, now)
        if isinstance(event, FollowEvent | UnfollowEvent):
            with self._repo.transaction():
                if not self._repo.mark_reply_handled(ref, now, "line"):
                    return "duplicate"
                return self._follow(user, contact, isinstance(event, FollowEvent), now)
        return "ignored"

    def _reply(self, contact: Contact, text: str, now: datetime, ref: str) -> str:
        outcome = self._desk.handle_reply(contact.phone, text, now, ref=ref)
        log.info("line.reply contact=%s action=%s accepted=%s", contact.id, outcome.action, outcome.accepted)
        return outcome.detail or outcome.action.value

    def _link(self, user: str, text: str, now: datetime) -> str:
        code = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())
        contact_id = self._repo.take_line_code(code, now) if len(code) == CODE_DIGITS else None
        contact = self._repo.contact(contact_id) if contact_id else None
        if contact is None:
            self._push(f"line:unknown-code:{user}:{now:%Y%m%d%H}", user, UNKNOWN_CODE, None, now)
            log.info("line.link_refused user=%s", user[-6:])
            return "unknown code"
        for other in self._repo.contacts():
            if other.line_user == user and other.id != contact.id:
                self._repo.set_line_user(other.id, None)  # one LINE user, one contact
        self._repo.set_line_user(contact.id, user)
        self._repo.audit(now, f"contact:{contact.id}", "line.linked", detail={"contact": contact.id})
        self._push(
            f"line:linked:{contact.id}:{user}",
            user,
            LINKED[contact.language].format(name=contact.name),
            contact.id,
            now,
        )
        log.info("line.linked contact=%s", contact.id)
        return "linked"

    def _follow(self, user: str, contact: Contact | None, follow: bool, now: datetime) -> str:
        if contact is None:
            if follow:
                self._push(f"line:welcome:{user}:{now:%Y%m%d}", user, WELCOME, None, now)
            return "followed" if follow else "unfollowed"
        self._repo.set_line_user(contact.id, user, blocked=not follow)
        action = "line.followed" if follow else "line.unfollowed"
        self._repo.audit(now, f"contact:{contact.id}", action, detail={"contact": contact.id})
        if not follow and contact.channels[:1] == (ContactChannel.LINE,):
            log.warning(
                "coverage.gap contact=%s reason=blocked the LINE account (next channel used)", contact.id
            )
        return "followed" if follow else "unfollowed"

    def _push(self, key: str, user: str, body: str, contact: str | None, now: datetime) -> None:
        self._repo.enqueue_sms(
            key=key,
            to=user,
            body=body,
            purpose=SmsPurpose.REPLY,
            urgent=False,
            now=now,
            contact=contact,
            channel=ContactChannel.LINE,
        )
