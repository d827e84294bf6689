//! `recon run`: one matcher pass over the unmatched entries, through the engine. The matcher
//! (`engine:recon`) proposes each group (T0); a distinct engine actor, `engine:autoconfirm`,
//! then attempts the auto-confirm through the gate, which allows it or routes it to
//! PENDING_APPROVAL with its clauses. A distinct actor keeps segregation of duties intact even
//! on the automated path. Ambiguous entries are flagged as exceptions with the candidate ids,
//! so a human decides. Every action is its own transaction with its own audit event.

use super::{execute, ActionResult, EngineError, Env, GateFn};
use crate::gate::decision::Outcome;
use crate::policy::model::Policy;
use crate::recon::{reconcile, ExceptionReason, MatchConfig};
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The proposing actor.
pub const RECON_ACTOR: &str = "engine:recon";
/// The auto-confirming actor (distinct from the proposer).
pub const AUTOCONFIRM_ACTOR: &str = "engine:autoconfirm";

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconRunReport {
    /// Unmatched entries the matcher saw.
    pub unmatched_before: u64,
    /// Groups proposed, by class.
    pub proposed: BTreeMap<String, u64>,
    /// Decisions, by `action/decision`.
    pub decisions: BTreeMap<String, u64>,
    /// Entries flagged AMBIGUOUS.
    pub ambiguous_flagged: u64,
    /// Entries left unmatched (no candidate).
    pub unmatched_after: u64,
}

/// Who, when and under which policy the pass runs.
pub struct ReconRunEnv<'a> {
    /// Policy in force.
    pub policy: &'a Policy,
    /// Its display name.
    pub policy_name: &'a str,
    /// Its text.
    pub policy_src: &'a str,
    /// Time recorded on the events.
    pub ts: DateTime<Utc>,
    /// The gate.
    pub gate: GateFn,
}

/// Receives each action's name and wall time.
pub type Observer<'a> = &'a mut dyn FnMut(&str, Duration);

/// Runs one pass. `observe`, when given, receives each action's wall time (for the latency
/// eval); it never influences a decision.
pub fn run(
    store: &mut Store,
    env: &ReconRunEnv<'_>,
    mut observe: Option<Observer<'_>>,
) -> Result<ReconRunReport, EngineError> {
    let unmatched = store.read(|tx| tx.list_unmatched())?;
    let mut report = ReconRunReport {
        unmatched_before: unmatched.len() as u64,
        ..Default::default()
    };
    let result = reconcile(&unmatched, &MatchConfig::from_policy(env.policy));
    let actor_env = |actor: &str| Env {
        policy: env.policy,
        policy_name: env.policy_name,
        policy_src: env.policy_src,
        actor: actor.to_string(),
        identity_source: "engine".to_string(),
        ts: env.ts,
        actor_scope: None,
        gate: env.gate,
    };
    let recon = actor_env(RECON_ACTOR);
    let auto = actor_env(AUTOCONFIRM_ACTOR);
    let mut step = |store: &mut Store,
                    e: &Env<'_>,
                    action: &str,
                    args: serde_json::Value|
     -> Result<ActionResult, EngineError> {
        let t = observe.is_some().then(Instant::now);
        let r = execute(store, e, action, &args)?;
        if let (Some(f), Some(t)) = (observe.as_mut(), t) {
            f(action, t.elapsed());
        }
        Ok(r)
    };
    let count = |report: &mut ReconRunReport, action: &str, o: Outcome| {
        *report
            .decisions
            .entry(format!("{action}/{}", o.as_str()))
            .or_insert(0) += 1;
    };
    for g in &result.groups {
        let class = g.class.as_str();
        let r = step(
            store,
            &recon,
            "propose_match",
            json!({"class": class, "gl": g.gl, "sl": g.sl}),
        )?;
        count(&mut report, "propose_match", r.decision.outcome);
        let Some(match_id) = r.created else { continue };
        *report.proposed.entry(class.to_string()).or_insert(0) += 1;
        let c = step(store, &auto, "confirm_match", json!({"match": match_id}))?;
        count(&mut report, "confirm_match", c.decision.outcome);
    }
    let mut ambiguous: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for x in &result.exceptions {
        match &x.reason {
            ExceptionReason::Ambiguous { candidates } => {
                ambiguous
                    .entry(candidates.clone())
                    .or_default()
                    .push(x.entry_id.clone());
            }
            ExceptionReason::Unmatched => report.unmatched_after += 1,
        }
    }
    for (candidates, entries) in ambiguous {
        let note = format!(
            "AMBIGUOUS: equally good candidates {}",
            candidates.join(", ")
        );
        let r = step(
            store,
            &recon,
            "flag_exception",
            json!({"entries": entries, "note": note}),
        )?;
        count(&mut report, "flag_exception", r.decision.outcome);
        if r.decision.outcome == Outcome::Allow {
            report.ambiguous_flagged += entries.len() as u64;
        }
    }
    Ok(report)
}
