//! `closegate-engine outbox drain`: the outbox worker. Leases each due `PENDING` row with a
//! fresh token and an expiry, delivers it over HTTP (Slack Block Kit or generic JSON), and
//! completes it with a compare-and-swap on the token; a failure is retried with exponential
//! backoff and, at the attempt limit, dead-lettered. Every state transition is appended to the
//! audit log in the same transaction as the row change.
//!
//! The worker logic ([`drain_pass`]) takes the clock and the transport as parameters, so tests
//! (and `--now`) drive it deterministically; only [`run`] reads the wall clock and the
//! environment. Webhook URLs are secrets: they are never printed, never put in an error or in
//! `last_error` (errors are built without the URL and redacted again).

use crate::audit::event::{AuditEvent, NewEvent};
use crate::cli::{Cli, OutboxArgs, OutboxCommand};
use crate::evidence::notify::{self, Transition, OUTBOX_ACTOR};
use crate::exit::ExitStatus;
use crate::policy::model::Policy;
use crate::store::{OutboxRow, Store, StoreError, Tx};
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, Utc};
use std::time::Duration as StdDuration;

/// Identity source recorded for the engine's own workers.
pub const WORKER_IDENTITY_SOURCE: &str = "engine-worker";

/// The policy in force for the events a worker records: display name, text, validated policy.
pub struct PolicyInForce {
    /// Display name.
    pub name: String,
    /// The text (stored once per version so `audit verify` can check clauses).
    pub src: String,
    /// The policy.
    pub policy: Policy,
}

/// Resolves and loads the policy (exit status on failure, already reported).
pub fn policy_in_force(cli: &Cli) -> Result<PolicyInForce, ExitStatus> {
    let loaded = super::load_policy(cli.policy.as_deref())?;
    Ok(PolicyInForce {
        src: loaded.text(),
        name: loaded.name,
        policy: loaded.policy,
    })
}

/// Appends a worker's event (records the actor and the policy text first), with the engine's
/// event id scheme `evt-<seq>`.
pub fn append_worker_event(
    tx: &Tx<'_>,
    p: &PolicyInForce,
    mut ev: NewEvent,
) -> Result<AuditEvent, StoreError> {
    tx.store_policy(&p.policy.sha256, &p.name, &p.src, &ev.ts)?;
    tx.touch_actor(&ev.actor_id, &ev.actor_kind, WORKER_IDENTITY_SOURCE, &ev.ts)?;
    let next = tx.audit_head()?.map(|(seq, _)| seq).unwrap_or(0) + 1;
    ev.event_id = format!("evt-{next:010}");
    tx.append_event(ev)
}

/// Parses `--now`, or returns `None`.
pub fn parse_now(now: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    now.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .with_context(|| format!("--now `{s}` is not an RFC 3339 time"))
    })
    .transpose()
}

/// A fresh lease token: sha256 of the pid, the wall-clock nanoseconds, a process counter and
/// `salt`, 32 hex digits. Unique enough for a compare-and-swap; never reused.
pub fn new_token(salt: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let pre = format!("{}:{nanos}:{n}:{salt}", std::process::id());
    hex::encode(Sha256::digest(pre.as_bytes()))
        .get(..32)
        .unwrap_or_default()
        .to_string()
}

use crate::engine::HITL_KIND;

/// The transport: delivers one row, or says why not (the error must hold no secret).
pub trait Deliver {
    /// Delivers `row`.
    fn deliver(&mut self, row: &OutboxRow) -> std::result::Result<(), String>;

    /// The kinds this transport has a target for (`None`: every kind). Rows of other kinds
    /// stay PENDING for a worker that can deliver them, instead of burning their attempts.
    fn kinds(&self) -> Option<Vec<&'static str>> {
        None
    }
}

/// Drain settings.
#[derive(Debug, Clone)]
pub struct DrainOptions {
    /// Attempt limit overriding the row's own.
    pub max_attempts: Option<u32>,
    /// Lease length.
    pub lease: Duration,
    /// First backoff step, seconds.
    pub backoff_secs: u64,
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Rows leased.
    pub leased: u64,
    /// Rows delivered.
    pub delivered: u64,
    /// Failed attempts rescheduled.
    pub retried: u64,
    /// Rows dead-lettered.
    pub dead_lettered: u64,
    /// Completions refused because the lease was lost (taken by the sweeper).
    pub lost_leases: u64,
}

