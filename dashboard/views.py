"""What the dashboard reads and edits beyond activity: the care records the alerts process keeps.

These are read models, not a schema of their own: an adapter maps the registry and escalation repository
(households, contacts, policies, incidents and their escalation log, away periods, audit) onto them.
Activity comes from :class:`store.base.ActivityReader`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Final, Protocol

from detection.detector import HouseholdStatus
from detection.findings import Explanation
from mimamori.contract import Event
from registry.models import DEFAULT_ORGANISATION, Feedback, Room, Sensitivity, Switch
from store.base import ActivityReader, DeviceState, GatewayLiveState, HouseholdActivity


@dataclass(frozen=True, slots=True)
class HouseholdView:
    id: str
    name: str
    address_hint: str
    tz: str
    language: str
    organisation: str = DEFAULT_ORGANISATION
    area: str = ""
    lives_alone: bool = True
    needs: tuple[str, ...] = ()  # registry.models.Need values


@dataclass(frozen=True, slots=True)
class OrganisationView:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class CoverageView:
    """What the chain health drills found for one household (docs/operations.md)."""

    unreachable: tuple[tuple[str, str], ...]  # (contact name, why: no_answer or send_failed)
    uncovered_tiers: tuple[str, ...]  # tier kinds with nobody reachable left
    opted_out: tuple[str, ...] = ()  # contacts who replied STOP (names): never texted until START


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """What the detector watches for in a household beyond the defaults (docs/detection.md)."""

    night_exit: bool = False  # the main door at night and no return (a care decision: opt-in)
    # quiet all evening past the usual bedtime: auto (where the kit cannot see the evening), on, off
    evening_check: Switch = Switch.AUTO


@dataclass(frozen=True, slots=True)
class ContactView:
    id: str
    name: str
    phone: str  # E.164
    role: str  # resident, neighbour, volunteer, professional, technical
    language: str  # ja or en
    opted_out_at: datetime | None = None  # replied STOP: never texted until START
    shared_with: tuple[str, ...] = ()  # the other households this contact serves
    channels: tuple[str, ...] = ("sms",)  # in the order to try them: sms, voice, line, email
    email: str = ""
    line_linked: bool = False  # a LINE user is linked (and has not blocked the account)


@dataclass(frozen=True, slots=True)
class TierView:
    name: str
    contacts: tuple[str, ...]  # contact ids, in order
    mode: str  # "all" (at once) or "one_by_one"
    wait_minutes: int  # before the next tier
    pool: bool = False  # volunteers: also the organisation's shared pool
    pool_size: int = 3  # how many of the pool are drawn


@dataclass(frozen=True, slots=True)
class PolicyView:
    tiers: tuple[TierView, ...]
    claim_timeout_minutes: int = 45
    volunteer_weekly_cap: int = 3
    quiet_start: str = ""  # HH:MM local; both empty: no quiet hours
    quiet_end: str = ""


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of an incident's escalation log: who was told when, who replied what."""

    at: datetime
    action: str  # a step kind (notified, claimed, ...), sms_<purpose>, reply, link.tap, ... (i18n "log")
    who: str | None  # contact name (or person) concerned
    detail: str  # words of people (an SMS body, a reply's text) or a delivery error; never a code word
    status: str | None = None  # an SMS's status (i18n "sms_status")
    reply: str | None = None  # what a reply meant (i18n "reply")


@dataclass(frozen=True, slots=True)
class IncidentView:
    id: str
    household: str
    kind: str
    severity: str  # urgent, warning, info
    state: str  # open, notifying, claimed, resolved
    opened_at: datetime
    closed_at: datetime | None
    explanation: Explanation  # why it opened; rendered in the reader's language (detection.explain)
    outcome: str | None = None  # safe, false_alarm, no_answer_at_door, hospital, ... (docs/escalation.md)
    log: tuple[LogEntry, ...] = ()
    note: str = ""  # staff's or the claimer's note on the outcome
    claimed_by: str | None = None  # the name of who is going
    resolved_by: str | None = None  # "care_manager:sato", "contact:c-1", "system"
    close_outcomes: tuple[str, ...] = ()  # what staff may close it with (empty once closed)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True, slots=True)
class AwayView:
    id: int
    start: datetime
    end: datetime
    set_by: str
    note: str = ""


MAX_AWAY: Final = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class CalendarView:
    """A care-calendar entry: weekly (``weekdays``, 0 = Monday) or dated (``first_day`` .. ``last_day``);
    local times of the household."""

    id: int
    label: str
    start: time
    end: time
    weekdays: tuple[int, ...] = ()
    first_day: date | None = None
    last_day: date | None = None


def away_errors(start: datetime, end: datetime, now: datetime) -> dict[str, str]:
    """What is wrong with an away period (empty when nothing is)."""
    if end <= start:
        return {"end": "must be after the start"}
    if end <= now:
        return {"end": "must be in the future"}
    if end - start > MAX_AWAY:
        return {"end": f"at most {MAX_AWAY.days} days after the start"}
    return {}


