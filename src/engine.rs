//! Engine actions: the only way state changes. One service function per gate action; each
//! loads the subject, asks the gate, applies the change only if the gate allows (or records
//! the escalation), and appends exactly one audit event, all in one transaction, including for
//! denials and malformed requests.
//!
//! Identity arrives in [`Env`] from the caller's transport (the CLI's `--actor`, the scenario
//! step's `actor`), never from the request arguments. Time arrives in [`Env`] too: the engine
//! never reads the clock, so seeded histories and evals are reproducible.

pub mod args;
pub mod history;
pub mod recon_run;
pub mod seeding;

use crate::audit::event::{AuditEvent, EventSubject, EventType, NewEvent};
use crate::gate::decision::{Decision, Outcome, Reason, ReasonCode, Tier};
use crate::gate::request::{
    Action, Actor, AdjustmentView, Context, MatchState, MatchView, PendingView, Request, Subject,
};
use crate::gate::{self, builtin_clause};
use crate::ledger::{Entry, Side};
use crate::money::{format_in, Currency, Money};
use crate::policy::model::{Policy, YearMonth};
use crate::store::{
    EntryStatus, NewMatch, NewOutbox, NewRequest, RequestState, Store, StoreError, Tx,
};
use args::Args;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

/// Who acts, when, and under which policy.
#[derive(Debug, Clone)]
pub struct Env<'a> {
    /// The validated policy in force.
    pub policy: &'a Policy,
    /// Display name of the policy file (recorded with its text).
    pub policy_name: &'a str,
    /// The policy file's text (stored once per version so `audit verify` can check clauses).
    pub policy_src: &'a str,
    /// Actor id from the authenticated transport.
    pub actor: String,
    /// How the actor was authenticated (`oidc:…`, `header-trust`, `cli-operator`).
    pub identity_source: String,
    /// Event time.
    pub ts: DateTime<Utc>,
    /// Entities the actor is scoped to (`None` = unscoped).
    pub actor_scope: Option<Vec<String>>,
    /// The gate to ask: always [`gate::evaluate`] in the product; the eval's fault-injection
    /// mode passes a deliberately broken one to prove the monitor catches a regression.
    pub gate: GateFn,
}

/// The signature of the gate.
pub type GateFn = fn(&Request, &Context, &Policy) -> Decision;

/// What an action did.
#[derive(Debug, Clone)]
pub struct ActionResult {
    /// The gate's decision.
    pub decision: Decision,
    /// The audit event appended.
    pub event: AuditEvent,
    /// The id created (match id for a proposal, request id for a pending request).
    pub created: Option<String>,
}

/// Why an action could not run at all (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Outbox kind of human-in-the-loop notifications (one per APPROVAL_REQUIRED event).
pub const HITL_KIND: &str = "hitl_notification";
/// Outbox kind of downstream-sync messages: every applied state change of the books (match
/// confirmed, adjustment posted, period closed or reopened), for the ERP or data warehouse.
pub const SYNC_KIND: &str = "downstream_sync";

/// Meta key holding periods that the policy file closes but a `reopen_period` reopened.
const REOPENED_KEY: &str = "reopened_periods";

/// Runs one action in its own transaction.
pub fn execute(
    store: &mut Store,
    env: &Env<'_>,
    action: &str,
    args: &Value,
) -> Result<ActionResult, EngineError> {
    store.transaction(|tx| execute_in(tx, env, action, args))
}

