//! The schema as forward migrations. Migration N runs once, in its own `BEGIN IMMEDIATE`
//! transaction, then records itself in `schema_migrations` and sets `PRAGMA user_version = N`.
//! Never edit a released migration: add a new one. No timestamps are recorded (the database
//! content stays deterministic).

/// One forward migration.
pub(crate) struct Migration {
    /// Schema version this migration produces (1, 2, …; contiguous).
    pub version: i64,
    /// Short name.
    pub name: &'static str,
    /// SQL run with `execute_batch`.
    pub sql: &'static str,
}

/// The message of the append-only triggers (also checked by tests).
pub const APPEND_ONLY_MESSAGE: &str = "audit_log is append-only";

/// All migrations, in order.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "initial schema",
    sql: MIGRATION_1,
}];

/// The latest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = 1;

const MIGRATION_1: &str = r#"
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name    TEXT NOT NULL
) STRICT;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE entities (
    entity_id TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    currency  TEXT NOT NULL CHECK (length(currency) = 3)
) STRICT;

CREATE TABLE accounts (
    entity_id    TEXT NOT NULL REFERENCES entities(entity_id),
    account      TEXT NOT NULL,
    name         TEXT NOT NULL,
    always_human INTEGER NOT NULL CHECK (always_human IN (0, 1)),
    PRIMARY KEY (entity_id, account)
) STRICT;

CREATE TABLE actors (
    actor_id        TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('human', 'llm', 'engine', 'invalid')),
    identity_source TEXT NOT NULL,
    first_seen      TEXT NOT NULL,
    last_seen       TEXT NOT NULL
) STRICT;

-- Money: signed integer minor units plus an ISO 4217 code; never REAL.
CREATE TABLE entries (
    entry_id     TEXT PRIMARY KEY,
    side         TEXT NOT NULL CHECK (side IN ('GL', 'SL')),
    entity_id    TEXT NOT NULL REFERENCES entities(entity_id),
    account      TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency     TEXT NOT NULL CHECK (length(currency) = 3),
    date         TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    counterparty TEXT,
    reference    TEXT,
    status       TEXT NOT NULL DEFAULT 'UNMATCHED'
                 CHECK (status IN ('UNMATCHED', 'PROPOSED', 'MATCHED', 'EXCEPTION'))
) STRICT;
CREATE INDEX entries_status ON entries(status, entity_id);

CREATE TABLE matches (
    match_id   TEXT PRIMARY KEY,
    class      TEXT NOT NULL CHECK (class IN ('exact_match', 'fuzzy_match', 'multi_to_one')),
    state      TEXT NOT NULL
               CHECK (state IN ('PROPOSED', 'PENDING_APPROVAL', 'CONFIRMED', 'REJECTED')),
    proposer   TEXT NOT NULL,
    created_ts TEXT NOT NULL,
    updated_ts TEXT NOT NULL
) STRICT;
CREATE INDEX matches_state ON matches(state);

CREATE TABLE match_entries (
    match_id TEXT NOT NULL REFERENCES matches(match_id),
    entry_id TEXT NOT NULL REFERENCES entries(entry_id),
    PRIMARY KEY (match_id, entry_id)
) STRICT;
CREATE INDEX match_entries_entry ON match_entries(entry_id);

CREATE TABLE match_approvals (
    id       INTEGER PRIMARY KEY,
    match_id TEXT NOT NULL REFERENCES matches(match_id),
    actor_id TEXT NOT NULL,
    ts       TEXT NOT NULL,
    UNIQUE (match_id, actor_id)
) STRICT;

-- Pending T3 action requests (close/reopen period, adjustments into closed periods).
CREATE TABLE requests (
    request_id TEXT PRIMARY KEY,
    action     TEXT NOT NULL,
    payload    TEXT NOT NULL CHECK (json_valid(payload)),
    requester  TEXT NOT NULL,
    tier       TEXT NOT NULL CHECK (tier IN ('T0', 'T1', 'T2', 'T3')),
    state      TEXT NOT NULL DEFAULT 'OPEN' CHECK (state IN ('OPEN', 'EXECUTED', 'REJECTED')),
    created_ts TEXT NOT NULL
) STRICT;

CREATE TABLE request_approvals (
    id         INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES requests(request_id),
    actor_id   TEXT NOT NULL,
    ts         TEXT NOT NULL,
    UNIQUE (request_id, actor_id)
) STRICT;

CREATE TABLE closed_periods (
    entity_id TEXT NOT NULL,
    period    TEXT NOT NULL CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]'),
    closed_ts TEXT NOT NULL,
    closed_by TEXT NOT NULL,
    PRIMARY KEY (entity_id, period)
) STRICT;

-- The policy texts seen, so `audit verify` can check reason clauses against them.
CREATE TABLE policies (
    sha256     TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    name       TEXT NOT NULL,
    source     TEXT NOT NULL,
    first_seen TEXT NOT NULL
) STRICT;

-- The hash-chained audit log (docs/audit-log.md). JSON columns hold JSON text.
CREATE TABLE audit_log (
    seq            INTEGER PRIMARY KEY CHECK (seq >= 1),
    event_id       TEXT NOT NULL UNIQUE,
    ts             TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    actor_kind     TEXT NOT NULL,
    action         TEXT NOT NULL,
    tier           TEXT NOT NULL,
    decision       TEXT NOT NULL,
    reasons        TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    subject        TEXT NOT NULL,
    entity         TEXT,
    accounts       TEXT NOT NULL,
    amount         TEXT,
    currency       TEXT,
    amount_base    TEXT,
    policy_version TEXT NOT NULL,
    rationale      TEXT,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_ts ON audit_log(ts);
CREATE INDEX audit_log_event_type ON audit_log(event_type, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;

-- An insert must extend the head: this also stops INSERT OR REPLACE over an existing seq.
CREATE TRIGGER audit_log_append_at_head BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log)
  OR NEW.prev_hash IS NOT COALESCE(
        (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1),
        '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: an insert must extend the head');
END;

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL CHECK (json_valid(payload)),
    state            TEXT NOT NULL DEFAULT 'PENDING'
                     CHECK (state IN ('PENDING', 'LEASED', 'DELIVERED', 'DEAD_LETTER')),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    next_attempt_at  TEXT,
    lease_token      TEXT,
    lease_expires_at TEXT,
    last_error       TEXT,
    last_error_at    TEXT,
    created_ts       TEXT NOT NULL,
    audit_seq        INTEGER REFERENCES audit_log(seq)
) STRICT;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

CREATE VIEW dead_letters AS
    SELECT id, kind, payload, attempts, max_attempts, last_error, last_error_at, created_ts,
           audit_seq
    FROM outbox WHERE state = 'DEAD_LETTER';

CREATE TABLE advisory_locks (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    token       TEXT NOT NULL,
    pid         INTEGER,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;

CREATE TABLE sweeper_runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    actor       TEXT NOT NULL,
    released    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(released)),
    flagged     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(flagged))
) STRICT;
"#;
