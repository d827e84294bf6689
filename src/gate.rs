//! The policy gate: `evaluate(request, context, policy) -> Decision`.
//!
//! Pure: no files, clock, environment, network or global state (enforced by
//! `tests/gate_purity.rs`, which scans this module's sources for I/O imports). Time, actor and
//! amounts arrive as arguments. The semantics are specified in `docs/gate.md`; keep the two in
//! step.
//!
//! Fails closed: any error while evaluating any rule (no fx rate, overflow, an unparseable
//! stored proposer) adds `EVALUATION_ERROR` and the decision is `deny`, never `allow`.

pub mod decision;
pub mod request;

use crate::ledger::{Entry, Side};
use crate::policy::model::{Clause, Policy, YearMonth};
use decision::{Decision, Outcome, Reason, ReasonCode, Tier};
use request::{Action, Actor, ActorKind, Context, MatchClass, MatchState, Request, Subject};
use rust_decimal::Decimal;

/// Longest rationale accepted, in characters.
pub const MAX_RATIONALE_CHARS: usize = 4096;

/// The built-in clause of an engine invariant (reasons with `pointer: null`).
pub fn builtin_clause(code: ReasonCode) -> &'static str {
    match code {
        ReasonCode::ActorInvalid => {
            "Every request must come from an authenticated actor of the form human:<id>, llm:<id> or engine:<id>."
        }
        ReasonCode::StateInvalid => {
            "A request must refer to existing records in a state that allows the action."
        }
        ReasonCode::RequestInvalid => {
            "A request must carry exactly the arguments its action defines, well-formed and within size limits."
        }
        ReasonCode::EntityOutOfScope => {
            "An actor may act only on the entities its registry entry scopes it to."
        }
        ReasonCode::EngineCannotApprove => {
            "Approvals of pending requests come from authenticated humans, never from an engine actor."
        }
        ReasonCode::EvaluationError => {
            "The gate fails closed: a rule that cannot be evaluated denies the request."
        }
        // Policy-backed codes quote the policy; this text is only a fallback.
        _ => "See the policy rule at the pointer.",
    }
}

/// The tier of a request (see the table in `docs/gate.md`).
pub fn tier_of(req: &Request, ctx: &Context, policy: &Policy) -> Tier {
    match req.action {
        Action::ProposeMatch => Tier::T0,
        Action::RejectMatch | Action::FlagException => Tier::T1,
        Action::ConfirmMatch => Tier::T2,
        Action::PostAdjustment => match &req.subject {
            Subject::Adjustment(a) if is_closed(policy, ctx, &a.entity, YearMonth::of(a.date)) => {
                Tier::T3
            }
            _ => Tier::T2,
        },
        Action::ClosePeriod | Action::ReopenPeriod => Tier::T3,
        Action::ApproveAction => match &req.subject {
            Subject::Pending(p) => p.tier,
            // Unknown request: treat as the strictest tier; the decision is a deny anyway.
            _ => Tier::T3,
        },
    }
}

fn is_closed(policy: &Policy, ctx: &Context, entity: &str, period: YearMonth) -> bool {
    let has = |list: &[(String, YearMonth)]| list.iter().any(|(e, p)| e == entity && *p == period);
    (policy.is_closed(entity, period) || has(&ctx.closed_periods)) && !has(&ctx.reopened_periods)
}

/// Accumulates fired rules; the outcome follows from them (deny > require_approval > allow).
struct Verdict<'p> {
    policy: &'p Policy,
    reasons: Vec<Reason>,
    deny: bool,
    approvals: u8,
}

impl<'p> Verdict<'p> {
    fn new(policy: &'p Policy) -> Self {
        Verdict {
            policy,
            reasons: Vec::new(),
            deny: false,
            approvals: 0,
        }
    }

    fn push(&mut self, code: ReasonCode, clause: Option<&Clause>) {
        let reason = match clause {
            Some(c) => Reason {
                code,
                clause: c.text.clone(),
                pointer: Some(c.pointer.clone()),
            },
            None => Reason {
                code,
                clause: builtin_clause(code).to_string(),
                pointer: None,
            },
        };
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    fn deny(&mut self, code: ReasonCode, clause: Option<&Clause>) {
        self.deny = true;
        self.push(code, clause);
    }

    fn escalate(&mut self, code: ReasonCode, clause: Option<&Clause>, approvals: u8) {
        self.approvals = self.approvals.max(approvals);
        self.push(code, clause);
    }

    fn error(&mut self) {
        self.deny(ReasonCode::EvaluationError, None);
    }

    fn sod(&self) -> &'p Clause {
        &self.policy.segregation_of_duties
    }