class InvalidEdit(Exception):
    """An edit was refused; ``errors`` maps form field names to what is wrong with them."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True, slots=True)
class ContactDraft:
    """A contact as typed into the form (validated by the records, not the dashboard)."""

    name: str
    phone: str
    role: str
    language: str
    id: str | None = None  # None: a new contact
    channels: str | None = None  # "line, sms" as typed (None: unchanged)
    email: str | None = None  # None: unchanged; "": none


@dataclass(frozen=True, slots=True)
class FamilyView:
    """A family contact of a household: linked or not, its digest and incident notices."""

    contact: str
    name: str
    linked: bool
    digest: str = "none"  # sms, email or none
    incidents: bool = True  # told when a community incident opens and closes


@dataclass(frozen=True, slots=True)
class VolunteerView:
    """A volunteer's pool settings (docs/community.md, *Volunteer pool*)."""

    id: str
    name: str
    weekly_cap: int | None  # None: the policy's volunteer_weekly_cap
    pools: tuple[str, ...]  # organisations whose shared pool they serve
    availability: tuple[str, ...]  # one window a line, "mon,tue,wed,thu,fri 09:00-17:00"
    resting_until: str = ""  # YYYY-MM-DD (Japan time) the last day of a rest; "": not resting


@dataclass(frozen=True, slots=True)
class VolunteerDraft:
    """A volunteer's settings as typed into the form (validated by the records)."""

    weekly_cap: str  # "": the policy's
    pools: tuple[str, ...]
    availability: str  # one window a line, "mon,tue 09:00-17:00"; empty: any time
    resting_until: str  # YYYY-MM-DD; "": not resting


@dataclass(frozen=True, slots=True)
class AuditView:
    at: datetime
    actor: str
    action: str  # view_household, view_digest, api_household, ...
    household: str | None
    detail: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VolunteerSheet:
    """Volunteers' month for the records page and its CSV (docs/community.md, *Volunteer records*)."""

    month: str  # YYYY-MM
    organisation: str | None  # None: every volunteer
    columns: tuple[
        str, ...
    ]  # contact, name, alerts, answered, claimed, visits, visit_<outcome>..., drills, points
    rows: tuple[tuple[str | int, ...], ...]
    csv: str


