//! Operational tables: stored policy texts, meta key/values, and the rows of the outbox,
//! advisory locks and sweeper runs. Basic typed inserts and reads only: the workers that lease,
//! retry and sweep (issue 6) live in `cmd::outbox` / `cmd::sweeper`; here are only their atomic
//! compare-and-swap row operations. Must not implement worker logic (backoff, delivery) here.

use super::{Store, StoreError, Tx};
use rusqlite::{params, OptionalExtension, Row};
use std::collections::HashMap;

/// A policy text the store has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    /// sha256 (lower-case hex) of `source`: the `policy_version` recorded on events.
    pub sha256: String,
    /// Display name (file name or pack name).
    pub name: String,
    /// The exact policy bytes (UTF-8).
    pub source: String,
    /// When first stored (RFC 3339).
    pub first_seen: String,
}

/// State of an outbox message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxState {
    /// Waiting for delivery.
    Pending,
    /// Leased by a worker.
    Leased,
    /// Delivered.
    Delivered,
    /// Gave up after `max_attempts`.
    DeadLetter,
}

impl OutboxState {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            OutboxState::Pending => "PENDING",
            OutboxState::Leased => "LEASED",
            OutboxState::Delivered => "DELIVERED",
            OutboxState::DeadLetter => "DEAD_LETTER",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<OutboxState> {
        [
            OutboxState::Pending,
            OutboxState::Leased,
            OutboxState::Delivered,
            OutboxState::DeadLetter,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// An outbox message to enqueue (state `PENDING`, 0 attempts).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutbox {
    /// Message kind (`webhook`, `slack`, …).
    pub kind: String,
    /// Message body.
    pub payload: serde_json::Value,
    /// Attempts before dead-lettering.
    pub max_attempts: u32,
    /// Earliest delivery time (RFC 3339), `None` = now.
    pub next_attempt_at: Option<String>,
    /// Creation time (RFC 3339).
    pub created_ts: String,
    /// The audit event that caused it, if any.
    pub audit_seq: Option<u64>,
}

/// An outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Body.
    pub payload: serde_json::Value,
    /// State.
    pub state: OutboxState,
    /// Attempts so far.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Next attempt time.
    pub next_attempt_at: Option<String>,
    /// Current lease token.
    pub lease_token: Option<String>,
    /// Lease expiry.
    pub lease_expires_at: Option<String>,
    /// Last error (never a secret: callers redact).
    pub last_error: Option<String>,
    /// When the last error happened.
    pub last_error_at: Option<String>,
    /// Creation time.
    pub created_ts: String,
    /// Causing audit event.
    pub audit_seq: Option<u64>,
}

/// An advisory lock row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRow {
    /// Lock name.
    pub name: String,
    /// Holder (actor or worker id).
    pub holder: String,
    /// Fencing token.
    pub token: String,
    /// Holder's OS process id, if known.
    pub pid: Option<u32>,
    /// Acquisition time.
    pub acquired_at: String,
    /// Expiry time.
    pub expires_at: String,
}

/// A sweeper run row.
#[derive(Debug, Clone, PartialEq)]
pub struct SweeperRunRow {
    /// Row id (ignored on insert).
    pub id: i64,
    /// Start time.
    pub started_at: String,
    /// End time, `None` while running.
    pub finished_at: Option<String>,
    /// Actor id of the sweeper.
    pub actor: String,
    /// What it released (JSON array).
    pub released: serde_json::Value,
    /// What it flagged (JSON array).
    pub flagged: serde_json::Value,
}

fn enc(v: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Database(format!("cannot encode json: {e}")))
}

fn dec(what: &str, s: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(what, e.to_string()))
}

const OUTBOX_COLS: &str = "id, kind, payload, state, attempts, max_attempts, next_attempt_at, \
     lease_token, lease_expires_at, last_error, last_error_at, created_ts, audit_seq";