    fn finish(self, tier: Tier) -> Decision {
        let outcome = if self.deny {
            Outcome::Deny
        } else if self.approvals > 0 {
            Outcome::RequireApproval {
                approvals_remaining: self.approvals,
            }
        } else {
            Outcome::Allow
        };
        Decision {
            outcome,
            tier,
            reasons: self.reasons,
        }
    }
}

/// Evaluates one request against the policy. Pure and deterministic.
pub fn evaluate(req: &Request, ctx: &Context, policy: &Policy) -> Decision {
    let tier = tier_of(req, ctx, policy);
    let mut v = Verdict::new(policy);
    let Some(actor) = Actor::parse(&req.actor) else {
        v.deny(ReasonCode::ActorInvalid, None);
        return v.finish(tier);
    };
    if req
        .rationale
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_RATIONALE_CHARS)
    {
        v.deny(ReasonCode::RequestInvalid, None);
    }
    check_scope(&mut v, &req.subject, ctx);
    let rationale = req
        .rationale
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    match (req.action, &req.subject) {
        (_, Subject::Missing { .. }) => v.deny(ReasonCode::StateInvalid, None),
        (
            Action::ProposeMatch,
            Subject::Proposal {
                class,
                entries,
                already_matched,
            },
        ) => propose(&mut v, *class, entries, already_matched),
        (Action::ConfirmMatch, Subject::Match(m)) => {
            confirm(&mut v, &actor, &req.actor, m, rationale, ctx)
        }
        (Action::RejectMatch, Subject::Match(m)) => {
            if !matches!(m.state, MatchState::Proposed | MatchState::PendingApproval) {
                v.deny(ReasonCode::StateInvalid, None);
            }
        }
        (Action::FlagException, Subject::Entries(entries)) => {
            if entries.is_empty() {
                v.deny(ReasonCode::StateInvalid, None);
            }
        }
        (Action::PostAdjustment, Subject::Adjustment(a)) => {
            post_adjustment(&mut v, &actor, a, rationale, ctx, tier)
        }
        (Action::ClosePeriod | Action::ReopenPeriod, Subject::Period { entity, period }) => {
            let closed = is_closed(policy, ctx, entity, *period);
            let wrong_state = if req.action == Action::ClosePeriod {
                closed
            } else {
                !closed
            };
            if policy.entity(entity).is_none() || wrong_state {
                v.deny(ReasonCode::StateInvalid, None);
            } else {
                v.escalate(
                    ReasonCode::DualApprovalRequired,
                    Some(&policy.dual_approval),
                    2,
                );
            }
        }
        (Action::ApproveAction, Subject::Pending(p)) => approve(&mut v, &actor, &req.actor, p),
        // The subject does not fit the action: the caller built a malformed request.
        _ => v.deny(ReasonCode::StateInvalid, None),
    }
    v.finish(tier)
}

fn subject_entities(subject: &Subject) -> Vec<&str> {
    match subject {
        Subject::Proposal { entries, .. } | Subject::Entries(entries) => {
            entries.iter().map(|e| e.entity.as_str()).collect()
        }
        Subject::Match(m) => m.entries.iter().map(|e| e.entity.as_str()).collect(),
        Subject::Adjustment(a) => vec![a.entity.as_str()],
        Subject::Period { entity, .. } => vec![entity.as_str()],
        Subject::Pending(p) => p.entity.iter().map(String::as_str).collect(),
        Subject::Missing { .. } => Vec::new(),
    }
}

fn check_scope(v: &mut Verdict<'_>, subject: &Subject, ctx: &Context) {
    if let Some(scope) = &ctx.actor_scope {
        if subject_entities(subject)
            .iter()
            .any(|e| !scope.iter().any(|s| s == e))
        {
            v.deny(ReasonCode::EntityOutOfScope, None);
        }
    }
}

fn propose(v: &mut Verdict<'_>, class: MatchClass, entries: &[Entry], already: &[String]) {
    let gl = entries.iter().filter(|e| e.side == Side::Gl).count();
    let sl = entries.len() - gl;
    let mut ids: Vec<&str> = entries.iter().map(|e| e.entry_id.as_str()).collect();
    ids.sort_unstable();
    let duplicated = ids.windows(2).any(|w| w[0] == w[1]);
    let plausible = match class {
        MatchClass::ExactMatch => {
            gl == 1
                && sl == 1
                && entries[0].amount == entries[1].amount
                && entries[0].amount.currency == entries[1].amount.currency
        }
        MatchClass::FuzzyMatch => gl == 1 && sl == 1,
        MatchClass::MultiToOne => {
            let max = v.policy.matching.multi_max_group;
            (gl == 1 && (2..=max).contains(&sl)) || (sl == 1 && (2..=max).contains(&gl))
        }
    };
    if !already.is_empty() || duplicated || !plausible {
        v.deny(ReasonCode::StateInvalid, None);
    }
}

