//! Audit-log storage: append at the head inside the caller's transaction, read the head, stream
//! events in seq order (owned, or borrowed for the verifier's hot path), tail. Must not update
//! or delete audit rows (the triggers would refuse anyway).

use super::{StoreError, Tx};
use crate::audit::chain::{self, EventRef, Fragment, PreparedEvent, Spans, Verifier, VerifyReport};
use crate::audit::event::{AuditEvent, EventSubject, EventType, NewEvent};
use crate::gate::decision::Reason;
use rusqlite::types::ValueRef;
use rusqlite::{params, Row};
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::sync::mpsc;

const COLUMNS: &str = "seq, event_id, ts, actor_id, actor_kind, action, tier, decision, reasons, \
     event_type, subject, entity, accounts, amount, currency, amount_base, policy_version, \
     rationale, prev_hash, hash";

fn text<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r str, String> {
    match row.get_ref(i) {
        Ok(ValueRef::Text(t)) => std::str::from_utf8(t).map_err(|_| col_err(i, "not utf-8")),
        Ok(_) => Err(col_err(i, "not text")),
        Err(e) => Err(e.to_string()),
    }
}

fn opt_text<'r>(row: &'r Row<'_>, i: usize) -> Result<Option<&'r str>, String> {
    match row.get_ref(i) {
        Ok(ValueRef::Null) => Ok(None),
        _ => text(row, i).map(Some),
    }
}

fn col_err(i: usize, what: &str) -> String {
    let name = COLUMNS.split(", ").nth(i).unwrap_or("?");
    format!("column `{name}` is {what}")
}

fn seq_of(row: &Row<'_>) -> Result<u64, String> {
    match row.get_ref(0) {
        Ok(ValueRef::Integer(n)) if n >= 1 => Ok(n as u64),
        _ => Err("column `seq` is not a positive integer".into()),
    }
}

/// A borrowed event view straight from a row (no copies of the text columns).
/// The JSON columns are taken as stored (canonical JSON by construction of `append_event`) and
/// hashed verbatim; the verifier parses them only to check reasons or to explain a mismatch.
fn event_ref<'r>(row: &'r Row<'_>) -> Result<EventRef<'r>, String> {
    let reasons = Fragment::Raw(text(row, 8)?);
    let subject = Fragment::Raw(text(row, 10)?);
    let accounts = Fragment::Raw(text(row, 12)?);
    Ok(EventRef {
        seq: seq_of(row)?,
        event_id: text(row, 1)?,
        ts: text(row, 2)?,
        actor_id: text(row, 3)?,
        actor_kind: text(row, 4)?,
        action: text(row, 5)?,
        tier: text(row, 6)?,
        decision: text(row, 7)?,
        reasons,
        event_type: text(row, 9)?,
        subject,
        entity: opt_text(row, 11)?,
        accounts,
        amount: opt_text(row, 13)?,
        currency: opt_text(row, 14)?,
        amount_base: opt_text(row, 15)?,
        policy_version: text(row, 16)?,
        rationale: opt_text(row, 17)?,
        prev_hash: text(row, 18)?,
        hash: text(row, 19)?,
    })
}

/// An owned event from a row.
fn event_owned(row: &Row<'_>) -> Result<AuditEvent, StoreError> {
    let seq = seq_of(row).map_err(|m| StoreError::corrupt("audit event", m))?;
    let bad = |m: String| StoreError::corrupt(format!("audit event seq {seq}"), m);
    let t = |i| text(row, i).map(str::to_string).map_err(bad);
    let o = |i| opt_text(row, i).map(|v| v.map(str::to_string)).map_err(bad);
    let reasons: Vec<Reason> =
        serde_json::from_str(&t(8)?).map_err(|e| bad(format!("column `reasons`: {e}")))?;
    let subject: EventSubject =
        serde_json::from_str(&t(10)?).map_err(|e| bad(format!("column `subject`: {e}")))?;
    let accounts: Vec<String> =
        serde_json::from_str(&t(12)?).map_err(|e| bad(format!("column `accounts`: {e}")))?;
    let et = t(9)?;
    let event_type =
        EventType::parse(&et).ok_or_else(|| bad(format!("unknown event type `{et}`")))?;
    Ok(AuditEvent {
        seq,
        body: NewEvent {
            event_id: t(1)?,
            ts: t(2)?,
            actor_id: t(3)?,
            actor_kind: t(4)?,
            action: t(5)?,
            tier: t(6)?,
            decision: t(7)?,
            reasons,
            event_type,
            subject,
            entity: o(11)?,
            accounts,
            amount: o(13)?,
            currency: o(14)?,
            amount_base: o(15)?,
            policy_version: t(16)?,
            rationale: o(17)?,
        },
        prev_hash: t(18)?,
        hash: t(19)?,
    })
}

