//! The policy and adversarial scenario format (`eval/policy/*.yaml`, `eval/adversarial/*.yaml`;
//! issue 5, documented in `docs/scenarios.md`): the serde model, the step-argument parser the
//! scenario runner uses as its request parser (its failures are `REQUEST_INVALID`), and
//! [`validate`], the static checks every scenario file must pass before it is run.
//!
//! No I/O and no evaluation: this module neither touches a store nor calls the gate.

use crate::gate::decision::ReasonCode;
use crate::gate::request::{Action, MatchClass};
use crate::ledger::EntryRecord;
use crate::money::{Currency, Money};
use crate::policy::model::YearMonth;
use chrono::NaiveDate;
use serde::Deserialize;
use std::fmt;

/// Longest accepted free-text argument (`rationale`, `note`), in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Most entry ids accepted in one id list.
pub const MAX_IDS: usize = 64;

/// One scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Unique name; equals the file stem.
    pub name: String,
    /// What the scenario shows, in one or two sentences.
    pub description: String,
    /// Adversarial category (adversarial suite only).
    #[serde(default)]
    pub category: Option<Category>,
    /// `null` = the seed policy, else a path relative to the scenario file.
    #[serde(default)]
    pub policy: Option<String>,
    /// `null` = the seed pack entries, else the scenario's own entries.
    #[serde(default)]
    pub entries: Option<Vec<EntryRecord>>,
    /// The steps, run in order; step numbers (`$N`) are 1-based.
    pub steps: Vec<Step>,
}

/// Adversarial categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// An agent issuing every forbidden action.
    InstructionHijack,
    /// An LLM claiming a human identity in its payload.
    RoleHijack,
    /// Requests for another entity's data by a scoped actor.
    Exfiltration,
    /// Mislabelled classes, confirming a rejected match, replaying a confirm.
    ActionConfusion,
    /// Malformed, oversized or unknown arguments.
    SchemaViolation,
    /// Direct DB writes to the audit table, policy edits mid-run.
    TransportBypass,
    /// One above-materiality item split into several smaller proposals.
    Structuring,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 7] = [
        Category::InstructionHijack,
        Category::RoleHijack,
        Category::Exfiltration,
        Category::ActionConfusion,
        Category::SchemaViolation,
        Category::TransportBypass,
        Category::Structuring,
    ];

    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Category::InstructionHijack => "instruction_hijack",
            Category::RoleHijack => "role_hijack",
            Category::Exfiltration => "exfiltration",
            Category::ActionConfusion => "action_confusion",
            Category::SchemaViolation => "schema_violation",
            Category::TransportBypass => "transport_bypass",
            Category::Structuring => "structuring",
        }
    }
}

/// One step: a gate action by an actor, or (adversarial only) a tamper.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Actor id from the (simulated) authenticated transport.
    #[serde(default)]
    pub actor: Option<String>,
    /// Action name as sent (may be unknown in schema-violation scenarios).
    #[serde(default)]
    pub action: Option<String>,
    /// Arguments as sent, unparsed (see [`parse_args`]).
    #[serde(default)]
    pub args: Option<serde_json::Value>,
    /// A non-gate step (transport bypass).
    #[serde(default)]
    pub tamper: Option<Tamper>,
    /// What must happen.
    pub expect: Expect,
}

/// A transport-bypass step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Tamper {
    /// Run one SQL statement directly on the store; `{audit_table}` is replaced by the audit
    /// table's name.
    Sql {
        /// The statement.
        sql: String,
    },
    /// Replace the policy file the run uses, from the next step on.
    PolicyEdit {
        /// Path of the new policy, relative to the scenario file.
        policy: String,
    },
}

/// Gate decisions as scenarios spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedDecision {
    /// `allow`.
    Allow,
    /// `require_approval`.
    RequireApproval,
    /// `deny`.
    Deny,
}

/// What a step must produce.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Gate steps: the decision.
    #[serde(default)]
    pub decision: Option<ExpectedDecision>,
    /// Gate steps: the reason codes, compared as a set (omitted = not checked).
    #[serde(default)]
    pub reasons: Option<Vec<String>>,
    /// Gate steps: approvals still needed (require_approval only).
    #[serde(default)]
    pub approvals_remaining: Option<u8>,
    /// Gate steps, optional: the tier (`T0`..`T3`) recorded on the decision and the event.
    #[serde(default)]
    pub tier: Option<String>,
    /// Tamper steps: whether the store refused the tamper.
    #[serde(default)]
    pub refused: Option<bool>,
}

/// A reference to a match or pending request: `$N` (created by step N) or a literal id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    /// The id created by step N (1-based).
    Step(usize),
    /// A literal id (unknown ids give `STATE_INVALID`).
    Id(String),
}

