"""The registry's vocabulary: households, residents, contacts, escalation policies, away periods and
care calendars.

Who is watched and who is called, as frozen dataclasses. Detection, escalation and the dashboard read
them; only the registry writes them. All times are aware UTC; each household's ``time_zone`` is for
display and for quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum


class ContactRole(StrEnum):
    """What a contact is to the households they serve."""

    RESIDENT = "resident"
    NEIGHBOUR = "neighbour"
    VOLUNTEER = "volunteer"
    PROFESSIONAL = "professional"
    TECHNICAL = "technical"
    FAMILY = "family"  # often far away: digests and incident notices, in a tier only if the policy says so


class Language(StrEnum):
    JA = "ja"
    EN = "en"


class ContactChannel(StrEnum):
    """How a contact is reached (docs/channels.md); each contact has an ordered list of them."""

    SMS = "sms"  # Twilio Messages (or the demo's outbox)
    VOICE = "voice"  # Twilio Programmable Voice: a spoken message, answered with keypresses
    LINE = "line"  # LINE Messaging API push with answer buttons
    EMAIL = "email"  # SMTP; for notices, never a physical-response tier member's only channel


TEXT_CHANNELS = (ContactChannel.SMS, ContactChannel.LINE, ContactChannel.EMAIL)
"""Channels that carry written notices and answers; a voice-only contact hears only alerts."""


class TierKind(StrEnum):
    """The community tiers, in the order a policy may list them."""

    RESIDENT_CHECK = "resident_check"  # an SMS to the resident: "are you all right?"
    NEIGHBOURS = "neighbours"
    VOLUNTEERS = "volunteers"
    PROFESSIONALS = "professionals"
    TECHNICAL = "technical"  # blind households and device faults: never neighbours
    OPERATORS = "operators"  # platform-wide outage: one alert for the operators


class NotifyMode(StrEnum):
    ALL = "all"  # everyone in the tier at once
    ONE_BY_ONE = "one_by_one"  # one person, wait, the next


class Room(StrEnum):
    """Where a device is (the registry's devices, detection's rules: docs/detection.md, *Rooms*)."""

    ENTRANCE = "entrance"  # genkan, front door: a door here is the main door
    LIVING = "living"  # where the day and the evening are spent (TV, sofa)
    BEDROOM = "bedroom"
    KITCHEN = "kitchen"
    BATHROOM = "bathroom"  # bath, shower, washbasin, changing room
    TOILET = "toilet"
    OTHER = "other"  # hallway, stairs, unknown


class Switch(StrEnum):
    """A check the data can decide for itself: ``auto`` (the detector decides), or forced ``on``/``off``."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"

    @classmethod
    def parse(cls, value: object) -> Switch:
        """``auto``/``on``/``off``; booleans (``true``/``false``, ``1``/``0``) read as on/off, as the
        opt-ins they replace were written. ValueError otherwise."""
        if isinstance(value, bool):
            return cls.ON if value else cls.OFF
        text = str(value).strip().lower()
        old = {"true": cls.ON, "1": cls.ON, "false": cls.OFF, "0": cls.OFF}
        if text in old:
            return old[text]
        try:
            return cls(text)
        except ValueError:
            raise ValueError(f"expected auto, on or off, not {value!r}") from None


class Sensitivity(StrEnum):
    """How readily a household's quiet stretches are raised, as its care manager sets it (the factors are
    detection's: ``detection.learning.SENSITIVITY_FACTORS``)."""

    LOW = "low"  # 低: later, fewer false alarms
    STANDARD = "standard"  # 標準
    HIGH = "high"  # 高: sooner, more false alarms


class Need(StrEnum):
    """What makes a household more urgent to reach after a disaster (docs/community.md)."""

    MOBILITY = "mobility"  # cannot leave the home unaided
    OXYGEN = "oxygen"  # home oxygen: needs power
    DEMENTIA = "dementia"
    HEARING = "hearing"  # may not hear a phone or a knock


DEFAULT_ORGANISATION = "default"
"""The organisation of a deployment that declares none: every household and user belongs to it."""


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation sharing the deployment: 地域包括支援センター, 社会福祉法人, a resident network."""

    id: str
    name: str
    operators: tuple[str, ...] = ()  # contact ids told when this organisation's chains are exhausted


@dataclass(frozen=True, slots=True)
class Household:
    id: str
    name: str  # what a neighbour reads: "山田花子" / "Hanako Yamada"
    address_hint: str  # "桜町2-5, blue roof"; never the full address
    time_zone: str = "Asia/Tokyo"
    language: Language = Language.JA
    night_exit_opt_in: bool = False  # NIGHT_EXIT findings only when the household agreed
    evening_check: Switch = Switch.AUTO  # EVENING_QUIET findings; auto: where the kit cannot see the evening
    organisation: str = DEFAULT_ORGANISATION
    area: str = ""  # a district or 自治会 name: disaster checks and viewers can be limited to one
    lives_alone: bool = True
    needs: tuple[Need, ...] = ()


@dataclass(frozen=True, slots=True)
class Feedback:
    """An incident's outcome that detection learns from (docs/detection.md, *Learning from outcomes*)."""

    household: str
    incident: str
    closed_at: datetime
    emergency: bool  # a real emergency (hospital, emergency handled); False: staff said false alarm
    rule: str  # the threshold that raised it: quiet, bathroom, toilet, outing (detection.learning.Rule)
    band: int  # the local 3-hour band of the day the quiet stretch began in (0-7); -1: the whole day