impl Tx<'_> {
    /// Appends one event at the head of the chain (reads the head and inserts in this
    /// transaction) and returns it chained. Use inside [`super::Store::transaction`], together
    /// with the state change the event records.
    pub fn append_event(&self, ev: NewEvent) -> Result<AuditEvent, StoreError> {
        let conn = self.w()?;
        let (seq, prev) = match self.audit_head()? {
            Some((s, h)) => (s + 1, h),
            None => (1, chain::GENESIS_PREV_HASH.to_string()),
        };
        let e = chain::link(seq, &prev, ev);
        let b = &e.body;
        let (reasons, subject, accounts) = chain::canonical_columns(b);
        let mut stmt = conn.prepare_cached(&format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
        ))?;
        stmt.execute(params![
            e.seq as i64,
            b.event_id,
            b.ts,
            b.actor_id,
            b.actor_kind,
            b.action,
            b.tier,
            b.decision,
            reasons,
            b.event_type.as_str(),
            subject,
            b.entity,
            accounts,
            b.amount,
            b.currency,
            b.amount_base,
            b.policy_version,
            b.rationale,
            e.prev_hash,
            e.hash,
        ])?;
        Ok(e)
    }

    /// The head `(seq, hash)`, `None` when the log is empty.
    pub fn audit_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?;
        let mut rows = stmt.query([])?;
        match rows.next()? {
            Some(r) => {
                let seq: i64 = r.get(0)?;
                Ok(Some((seq.max(0) as u64, r.get(1)?)))
            }
            None => Ok(None),
        }
    }

    /// Number of events.
    pub fn count_events(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// One event by seq.
    pub fn get_event(&self, seq: u64) -> Result<Option<AuditEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM audit_log WHERE seq = ?1"))?;
        let mut rows = stmt.query([seq as i64])?;
        match rows.next()? {
            Some(r) => event_owned(r).map(Some),
            None => Ok(None),
        }
    }

    /// The last `n` events, oldest first.
    pub fn tail(&self, n: u64) -> Result<Vec<AuditEvent>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM (SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?1) ORDER BY seq"
        ))?;
        let mut rows = stmt.query([n.min(i64::MAX as u64) as i64])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(event_owned(r)?);
        }
        Ok(out)
    }

    /// Streams every event with `seq >= from_seq` in seq order to `f` (stops at the first `Err`).
    pub fn for_each_event<E>(
        &self,
        from_seq: u64,
        mut f: impl FnMut(AuditEvent) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<StoreError>,
    {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq >= ?1 ORDER BY seq"
            ))
            .map_err(StoreError::from)?;
        let mut rows = stmt
            .query([from_seq.min(i64::MAX as u64) as i64])
            .map_err(StoreError::from)?;
        while let Some(r) = rows.next().map_err(StoreError::from)? {
            f(event_owned(r)?)?;
        }
        Ok(())
    }

    /// Feeds the whole log, in seq order, through `verifier`, after checking every stored policy
    /// text against its sha256. Rows that cannot be read become `unparseable` problems.
    ///
    /// Two threads: this one steps SQLite and builds each event's canonical bytes into a batch
    /// arena; a worker owning the verifier hashes and checks them. Batches are recycled, so the
    /// steady state allocates nothing per event.
    pub fn verify(&self, mut verifier: Verifier) -> Result<VerifyReport, StoreError> {
        for p in self.policies()? {
            let actual = hex::encode(Sha256::digest(p.source.as_bytes()));
            if actual != p.sha256 {
                verifier.add_problem(
                    None,
                    chain::ProblemKind::PolicyTampered,
                    format!(
                        "policy text `{}` recorded as version `{}` hashes to `{actual}`",
                        p.name, p.sha256
                    ),
                );
            }
        }
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq"))?;
        let mut rows = stmt.query([])?;
        std::thread::scope(|scope| {
            let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(4);
            let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
            let worker = scope.spawn(move || {
                for batch in full_rx {
                    batch.feed(&mut verifier);
                    // The reader may have stopped; then the batch is just dropped.
                    let _ = empty_tx.send(batch);
                }
                verifier
            });
            let read = (|| {
                let mut batch = Batch::default();
                while let Some(r) = rows.next()? {
                    batch.push(r);
                    if batch.items.len() >= BATCH_EVENTS {
                        let next = empty_rx.try_recv().unwrap_or_default();
                        if full_tx
                            .send(std::mem::replace(&mut batch, next.cleared()))
                            .is_err()
                        {
                            break;
                        }
                    }
                }
                if !batch.items.is_empty() {
                    let _ = full_tx.send(batch);
                }
                Ok::<_, StoreError>(())
            })();
            drop(full_tx);
            let verifier = worker
                .join()
                .map_err(|_| StoreError::Database("the verifier thread panicked".into()))?;
            read?;
            Ok(verifier.finish())
        })
    }
}

