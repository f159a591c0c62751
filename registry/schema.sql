-- The registry (SQLite, WAL). Times are ISO 8601 UTC text. Policies are JSON.
-- Columns added after a table's creation are in Registry.ADDED_COLUMNS (households: organisation,
-- area, lives_alone, needs; contacts: pools).
CREATE TABLE IF NOT EXISTS organisations (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    operators TEXT NOT NULL DEFAULT ''  -- contact ids, comma-separated
);
CREATE TABLE IF NOT EXISTS households (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    address_hint      TEXT NOT NULL DEFAULT '',
    time_zone         TEXT NOT NULL DEFAULT 'Asia/Tokyo',
    language          TEXT NOT NULL DEFAULT 'ja',
    night_exit_opt_in INTEGER NOT NULL DEFAULT 0,
    evening_check_opt_in INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS residents (
    household TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    note      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (household, name)
);
CREATE TABLE IF NOT EXISTS contacts (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    phone        TEXT NOT NULL,
    role         TEXT NOT NULL,
    language     TEXT NOT NULL DEFAULT 'ja',
    opted_out_at TEXT,
    weekly_cap   INTEGER,
    channels     TEXT NOT NULL DEFAULT 'sms',  -- comma-separated, in order (registry.models.ContactChannel)
    email        TEXT,
    line_user    TEXT,
    line_blocked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS contacts_phone ON contacts (phone);
-- One-time codes a contact sends to the LINE official account to link their LINE user (docs/channels.md).
CREATE TABLE IF NOT EXISTS line_link_codes (
    code       TEXT PRIMARY KEY,
    contact    TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS household_contacts (
    household TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    contact   TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (household, contact)
);
-- Family contacts (often far away): linked to the household without being in a tier; the daily digest
-- ('sms', 'email', 'none') and whether incidents' opening and closing are told (docs/community.md).
CREATE TABLE IF NOT EXISTS household_family (
    household TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    contact   TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    digest    TEXT NOT NULL DEFAULT 'none',
    incidents INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (household, contact)
);
CREATE TABLE IF NOT EXISTS policies (
    household  TEXT PRIMARY KEY REFERENCES households(id) ON DELETE CASCADE,
    policy     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS away_periods (
    id        INTEGER PRIMARY KEY,
    household TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    start     TEXT NOT NULL,
    end       TEXT NOT NULL,
    set_by    TEXT NOT NULL,
    note      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS away_household ON away_periods (household, end);
-- The care calendar: planned, recurring or dated absences (registry.models.CalendarEntry). Local
-- times 'HH:MM' and days 'YYYY-MM-DD' of the household's time zone; weekdays '1,3' (0 = Monday),
-- '' for a dated entry.
CREATE TABLE IF NOT EXISTS calendar_entries (
    id         INTEGER PRIMARY KEY,
    household  TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    label      TEXT NOT NULL DEFAULT '',
    weekdays   TEXT NOT NULL DEFAULT '',
    first_day  TEXT,
    last_day   TEXT,
    start_time TEXT NOT NULL,
    end_time   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calendar_household ON calendar_entries (household);
-- The household's gateways and devices, ids only (households file `gateways:` / `devices:`). Ingest
-- accepts events only from registered households and, when any are listed, from their gateways.
CREATE TABLE IF NOT EXISTS household_gateways (
    household TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    gateway   TEXT NOT NULL,
    PRIMARY KEY (household, gateway)
);
CREATE TABLE IF NOT EXISTS household_devices (
    household TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    device    TEXT NOT NULL,
    PRIMARY KEY (household, device)
);
-- APPI: the resident's consent to being watched, and each provision of the household's data (its
-- alerts) to a contact: who, since when, until when (NULL: still provided).
CREATE TABLE IF NOT EXISTS consents (
    household TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    given_by  TEXT NOT NULL,
    given_at  TEXT NOT NULL,
    scope     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (household, given_at)
);
CREATE TABLE IF NOT EXISTS provisions (
    household TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    contact   TEXT NOT NULL,
    since     TEXT NOT NULL,
    until     TEXT,
    PRIMARY KEY (household, contact, since)
);
-- Detection's per-household settings and what it learns from outcomes (docs/detection.md): the care
-- manager's sensitivity (registry.models.Sensitivity; no row: standard), and the incidents closed as a
-- false alarm or a real emergency, with the threshold that raised them.
CREATE TABLE IF NOT EXISTS detection_sensitivity (
    household   TEXT PRIMARY KEY REFERENCES households(id) ON DELETE CASCADE,
    sensitivity TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS detection_feedback (
    incident  TEXT PRIMARY KEY,
    household TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    closed_at TEXT NOT NULL,
    emergency INTEGER NOT NULL,
    rule      TEXT NOT NULL,
    band      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS detection_feedback_household ON detection_feedback (household, closed_at);
-- Volunteers (docs/community.md, *Volunteer pool*): when each may be asked (local times 'HH:MM' of
-- the household served; weekdays '0,1,2' with 0 = Monday) and until when one rests (REST 7 / 休み 7).
CREATE TABLE IF NOT EXISTS availability (
    contact    TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    weekdays   TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS availability_contact ON availability (contact);
CREATE TABLE IF NOT EXISTS resting (
    contact TEXT PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    until   TEXT NOT NULL,
    set_by  TEXT NOT NULL
);
