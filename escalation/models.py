"""Incidents and their log as frozen dataclasses: what the escalation repository returns and what the
pure escalation core decides on. All times are aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from detection.findings import Audience, FindingKind, Severity
from registry.models import ContactChannel, ContactRole, Language, QuietHours, TierKind


class IncidentState(StrEnum):
    """Where an incident is; only :func:`escalation.machine.transition` moves it (see docs/escalation.md)."""

    OPEN = "open"  # opened, nobody notified yet (or only on the dashboard)
    NOTIFYING = "notifying"  # wave ``wave_index - 1`` notified, waiting for a claim
    CLAIMED = "claimed"  # someone said "I'll go"
    RESUMED = "resumed"  # activity resumed, unclaimed: no further tiers; closes itself when it goes on
    RESOLVED = "resolved"  # closed, with an outcome


class Outcome(StrEnum):
    """How an incident ended: one vocabulary for SMS, one-tap pages, the dashboard and the CLI."""

    SAFE = "safe"  # the person is fine
    FALSE_ALARM = "false_alarm"  # nothing was wrong (what detection learns from)
    NO_ANSWER_AT_DOOR = "no_answer_at_door"  # went, nobody answered (staff follow up)
    HOSPITAL = "hospital"  # taken to hospital
    EMERGENCY_HANDLED = "emergency_handled"  # 119 / professionals took over
    ACTIVITY_RESUMED = "activity_resumed"  # activity went on long enough: closed by itself
    FAULT_CLEARED = "fault_cleared"  # a technical fault went away (battery replaced, device back)
    ROOM_COOLED = "room_cooled"  # a heat or cold incident's rooms came back to safe (docs/climate.md)
    SUPERSEDED = "superseded"  # a new episode opened a new incident (``superseded_by``)
    SUPPRESSED = "suppressed"  # part of a platform outage; the operators' incident carries it
    OTHER = "other"  # see the note


STAFF, CLAIMER, RESIDENT, SYSTEM = "staff", "claimer", "resident", "system"
PLATFORM = "_platform"  # the household id of the operators' incident for platform-wide outages
OUTCOME_SETTERS: dict[Outcome, frozenset[str]] = {
    Outcome.SAFE: frozenset({STAFF, CLAIMER, RESIDENT}),
    Outcome.FALSE_ALARM: frozenset({STAFF}),
    Outcome.NO_ANSWER_AT_DOOR: frozenset({STAFF, CLAIMER}),
    Outcome.HOSPITAL: frozenset({STAFF, CLAIMER}),
    Outcome.EMERGENCY_HANDLED: frozenset({STAFF, CLAIMER}),
    Outcome.ACTIVITY_RESUMED: frozenset({SYSTEM}),
    Outcome.FAULT_CLEARED: frozenset({STAFF, SYSTEM}),
    Outcome.ROOM_COOLED: frozenset({SYSTEM}),
    Outcome.SUPERSEDED: frozenset({SYSTEM}),
    Outcome.SUPPRESSED: frozenset({SYSTEM}),
    Outcome.OTHER: frozenset({STAFF, CLAIMER}),
}
"""Who may set each outcome: staff (dashboard, CLI), the claimer (SMS reply, one-tap page), the
household's resident (only "safe"), the system (the machine itself)."""


@dataclass(frozen=True, slots=True)
class SnapshotContact:
    """A contact as copied onto an incident when it opened."""

    id: str
    name: str
    phone: str
    role: ContactRole
    language: Language


@dataclass(frozen=True, slots=True)
class Wave:
    """One send of the escalation chain: a whole tier (mode all) or one person (one by one)."""

    tier_index: int
    tier: TierKind
    contacts: tuple[SnapshotContact, ...]
    wait_minutes: int  # after this wave, before the next


