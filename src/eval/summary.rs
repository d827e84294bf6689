//! `summary.json`: the machine-readable result of one `eval` run, the input of `soc2-monitor`.
//! Fields may be added, never renamed. Scores are `f64` (they are ratios, not money), rounded
//! to 4 decimals when produced so the JSON is byte-stable.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The four eval dimensions.
pub const DIMENSIONS: [&str; 4] = ["accuracy", "policy", "latency", "adversarial"];

/// The seed pack an eval ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackRef {
    /// Pack name (`saas`) or directory.
    pub name: String,
    /// sha256 of the pack files (see `seed::SeedPack::content_hash`).
    pub content_hash: String,
}

/// The audit-log head after a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// Last seq.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// Precision, recall and F1 of one match class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: u64,
}

/// The accuracy dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccuracySummary {
    /// Cases scored.
    pub cases: u64,
    /// Mean F1 over the four classes.
    pub macro_f1: f64,
    /// Per-class scores.
    pub per_class: BTreeMap<String, ClassScore>,
    /// Ids of cases whose prediction differs from the expectation.
    pub failures: Vec<String>,
}

/// One failed scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioFailure {
    /// Scenario name.
    pub name: String,
    /// 1-based step, when one step failed.
    pub step: Option<u64>,
    /// What was wrong.
    pub message: String,
}

/// The policy dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySummary {
    /// Scenarios run.
    pub scenarios: u64,
    /// Scenarios that passed.
    pub passed: u64,
    /// passed / scenarios.
    pub pass_rate: f64,
    /// Every failure.
    pub failures: Vec<ScenarioFailure>,
}

/// Counts of one adversarial category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCount {
    /// Scenarios in the category.
    pub scenarios: u64,
    /// Bypasses found.
    pub bypasses: u64,
}

/// The adversarial dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdversarialSummary {
    /// Scenarios run.
    pub scenarios: u64,
    /// Scenarios with zero bypasses.
    pub passed: u64,
    /// Forbidden state changes plus missing or wrong audit events.
    pub bypasses: u64,
    /// Per category.
    pub by_category: BTreeMap<String, CategoryCount>,
    /// Every failure.
    pub failures: Vec<ScenarioFailure>,
}

/// p50/p95/p99 in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// The latency dimension (wall clock: the only non-deterministic section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Repetitions of the full `recon run`.
    pub repetitions: u64,
    /// Distribution of one full `recon run` on the seeded pack.
    pub recon_run_ms: Percentiles,
    /// Distribution of one engine action (gate, state change, audit append, commit) over all
    /// actions of all runs: the monitored latency.
    pub action_ms: Percentiles,
    /// p95 per engine action.
    pub actions_p95_ms: BTreeMap<String, f64>,
    /// Matches proposed per second in a full run.
    pub matches_per_sec: f64,
}

/// Results per dimension; a dimension that was not run is absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dimensions {
    /// Matching accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<AccuracySummary>,
    /// Policy enforcement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicySummary>,
    /// Latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySummary>,
    /// Adversarial robustness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adversarial: Option<AdversarialSummary>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `YYYYMMDD-HHMMSS` (UTC start, or `--run-id`, or `SOURCE_DATE_EPOCH`).
    pub eval_run_id: String,
    /// closegate-engine version.
    pub tool_version: String,
    /// sha256 of the policy bytes.
    pub policy_version: String,
    /// The seed pack.
    pub seed_pack: PackRef,
    /// Content hash of each fixture set (`accuracy`, `policy`, `adversarial`).
    pub fixtures: BTreeMap<String, String>,
    /// Audit head after the run, if a log was written.
    pub audit_head: Option<AuditHead>,
    /// The dimensions that ran.
    pub dimensions: Dimensions,
}

/// Rounds a score to 4 decimals so the JSON is stable.
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
