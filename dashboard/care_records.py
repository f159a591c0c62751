"""The dashboard's :class:`~dashboard.views.CareRecords` over the registry and escalation repository: the same
SQLite state the alerts process writes (households, contacts, policies, incidents, escalation steps,
SMS, away periods), and the same audit log. Edits are validated with the alerts import rules."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from pydantic import ValidationError

from dashboard.i18n import validation_message
from dashboard.views import (
    AuditView,
    AwayView,
    CalendarView,
    ContactDraft,
    ContactView,
    CoverageView,
    FamilyView,
    HouseholdView,
    IncidentView,
    InvalidEdit,
    LogEntry,
    OrganisationView,
    PolicyView,
    TierView,
    VolunteerDraft,
    VolunteerSheet,
    VolunteerView,
    WatchOptions,
    away_errors,
)
from detection.findings import Explanation
from escalation import models as escalation
from escalation.commands import STAFF_OUTCOMES, StaffCommands
from escalation.drills import DrillOutcome, coverage
from escalation.records import CSV_COLUMNS, PointsRule, records, row, to_csv
from escalation.repository import EscalationRepository
from mimamori.contract import ID_RE
from registry import models as registry
from registry.calendar import CalendarIn
from registry.households_import import (
    COMMUNITY_TIERS,
    ContactIn,
    FamilyIn,
    HouseholdIn,
    PolicyIn,
    TierIn,
    check_family_link,
    store_household,
)
from registry.volunteers import REST_ZONE, WEEKDAYS, rest_end

MAX_INCIDENTS = 200
FEW_IDS = 200  # fewer households than this are read one by one


def _household(h: registry.Household) -> HouseholdView:
    return HouseholdView(
        h.id,
        h.name,
        h.address_hint,
        h.time_zone,
        h.language.value,
        h.organisation,
        h.area,
        h.lives_alone,
        tuple(n.value for n in h.needs),
    )


def _contact(c: registry.Contact, shared_with: Collection[str] = ()) -> ContactView:
    return ContactView(
        c.id,
        c.name,
        c.phone,
        c.role.value,
        c.language.value,
        c.opted_out_at,
        tuple(sorted(shared_with)),
        tuple(ch.value for ch in c.channels),
        c.email or "",
        c.line_user is not None and not c.line_blocked,
    )


def _errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        name = prefix + (str(error["loc"][0]) if error["loc"] else "form")
        found.setdefault(name, validation_message(error["type"], error.get("ctx"), str(error["msg"])))
    return found


TIER_OF_ROLE = {
    "resident": "resident_check",
    "neighbour": "neighbours",
    "volunteer": "volunteers",
    "professional": "professionals",
}
"""A new household's first contact is the one member of this tier of its policy."""
# Editing a household's own fields leaves its policy alone: HouseholdIn is given this stand-in for it.
UNCHANGED_POLICY: Mapping[str, object] = {"tiers": [{"kind": "neighbours", "contacts": ["unchanged"]}]}


def new_household(
    fields: Mapping[str, object], contact: Mapping[str, object]
) -> tuple[HouseholdIn, ContactIn]:
    """A new household and its first contact as the households import validates them (the contact's
    role chooses its tier); :class:`InvalidEdit` with every reason, the contact's prefixed ``contact_``."""
    errors: dict[str, str] = {}
    checked_contact: ContactIn | None = None
    try:
        checked_contact = ContactIn.model_validate(contact)
    except ValidationError as exc:
        errors.update(_errors(exc, "contact_"))
    tier = TIER_OF_ROLE.get(str(contact.get("role")))
    if tier is None:
        errors.setdefault("contact_role", "a resident, neighbour, volunteer or professional")
    policy = {"tiers": [{"kind": tier or "neighbours", "contacts": [contact.get("id")]}]}
    checked: HouseholdIn | None = None
    try:
        checked = HouseholdIn.model_validate({**fields, "policy": policy})
    except ValidationError as exc:
        errors.update(_errors(exc))
    if not ID_RE.match(str(fields.get("id", ""))):
        errors.setdefault("id", "lower-case letters, digits, - and _ (at most 64)")
    if errors or checked is None or checked_contact is None:
        raise InvalidEdit(errors)
    return checked, checked_contact


