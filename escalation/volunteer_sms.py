"""Volunteers' SMS commands, plugged into the reply router: 「休み 7」/"REST 7" rests seven days (1-90),
「記録」/"RECORD" texts back the volunteer's own month. (「再開」/"START", which ends a rest as it ends
an opt-out, is the router's own: :meth:`escalation.replies.ReplyDesk._opt_in`.)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from escalation import texts
from escalation.engine import EscalationEngine
from escalation.models import SmsPurpose
from escalation.records import PointsRule, month_label, month_of, records
from escalation.replies import Pending, Reply, ReplyAction
from escalation.repository import EscalationRepository
from registry.models import Contact, ContactRole

log = logging.getLogger(__name__)

KIND = "volunteer"
REST_DAYS = range(1, 91)
_DAYS = re.compile(r"^(\d{1,3})\s*(?:days?|d|日間?)?$")


def rest_days(argument: str) -> int | None:
    """The days of "REST 7" (1-90); None for anything else."""
    m = _DAYS.match(argument.strip().lower())
    days = int(m.group(1)) if m else 0
    return days if days in REST_DAYS else None


class VolunteerCommands:
    """REST and RECORD from a volunteer's phone (a :class:`~escalation.replies.ReplyHandler`)."""

    def __init__(
        self, repo: EscalationRepository, engine: EscalationEngine, rule: PointsRule, time_zone: str
    ) -> None:
        self._repo = repo
        self._engine = engine
        self._rule = rule
        self._tz = time_zone

    def pending(self, contacts: Sequence[Contact], reply: Reply, now: datetime) -> list[Pending]:
        if reply.action not in (ReplyAction.REST, ReplyAction.RECORD):
            return []
        who = next((c for c in contacts if c.role is ContactRole.VOLUNTEER), contacts[0])
        item = f"{reply.action.value}:{int(now.timestamp())}:{reply.argument}"
        return [Pending(KIND, item, "", who, now, "")]

    def answer(self, item: Pending, action: ReplyAction, now: datetime, actor: str) -> str:
        c = item.contact
        stamp = item.item.split(":", 2)[1]
        if c.role is not ContactRole.VOLUNTEER:
            self._send(f"volunteers-only:{c.id}:{stamp}", c, texts.text("volunteers_only", c.language), now)
            return "not a volunteer"
        if action is ReplyAction.RECORD:
            return self._record(c, now, stamp)
        days = rest_days(item.item.split(":", 2)[2])
        if days is None:
            self._send(f"rest-bad:{c.id}:{stamp}", c, texts.text("rest_bad", c.language), now)
            return "bad days"
        until = now + timedelta(days=days)
        same_phone = [v for v in self._repo.contacts_by_phone(c.phone) if v.role is ContactRole.VOLUNTEER]
        for v in same_phone:  # one person, one phone: every volunteer entry of theirs rests
            self._repo.set_resting(v.id, until, actor)
            detail: dict[str, str | int | float | None] = {
                "contact": v.id,
                "days": days,
                "until": until.isoformat(),
            }
            self._repo.audit(now, actor, "volunteer.resting", detail=detail)
            log.info("volunteer.resting contact=%s days=%s", v.id, days)
        shown = until.astimezone(ZoneInfo(self._tz)).strftime("%m/%d %H:%M")
        self._send(f"rest:{c.id}:{stamp}", c, texts.text("rest_started", c.language, until=shown), now)
        return "resting"

    def _record(self, c: Contact, now: datetime, stamp: str) -> str:
        month = month_of(now, self._tz)
        mine = next(r for r in records(self._repo, month, self._tz) if r.contact == c.id)
        body = texts.text(
            "record",
            c.language,
            month=month_label(month, c.language),
            alerts=str(mine.alerts),
            answered=str(mine.answered),
            claimed=str(mine.claimed),
            visits=str(mine.visit_count),
            drills=str(mine.drills),
            points=str(mine.points(self._rule)),
        )
        self._repo.audit(now, f"contact:{c.id}", "volunteer.record", detail={"month": month})
        self._send(f"record:{c.id}:{stamp}", c, body, now)
        return "record sent"

    def _send(self, key: str, c: Contact, body: str, now: datetime) -> None:
        self._engine.messenger.queue(key, c.phone, body, SmsPurpose.REPLY, None, c.id, now)