/// One pass: leases, one at a time, at most as many rows as are due at the pass's start, and
/// attempts each once. `clock` gives "now" for each step.
pub fn drain_pass(
    store: &mut Store,
    policy: &PolicyInForce,
    transport: &mut dyn Deliver,
    clock: &dyn Fn() -> DateTime<Utc>,
    opts: &DrainOptions,
) -> Result<PassReport, StoreError> {
    let mut rep = PassReport::default();
    let kinds = transport.kinds();
    let kinds = kinds.as_deref();
    let due = store.read(|tx| tx.count_due_outbox(&notify::ts(clock()), kinds))?;
    for _ in 0..due {
        let now = clock();
        let token = new_token(&notify::ts(now));
        let until = notify::ts(now + opts.lease);
        let leased = store.transaction(|tx| {
            let Some(row) = tx.lease_due_outbox(&notify::ts(now), &token, &until, kinds)? else {
                return Ok::<_, StoreError>(None);
            };
            let max = opts.max_attempts.unwrap_or(row.max_attempts);
            let t = Transition::Leased {
                until: until.clone(),
            };
            let mut shown = row.clone();
            shown.max_attempts = max;
            let ev = notify::transition_event(
                &shown,
                &t,
                row.attempts + 1,
                OUTBOX_ACTOR,
                now,
                &policy.policy.sha256,
            );
            append_worker_event(tx, policy, ev)?;
            Ok(Some(row))
        })?;
        let Some(row) = leased else { break };
        rep.leased += 1;
        let outcome = transport.deliver(&row);
        let now = clock();
        let max = opts.max_attempts.unwrap_or(row.max_attempts).max(1);
        let attempt = row.attempts + 1;
        let mut shown = row.clone();
        shown.max_attempts = max;
        let t = match &outcome {
            Ok(()) => Transition::Delivered,
            Err(e) if attempt >= max => Transition::DeadLetter { error: e.clone() },
            Err(e) => Transition::Retry {
                error: e.clone(),
                next_attempt_at: notify::ts(now + notify::backoff(opts.backoff_secs, attempt)),
            },
        };
        let applied = store.transaction(|tx| {
            let ok = match &t {
                Transition::Delivered => tx.complete_outbox(row.id, &token)?,
                Transition::Retry {
                    error,
                    next_attempt_at,
                } => tx.fail_outbox(
                    row.id,
                    &token,
                    error,
                    &notify::ts(now),
                    Some(next_attempt_at),
                    max,
                )?,
                Transition::DeadLetter { error } => {
                    tx.fail_outbox(row.id, &token, error, &notify::ts(now), None, max)?
                }
                Transition::Leased { .. } => false,
            };
            if ok {
                let ev = notify::transition_event(
                    &shown,
                    &t,
                    attempt,
                    OUTBOX_ACTOR,
                    now,
                    &policy.policy.sha256,
                );
                append_worker_event(tx, policy, ev)?;
            }
            Ok::<_, StoreError>(ok)
        })?;
        match (&t, applied) {
            (_, false) => rep.lost_leases += 1,
            (Transition::Delivered, true) => rep.delivered += 1,
            (Transition::Retry { .. }, true) => rep.retried += 1,
            (Transition::DeadLetter { .. }, true) => rep.dead_lettered += 1,
            (Transition::Leased { .. }, true) => {}
        }
    }
    Ok(rep)
}

/// A webhook URL read from the environment (never shown).
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

fn secret_from_env(var: &str) -> Result<Option<Secret>> {
    let Some(v) = std::env::var(var).ok().filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    match reqwest::Url::parse(v.trim()) {
        Ok(u) if u.scheme() == "https" || u.scheme() == "http" => Ok(Some(Secret(v.trim().into()))),
        _ => bail!("${var} is not an http(s) URL (its value is not shown: it is a secret)"),
    }
}

