//! Runs the requested eval dimensions and assembles `summary.json`, `report.json` and
//! `report.md`. Deterministic except the latency section: the same fixtures, pack, policy and
//! run id give identical accuracy, policy and adversarial sections.

use super::fixtures::{content_hash, FixtureDir};
use super::runner::{run_suite, ScenarioResult, SuiteInputs};
use super::scenario::Suite;
use super::summary::*;
use crate::engine::GateFn;
use crate::policy::model::Policy;
use crate::recon::{accuracy, MatchConfig};
use crate::seed::SeedPack;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One eval dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Dimension {
    /// Matching accuracy (macro-F1 over the accuracy corpus).
    Accuracy,
    /// Policy enforcement (scenario pass-rate).
    Policy,
    /// Latency (engine action p95, matches/sec).
    Latency,
    /// Adversarial robustness (bypasses by a fully hijacked agent).
    Adversarial,
}

/// Everything an eval needs.
pub struct EvalOptions {
    /// Dimensions to run.
    pub dimensions: Vec<Dimension>,
    /// `YYYYMMDD-HHMMSS`.
    pub run_id: String,
    /// Accuracy corpus.
    pub cases: FixtureDir,
    /// Policy scenarios.
    pub scenarios: FixtureDir,
    /// Adversarial scenarios.
    pub adversarial: FixtureDir,
    /// The seed pack.
    pub pack: SeedPack,
    /// The policy's display name.
    pub policy_name: String,
    /// Its bytes.
    pub policy_src: Vec<u8>,
    /// The validated policy.
    pub policy: Policy,
    /// The gate (fault injection swaps it).
    pub gate: GateFn,
    /// Latency repetitions.
    pub repetitions: u32,
    /// Scratch folder for databases.
    pub scratch: PathBuf,
    /// Audit head of the caller's database after the run, if any.
    pub audit_head: Option<AuditHead>,
}

/// The three outputs.
pub struct EvalOutput {
    /// `summary.json`.
    pub summary: Summary,
    /// `report.json` (details).
    pub report: serde_json::Value,
}

fn scenario_failures(results: &[ScenarioResult]) -> Vec<ScenarioFailure> {
    results.iter().flat_map(|r| r.failures.clone()).collect()
}

fn scenario_json(results: &[ScenarioResult]) -> serde_json::Value {
    json!(results
        .iter()
        .map(|r| json!({
            "name": r.name,
            "category": r.category.map(|c| c.as_str()),
            "passed": r.passed,
            "steps": r.steps,
            "bypasses": r.bypasses,
            "failures": r.failures,
        }))
        .collect::<Vec<_>>())
}

fn hash_of(dir: &FixtureDir, exts: &[&str]) -> Result<String, String> {
    Ok(content_hash(&dir.files(exts)?))
}

/// Runs the eval.
pub fn run(o: &EvalOptions) -> Result<EvalOutput, String> {
    let mut dims = Dimensions::default();
    let mut report = serde_json::Map::new();
    let mut fixtures = BTreeMap::new();
    let policy_src_text = String::from_utf8_lossy(&o.policy_src).into_owned();
    if o.dimensions.contains(&Dimension::Accuracy) {
        fixtures.insert("accuracy".to_string(), hash_of(&o.cases, &[".json"])?);
        let cases = match &o.cases {
            FixtureDir::Embedded(..) => accuracy::load_embedded(),
            FixtureDir::Disk(p) => accuracy::load_dir(p),
        }
        .map_err(|e| e.to_string())?;
        let default_cfg = MatchConfig::from_policy(&o.policy);
        let load_cfg = |p: &Path| -> Result<MatchConfig, String> {
            let bytes =
                std::fs::read(p).map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
            crate::policy::load(&p.display().to_string(), &bytes)
                .map(|(pol, _)| MatchConfig::from_policy(&pol))
                .map_err(|d| {
                    d.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
        };
        let a =
            accuracy::score_cases(&cases, &default_cfg, &load_cfg).map_err(|e| e.to_string())?;
        let mut failures: Vec<String> = a.failing.iter().map(|f| f.id.clone()).collect();
        failures.sort();
        dims.accuracy = Some(AccuracySummary {
            cases: a.cases as u64,
            macro_f1: round4(a.macro_f1),
            per_class: a
                .classes
                .iter()
                .map(|c| {
                    (
                        c.class.clone(),
                        ClassScore {
                            precision: round4(c.precision),
                            recall: round4(c.recall),
                            f1: round4(c.f1),
                            tp: c.tp as u64,
                            fp: c.fp as u64,
                            fn_: c.fn_ as u64,
                        },
                    )
                })
                .collect(),
            failures,
        });
        report.insert("accuracy_failures".into(), json!(a.failing));
    }
    let inputs = SuiteInputs {
        pack: &o.pack,
        policy_name: &o.policy_name,
        policy_src: &o.policy_src,
        gate: o.gate,
        scratch: &o.scratch,
    };
    if o.dimensions.contains(&Dimension::Policy) {
        fixtures.insert(
            "policy".to_string(),
            hash_of(&o.scenarios, &[".yaml", ".yml"])?,
        );
        let results = run_suite(&o.scenarios, Suite::Policy, &inputs)?;
        let passed = results.iter().filter(|r| r.passed).count() as u64;
        let n = results.len() as u64;
        dims.policy = Some(PolicySummary {
            scenarios: n,
            passed,
            pass_rate: if n == 0 {
                0.0
            } else {
                round4(passed as f64 / n as f64)
            },
            failures: scenario_failures(&results),
        });
        report.insert("policy_scenarios".into(), scenario_json(&results));
    }
    if o.dimensions.contains(&Dimension::Adversarial) {
        fixtures.insert(
            "adversarial".to_string(),
            hash_of(&o.adversarial, &[".yaml", ".yml"])?,
        );
        let results = run_suite(&o.adversarial, Suite::Adversarial, &inputs)?;
        let mut by_category: BTreeMap<String, CategoryCount> = BTreeMap::new();
        for r in &results {
            let key = r
                .category
                .map(|c| c.as_str())
                .unwrap_or("uncategorised")
                .to_string();
            let e = by_category.entry(key).or_insert(CategoryCount {
                scenarios: 0,
                bypasses: 0,
            });
            e.scenarios += 1;
            e.bypasses += r.bypasses;
        }
        dims.adversarial = Some(AdversarialSummary {
            scenarios: results.len() as u64,
            passed: results.iter().filter(|r| r.passed).count() as u64,
            bypasses: results.iter().map(|r| r.bypasses).sum(),
            by_category,
            failures: scenario_failures(&results),
        });
        report.insert("adversarial_scenarios".into(), scenario_json(&results));
    }
    if o.dimensions.contains(&Dimension::Latency) {
        dims.latency = Some(super::latency::run(
            &o.pack,
            &o.policy,
            &o.policy_name,
            &policy_src_text,
            o.gate,
            o.repetitions,
            &o.scratch,
        )?);
    }
    let summary = Summary {
        eval_run_id: o.run_id.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        policy_version: o.policy.sha256.clone(),
        seed_pack: PackRef {
            name: o.pack.name.clone(),
            content_hash: o.pack.content_hash.clone(),
        },
        fixtures,
        audit_head: o.audit_head.clone(),
        dimensions: dims,
    };
    let mut full = serde_json::to_value(&summary).map_err(|e| e.to_string())?;
    if let Some(obj) = full.as_object_mut() {
        obj.insert("details".into(), serde_json::Value::Object(report));
    }
    Ok(EvalOutput {
        summary,
        report: full,
    })
}
