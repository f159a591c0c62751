"""Escalation's records: incidents, their steps, SMS messages, one-tap links and the audit log.

They live in the registry's SQLite file: :class:`EscalationRepository` is the :class:`Registry` with
these tables added. Every read returns frozen dataclasses from :mod:`escalation.models`; every write is
one short transaction. Methods raise :class:`mimamori.sqlite.DatabaseError` when the database cannot
be used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from detection.findings import Audience, FindingKind, Severity
from escalation.codec import decode_snapshot, encode_snapshot
from escalation.models import (
    AuditEntry,
    EscalationStep,
    Incident,
    IncidentState,
    Outcome,
    SmsMessage,
    SmsPurpose,
    SmsStatus,
    StepKind,
)
from mimamori.sqlite import from_db_time, opt_db_time, opt_time, to_db_time
from registry.models import ContactChannel
from registry.repository import Registry

Detail = dict[str, str | int | float | None]


class EscalationRepository(Registry):
    """The registry plus escalation's tables. The constructor does no I/O; call :meth:`open`."""

    SCHEMAS = ("registry", "escalation")
    ADDED_COLUMNS = (
        *Registry.ADDED_COLUMNS,
        ("incidents", "note", "TEXT NOT NULL DEFAULT ''"),
        ("incidents", "superseded_by", "TEXT"),
        ("incidents", "device", "TEXT"),
        ("incidents", "resumed_at", "TEXT"),
        ("incidents", "activity_at", "TEXT"),
        ("sms_messages", "channel", "TEXT NOT NULL DEFAULT 'sms'"),
    )

    # -- incidents ---------------------------------------------------------------------------------
    def insert_incident(self, incident: Incident) -> None:
        """Store a new incident."""
        i = incident
        self._exec(
            f"INSERT INTO incidents ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",  # noqa: S608
            (
                i.id,
                i.household,
                i.kind.value,
                i.severity.value,
                i.audience.value,
                i.episode,
                i.explanation_key,
                json.dumps(i.explanation_params, ensure_ascii=False),
                encode_snapshot(i.snapshot),
                to_db_time(i.opened_at),
                *_mutable(i),
            ),
        )

    def save_incident(self, i: Incident) -> None:
        """Persist the mutable part of an incident (only :meth:`EscalationEngine.apply` calls this)."""
        sets = ", ".join(f"{c}=?" for c in _MUTABLE)
        self._exec(f"UPDATE incidents SET {sets} WHERE id=?", (*_mutable(i), i.id))  # noqa: S608

    def incident(self, incident_id: str) -> Incident | None:
        row = self._exec(f"SELECT {_SELECT} FROM incidents WHERE id = ?", (incident_id,)).fetchone()  # noqa: S608
        return None if row is None else _incident(row)

    def open_incident(self, household_id: str, kind: FindingKind) -> Incident | None:
        """The newest open incident of this household and kind."""
        row = self._exec(
            f"SELECT {_SELECT} FROM incidents WHERE household = ? AND kind = ? AND state != 'resolved'"  # noqa: S608
            " ORDER BY opened_at DESC, rowid DESC",
            (household_id, kind.value),
        ).fetchone()
        return None if row is None else _incident(row)

    def open_incidents_of(self, household_id: str, kind: FindingKind, device: str | None) -> list[Incident]:
        """Open incidents of this household and kind (and device, for technical ones), newest first."""
        rows = self._exec(
            f"SELECT {_SELECT} FROM incidents WHERE household = ? AND kind = ? AND device IS ?"  # noqa: S608
            " AND state != 'resolved' ORDER BY opened_at DESC, rowid DESC",
            (household_id, kind.value, device),
        )
        return [_incident(r) for r in rows]

    def incident_for_episode(
        self, household_id: str, kind: FindingKind, episode: str, device: str | None
    ) -> Incident | None:
        """The incident opened for this episode, if any (open or closed)."""
        row = self._exec(
            f"SELECT {_SELECT} FROM incidents WHERE household = ? AND kind = ? AND episode = ?"  # noqa: S608
            " AND device IS ?",
            (household_id, kind.value, episode, device),
        ).fetchone()
        return None if row is None else _incident(row)

    def incidents(
        self, household_id: str | None = None, *, open_only: bool = False, limit: int = 200
    ) -> list[Incident]:
        """Newest first."""
        sql = f"SELECT {_SELECT} FROM incidents WHERE 1=1"  # noqa: S608
        args: list[Any] = []
        if household_id is not None:
            sql += " AND household = ?"
            args.append(household_id)
        if open_only:
            sql += " AND state != 'resolved'"
        rows = self._exec(sql + " ORDER BY opened_at DESC, id DESC LIMIT ?", [*args, limit])
        return [_incident(r) for r in rows]

    def due_incidents(self) -> list[tuple[str, datetime]]:
        """(id, next_due_at) of every unresolved incident with a step due: what the scheduler rebuilds."""
        rows = self._exec(
            "SELECT id, next_due_at FROM incidents WHERE state != 'resolved' AND next_due_at IS NOT NULL"
        )
        return [(r[0], from_db_time(r[1])) for r in rows]

    def count_open(self, kinds: Sequence[FindingKind]) -> int:
        marks = ",".join("?" * len(kinds))
        sql = f"SELECT count(*) FROM incidents WHERE state != 'resolved' AND kind IN ({marks})"  # noqa: S608
        return int(self._exec(sql, [k.value for k in kinds]).fetchone()[0])

    def open_incidents_notifying(self, contact_ids: Sequence[str]) -> list[tuple[Incident, str]]:
        """Unresolved incidents that texted one of these contacts, most recently texted first."""
        if not contact_ids:
            return []
        marks = ",".join("?" * len(contact_ids))
        sql = (
            f"SELECT {', '.join('i.' + c for c in _COLUMNS)}, s.contact"  # noqa: S608
            " FROM escalation_steps s JOIN incidents i ON i.id = s.incident"
            f" WHERE s.kind = 'notified' AND s.contact IN ({marks}) AND i.state != 'resolved'"
            " ORDER BY s.id DESC"
        )
        seen: set[str] = set()
        out: list[tuple[Incident, str]] = []
        for row in self._exec(sql, list(contact_ids)):
            if row[0] not in seen:
                seen.add(row[0])
                out.append((_incident(row[:-1]), row[-1]))
        return out

    # -- escalation log ----------------------------------------------------------------------------
    def add_step(
        self,
        incident_id: str,
        kind: StepKind,
        at: datetime,
        *,
        wave_index: int | None = None,
        contact: str | None = None,
        detail: str = "",
    ) -> None:
        self._exec(
            "INSERT INTO escalation_steps (incident, kind, at, wave_index, contact, detail)"
            " VALUES (?,?,?,?,?,?)",
            (incident_id, kind.value, to_db_time(at), wave_index, contact, detail),
        )

    def steps(self, incident_id: str) -> list[EscalationStep]:
        rows = self._exec(
            "SELECT id, incident, kind, at, wave_index, contact, detail FROM escalation_steps"
            " WHERE incident = ? ORDER BY id",
            (incident_id,),
        )
        return [
            EscalationStep(r[0], r[1], StepKind(r[2]), from_db_time(r[3]), r[4], r[5], r[6]) for r in rows
        ]

    def contacts_with_step(self, incident_id: str, kinds: Sequence[StepKind]) -> set[str]:
        marks = ",".join("?" * len(kinds))
        sql = f"SELECT DISTINCT contact FROM escalation_steps WHERE incident = ? AND kind IN ({marks})"  # noqa: S608
        rows = self._exec(sql, [incident_id, *[k.value for k in kinds]])
        return {r[0] for r in rows if r[0] is not None}

    # -- SMS ---------------------------------------------------------------------------------------
    def enqueue_sms(
        self,
        *,
        key: str,
        to: str,
        body: str,
        purpose: SmsPurpose,
        urgent: bool,
        now: datetime,
        incident: str | None = None,
        contact: str | None = None,
        channel: ContactChannel = ContactChannel.SMS,
    ) -> bool:
        """Queue one message; False (and nothing queued) when ``key`` was queued before: idempotent."""
        cur = self._exec(
            "INSERT OR IGNORE INTO sms_messages (idempotency_key, to_number, body, status, purpose, urgent,"
            " created_at, updated_at, incident, contact, next_attempt_at, channel)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                key,
                to,
                body,
                SmsStatus.QUEUED.value,
                purpose.value,
                int(urgent),
                to_db_time(now),
                to_db_time(now),
                incident,
                contact,
                to_db_time(now),
                channel.value,
            ),
        )
        return cur.rowcount == 1

    def has_sms(self, key: str) -> bool:
        """Whether a message with idempotency ``key`` was ever queued."""
        row = self._exec("SELECT 1 FROM sms_messages WHERE idempotency_key = ?", (key,)).fetchone()
        return row is not None

    def record_sent_sms(
        self, *, key: str, to: str, body: str, purpose: SmsPurpose, sid: str, now: datetime
    ) -> None:
        """Record a message another process already sent (the watchdog), so that it shows in the outbox
        and the audit; idempotent by ``key``. The dispatcher never picks it up: it is not queued."""
        self._exec(
            "INSERT OR IGNORE INTO sms_messages (idempotency_key, to_number, body, status, purpose, urgent,"
            " created_at, updated_at, provider_sid, attempts) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (key, to, body, SmsStatus.SENT.value, purpose.value, 1, to_db_time(now), to_db_time(now), sid, 1),
        )

    def dry_run_sent_at(self) -> datetime | None:
        """When the newest end-to-end drill message went through the dispatcher (None: never)."""
        row = self._exec(
            "SELECT max(created_at) FROM sms_messages WHERE purpose = ? AND status = ?",
            (SmsPurpose.DRILL_DRY_RUN.value, SmsStatus.SENT.value),
        ).fetchone()
        return None if row[0] is None else from_db_time(row[0])

    def prune_dry_runs(self, before: datetime) -> None:
        """Forget drill messages older than ``before`` (one every few minutes: they would pile up)."""
        self._exec(
            "DELETE FROM sms_messages WHERE purpose = ? AND created_at < ?",
            (SmsPurpose.DRILL_DRY_RUN.value, to_db_time(before)),
        )

    def sms_health(self, since: datetime) -> tuple[int, int]:
        """(messages sent or delivered, attempts that failed) since ``since``: is the provider working?"""
        row = self._exec(
            "SELECT coalesce(sum(status IN ('sent', 'delivered')), 0), coalesce(sum(CASE"
            " WHEN error != '' AND status NOT IN ('sent', 'delivered') THEN attempts END), 0)"
            " FROM sms_messages WHERE updated_at >= ?",
            (to_db_time(since),),
        ).fetchone()
        return int(row[0]), int(row[1])

    def due_sms(self, now: datetime, limit: int = 50) -> list[SmsMessage]:
        """Queued messages whose turn has come, urgent first, then oldest."""
        rows = self._exec(
            "SELECT * FROM sms_messages WHERE status = 'queued' AND next_attempt_at <= ?"
            " ORDER BY urgent DESC, id LIMIT ?",
            (to_db_time(now), limit),
        )
        return [_sms(r) for r in rows]

    def next_sms_attempt(self) -> datetime | None:
        row = self._exec("SELECT min(next_attempt_at) FROM sms_messages WHERE status = 'queued'").fetchone()
        return opt_time(row[0])

    def sms_in_flight(self) -> list[SmsMessage]:
        """Messages handed to the provider whose answer never came (the process died meanwhile)."""
        return [
            _sms(r) for r in self._exec("SELECT * FROM sms_messages WHERE status = 'sending' ORDER BY id")
        ]

    def update_sms(self, message: SmsMessage) -> None:
        m = message
        self._exec(
            "UPDATE sms_messages SET status=?, provider_sid=?, attempts=?, next_attempt_at=?, error_code=?,"
            " error=?, updated_at=? WHERE id=?",
            (
                m.status.value,
                m.provider_sid,
                m.attempts,
                opt_db_time(m.next_attempt_at),
                m.error_code,
                m.error,
                opt_db_time(m.updated_at),
                m.id,
            ),
        )

    def sms(self, message_id: int) -> SmsMessage | None:
        row = self._exec("SELECT * FROM sms_messages WHERE id = ?", (message_id,)).fetchone()
        return None if row is None else _sms(row)

    def sms_by_sid(self, sid: str) -> SmsMessage | None:
        row = self._exec("SELECT * FROM sms_messages WHERE provider_sid = ?", (sid,)).fetchone()
        return None if row is None else _sms(row)

    def sms_messages(self, *, incident: str | None = None, limit: int = 500) -> list[SmsMessage]:
        """Oldest first."""
        if incident is None:
            rows = self._exec("SELECT * FROM sms_messages ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._exec(
                "SELECT * FROM sms_messages WHERE incident = ? ORDER BY id DESC LIMIT ?", (incident, limit)
            )
        return [_sms(r) for r in reversed(rows.fetchall())]

    def alert_channels(self, incident_id: str, contact_id: str) -> dict[ContactChannel, SmsStatus]:
        """The channels this contact's alert for this incident went out on, and how each went."""
        rows = self._exec(
            "SELECT channel, status FROM sms_messages"
            " WHERE incident = ? AND contact = ? AND purpose = 'alert'",
            (incident_id, contact_id),
        )
        return {ContactChannel(r[0]): SmsStatus(r[1]) for r in rows}

    def overdue_alerts(self, channel: ContactChannel, sent_before: datetime) -> list[SmsMessage]:
        """Alerts on ``channel`` the provider took before ``sent_before`` and never reported delivered."""
        rows = self._exec(
            "SELECT * FROM sms_messages WHERE channel = ? AND status = 'sent' AND purpose = 'alert'"
            " AND updated_at < ? ORDER BY id",
            (channel.value, to_db_time(sent_before)),
        )
        return [_sms(r) for r in rows]

    def cancel_queued_sms(self, incident_id: str, now: datetime) -> int:
        """Alerts of a resolved incident still waiting for their turn are not sent."""
        cur = self._exec(
            "UPDATE sms_messages SET status = 'cancelled', updated_at = ? WHERE incident = ?"
            " AND status = 'queued' AND purpose = 'alert'",
            (to_db_time(now), incident_id),
        )
        return cur.rowcount

    def alert_load(self, since: datetime, contacts: Sequence[str]) -> dict[str, tuple[int, datetime]]:
        """Per contact: alerts (incidents alerted about) since ``since``, and the newest alert ever
        (weekly cap and round-robin)."""
        if not contacts:
            return {}
        marks = ",".join("?" * len(contacts))
        rows = self._exec(
            "SELECT contact, count(DISTINCT CASE WHEN created_at >= ? THEN incident END), max(created_at)"  # noqa: S608
            f" FROM sms_messages WHERE contact IN ({marks}) AND purpose = 'alert' GROUP BY contact",
            [to_db_time(since), *contacts],
        )
        return {r[0]: (int(r[1]), from_db_time(r[2])) for r in rows}

    def volunteer_activity(self, start: datetime, end: datetime) -> list[tuple[str, str, str, int]]:
        """What contacts did from ``start`` to ``end``: rows (contact, measure, detail, count), measures
        ``alerts`` (incidents alerted about), ``answered`` (incidents answered by SMS or link),
        ``claimed``, ``visit`` (claimed incidents closed, detail: the outcome) and ``drills`` (answered)."""
        span = (to_db_time(start), to_db_time(end))
        rows = self._exec(
            "SELECT contact, 'alerts', '', count(DISTINCT incident) FROM sms_messages"
            " WHERE purpose = 'alert' AND contact IS NOT NULL AND created_at >= ? AND created_at < ?"
            " GROUP BY contact"
            " UNION ALL SELECT substr(actor, instr(actor, ':') + 1), 'answered', '', count(DISTINCT incident)"
            " FROM audit_log WHERE action IN ('reply', 'link.tap') AND incident IS NOT NULL"
            " AND (actor LIKE 'contact:%' OR actor LIKE 'link:%') AND at >= ? AND at < ? GROUP BY 1"
            " UNION ALL SELECT contact, 'claimed', '', count(DISTINCT incident) FROM escalation_steps"
            " WHERE kind = 'claimed' AND contact IS NOT NULL AND at >= ? AND at < ? GROUP BY contact"
            " UNION ALL SELECT claimed_by, 'visit', resolution, count(*) FROM incidents"
            " WHERE claimed_by IS NOT NULL AND resolved_at >= ? AND resolved_at < ?"
            " AND resolution NOT IN ('activity_resumed', 'superseded', 'suppressed', 'fault_cleared')"
            " GROUP BY claimed_by, resolution"
            " UNION ALL SELECT contact, 'drills', '', count(*) FROM contact_drills"
            " WHERE outcome = 'answered' AND settled_at >= ? AND settled_at < ? GROUP BY contact",
            span * 5,
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    def link_id(self, incident_id: str, contact_id: str, expires_at: datetime) -> int:
        """The id of the one-tap link of this contact for this incident (created once)."""
        self._exec(
            "INSERT OR IGNORE INTO links (incident, contact, expires_at) VALUES (?, ?, ?)",
            (incident_id, contact_id, to_db_time(expires_at)),
        )
        row = self._exec(
            "SELECT id FROM links WHERE incident = ? AND contact = ?", (incident_id, contact_id)
        ).fetchone()
        return int(row[0])

    def link(self, link_id: int) -> tuple[str, str, datetime] | None:
        """(incident, contact, expires_at) of a link."""
        row = self._exec(
            "SELECT incident, contact, expires_at FROM links WHERE id = ?", (link_id,)
        ).fetchone()
        return None if row is None else (row[0], row[1], from_db_time(row[2]))

    def mark_reply_handled(self, sid: str, at: datetime, result: str = "") -> bool:
        """Record an inbound message as handled; False when it was handled before (a webhook retry)."""
        cur = self._exec(
            "INSERT OR IGNORE INTO handled_replies (sid, at, result) VALUES (?, ?, ?)",
            (sid, to_db_time(at), result),
        )
        return cur.rowcount == 1

    # -- audit -------------------------------------------------------------------------------------
    def audit(
        self,
        at: datetime,
        actor: str,
        action: str,
        *,
        household: str | None = None,
        incident: str | None = None,
        detail: Detail | None = None,
    ) -> None:
        self._exec(
            "INSERT INTO audit_log (at, actor, action, household, incident, detail) VALUES (?,?,?,?,?,?)",
            (
                to_db_time(at),
                actor,
                action,
                household,
                incident,
                json.dumps(detail or {}, ensure_ascii=False),
            ),
        )

    def audit_log(
        self, *, household: str | None = None, incident: str | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        """Oldest first (the newest ``limit``)."""
        sql = "SELECT id, at, actor, action, household, incident, detail FROM audit_log WHERE 1=1"
        args: list[Any] = []
        if household is not None:
            sql += " AND household = ?"
            args.append(household)
        if incident is not None:
            sql += " AND incident = ?"
            args.append(incident)
        rows = self._exec(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
        return [
            AuditEntry(r[0], from_db_time(r[1]), r[2], r[3], r[4], r[5], json.loads(r[6]))
            for r in reversed(rows)
        ]

    # -- chain health drills -------------------------------------------------------------------------
    def add_drill(self, run: str, contact: str, sent_at: datetime, outcome: str) -> bool:
        """One contact in one drill run; False when already there (idempotent)."""
        cur = self._exec(
            "INSERT OR IGNORE INTO contact_drills (run, contact, sent_at, outcome) VALUES (?, ?, ?, ?)",
            (run, contact, to_db_time(sent_at), outcome),
        )
        return cur.rowcount == 1

    def pending_drills(self, contacts: Sequence[str] | None = None) -> list[tuple[str, str, datetime]]:
        """(run, contact, sent at) of drills not yet answered, of ``contacts`` (all when None)."""
        sql = "SELECT run, contact, sent_at FROM contact_drills WHERE outcome = 'pending'"
        args: list[Any] = []
        if contacts is not None:
            sql += f" AND contact IN ({','.join('?' * len(contacts))})"
            args.extend(contacts)
        return [(r[0], r[1], from_db_time(r[2])) for r in self._exec(sql + " ORDER BY sent_at", args)]

    def settle_drill(self, run: str, contact: str, outcome: str, at: datetime) -> bool:
        """A pending drill gets its outcome; False when it was not pending (a repeat changes nothing)."""
        cur = self._exec(
            "UPDATE contact_drills SET outcome = ?, settled_at = ?"
            " WHERE run = ? AND contact = ? AND outcome = 'pending'",
            (outcome, to_db_time(at), run, contact),
        )
        return cur.rowcount == 1

    def last_drill_run(self) -> datetime | None:
        row = self._exec("SELECT max(sent_at) FROM contact_drills").fetchone()
        return None if row[0] is None else from_db_time(row[0])

    def drill_results(self) -> dict[str, tuple[str, datetime]]:
        """Each contact's latest drill: (outcome, sent at)."""
        rows = self._exec(
            "SELECT contact, outcome, sent_at FROM contact_drills d WHERE sent_at ="
            " (SELECT max(sent_at) FROM contact_drills WHERE contact = d.contact)"
        )
        return {r[0]: (r[1], from_db_time(r[2])) for r in rows}

    def last_audit_at(self, action: str) -> datetime | None:
        row = self._exec("SELECT max(at) FROM audit_log WHERE action = ?", (action,)).fetchone()
        return None if row[0] is None else from_db_time(row[0])


_MUTABLE = (
    "state",
    "updated_at",
    "last_activity_at",
    "wave_index",
    "next_due_at",
    "claimed_by",
    "claimed_at",
    "resolved_at",
    "resolution",
    "resolved_by",
    "note",
    "superseded_by",
    "device",
    "resumed_at",
    "activity_at",
)
_COLUMNS = (
    "id",
    "household",
    "kind",
    "severity",
    "audience",
    "episode",
    "explanation_key",
    "explanation_params",
    "snapshot",
    "opened_at",
    *_MUTABLE,
)
_SELECT = ", ".join(_COLUMNS)


def _mutable(i: Incident) -> tuple[Any, ...]:
    return (
        i.state.value,
        to_db_time(i.updated_at),
        opt_db_time(i.last_activity_at),
        i.wave_index,
        opt_db_time(i.next_due_at),
        i.claimed_by,
        opt_db_time(i.claimed_at),
        opt_db_time(i.resolved_at),
        None if i.outcome is None else i.outcome.value,
        i.resolved_by,
        i.note,
        i.superseded_by,
        i.device,
        opt_db_time(i.resumed_at),
        opt_db_time(i.activity_at),
    )


def _incident(r: Sequence[Any]) -> Incident:
    return Incident(
        id=r[0],
        household=r[1],
        kind=FindingKind(r[2]),
        severity=Severity(r[3]),
        audience=Audience(r[4]),
        episode=r[5],
        explanation_key=r[6],
        explanation_params=json.loads(r[7]),
        snapshot=decode_snapshot(r[8]),
        opened_at=from_db_time(r[9]),
        state=IncidentState(r[10]),
        updated_at=from_db_time(r[11]),
        last_activity_at=opt_time(r[12]),
        wave_index=r[13],
        next_due_at=opt_time(r[14]),
        claimed_by=r[15],
        claimed_at=opt_time(r[16]),
        resolved_at=opt_time(r[17]),
        outcome=None if r[18] is None else Outcome(r[18]),
        resolved_by=r[19],
        note=r[20],
        superseded_by=r[21],
        device=r[22],
        resumed_at=opt_time(r[23]),
        activity_at=opt_time(r[24]),
    )


def _sms(r: Sequence[Any]) -> SmsMessage:
    return SmsMessage(
        id=r[0],
        idempotency_key=r[1],
        to=r[2],
        body=r[3],
        status=SmsStatus(r[4]),
        purpose=SmsPurpose(r[5]),
        urgent=bool(r[6]),
        created_at=from_db_time(r[7]),
        updated_at=from_db_time(r[8]),
        incident=r[9],
        contact=r[10],
        provider_sid=r[11],
        attempts=r[12],
        next_attempt_at=opt_time(r[13]),
        error_code=r[14],
        error=r[15],
        channel=ContactChannel(r[16]),
    )
