//! `soc2-monitor`: turns an eval `summary.json` into the `soc2-monitor.json` artifact kept as
//! CC4.1/CC4.2 evidence. Pure: [`build`] takes the summary and thresholds and returns the report;
//! the command glue in `cmd/monitor.rs` reads, writes (atomically) and notifies.
//!
//! The output is idempotent: `generated_at` derives from `eval_run_id`, never the clock, and
//! the same summary gives byte-identical JSON.

pub mod notify;

use crate::eval::summary::{AuditHead, Summary};
use serde::{Deserialize, Serialize};

/// Thresholds (`eval/thresholds.yaml`). Scores, not money.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Accuracy.
    pub matching_accuracy: AccuracyThreshold,
    /// Policy.
    pub policy_enforcement: PolicyThreshold,
    /// Latency.
    pub latency: LatencyThreshold,
    /// Adversarial.
    pub adversarial_robustness: AdversarialThreshold,
}

/// `matching_accuracy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccuracyThreshold {
    /// Minimum macro-F1.
    pub min_macro_f1: f64,
}

/// `policy_enforcement`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyThreshold {
    /// Minimum pass-rate.
    pub min_pass_rate: f64,
}

/// `latency`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyThreshold {
    /// Maximum p95 of a full `recon run`, in ms.
    pub max_p95_ms: f64,
}

/// `adversarial_robustness`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdversarialThreshold {
    /// Maximum bypasses.
    pub max_bypasses: u64,
}

/// Why thresholds or a summary could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The thresholds file is not valid YAML of the right shape.
    #[error("{file}: {message}")]
    Thresholds {
        /// File name.
        file: String,
        /// Parser message, with line and column.
        message: String,
    },
    /// The summary is not valid JSON of the right shape.
    #[error("{file}:{line}:{column}: {message}")]
    Summary {
        /// File name.
        file: String,
        /// Line.
        line: usize,
        /// Column.
        column: usize,
        /// Parser message.
        message: String,
    },
    /// `eval_run_id` is not `YYYYMMDD-HHMMSS`.
    #[error("{file}: eval_run_id `{id}` is not of the form YYYYMMDD-HHMMSS")]
    RunId {
        /// File name.
        file: String,
        /// The value.
        id: String,
    },
}

/// Parses a thresholds file.
pub fn parse_thresholds(file: &str, src: &str) -> Result<Thresholds, MonitorError> {
    serde_saphyr::from_str(src).map_err(|e| MonitorError::Thresholds {
        file: file.to_string(),
        message: e.to_string(),
    })
}

/// The embedded default thresholds.
pub fn default_thresholds() -> Result<Thresholds, MonitorError> {
    let src = crate::embedded::EVAL
        .get_file("thresholds.yaml")
        .and_then(|f| f.contents_utf8())
        .unwrap_or_default();
    parse_thresholds("embedded:eval/thresholds.yaml", src)
}

/// Parses a summary, pointing at `file:line:col` on error.
pub fn parse_summary(file: &str, src: &str) -> Result<Summary, MonitorError> {
    let summary: Summary = serde_json::from_str(src).map_err(|e| MonitorError::Summary {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if generated_at(&summary.eval_run_id).is_none() {
        return Err(MonitorError::RunId {
            file: file.to_string(),
            id: summary.eval_run_id.clone(),
        });
    }
    Ok(summary)
}

/// `OK`, `FAIL` or `MISSING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RowStatus {
    /// Threshold met.
    Ok,
    /// Threshold not met.
    Fail,
    /// The dimension is absent from the summary.
    Missing,
}

/// One row of `deterministic_rows`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// `matching_accuracy`, `policy_enforcement`, `latency`, `adversarial_robustness`.
    pub dimension: String,
    /// Status.
    pub status: RowStatus,
    /// One human line.
    pub headline: String,
    /// Whether the threshold was met.
    pub threshold_met: bool,
}

/// `soc2-monitor.json`. Fields may be added after `notes`, never renamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorReport {
    /// Derived from `eval_run_id` (RFC 3339 UTC).
    pub generated_at: String,
    /// The eval run.
    pub eval_run_id: String,
    /// One row per dimension.
    pub deterministic_rows: Vec<Row>,
    /// All rows OK.
    pub overall_ok: bool,
    /// Explanations (missing dimensions, failures).
    pub notes: Vec<String>,
    /// Version of the tool that ran the eval.
    pub tool_version: String,
    /// sha256 of the policy in force.
    pub policy_version: String,
    /// Thresholds applied.
    pub thresholds: Thresholds,
    /// Audit head after the eval, so later exports can check the log was never rewritten.
    pub audit_head: Option<AuditHead>,
}