/// Parsed arguments of a gate step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepArgs {
    /// `propose_match {class, gl: [ids], sl: [ids]}`.
    ProposeMatch {
        /// Claimed class.
        class: MatchClass,
        /// GL entry ids.
        gl: Vec<String>,
        /// SL entry ids.
        sl: Vec<String>,
    },
    /// `confirm_match {match, rationale?}`.
    ConfirmMatch {
        /// The match.
        target: Ref,
        /// Rationale.
        rationale: Option<String>,
    },
    /// `reject_match {match}`.
    RejectMatch {
        /// The match.
        target: Ref,
    },
    /// `flag_exception {entries, note?}`.
    FlagException {
        /// Entry ids.
        entries: Vec<String>,
        /// Free-text note.
        note: Option<String>,
    },
    /// `post_adjustment {entity, accounts, amount, currency, date, rationale?}`.
    PostAdjustment {
        /// Entity id.
        entity: String,
        /// Accounts touched.
        accounts: Vec<String>,
        /// Signed amount.
        amount: Money,
        /// Posting date.
        date: NaiveDate,
        /// Rationale.
        rationale: Option<String>,
    },
    /// `close_period {entity, period}`.
    ClosePeriod {
        /// Entity id.
        entity: String,
        /// Period.
        period: YearMonth,
    },
    /// `reopen_period {entity, period}`.
    ReopenPeriod {
        /// Entity id.
        entity: String,
        /// Period.
        period: YearMonth,
    },
    /// `approve_action {request, rationale?}`.
    ApproveAction {
        /// The pending request.
        target: Ref,
        /// Rationale.
        rationale: Option<String>,
    },
}

/// Why step arguments are invalid (the runner records `REQUEST_INVALID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(pub String);

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, ArgError> {
    Err(ArgError(msg.into()))
}

/// Parses a step's action and arguments: the request parser of the scenario runner.
/// Every failure is `REQUEST_INVALID` (unknown action, unknown key, wrong type, malformed id,
/// text over [`MAX_TEXT_CHARS`], list over [`MAX_IDS`]).
pub fn parse_args(action: &str, args: Option<&serde_json::Value>) -> Result<StepArgs, ArgError> {
    let Some(action) = Action::parse(action) else {
        return err(format!("unknown action `{}`", truncate(action)));
    };
    let empty = serde_json::Map::new();
    let map = match args {
        None | Some(serde_json::Value::Null) => &empty,
        Some(serde_json::Value::Object(m)) => m,
        Some(_) => return err("`args` must be a mapping"),
    };
    let allowed: &[&str] = match action {
        Action::ProposeMatch => &["class", "gl", "sl"],
        Action::ConfirmMatch => &["match", "rationale"],
        Action::RejectMatch => &["match"],
        Action::FlagException => &["entries", "note"],
        Action::PostAdjustment => &[
            "entity",
            "accounts",
            "amount",
            "currency",
            "date",
            "rationale",
        ],
        Action::ClosePeriod | Action::ReopenPeriod => &["entity", "period"],
        Action::ApproveAction => &["request", "rationale"],
    };
    if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return err(format!("unknown argument `{}`", truncate(k)));
    }
    let a = Args(map);
    Ok(match action {
        Action::ProposeMatch => {
            let class = a.string("class")?;
            StepArgs::ProposeMatch {
                class: MatchClass::parse(&class)
                    .ok_or_else(|| ArgError(format!("unknown class `{}`", truncate(&class))))?,
                gl: a.ids("gl", true)?,
                sl: a.ids("sl", true)?,
            }
        }
        Action::ConfirmMatch => StepArgs::ConfirmMatch {
            target: a.reference("match")?,
            rationale: a.text("rationale")?,
        },
        Action::RejectMatch => StepArgs::RejectMatch {
            target: a.reference("match")?,
        },
        Action::FlagException => StepArgs::FlagException {
            entries: a.ids("entries", false)?,
            note: a.text("note")?,
        },
        Action::PostAdjustment => {
            let code = a.string("currency")?;
            let currency = Currency::from_code(&code)
                .ok_or_else(|| ArgError(format!("unknown currency `{}`", truncate(&code))))?;
            let amount = Money::parse(&a.string("amount")?, currency)
                .map_err(|e| ArgError(format!("`amount`: {e}")))?;
            let date = NaiveDate::parse_from_str(&a.string("date")?, "%Y-%m-%d")
                .map_err(|_| ArgError("`date` must be YYYY-MM-DD".into()))?;
            let accounts = a.list("accounts", false)?;
            if let Some(bad) = accounts.iter().find(|s| !valid_account(s)) {
                return err(format!("malformed account `{}`", truncate(bad)));
            }
            StepArgs::PostAdjustment {
                entity: a.id("entity")?,
                accounts,
                amount,
                date,
                rationale: a.text("rationale")?,
            }
        }
        Action::ClosePeriod | Action::ReopenPeriod => {
            let entity = a.id("entity")?;
            let p = a.string("period")?;
            let period =
                YearMonth::parse(&p).ok_or_else(|| ArgError("`period` must be YYYY-MM".into()))?;
            if action == Action::ClosePeriod {
                StepArgs::ClosePeriod { entity, period }
            } else {
                StepArgs::ReopenPeriod { entity, period }
            }
        }
        Action::ApproveAction => StepArgs::ApproveAction {
            target: a.reference("request")?,
            rationale: a.text("rationale")?,
        },
    })
}

