//! `closegate-engine sweeper run`: the recovery sweeper. In one transaction it releases expired
//! advisory locks, releases expired outbox leases held by crashed workers (each counts as a
//! failed attempt: back to PENDING, or DEAD_LETTER at the limit, with an OUTBOX_DELIVERY event),
//! flags EXCEPTION/UNMATCHED entries older than N business days for escalation, and records the
//! run (a `sweeper_runs` row and a SWEEPER_RUN audit event naming the actor).
//!
//! [`sweep`] takes the clock as a parameter; only [`run`] reads the wall clock (or `--now`).
//! Must not delete anything but expired lock rows.

use super::outbox::{append_worker_event, parse_now, policy_in_force, PolicyInForce};
use crate::audit::event::{EventSubject, EventType, NewEvent};
use crate::cli::{Cli, Format, SweeperArgs, SweeperCommand};
use crate::evidence::notify::{self, Transition};
use crate::exit::ExitStatus;
use crate::gate::request::Actor;
use crate::store::{EntryStatus, Store, StoreError};
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use serde_json::{json, Value};

/// Business days (Mon-Fri) after `from` up to and including `to` (0 when `to <= from`).
pub fn business_days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    let mut n = 0;
    let mut d = from;
    while d < to {
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            n += 1;
        }
    }
    n
}

/// What one sweep did.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepReport {
    /// The sweeper run id.
    pub run_id: i64,
    /// Start time.
    pub started_at: String,
    /// End time.
    pub finished_at: String,
    /// Released items.
    pub released: Vec<Value>,
    /// Flagged items.
    pub flagged: Vec<Value>,
    /// Seq of the SWEEPER_RUN event.
    pub event_seq: u64,
}

/// Escalation age when neither `--aged-days` nor the policy's `exceptions` key sets one.
pub const DEFAULT_AGED_DAYS: u32 = 5;

/// One sweep at `clock()`, by `actor`, flagging open exceptions older than `aged_days` business
/// days.
pub fn sweep(
    store: &mut Store,
    policy: &PolicyInForce,
    clock: &dyn Fn() -> DateTime<Utc>,
    actor: &str,
    aged_days: u32,
) -> Result<SweepReport, StoreError> {
    let started = clock();
    store.transaction(|tx| {
        let now = clock();
        let now_s = notify::ts(now);
        let mut released = Vec::new();
        for l in tx.expired_locks(&now_s)? {
            if tx.delete_lock(&l.name, &l.token)? {
                released.push(json!({
                    "kind": "advisory_lock", "name": l.name, "holder": l.holder, "pid": l.pid,
                    "acquired_at": l.acquired_at, "expired_at": l.expires_at,
                }));
            }
        }
        for row in tx.expired_outbox_leases(&now_s)? {
            let Some(token) = row.lease_token.clone() else {
                continue;
            };
            let attempt = row.attempts + 1;
            let expired = row.lease_expires_at.clone().unwrap_or_default();
            let error = format!("lease expired at {expired}: worker presumed crashed");
            let dead = attempt >= row.max_attempts;
            let retry_at = (!dead).then(|| now_s.clone());
            if !tx.fail_outbox(
                row.id,
                &token,
                &error,
                &now_s,
                retry_at.as_deref(),
                row.max_attempts,
            )? {
                continue;
            }
            let t = if dead {
                Transition::DeadLetter {
                    error: error.clone(),
                }
            } else {
                Transition::Retry {
                    error: error.clone(),
                    next_attempt_at: now_s.clone(),
                }
            };
            let ev =
                notify::transition_event(&row, &t, attempt, actor, now, &policy.policy.sha256);
            append_worker_event(tx, policy, ev)?;
            released.push(json!({
                "kind": "outbox_lease", "outbox_id": row.id, "outbox_kind": row.kind,
                "lease_expired_at": expired, "attempt": attempt,
                "new_state": if dead { "DEAD_LETTER" } else { "PENDING" },
            }));
        }
        let mut flagged = Vec::new();
        let mut flagged_ids = Vec::new();
        let today = now.date_naive();
        for status in [EntryStatus::Exception, EntryStatus::Unmatched] {
            for e in tx.list_entries(status)? {
                let age = business_days_between(e.date, today);
                if age > aged_days {
                    flagged_ids.push(e.entry_id.clone());
                    flagged.push(json!({
                        "kind": "aged_exception", "entry_id": e.entry_id, "status": status.as_str(),
                        "entity": e.entity, "account": e.account, "date": e.date.to_string(),
                        "business_days_open": age,
                    }));
                }
            }
        }
        flagged_ids.sort();
        let run_id = tx.insert_sweeper_run(&crate::store::SweeperRunRow {
            id: 0,
            started_at: notify::ts(started),
            finished_at: None,
            actor: actor.to_string(),
            released: Value::Array(released.clone()),
            flagged: Value::Array(flagged.clone()),
        })?;
        let locks = released
            .iter()
            .filter(|r| r["kind"] == "advisory_lock")
            .count();
        let ev = NewEvent {
            event_id: String::new(),
            ts: now_s.clone(),
            actor_id: actor.to_string(),
            actor_kind: "engine".to_string(),
            action: "sweeper_run".to_string(),
            tier: "T0".to_string(),
            decision: "allow".to_string(),
            reasons: Vec::new(),
            event_type: EventType::SweeperRun,
            subject: EventSubject {
                match_id: None,
                entry_ids: flagged_ids,
                request_id: None,
            },
            entity: None,
            accounts: Vec::new(),
            amount: None,
            currency: None,
            amount_base: None,
            policy_version: policy.policy.sha256.clone(),
            rationale: Some(format!(
                "sweeper run #{run_id}: released {locks} expired lock(s) and {} expired outbox lease(s); flagged {} exception(s) open more than {aged_days} business day(s)",
                released.len() - locks,
                flagged.len()
            )),
        };
        let event = append_worker_event(tx, policy, ev)?;
        let finished = notify::ts(clock());
        tx.finish_sweeper_run(run_id, &finished)?;
        Ok(SweepReport {
            run_id,
            started_at: notify::ts(started),
            finished_at: finished,
            released,
            flagged,
            event_seq: event.seq,
        })
    })
}

