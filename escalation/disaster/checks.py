"""Running disaster checks: started, texted, watched and ended by the alerts service, on its clock.

A check is *requested* by staff (the command line, the dashboard: :mod:`escalation.disaster.commands`)
and *started* by :meth:`DisasterChecks.tick`: the households in scope are recorded, each resident is
texted 「地震がありました。無事なら1を返信してください」 with a one-tap link, through the SMS
queue (never urgent, so open alerts go first) and topped up only ``backlog_s`` of the dispatcher's rate
ahead, so other notices are not stuck behind a thousand of them. Every tick records what the sensors
show (newest activity, blind), marks homes safe by activity, asks volunteers of the areas staff asked
for (at most ``volunteers_per_minute``), and ends the check when asked to or when its time is up, with a
report. Replies come through the reply router (:class:`DisasterChecks` is a ``ReplyHandler``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from escalation import texts
from escalation.chain import BLIND_KINDS
from escalation.codes import reply_code
from escalation.disaster.models import CheckHousehold, DisasterCheck, DisasterSettings, SafeBy
from escalation.disaster.records import KEY_PREFIX, DisasterRecords
from escalation.disaster.standing import ordered, shows_life, status
from escalation.drills import answers_in_writing
from escalation.engine import EscalationEngine
from escalation.links import sign
from escalation.models import SmsPurpose
from escalation.replies import Pending, Reply, ReplyAction
from escalation.repository import EscalationRepository
from mimamori.contract import GatewayState
from mimamori.sqlite import opt_db_time, opt_time
from registry.models import Contact, ContactRole, Household, TierKind
from store.base import ActivityReader

log = logging.getLogger(__name__)

RESIDENT_KIND = "disaster"
VOLUNTEER_KIND = "disaster_ask"
LINK_KIND = "disaster"  # the one-tap links' signing domain (escalation.links)
RESIDENT_SAFE = frozenset({ReplyAction.GO, ReplyAction.SAFE, ReplyAction.ACK})  # 1, 3 / 無事, はい / OK
VOLUNTEER_ANSWERS = frozenset({ReplyAction.GO, ReplyAction.SAFE})  # 1: going; 3: they are safe


def check_code(check: str, household: str) -> str:
    return reply_code(f"{check}:{household}", "disaster")


def sight(
    activity: ActivityReader | None, repo: EscalationRepository
) -> tuple[dict[str, datetime | None], set[str]]:
    """What the sensors show now: each household's newest activity, and the blind ones (a gateway
    offline, or a blind incident open: detection's own verdict)."""
    blind = {i.household for i in repo.incidents(open_only=True, limit=100_000) if i.kind in BLIND_KINDS}
    if activity is None:
        return {}, blind
    seen = {a.household: a.last_activity_at for a in activity.household_activity()}
    blind |= {g.household for g in activity.gateways() if g.state is GatewayState.OFFLINE}
    return seen, blind