/// Base-currency value of the GL side, and the GL side in the entity's own currency when a
/// materiality override applies. `None` on any conversion failure (fail closed).
struct Amounts {
    base: Decimal,
    entity: String,
}

fn match_amounts(policy: &Policy, entries: &[Entry]) -> Option<Amounts> {
    let mut gl: Vec<&Entry> = entries.iter().filter(|e| e.side == Side::Gl).collect();
    gl.sort_by(|a, b| a.entry_id.cmp(&b.entry_id));
    let first = gl.first()?;
    let mut base = Decimal::ZERO;
    for e in &gl {
        let v = policy.to_base(e.amount.abs().to_decimal(), e.amount.currency, e.date)?;
        base = base.checked_add(v)?;
    }
    Some(Amounts {
        base,
        entity: first.entity.clone(),
    })
}

/// Fires `MATERIALITY_OVER_THRESHOLD` when `base` (with its GL entries) is above the applicable
/// threshold. Returns false when it could not be evaluated.
fn materiality(
    v: &mut Verdict<'_>,
    entity: &str,
    base: Decimal,
    gl: &[&Entry],
    date: chrono::NaiveDate,
) -> bool {
    let policy = v.policy;
    let over = policy
        .materiality
        .entity_overrides
        .iter()
        .find(|o| o.entity == entity);
    match over {
        Some(o) => {
            let Some(ent) = policy.entity(entity) else {
                return false;
            };
            let ccy = ent.currency;
            let local = if !gl.is_empty() && gl.iter().all(|e| e.amount.currency == ccy) {
                gl.iter().try_fold(Decimal::ZERO, |acc, e| {
                    acc.checked_add(e.amount.abs().to_decimal())
                })
            } else {
                policy
                    .to_base(Decimal::ONE, ccy, date)
                    .filter(|r| !r.is_zero())
                    .and_then(|rate| base.checked_div(rate))
            };
            let Some(local) = local else { return false };
            if local > o.threshold {
                v.escalate(ReasonCode::MaterialityOverThreshold, Some(&o.clause), 1);
            }
        }
        None => {
            if base > policy.materiality.threshold {
                v.escalate(
                    ReasonCode::MaterialityOverThreshold,
                    Some(&policy.materiality.clause),
                    1,
                );
            }
        }
    }
    true
}

fn forced_accounts<'a>(v: &mut Verdict<'_>, accounts: impl IntoIterator<Item = &'a str>) {
    let policy = v.policy;
    let accounts: Vec<&str> = accounts.into_iter().collect();
    for rule in &policy.always_human_accounts {
        if accounts.iter().any(|a| *a == rule.account) {
            v.escalate(ReasonCode::AccountForcedHuman, Some(&rule.clause), 1);
        }
    }
}

fn confirm(
    v: &mut Verdict<'_>,
    actor: &Actor,
    actor_id: &str,
    m: &request::MatchView,
    rationale: Option<&str>,
    ctx: &Context,
) {
    let policy = v.policy;
    let state_ok = match m.state {
        MatchState::Proposed => true,
        // Only humans complete an escalation; an LLM is refused by its own rule below.
        MatchState::PendingApproval => actor.kind != ActorKind::Engine,
        MatchState::Confirmed | MatchState::Rejected => false,
    };
    if !state_ok {
        v.deny(ReasonCode::StateInvalid, None);
    }
    if m.proposer == actor_id {
        v.deny(ReasonCode::SodSameActor, Some(v.sod()));
    }
    if actor.kind == ActorKind::Llm {
        v.deny(ReasonCode::LlmCannotApprove, Some(v.sod()));
    }
    let closed = m
        .entries
        .iter()
        .any(|e| is_closed(policy, ctx, &e.entity, YearMonth::of(e.date)));
    let Some(amounts) = match_amounts(policy, &m.entries) else {
        v.error();
        return;
    };
    let mut gl: Vec<&Entry> = m.entries.iter().filter(|e| e.side == Side::Gl).collect();
    gl.sort_by(|a, b| a.entry_id.cmp(&b.entry_id));
    let date = gl.first().map(|e| e.date);
    match actor.kind {
        ActorKind::Engine => {
            let strategy = match m.class {
                MatchClass::ExactMatch => &policy.strategies.exact_match,
                MatchClass::FuzzyMatch => &policy.strategies.fuzzy_match,
                MatchClass::MultiToOne => &policy.strategies.multi_to_one,
            };
            let over_limit = strategy
                .auto_confirm_limit
                .is_some_and(|limit| amounts.base > limit);
            if !strategy.auto_confirm || over_limit {
                v.escalate(ReasonCode::StrategyRequiresHuman, Some(&strategy.clause), 1);
            }
            let Some(date) = date else {
                v.error();
                return;
            };
            if !materiality(v, &amounts.entity, amounts.base, &gl, date) {
                v.error();
            }
            forced_accounts(v, m.entries.iter().map(|e| e.account.as_str()));
            match Actor::parse(&m.proposer) {
                Some(p) if p.kind == ActorKind::Llm => v.escalate(
                    ReasonCode::LlmProposalRequiresHuman,
                    Some(&policy.llm_proposals),
                    1,
                ),
                Some(_) => {}
                None => v.error(),
            }
            if closed {
                v.escalate(
                    ReasonCode::PeriodClosed,
                    Some(&policy.closed_periods.clause),
                    2,
                );
            }
        }
        ActorKind::Human => {
            if amounts.base > policy.rationale.required_above && rationale.is_none() {
                v.deny(ReasonCode::MissingRationale, Some(&policy.rationale.clause));
            }
            if m.approvals.iter().any(|a| a == actor_id) {
                v.deny(ReasonCode::DuplicateApprover, Some(&policy.dual_approval));
            }
            if closed {
                let others = m.approvals.iter().filter(|a| *a != actor_id).count();
                // The second distinct human completes the dual approval: allow.
                if others == 0 {
                    v.escalate(
                        ReasonCode::PeriodClosed,
                        Some(&policy.closed_periods.clause),
                        1,
                    );
                }
            }
        }
        ActorKind::Llm => {}
    }
}

