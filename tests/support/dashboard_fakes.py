"""In-repo fakes of the dashboard's read ports, and a seeded dashboard for component and browser tests."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher

from dashboard.care_records import checked_volunteer, household_fields, new_household, registry_entry
from dashboard.users import StaffRole, UserStore
from dashboard.views import (
    AuditView,
    AwayView,
    CalendarView,
    ContactDraft,
    ContactView,
    CoverageView,
    FamilyView,
    HouseholdStatus,
    HouseholdView,
    IncidentView,
    InvalidEdit,
    LiveView,
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
from escalation.commands import STAFF_OUTCOMES as OUTCOMES
from escalation.records import CSV_COLUMNS, month_span
from mimamori.contract import Event, GatewayState, Kind
from registry.models import Contact, ContactRole, Feedback, Language, Room, Sensitivity
from store.base import DeviceState, GatewayLiveState, HourlyActivity, HouseholdActivity

PHONE_RE = re.compile(r"^\+[1-9][0-9]{7,14}$")
PASSWORD = "correct horse battery"
ADMIN_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the administrators' authenticator key
# fast hashing for tests; production uses argon2's defaults
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class FakeActivity:
    """ActivityReader over lists."""

    activity: list[HouseholdActivity] = field(default_factory=list)
    device_states: list[DeviceState] = field(default_factory=list)
    gateway_states: list[GatewayLiveState] = field(default_factory=list)
    rollups: list[HourlyActivity] = field(default_factory=list)
    times: dict[str, list[datetime]] = field(default_factory=dict)

    def household_activity(self) -> list[HouseholdActivity]:
        return list(self.activity)

    def devices(self, household: str) -> list[DeviceState]:
        return [d for d in self.device_states if d.household == household]

    def devices_of(self, households: Sequence[str]) -> dict[str, list[DeviceState]]:
        return {h: found for h in households if (found := self.devices(h))}

    def gateways(self, household: str | None = None) -> list[GatewayLiveState]:
        return [g for g in self.gateway_states if household is None or g.household == household]

    def hourly_activity(self, household: str, start: datetime, end: datetime) -> list[HourlyActivity]:
        return [r for r in self.rollups if r.household == household and start <= r.hour < end]

    def activity_times(self, household: str, start: datetime, end: datetime) -> list[datetime]:
        return [t for t in self.times.get(household, []) if start <= t < end]

    def events(self, household: str, start: datetime, end: datetime) -> list[Event]:
        return [
            Event(f"m{i:010d}", household, "gw-1", "motion-1", Kind.MOTION, 1.0, t, i)
            for i, t in enumerate(self.activity_times(household, start, end))
        ]


@dataclass
class FakeRecords:
    """CareRecords in memory, validating edits like the alerts state does."""

    homes: dict[str, HouseholdView] = field(default_factory=dict)
    contact_lists: dict[str, list[ContactView]] = field(default_factory=dict)
    coverage_views: dict[str, CoverageView] = field(default_factory=dict)
    policies: dict[str, PolicyView] = field(default_factory=dict)
    incident_lists: dict[str, list[IncidentView]] = field(default_factory=dict)
    away: dict[str, list[AwayView]] = field(default_factory=dict)
    calendars: dict[str, list[CalendarView]] = field(default_factory=dict)
    watch: dict[str, WatchOptions] = field(default_factory=dict)
    audit: list[AuditView] = field(default_factory=list)
    device_lists: dict[str, frozenset[str]] = field(default_factory=dict)
    device_room_lists: dict[str, dict[str, Room]] = field(default_factory=dict)
    sheets: list[str | None] = field(default_factory=list)  # the organisations of volunteer sheets asked for
    sensitivities: dict[str, Sensitivity] = field(default_factory=dict)
    outcomes: dict[str, list[Feedback]] = field(default_factory=dict)
    volunteers: dict[str, VolunteerView] = field(default_factory=dict)  # saved settings by contact
    families: dict[str, list[FamilyView]] = field(default_factory=dict)

    def households(self, ids: Collection[str] | None = None) -> list[HouseholdView]:
        return [h for k, h in sorted(self.homes.items()) if ids is None or k in ids]

    def household(self, household: str) -> HouseholdView | None:
        return self.homes.get(household)

    def contacts(self, household: str) -> list[ContactView]:
        return list(self.contact_lists.get(household, []))

    def policy(self, household: str) -> PolicyView:
        return self.policies.get(household, PolicyView(()))

    def incidents(self, household: str, since: datetime) -> list[IncidentView]:
        found = [i for i in self.incident_lists.get(household, []) if i.opened_at >= since or i.is_open]
        return sorted(found, key=lambda i: i.opened_at, reverse=True)

    def open_incidents(self) -> Mapping[str, int]:
        counts = {h: sum(1 for i in lst if i.is_open) for h, lst in self.incident_lists.items()}
        return {h: n for h, n in counts.items() if n}

    def away_periods(self, household: str) -> list[AwayView]:
        return list(self.away.get(household, []))

    def add_away(
        self, household: str, start: datetime, end: datetime, note: str, *, actor: str, now: datetime
    ) -> None:
        errors = away_errors(start, end, now)
        if errors:
            raise InvalidEdit(errors)
        periods = self.away.setdefault(household, [])
        periods.append(AwayView(len(periods) + 1, start, end, actor, note))

    def remove_away(self, household: str, away_id: int, *, actor: str, now: datetime) -> None:
        periods = self.away.get(household, [])
        if away_id not in {a.id for a in periods}:
            raise InvalidEdit({"form": "no such away period"})
        self.away[household] = [a for a in periods if a.id != away_id]

    def calendar(self, household: str) -> list[CalendarView]:
        return list(self.calendars.get(household, []))

    def add_calendar_entry(
        self, household: str, entry: Mapping[str, object], *, actor: str, now: datetime
    ) -> None:
        e = registry_entry(household, entry)
        entries = self.calendars.setdefault(household, [])
        entries.append(
            CalendarView(len(entries) + 1, e.label, e.start, e.end, e.weekdays, e.first_day, e.last_day)
        )

    def remove_calendar_entry(self, household: str, entry_id: int, *, actor: str, now: datetime) -> None:
        entries = self.calendars.get(household, [])
        if entry_id not in {e.id for e in entries}:
            raise InvalidEdit({"form": "no such calendar entry in this household"})
        self.calendars[household] = [e for e in entries if e.id != entry_id]

    def coverage(self, households: Collection[str]) -> Mapping[str, CoverageView]:
        views = {h: view for h, view in self.coverage_views.items() if h in households}
        for h, contacts in self.contact_lists.items():
            names = tuple(c.name for c in contacts if c.opted_out_at)
            if names and h in households:
                views[h] = replace(views.get(h, CoverageView((), ())), opted_out=names)
        return views

    def close_incident(
        self, household: str, incident: str, outcome: str, note: str, *, actor: str, now: datetime
    ) -> None:
        incidents = self.incident_lists.get(household, [])
        found = next((i for i in incidents if i.id == incident), None)
        if found is None or not found.is_open:
            raise InvalidEdit({"form": "no such open incident in this household"})
        if outcome not in found.close_outcomes:
            raise InvalidEdit({"outcome": "choose an outcome"})
        closed = replace(
            found,
            state="resolved",
            closed_at=now,
            outcome=outcome,
            note=note,
            resolved_by=actor,
            close_outcomes=(),
        )
        self.incident_lists[household] = [closed if i.id == incident else i for i in incidents]

    def save_contact(
        self,
        household: str,
        draft: ContactDraft,
        *,
        actor: str,
        now: datetime,
        visible: Collection[str] | None = None,
    ) -> ContactView:
        errors = {}
        if not draft.name:
            errors["name"] = "required"
        if not PHONE_RE.match(draft.phone):
            errors["phone"] = "use international format, e.g. +819012345678"
        if draft.role not in ("resident", "neighbour", "volunteer", "professional", "technical"):
            errors["role"] = "unknown role"
        if draft.language not in ("ja", "en"):
            errors["language"] = "ja or en"
        if errors:
            raise InvalidEdit(errors)
        contacts = self.contact_lists.setdefault(household, [])
        new_id = draft.id or f"c{len(contacts) + 1}"
        contact = ContactView(new_id, draft.name, draft.phone, draft.role, draft.language)
        self.contact_lists[household] = [c for c in contacts if c.id != new_id] + [contact]
        return contact

    def save_policy(self, household: str, policy: PolicyView, *, actor: str, now: datetime) -> None:
        errors = {
            f"wait_{i}": "0..1440 minutes"
            for i, t in enumerate(policy.tiers)
            if not 0 <= t.wait_minutes <= 1440
        }
        if errors:
            raise InvalidEdit(errors)
        self.policies[household] = policy

    def organisations(self) -> list[OrganisationView]:
        return [OrganisationView("default", "Default"), OrganisationView("kirari", "Kirari")]

    def family(self, household: str) -> list[FamilyView]:
        return list(self.families.get(household, []))

    def save_family(self, household: str, links: Sequence[FamilyView], *, actor: str, now: datetime) -> None:
        self.families[household] = list(links)

    def volunteer(self, household: str, contact: str, now: datetime) -> VolunteerView | None:
        found = [c for c in self.contacts(household) if c.id == contact and c.role == "volunteer"]
        if not found:
            return None
        return self.volunteers.get(contact, VolunteerView(contact, found[0].name, None, (), ()))

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
        current = self.volunteer(household, contact, now)
        if current is None:
            raise InvalidEdit({"form": "no such volunteer in this household"})
        c = next(c for c in self.contacts(household) if c.id == contact)
        person = Contact(
            c.id, c.name, c.phone, ContactRole(c.role), Language(c.language), pools=current.pools
        )
        checked, _ = checked_volunteer(person, draft, [o.id for o in self.organisations()], organisations)
        lines = tuple(line.strip() for line in draft.availability.splitlines() if line.strip())
        pools = tuple(checked.pools)
        saved = VolunteerView(contact, current.name, checked.weekly_cap, pools, lines, draft.resting_until)
        self.volunteers[contact] = saved
        return saved

    def create_household(
        self, fields: Mapping[str, object], contact: Mapping[str, object], *, actor: str, now: datetime
    ) -> HouseholdView:
        h, c = new_household(fields, {**contact, "id": f"c{len(self.homes) + 1}"})
        if h.id in self.homes:
            raise InvalidEdit({"id": "a household with this id exists already"})
        view = HouseholdView(
            h.id, h.name, h.address_hint, h.time_zone, h.language.value, h.organisation, h.area
        )
        self.homes[h.id] = view
        self.contact_lists[h.id] = [ContactView(c.id, c.name, c.phone, c.role.value, c.language.value)]
        return view

    def save_household(
        self, household: str, fields: Mapping[str, object], *, actor: str, now: datetime
    ) -> None:
        current = self.homes[household]
        h = household_fields({**fields, "id": household, "organisation": current.organisation})
        self.homes[household] = replace(
            current, name=h.name, area=h.area, needs=tuple(n.value for n in h.needs)
        )

    def registered_devices(self, household: str) -> frozenset[str]:
        return self.device_lists.get(household, frozenset())

    def volunteer_sheet(self, month: str, organisation: str | None) -> VolunteerSheet:
        month_span(month, "Asia/Tokyo")  # a bad month is refused as by the real records
        self.sheets.append(organisation)
        rows = (("v-1", "伊藤健", 3, 2, 1, 1, 1, 0, 0, 0, 0, 0, 1, 6),)
        csv = ",".join(CSV_COLUMNS) + "\n" + ",".join(map(str, rows[0])) + "\n"
        return VolunteerSheet(month, organisation, CSV_COLUMNS, rows, csv)

    def device_rooms(self, household: str) -> dict[str, Room]:
        return dict(self.device_room_lists.get(household, {}))

    def options(self, household: str) -> WatchOptions:
        return self.watch.get(household, WatchOptions())

    def save_options(self, household: str, options: WatchOptions, *, actor: str, now: datetime) -> None:
        self.watch[household] = options

    def sensitivity(self, household: str) -> Sensitivity:
        return self.sensitivities.get(household, Sensitivity.STANDARD)

    def save_sensitivity(
        self, household: str, sensitivity: Sensitivity, *, actor: str, now: datetime
    ) -> None:
        self.sensitivities[household] = sensitivity

    def learned_outcomes(self, household: str, since: datetime) -> list[Feedback]:
        return [f for f in self.outcomes.get(household, []) if f.closed_at >= since]

    def reset_learning(self, household: str, *, actor: str, now: datetime) -> int:
        return len(self.outcomes.pop(household, []))

    def record_view(self, view: AuditView) -> None:
        self.audit.append(view)


@dataclass
class FakeClassifier:
    state_of: dict[str, HouseholdStatus] = field(default_factory=dict)

    def states(
        self, households: Collection[str], now: datetime, live: LiveView
    ) -> dict[str, HouseholdStatus]:
        return {h: self.state_of.get(h, HouseholdStatus.ACTIVE) for h in households}


@dataclass
class Seeded:
    users: UserStore
    activity: FakeActivity
    records: FakeRecords
    classify: FakeClassifier


OWN = "hh-own"  # assigned to alice; area sakura of the default organisation
OTHER = "hh-other"  # assigned to bob; area ume of the default organisation
FOREIGN = "hh-kirari"  # of the other organisation, kirari
UNKNOWN = "hh-nobody"  # does not exist
ORG = "default"
OTHER_ORG = "kirari"
HOUSEHOLDS = ((OWN, "Hanako Tanaka", ORG, "sakura"), (OTHER, "Taro Suzuki", ORG, "ume"))
HOUSEHOLDS += ((FOREIGN, "Jiro Kato", OTHER_ORG, "sakura"),)


def seed(tmp_path: Path, now: datetime) -> Seeded:
    """Two organisations: in ``default`` two care managers (alice: hh-own, bob: hh-other), an
    organisation administrator (olga) and a viewer of the area sakura (vera); in ``kirari`` an
    organisation administrator (kai) and a care manager (carl, assigned hh-own of the other
    organisation, which must not count); the platform administrator (root); 90 days of activity."""
    users = UserStore(tmp_path / "dashboard.sqlite3", FAST_HASHER)
    users.open()
    add = users.add_user
    add("alice", "Alice Sato", StaffRole.CARE_MANAGER, PASSWORD, language="en", now=now)
    add("bob", "Bob Ito", StaffRole.CARE_MANAGER, PASSWORD, language="ja", now=now)
    add("root", "Admin", StaffRole.ADMIN, PASSWORD, language="en", now=now)
    add("olga", "Olga Org", StaffRole.ORG_ADMIN, PASSWORD, language="en", now=now)
    add("vera", "Vera Viewer", StaffRole.VIEWER, PASSWORD, language="en", area="sakura", now=now)
    add("kai", "Kai Kirari", StaffRole.ORG_ADMIN, PASSWORD, language="en", organisation=OTHER_ORG, now=now)
    add(
        "carl",
        "Carl Kirari",
        StaffRole.CARE_MANAGER,
        PASSWORD,
        language="en",
        organisation=OTHER_ORG,
        now=now,
    )
    for admin in ("root", "olga", "kai"):
        users.enrol_second_factor(admin, ADMIN_TOTP_SECRET, 0, [], now)  # tests.support.staff_sign_in
    users.assign("alice", OWN)
    users.assign("bob", OTHER)
    users.assign("carl", OWN)  # another organisation's household: never shown to carl
    records = FakeRecords()
    activity = FakeActivity()
    for hid, name, org, area in HOUSEHOLDS:
        records.homes[hid] = HouseholdView(hid, name, "near the post office", "Asia/Tokyo", "ja", org, area)
        records.contact_lists[hid] = [
            ContactView("c1", "Neighbour Kato", "+819011112222", "neighbour", "ja"),
            ContactView("c2", "Volunteer Mori", "+819033334444", "volunteer", "ja"),
        ]
        records.policies[hid] = PolicyView(
            (TierView("neighbours", ("c1",), "all", 20), TierView("volunteers", ("c2",), "one_by_one", 30))
        )
        hour0 = (now - timedelta(days=90)).replace(minute=0, second=0, microsecond=0)
        times = []
        for h in range(90 * 24):
            hour = hour0 + timedelta(hours=h)
            local_hour = (hour.hour + 9) % 24
            if 7 <= local_hour <= 21 and hour < now:
                activity.rollups.append(HourlyActivity(hid, hour, Kind.MOTION, 3 + local_hour % 5))
                if local_hour in (8, 12, 18):
                    activity.rollups.append(HourlyActivity(hid, hour, Kind.DOOR, 1))
                times.append(hour + timedelta(minutes=10))
        activity.times[hid] = times
        activity.activity.append(HouseholdActivity(hid, times[-1], "motion-1", times[-1]))
        activity.device_states.append(DeviceState(hid, "motion-1", Kind.MOTION, times[-1], 1.0, 80.0))
        activity.device_states.append(
            DeviceState(hid, "door-main", Kind.DOOR, now - timedelta(days=2), 0.0, 9.0)
        )
        activity.gateway_states.append(
            GatewayLiveState(hid, "gw-1", GatewayState.ONLINE, now - timedelta(days=3), now)
        )
    opened = now - timedelta(hours=5)
    records.incident_lists[OWN] = [
        IncidentView(
            "inc-1",
            OWN,
            "inactivity",
            "urgent",
            "claimed",
            opened,
            None,
            Explanation("missed_wakeup", {"since": "07:10", "wake_by": "08:00", "days": 21}),
            claimed_by="Volunteer Mori",
            close_outcomes=tuple(o.value for o in OUTCOMES),
            log=(
                LogEntry(opened, "sms_alert", "Neighbour Kato", "No activity since 07:10", status="sent"),
                LogEntry(opened + timedelta(minutes=20), "notified", "Volunteer Mori", ""),
                LogEntry(opened + timedelta(minutes=24), "reply", "Volunteer Mori", "「1」", reply="go"),
                LogEntry(opened + timedelta(minutes=24), "claimed", "Volunteer Mori", ""),
            ),
        )
    ]
    classify = FakeClassifier({OWN: HouseholdStatus.QUIET, OTHER: HouseholdStatus.ACTIVE})
    return Seeded(users, activity, records, classify)


def with_state(seeded: Seeded, household: str, state: HouseholdStatus) -> None:
    seeded.classify.state_of[household] = state


def csrf_of(html: str) -> str:
    """The CSRF token in a rendered page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "page has no CSRF token"
    return found.group(1)