def household_fields(fields: Mapping[str, object]) -> HouseholdIn:
    """A household's own fields (no policy) as the import validates them; :class:`InvalidEdit`."""
    try:
        return HouseholdIn.model_validate({**fields, "policy": UNCHANGED_POLICY})
    except ValidationError as exc:
        raise InvalidEdit(_errors(exc)) from None


def registry_entry(household: str, entry: Mapping[str, object]) -> registry.CalendarEntry:
    """A calendar entry as the households import validates it; :class:`InvalidEdit` with the reasons."""
    try:
        return CalendarIn.model_validate(entry).entry(household)
    except ValidationError as exc:
        raise InvalidEdit(_errors(exc)) from None


def _calendar(e: registry.CalendarEntry) -> CalendarView:
    return CalendarView(e.id, e.label, e.start, e.end, e.weekdays, e.first_day, e.last_day)


def _window_text(w: registry.Availability) -> str:
    """``mon,tue 09:00-17:00``: a window as the volunteer form shows it."""
    return f"{','.join(WEEKDAYS[d] for d in w.weekdays)} {w.start:%H:%M}-{w.end:%H:%M}"


def _rest_text(until: datetime | None) -> str:
    """The last day of a rest (Japan time), as the form shows it; "" when not resting."""
    return (
        "" if until is None else (until.astimezone(REST_ZONE) - timedelta(microseconds=1)).date().isoformat()
    )


def parse_windows(text: str, errors: dict[str, str]) -> list[dict[str, object]]:
    """The form's availability lines (``mon,tue 09:00-17:00``) as the import's ``availability`` entries;
    the days and times themselves are judged by ``AvailabilityIn``."""
    windows: list[dict[str, object]] = []
    for n, line in enumerate(text.replace("、", ",").splitlines(), 1):
        words = line.replace(",", " ").split()
        if not words:
            continue
        start, dash, end = words[-1].partition("-")
        if not dash or len(words) < 2:
            errors.setdefault("availability", f"line {n}: days, then start-end, e.g. mon,tue 09:00-17:00")
            continue
        windows.append({"days": [d.lower() for d in words[:-1]], "start": start, "end": end})
    return windows


def checked_volunteer(
    c: registry.Contact, draft: VolunteerDraft, known: Collection[str], organisations: Collection[str] | None
) -> tuple[ContactIn, date | None]:
    """Volunteer ``c`` with the form's ``draft`` applied, validated like the households import
    (``ContactIn``), and the first day of the rest asked for. Only pools of ``organisations`` (None: any
    of ``known``) change. Refusals raise :class:`InvalidEdit` keyed by form field."""
    errors: dict[str, str] = {}
    windows = parse_windows(draft.availability, errors)
    rest: date | None = None
    if draft.resting_until.strip():
        try:
            rest = date.fromisoformat(draft.resting_until.strip())
        except ValueError:
            errors["resting_until"] = "a date, e.g. 2026-12-20"
    allowed = set(known) if organisations is None else set(organisations)
    posted = set(draft.pools)
    if posted - set(known):
        errors["pools"] = f"pools: unknown organisations {', '.join(sorted(posted - set(known)))}"
    elif posted - allowed:
        errors["pools"] = "pools: only organisations you manage"
    pools = sorted({p for p in c.pools if p not in allowed} | posted)
    fields: dict[str, object] = {
        "id": c.id,
        "name": c.name,
        "phone": c.phone,
        "role": c.role,
        "language": c.language,
    }
    fields |= {"email": c.email, "channels": list(c.channels), "pools": pools, "availability": windows}
    fields |= {"weekly_cap": draft.weekly_cap.strip() or None, "resting_until": rest}
    try:
        checked = ContactIn.model_validate(fields)
    except ValidationError as exc:
        errors = _errors(exc) | errors
    if errors:
        raise InvalidEdit(errors)
    return checked, rest