/// Events per batch handed to the verifier thread.
const BATCH_EVENTS: usize = 2048;

/// One event of a batch: ranges into the batch arena.
enum Item {
    Event {
        seq: u64,
        prev_hash: Range<usize>,
        hash: Range<usize>,
        policy_version: Range<usize>,
        canonical: Range<usize>,
        spans: Spans,
    },
    Unparseable {
        seq: Option<u64>,
        hash: Option<String>,
        message: String,
    },
}

/// Prepared events and the arena holding their bytes.
#[derive(Default)]
struct Batch {
    arena: Vec<u8>,
    items: Vec<Item>,
}

impl Batch {
    fn cleared(mut self) -> Batch {
        self.arena.clear();
        self.items.clear();
        self
    }

    fn put(&mut self, s: &str) -> Range<usize> {
        let start = self.arena.len();
        self.arena.extend_from_slice(s.as_bytes());
        start..self.arena.len()
    }

    fn push(&mut self, r: &Row<'_>) {
        match event_ref(r) {
            Ok(ev) => {
                let prev_hash = self.put(ev.prev_hash);
                let hash = self.put(ev.hash);
                let policy_version = self.put(ev.policy_version);
                let start = self.arena.len();
                let spans = chain::canonical_json_spans(&ev, &mut self.arena);
                self.items.push(Item::Event {
                    seq: ev.seq,
                    prev_hash,
                    hash,
                    policy_version,
                    canonical: start..self.arena.len(),
                    spans,
                });
            }
            Err(message) => self.items.push(Item::Unparseable {
                seq: seq_of(r).ok(),
                hash: text(r, 19).ok().map(str::to_string),
                message,
            }),
        }
    }

    fn feed(&self, v: &mut Verifier) {
        let text = |r: &Range<usize>| {
            self.arena
                .get(r.clone())
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default()
        };
        for item in &self.items {
            match item {
                Item::Event {
                    seq,
                    prev_hash,
                    hash,
                    policy_version,
                    canonical,
                    spans,
                } => v.feed_prepared(&PreparedEvent {
                    seq: *seq,
                    prev_hash: text(prev_hash),
                    hash: text(hash),
                    policy_version: text(policy_version),
                    canonical: self.arena.get(canonical.clone()).unwrap_or_default(),
                    spans: spans.clone(),
                }),
                Item::Unparseable { seq, hash, message } => {
                    v.feed_unparseable(*seq, hash.as_deref(), message)
                }
            }
        }
    }
}
