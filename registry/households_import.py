"""``mimamori households import FILE``: households, residents, contacts and policies from YAML or TOML.

Each contact and each household is validated on its own; a bad one is rejected with its reason and
counted, and the others are still imported. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mimamori.config import TimeZoneName
from mimamori.contract import ID_RE
from registry.calendar import CalendarIn
from registry.models import (
    DEFAULT_ORGANISATION,
    Consent,
    Contact,
    ContactChannel,
    ContactRole,
    Digest,
    FamilyLink,
    Household,
    Language,
    Need,
    NotifyMode,
    Organisation,
    Policy,
    QuietHours,
    Resident,
    Room,
    Switch,
    Tier,
    TierKind,
)
from registry.repository import Registry
from registry.volunteers import AvailabilityIn, rest_end

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHYSICAL_ROLES = frozenset(
    {ContactRole.RESIDENT, ContactRole.NEIGHBOUR, ContactRole.VOLUNTEER, ContactRole.PROFESSIONAL}
)
"""Roles whose alerts ask someone to answer or go: e-mail is never their only channel."""
COMMUNITY_TIERS = (TierKind.RESIDENT_CHECK, TierKind.NEIGHBOURS, TierKind.VOLUNTEERS, TierKind.PROFESSIONALS)


class ImportError_(Exception):
    """The file cannot be read at all (missing, not YAML/TOML, wrong top-level shape)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContactIn(_Model):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=80)
    phone: str
    role: ContactRole
    language: Language = Language.JA
    weekly_cap: int | None = Field(None, ge=0, le=100)
    email: str | None = Field(None, max_length=254)
    channels: list[ContactChannel] = Field(
        [ContactChannel.SMS], min_length=1, max_length=4
    )  # after role and email
    pools: list[str] = Field([], max_length=20)  # volunteers: organisations whose shared pool they serve
    # when they may be asked (None: left as it is; []: any time) and until when they rest (null: not)
    availability: list[AvailabilityIn] | None = Field(None, max_length=14)
    resting_until: date | datetime | None = None

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str) -> str:
        if not E164.match(value):
            raise ValueError("phone must be E.164, e.g. +819012345678")
        return value

    @model_validator(mode="after")
    def _volunteer_times(self) -> Self:
        if (self.availability or self.resting_until) and self.role is not ContactRole.VOLUNTEER:
            raise ValueError("availability and resting_until are for volunteers")
        return self

    @field_validator("resting_until")
    @classmethod
    def _rest(cls, value: date | datetime | None) -> date | datetime | None:
        if value is not None:
            rest_end(value)  # a time without a zone is refused
        return value

    @field_validator("email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError("not an e-mail address")
        return value

    @field_validator("channels")
    @classmethod
    def _reachable(cls, value: list[ContactChannel], info: ValidationInfo) -> list[ContactChannel]:
        if "role" in info.data:  # a bad role is reported on its own
            check_channels(info.data["role"], value, info.data.get("email"))
        return value


def check_channels(role: ContactRole, channels: Sequence[ContactChannel], email: str | None) -> None:
    """A contact's channel list is usable: no repeats, an address for e-mail, and e-mail never alone
    for someone who must answer or go (it is read late, and has no delivery receipt)."""
    if len(set(channels)) != len(channels):
        raise ValueError("channels: each channel at most once")
    if ContactChannel.EMAIL in channels and not email:
        raise ValueError("channels: 'email' needs an email address")
    if list(channels) == [ContactChannel.EMAIL] and role in PHYSICAL_ROLES:
        raise ValueError(f"channels: e-mail alone cannot reach a {role.value} in time; add sms, voice, line")


class TierIn(_Model):
    kind: Literal["resident_check", "neighbours", "volunteers", "professionals"]
    pool: bool = False  # volunteers: also the organisation's shared pool (docs/community.md)
    pool_size: int = Field(3, ge=1, le=50)
    contacts: list[str] = Field([], validate_default=True)  # after pool: a pool tier may have none
    mode: NotifyMode = NotifyMode.ALL
    wait_minutes: int = Field(15, ge=1, le=24 * 60)

    @field_validator("pool")
    @classmethod
    def _volunteers_only(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("kind", "volunteers") != "volunteers":
            raise ValueError("only a volunteers tier draws on the pool")
        return value

    @field_validator("contacts")
    @classmethod
    def _someone(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value and not info.data.get("pool"):
            raise ValueError("a tier needs at least one contact (volunteers: or pool: true)")
        return value


class QuietIn(_Model):
    start: time
    end: time


class PolicyIn(_Model):
    tiers: list[TierIn] = Field(min_length=1)
    technical: list[str] = []
    quiet_hours: QuietIn | None = None
    claim_timeout_minutes: int = Field(45, ge=5, le=24 * 60)
    volunteer_weekly_cap: int = Field(3, ge=1, le=100)
    resolve_on_activity: bool | None = None  # retired, accepted in old files and ignored (docs/escalation.md)

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: list[TierIn]) -> list[TierIn]:
        order = [COMMUNITY_TIERS.index(TierKind(t.kind)) for t in tiers]
        if order != sorted(order):
            raise ValueError("tiers go resident_check, neighbours, volunteers, professionals (in this order)")
        return tiers


class ResidentIn(_Model):
    name: str = Field(min_length=1, max_length=80)
    note: str = ""


class ConsentIn(_Model):
    given_by: str = Field(min_length=1, max_length=80)  # "resident", "representative:長男 太郎"
    given_at: datetime
    scope: str = Field("", max_length=300)

    @field_validator("given_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("given_at needs a time zone, e.g. 2026-04-01T10:00:00+09:00")
        return value


def _ids(values: list[str]) -> list[str]:
    bad = [v for v in values if not ID_RE.match(v)]
    if bad:
        raise ValueError(f"ids {bad[:5]} must match {ID_RE.pattern}")
    if len(set(values)) != len(values):
        raise ValueError("ids must be distinct")
    return values


class DeviceIn(_Model):
    id: str
    room: Room | None = None  # where it is (docs/detection.md, *Rooms*); none: inferred from the id


class FamilyIn(_Model):
    """A family contact of the household (docs/community.md, *Families*)."""

    contact: str = Field(min_length=1, max_length=64)
    digest: Digest = Digest.NONE
    incidents: bool = True  # told when a community incident opens and closes


class OrganisationIn(_Model):
    id: str = Field(min_length=1, max_length=64, pattern=ID_RE.pattern)
    name: str = Field(min_length=1, max_length=80)
    operators: list[str] = Field([], max_length=20)  # contact ids: this organisation's exhausted chains


class HouseholdIn(_Model):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=80)
    address_hint: str = Field("", max_length=60)
    time_zone: TimeZoneName = "Asia/Tokyo"
    language: Language = Language.JA
    night_exit: bool = False
    # auto (on where the kit cannot see the evening), on or off; true/false read as on/off (docs/detection.md)
    evening_check: Switch = Switch.AUTO
    organisation: str = Field(DEFAULT_ORGANISATION, min_length=1, max_length=64)
    area: str = Field("", max_length=40)
    lives_alone: bool = True
    needs: list[Need] = Field([], max_length=len(Need))

    @field_validator("evening_check", mode="before")
    @classmethod
    def _switch(cls, value: object) -> Switch:
        return Switch.parse(value)

    residents: list[ResidentIn] = []
    gateways: list[str] = Field([], max_length=16)  # ids; none listed: any gateway of the household
    # ids, or {id, room}; a device not listed is shown as new
    devices: list[DeviceIn] = Field([], max_length=500)
    consent: ConsentIn | None = None
    calendar: list[CalendarIn] | None = Field(None, max_length=50)  # None: the calendar is left as it is
    family: list[FamilyIn] | None = Field(
        None, max_length=10
    )  # None: the family contacts are left as they are
    policy: PolicyIn

    _gateway_ids = field_validator("gateways")(_ids)

    @field_validator("family")
    @classmethod
    def _family_once(cls, value: list[FamilyIn] | None) -> list[FamilyIn] | None:
        if value is not None and len({f.contact for f in value}) != len(value):
            raise ValueError("each family contact at most once")
        return value

    @field_validator("devices", mode="before")
    @classmethod
    def _device_entries(cls, value: object) -> object:
        """A bare id is a device whose room is inferred from its name."""
        if isinstance(value, list):
            return [{"id": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("devices")
    @classmethod
    def _device_ids(cls, value: list[DeviceIn]) -> list[DeviceIn]:
        _ids([d.id for d in value])
        return value


@dataclass
class ImportReport:
    organisations: int = 0
    households: int = 0
    contacts: int = 0
    rejected: list[str] = field(default_factory=list)  # "households[3] (demo-0004): reason"


def read_file(path: Path) -> dict[str, Any]:
    """Parse ``path`` as TOML (``.toml``) or YAML (anything else); raise ImportError_ with the reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportError_(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ImportError_(
            f"{path}: not valid {'TOML' if path.suffix == '.toml' else 'YAML'}: {exc}"
        ) from None
    if not isinstance(data, dict) or not set(data) <= {"organisations", "contacts", "households"}:
        raise ImportError_(f"{path}: expected top-level 'organisations', 'contacts' and 'households' lists")
    return data


def import_data(repo: Registry, data: dict[str, Any], now: datetime) -> ImportReport:
    report = ImportReport()
    orgs = {o.id for o in repo.organisations()} | {DEFAULT_ORGANISATION}
    declared: list[OrganisationIn] = []
    for n, raw in enumerate(_list(data, "organisations")):
        try:
            declared.append(OrganisationIn.model_validate(raw))
        except ValidationError as exc:
            report.rejected.append(f"organisations[{n}] ({_id(raw)}): {_reason(exc)}")
            continue
        orgs.add(declared[-1].id)
    known = {c.id for c in repo.contacts()}
    for n, raw in enumerate(_list(data, "contacts")):
        try:
            c = ContactIn.model_validate(raw)
            _check_names("pools: unknown organisations", c.pools, orgs)
        except (ValidationError, ValueError) as exc:
            reason = _reason(exc) if isinstance(exc, ValidationError) else str(exc)
            report.rejected.append(f"contacts[{n}] ({_id(raw)}): {reason}")
            continue
        existing = repo.contact(c.id)
        repo.upsert_contact(
            Contact(
                c.id,
                c.name,
                c.phone,
                c.role,
                c.language,
                existing.opted_out_at if existing else None,
                c.weekly_cap,
                tuple(c.channels),
                c.email,
                existing.line_user if existing else None,  # linked by the contact, never by a file
                existing.line_blocked if existing else False,
                tuple(c.pools),
            )
        )
        if c.availability is not None:
            repo.set_availability(c.id, [w.window() for w in c.availability])
        if "resting_until" in c.model_fields_set:
            until = None if c.resting_until is None else rest_end(c.resting_until)
            repo.set_resting(c.id, until, "import")
        known.add(c.id)
        report.contacts += 1
    for n, o in enumerate(declared):  # after the contacts: operators are contacts
        try:
            _check_names("operators: unknown contacts", o.operators, known)
        except ValueError as exc:
            report.rejected.append(f"organisations[{n}] ({o.id}): {exc}")
            continue
        repo.upsert_organisation(Organisation(o.id, o.name, tuple(o.operators)))
        report.organisations += 1
    for n, raw in enumerate(_list(data, "households")):
        try:
            h = HouseholdIn.model_validate(raw)
            _check_refs(h, known)
            _check_names("organisation: unknown", [h.organisation], orgs)
            _check_family(repo, h)
        except (ValidationError, ValueError) as exc:
            reason = _reason(exc) if isinstance(exc, ValidationError) else str(exc)
            report.rejected.append(f"households[{n}] ({_id(raw)}): {reason}")
            continue
        with repo.transaction():
            store_household(repo, h, now)
        report.households += 1
    return report


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ImportError_(f"'{key}' must be a list")
    return value


def _check_names(what: str, names: Sequence[str], known: set[str]) -> None:
    missing = sorted({n for n in names if n not in known})
    if missing:
        raise ValueError(f"{what} {', '.join(missing)}")


def _check_refs(h: HouseholdIn, known: set[str]) -> None:
    refs = [c for t in h.policy.tiers for c in t.contacts] + list(h.policy.technical)
    missing = sorted({c for c in refs if c not in known})
    if missing:
        raise ValueError(f"unknown contacts {', '.join(missing)}")


def _check_family(repo: Registry, h: HouseholdIn) -> None:
    """Family contacts are contacts of role ``family``; a digest by e-mail needs their address; one the
    policy places in a tier (explicitly: never otherwise) must be reachable by more than e-mail."""
    in_tiers = {c for t in h.policy.tiers for c in t.contacts}
    for f in h.family or ():
        check_family_link(repo, f)
    for cid in sorted(in_tiers):
        contact = repo.contact(cid)
        alone = contact is not None and list(contact.channels) == [ContactChannel.EMAIL]
        if contact is not None and contact.role is ContactRole.FAMILY and alone:
            raise ValueError(f"policy: family contact {cid} in a tier needs sms, voice or line")


def check_family_link(repo: Registry, f: FamilyIn) -> None:
    """One family entry: a known contact of role ``family``, with an address for an e-mail digest."""
    contact = repo.contact(f.contact)
    if contact is None:
        raise ValueError(f"family: unknown contact {f.contact}")
    if contact.role is not ContactRole.FAMILY:
        raise ValueError(f"family: {f.contact} is a {contact.role.value}, not a family contact")
    if f.digest is Digest.EMAIL and not contact.email:
        raise ValueError(f"family: {f.contact} has no e-mail address for an e-mail digest")


def store_household(repo: Registry, h: HouseholdIn, now: datetime) -> None:
    """Writes a validated household (its contacts must exist), as the import and the dashboard do."""
    repo.upsert_household(
        Household(
            h.id,
            h.name,
            h.address_hint,
            h.time_zone,
            h.language,
            h.night_exit,
            h.evening_check,
            h.organisation,
            h.area,
            h.lives_alone,
            tuple(h.needs),
        )
    )
    repo.set_residents(h.id, [Resident(h.id, r.name, r.note) for r in h.residents])
    p = h.policy
    policy = Policy(
        household=h.id,
        tiers=tuple(
            Tier(TierKind(t.kind), tuple(t.contacts), t.mode, t.wait_minutes, t.pool, t.pool_size)
            for t in p.tiers
        ),
        technical=tuple(p.technical),
        quiet_hours=None if p.quiet_hours is None else QuietHours(p.quiet_hours.start, p.quiet_hours.end),
        claim_timeout_minutes=p.claim_timeout_minutes,
        volunteer_weekly_cap=p.volunteer_weekly_cap,
    )
    repo.set_policy(policy, now)
    if h.family is not None:
        repo.set_family(h.id, [FamilyLink(h.id, f.contact, f.digest, f.incidents) for f in h.family])
    contacts = {c for t in policy.tiers for c in t.contacts} | set(policy.technical)
    for contact in contacts:
        repo.link_contact(h.id, contact)
    contacts |= {link.contact for link in repo.family_links(h.id)}  # they receive its digests and notices
    repo.set_provisions(h.id, sorted(contacts), now)
    repo.set_gateways(h.id, h.gateways)
    repo.set_devices(h.id, [d.id for d in h.devices], {d.id: d.room for d in h.devices if d.room is not None})
    if h.calendar is not None:
        repo.set_calendar(h.id, [c.entry(h.id) for c in h.calendar])
    if h.consent is not None:
        repo.record_consent(
            Consent(h.id, h.consent.given_by, h.consent.given_at.astimezone(UTC), h.consent.scope)
        )


def _id(raw: Any) -> str:
    return str(raw.get("id", "?")) if isinstance(raw, dict) else "?"


def _reason(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors())
