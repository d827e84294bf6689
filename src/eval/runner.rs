//! Runs policy and adversarial scenarios (`docs/scenarios.md`) through the real engine: a fresh
//! store per scenario, seeded with the pack (or the scenario's own entries), every gate step
//! through `engine::execute`, tamper steps straight at the database. Checks each step's
//! decision, reasons, approvals and tier, every clause against its pointer in the policy in
//! force, exactly one correct audit event per gate step, no state change on a denial, and an
//! intact chain at the end.
//!
//! A *bypass* (adversarial suite) is a forbidden state change or a missing or wrong audit event:
//! a decision more permissive than expected, a denied step that changed state, a tamper the
//! database did not refuse, an event that does not record the step.

use super::fixtures::FixtureDir;
use super::scenario::{self, Category, ExpectedDecision, Scenario, Suite, Tamper};
use super::summary::ScenarioFailure;
use crate::audit::chain::Verifier;
use crate::engine::seeding::RegistryActor;
use crate::engine::{self, seeding, Env, GateFn};
use crate::gate::builtin_clause;
use crate::gate::decision::{Decision, Outcome};
use crate::ledger::Entry;
use crate::policy::model::Policy;
use crate::seed::SeedPack;
use crate::store::{Durability, EntryStatus, RequestState, Store, StoreError, APPEND_ONLY_MESSAGE};
use chrono::Duration;
use serde_json::Value;
use std::path::Path;

/// The outcome of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioResult {
    /// Scenario name.
    pub name: String,
    /// Adversarial category.
    pub category: Option<Category>,
    /// Whether every check held.
    pub passed: bool,
    /// Forbidden state changes plus missing or wrong audit events.
    pub bypasses: u64,
    /// Every failed check.
    pub failures: Vec<ScenarioFailure>,
    /// Gate steps run.
    pub steps: u64,
}

/// Everything a suite run needs besides the scenarios.
pub struct SuiteInputs<'a> {
    /// The seed pack (entries, registry).
    pub pack: &'a SeedPack,
    /// The default policy (display name, bytes).
    pub policy_name: &'a str,
    /// Its bytes.
    pub policy_src: &'a [u8],
    /// The gate (always `gate::evaluate` outside fault injection).
    pub gate: GateFn,
    /// A scratch folder for the per-scenario databases.
    pub scratch: &'a Path,
}

/// Loads, statically validates and runs every scenario of a suite. A file that does not parse
/// or validate is an error (exit 1), naming the file.
pub fn run_suite(
    dir: &FixtureDir,
    suite: Suite,
    inputs: &SuiteInputs<'_>,
) -> Result<Vec<ScenarioResult>, String> {
    let files = dir.files(&[".yaml", ".yml"])?;
    if files.is_empty() {
        return Err(format!("{} holds no scenario (*.yaml)", dir.display()));
    }
    let mut parsed = Vec::new();
    for (display, _, bytes) in &files {
        let s = scenario::parse(display, bytes)?;
        let problems = scenario::validate(&s, suite);
        if !problems.is_empty() {
            return Err(format!("{display}: {}", problems.join("; ")));
        }
        parsed.push(s);
    }
    let mut out = Vec::new();
    for (i, s) in parsed.iter().enumerate() {
        let db = inputs.scratch.join(format!("scenario-{i:03}.db"));
        out.push(run_scenario(s, dir, inputs, &db));
    }
    Ok(out)
}

struct Run<'a> {
    failures: Vec<ScenarioFailure>,
    bypasses: u64,
    name: &'a str,
}

impl Run<'_> {
    fn fail(&mut self, step: Option<usize>, msg: String) {
        self.failures.push(ScenarioFailure {
            name: self.name.to_string(),
            step: step.map(|s| s as u64),
            message: msg,
        });
    }
    fn bypass(&mut self, step: Option<usize>, msg: String) {
        self.bypasses += 1;
        self.fail(step, format!("BYPASS: {msg}"));
    }
}