class StateCareRecords:
    """Reads and edits through :class:`EscalationRepository` (which the caller opens and closes).
    Incidents are closed through :class:`escalation.commands.StaffCommands` (the state machine)."""

    def __init__(
        self,
        repo: EscalationRepository,
        staff: StaffCommands | None = None,
        *,
        points: PointsRule = PointsRule(),  # noqa: B008  (frozen)
        time_zone: str = "Asia/Tokyo",
    ) -> None:
        self._repo = repo
        self._staff = staff or StaffCommands(repo)
        self._points = points
        self._tz = time_zone

    def volunteer_sheet(self, month: str, organisation: str | None) -> VolunteerSheet:
        found = records(self._repo, month, self._tz, organisation)
        rows = tuple(tuple(row(r, self._points)) for r in found)
        return VolunteerSheet(month, organisation, CSV_COLUMNS, rows, to_csv(found, self._points))

    def households(self, ids: Collection[str] | None = None) -> list[HouseholdView]:
        if ids is not None and len(ids) < FEW_IDS:
            found = (self._repo.household(i) for i in sorted(ids))
            return [_household(h) for h in found if h is not None]
        return [_household(h) for h in self._repo.households() if ids is None or h.id in ids]

    def household(self, household: str) -> HouseholdView | None:
        found = self._repo.household(household)
        return None if found is None else _household(found)

    def contacts(self, household: str) -> list[ContactView]:
        return [
            _contact(c, set(self._repo.households_of(c.id)) - {household})
            for c in self._repo.contacts(household)
        ]

    def coverage(self, households: Collection[str]) -> Mapping[str, CoverageView]:
        found = coverage(self._repo, households)
        views: dict[str, CoverageView] = {}
        for h in {g.household for g in found.gaps} | {h for h, _ in found.flagged}:
            gaps = [g for g in found.gaps if g.household == h]
            views[h] = CoverageView(
                tuple((g.name, g.outcome.value) for g in gaps if g.outcome is not DrillOutcome.OPTED_OUT),
                tuple(tier for fh, tier in found.flagged if fh == h),
                tuple(g.name for g in gaps if g.outcome is DrillOutcome.OPTED_OUT),
            )
        return views

    def policy(self, household: str) -> PolicyView:
        policy = self._repo.policy(household)
        if policy is None:
            return PolicyView(())
        quiet = policy.quiet_hours
        return PolicyView(
            tuple(
                TierView(t.kind.value, t.contacts, t.mode.value, t.wait_minutes, t.pool, t.pool_size)
                for t in policy.tiers
            ),
            policy.claim_timeout_minutes,
            policy.volunteer_weekly_cap,
            "" if quiet is None else f"{quiet.start:%H:%M}",
            "" if quiet is None else f"{quiet.end:%H:%M}",
        )

    def incidents(self, household: str, since: datetime) -> list[IncidentView]:
        names = {c.id: c.name for c in self._repo.contacts(household)}
        found = []
        for incident in self._repo.incidents(household, limit=MAX_INCIDENTS):
            if incident.opened_at < since and incident.state is escalation.IncidentState.RESOLVED:
                continue
            for wave in incident.snapshot.waves:
                names.update({c.id: c.name for c in wave.contacts})
            found.append(self._incident(incident, names))
        return found

    def _incident(self, i: escalation.Incident, names: Mapping[str, str]) -> IncidentView:
        # Steps' own details are the engine's notes (English, code words): the page shows the labelled
        # step, and only a delivery error's reason besides.
        log = [
            LogEntry(
                s.at,
                s.kind.value,
                names.get(s.contact, s.contact) if s.contact else None,
                s.detail if s.kind is escalation.StepKind.DELIVERY_FAILED else "",
            )
            for s in self._repo.steps(i.id)
        ]
        for sms in self._repo.sms_messages(incident=i.id):
            who = names.get(sms.contact, sms.contact) if sms.contact else sms.to
            log.append(
                LogEntry(sms.created_at, f"sms_{sms.purpose.value}", who, sms.body, status=sms.status.value)
            )
        for entry in self._repo.audit_log(incident=i.id):
            if entry.action.startswith(("reply", "link")):
                who = entry.actor.removeprefix("contact:").removeprefix("link:")
                text = entry.detail.get("text")
                action = entry.detail.get("action")
                log.append(
                    LogEntry(
                        entry.at,
                        entry.action,
                        names.get(who, who),
                        f"「{text}」" if text else "",
                        reply=None if action is None else str(action),
                    )
                )
        log.sort(key=lambda e: e.at)
        return IncidentView(
            id=i.id,
            household=i.household,
            kind=i.kind.value,
            severity=i.severity.value,
            state=i.state.value,
            opened_at=i.opened_at,
            closed_at=i.resolved_at,
            explanation=Explanation(i.explanation_key, i.explanation_params),
            outcome=None if i.outcome is None else i.outcome.value,
            log=tuple(log),
            note=i.note,
            claimed_by=names.get(i.claimed_by, i.claimed_by) if i.claimed_by else None,
            resolved_by=i.resolved_by,
            close_outcomes=()
            if i.state is escalation.IncidentState.RESOLVED
            else tuple(o.value for o in STAFF_OUTCOMES),
        )

    def close_incident(
        self, household: str, incident: str, outcome: str, note: str, *, actor: str, now: datetime
    ) -> None:
        found = self._repo.incident(incident)
        if found is None or found.household != household:
            raise InvalidEdit({"form": "no such incident in this household"})
        if outcome not in {o.value for o in STAFF_OUTCOMES}:
            raise InvalidEdit({"outcome": "choose an outcome"})
        closed = self._staff.close(incident, escalation.Outcome(outcome), note, actor, now)
        if closed.refused == "note too long":
            raise InvalidEdit({"note": "too long"})
        if closed.refused:
            raise InvalidEdit({"form": f"not closed: {closed.refused}"})

    def open_incidents(self) -> Mapping[str, int]:
        return Counter(i.household for i in self._repo.incidents(open_only=True, limit=1_000_000))

    def away_periods(self, household: str) -> list[AwayView]:
        return [AwayView(a.id, a.start, a.end, a.set_by, a.note) for a in self._repo.away_periods(household)]

    def add_away(
        self, household: str, start: datetime, end: datetime, note: str, *, actor: str, now: datetime
    ) -> None:
        errors = away_errors(start, end, now)
        if errors:
            raise InvalidEdit(errors)
        with self._repo.transaction():
            away_id = self._repo.add_away(household, start, end, actor, note)
            self._repo.audit(now, actor, "away.added", household=household, detail={"away": away_id})

    def remove_away(self, household: str, away_id: int, *, actor: str, now: datetime) -> None:
        if away_id not in {a.id for a in self._repo.away_periods(household)}:
            raise InvalidEdit({"form": "no such away period in this household"})
        with self._repo.transaction():
            self._repo.remove_away(away_id)
            self._repo.audit(now, actor, "away.removed", household=household, detail={"away": away_id})

    def calendar(self, household: str) -> list[CalendarView]:
        return [_calendar(e) for e in self._repo.calendar(household)]

    def add_calendar_entry(
        self, household: str, entry: Mapping[str, object], *, actor: str, now: datetime
    ) -> None:
        stored = registry_entry(household, entry)
        with self._repo.transaction():
            entry_id = self._repo.add_calendar_entry(stored)
            self._repo.audit(now, actor, "calendar.added", household=household, detail={"entry": entry_id})

    def remove_calendar_entry(self, household: str, entry_id: int, *, actor: str, now: datetime) -> None:
        if entry_id not in {e.id for e in self._repo.calendar(household)}:
            raise InvalidEdit({"form": "no such calendar entry in this household"})
        with self._repo.transaction():
            self._repo.remove_calendar_entry(entry_id)
            self._repo.audit(now, actor, "calendar.removed", household=household, detail={"entry": entry_id})

    def save_contact(
        self,
        household: str,
        draft: ContactDraft,
        *,
        actor: str,
        now: datetime,
        visible: Collection[str] | None = None,
    ) -> ContactView:
        known = {c.id: c for c in self._repo.contacts(household)}
        if draft.id is not None and draft.id not in known:
            raise InvalidEdit({"form": "no such contact in this household"})
        contact_id = draft.id or f"c-{secrets.token_hex(4)}"
        previous = known.get(contact_id)
        kept = [c.value for c in previous.channels] if previous else ["sms"]
        typed = draft.channels
        channels = (
            kept if typed is None else [c.strip() for c in typed.replace("、", ",").split(",") if c.strip()]
        )
        email = (previous.email if previous else None) if draft.email is None else draft.email.strip() or None
        try:
            checked = ContactIn(
                id=contact_id,
                name=draft.name,
                phone=draft.phone,
                role=draft.role,
                language=draft.language,
                channels=channels,  # validated here, from the form's text
                email=email,
            )
        except ValidationError as exc:
            raise InvalidEdit(_errors(exc)) from None
        served = set(self._repo.households_of(contact_id)) | {household}
        hidden = served - {household} if visible is None else served - set(visible)
        forked = previous is not None and bool(hidden) and visible is not None
        if forked:  # shared with another manager's homes: this household gets its own entry
            contact_id = f"c-{secrets.token_hex(4)}"
            served = {household}
        contact = registry.Contact(
            contact_id,
            checked.name,
            checked.phone,
            checked.role,
            checked.language,
            opted_out_at=previous.opted_out_at if previous else None,
            weekly_cap=previous.weekly_cap if previous else None,
            channels=tuple(checked.channels),
            email=checked.email,
            line_user=previous.line_user if previous and not forked else None,
        )
        action = "contact.added" if previous is None else "contact.copied" if forked else "contact.saved"
        detail: dict[str, str | int | float | None] = {
            "contact": contact.id,
            "households": ",".join(sorted(served)),
        }
        if forked and previous is not None:
            detail["copied_from"] = previous.id
        with self._repo.transaction():
            self._repo.upsert_contact(contact)
            self._repo.link_contact(household, contact.id)
            if forked and previous is not None:
                self._replace_in_policy(household, previous.id, contact.id, now)
                self._repo.unlink_contact(household, previous.id)
            for h in sorted(served):  # every household's log names the change
                self._repo.audit(now, actor, action, household=h, detail=detail)
        return _contact(contact, served - {household})

    def _replace_in_policy(self, household: str, old: str, new: str, now: datetime) -> None:
        policy = self._repo.policy(household)
        if policy is None:
            return
        tiers = tuple(
            replace(t, contacts=tuple(new if c == old else c for c in t.contacts)) for t in policy.tiers
        )
        technical = tuple(new if c == old else c for c in policy.technical)
        self._repo.set_policy(replace(policy, tiers=tiers, technical=technical), now)

    def save_policy(self, household: str, policy: PolicyView, *, actor: str, now: datetime) -> None:
        current = self._repo.policy(household)
        kinds = [t.kind.value for t in current.tiers] if current is not None else []
        given = [t.name for t in policy.tiers]
        if current is None or given[: len(kinds)] != kinds or not len(kinds) <= len(given) <= len(kinds) + 1:
            raise InvalidEdit({"form": "the policy changed meanwhile; reload the page"})
        known = {c.id for c in self._repo.contacts(household)}
        errors: dict[str, str] = {}
        tiers: list[TierIn] = []
        for index, new in enumerate(policy.tiers):
            try:
                checked = TierIn(
                    kind=new.name,  # a literal: validated here
                    contacts=list(new.contacts),
                    mode=new.mode,
                    wait_minutes=new.wait_minutes,
                    pool=new.pool,
                    pool_size=new.pool_size,
                )
            except ValidationError as exc:
                errors.update(
                    {
                        f"{'members' if k == 'contacts' else k.removesuffix('_minutes')}_{index}": v
                        for k, v in _errors(exc).items()
                    }
                )
                continue
            unknown = [c for c in checked.contacts if c not in known]
            if unknown:
                errors[f"members_{index}"] = f"unknown contacts {', '.join(unknown)}"
            elif index >= len(kinds) and new.name in kinds:
                errors[f"kind_{index}"] = "this tier is in the policy already"
            tiers.append(checked)
        if errors:
            raise InvalidEdit(errors)
        quiet = {"start": policy.quiet_start, "end": policy.quiet_end}
        try:
            checked_policy = PolicyIn(
                tiers=sorted(tiers, key=lambda t: COMMUNITY_TIERS.index(registry.TierKind(t.kind))),
                technical=list(current.technical),
                quiet_hours=quiet if policy.quiet_start or policy.quiet_end else None,
                claim_timeout_minutes=policy.claim_timeout_minutes,
                volunteer_weekly_cap=policy.volunteer_weekly_cap,
            )
        except ValidationError as exc:
            raise InvalidEdit(
                {"quiet_start" if k == "quiet_hours" else k: v for k, v in _errors(exc).items()}
            ) from None
        q = checked_policy.quiet_hours
        saved = replace(
            current,
            tiers=tuple(
                registry.Tier(
                    registry.TierKind(t.kind), tuple(t.contacts), t.mode, t.wait_minutes, t.pool, t.pool_size
                )
                for t in checked_policy.tiers
            ),
            quiet_hours=None if q is None else registry.QuietHours(q.start, q.end),
            claim_timeout_minutes=checked_policy.claim_timeout_minutes,
            volunteer_weekly_cap=checked_policy.volunteer_weekly_cap,
        )
        with self._repo.transaction():
            self._repo.set_policy(saved, now)
            for contact in {c for t in saved.tiers for c in t.contacts}:
                self._repo.link_contact(household, contact)
            self._repo.audit(now, actor, "policy.saved", household=household)

    def family(self, household: str) -> list[FamilyView]:
        links = {link.contact: link for link in self._repo.family_links(household)}
        found = [c for c in self._repo.contacts(household) if c.role is registry.ContactRole.FAMILY]
        views = []
        for c in sorted(found, key=lambda c: c.id):
            link = links.get(c.id)
            views.append(
                FamilyView(c.id, c.name, False)
                if link is None
                else FamilyView(c.id, c.name, True, link.digest.value, link.incidents)
            )
        return views

    def save_family(self, household: str, links: Sequence[FamilyView], *, actor: str, now: datetime) -> None:
        known = {c.id for c in self._repo.contacts(household)}
        errors: dict[str, str] = {}
        checked: list[FamilyIn] = []
        for link in links:
            key = f"family_{link.contact}"
            try:
                entry = FamilyIn.model_validate(
                    {"contact": link.contact, "digest": link.digest, "incidents": link.incidents}
                )
                if link.contact not in known:
                    raise ValueError(f"family: unknown contact {link.contact}")
                check_family_link(self._repo, entry)
            except ValidationError as exc:
                errors[key] = next(iter(_errors(exc).values()))
                continue
            except ValueError as exc:
                errors[key] = str(exc)
                continue
            checked.append(entry)
        if errors:
            raise InvalidEdit(errors)
        if len({f.contact for f in checked}) != len(checked):
            raise InvalidEdit({"form": "each family contact at most once"})
        policy = self._repo.policy(household)
        named = {c for t in policy.tiers for c in t.contacts} | set(policy.technical) if policy else set()
        detail: dict[str, str | int | float | None] = {
            "family": ", ".join(
                f"{f.contact}:{f.digest.value}{'' if f.incidents else ':quiet'}" for f in checked
            )
        }
        with self._repo.transaction():
            self._repo.set_family(
                household, [registry.FamilyLink(household, f.contact, f.digest, f.incidents) for f in checked]
            )
            self._repo.set_provisions(household, sorted(named | {f.contact for f in checked}), now)
            self._repo.audit(now, actor, "family.saved", household=household, detail=detail)

    def volunteer(self, household: str, contact: str, now: datetime) -> VolunteerView | None:
        if contact not in {c.id for c in self._repo.contacts(household)}:
            return None
        c = self._repo.contact(contact)
        if c is None or c.role is not registry.ContactRole.VOLUNTEER:
            return None
        windows = self._repo.availability([contact]).get(contact, ())
        rest = self._repo.resting([contact], now).get(contact)
        return VolunteerView(
            c.id, c.name, c.weekly_cap, c.pools, tuple(_window_text(w) for w in windows), _rest_text(rest)
        )

    def save_volunteer(
        self,
        household: str,
        contact: str,
        draft: VolunteerDraft,
        *,
        organisations: Collection[str] | None,
        actor: str,
        now: datetime,
    ) -> VolunteerView:
        view = self.volunteer(household, contact, now)
        c = self._repo.contact(contact)
        if view is None or c is None:
            raise InvalidEdit({"form": "no such volunteer in this household"})
        checked, rest = checked_volunteer(c, draft, {o.id for o in self.organisations()}, organisations)
        served = sorted(set(self._repo.households_of(c.id)) | {household})
        detail: dict[str, str | int | float | None] = {
            "contact": c.id,
            "weekly_cap": checked.weekly_cap,
            "pools": ",".join(checked.pools),
            "availability": "; ".join(_window_text(w.window()) for w in checked.availability or ()),
            "resting_until": draft.resting_until.strip(),
        }
        with self._repo.transaction():
            self._repo.upsert_contact(replace(c, weekly_cap=checked.weekly_cap, pools=tuple(checked.pools)))
            self._repo.set_availability(c.id, [w.window() for w in checked.availability or ()])
            if draft.resting_until.strip() != view.resting_until:  # unchanged: a rest taken by SMS is kept
                self._repo.set_resting(c.id, None if rest is None else rest_end(rest), "dashboard")
            for h in served:
                self._repo.audit(now, actor, "volunteer.saved", household=h, detail=detail)
        saved = self.volunteer(household, contact, now)
        assert saved is not None  # written just now
        return saved

    def organisations(self) -> list[OrganisationView]:
        found = {o.id: o.name for o in self._repo.organisations()}
        found.setdefault(registry.DEFAULT_ORGANISATION, registry.DEFAULT_ORGANISATION)
        return [OrganisationView(i, n) for i, n in sorted(found.items())]

    def create_household(
        self, fields: Mapping[str, object], contact: Mapping[str, object], *, actor: str, now: datetime
    ) -> HouseholdView:
        h, c = new_household(fields, {**contact, "id": f"c-{secrets.token_hex(4)}"})
        if h.organisation not in {o.id for o in self.organisations()}:
            raise InvalidEdit({"organisation": "unknown organisation"})
        if self._repo.household(h.id) is not None:
            raise InvalidEdit({"id": "a household with this id exists already"})
        with self._repo.transaction():
            self._repo.upsert_contact(
                registry.Contact(
                    c.id, c.name, c.phone, c.role, c.language, channels=tuple(c.channels), email=c.email
                )
            )
            store_household(self._repo, h, now)
            self._repo.audit(
                now, actor, "household.added", household=h.id, detail={"contact": c.id, "org": h.organisation}
            )
        created = self._repo.household(h.id)
        assert created is not None  # written just now
        return _household(created)

    def save_household(
        self, household: str, fields: Mapping[str, object], *, actor: str, now: datetime
    ) -> None:
        current = self._repo.household(household)
        if current is None:
            raise InvalidEdit({"form": "no such household"})
        h = household_fields({**fields, "id": household, "organisation": current.organisation})
        saved = replace(
            current,
            name=h.name,
            address_hint=h.address_hint,
            time_zone=h.time_zone,
            language=h.language,
            area=h.area,
            lives_alone=h.lives_alone,
            needs=tuple(h.needs),
        )
        with self._repo.transaction():
            self._repo.upsert_household(saved)
            self._repo.audit(now, actor, "household.saved", household=household, detail={"area": h.area})

    def registered_devices(self, household: str) -> frozenset[str]:
        return frozenset(self._repo.devices(household))

    def device_rooms(self, household: str) -> dict[str, registry.Room]:
        return self._repo.device_rooms(household)

    def options(self, household: str) -> WatchOptions:
        found = self._repo.household(household)
        return WatchOptions() if found is None else WatchOptions(found.night_exit_opt_in, found.evening_check)

    def save_options(self, household: str, options: WatchOptions, *, actor: str, now: datetime) -> None:
        if self._repo.household(household) is None:
            raise InvalidEdit({"form": "no such household"})
        with self._repo.transaction():
            self._repo.set_night_exit_opt_in(household, options.night_exit)
            self._repo.set_evening_check(household, options.evening_check)
            self._repo.audit(
                now,
                actor,
                "options.saved",
                household=household,
                detail={"night_exit": int(options.night_exit), "evening_check": options.evening_check.value},
            )

    def sensitivity(self, household: str) -> registry.Sensitivity:
        return self._repo.sensitivity(household)

    def save_sensitivity(
        self, household: str, sensitivity: registry.Sensitivity, *, actor: str, now: datetime
    ) -> None:
        if self._repo.household(household) is None:
            raise InvalidEdit({"form": "no such household"})
        with self._repo.transaction():
            self._repo.set_sensitivity(household, sensitivity)
            self._repo.audit(
                now,
                actor,
                "sensitivity.saved",
                household=household,
                detail={"sensitivity": sensitivity.value},
            )

    def learned_outcomes(self, household: str, since: datetime) -> list[registry.Feedback]:
        return self._repo.feedback(household, since)

    def reset_learning(self, household: str, *, actor: str, now: datetime) -> int:
        if self._repo.household(household) is None:
            raise InvalidEdit({"form": "no such household"})
        with self._repo.transaction():
            forgotten = self._repo.clear_feedback(household)
            self._repo.audit(
                now, actor, "learning.reset", household=household, detail={"outcomes": forgotten}
            )
        return forgotten

    def record_view(self, view: AuditView) -> None:
        self._repo.audit(
            view.at,
            view.actor,
            f"dashboard.{view.action}",
            household=view.household,
            detail={"path": view.detail},
        )