/// `20260601-060000` → `2026-06-01T06:00:00Z`.
pub fn generated_at(eval_run_id: &str) -> Option<String> {
    let t = chrono::NaiveDateTime::parse_from_str(eval_run_id, "%Y%m%d-%H%M%S").ok()?;
    Some(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// A score without float noise: up to 4 decimals, at least one (`1.0`, `0.9876`).
pub fn fmt_score(x: f64) -> String {
    let s = format!("{:.4}", x);
    let s = s.trim_end_matches('0');
    if s.ends_with('.') {
        format!("{s}0")
    } else {
        s.to_string()
    }
}

/// Builds the report. Pure.
pub fn build(summary: &Summary, t: &Thresholds) -> MonitorReport {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let d = &summary.dimensions;
    let missing = |dim: &str, key: &str, notes: &mut Vec<String>| {
        notes.push(format!(
            "{dim}: dimension `{key}` is absent from the summary"
        ));
        Row {
            dimension: dim.to_string(),
            status: RowStatus::Missing,
            headline: "not run".to_string(),
            threshold_met: false,
        }
    };
    let row = |dim: &str, met: bool, headline: String| Row {
        dimension: dim.to_string(),
        status: if met { RowStatus::Ok } else { RowStatus::Fail },
        headline,
        threshold_met: met,
    };
    rows.push(match &d.accuracy {
        Some(a) => {
            let met = a.macro_f1 >= t.matching_accuracy.min_macro_f1;
            if !met {
                notes.push(format!(
                    "matching_accuracy: macro-F1 {} below {}; failing cases: {}",
                    fmt_score(a.macro_f1),
                    fmt_score(t.matching_accuracy.min_macro_f1),
                    a.failures.join(", ")
                ));
            }
            row(
                "matching_accuracy",
                met,
                format!("macro-F1 {} on {} cases", fmt_score(a.macro_f1), a.cases),
            )
        }
        None => missing("matching_accuracy", "accuracy", &mut notes),
    });
    rows.push(match &d.policy {
        Some(p) => {
            let met = p.scenarios > 0 && p.pass_rate >= t.policy_enforcement.min_pass_rate;
            for f in &p.failures {
                notes.push(format!(
                    "policy_enforcement: {} failed: {}",
                    f.name, f.message
                ));
            }
            row(
                "policy_enforcement",
                met,
                format!(
                    "{} scenarios, pass-rate {}",
                    p.scenarios,
                    fmt_score(p.pass_rate)
                ),
            )
        }
        None => missing("policy_enforcement", "policy", &mut notes),
    });
    rows.push(match &d.latency {
        Some(l) => {
            let met = l.action_ms.p95 <= t.latency.max_p95_ms;
            if !met {
                notes.push(format!(
                    "latency: engine action p95 {:.1}ms above {:.1}ms",
                    l.action_ms.p95, t.latency.max_p95_ms
                ));
            }
            let mps = (l.matches_per_sec / 100.0).round() * 100.0;
            row(
                "latency",
                met,
                format!("p95 {:.1}ms; ~{:.0} matches/sec", l.action_ms.p95, mps),
            )
        }
        None => missing("latency", "latency", &mut notes),
    });
    rows.push(match &d.adversarial {
        Some(a) => {
            let met = a.scenarios > 0 && a.bypasses <= t.adversarial_robustness.max_bypasses;
            for f in &a.failures {
                notes.push(format!(
                    "adversarial_robustness: {} failed: {}",
                    f.name, f.message
                ));
            }
            row(
                "adversarial_robustness",
                met,
                format!("{} scenarios, {} bypasses", a.scenarios, a.bypasses),
            )
        }
        None => missing("adversarial_robustness", "adversarial", &mut notes),
    });
    let overall_ok = rows.iter().all(|r| r.status == RowStatus::Ok);
    MonitorReport {
        generated_at: generated_at(&summary.eval_run_id).unwrap_or_default(),
        eval_run_id: summary.eval_run_id.clone(),
        deterministic_rows: rows,
        overall_ok,
        notes,
        tool_version: summary.tool_version.clone(),
        policy_version: summary.policy_version.clone(),
        thresholds: t.clone(),
        audit_head: summary.audit_head.clone(),
    }
}

/// The report as pretty JSON with a trailing newline (stable bytes).
pub fn to_json(report: &MonitorReport) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::summary::*;
    use std::collections::BTreeMap;

    fn summary() -> Summary {
        Summary {
            eval_run_id: "20260601-060000".into(),
            tool_version: "0.1.0".into(),
            policy_version: "ab".repeat(32),
            seed_pack: PackRef {
                name: "saas".into(),
                content_hash: "cd".repeat(32),
            },
            fixtures: BTreeMap::new(),
            audit_head: Some(AuditHead {
                seq: 7,
                hash: "ef".repeat(32),
            }),
            dimensions: Dimensions {
                accuracy: Some(AccuracySummary {
                    cases: 83,
                    macro_f1: 1.0,
                    per_class: BTreeMap::new(),
                    failures: vec![],
                }),
                policy: Some(PolicySummary {
                    scenarios: 21,
                    passed: 21,
                    pass_rate: 1.0,
                    failures: vec![],
                }),
                latency: Some(LatencySummary {
                    repetitions: 30,
                    recon_run_ms: Percentiles {
                        p50: 70.0,
                        p95: 90.0,
                        p99: 110.0,
                    },
                    action_ms: Percentiles {
                        p50: 7.0,
                        p95: 9.04,
                        p99: 11.0,
                    },
                    actions_p95_ms: BTreeMap::new(),
                    matches_per_sec: 7712.0,
                }),
                adversarial: Some(AdversarialSummary {
                    scenarios: 25,
                    passed: 25,
                    bypasses: 0,
                    by_category: BTreeMap::new(),
                    failures: vec![],
                }),
            },
        }
    }

    #[test]
    fn headlines_match_the_issue_examples() {
        let r = build(&summary(), &default_thresholds().unwrap());
        let heads: Vec<&str> = r
            .deterministic_rows
            .iter()
            .map(|r| r.headline.as_str())
            .collect();
        assert_eq!(
            heads,
            [
                "macro-F1 1.0 on 83 cases",
                "21 scenarios, pass-rate 1.0",
                "p95 9.0ms; ~7700 matches/sec",
                "25 scenarios, 0 bypasses"
            ]
        );
        assert!(r.overall_ok);
        assert_eq!(r.generated_at, "2026-06-01T06:00:00Z");
    }

    #[test]
    fn a_missing_dimension_is_missing_and_not_ok() {
        let mut s = summary();
        s.dimensions.policy = None;
        let r = build(&s, &default_thresholds().unwrap());
        assert_eq!(r.deterministic_rows[1].status, RowStatus::Missing);
        assert!(!r.deterministic_rows[1].threshold_met);
        assert!(!r.overall_ok);
        assert!(r.notes.iter().any(|n| n.contains("policy")));
    }

    #[test]
    fn thresholds_are_applied_at_their_edges() {
        let t = default_thresholds().unwrap();
        let mut s = summary();
        s.dimensions.accuracy.as_mut().unwrap().macro_f1 = 0.95;
        s.dimensions.latency.as_mut().unwrap().action_ms.p95 = 50.0;
        assert!(build(&s, &t).overall_ok);
        s.dimensions.accuracy.as_mut().unwrap().macro_f1 = 0.9499;
        let r = build(&s, &t);
        assert_eq!(r.deterministic_rows[0].status, RowStatus::Fail);
        s.dimensions.accuracy.as_mut().unwrap().macro_f1 = 1.0;
        s.dimensions.adversarial.as_mut().unwrap().bypasses = 1;
        assert_eq!(build(&s, &t).deterministic_rows[3].status, RowStatus::Fail);
    }

    #[test]
    fn json_is_idempotent_and_keeps_the_contract_key_order() {
        let t = default_thresholds().unwrap();
        let a = to_json(&build(&summary(), &t));
        let b = to_json(&build(&summary(), &t));
        assert_eq!(a, b);
        let keys = [
            "\"generated_at\"",
            "\"eval_run_id\"",
            "\"deterministic_rows\"",
            "\"overall_ok\"",
            "\"notes\"",
            "\"tool_version\"",
        ];
        let pos: Vec<usize> = keys.iter().map(|k| a.find(k).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{a}");
    }

    #[test]
    fn bad_run_ids_and_corrupt_json_are_errors_with_positions() {
        let e = parse_summary("s.json", "{\n  \"eval_run_id\": ").unwrap_err();
        assert!(e.to_string().starts_with("s.json:2:"), "{e}");
        let mut s = summary();
        s.eval_run_id = "yesterday".into();
        let src = serde_json::to_string(&s).unwrap();
        assert!(matches!(
            parse_summary("s.json", &src),
            Err(MonitorError::RunId { .. })
        ));
    }

    #[test]
    fn scores_format_without_noise() {
        assert_eq!(fmt_score(1.0), "1.0");
        assert_eq!(fmt_score(0.98765), "0.9877");
        assert_eq!(fmt_score(0.5), "0.5");
    }
}