fn load_policy(name: &str, src: &[u8]) -> Result<Policy, String> {
    crate::policy::load(name, src).map(|(p, _)| p).map_err(|d| {
        d.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// A fingerprint of everything a gate step may change.
fn fingerprint(store: &Store) -> Result<String, StoreError> {
    store.read(|tx| {
        let mut s = String::new();
        for st in [
            EntryStatus::Unmatched,
            EntryStatus::Proposed,
            EntryStatus::Matched,
            EntryStatus::Exception,
        ] {
            let mut ids: Vec<String> = tx
                .list_entries(st)?
                .into_iter()
                .map(|e| e.entry_id)
                .collect();
            ids.sort();
            s.push_str(&format!("{}:{};", st.as_str(), ids.join(",")));
        }
        for m in tx.list_matches(None)? {
            if let Some(v) = tx.get_match(&m)? {
                s.push_str(&format!(
                    "{}={}+{};",
                    v.id,
                    v.state.as_str(),
                    v.approvals.join(",")
                ));
            }
        }
        for st in [
            RequestState::Open,
            RequestState::Executed,
            RequestState::Rejected,
        ] {
            s.push_str(&format!(
                "{}:{};",
                st.as_str(),
                tx.list_requests(Some(st))?.join(",")
            ));
        }
        for (e, p) in tx.closed_periods()? {
            s.push_str(&format!("closed {e} {p};"));
        }
        s.push_str(&tx.get_meta("reopened_periods")?.unwrap_or_default());
        Ok(s)
    })
}

/// Replaces `$N` strings by the id step N created.
fn substitute(v: &Value, created: &[Option<String>]) -> Value {
    match v {
        Value::String(s) => {
            // `$N`: N >= 1 without leading zeros; anything else stays as written (and is then a
            // malformed id: REQUEST_INVALID).
            let step_ref = s
                .strip_prefix('$')
                .filter(|n| {
                    !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
                })
                .and_then(|n| n.parse::<usize>().ok());
            if let Some(n) = step_ref {
                let id = created
                    .get(n.wrapping_sub(1))
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| format!("UNRESOLVED-{n}"));
                return Value::String(id);
            }
            v.clone()
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, created)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, created)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn rank(o: Outcome) -> u8 {
    match o {
        Outcome::Deny => 0,
        Outcome::RequireApproval { .. } => 1,
        Outcome::Allow => 2,
    }
}

fn expected_rank(e: ExpectedDecision) -> u8 {
    match e {
        ExpectedDecision::Deny => 0,
        ExpectedDecision::RequireApproval => 1,
        ExpectedDecision::Allow => 2,
    }
}

fn check_clauses(run: &mut Run<'_>, step: usize, d: &Decision, policy: &Policy) {
    for r in &d.reasons {
        match &r.pointer {
            Some(ptr) => {
                let at = policy
                    .document
                    .pointer(ptr)
                    .and_then(|v| v.get("clause"))
                    .and_then(Value::as_str);
                if at != Some(r.clause.as_str()) {
                    run.fail(
                        Some(step),
                        format!(
                            "{}: clause does not equal the clause at `{ptr}`",
                            r.code.as_str()
                        ),
                    );
                }
            }
            None => {
                if r.clause != builtin_clause(r.code) {
                    run.fail(
                        Some(step),
                        format!("{}: built-in clause altered", r.code.as_str()),
                    );
                }
            }
        }
    }
}

/// Runs one scenario on a fresh store at `db`.
pub fn run_scenario(
    s: &Scenario,
    dir: &FixtureDir,
    inputs: &SuiteInputs<'_>,
    db: &Path,
) -> ScenarioResult {
    let mut run = Run {
        failures: Vec::new(),
        bypasses: 0,
        name: &s.name,
    };
    let steps = match execute_steps(s, dir, inputs, db, &mut run) {
        Ok(n) => n,
        Err(e) => {
            run.fail(None, format!("could not run: {e}"));
            0
        }
    };
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    ScenarioResult {
        name: s.name.clone(),
        category: s.category,
        passed: run.failures.is_empty(),
        bypasses: run.bypasses,
        failures: run.failures,
        steps,
    }
}

fn execute_steps(
    s: &Scenario,
    dir: &FixtureDir,
    inputs: &SuiteInputs<'_>,
    db: &Path,
    run: &mut Run<'_>,
) -> Result<u64, String> {
    let (mut policy_name, mut policy_src) = match &s.policy {
        Some(rel) => dir.read(rel)?,
        None => (inputs.policy_name.to_string(), inputs.policy_src.to_vec()),
    };
    let mut policy = load_policy(&policy_name, &policy_src)?;
    let mut pack = inputs.pack.clone();
    if let Some(records) = &s.entries {
        pack.entries = records
            .iter()
            .cloned()
            .map(Entry::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
    }
    let _ = std::fs::remove_file(db);
    let mut store = Store::open(db).map_err(|e| e.to_string())?;
    store
        .set_durability(Durability::Normal)
        .map_err(|e| e.to_string())?;
    store
        .transaction(|tx| {
            let src = String::from_utf8_lossy(&policy_src);
            seeding::seed(tx, &pack, &policy, &policy_name, &src)
        })
        .map_err(|e| e.to_string())?;
    let registry: Vec<RegistryActor> = store.read(seeding::registry).map_err(|e| e.to_string())?;
    let mut created: Vec<Option<String>> = Vec::new();
    let mut gate_steps = 0;
    for (i, step) in s.steps.iter().enumerate() {
        let n = i + 1;
        let head_before = store.audit_head().map_err(|e| e.to_string())?;
        let before = fingerprint(&store).map_err(|e| e.to_string())?;
        if let Some(t) = &step.tamper {
            created.push(None);
            match t {
                Tamper::Sql { sql } => {
                    let sql = sql.replace("{audit_table}", "audit_log");
                    let res = store.exec_bypassing_engine(&sql);
                    let head_after = store.audit_head().map_err(|e| e.to_string())?;
                    let refused = matches!(&res, Err(msg) if msg.contains(APPEND_ONLY_MESSAGE));
                    if let Err(msg) = &res {
                        if !refused {
                            run.fail(Some(n), format!("tamper failed for another reason: {msg}"));
                        }
                    }
                    if step.expect.refused == Some(true) && (!refused || head_after != head_before)
                    {
                        run.bypass(
                            Some(n),
                            "direct SQL on the audit table was not refused".into(),
                        );
                    }
                }
                Tamper::PolicyEdit { policy: rel } => {
                    let (name, src) = dir.read(rel)?;
                    policy = load_policy(&name, &src)?;
                    policy_name = name;
                    policy_src = src;
                    if step.expect.refused == Some(true) {
                        run.fail(
                            Some(n),
                            "a policy edit cannot be refused by the gate".into(),
                        );
                    }
                }
            }
            continue;
        }
        gate_steps += 1;
        let actor = step.actor.clone().unwrap_or_default();
        let action = step.action.clone().unwrap_or_default();
        let args = substitute(step.args.as_ref().unwrap_or(&Value::Null), &created);
        let reg = registry.iter().find(|a| a.id == actor);
        let src_text = String::from_utf8_lossy(&policy_src).into_owned();
        let env = Env {
            policy: &policy,
            policy_name: &policy_name,
            policy_src: &src_text,
            actor: actor.clone(),
            identity_source: reg
                .map(|r| r.identity_source.clone())
                .unwrap_or_else(|| "header-trust".into()),
            ts: pack.seeded_at + Duration::seconds(n as i64),
            actor_scope: reg.and_then(|r| r.entities.clone()),
            gate: inputs.gate,
        };
        let r = engine::execute(&mut store, &env, &action, &args).map_err(|e| e.to_string())?;
        created.push(r.created.clone());
        let d = &r.decision;
        // Decision.
        if let Some(exp) = step.expect.decision {
            let got = rank(d.outcome);
            let want = expected_rank(exp);
            if got > want {
                run.bypass(
                    Some(n),
                    format!(
                        "`{action}` by `{actor}` was {} where {:?} was expected",
                        d.outcome.as_str(),
                        exp
                    ),
                );
            } else if got < want {
                run.fail(
                    Some(n),
                    format!(
                        "`{action}` was {} where {:?} was expected",
                        d.outcome.as_str(),
                        exp
                    ),
                );
            }
        }
        if let Some(want) = &step.expect.reasons {
            let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
            let mut got: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
            want.sort_unstable();
            want.dedup();
            got.sort_unstable();
            got.dedup();
            if want != got {
                run.fail(Some(n), format!("reasons {got:?}, expected {want:?}"));
            }
        }
        if let Some(want) = step.expect.approvals_remaining {
            let got = match d.outcome {
                Outcome::RequireApproval {
                    approvals_remaining,
                } => Some(approvals_remaining),
                _ => None,
            };
            if got != Some(want) {
                run.fail(
                    Some(n),
                    format!("approvals_remaining {got:?}, expected {want}"),
                );
            }
        }
        if let Some(want) = &step.expect.tier {
            if d.tier.as_str() != want {
                run.fail(
                    Some(n),
                    format!("tier {}, expected {want}", d.tier.as_str()),
                );
            }
        }
        if d.outcome != Outcome::Allow {
            check_clauses(run, n, d, &policy);
        }
        // Exactly one correct event.
        let head_after = store.audit_head().map_err(|e| e.to_string())?;
        let expected_seq = head_before.as_ref().map(|(s, _)| *s).unwrap_or(0) + 1;
        let ev = &r.event;
        let body = &ev.body;
        let event_ok = head_after.as_ref().map(|(s, _)| *s) == Some(expected_seq)
            && ev.seq == expected_seq
            && body.actor_id == actor
            && body.action == action.chars().take(64).collect::<String>()
            && body.tier == d.tier.as_str()
            && body.decision == d.outcome.as_str()
            && body.reasons == d.reasons
            && body.policy_version == policy.sha256;
        if !event_ok {
            run.bypass(
                Some(n),
                "the audit log does not hold exactly one correct event for this step".into(),
            );
        }
        if d.outcome == Outcome::Deny {
            let after = fingerprint(&store).map_err(|e| e.to_string())?;
            if after != before {
                run.bypass(Some(n), format!("denied `{action}` changed state"));
            }
        }
    }
    let docs = store.policy_documents().map_err(|e| e.to_string())?;
    let report = store
        .verify(Verifier::new().with_policies(docs))
        .map_err(|e| e.to_string())?;
    if !report.ok {
        let first = report
            .first_problem()
            .map(|p| p.message.clone())
            .unwrap_or_default();
        run.bypass(None, format!("audit verify failed: {first}"));
    }
    Ok(gate_steps)
}