/// Whether an id is well formed: 1..=64 characters of `A-Z a-z 0-9 . _ -`.
pub fn valid_id(id: &str) -> bool {
    crate::seed::valid_id(id)
}

fn valid_account(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 16
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
}

fn truncate(s: &str) -> String {
    let mut t: String = s.chars().take(64).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

struct Args<'a>(&'a serde_json::Map<String, serde_json::Value>);

impl Args<'_> {
    fn string(&self, k: &str) -> Result<String, ArgError> {
        match self.0.get(k) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => err(format!("`{k}` must be a string")),
            None => err(format!("missing argument `{k}`")),
        }
    }

    fn id(&self, k: &str) -> Result<String, ArgError> {
        let s = self.string(k)?;
        if valid_id(&s) {
            Ok(s)
        } else {
            err(format!("malformed `{k}` `{}`", truncate(&s)))
        }
    }

    fn text(&self, k: &str) -> Result<Option<String>, ArgError> {
        match self.0.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) if s.chars().count() <= MAX_TEXT_CHARS => {
                Ok(Some(s.clone()))
            }
            Some(serde_json::Value::String(_)) => {
                err(format!("`{k}` is longer than {MAX_TEXT_CHARS} characters"))
            }
            Some(_) => err(format!("`{k}` must be a string")),
        }
    }

    fn list(&self, k: &str, may_be_empty: bool) -> Result<Vec<String>, ArgError> {
        let Some(v) = self.0.get(k) else {
            return err(format!("missing argument `{k}`"));
        };
        let Some(items) = v.as_array() else {
            return err(format!("`{k}` must be a list"));
        };
        if items.len() > MAX_IDS {
            return err(format!("`{k}` has more than {MAX_IDS} items"));
        }
        if items.is_empty() && !may_be_empty {
            return err(format!("`{k}` is empty"));
        }
        let mut out = Vec::with_capacity(items.len());
        for i in items {
            let Some(s) = i.as_str() else {
                return err(format!("`{k}` must be a list of strings"));
            };
            if out.iter().any(|o: &String| o == s) {
                return err(format!("`{k}` lists `{}` twice", truncate(s)));
            }
            out.push(s.to_string());
        }
        Ok(out)
    }

    fn ids(&self, k: &str, may_be_empty: bool) -> Result<Vec<String>, ArgError> {
        let ids = self.list(k, may_be_empty)?;
        if let Some(bad) = ids.iter().find(|s| !valid_id(s)) {
            return err(format!("malformed id `{}` in `{k}`", truncate(bad)));
        }
        Ok(ids)
    }

    fn reference(&self, k: &str) -> Result<Ref, ArgError> {
        let s = self.string(k)?;
        if let Some(n) = s.strip_prefix('$') {
            // `$1`, `$12`; not `$0`, `$01`, `$+1` or `$`.
            return match n.parse::<usize>() {
                Ok(k) if k >= 1 && k.to_string() == n => Ok(Ref::Step(k)),
                _ => err(format!("malformed step reference `{}`", truncate(&s))),
            };
        }
        if valid_id(&s) {
            Ok(Ref::Id(s))
        } else {
            err(format!("malformed `{k}` `{}`", truncate(&s)))
        }
    }
}

/// Which suite a scenario belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    /// `eval/policy/`.
    Policy,
    /// `eval/adversarial/`.
    Adversarial,
}

/// Parses a scenario file; errors name `file:line:col`.
pub fn parse(file: &str, src: &[u8]) -> Result<Scenario, String> {
    serde_saphyr::from_slice(src).map_err(|e| match e.location() {
        Some(l) if l.line() > 0 => format!(
            "{file}:{}:{}: {}",
            l.line(),
            l.column(),
            crate::seed::yaml_message(&e)
        ),
        _ => format!("{file}: {}", crate::seed::yaml_message(&e)),
    })
}

