"""The registry: who is watched and who is called, in one SQLite file (WAL).

Households, residents, contacts, escalation policies and away periods. Every read returns frozen
dataclasses from :mod:`registry.models`; every write is one short transaction. Escalation keeps its
incidents in the same file (:class:`escalation.repository.EscalationRepository` extends this class),
so that a reply's opt-out and its log line commit together. Methods raise
:class:`mimamori.sqlite.DatabaseError` when the database cannot be used.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any

from mimamori.sqlite import DatabaseError, connect, from_db_time, opt_db_time, opt_time, to_db_time
from registry.codec import decode_policy, encode_policy
from registry.models import (
    Availability,
    AwayPeriod,
    CalendarEntry,
    Consent,
    Contact,
    ContactChannel,
    ContactRole,
    Digest,
    FamilyLink,
    FamilyMember,
    Feedback,
    Household,
    Language,
    Need,
    Organisation,
    Policy,
    Provision,
    Resident,
    Room,
    Sensitivity,
    Switch,
)


class Registry:
    """Typed access to the registry. The constructor does no I/O; call :meth:`open`."""

    SCHEMAS: tuple[str, ...] = ("registry",)
    """Packages whose ``schema.sql`` this file holds (a subclass adds its own tables)."""
    ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
        ("households", "evening_check_opt_in", "INTEGER NOT NULL DEFAULT 0"),
        ("contacts", "channels", "TEXT NOT NULL DEFAULT 'sms'"),
        ("contacts", "email", "TEXT"),
        ("contacts", "line_user", "TEXT"),
        ("contacts", "line_blocked", "INTEGER NOT NULL DEFAULT 0"),
        ("household_devices", "room", "TEXT"),  # registry.models.Room; NULL: inferred from the id
        ("households", "organisation", "TEXT NOT NULL DEFAULT 'default'"),
        ("households", "area", "TEXT NOT NULL DEFAULT ''"),
        ("households", "lives_alone", "INTEGER NOT NULL DEFAULT 1"),
        ("households", "needs", "TEXT NOT NULL DEFAULT ''"),
        ("contacts", "pools", "TEXT NOT NULL DEFAULT ''"),
    )
    """Columns added after a table was first created: state files from before get them on open."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._depth = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def open(self) -> None:
        try:
            db = connect(self._path, synchronous="FULL", foreign_keys=True)
            for package in self.SCHEMAS:
                db.executescript(resources.files(package).joinpath("schema.sql").read_text("utf-8"))
            _add_missing_columns(db, self.ADDED_COLUMNS)
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open {self._path}: {exc}", retryable=False) from exc
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise DatabaseError("registry is not open", retryable=False)
        return self._db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes atomically (nestable: only the outermost commits)."""
        db = self.db
        self._depth += 1
        try:
            if self._depth == 1:
                db.execute("BEGIN IMMEDIATE")
            yield
            if self._depth == 1:
                db.execute("COMMIT")
        except BaseException:
            if self._depth == 1 and db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            self._depth -= 1

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, args)
        except sqlite3.OperationalError as exc:
            raise DatabaseError(f"state query failed: {exc}", retryable="locked" in str(exc)) from exc

    # -- households, residents, contacts -----------------------------------------------------------
    def upsert_household(self, h: Household) -> None:
        self._exec(
            "INSERT INTO households (id, name, address_hint, time_zone, language, night_exit_opt_in,"
            " evening_check_opt_in, organisation, area, lives_alone, needs)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id)"
            " DO UPDATE SET name=excluded.name, address_hint=excluded.address_hint,"
            " time_zone=excluded.time_zone, language=excluded.language,"
            " night_exit_opt_in=excluded.night_exit_opt_in,"
            " evening_check_opt_in=excluded.evening_check_opt_in, organisation=excluded.organisation,"
            " area=excluded.area, lives_alone=excluded.lives_alone, needs=excluded.needs",
            (
                h.id,
                h.name,
                h.address_hint,
                h.time_zone,
                h.language.value,
                int(h.night_exit_opt_in),
                SWITCH_CODES[h.evening_check],
                h.organisation,
                h.area,
                int(h.lives_alone),
                ",".join(h.needs),
            ),
        )

    def household(self, household_id: str) -> Household | None:
        row = self._exec(SELECT_HOUSEHOLDS + " WHERE id = ?", (household_id,)).fetchone()
        return None if row is None else _household(row)

    def households(self, organisation: str | None = None, area: str | None = None) -> list[Household]:
        """Every household, or those of one organisation (and one of its areas)."""
        where, args = [], []
        if organisation is not None:
            where.append("organisation = ?")
            args.append(organisation)
        if area is not None:
            where.append("area = ?")
            args.append(area)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._exec(SELECT_HOUSEHOLDS + clause + " ORDER BY id", args)
        return [_household(r) for r in rows]

    # -- organisations -----------------------------------------------------------------------------
    def upsert_organisation(self, org: Organisation) -> None:
        self._exec(
            "INSERT INTO organisations (id, name, operators) VALUES (?, ?, ?) ON CONFLICT(id)"
            " DO UPDATE SET name=excluded.name, operators=excluded.operators",
            (org.id, org.name, ",".join(org.operators)),
        )

    def organisation(self, org_id: str) -> Organisation | None:
        row = self._exec("SELECT id, name, operators FROM organisations WHERE id = ?", (org_id,)).fetchone()
        return None if row is None else _organisation(row)

    def organisations(self) -> list[Organisation]:
        """The declared organisations (a deployment that declares none has only the default one)."""
        rows = self._exec("SELECT id, name, operators FROM organisations ORDER BY id")
        return [_organisation(r) for r in rows]

    def set_night_exit_opt_in(self, household_id: str, enabled: bool) -> None:
        self._exec("UPDATE households SET night_exit_opt_in = ? WHERE id = ?", (int(enabled), household_id))

    def set_evening_check(self, household_id: str, switch: Switch) -> None:
        code = SWITCH_CODES[switch]
        self._exec("UPDATE households SET evening_check_opt_in = ? WHERE id = ?", (code, household_id))

    def set_sensitivity(self, household_id: str, sensitivity: Sensitivity) -> None:
        """The household's detection sensitivity (standard: the row goes)."""
        if sensitivity is Sensitivity.STANDARD:
            self._exec("DELETE FROM detection_sensitivity WHERE household = ?", (household_id,))
            return
        self._exec(
            "INSERT INTO detection_sensitivity VALUES (?, ?)"
            " ON CONFLICT(household) DO UPDATE SET sensitivity = excluded.sensitivity",
            (household_id, sensitivity.value),
        )

    def sensitivity(self, household_id: str) -> Sensitivity:
        row = self._exec(
            "SELECT sensitivity FROM detection_sensitivity WHERE household = ?", (household_id,)
        ).fetchone()
        return Sensitivity.STANDARD if row is None or row[0] not in SENSITIVITIES else Sensitivity(row[0])

    def add_feedback(self, feedback: Feedback) -> None:
        """Record an outcome detection learns from (one per incident: a later close replaces it)."""
        f = feedback
        self._exec(
            "INSERT OR REPLACE INTO detection_feedback VALUES (?, ?, ?, ?, ?, ?)",
            (f.incident, f.household, to_db_time(f.closed_at), int(f.emergency), f.rule, f.band),
        )

    def clear_feedback(self, household_id: str) -> int:
        """Forget every outcome of the household detection learns from (a care manager's reset: its
        thresholds are as learned from its history again); returns how many there were."""
        return self._exec("DELETE FROM detection_feedback WHERE household = ?", (household_id,)).rowcount

    def feedback(self, household_id: str, since: datetime) -> list[Feedback]:
        """The household's outcomes closed at or after ``since``, oldest first."""
        rows = self._exec(
            "SELECT household, incident, closed_at, emergency, rule, band FROM detection_feedback"
            " WHERE household = ? AND closed_at >= ? ORDER BY closed_at, incident",
            (household_id, to_db_time(since)),
        )
        return [Feedback(h, i, from_db_time(at), bool(e), rule, band) for h, i, at, e, rule, band in rows]

    def sensitivities(self) -> dict[str, Sensitivity]:
        """Every household whose sensitivity is not standard (one read for all: detection's profiles)."""
        rows = self._exec("SELECT household, sensitivity FROM detection_sensitivity")
        return {str(h): Sensitivity(v) for h, v in rows if v in SENSITIVITIES}

    def all_feedback(self, since: datetime) -> dict[str, list[Feedback]]:
        """Every household's outcomes closed at or after ``since``, oldest first (one read for all)."""
        rows = self._exec(
            "SELECT household, incident, closed_at, emergency, rule, band FROM detection_feedback"
            " WHERE closed_at >= ? ORDER BY closed_at, incident",
            (to_db_time(since),),
        )
        found: dict[str, list[Feedback]] = {}
        for h, i, at, e, rule, band in rows:
            found.setdefault(h, []).append(Feedback(h, i, from_db_time(at), bool(e), rule, band))
        return found

    def set_residents(self, household_id: str, residents: Sequence[Resident]) -> None:
        with self.transaction():
            self._exec("DELETE FROM residents WHERE household = ?", (household_id,))
            for r in residents:
                self._exec("INSERT INTO residents VALUES (?, ?, ?)", (household_id, r.name, r.note))

    def residents(self, household_id: str) -> list[Resident]:
        rows = self._exec("SELECT household, name, note FROM residents WHERE household = ?", (household_id,))
        return [Resident(*r) for r in rows]

    def upsert_contact(self, c: Contact) -> None:
        self._exec(
            "INSERT INTO contacts (id, name, phone, role, language, opted_out_at, weekly_cap, channels,"
            " email, line_user, pools) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id)"
            " DO UPDATE SET name=excluded.name, phone=excluded.phone, role=excluded.role,"
            " language=excluded.language, weekly_cap=excluded.weekly_cap, channels=excluded.channels,"
            " email=excluded.email, line_user=excluded.line_user, pools=excluded.pools",
            (
                c.id,
                c.name,
                c.phone,
                c.role.value,
                c.language.value,
                opt_db_time(c.opted_out_at),
                c.weekly_cap,
                ",".join(c.channels),
                c.email,
                c.line_user,
                ",".join(c.pools),
            ),
        )

    def contact(self, contact_id: str) -> Contact | None:
        row = self._exec(SELECT_CONTACTS + " WHERE id = ?", (contact_id,)).fetchone()
        return None if row is None else _contact(row)

    def contacts_by_phone(self, phone: str) -> list[Contact]:
        return [_contact(r) for r in self._exec(SELECT_CONTACTS + " WHERE phone = ? ORDER BY id", (phone,))]

    def contact_by_line_user(self, user_id: str) -> Contact | None:
        row = self._exec(SELECT_CONTACTS + " WHERE line_user = ? ORDER BY id", (user_id,)).fetchone()
        return None if row is None else _contact(row)

    def set_line_user(self, contact_id: str, user_id: str | None, *, blocked: bool = False) -> None:
        """Link (or unlink: None) a contact's LINE user; ``blocked``: they unfollowed the account."""
        self._exec(
            "UPDATE contacts SET line_user = ?, line_blocked = ? WHERE id = ?",
            (user_id, int(blocked), contact_id),
        )

    def add_line_code(self, code: str, contact_id: str, expires_at: datetime) -> None:
        """A one-time code for ``contact_id`` to send to the official account (older ones stay valid)."""
        self._exec(
            "INSERT OR REPLACE INTO line_link_codes VALUES (?, ?, ?)",
            (code, contact_id, to_db_time(expires_at)),
        )

    def take_line_code(self, code: str, now: datetime) -> str | None:
        """The contact of a code not yet used nor expired; the code is used up."""
        row = self._exec(
            "SELECT contact FROM line_link_codes WHERE code = ? AND expires_at > ?", (code, to_db_time(now))
        ).fetchone()
        self._exec("DELETE FROM line_link_codes WHERE code = ? OR expires_at <= ?", (code, to_db_time(now)))
        return None if row is None else str(row[0])

    def contacts(self, household_id: str | None = None) -> list[Contact]:
        if household_id is None:
            return [_contact(r) for r in self._exec(SELECT_CONTACTS + " ORDER BY id")]
        rows = self._exec(
            SELECT_CONTACTS
            + " JOIN household_contacts hc ON hc.contact = id WHERE hc.household = ? ORDER BY id",
            (household_id,),
        )
        return [_contact(r) for r in rows]

    def pool(self, organisation: str) -> list[Contact]:
        """The volunteers in ``organisation``'s shared pool (not opted out), by id."""
        rows = self._exec(SELECT_CONTACTS + " WHERE role = 'volunteer' AND pools != '' ORDER BY id")
        found = (_contact(r) for r in rows)
        return [c for c in found if organisation in c.pools and c.opted_out_at is None]

    def set_availability(self, contact_id: str, windows: Sequence[Availability]) -> None:
        """Replace a contact's availability windows (none: may be asked any time)."""
        self._exec("DELETE FROM availability WHERE contact = ?", (contact_id,))
        for w in windows:
            self._exec(
                "INSERT INTO availability (contact, weekdays, start_time, end_time) VALUES (?, ?, ?, ?)",
                (contact_id, ",".join(map(str, w.weekdays)), _hhmm(w.start), _hhmm(w.end)),
            )

    def availability(self, contacts: Collection[str]) -> dict[str, tuple[Availability, ...]]:
        """The windows of those of ``contacts`` that have any."""
        if not contacts:
            return {}
        marks = ",".join("?" * len(contacts))
        rows = self._exec(
            "SELECT contact, weekdays, start_time, end_time FROM availability"  # noqa: S608
            f" WHERE contact IN ({marks}) ORDER BY rowid",
            list(contacts),
        )
        found: dict[str, list[Availability]] = {}
        for r in rows:
            days = tuple(int(d) for d in r[1].split(",") if d)
            found.setdefault(r[0], []).append(
                Availability(days, time.fromisoformat(r[2]), time.fromisoformat(r[3]))
            )
        return {c: tuple(ws) for c, ws in found.items()}

    def set_resting(self, contact_id: str, until: datetime | None, set_by: str) -> None:
        """Rest until ``until`` (None: back now)."""
        if until is None:
            self._exec("DELETE FROM resting WHERE contact = ?", (contact_id,))
            return
        self._exec(
            "INSERT INTO resting VALUES (?, ?, ?) ON CONFLICT(contact)"
            " DO UPDATE SET until=excluded.until, set_by=excluded.set_by",
            (contact_id, to_db_time(until), set_by),
        )

    def resting(self, contacts: Collection[str], now: datetime) -> dict[str, datetime]:
        """Those of ``contacts`` resting at ``now``, with the end of their rest."""
        if not contacts:
            return {}
        marks = ",".join("?" * len(contacts))
        rows = self._exec(
            f"SELECT contact, until FROM resting WHERE contact IN ({marks}) AND until > ?",  # noqa: S608
            [*contacts, to_db_time(now)],
        )
        return {r[0]: from_db_time(r[1]) for r in rows}

    def households_of(self, contact_id: str) -> list[str]:
        """The households a contact serves, by id."""
        rows = self._exec(
            "SELECT household FROM household_contacts WHERE contact = ? ORDER BY household", (contact_id,)
        )
        return [r[0] for r in rows]

    def link_contact(self, household_id: str, contact_id: str) -> None:
        self._exec("INSERT OR IGNORE INTO household_contacts VALUES (?, ?)", (household_id, contact_id))

    def unlink_contact(self, household_id: str, contact_id: str) -> None:
        self._exec(
            "DELETE FROM household_contacts WHERE household = ? AND contact = ?", (household_id, contact_id)
        )

    def set_opted_out(self, contact_id: str, at: datetime | None) -> None:
        """STOP / 停止 (``at``) or opting in again (None)."""
        self._exec("UPDATE contacts SET opted_out_at = ? WHERE id = ?", (opt_db_time(at), contact_id))

    def contacts_by_id(self, ids: Collection[str]) -> dict[str, Contact]:
        """The contacts with these ids (unknown ids left out), in one query per 500."""
        found: dict[str, Contact] = {}
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._exec(SELECT_CONTACTS + f" WHERE id IN ({marks})", chunk)
            found.update((c.id, c) for c in map(_contact, rows))
        return found

    def policies_of(self, households: Collection[str]) -> dict[str, Policy | None]:
        """Each household's policy (None: it has none), in one query per 500 households."""
        found: dict[str, Policy | None] = dict.fromkeys(households)
        wanted = sorted(found)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._exec(f"SELECT household, policy FROM policies WHERE household IN ({marks})", chunk)  # noqa: S608
            found.update((household, decode_policy(household, text)) for household, text in rows)
        return found

    def coverage_gaps(self, households: Collection[str] | None = None) -> list[tuple[str, str, str]]:
        """(household, contact, reason) for every policy that counts on someone who cannot be texted
        (opted out) or who is missing, and every household without a policy; of ``households`` (ids;
        all when None)."""
        gaps: list[tuple[str, str, str]] = []
        ids = sorted(households) if households is not None else [h.id for h in self.households()]
        policies = self.policies_of(ids)
        wanted = {c for p in policies.values() if p for t in p.tiers for c in t.contacts}
        wanted |= {c for p in policies.values() if p for c in p.technical}
        contacts = self.contacts_by_id(wanted)
        for household, policy in policies.items():
            if policy is None:
                gaps.append((household, "", "no escalation policy"))
                continue
            for cid in sorted({c for t in policy.tiers for c in t.contacts} | set(policy.technical)):
                contact = contacts.get(cid)
                if contact is None:
                    gaps.append((household, cid, "unknown contact"))
                elif contact.opted_out_at is not None:
                    gaps.append((household, cid, "opted out (STOP)"))
        return gaps

    # -- families ----------------------------------------------------------------------------------
    def set_family(self, household_id: str, links: Sequence[FamilyLink]) -> None:
        """Replace the household's family contacts with ``links`` (each is also linked to the household,
        so that it shows among its contacts; one no longer listed is unlinked unless its policy names it)."""
        policy = self.policy(household_id)
        named = {c for t in policy.tiers for c in t.contacts} | set(policy.technical) if policy else set()
        with self.transaction():
            before = {link.contact for link in self.family_links(household_id)}
            self._exec("DELETE FROM household_family WHERE household = ?", (household_id,))
            for link in links:
                self._exec(
                    "INSERT OR REPLACE INTO household_family VALUES (?, ?, ?, ?)",
                    (household_id, link.contact, link.digest.value, int(link.incidents)),
                )
                self.link_contact(household_id, link.contact)
            for gone in sorted(before - {link.contact for link in links} - named):
                self.unlink_contact(household_id, gone)

    def family_links(self, household_id: str) -> list[FamilyLink]:
        rows = self._exec(
            "SELECT household, contact, digest, incidents FROM household_family WHERE household = ?"
            " ORDER BY contact",
            (household_id,),
        )
        return [_family_link(r) for r in rows]

    def family_of(self, household_id: str) -> list[FamilyMember]:
        """The household's family contacts, with their digest and incident settings (whom to tell, far
        away, about the household: a digest, an incident, an indoor-climate warning)."""
        return self._family("WHERE f.household = ?", (household_id,))

    def digest_families(self) -> dict[str, list[FamilyMember]]:
        """Every household's family contacts who want a daily digest (households without any left out)."""
        found: dict[str, list[FamilyMember]] = {}
        for member in self._family("WHERE f.digest != ?", (Digest.NONE.value,)):
            found.setdefault(member.link.household, []).append(member)
        return found

    def _family(self, where: str, args: Sequence[Any]) -> list[FamilyMember]:
        columns = SELECT_CONTACTS.removeprefix("SELECT ").removesuffix(" FROM contacts")
        rows = self._exec(
            f"SELECT f.household, f.contact, f.digest, f.incidents, {columns}"  # noqa: S608 (constants)
            f" FROM household_family f JOIN contacts ON contacts.id = f.contact {where}"
            " ORDER BY f.household, f.contact",
            args,
        )
        return [FamilyMember(_family_link(r[:4]), _contact(r[4:])) for r in rows]

    # -- gateways and devices (ids only) -------------------------------------------------------------
    def set_gateways(self, household_id: str, gateways: Sequence[str]) -> None:
        self._replace_ids("household_gateways", household_id, gateways)

    def set_devices(
        self, household_id: str, devices: Sequence[str], rooms: Mapping[str, Room] | None = None
    ) -> None:
        """The household's devices, and the rooms of those whose room is given (docs/detection.md)."""
        given = rooms or {}
        with self.transaction():
            self._exec("DELETE FROM household_devices WHERE household = ?", (household_id,))
            for device in devices:
                room = given.get(device)
                self._exec(
                    "INSERT OR IGNORE INTO household_devices (household, device, room) VALUES (?, ?, ?)",
                    (household_id, device, None if room is None else room.value),
                )

    def all_device_rooms(self) -> dict[str, dict[str, Room]]:
        """Every household's given device rooms (households with none are left out)."""
        found: dict[str, dict[str, Room]] = {}
        rows = self._exec("SELECT household, device, room FROM household_devices WHERE room IS NOT NULL")
        for household, device, room in rows:
            if room in ROOMS:
                found.setdefault(str(household), {})[str(device)] = Room(room)
        return found

    def device_rooms(self, household_id: str) -> dict[str, Room]:
        """The rooms given for a household's devices (the others' are inferred from their ids)."""
        rows = self._exec(
            "SELECT device, room FROM household_devices WHERE household = ? AND room IS NOT NULL",
            (household_id,),
        )
        return {str(device): Room(room) for device, room in rows if room in ROOMS}

    def _replace_ids(self, table: str, household_id: str, ids: Sequence[str]) -> None:
        with self.transaction():
            self._exec(f"DELETE FROM {table} WHERE household = ?", (household_id,))  # noqa: S608 (constant)
            for value in ids:
                self._exec(f"INSERT OR IGNORE INTO {table} VALUES (?, ?)", (household_id, value))  # noqa: S608

    def devices(self, household_id: str) -> list[str]:
        """The registered device ids of a household (a device not among them is *new*)."""
        rows = self._exec(
            "SELECT device FROM household_devices WHERE household = ? ORDER BY device", (household_id,)
        )
        return [str(r[0]) for r in rows]

    def admission(self) -> dict[str, frozenset[str]]:
        """Every registered household → its registered gateways (empty: any gateway of it)."""
        found: dict[str, set[str]] = {h: set() for (h,) in self._exec("SELECT id FROM households")}
        for household, gateway in self._exec("SELECT household, gateway FROM household_gateways"):
            found.setdefault(household, set()).add(gateway)
        return {h: frozenset(g) for h, g in found.items()}

    # -- consent and provisions (APPI) ---------------------------------------------------------------
    def record_consent(self, consent: Consent) -> None:
        self._exec(
            "INSERT INTO consents VALUES (?, ?, ?, ?) ON CONFLICT(household, given_at)"
            " DO UPDATE SET given_by = excluded.given_by, scope = excluded.scope",
            (consent.household, consent.given_by, to_db_time(consent.given_at), consent.scope),
        )

    def consents(self, household_id: str) -> list[Consent]:
        rows = self._exec(
            "SELECT household, given_by, given_at, scope FROM consents WHERE household = ? ORDER BY given_at",
            (household_id,),
        )
        return [Consent(r[0], r[1], from_db_time(r[2]), r[3]) for r in rows]

    def set_provisions(self, household_id: str, contacts: Sequence[str], now: datetime) -> None:
        """Record that exactly ``contacts`` receive the household's alerts from ``now``: new ones open a
        provision, those no longer among them have theirs closed (history is kept)."""
        with self.transaction():
            current = {
                str(r[0])
                for r in self._exec(
                    "SELECT contact FROM provisions WHERE household = ? AND until IS NULL", (household_id,)
                )
            }
            at = to_db_time(now)
            for contact in sorted(set(contacts) - current):
                self._exec(
                    "INSERT OR IGNORE INTO provisions VALUES (?, ?, ?, NULL)", (household_id, contact, at)
                )
            for contact in sorted(current - set(contacts)):
                self._exec(
                    "UPDATE provisions SET until = ? WHERE household = ? AND contact = ? AND until IS NULL",
                    (at, household_id, contact),
                )

    def provisions(self, household_id: str) -> list[Provision]:
        rows = self._exec(
            "SELECT household, contact, since, until FROM provisions WHERE household = ?"
            " ORDER BY since, contact",
            (household_id,),
        )
        return [Provision(r[0], r[1], from_db_time(r[2]), opt_time(r[3])) for r in rows]

    # -- policies and away periods -----------------------------------------------------------------
    def set_policy(self, policy: Policy, now: datetime) -> None:
        self._exec(
            "INSERT INTO policies VALUES (?, ?, ?) ON CONFLICT(household)"
            " DO UPDATE SET policy=excluded.policy, updated_at=excluded.updated_at",
            (policy.household, encode_policy(policy), to_db_time(now)),
        )

    def policy(self, household_id: str) -> Policy | None:
        row = self._exec("SELECT policy FROM policies WHERE household = ?", (household_id,)).fetchone()
        return None if row is None else decode_policy(household_id, row[0])

    def add_away(self, household_id: str, start: datetime, end: datetime, set_by: str, note: str = "") -> int:
        if end <= start:
            raise ValueError("an away period ends after it starts")
        cur = self._exec(
            "INSERT INTO away_periods (household, start, end, set_by, note) VALUES (?, ?, ?, ?, ?)",
            (household_id, to_db_time(start), to_db_time(end), set_by, note),
        )
        return int(cur.lastrowid or 0)

    def remove_away(self, away_id: int) -> None:
        self._exec("DELETE FROM away_periods WHERE id = ?", (away_id,))

    def away_periods(
        self, household_id: str | None = None, *, now: datetime | None = None
    ) -> list[AwayPeriod]:
        """Away periods (of one household or all), only those not yet expired when ``now`` is given."""
        sql = "SELECT id, household, start, end, set_by, note FROM away_periods WHERE 1=1"
        args: list[Any] = []
        if household_id is not None:
            sql += " AND household = ?"
            args.append(household_id)
        if now is not None:
            sql += " AND end > ?"
            args.append(to_db_time(now))
        rows = self._exec(sql + " ORDER BY start", args)
        return [AwayPeriod(r[0], r[1], from_db_time(r[2]), from_db_time(r[3]), r[4], r[5]) for r in rows]

    # -- care calendar -----------------------------------------------------------------------------
    def add_calendar_entry(self, entry: CalendarEntry) -> int:
        """Store ``entry`` (its id is ignored) and return its new id."""
        cur = self._exec(
            "INSERT INTO calendar_entries (household, label, weekdays, first_day, last_day, start_time,"
            " end_time) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                entry.household,
                entry.label,
                ",".join(str(d) for d in entry.weekdays),
                None if entry.first_day is None else entry.first_day.isoformat(),
                None if entry.last_day is None else entry.last_day.isoformat(),
                entry.start.strftime("%H:%M"),
                entry.end.strftime("%H:%M"),
            ),
        )
        return int(cur.lastrowid or 0)

    def remove_calendar_entry(self, entry_id: int) -> None:
        self._exec("DELETE FROM calendar_entries WHERE id = ?", (entry_id,))

    def set_calendar(self, household_id: str, entries: Sequence[CalendarEntry]) -> None:
        """Replace the household's calendar with ``entries`` (the households import); the same
        entries again change nothing (ids included)."""
        if _sans_ids(self.calendar(household_id)) == _sans_ids(entries):
            return
        with self.transaction():
            self._exec("DELETE FROM calendar_entries WHERE household = ?", (household_id,))
            for entry in entries:
                self.add_calendar_entry(entry)

    def calendar(self, household_id: str) -> list[CalendarEntry]:
        """The household's calendar: weekly entries first, then dated ones by first day."""
        return _calendar_entries(
            self._exec(
                "SELECT id, household, label, weekdays, first_day, last_day, start_time, end_time"
                " FROM calendar_entries WHERE household = ? ORDER BY first_day IS NOT NULL, first_day, id",
                (household_id,),
            )
        )

    def calendars(self) -> dict[str, list[CalendarEntry]]:
        """Every household's calendar (households without one left out), in one query."""
        found: dict[str, list[CalendarEntry]] = {}
        rows = self._exec(
            "SELECT id, household, label, weekdays, first_day, last_day, start_time, end_time"
            " FROM calendar_entries ORDER BY household, first_day IS NOT NULL, first_day, id"
        )
        for entry in _calendar_entries(rows):
            found.setdefault(entry.household, []).append(entry)
        return found