/// Runs `sweeper …`.
pub fn run(cli: &Cli, args: &SweeperArgs) -> Result<ExitStatus> {
    let SweeperCommand::Run {
        actor,
        aged_days,
        format,
        now,
    } = &args.command;
    let fixed = parse_now(now.as_deref())?;
    if Actor::parse(actor).is_none() {
        bail!("--actor `{actor}` is not an actor id (`engine:<name>`)");
    }
    let policy = match policy_in_force(cli) {
        Ok(p) => p,
        Err(status) => return Ok(status),
    };
    let mut store = Store::open_existing(&cli.db())?;
    let clock = move || fixed.unwrap_or_else(Utc::now);
    let aged_days = aged_days.unwrap_or_else(|| {
        policy
            .policy
            .exceptions
            .as_ref()
            .map_or(DEFAULT_AGED_DAYS, |x| x.escalate_after_business_days)
    });
    let r = sweep(&mut store, &policy, &clock, actor, aged_days)
        .with_context(|| format!("cannot run the sweeper on `{}`", cli.db().display()))?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "run_id": r.run_id, "started_at": r.started_at, "finished_at": r.finished_at,
                "actor": actor, "released": r.released, "flagged": r.flagged, "event_seq": r.event_seq,
            }))?
        ),
        Format::Text => {
            if !cli.quiet {
                println!(
                    "sweeper run #{}: released {}, flagged {} (audit seq {})",
                    r.run_id,
                    r.released.len(),
                    r.flagged.len(),
                    r.event_seq
                );
                for x in &r.released {
                    println!("  released {x}");
                }
            }
        }
    }
    Ok(ExitStatus::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn business_days_skip_weekends() {
        // Fri 2026-05-29 -> Mon 2026-06-01: one business day.
        assert_eq!(business_days_between(d("2026-05-29"), d("2026-06-01")), 1);
        assert_eq!(business_days_between(d("2026-05-25"), d("2026-06-01")), 5);
        assert_eq!(business_days_between(d("2026-06-01"), d("2026-05-25")), 0);
    }
}