fn is_request_invalid(e: &Expect) -> bool {
    e.decision == Some(ExpectedDecision::Deny)
        && e.reasons.as_deref() == Some(&["REQUEST_INVALID".to_string()][..])
}

/// Static checks of one scenario: every problem found, as `step N: …` messages.
///
/// - the suite's shape (`category` present exactly in the adversarial suite; tampers only there);
/// - every gate step has an actor, an action and a decision; every tamper step `refused`;
/// - arguments parse with [`parse_args`] unless the step expects exactly `deny [REQUEST_INVALID]`,
///   and a step expecting that has arguments that do not parse (so the expectation is honest);
/// - reason codes exist; `approvals_remaining` (1 or 2) only with `require_approval`;
/// - `$N` points to an earlier gate step: for `match`, a `propose_match` expected to allow;
///   for `request`, a `post_adjustment`, `close_period` or `reopen_period` expected to
///   require approval.
pub fn validate(s: &Scenario, suite: Suite) -> Vec<String> {
    let mut out = Vec::new();
    match (suite, s.category) {
        (Suite::Policy, Some(_)) => out.push("`category` is only for adversarial scenarios".into()),
        (Suite::Adversarial, None) => out.push("missing `category`".into()),
        _ => {}
    }
    if s.name.trim().is_empty() || s.description.trim().is_empty() {
        out.push("empty `name` or `description`".into());
    }
    if s.steps.is_empty() {
        out.push("no steps".into());
    }
    for (i, step) in s.steps.iter().enumerate() {
        let n = i + 1;
        let mut p = |m: String| out.push(format!("step {n}: {m}"));
        let e = &step.expect;
        if let Some(t) = &step.tamper {
            if suite == Suite::Policy {
                p("tamper steps are only for adversarial scenarios".into());
            }
            if step.actor.is_some() || step.action.is_some() || step.args.is_some() {
                p("a tamper step has no actor, action or args".into());
            }
            if e.refused.is_none() || e.decision.is_some() || e.reasons.is_some() {
                p("a tamper step expects `refused` only".into());
            }
            if let Tamper::Sql { sql } = t {
                if sql.trim().is_empty() {
                    p("empty sql".into());
                }
            }
            continue;
        }
        if step.actor.is_none() {
            p("missing `actor`".into());
        }
        let Some(action) = &step.action else {
            p("missing `action` (or `tamper`)".into());
            continue;
        };
        let Some(decision) = e.decision else {
            p("missing `expect.decision`".into());
            continue;
        };
        if e.refused.is_some() {
            p("`refused` is for tamper steps".into());
        }
        for r in e.reasons.iter().flatten() {
            if ReasonCode::parse(r).is_none() {
                p(format!("unknown reason code `{r}`"));
            }
        }
        match (decision, e.approvals_remaining) {
            (ExpectedDecision::RequireApproval, Some(1 | 2)) | (_, None) => {}
            (ExpectedDecision::RequireApproval, Some(k)) => {
                p(format!("approvals_remaining {k} is not 1 or 2"))
            }
            _ => p("approvals_remaining is only for require_approval".into()),
        }
        if let Some(t) = &e.tier {
            if !["T0", "T1", "T2", "T3"].contains(&t.as_str()) {
                p(format!("unknown tier `{t}`"));
            }
        }
        let parsed = parse_args(action, step.args.as_ref());
        match (&parsed, is_request_invalid(e)) {
            (Err(why), false) => p(format!("arguments do not parse ({why}) but the step does not expect deny [REQUEST_INVALID]")),
            (Ok(_), true) => p("expects REQUEST_INVALID but the arguments parse".into()),
            _ => {}
        }
        let target = match &parsed {
            Ok(StepArgs::ConfirmMatch { target, .. }) | Ok(StepArgs::RejectMatch { target }) => {
                Some(("match", target))
            }
            Ok(StepArgs::ApproveAction { target, .. }) => Some(("request", target)),
            _ => None,
        };
        if let Some((kind, Ref::Step(k))) = target {
            let k = *k;
            let earlier = (k < n).then(|| &s.steps[k - 1]);
            let ok = earlier.is_some_and(|st| {
                let act = st.action.as_deref().and_then(Action::parse);
                let dec = st.expect.decision;
                match kind {
                    "match" => {
                        act == Some(Action::ProposeMatch) && dec == Some(ExpectedDecision::Allow)
                    }
                    _ => {
                        matches!(
                            act,
                            Some(
                                Action::PostAdjustment | Action::ClosePeriod | Action::ReopenPeriod
                            )
                        ) && dec == Some(ExpectedDecision::RequireApproval)
                    }
                }
            });
            if !ok {
                p(format!(
                    "`${k}` does not name an earlier step that creates a {kind}"
                ));
            }
        }
    }
    out
}
