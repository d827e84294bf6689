//! `closegate-engine validate`: runs every check in [`CHECKS`] and reports all findings.
//!
//! Text format: each finding on stderr (`file:line:col: error[P012]: ...` plus its hint line),
//! then one summary line per check on stdout. JSON format: one array of every finding on
//! stdout. Exit 0 when no check found an error (warnings allowed), 2 when any did, 1 when a
//! check could not run (e.g. the policy file cannot be read).
//!
//! To add a check (seed data, audit chain), write a `fn(&Inputs) -> anyhow::Result<CheckOutcome>`
//! and append it to [`CHECKS`]; nothing else changes.

use crate::cli::{Format, ValidateArgs};
use crate::exit::ExitStatus;
use crate::policy::{Diagnostic, Severity};
use std::path::Path;

/// What the checks may look at (global options).
pub struct Inputs<'a> {
    /// `--policy`, if given.
    pub policy: Option<&'a Path>,
    /// `--db`: its audit chain is verified when the file exists.
    pub db: &'a Path,
}

/// One problem a check found, already rendered for both formats.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Human form (may span two lines: message and `= help:` hint).
    pub text: String,
    /// JSON form: an object with at least `file`, `line`, `col`, `severity`, `code`,
    /// `message`, `hint`.
    pub json: serde_json::Value,
}

impl From<&Diagnostic> for Finding {
    fn from(d: &Diagnostic) -> Finding {
        Finding {
            severity: d.severity,
            text: d.to_string(),
            json: serde_json::to_value(d).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// What one check found.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// One line for stdout, e.g. `policy OK: <name> (sha256 <hex>)`.
    pub summary: String,
    /// Every finding, errors and warnings.
    pub findings: Vec<Finding>,
}

impl CheckOutcome {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }
}

/// A validate check.
pub type Check = fn(&Inputs) -> anyhow::Result<CheckOutcome>;

/// Every check `validate` runs, in order.
pub const CHECKS: &[Check] = &[check_policy, check_seed, check_audit];

/// Runs `validate`.
pub fn run(policy: Option<&Path>, db: &Path, args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    let inputs = Inputs { policy, db };
    let mut outcomes = Vec::new();
    for check in CHECKS {
        outcomes.push(check(&inputs)?);
    }
    let failed = outcomes.iter().any(|o| o.errors() > 0);
    match args.format {
        Format::Text => {
            for o in &outcomes {
                for f in &o.findings {
                    eprintln!("{}", f.text);
                }
            }
            for o in &outcomes {
                println!("{}", o.summary);
            }
        }
        Format::Json => {
            let all: Vec<&serde_json::Value> = outcomes
                .iter()
                .flat_map(|o| o.findings.iter().map(|f| &f.json))
                .collect();
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
    }
    Ok(if failed {
        ExitStatus::CheckFailed
    } else {
        ExitStatus::Ok
    })
}

/// The policy check: every diagnostic of `policy::load`.
pub fn check_policy(inputs: &Inputs) -> anyhow::Result<CheckOutcome> {
    let (name, bytes) = super::resolve_policy(inputs.policy)?;
    let plural = super::plural;
    Ok(match crate::policy::load(&name, &bytes) {
        Ok((policy, warnings)) => {
            let w = warnings.len();
            let with = if w == 0 {
                String::new()
            } else {
                format!(" with {w} warning{}", plural(w))
            };
            CheckOutcome {
                summary: format!(
                    "policy OK{with}: {} `{}` (sha256 {})",
                    name, policy.name, policy.sha256
                ),
                findings: warnings.iter().map(Finding::from).collect(),
            }
        }
        Err(diags) => {
            let e = diags.iter().filter(|d| d.is_error()).count();
            let w = diags.len() - e;
            CheckOutcome {
                summary: format!(
                    "policy INVALID: {name}: {e} error{}, {w} warning{}",
                    plural(e),
                    plural(w)
                ),
                findings: diags.iter().map(Finding::from).collect(),
            }
        }
    })
}

fn finding(severity: Severity, file: &str, code: &str, message: String) -> Finding {
    let sev = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    Finding {
        severity,
        text: format!("{file}: {sev}[{code}]: {message}"),
        json: serde_json::json!({"file": file, "line": null, "col": null, "severity": sev,
            "code": code, "message": message, "hint": ""}),
    }
}

/// The seed data check: the embedded `saas` pack against the policy in force (entities,
/// accounts, fx rates, actors, unique ids). Skipped when the policy itself is invalid.
pub fn check_seed(inputs: &Inputs) -> anyhow::Result<CheckOutcome> {
    let (name, bytes) = super::resolve_policy(inputs.policy)?;
    let Ok((policy, _)) = crate::policy::load(&name, &bytes) else {
        return Ok(CheckOutcome {
            summary: "seed: skipped (the policy is invalid)".into(),
            findings: vec![],
        });
    };
    let pack = match crate::seed::load_embedded("saas") {
        Ok(p) => p,
        Err(e) => {
            return Ok(CheckOutcome {
                summary: "seed INVALID: pack `saas` does not load".into(),
                findings: vec![finding(
                    Severity::Error,
                    "embedded:seed/saas",
                    "S001",
                    e.to_string(),
                )],
            })
        }
    };
    let problems = crate::seed::check(&pack, &policy);
    Ok(CheckOutcome {
        summary: if problems.is_empty() {
            format!(
                "seed OK: pack `{}`, {} entries (sha256 {})",
                pack.name,
                pack.entries.len(),
                pack.content_hash
            )
        } else {
            format!(
                "seed INVALID: pack `{}`: {} problem(s)",
                pack.name,
                problems.len()
            )
        },
        findings: problems
            .iter()
            .map(|p| finding(Severity::Error, &p.file, "S002", p.message.clone()))
            .collect(),
    })
}

/// The audit chain check: `audit verify` on `--db` when it exists.
pub fn check_audit(inputs: &Inputs) -> anyhow::Result<CheckOutcome> {
    let db = inputs.db;
    if !db.exists() {
        return Ok(CheckOutcome {
            summary: format!("audit: no database at `{}` (skipped)", db.display()),
            findings: vec![],
        });
    }
    let store = crate::store::Store::open_existing(db)?;
    let docs = store.policy_documents()?;
    let report = store.verify(crate::audit::chain::Verifier::new().with_policies(docs))?;
    let shown = db.display().to_string();
    Ok(if report.ok {
        CheckOutcome {
            summary: format!("audit OK: `{shown}`, {} events intact", report.events),
            findings: vec![],
        }
    } else {
        CheckOutcome {
            summary: format!("audit BROKEN: `{shown}`"),
            findings: report
                .problems
                .iter()
                .map(|p| {
                    let at = p.seq.map(|s| format!("seq {s}: ")).unwrap_or_default();
                    finding(
                        Severity::Error,
                        &shown,
                        "A001",
                        format!("{at}{}", p.message),
                    )
                })
                .collect(),
        }
    })
}