fn outbox_from_row(r: &Row<'_>) -> Result<OutboxRow, StoreError> {
    let id: i64 = r.get(0)?;
    let payload: String = r.get(2)?;
    let state: String = r.get(3)?;
    let what = format!("outbox row {id}");
    let audit_seq: Option<i64> = r.get(12)?;
    Ok(OutboxRow {
        id,
        kind: r.get(1)?,
        payload: dec(&what, &payload)?,
        state: OutboxState::parse(&state)
            .ok_or_else(|| StoreError::corrupt(what.clone(), format!("state `{state}`")))?,
        attempts: r.get(4)?,
        max_attempts: r.get(5)?,
        next_attempt_at: r.get(6)?,
        lease_token: r.get(7)?,
        lease_expires_at: r.get(8)?,
        last_error: r.get(9)?,
        last_error_at: r.get(10)?,
        created_ts: r.get(11)?,
        audit_seq: audit_seq.map(|s| s.max(0) as u64),
    })
}

impl Tx<'_> {
    /// Stores a policy text under its sha256 (no-op if already stored). `sha256` must be the
    /// lower-case hex sha256 of `source`'s bytes; `audit verify` checks it.
    pub fn store_policy(
        &self,
        sha256: &str,
        name: &str,
        source: &str,
        ts: &str,
    ) -> Result<(), StoreError> {
        self.w()?.execute(
            "INSERT INTO policies (sha256, name, source, first_seen) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sha256) DO NOTHING",
            params![sha256, name, source, ts],
        )?;
        Ok(())
    }

    /// Every stored policy text, by first_seen then sha256.
    pub fn policies(&self) -> Result<Vec<StoredPolicy>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sha256, name, source, first_seen FROM policies ORDER BY first_seen, sha256",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredPolicy {
                sha256: r.get(0)?,
                name: r.get(1)?,
                source: r.get(2)?,
                first_seen: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A meta value.
    pub fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a meta value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.w()?.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Enqueues an outbox message; returns its id.
    pub fn enqueue_outbox(&self, m: &NewOutbox) -> Result<i64, StoreError> {
        let conn = self.w()?;
        conn.execute(
            "INSERT INTO outbox (kind, payload, max_attempts, next_attempt_at, created_ts, audit_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                m.kind,
                enc(&m.payload)?,
                m.max_attempts,
                m.next_attempt_at,
                m.created_ts,
                m.audit_seq.map(|s| s as i64)
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// One outbox row.
    pub fn get_outbox(&self, id: i64) -> Result<Option<OutboxRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {OUTBOX_COLS} FROM outbox WHERE id = ?1"))?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(r) => outbox_from_row(r).map(Some),
            None => Ok(None),
        }
    }

    /// Outbox rows in a state (all when `None`), by id. `Some(DeadLetter)` is the dead letters.
    pub fn list_outbox(&self, state: Option<OutboxState>) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {OUTBOX_COLS} FROM outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY id"
        ))?;
        let mut rows = stmt.query([state.map(|s| s.as_str())])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(outbox_from_row(r)?);
        }
        Ok(out)
    }

    /// Inserts an advisory lock row (fails if the name is taken).
    pub fn insert_lock(&self, l: &LockRow) -> Result<(), StoreError> {
        self.w()?.execute(
            "INSERT INTO advisory_locks (name, holder, token, pid, acquired_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                l.name,
                l.holder,
                l.token,
                l.pid,
                l.acquired_at,
                l.expires_at
            ],
        )?;
        Ok(())
    }

    /// An advisory lock row by name.
    pub fn get_lock(&self, name: &str) -> Result<Option<LockRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, holder, token, pid, acquired_at, expires_at
                 FROM advisory_locks WHERE name = ?1",
                [name],
                |r| {
                    Ok(LockRow {
                        name: r.get(0)?,
                        holder: r.get(1)?,
                        token: r.get(2)?,
                        pid: r.get(3)?,
                        acquired_at: r.get(4)?,
                        expires_at: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Deletes an advisory lock row if `token` matches; returns whether it did.
    pub fn delete_lock(&self, name: &str, token: &str) -> Result<bool, StoreError> {
        let n = self.w()?.execute(
            "DELETE FROM advisory_locks WHERE name = ?1 AND token = ?2",
            params![name, token],
        )?;
        Ok(n > 0)
    }

    /// Inserts a sweeper run; returns its id.
    pub fn insert_sweeper_run(&self, s: &SweeperRunRow) -> Result<i64, StoreError> {
        let conn = self.w()?;
        conn.execute(
            "INSERT INTO sweeper_runs (started_at, finished_at, actor, released, flagged)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                s.started_at,
                s.finished_at,
                s.actor,
                enc(&s.released)?,
                enc(&s.flagged)?
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Every sweeper run, by id.
    pub fn list_sweeper_runs(&self) -> Result<Vec<SweeperRunRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, started_at, finished_at, actor, released, flagged FROM sweeper_runs ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let released: String = r.get(4)?;
            let flagged: String = r.get(5)?;
            let what = format!("sweeper run {id}");
            out.push(SweeperRunRow {
                id,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                actor: r.get(3)?,
                released: dec(&what, &released)?,
                flagged: dec(&what, &flagged)?,
            });
        }
        Ok(out)
    }
}

impl Store {
    /// Stored policies as JSON documents keyed by version, for
    /// [`crate::audit::chain::Verifier::with_policies`]. Texts that do not hash to their
    /// version, or do not parse as YAML, are left out (verify reports the former).
    pub fn policy_documents(&self) -> Result<HashMap<String, serde_json::Value>, StoreError> {
        use sha2::{Digest, Sha256};
        let mut out = HashMap::new();
        for p in self.read(|tx| tx.policies())? {
            if hex::encode(Sha256::digest(p.source.as_bytes())) != p.sha256 {
                continue;
            }
            if let Ok(v) = serde_saphyr::from_str::<serde_json::Value>(&p.source) {
                out.insert(p.sha256, v);
            }
        }
        Ok(out)
    }
}

/// Outbox worker and sweeper operations (issue 6). Every write is a compare-and-swap on the
/// row's state and lease token, so a worker whose lease was taken away (by the sweeper, or by
/// another worker after expiry) cannot complete or reschedule a row it no longer holds.
impl Tx<'_> {
    /// Leases the oldest `PENDING` row due at `now` (`next_attempt_at` null or `<= now`): sets
    /// state `LEASED`, `lease_token` and `lease_expires_at`. Returns the leased row, `None` when
    /// nothing is due. Times are RFC 3339 UTC strings (`...Z`), compared as text.
    pub fn lease_due_outbox(
        &self,
        now: &str,
        token: &str,
        lease_expires_at: &str,
        kinds: Option<&[&str]>,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let conn = self.w()?;
        let id: Option<i64> = conn
            .query_row(
                "SELECT id FROM outbox WHERE state = 'PENDING'
                   AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
                   AND (?2 IS NULL OR kind IN (SELECT value FROM json_each(?2)))
                 ORDER BY COALESCE(next_attempt_at, created_ts), id LIMIT 1",
                params![now, kinds_json(kinds)],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else { return Ok(None) };
        let n = conn.execute(
            "UPDATE outbox SET state = 'LEASED', lease_token = ?2, lease_expires_at = ?3
             WHERE id = ?1 AND state = 'PENDING'",
            params![id, token, lease_expires_at],
        )?;
        if n == 0 {
            return Ok(None);
        }
        self.get_outbox(id)
    }

    /// `LEASED` → `DELIVERED` if the row is still leased with `token`. Returns whether it was.
    pub fn complete_outbox(&self, id: i64, token: &str) -> Result<bool, StoreError> {
        let n = self.w()?.execute(
            "UPDATE outbox SET state = 'DELIVERED', attempts = attempts + 1,
                    lease_token = NULL, lease_expires_at = NULL, next_attempt_at = NULL
             WHERE id = ?1 AND state = 'LEASED' AND lease_token = ?2",
            params![id, token],
        )?;
        Ok(n > 0)
    }

    /// Records a failed attempt on a row still leased with `token`: `attempts + 1`, the error
    /// and its time; then `PENDING` again with `next_attempt_at = retry_at`, or `DEAD_LETTER`
    /// when `retry_at` is `None`. `max_attempts` is recorded (a drain may override the row's
    /// limit). Returns whether the row was still held.
    pub fn fail_outbox(
        &self,
        id: i64,
        token: &str,
        error: &str,
        error_at: &str,
        retry_at: Option<&str>,
        max_attempts: u32,
    ) -> Result<bool, StoreError> {
        let state = if retry_at.is_some() {
            OutboxState::Pending
        } else {
            OutboxState::DeadLetter
        };
        let n = self.w()?.execute(
            "UPDATE outbox SET state = ?3, attempts = attempts + 1, last_error = ?4,
                    last_error_at = ?5, next_attempt_at = ?6, max_attempts = ?7,
                    lease_token = NULL, lease_expires_at = NULL
             WHERE id = ?1 AND state = 'LEASED' AND lease_token = ?2",
            params![
                id,
                token,
                state.as_str(),
                error,
                error_at,
                retry_at,
                max_attempts.max(1)
            ],
        )?;
        Ok(n > 0)
    }

    /// Number of `PENDING` rows due at `now`.
    pub fn count_due_outbox(&self, now: &str, kinds: Option<&[&str]>) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE state = 'PENDING'
               AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
               AND (?2 IS NULL OR kind IN (SELECT value FROM json_each(?2)))",
            params![now, kinds_json(kinds)],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// `LEASED` rows whose lease expired at or before `now`, by id.
    pub fn expired_outbox_leases(&self, now: &str) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {OUTBOX_COLS} FROM outbox
             WHERE state = 'LEASED' AND lease_expires_at IS NOT NULL AND lease_expires_at <= ?1
             ORDER BY id"
        ))?;
        let mut rows = stmt.query([now])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(outbox_from_row(r)?);
        }
        Ok(out)
    }

    /// Every advisory lock, by name.
    pub fn list_locks(&self) -> Result<Vec<LockRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, holder, token, pid, acquired_at, expires_at
             FROM advisory_locks ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(LockRow {
                name: r.get(0)?,
                holder: r.get(1)?,
                token: r.get(2)?,
                pid: r.get(3)?,
                acquired_at: r.get(4)?,
                expires_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Advisory locks that expired at or before `now`, by name.
    pub fn expired_locks(&self, now: &str) -> Result<Vec<LockRow>, StoreError> {
        Ok(self
            .list_locks()?
            .into_iter()
            .filter(|l| l.expires_at.as_str() <= now)
            .collect())
    }

    /// `(seq, hash)` of the event with the largest seq whose `ts` is before `ts` (the head of
    /// the log as of that time), `None` when there is none. For the evidence export's seed.
    pub fn last_event_before(&self, ts: &str) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, hash FROM audit_log WHERE ts < ?1 ORDER BY seq DESC LIMIT 1",
                [ts],
                |r| Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get(1)?)),
            )
            .optional()?)
    }

    /// `(seq, ts)` of the event with the smallest `ts` (ties: smallest seq), `None` when the log
    /// is empty: the earliest retained event.
    pub fn earliest_event(&self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, ts FROM audit_log ORDER BY ts, seq LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get(1)?)),
            )
            .optional()?)
    }

    /// Sets the end time of a sweeper run.
    pub fn finish_sweeper_run(&self, id: i64, finished_at: &str) -> Result<(), StoreError> {
        self.w()?.execute(
            "UPDATE sweeper_runs SET finished_at = ?2 WHERE id = ?1",
            params![id, finished_at],
        )?;
        Ok(())
    }
}

/// `None` (every kind) or a JSON array of kinds for `json_each`.
fn kinds_json(kinds: Option<&[&str]>) -> Option<String> {
    kinds.map(|k| serde_json::to_string(k).unwrap_or_else(|_| "[]".into()))
}