def _calendar_entries(rows: Iterable[Sequence[Any]]) -> list[CalendarEntry]:
    return [
        CalendarEntry(
            r[0],
            r[1],
            r[2],
            time.fromisoformat(r[6]),
            time.fromisoformat(r[7]),
            tuple(int(d) for d in r[3].split(",") if d),
            None if r[4] is None else date.fromisoformat(r[4]),
            None if r[5] is None else date.fromisoformat(r[5]),
        )
        for r in rows
    ]


def _sans_ids(entries: Sequence[CalendarEntry]) -> list[tuple[Any, ...]]:
    return sorted(
        (e.label, e.weekdays, e.first_day or date.min, e.last_day or date.min, e.start, e.end)
        for e in entries
    )


# the evening check's column: 0 auto (what an opt-in never ticked now means), 1 on, -1 off
SWITCH_CODES = {Switch.AUTO: 0, Switch.ON: 1, Switch.OFF: -1}
SENSITIVITIES = frozenset(s.value for s in Sensitivity)
SWITCHES = {code: switch for switch, code in SWITCH_CODES.items()}
ROOMS = frozenset(room.value for room in Room)


def _hhmm(t: time) -> str:
    return t.isoformat("minutes")


def _add_missing_columns(db: sqlite3.Connection, columns: Sequence[tuple[str, str, str]]) -> None:
    for table, column, decl in columns:
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")


