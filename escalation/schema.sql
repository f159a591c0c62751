-- Escalation records, in the registry's file. Times are ISO 8601 UTC text; snapshots are JSON.
CREATE TABLE IF NOT EXISTS incidents (
    id                 TEXT PRIMARY KEY,
    household          TEXT NOT NULL,
    kind               TEXT NOT NULL,
    severity           TEXT NOT NULL,
    audience           TEXT NOT NULL,
    state              TEXT NOT NULL,
    opened_at          TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    episode            TEXT NOT NULL,
    explanation_key    TEXT NOT NULL,
    explanation_params TEXT NOT NULL,
    last_activity_at   TEXT,
    snapshot           TEXT NOT NULL,
    wave_index         INTEGER NOT NULL DEFAULT 0,
    next_due_at        TEXT,
    claimed_by         TEXT,
    claimed_at         TEXT,
    resolved_at        TEXT,
    resolution         TEXT,  -- the outcome (escalation.models.Outcome)
    resolved_by        TEXT,
    note               TEXT NOT NULL DEFAULT '',
    superseded_by      TEXT,
    device             TEXT,
    resumed_at         TEXT,
    activity_at        TEXT
);
-- Episodes, not kinds: several incidents of one household and kind may be open (the newer episode
-- supersedes an unclaimed older one). Files from before had a unique index here.
DROP INDEX IF EXISTS incidents_one_open;
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (household, kind) WHERE state != 'resolved';
CREATE INDEX IF NOT EXISTS incidents_episode ON incidents (household, kind, episode);
CREATE INDEX IF NOT EXISTS incidents_due ON incidents (next_due_at) WHERE state != 'resolved';
CREATE INDEX IF NOT EXISTS incidents_household ON incidents (household, opened_at);
CREATE TABLE IF NOT EXISTS escalation_steps (
    id         INTEGER PRIMARY KEY,
    incident   TEXT NOT NULL REFERENCES incidents(id),
    kind       TEXT NOT NULL,
    at         TEXT NOT NULL,
    wave_index INTEGER,
    contact    TEXT,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS steps_incident ON escalation_steps (incident, id);
CREATE TABLE IF NOT EXISTS sms_messages (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    to_number       TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    urgent          INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    incident        TEXT,
    contact         TEXT,
    provider_sid    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    error_code      INTEGER,
    error           TEXT NOT NULL DEFAULT '',
    channel         TEXT NOT NULL DEFAULT 'sms'  -- registry.models.ContactChannel: the queue is every channel's
);
CREATE INDEX IF NOT EXISTS sms_due ON sms_messages (status, urgent, next_attempt_at);
CREATE INDEX IF NOT EXISTS sms_sid ON sms_messages (provider_sid);
CREATE INDEX IF NOT EXISTS sms_incident ON sms_messages (incident, contact);
CREATE INDEX IF NOT EXISTS sms_contact ON sms_messages (contact, created_at);
CREATE TABLE IF NOT EXISTS links (
    id         INTEGER PRIMARY KEY,
    incident   TEXT NOT NULL,
    contact    TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    UNIQUE (incident, contact)
);
-- Inbound SMS already handled (Twilio retries a webhook with the same MessageSid): handled once.
CREATE TABLE IF NOT EXISTS handled_replies (
    sid    TEXT PRIMARY KEY,
    at     TEXT NOT NULL,
    result TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    household TEXT,
    incident  TEXT,
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_household ON audit_log (household, id);
CREATE INDEX IF NOT EXISTS audit_incident ON audit_log (incident, id);
-- Chain health drills (escalation/drills.py): a test SMS to every contact; did it get an answer?
CREATE TABLE IF NOT EXISTS contact_drills (
    run        TEXT NOT NULL,
    contact    TEXT NOT NULL,
    sent_at    TEXT NOT NULL,
    outcome    TEXT NOT NULL,  -- pending, answered, no_answer, send_failed, opted_out
    settled_at TEXT,
    PRIMARY KEY (run, contact)
);
CREATE INDEX IF NOT EXISTS drills_pending ON contact_drills (outcome, sent_at);
-- Disaster checks (安否確認, escalation/disaster/): who is known safe after an earthquake. A check is
-- requested (by the command line or the dashboard) and started, texted and ended by the alerts service,
-- on its clock; its households are the ones in scope when it started.
CREATE TABLE IF NOT EXISTS disaster_checks (
    id               TEXT PRIMARY KEY,
    organisation     TEXT,  -- NULL: every organisation
    area             TEXT,  -- NULL: every area
    requested_at     TEXT NOT NULL,
    requested_by     TEXT NOT NULL,
    started_at       TEXT,  -- NULL: requested, not started yet
    ends_at          TEXT,  -- ended by itself then
    end_requested_by TEXT,
    ended_at         TEXT,
    report           TEXT   -- JSON, once ended
);
CREATE TABLE IF NOT EXISTS disaster_households (
    check_id         TEXT NOT NULL REFERENCES disaster_checks(id),
    household        TEXT NOT NULL,
    area             TEXT NOT NULL DEFAULT '',
    lives_alone      INTEGER NOT NULL,
    needs            TEXT NOT NULL DEFAULT '',
    resident         TEXT,  -- the contact texted (NULL: nobody to text)
    texted_at        TEXT,  -- the resident's SMS queued
    last_activity_at TEXT,  -- the newest activity seen (before or after the start)
    blind            INTEGER NOT NULL DEFAULT 0,  -- gateway offline or a blind incident open: we cannot tell
    safe_at          TEXT,
    safe_by          TEXT,  -- reply, link, activity, volunteer, staff
    help_at          TEXT,  -- the resident answered 119 / 助けて
    asked_at         TEXT,  -- a volunteer was asked to look
    asked            TEXT,  -- who
    visiting         TEXT,  -- the volunteer who said they would go
    PRIMARY KEY (check_id, household)
);
CREATE TABLE IF NOT EXISTS disaster_asks (
    check_id  TEXT NOT NULL REFERENCES disaster_checks(id),
    area      TEXT NOT NULL,
    asked_at  TEXT NOT NULL,
    asked_by  TEXT NOT NULL,
    PRIMARY KEY (check_id, area)
);
CREATE TABLE IF NOT EXISTS disaster_links (
    id         INTEGER PRIMARY KEY,
    check_id   TEXT NOT NULL,
    household  TEXT NOT NULL,
    contact    TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    UNIQUE (check_id, household, contact)
);