@dataclass(frozen=True, slots=True)
class Resident:
    household: str
    name: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    name: str
    phone: str  # E.164, e.g. +819012345678
    role: ContactRole
    language: Language = Language.JA
    opted_out_at: datetime | None = None  # replied STOP / 停止: never texted again
    weekly_cap: int | None = None  # volunteers: at most this many alerts in 7 days (policy default if None)
    channels: tuple[ContactChannel, ...] = (
        ContactChannel.SMS,
    )  # in the order to try them (an alert falls back)
    email: str | None = None  # for the e-mail channel
    line_user: str | None = None  # the LINE user id, once linked (by a one-time code the contact sends)
    line_blocked: bool = False  # unfollowed (blocked) the official account: LINE is skipped until followed
    pools: tuple[str, ...] = ()  # volunteers: the organisations whose shared pool they serve


class Digest(StrEnum):
    """How a family contact gets the household's daily digest (docs/community.md, *Families*)."""

    SMS = "sms"
    EMAIL = "email"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class FamilyLink:
    """A family contact linked to a household without being in a tier: digests and incident notices."""

    household: str
    contact: str  # a contact id (role ``family``)
    digest: Digest = Digest.NONE
    incidents: bool = True  # told when a community incident opens and when it closes


@dataclass(frozen=True, slots=True)
class FamilyMember:
    """A household's family contact with their settings (:meth:`registry.repository.Registry.family_of`)."""

    link: FamilyLink
    contact: Contact


@dataclass(frozen=True, slots=True)
class Availability:
    """A window in which a volunteer may be asked, in local time of the household served (0 = Monday).

    ``end <= start`` ends the next day (22:00-06:00). A volunteer with no windows may be asked any time.
    """

    weekdays: tuple[int, ...]
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Tier:
    kind: TierKind
    contacts: tuple[str, ...]  # contact ids, in the order to try them
    mode: NotifyMode = NotifyMode.ALL
    wait_minutes: int = 15  # before the next tier (one-by-one: before the next person)
    pool: bool = False  # volunteers tier: also the household's organisation's shared pool
    pool_size: int = 3  # how many pool volunteers (round-robin) the tier takes besides its contacts


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local times; non-urgent notices wait until ``end``. ``start > end`` wraps midnight."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Policy:
    household: str
    tiers: tuple[Tier, ...]
    technical: tuple[str, ...] = ()  # contact ids for blind households and device faults
    quiet_hours: QuietHours | None = None
    claim_timeout_minutes: int = 45  # a claim with no outcome by then escalates anyway
    volunteer_weekly_cap: int = 3


@dataclass(frozen=True, slots=True)
class AwayPeriod:
    id: int
    household: str
    start: datetime
    end: datetime  # expires by itself
    set_by: str  # "care_manager:sato", "contact:c-12", "resident"
    note: str = ""


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """A planned absence in the household's care calendar (local times of its time zone).

    Weekly (``weekdays`` set, 0 = Monday: day service Tue/Thu 09:00-16:00; ``end <= start`` ends the
    next day) or dated (``first_day`` .. ``last_day``: a short stay from ``start`` on the first day to
    ``end`` on the last, or a hospital visit when both days are the same).
    """

    id: int
    household: str
    label: str  # "デイサービス", "short stay"; may be empty
    start: time
    end: time
    weekdays: tuple[int, ...] = ()
    first_day: date | None = None
    last_day: date | None = None

    @property
    def weekly(self) -> bool:
        return bool(self.weekdays)


@dataclass(frozen=True, slots=True)
class Consent:
    """The resident's (or their representative's) consent to being watched (APPI)."""

    household: str
    given_by: str  # "resident", "representative:長男 太郎"
    given_at: datetime
    scope: str = ""  # what was agreed, in the words of the signed form


@dataclass(frozen=True, slots=True)
class Provision:
    """A third-party provision (APPI): ``contact`` receives ``household``'s alerts since ``since``."""

    household: str
    contact: str
    since: datetime
    until: datetime | None = None  # None: still provided