SELECT_HOUSEHOLDS = (
    "SELECT id, name, address_hint, time_zone, language, night_exit_opt_in, evening_check_opt_in,"
    " organisation, area, lives_alone, needs FROM households"
)
SELECT_CONTACTS = (
    "SELECT id, name, phone, role, language, opted_out_at, weekly_cap, channels, email, line_user,"
    " line_blocked, pools FROM contacts"
)
"""Explicit columns: a state file whose columns were added later has them in another order."""


def _household(r: Sequence[Any]) -> Household:
    return Household(
        r[0],
        r[1],
        r[2],
        r[3],
        Language(r[4]),
        bool(r[5]),
        SWITCHES.get(r[6], Switch.AUTO),
        r[7],
        r[8],
        bool(r[9]),
        tuple(Need(n) for n in r[10].split(",") if n),
    )


def _family_link(r: Sequence[Any]) -> FamilyLink:
    return FamilyLink(r[0], r[1], Digest(r[2]) if r[2] in DIGESTS else Digest.NONE, bool(r[3]))


DIGESTS = frozenset(d.value for d in Digest)


def _organisation(r: Sequence[Any]) -> Organisation:
    return Organisation(r[0], r[1], tuple(c for c in r[2].split(",") if c))


def _contact(r: Sequence[Any]) -> Contact:
    channels = tuple(ContactChannel(c) for c in r[7].split(",") if c) or (ContactChannel.SMS,)
    return Contact(
        r[0],
        r[1],
        r[2],
        ContactRole(r[3]),
        Language(r[4]),
        opt_time(r[5]),
        r[6],
        channels,
        r[8],
        r[9],
        bool(r[10]),
        tuple(o for o in r[11].split(",") if o),
    )