fn post_adjustment(
    v: &mut Verdict<'_>,
    actor: &Actor,
    a: &request::AdjustmentView,
    rationale: Option<&str>,
    ctx: &Context,
    tier: Tier,
) {
    let policy = v.policy;
    if policy.entity(&a.entity).is_none() || a.accounts.is_empty() || a.amount.minor == 0 {
        v.deny(ReasonCode::StateInvalid, None);
    }
    if tier == Tier::T3 || is_closed(policy, ctx, &a.entity, YearMonth::of(a.date)) {
        v.escalate(
            ReasonCode::PeriodClosed,
            Some(&policy.closed_periods.clause),
            2,
        );
        v.escalate(
            ReasonCode::DualApprovalRequired,
            Some(&policy.dual_approval),
            2,
        );
        return;
    }
    let Some(base) = policy.to_base(a.amount.abs().to_decimal(), a.amount.currency, a.date) else {
        v.error();
        return;
    };
    match actor.kind {
        ActorKind::Human => {
            if base > policy.rationale.required_above && rationale.is_none() {
                v.deny(ReasonCode::MissingRationale, Some(&policy.rationale.clause));
            }
        }
        ActorKind::Engine | ActorKind::Llm => {
            let synthetic = Entry {
                entry_id: String::new(),
                side: Side::Gl,
                entity: a.entity.clone(),
                account: a.accounts.first().cloned().unwrap_or_default(),
                amount: a.amount,
                date: a.date,
                counterparty: None,
                reference: None,
            };
            if !materiality(v, &a.entity, base, &[&synthetic], a.date) {
                v.error();
            }
            forced_accounts(v, a.accounts.iter().map(String::as_str));
            if actor.kind == ActorKind::Llm {
                v.escalate(
                    ReasonCode::LlmProposalRequiresHuman,
                    Some(&policy.llm_proposals),
                    1,
                );
            }
        }
    }
}

fn approve(v: &mut Verdict<'_>, actor: &Actor, actor_id: &str, p: &request::PendingView) {
    let policy = v.policy;
    if !p.open {
        v.deny(ReasonCode::StateInvalid, None);
    }
    if p.requester == actor_id {
        v.deny(ReasonCode::SodSameActor, Some(v.sod()));
    }
    match actor.kind {
        ActorKind::Llm => v.deny(ReasonCode::LlmCannotApprove, Some(v.sod())),
        ActorKind::Engine => v.deny(ReasonCode::EngineCannotApprove, None),
        ActorKind::Human => {}
    }
    if p.approvals.iter().any(|a| a == actor_id) {
        v.deny(ReasonCode::DuplicateApprover, Some(&policy.dual_approval));
    }
    let needed: usize = if p.tier == Tier::T3 { 2 } else { 1 };
    let distinct_others = {
        let mut others: Vec<&String> = p.approvals.iter().filter(|a| *a != actor_id).collect();
        others.sort();
        others.dedup();
        others.len()
    };
    let remaining = needed.saturating_sub(distinct_others + 1);
    // A refused approval counts for nothing, so it does not report what is still needed.
    if remaining > 0 && !v.deny {
        v.escalate(
            ReasonCode::DualApprovalRequired,
            Some(&policy.dual_approval),
            u8::try_from(remaining).unwrap_or(u8::MAX),
        );
    }
}

#[cfg(test)]
mod tests;