@dataclass(frozen=True, slots=True)
class PolicySnapshot:
    """The escalation chain resolved at opening: who, in which order, how long to wait."""

    waves: tuple[Wave, ...]
    claim_timeout_minutes: int
    quiet_hours: QuietHours | None
    time_zone: str
    first_wave_delay_minutes: int = 0  # blind households: wait to see whether it is a platform outage


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    household: str
    kind: FindingKind
    severity: Severity
    audience: Audience
    state: IncidentState
    opened_at: datetime
    updated_at: datetime
    episode: str
    explanation_key: str
    explanation_params: dict[str, str | int | float]
    last_activity_at: datetime | None  # before the episode (help button: the newest press)
    snapshot: PolicySnapshot
    wave_index: int = 0  # the next wave to send
    next_due_at: datetime | None = None  # when the next step is due (persisted: restart-proof)
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    outcome: Outcome | None = None
    resolved_by: str | None = None  # the actor: "system", "contact:c-1", "staff:sato"
    note: str = ""
    superseded_by: str | None = None  # the incident of the newer episode
    device: str | None = None  # technical incidents are per device
    resumed_at: datetime | None = None  # first activity after the episode (RESUMED)
    activity_at: datetime | None = None  # newest activity seen since ``resumed_at``


class StepKind(StrEnum):
    OPENED = "opened"
    NOTIFIED = "notified"  # a wave was sent
    CLAIMED = "claimed"
    DECLINED = "declined"
    CLAIM_EXPIRED = "claim_expired"
    HELP = "help"  # jumped to professionals
    EXHAUSTED = "exhausted"  # nobody left in the chain
    ACTIVITY_RESUMED = "activity_resumed"
    RESOLVED = "resolved"
    SUPPRESSED = "suppressed"
    OPTED_OUT = "opted_out"
    DELIVERY_FAILED = "delivery_failed"
    OPERATORS_TOLD = "operators_told"  # the chain ran out: the operators were texted
    REPEATED = "repeated"  # the same episode again (help button pressed again within 10 minutes)
    SUPERSEDED = "superseded"  # closed for a newer episode
    REOPENED = "reopened"  # help after an automatic close
    FAULT_CLEARED = "fault_cleared"
    ROOM_COOLED = "room_cooled"  # a heat or cold incident closed: its rooms are safe again


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One line of an incident's escalation log."""

    id: int
    incident: str
    kind: StepKind
    at: datetime
    wave_index: int | None = None
    contact: str | None = None
    detail: str = ""


class SmsStatus(StrEnum):
    """The status of a queued message on any channel (the queue began with SMS, hence the name)."""

    QUEUED = "queued"  # stored, waiting for its turn (or for a retry)
    SENDING = "sending"  # handed to the provider; the answer is not in yet
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"  # permanent: the next person is tried at once
    CANCELLED = "cancelled"  # no longer needed (incident resolved before its turn)


class SmsPurpose(StrEnum):
    ALERT = "alert"
    CLAIMED_NOTICE = "claimed_notice"  # "X is going"
    RESOLVED_NOTICE = "resolved_notice"
    ACTIVITY_NOTICE = "activity_notice"
    SUPERSEDED_NOTICE = "superseded_notice"
    REPLY = "reply"  # help text, "already claimed", ...
    OPERATOR = "operator"
    DRILL = "drill"  # chain health drill: "reply T" (escalation/drills.py)
    DRILL_DRY_RUN = "drill_dry_run"  # the watchdog's end-to-end drill: queued and dispatched, never sent
    DISASTER = "disaster"  # a disaster check: "reply 1 if you are safe", or a volunteer asked to look
    FAMILY_NOTICE = "family_notice"  # to a family contact: an incident opened / closed (no "can you go?")
    DIGEST = "digest"  # a family contact's daily digest (escalation/digest.py)


@dataclass(frozen=True, slots=True)
class SmsMessage:
    id: int
    to: str
    body: str
    status: SmsStatus
    purpose: SmsPurpose
    urgent: bool
    created_at: datetime
    idempotency_key: str  # one message per (incident, step, contact, purpose)
    incident: str | None = None
    contact: str | None = None
    provider_sid: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    error_code: int | None = None
    error: str = ""
    updated_at: datetime | None = None
    channel: ContactChannel = (
        ContactChannel.SMS
    )  # ``to`` is a phone (sms, voice), a LINE user id or an e-mail address


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str  # "system", "contact:c-12", "twilio", "care_manager:sato", "link:c-12"
    action: str  # "sms.sent", "sms.status", "reply", "link.tap", "incident.claimed", ...
    household: str | None = None
    incident: str | None = None
    detail: dict[str, str | int | float | None] = field(default_factory=dict)
