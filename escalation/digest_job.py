"""Sending the families' daily digest: the alerts service runs :meth:`DailyDigests.run` on its sweep.

At ``[alerts] digest_at`` local time of each household (or up to ``WINDOW`` later: a service that was
down catches up, never in the night), every family contact who asked for a digest gets one, by SMS or
e-mail, composed from the day's facts (:func:`escalation.digest.compose`). One per contact and local
day, ever: the queue's idempotency key ``digest:<household>:<contact>:<date>`` is the record, so a
restart, a job firing twice or a clock going back send nothing again.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from detection.findings import Audience
from escalation.chain import BLIND_KINDS
from escalation.digest import DayFacts, IncidentOfDay, compose
from escalation.engine import EscalationEngine
from escalation.models import IncidentState, SmsPurpose
from escalation.repository import EscalationRepository
from registry.calendar import occurrences
from registry.models import ContactChannel, Digest, FamilyMember, Household
from store.base import ActivityReader

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=3)
"""After ``digest_at`` plus this, the day's digest is no longer sent."""
USUAL_DAYS = 7
"""The usual activity is the median over this many previous days (same stretch of the day)."""


@dataclass(frozen=True, slots=True)
class DigestSettings:
    at: time = time(19, 0)  # local time of each household


class DailyDigests:
    def __init__(
        self,
        repo: EscalationRepository,
        engine: EscalationEngine,
        settings: DigestSettings,
        activity: ActivityReader | None = None,
    ) -> None:
        self._repo = repo
        self._engine = engine
        self._s = settings
        self._activity = activity
        self._done: dict[str, date] = {}  # household -> the local day whose digests are all queued (a cache)

    def run(self, now: datetime) -> int:
        """Queue the digests due at ``now``; how many were queued."""
        queued = 0
        for household_id, members in self._repo.digest_families().items():
            household = self._repo.household(household_id)
            if household is None:
                continue
            local = now.astimezone(ZoneInfo(household.time_zone))
            due = datetime.combine(local.date(), self._s.at, local.tzinfo)
            day = local.date()
            if not due <= local < due + WINDOW or self._done.get(household_id) == day:
                continue
            wanted = [
                m for m in members if m.contact.opted_out_at is None and not self._repo.has_sms(_key(m, day))
            ]
            if wanted:
                facts = self.facts(household, now)
                for member in wanted:
                    self._queue(member, facts, day, now)
                queued += len(wanted)
            self._done[household_id] = day
        return queued

    def _queue(self, member: FamilyMember, facts: DayFacts, day: date, now: datetime) -> None:
        contact = member.contact
        digest = compose(facts, now, contact.language)
        channel = ContactChannel.SMS
        if member.link.digest is Digest.EMAIL and ContactChannel.EMAIL in self._engine.channels:
            channel = ContactChannel.EMAIL
        elif member.link.digest is Digest.EMAIL:
            log.warning("digest.no_email contact=%s: [email] is not enabled, sent by sms", contact.id)
        body = digest.mail if channel is ContactChannel.EMAIL else digest.sms
        self._engine.messenger.queue(
            _key(member, day),
            contact.phone,
            body,
            SmsPurpose.DIGEST,
            None,
            contact.id,
            now,
            channel=channel,
            household=member.link.household,
        )
        log.info(
            "digest.queued household=%s contact=%s channel=%s normal=%s",
            member.link.household,
            contact.id,
            channel,
            digest.normal,
        )

    def facts(self, household: Household, now: datetime) -> DayFacts:
        """What is known of ``household``'s day so far (from its local midnight until ``now``)."""
        zone = ZoneInfo(household.time_zone)
        day_start = datetime.combine(now.astimezone(zone).date(), time(0), zone)
        incidents, blind = [], []
        for i in self._repo.incidents(household.id, limit=100):
            if i.state is IncidentState.RESOLVED and (i.resolved_at or i.opened_at) < day_start:
                continue  # over before today
            if i.audience is Audience.COMMUNITY:
                incidents.append(IncidentOfDay(i.kind, i.opened_at, i.outcome))
            elif i.kind in BLIND_KINDS:
                start, end = max(i.opened_at, day_start), min(i.resolved_at or now, now)
                if end > start:
                    blind.append((start, end))
        activity, usual, last = self._activity_of(household.id, day_start, now)
        away, label = self._away(household, day_start, now)
        return DayFacts(
            name=household.name,
            time_zone=household.time_zone,
            day_start=day_start,
            incidents=tuple(incidents),
            blind=tuple(sorted(blind)),
            activity=activity,
            usual=usual,
            last_activity_at=last,
            away=away,
            away_label=label,
        )

    def _activity_of(
        self, household: str, day_start: datetime, now: datetime
    ) -> tuple[int | None, float | None, datetime | None]:
        """Today's activity count, the usual count by this time of day, and the newest activity today."""
        if self._activity is None:
            return None, None, None
        times = self._activity.activity_times(household, day_start - timedelta(days=USUAL_DAYS), now)
        stretch = now - day_start
        counts = [0] * (USUAL_DAYS + 1)  # index 0: today, k: k days ago
        for at in times:
            back = -(-(day_start - at) // timedelta(days=1)) if at < day_start else 0
            if back <= USUAL_DAYS and at - (day_start - timedelta(days=back)) < stretch:
                counts[back] += 1
        today = [t for t in times if t >= day_start]
        return counts[0], statistics.median(counts[1:]), (today[-1] if today else None)

    def _away(self, household: Household, day_start: datetime, now: datetime) -> tuple[timedelta, str]:
        """How much of the day so far a planned absence covered, and the label of the first one."""
        spans: list[tuple[datetime, datetime]] = []
        label = ""
        for o in occurrences(self._repo.calendar(household.id), household.time_zone, day_start, now):
            spans.append((o.start, o.end))
            label = label or o.entry.label
        spans += [(a.start, a.end) for a in self._repo.away_periods(household.id, now=day_start)]
        return _covered(spans, day_start, now), label


def _covered(spans: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> timedelta:
    """How much of ``[start, end)`` the spans cover (overlaps counted once)."""
    total, reached = timedelta(0), start
    for s, e in sorted(spans):
        s, e = max(s, reached), min(e, end)
        if e > s:
            total += e - s
            reached = e
    return total


def _key(member: FamilyMember, day: date) -> str:
    return f"digest:{member.link.household}:{member.contact.id}:{day.isoformat()}"