/// HTTP transport: Slack for HITL notifications when configured, else the generic webhook.
struct Http {
    poster: crate::webhook::Poster,
    slack: Option<Secret>,
    webhook: Option<Secret>,
}

impl Http {
    fn new(slack: Option<Secret>, webhook: Option<Secret>, lease: Duration) -> Result<Http> {
        // Keep the whole request well inside the lease.
        let secs = (lease.num_seconds() / 2).clamp(2, 30) as u64;
        let poster = crate::webhook::Poster::new(StdDuration::from_secs(secs))
            .map_err(|e| anyhow::anyhow!(e.0))?;
        Ok(Http {
            poster,
            slack,
            webhook,
        })
    }

    fn secrets(&self) -> Vec<&str> {
        [&self.slack, &self.webhook]
            .into_iter()
            .flatten()
            .map(|s| s.0.as_str())
            .collect()
    }
}

impl Deliver for Http {
    fn kinds(&self) -> Option<Vec<&'static str>> {
        match (&self.slack, &self.webhook) {
            (_, Some(_)) => None,
            (Some(_), None) => Some(vec![HITL_KIND]),
            (None, None) => Some(vec![]),
        }
    }

    fn deliver(&mut self, row: &OutboxRow) -> std::result::Result<(), String> {
        let (target, body) = match (row.kind.as_str(), &self.slack, &self.webhook) {
            (HITL_KIND, Some(s), _) => (s, notify::slack_body(row)),
            (_, _, Some(w)) => (w, notify::generic_body(row)),
            (kind, _, None) => {
                return Err(format!(
                    "no delivery target for kind `{kind}` (set CLOSEGATE_WEBHOOK_URL)"
                ))
            }
        };
        let headers = [("idempotency-key", format!("closegate-outbox-{}", row.id))];
        let res = match self.poster.post_json(target.0.as_str(), &body, &headers) {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => Err(format!(
                "http status {}",
                reqwest::StatusCode::from_u16(status)
                    .map(|c| c.to_string())
                    .unwrap_or_else(|_| status.to_string())
            )),
            Err(e) => Err(e.0),
        };
        res.map_err(|e: String| notify::redact(&e, &self.secrets()))
    }
}

/// Runs `outbox …`.
pub fn run(cli: &Cli, args: &OutboxArgs) -> Result<ExitStatus> {
    let OutboxCommand::Drain {
        max_attempts,
        lease_secs,
        backoff_secs,
        once,
        now,
    } = &args.command;
    let fixed = parse_now(now.as_deref())?;
    let slack = secret_from_env("CLOSEGATE_SLACK_HOOK")?;
    let webhook = secret_from_env("CLOSEGATE_WEBHOOK_URL")?;
    if slack.is_none() && webhook.is_none() {
        bail!("no delivery target: set CLOSEGATE_SLACK_HOOK (Slack incoming webhook) or CLOSEGATE_WEBHOOK_URL (generic JSON webhook)");
    }
    let policy = match policy_in_force(cli) {
        Ok(p) => p,
        Err(status) => return Ok(status),
    };
    let mut store = Store::open_existing(&cli.db())?;
    let lease = Duration::seconds(i64::try_from(*lease_secs).unwrap_or(60));
    let mut http = Http::new(slack, webhook, lease)?;
    let opts = DrainOptions {
        max_attempts: *max_attempts,
        lease,
        backoff_secs: *backoff_secs,
    };
    let clock = move || fixed.unwrap_or_else(Utc::now);
    let mut total = PassReport::default();
    loop {
        let r = drain_pass(&mut store, &policy, &mut http, &clock, &opts)
            .with_context(|| format!("cannot drain the outbox of `{}`", cli.db().display()))?;
        total.leased += r.leased;
        total.delivered += r.delivered;
        total.retried += r.retried;
        total.dead_lettered += r.dead_lettered;
        total.lost_leases += r.lost_leases;
        if *once || r.leased == 0 {
            break;
        }
    }
    if !cli.quiet {
        println!(
            "outbox: {} leased, {} delivered, {} retried, {} dead-lettered, {} lost leases",
            total.leased, total.delivered, total.retried, total.dead_lettered, total.lost_leases
        );
    }
    Ok(ExitStatus::Ok)
}