/// Runs one action inside the caller's transaction (batched seeding and evals).
pub fn execute_in(
    tx: &Tx<'_>,
    env: &Env<'_>,
    action: &str,
    args: &Value,
) -> Result<ActionResult, EngineError> {
    tx.store_policy(
        &env.policy.sha256,
        env.policy_name,
        env.policy_src,
        &ts(env.ts),
    )?;
    let parsed_actor = Actor::parse(&env.actor);
    if let Some(a) = &parsed_actor {
        tx.touch_actor(
            &env.actor,
            a.kind.as_str(),
            &env.identity_source,
            &ts(env.ts),
        )?;
    }
    let Some(act) = Action::parse(action) else {
        let msg = format!("unknown action `{}`", args::clip(action));
        return invalid(tx, env, &args::clip(action), Tier::T3, &msg);
    };
    let parsed = match args::parse(act, args) {
        Ok(p) => p,
        Err(msg) => {
            let tier = gate::tier_of(&missing_request(env, act), &Context::default(), env.policy);
            return invalid(tx, env, act.as_str(), tier, &msg);
        }
    };
    let loaded = match load(tx, &parsed)? {
        Ok(l) => l,
        Err(msg) => {
            let tier = gate::tier_of(&missing_request(env, act), &Context::default(), env.policy);
            return invalid(tx, env, act.as_str(), tier, &msg);
        }
    };
    let ctx = context(tx, env)?;
    let req = Request {
        actor: env.actor.clone(),
        action: act,
        subject: loaded.subject.clone(),
        rationale: loaded.rationale.clone(),
    };
    let decision = (env.gate)(&req, &ctx, env.policy);
    apply(tx, env, act, &parsed, &loaded, decision)
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn missing_request(env: &Env<'_>, act: Action) -> Request {
    Request {
        actor: env.actor.clone(),
        action: act,
        subject: Subject::Missing {
            what: String::new(),
        },
        rationale: None,
    }
}

/// Records a refused malformed request: `ACTOR_INVALID` if the actor does not parse, else
/// `REQUEST_INVALID`. No state change.
fn invalid(
    tx: &Tx<'_>,
    env: &Env<'_>,
    action: &str,
    tier: Tier,
    message: &str,
) -> Result<ActionResult, EngineError> {
    let code = if Actor::parse(&env.actor).is_none() {
        ReasonCode::ActorInvalid
    } else {
        ReasonCode::RequestInvalid
    };
    let decision = Decision {
        outcome: Outcome::Deny,
        tier,
        reasons: vec![Reason {
            code,
            clause: builtin_clause(code).to_string(),
            pointer: None,
        }],
    };
    let mut ev = base_event(env, action, &decision, EventType::PolicyViolation);
    ev.rationale = Some(format!("refused: {message}"));
    let event = append(tx, ev)?;
    Ok(ActionResult {
        decision,
        event,
        created: None,
    })
}

/// The subject loaded from the store, plus facts the event needs.
struct Loaded {
    subject: Subject,
    rationale: Option<String>,
    entries: Vec<Entry>,
    match_id: Option<String>,
    request_id: Option<String>,
    adjustment: Option<AdjustmentView>,
    pending_payload: Option<Value>,
}

impl Loaded {
    fn new(subject: Subject) -> Loaded {
        Loaded {
            subject,
            rationale: None,
            entries: Vec::new(),
            match_id: None,
            request_id: None,
            adjustment: None,
            pending_payload: None,
        }
    }
}

fn missing(what: String) -> Subject {
    Subject::Missing { what }
}

/// Loads the subject. `Ok(Err(msg))` = the arguments are malformed beyond their shape
/// (bad amount, date, period): recorded as `REQUEST_INVALID`.
fn load(tx: &Tx<'_>, parsed: &Args) -> Result<Result<Loaded, String>, EngineError> {
    Ok(Ok(match parsed {
        Args::Propose(a, class) => {
            let mut ids: Vec<String> = a.gl.iter().chain(&a.sl).cloned().collect();
            ids.sort();
            let entries = known_entries(tx, &ids)?;
            let sides_ok = entries.iter().all(|e| {
                (e.side == Side::Gl && a.gl.contains(&e.entry_id))
                    || (e.side == Side::Sl && a.sl.contains(&e.entry_id))
            });
            let mut l = if entries.len() != ids.len() || !sides_ok {
                Loaded::new(missing(format!("entries {}", ids.join(","))))
            } else {
                let mut already = Vec::new();
                for e in &entries {
                    if tx.entry_status(&e.entry_id)? != Some(EntryStatus::Unmatched) {
                        already.push(e.entry_id.clone());
                    }
                }
                Loaded::new(Subject::Proposal {
                    class: *class,
                    entries: entries.clone(),
                    already_matched: already,
                })
            };
            l.entries = entries;
            l
        }
        Args::Confirm(a) | Args::Reject(a) => {
            let m = tx.get_match(&a.match_id)?;
            let mut l = match m {
                Some(m) => {
                    let entries = m.entries.clone();
                    let mut l = Loaded::new(Subject::Match(m));
                    l.entries = entries;
                    l
                }
                None => Loaded::new(missing(format!("match {}", a.match_id))),
            };
            l.match_id = Some(a.match_id.clone());
            l.rationale = a.rationale.clone();
            l
        }
        Args::Flag(a) => {
            let mut ids = a.entries.clone();
            ids.sort();
            ids.dedup();
            let entries = known_entries(tx, &ids)?;
            let mut all_unmatched = entries.len() == ids.len();
            for e in &entries {
                all_unmatched &= tx.entry_status(&e.entry_id)? == Some(EntryStatus::Unmatched);
            }
            let mut l = if all_unmatched {
                Loaded::new(Subject::Entries(entries.clone()))
            } else {
                Loaded::new(missing(format!("unmatched entries {}", ids.join(","))))
            };
            l.entries = entries;
            l.rationale = a.note.clone();
            l
        }
        Args::Adjust(a) => {
            let Some(currency) = Currency::from_code(&a.currency) else {
                return Ok(Err(format!(
                    "`{}` is not an ISO 4217 currency",
                    args::clip(&a.currency)
                )));
            };
            let amount = match Money::parse(&a.amount, currency) {
                Ok(m) => m,
                Err(e) => return Ok(Err(e.to_string())),
            };
            let Ok(date) = NaiveDate::parse_from_str(&a.date, "%Y-%m-%d") else {
                return Ok(Err(format!(
                    "`{}` is not a YYYY-MM-DD date",
                    args::clip(&a.date)
                )));
            };
            let mut accounts = a.accounts.clone();
            accounts.sort();
            accounts.dedup();
            let view = AdjustmentView {
                entity: a.entity.clone(),
                accounts,
                amount,
                date,
            };
            let mut l = Loaded::new(Subject::Adjustment(view.clone()));
            l.adjustment = Some(view);
            l.rationale = a.rationale.clone();
            l
        }
        Args::Close(a) | Args::Reopen(a) => {
            let Some(period) = YearMonth::parse(&a.period) else {
                return Ok(Err(format!(
                    "`{}` is not a YYYY-MM period",
                    args::clip(&a.period)
                )));
            };
            Loaded::new(Subject::Period {
                entity: a.entity.clone(),
                period,
            })
        }
        Args::Approve(a) => {
            let mut l = match tx.get_request(&a.request)? {
                Some(r) => {
                    let mut view: PendingView = r.view.clone();
                    view.open = r.state == RequestState::Open;
                    let mut l = Loaded::new(Subject::Pending(view));
                    l.pending_payload = Some(r.payload.clone());
                    l
                }
                None => Loaded::new(missing(format!("request {}", a.request))),
            };
            l.request_id = Some(a.request.clone());
            l.rationale = a.rationale.clone();
            l
        }
    }))
}

/// The entries among `ids` that exist (unknown ids are left out; the caller compares counts).
fn known_entries(tx: &Tx<'_>, ids: &[String]) -> Result<Vec<Entry>, EngineError> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(e) = tx.get_entry(id)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// Run-time closed and reopened periods.
fn context(tx: &Tx<'_>, env: &Env<'_>) -> Result<Context, EngineError> {
    Ok(Context {
        closed_periods: tx.closed_periods()?,
        reopened_periods: reopened(tx)?,
        actor_scope: env.actor_scope.clone(),
    })
}

fn reopened(tx: &Tx<'_>) -> Result<Vec<(String, YearMonth)>, EngineError> {
    let raw = tx.get_meta(REOPENED_KEY)?.unwrap_or_default();
    let list: Vec<(String, String)> = serde_json::from_str(&raw).unwrap_or_default();
    Ok(list
        .into_iter()
        .filter_map(|(e, p)| YearMonth::parse(&p).map(|p| (e, p)))
        .collect())
}

fn set_reopened(
    tx: &Tx<'_>,
    entity: &str,
    period: YearMonth,
    reopened_now: bool,
) -> Result<(), EngineError> {
    let mut list: Vec<(String, String)> = reopened(tx)?
        .into_iter()
        .map(|(e, p)| (e, p.to_string()))
        .collect();
    let key = (entity.to_string(), period.to_string());
    list.retain(|k| *k != key);
    if reopened_now {
        list.push(key);
    }
    list.sort();
    let raw = serde_json::to_string(&list).unwrap_or_else(|_| "[]".into());
    tx.set_meta(REOPENED_KEY, &raw)?;
    Ok(())
}

fn next_id(tx: &Tx<'_>, key: &str, prefix: &str) -> Result<String, EngineError> {
    let n: u64 = tx.get_meta(key)?.and_then(|v| v.parse().ok()).unwrap_or(0) + 1;
    tx.set_meta(key, &n.to_string())?;
    Ok(format!("{prefix}-{n:06}"))
}

fn base_event(env: &Env<'_>, action: &str, d: &Decision, event_type: EventType) -> NewEvent {
    NewEvent {
        event_id: String::new(),
        ts: ts(env.ts),
        actor_id: env.actor.clone(),
        actor_kind: Actor::parse(&env.actor)
            .map(|a| a.kind.as_str().to_string())
            .unwrap_or_else(|| "invalid".to_string()),
        action: action.to_string(),
        tier: d.tier.as_str().to_string(),
        decision: d.outcome.as_str().to_string(),
        reasons: d.reasons.clone(),
        event_type,
        subject: EventSubject::default(),
        entity: None,
        accounts: Vec::new(),
        amount: None,
        currency: None,
        amount_base: None,
        policy_version: env.policy.sha256.clone(),
        rationale: None,
    }
}

fn append(tx: &Tx<'_>, mut ev: NewEvent) -> Result<AuditEvent, EngineError> {
    let next = tx.audit_head()?.map(|(seq, _)| seq).unwrap_or(0) + 1;
    ev.event_id = format!("evt-{next:010}");
    Ok(tx.append_event(ev)?)
}

/// Fills entity, accounts and amounts from the entries (GL side, as the gate measures).
fn describe_entries(policy: &Policy, ev: &mut NewEvent, entries: &[Entry]) {
    let mut ids: Vec<String> = entries.iter().map(|e| e.entry_id.clone()).collect();
    ids.sort();
    ev.subject.entry_ids = ids;
    let mut accounts: Vec<String> = entries.iter().map(|e| e.account.clone()).collect();
    accounts.sort();
    accounts.dedup();
    ev.accounts = accounts;
    let mut side: Vec<&Entry> = entries.iter().filter(|e| e.side == Side::Gl).collect();
    if side.is_empty() {
        side = entries.iter().collect();
    }
    side.sort_by(|a, b| a.entry_id.cmp(&b.entry_id));
    let Some(first) = side.first() else { return };
    ev.entity = Some(first.entity.clone());
    let ccy = first.amount.currency;
    if side.iter().all(|e| e.amount.currency == ccy) {
        let minor: i64 = side
            .iter()
            .map(|e| e.amount.minor.saturating_abs())
            .fold(0, i64::saturating_add);
        ev.amount = Some(
            Money {
                minor,
                currency: ccy,
            }
            .to_string(),
        );
        ev.currency = Some(ccy.code().to_string());
    }
    let base = side.iter().try_fold(rust_decimal::Decimal::ZERO, |acc, e| {
        policy
            .to_base(e.amount.abs().to_decimal(), e.amount.currency, e.date)
            .and_then(|v| acc.checked_add(v))
    });
    ev.amount_base = base.map(|b| format_in(b, policy.base_currency));
}

fn describe_adjustment(policy: &Policy, ev: &mut NewEvent, a: &AdjustmentView) {
    ev.entity = Some(a.entity.clone());
    ev.accounts = a.accounts.clone();
    ev.amount = Some(a.amount.to_string());
    ev.currency = Some(a.amount.currency.code().to_string());
    ev.amount_base = policy
        .to_base(a.amount.abs().to_decimal(), a.amount.currency, a.date)
        .map(|b| format_in(b, policy.base_currency));
}

fn enqueue(tx: &Tx<'_>, env: &Env<'_>, kind: &str, event: &AuditEvent) -> Result<(), EngineError> {
    let codes: Vec<&str> = event.body.reasons.iter().map(|r| r.code.as_str()).collect();
    tx.enqueue_outbox(&NewOutbox {
        kind: kind.to_string(),
        payload: json!({
            "event_seq": event.seq,
            "event_type": event.body.event_type.as_str(),
            "action": event.body.action,
            "match_id": event.body.subject.match_id,
            "request_id": event.body.subject.request_id,
            "entity": event.body.entity,
            "amount": event.body.amount,
            "currency": event.body.currency,
            "reasons": codes,
        }),
        max_attempts: 8,
        next_attempt_at: None,
        created_ts: ts(env.ts),
        audit_seq: Some(event.seq),
    })?;
    Ok(())
}

fn set_entries(tx: &Tx<'_>, entries: &[Entry], status: EntryStatus) -> Result<(), EngineError> {
    for e in entries {
        tx.set_entry_status(&e.entry_id, status)?;
    }
    Ok(())
}

fn apply(
    tx: &Tx<'_>,
    env: &Env<'_>,
    act: Action,
    parsed: &Args,
    l: &Loaded,
    decision: Decision,
) -> Result<ActionResult, EngineError> {
    let policy = env.policy;
    let now = ts(env.ts);
    let human =
        Actor::parse(&env.actor).is_some_and(|a| a.kind == crate::gate::request::ActorKind::Human);
    let mut created = None;
    let mut ev = base_event(env, act.as_str(), &decision, EventType::PolicyViolation);
    ev.rationale = l.rationale.clone();
    ev.subject.match_id = l.match_id.clone();
    ev.subject.request_id = l.request_id.clone();
    describe_entries(policy, &mut ev, &l.entries);
    if let Some(a) = &l.adjustment {
        describe_adjustment(policy, &mut ev, a);
    }
    if let Subject::Period { entity, .. } = &l.subject {
        ev.entity = Some(entity.clone());
    }
    let outcome = decision.outcome;
    let mut notify = false;
    match (outcome, parsed) {
        (Outcome::Deny, _) => {}
        (Outcome::Allow, Args::Propose(_, class)) => {
            let id = next_id(tx, "next_match", "M")?;
            let mut ids: Vec<String> = l.entries.iter().map(|e| e.entry_id.clone()).collect();
            ids.sort();
            tx.insert_match(&NewMatch {
                match_id: id.clone(),
                class: *class,
                state: MatchState::Proposed,
                proposer: env.actor.clone(),
                created_ts: now.clone(),
                entry_ids: ids,
            })?;
            set_entries(tx, &l.entries, EntryStatus::Proposed)?;
            ev.subject.match_id = Some(id.clone());
            ev.event_type = EventType::MatchProposed;
            created = Some(id);
        }
        (Outcome::Allow, Args::Confirm(a)) => {
            if human {
                tx.add_match_approval(&a.match_id, &env.actor, &now)?;
            }
            tx.set_match_state(&a.match_id, MatchState::Confirmed, &now)?;
            set_entries(tx, &l.entries, EntryStatus::Matched)?;
            ev.event_type = EventType::MatchConfirmed;
        }
        (Outcome::RequireApproval { .. }, Args::Confirm(a)) => {
            if human {
                tx.add_match_approval(&a.match_id, &env.actor, &now)?;
                ev.event_type = EventType::ApprovalGranted;
            } else {
                ev.event_type = EventType::ApprovalRequired;
                notify = true;
            }
            tx.set_match_state(&a.match_id, MatchState::PendingApproval, &now)?;
        }
        (Outcome::Allow, Args::Reject(a)) => {
            tx.set_match_state(&a.match_id, MatchState::Rejected, &now)?;
            set_entries(tx, &l.entries, EntryStatus::Unmatched)?;
            ev.event_type = EventType::MatchRejected;
        }
        (Outcome::Allow, Args::Flag(_)) => {
            set_entries(tx, &l.entries, EntryStatus::Exception)?;
            ev.event_type = EventType::ExceptionFlagged;
        }
        (_, Args::Adjust(_) | Args::Close(_) | Args::Reopen(_)) => {
            let id = next_id(tx, "next_request", "R")?;
            let payload = match parsed {
                Args::Adjust(a) => {
                    json!({"entity": a.entity, "accounts": a.accounts, "amount": a.amount,
                    "currency": a.currency, "date": a.date, "rationale": a.rationale})
                }
                Args::Close(a) | Args::Reopen(a) => json!({"entity": a.entity, "period": a.period}),
                _ => Value::Null,
            };
            tx.insert_request(&NewRequest {
                request_id: id.clone(),
                action: act,
                payload,
                requester: env.actor.clone(),
                tier: decision.tier.as_str().to_string(),
                created_ts: now.clone(),
            })?;
            ev.subject.request_id = Some(id.clone());
            if outcome == Outcome::Allow {
                tx.set_request_state(&id, RequestState::Executed)?;
                ev.event_type = EventType::AdjustmentPosted;
            } else {
                ev.event_type = EventType::ApprovalRequired;
                notify = true;
            }
            created = Some(id);
        }
        (_, Args::Approve(a)) => {
            tx.add_request_approval(&a.request, &env.actor, &now)?;
            ev.event_type = EventType::ApprovalGranted;
            if outcome == Outcome::Allow {
                ev.event_type = execute_request(tx, env, l, &now)?;
                tx.set_request_state(&a.request, RequestState::Executed)?;
            }
        }
        // Propose, reject and flag never escalate; nothing to apply.
        (Outcome::RequireApproval { .. }, _) => {}
    }
    let event = append(tx, ev)?;
    if notify {
        enqueue(tx, env, HITL_KIND, &event)?;
    }
    if matches!(
        event.body.event_type,
        EventType::MatchConfirmed
            | EventType::AdjustmentPosted
            | EventType::PeriodClosed
            | EventType::PeriodReopened
    ) {
        enqueue(tx, env, SYNC_KIND, &event)?;
    }
    Ok(ActionResult {
        decision,
        event,
        created,
    })
}

/// Executes an approved pending request; returns the event type that records it.
fn execute_request(
    tx: &Tx<'_>,
    env: &Env<'_>,
    l: &Loaded,
    now: &str,
) -> Result<EventType, EngineError> {
    let Subject::Pending(p) = &l.subject else {
        return Ok(EventType::ApprovalGranted);
    };
    let payload = l.pending_payload.clone().unwrap_or(Value::Null);
    let entity = payload
        .get("entity")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let period = payload
        .get("period")
        .and_then(Value::as_str)
        .and_then(YearMonth::parse);
    Ok(match (p.action, period) {
        (Action::ClosePeriod, Some(period)) => {
            if !tx
                .closed_periods()?
                .iter()
                .any(|(e, q)| *e == entity && *q == period)
            {
                tx.close_period(&entity, period, now, &p.requester)?;
            }
            set_reopened(tx, &entity, period, false)?;
            EventType::PeriodClosed
        }
        (Action::ReopenPeriod, Some(period)) => {
            tx.reopen_period(&entity, period)?;
            if env.policy.is_closed(&entity, period) {
                set_reopened(tx, &entity, period, true)?;
            }
            EventType::PeriodReopened
        }
        (Action::PostAdjustment, _) => EventType::AdjustmentPosted,
        _ => EventType::ApprovalGranted,
    })
}

/// A match as the CLI shows it.
pub fn describe_match(m: &MatchView) -> String {
    let ids: Vec<&str> = m.entries.iter().map(|e| e.entry_id.as_str()).collect();
    format!(
        "{} {} {} [{}]",
        m.id,
        m.class.as_str(),
        m.state.as_str(),
        ids.join(", ")
    )
}