class CareRecords(Protocol):
    """The alerts state as the dashboard needs it. Methods may raise ``RecordsError`` subclasses of
    :class:`Exception` from the adapter; edits raise :class:`InvalidEdit`."""

    def households(self, ids: Collection[str] | None = None) -> list[HouseholdView]:
        """Every household (or those with the given ids that exist), ordered by id."""
        ...

    def household(self, household: str) -> HouseholdView | None: ...

    def contacts(self, household: str) -> list[ContactView]: ...

    def policy(self, household: str) -> PolicyView: ...

    def incidents(self, household: str, since: datetime) -> list[IncidentView]:
        """Incidents opened since ``since`` or still open, newest first, each with its full log."""
        ...

    def open_incidents(self) -> Mapping[str, int]:
        """Open incidents per household (households without any are left out)."""
        ...

    def coverage(self, households: Collection[str]) -> Mapping[str, CoverageView]:
        """Per household of ``households``, who in its chain opted out or cannot be reached (the chain
        health drills) and which tiers have nobody reachable left; households with no gap left out."""
        ...

    def away_periods(self, household: str) -> list[AwayView]: ...

    def save_contact(
        self,
        household: str,
        draft: ContactDraft,
        *,
        actor: str,
        now: datetime,
        visible: Collection[str] | None = None,
    ) -> ContactView:
        """Adds or edits a contact of ``household``. A contact that also serves households outside
        ``visible`` (None: the caller is an administrator and sees all) is not changed for them: this
        household gets its own copy. The audit names every household affected."""
        ...

    def close_incident(
        self, household: str, incident: str, outcome: str, note: str, *, actor: str, now: datetime
    ) -> None:
        """Closes an open incident of ``household`` with an outcome staff may set and a note (audited;
        everyone already texted is told). Raises :class:`InvalidEdit` (unknown, closed, bad outcome)."""
        ...

    def save_policy(self, household: str, policy: PolicyView, *, actor: str, now: datetime) -> None:
        """Saves the tiers (the current ones, in order, then at most one new one of a kind not yet in the
        policy) and the settings (claim timeout, volunteers' weekly cap, quiet hours), validated like the
        import (``PolicyIn``); refusals raise :class:`InvalidEdit` keyed by form field."""
        ...

    def family(self, household: str) -> list[FamilyView]:
        """Every family-role contact of ``household``, linked as family or not, by id."""
        ...

    def save_family(self, household: str, links: Sequence[FamilyView], *, actor: str, now: datetime) -> None:
        """Replaces the household's family links with ``links`` (the linked ones), validated like the
        import's ``family:`` entries; refusals raise :class:`InvalidEdit` keyed ``family_<contact>``."""
        ...

    def volunteer(self, household: str, contact: str, now: datetime) -> VolunteerView | None:
        """The pool settings of ``contact`` if it is a volunteer of ``household``, else None."""
        ...

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
        """Saves a volunteer's weekly cap, availability, rest and pools, validated like the import
        (``ContactIn``). Only pools of ``organisations`` (None: any) change; the others are kept.
        Refusals raise :class:`InvalidEdit` keyed by form field; audited for every household served."""
        ...

    def organisations(self) -> list[OrganisationView]:
        """Every organisation of the deployment (``default`` included), ordered by id."""
        ...

    def create_household(
        self, fields: Mapping[str, object], contact: Mapping[str, object], *, actor: str, now: datetime
    ) -> HouseholdView:
        """A new household (fields as in the households file, without ``policy``) with its first contact
        (as in the file's ``contacts``; its ``role`` chooses the one tier), validated like the import;
        :class:`InvalidEdit` keyed by form field (the contact's fields prefixed ``contact_``)."""
        ...

    def save_household(
        self, household: str, fields: Mapping[str, object], *, actor: str, now: datetime
    ) -> None:
        """Changes a household's name, address hint, area, time zone, language, living alone and needs,
        validated like the import (``HouseholdIn``)."""
        ...

    def options(self, household: str) -> WatchOptions: ...

    def registered_devices(self, household: str) -> frozenset[str]:
        """The device ids the households file lists (empty: none listed, so none is "new")."""
        ...

    def device_rooms(self, household: str) -> dict[str, Room]:
        """The rooms the households file gives for devices (the others' come from their ids)."""
        ...

    def save_options(self, household: str, options: WatchOptions, *, actor: str, now: datetime) -> None:
        """Turns the household's opt-ins on or off (detection reads them within a tick)."""
        ...

    def sensitivity(self, household: str) -> Sensitivity:
        """The care manager's sensitivity for the household (standard unless set)."""
        ...

    def save_sensitivity(
        self, household: str, sensitivity: Sensitivity, *, actor: str, now: datetime
    ) -> None:
        """Sets the household's sensitivity (audited ``sensitivity.saved``; detection reads it within a
        tick)."""
        ...

    def learned_outcomes(self, household: str, since: datetime) -> list[Feedback]:
        """The incidents closed as a false alarm or a real emergency since ``since`` that detection
        learns from, oldest first."""
        ...

    def reset_learning(self, household: str, *, actor: str, now: datetime) -> int:
        """Forgets the outcomes detection learned from for the household (audited ``learning.reset``;
        detection reads it within a tick); returns how many there were. Raises :class:`InvalidEdit`
        for an unknown household."""
        ...

    def add_away(
        self, household: str, start: datetime, end: datetime, note: str, *, actor: str, now: datetime
    ) -> None:
        """Resident away (detection stays quiet meanwhile); refuses periods ending before ``now``."""
        ...

    def remove_away(self, household: str, away_id: int, *, actor: str, now: datetime) -> None:
        """Ends an away period of this household (unknown ids raise :class:`InvalidEdit`)."""
        ...

    def calendar(self, household: str) -> list[CalendarView]:
        """The household's care calendar: weekly entries, then dated ones by day."""
        ...

    def add_calendar_entry(
        self, household: str, entry: Mapping[str, object], *, actor: str, now: datetime
    ) -> None:
        """Adds a care-calendar entry given as in the households file (``weekly``/``date``/``from``,
        ``to``, ``start``, ``end``, ``label``), validated like the import (audited ``calendar.added``);
        a bad one raises :class:`InvalidEdit` with its reasons by field."""
        ...

    def remove_calendar_entry(self, household: str, entry_id: int, *, actor: str, now: datetime) -> None:
        """Removes a care-calendar entry of this household (unknown ids raise :class:`InvalidEdit`)."""
        ...

    def record_view(self, view: AuditView) -> None:
        """Append to the audit log."""
        ...

    def volunteer_sheet(self, month: str, organisation: str | None) -> VolunteerSheet:
        """Each volunteer's ``month`` (YYYY-MM, the deployment's time zone), of ``organisation`` or all;
        ValueError for a bad month."""
        ...


class ActivitySource(ActivityReader, Protocol):
    """The store's activity reads plus one household's raw events (for today's per-sensor timeline)."""

    def events(self, household: str, start: datetime, end: datetime) -> list[Event]:
        """Every stored event with ``start <= observed_at < end``, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class LiveView:
    """What the store says now about some households, read once per request (dashboard.live)."""

    activity: Mapping[str, HouseholdActivity]  # households that never sent anything are missing
    gateways: Mapping[str, Sequence[GatewayLiveState]]
    devices: Mapping[str, Sequence[DeviceState]]


class StateClassifier(Protocol):
    """The state of each household at ``now`` (active, quiet, blind, away), for many at once."""

    def states(
        self, households: Collection[str], now: datetime, live: LiveView
    ) -> dict[str, HouseholdStatus]: ...