class DisasterChecks:
    def __init__(
        self,
        repo: EscalationRepository,
        engine: EscalationEngine,
        settings: DisasterSettings,
        public_url: str,
        link_secret: bytes,
        activity: ActivityReader | None = None,
    ) -> None:
        self.records = DisasterRecords(repo)
        self._repo = repo
        self._engine = engine
        self._s = settings
        self._public_url = public_url.rstrip("/")
        self._secret = link_secret
        self._activity = activity

    # -- the tick ------------------------------------------------------------------------------------
    def tick(self, now: datetime) -> None:
        checks = self.records.open_checks()
        if not checks:
            return
        seen, blind = sight(self._activity, self._repo)
        for check in checks:
            if check.started_at is None:
                check = self._start(check, now, seen, blind)
            else:
                self._observe(check, now, seen, blind)
            assert check.started_at is not None
            assert check.ends_at is not None
            if check.end_requested_by is not None or now >= check.ends_at:
                self._end(check, now, check.end_requested_by or "system")
                continue
            self._text(check, now)
            self._ask(check, now)

    def _start(
        self, check: DisasterCheck, now: datetime, seen: Mapping[str, datetime | None], blind: set[str]
    ) -> DisasterCheck:
        homes = self._repo.households(organisation=check.organisation, area=check.area)
        rows = [
            CheckHousehold(
                check.id,
                h.id,
                h.area,
                h.lives_alone,
                h.needs,
                resident=self._resident(h),
                last_activity_at=seen.get(h.id),
                blind=h.id in blind,
            )
            for h in homes
        ]
        ends = now + timedelta(hours=self._s.duration_hours)
        self.records.start(check.id, now, ends, rows)
        self._repo.audit(
            now, check.requested_by, "disaster.started", detail={"check": check.id, "households": len(rows)}
        )
        log.info("disaster.started check=%s households=%s", check.id, len(rows))
        started = self.records.check(check.id)
        assert started is not None
        return started

    def _resident(self, h: Household) -> str | None:
        """The resident contact to text: the first who can answer in writing and has not opted out."""
        for c in self._repo.contacts(h.id):
            if c.role is ContactRole.RESIDENT and c.opted_out_at is None and answers_in_writing(c):
                return c.id
        return None

    def _observe(
        self, check: DisasterCheck, now: datetime, seen: Mapping[str, datetime | None], blind: set[str]
    ) -> None:
        """Record what changed since the last tick; homes with activity late enough are safe."""
        assert check.started_at is not None
        changed: list[tuple[str, datetime | None, bool]] = []
        alive: list[tuple[str, datetime]] = []
        for household, (stored, was_blind, safe) in self.records.seen(check.id).items():
            at = seen.get(household)
            is_blind = household in blind
            if (at is not None and opt_db_time(at) != stored) or is_blind != was_blind:
                changed.append((household, at if at is not None else opt_time(stored), is_blind))
            if not safe and at is not None and shows_life(at, check.started_at, self._s.ignore_minutes):
                alive.append((household, at))
        if not changed and not alive:
            return
        with self._repo.transaction():
            self.records.update_seen(check.id, changed)
            for household, at in alive:
                self.records.mark_safe(check.id, household, at, SafeBy.ACTIVITY)

    def _text(self, check: DisasterCheck, now: datetime) -> None:
        """Queue residents' messages, at most ``backlog_s`` of the SMS rate ahead of the dispatcher."""
        room = max(1, round(self._s.sms_rate_per_s * self._s.backlog_s)) - self.records.queued(check.id)
        if room <= 0:
            return
        batch = self.records.to_text(check.id, room)
        with self._repo.transaction():
            for h in batch:
                contact = self._repo.contact(h.resident or "")
                if contact is None:
                    continue
                body = texts.disaster_check(
                    contact.language,
                    check_code(check.id, h.household),
                    self._link(check.id, h.household, contact.id, now),
                )
                key = f"{KEY_PREFIX}{check.id}:{h.household}:{contact.id}"
                self._engine.messenger.queue(
                    key, contact.phone, body, SmsPurpose.DISASTER, None, contact.id, now
                )
                self.records.mark_texted(check.id, h.household, now)
        if batch:
            log.info("disaster.texted check=%s count=%s", check.id, len(batch))

    def _link(self, check: str, household: str, contact: str, now: datetime) -> str:
        expires = now + timedelta(hours=self._s.link_ttl_hours)
        link_id = self.records.link_id(check, household, contact, expires)
        return f"{self._public_url}/d/{sign(self._secret, link_id, expires, LINK_KIND)}"

    def _ask(self, check: DisasterCheck, now: datetime) -> None:
        """Volunteers of the asked areas, one household each, most in need first, at the set rate."""
        areas = set(self.records.asked_areas(check.id))
        if not areas:
            return
        assert check.started_at is not None
        room = int(self._s.volunteers_per_minute) - self.records.asks_sent_since(
            check.id, now - timedelta(minutes=1)
        )
        if room <= 0:
            return
        households = self.records.households(check.id)
        load: dict[str, int] = {}
        for h in households:
            if h.asked is not None:
                load[h.asked] = load.get(h.asked, 0) + 1
        with self._repo.transaction():
            for h in ordered(households, check.started_at):
                if room <= 0:
                    break
                if h.area not in areas or h.asked_at is not None:
                    continue
                volunteer = self._volunteer(h.household, load)
                if volunteer is None:
                    continue
                home = self._repo.household(h.household)
                body = texts.text(
                    "disaster_ask",
                    volunteer.language,
                    name=home.name if home else h.household,
                    hint=home.address_hint if home else "",
                    code=check_code(check.id, h.household),
                )
                key = f"{KEY_PREFIX}{check.id}:{h.household}:{volunteer.id}:ask"
                self._engine.messenger.queue(
                    key, volunteer.phone, body, SmsPurpose.DISASTER, None, volunteer.id, now
                )
                self.records.mark_asked(check.id, h.household, volunteer.id, now)
                load[volunteer.id] = load.get(volunteer.id, 0) + 1
                room -= 1
                log.info(
                    "disaster.asked check=%s household=%s volunteer=%s", check.id, h.household, volunteer.id
                )

    def _volunteer(self, household: str, load: Mapping[str, int]) -> Contact | None:
        """The household's least-asked volunteer (its policy's volunteers tier, then linked volunteers)."""
        policy = self._repo.policy(household)
        ids = [c for t in policy.tiers if t.kind is TierKind.VOLUNTEERS for c in t.contacts] if policy else []
        ids += [c.id for c in self._repo.contacts(household) if c.role is ContactRole.VOLUNTEER]
        people = [
            c
            for c in self._repo.contacts_by_id(set(ids)).values()
            if c.role is ContactRole.VOLUNTEER and c.opted_out_at is None and answers_in_writing(c)
        ]
        return min(people, key=lambda c: (load.get(c.id, 0), c.id), default=None)

    def _end(self, check: DisasterCheck, now: datetime, by: str) -> None:
        households = self.records.households(check.id)
        summary = status(check, households)
        report = {
            **{k: summary[k] for k in ("households", "safe", "unknown", "waiting", "safe_by")},
            "ended_by": by,
            "sms": self.records.sms_counts(check.id),
            "asked_volunteers": sum(1 for h in households if h.asked_at is not None),
            "not_known_safe": [row["household"] for row in summary["ordered"]],
        }
        with self._repo.transaction():
            if self.records.end(check.id, now, json.dumps(report, ensure_ascii=False)):
                self._repo.audit(
                    now, by, "disaster.ended", detail={"check": check.id, "safe": report["safe"]}
                )
                log.info(
                    "disaster.ended check=%s by=%s safe=%s of=%s",
                    check.id,
                    by,
                    report["safe"],
                    len(households),
                )

    # -- replies (a ReplyHandler) ---------------------------------------------------------------------
    def pending(self, contacts: Sequence[Contact], reply: Reply, now: datetime) -> list[Pending]:
        by_id = {c.id: c for c in contacts}
        waiting: list[tuple[str, CheckHousehold, str | None, datetime | None]] = []  # kind, home, who, when
        if reply.action in RESIDENT_SAFE or reply.action is ReplyAction.HELP:
            waiting += [
                (RESIDENT_KIND, h, h.resident, h.texted_at) for h in self.records.for_contact(list(by_id))
            ]
        if reply.action in VOLUNTEER_ANSWERS:
            waiting += [(VOLUNTEER_KIND, h, h.asked, h.asked_at) for h in self.records.asked(list(by_id))]
        found: list[Pending] = []
        for kind, h, who, at in waiting:
            assert who is not None
            assert at is not None
            item = f"{h.check}:{h.household}:{who}"
            found.append(Pending(kind, item, check_code(h.check, h.household), by_id[who], at, h.household))
        return found

    def answer(self, item: Pending, action: ReplyAction, now: datetime, actor: str) -> str:
        check, household, contact = item.item.split(":")
        c = item.contact
        if item.kind == RESIDENT_KIND:
            return self.resident_answer(check, household, c, action, now, actor, by_link=False)
        if action is ReplyAction.GO:
            if not self.records.set_visiting(check, household, contact):
                return ""
            self._repo.audit(now, actor, "disaster.visiting", household=household, detail={"check": check})
            self._reply("disaster_going", f"{KEY_PREFIX}{check}:{household}:{contact}:going", c, now)
            return "visiting"
        if not self.records.mark_safe(check, household, now, SafeBy.VOLUNTEER):
            return ""
        self._repo.audit(
            now, actor, "disaster.safe", household=household, detail={"check": check, "by": "volunteer"}
        )
        self._reply("disaster_noted", f"{KEY_PREFIX}{check}:{household}:{contact}:noted", c, now)
        return "safe"

    def resident_answer(
        self,
        check: str,
        household: str,
        c: Contact,
        action: ReplyAction,
        now: datetime,
        actor: str,
        *,
        by_link: bool,
    ) -> str:
        """The resident's "safe" or "help", by SMS or one-tap link ("" when it changed nothing)."""
        if action is ReplyAction.HELP:
            if not self.records.mark_help(check, household, now):
                return ""
            self._repo.audit(now, actor, "disaster.help", household=household, detail={"check": check})
            if not by_link:
                self._reply("disaster_help", f"{KEY_PREFIX}{check}:{household}:{c.id}:help", c, now)
            return "help"
        how = SafeBy.LINK if by_link else SafeBy.REPLY
        if not self.records.mark_safe(check, household, now, how):
            return ""
        self._repo.audit(
            now, actor, "disaster.safe", household=household, detail={"check": check, "by": how.value}
        )
        if not by_link:
            self._reply("disaster_thanks", f"{KEY_PREFIX}{check}:{household}:{c.id}:thanks", c, now)
        return "safe"

    def _reply(self, key: str, idem: str, c: Contact, now: datetime) -> None:
        self._engine.messenger.queue(
            idem, c.phone, texts.text(key, c.language), SmsPurpose.REPLY, None, c.id, now
        )
