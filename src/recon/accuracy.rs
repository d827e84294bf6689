//! The accuracy corpus (`eval/accuracy/*.json`, issue 4's fixed case format) and its scorer:
//! per-class precision/recall/F1 over `exact_match`, `fuzzy_match`, `multi_to_one` and
//! `exception`, and macro-F1 (their mean). Reading case files is the only I/O here
//! ([`load_dir`]); scoring itself is pure. The policy of a case is obtained through a caller-given
//! loader, so this module does not depend on how `policy.yaml` is parsed.

use super::{reconcile, MatchConfig};
use crate::gate::request::MatchClass;
use crate::ledger::{Entry, EntryRecord, Side};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One accuracy case, exactly as in the corpus files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique case id.
    pub id: String,
    /// What the case tests.
    pub description: String,
    /// `null` for the seed policy, or a path relative to the case file.
    pub policy: Option<String>,
    /// Both books, mixed.
    pub entries: Vec<EntryRecord>,
    /// Expected groups; entries in none of them are expected exceptions.
    pub expected: Vec<ExpectedGroup>,
}

/// An expected match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedGroup {
    /// The class.
    pub class: MatchClass,
    /// GL entry ids.
    pub gl: Vec<String>,
    /// SL entry ids.
    pub sl: Vec<String>,
}

/// A case with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedCase {
    /// The file it was read from (as given to the loader, for messages).
    pub file: String,
    /// The policy path resolved against the case file's directory, if any.
    pub policy_path: Option<PathBuf>,
    /// The case.
    pub case: Case,
}

/// Why the corpus could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum AccuracyError {
    /// A file or directory could not be read.
    #[error("`{path}`: {cause}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        cause: std::io::Error,
    },
    /// A case file is not valid JSON in the case format.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's message.
        message: String,
    },
    /// A case is inconsistent (bad entry, duplicate id, expected group naming unknown entries).
    #[error("{path}: case `{case}`: {message}")]
    Case {
        /// The file.
        path: String,
        /// The case id.
        case: String,
        /// What is wrong.
        message: String,
    },
    /// No case files were found.
    #[error("`{0}`: no accuracy cases found")]
    Empty(String),
}

/// Parses one case file's text: a single case object or an array of cases.
pub fn parse_cases(path: &str, text: &str) -> Result<Vec<Case>, AccuracyError> {
    let perr = |e: serde_json::Error| AccuracyError::Parse {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<Case>>(text).map_err(perr)
    } else {
        serde_json::from_str::<Case>(text)
            .map(|c| vec![c])
            .map_err(perr)
    }
}

/// Reads every `*.json` file of `dir` (sorted by name).
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedCase>, AccuracyError> {
    let io = |path: &Path, cause| AccuracyError::Io {
        path: path.display().to_string(),
        cause,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| io(&f, e))?;
        let name = f.display().to_string();
        for case in parse_cases(&name, &text)? {
            let policy_path = case
                .policy
                .as_ref()
                .map(|p| f.parent().unwrap_or(Path::new(".")).join(p));
            out.push(LoadedCase {
                file: name.clone(),
                policy_path,
                case,
            });
        }
    }
    if out.is_empty() {
        return Err(AccuracyError::Empty(dir.display().to_string()));
    }
    Ok(out)
}

/// Reads the corpus compiled into the binary (`eval/accuracy/`).
pub fn load_embedded() -> Result<Vec<LoadedCase>, AccuracyError> {
    let Some(dir) = crate::embedded::EVAL.get_dir("accuracy") else {
        return Err(AccuracyError::Empty("embedded:eval/accuracy".to_string()));
    };
    let mut files: Vec<_> = dir
        .files()
        .filter(|f| f.path().extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort_by(|a, b| a.path().cmp(b.path()));
    let mut out = Vec::new();
    for f in files {
        let name = format!("embedded:eval/{}", f.path().display());
        let text = std::str::from_utf8(f.contents()).map_err(|e| AccuracyError::Case {
            path: name.clone(),
            case: String::new(),
            message: format!("not utf-8: {e}"),
        })?;
        for case in parse_cases(&name, text)? {
            let policy_path = case
                .policy
                .as_ref()
                .map(|p| f.path().parent().unwrap_or(Path::new("")).join(p));
            out.push(LoadedCase {
                file: name.clone(),
                policy_path,
                case,
            });
        }
    }
    if out.is_empty() {
        return Err(AccuracyError::Empty("embedded:eval/accuracy".to_string()));
    }
    Ok(out)
}

/// The classes scored, in report order.
pub const CLASSES: [&str; 4] = ["exact_match", "fuzzy_match", "multi_to_one", "exception"];

/// Counts and scores of one class.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassScore {
    /// Class name (one of [`CLASSES`]).
    pub class: String,
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// False negatives.
    pub fn_: usize,
    /// tp / (tp + fp); 1 when nothing was predicted.
    pub precision: f64,
    /// tp / (tp + fn); 1 when nothing was expected.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

/// A case whose prediction differs from its expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFailure {
    /// Case id.
    pub id: String,
    /// File.
    pub file: String,
    /// Expected groups missed, predicted groups not expected, exceptions mismatched.
    pub detail: String,
}

/// The scorer's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccuracyReport {
    /// Number of cases.
    pub cases: usize,
    /// Per-class scores, in [`CLASSES`] order.
    pub classes: Vec<ClassScore>,
    /// Mean F1 over the four classes.
    pub macro_f1: f64,
    /// Failing cases, sorted by id.
    pub failing: Vec<CaseFailure>,
}

type Key = (MatchClass, Vec<String>, Vec<String>);

fn key(class: MatchClass, gl: &[String], sl: &[String]) -> Key {
    let mut gl = gl.to_vec();
    let mut sl = sl.to_vec();
    gl.sort();
    sl.sort();
    (class, gl, sl)
}

/// Scores loaded cases. `default_cfg` is used for `policy: null`; `load_cfg` loads a case's
/// own policy file.
pub fn score_cases(
    cases: &[LoadedCase],
    default_cfg: &MatchConfig,
    load_cfg: &dyn Fn(&Path) -> Result<MatchConfig, String>,
) -> Result<AccuracyReport, AccuracyError> {
    let mut counts: BTreeMap<&str, (usize, usize, usize)> =
        CLASSES.iter().map(|c| (*c, (0, 0, 0))).collect();
    let mut failing = Vec::new();
    let mut seen_ids = BTreeSet::new();
    for lc in cases {
        let c = &lc.case;
        let cerr = |message: String| AccuracyError::Case {
            path: lc.file.clone(),
            case: c.id.clone(),
            message,
        };
        if !seen_ids.insert(c.id.clone()) {
            return Err(cerr("duplicate case id".to_string()));
        }
        let owned;
        let cfg = match &lc.policy_path {
            None => default_cfg,
            Some(p) => {
                owned = load_cfg(p).map_err(|e| cerr(format!("policy `{}`: {e}", p.display())))?;
                &owned
            }
        };
        let entries: Vec<Entry> = c
            .entries
            .iter()
            .cloned()
            .map(Entry::try_from)
            .collect::<Result<_, _>>()
            .map_err(|e| cerr(e.to_string()))?;
        let mut ids = BTreeMap::new();
        for e in &entries {
            if ids.insert(e.entry_id.clone(), e.side).is_some() {
                return Err(cerr(format!("duplicate entry id `{}`", e.entry_id)));
            }
        }
        let mut expected: BTreeSet<Key> = BTreeSet::new();
        let mut grouped: BTreeSet<String> = BTreeSet::new();
        for g in &c.expected {
            for (list, side) in [(&g.gl, Side::Gl), (&g.sl, Side::Sl)] {
                for id in list {
                    if ids.get(id) != Some(&side) {
                        return Err(cerr(format!(
                            "expected group names `{id}`, which is not a {} entry of the case",
                            side.as_str()
                        )));
                    }
                    if !grouped.insert(id.clone()) {
                        return Err(cerr(format!("entry `{id}` is in two expected groups")));
                    }
                }
            }
            expected.insert(key(g.class, &g.gl, &g.sl));
        }
        let exp_exc: BTreeSet<String> = ids
            .keys()
            .filter(|id| !grouped.contains(*id))
            .cloned()
            .collect();

        let result = reconcile(&entries, cfg);
        let predicted: BTreeSet<Key> = result
            .groups
            .iter()
            .map(|g| key(g.class, &g.gl, &g.sl))
            .collect();
        let pred_exc: BTreeSet<String> = result
            .exceptions
            .iter()
            .map(|x| x.entry_id.clone())
            .collect();

        for class in [
            MatchClass::ExactMatch,
            MatchClass::FuzzyMatch,
            MatchClass::MultiToOne,
        ] {
            let e: BTreeSet<&Key> = expected.iter().filter(|k| k.0 == class).collect();
            let p: BTreeSet<&Key> = predicted.iter().filter(|k| k.0 == class).collect();
            let slot = counts.entry(class.as_str()).or_default();
            slot.0 += e.intersection(&p).count();
            slot.1 += p.difference(&e).count();
            slot.2 += e.difference(&p).count();
        }
        let slot = counts.entry("exception").or_default();
        slot.0 += exp_exc.intersection(&pred_exc).count();
        slot.1 += pred_exc.difference(&exp_exc).count();
        slot.2 += exp_exc.difference(&pred_exc).count();

        if expected != predicted || exp_exc != pred_exc {
            let show = |k: &Key| format!("{}({}|{})", k.0.as_str(), k.1.join(","), k.2.join(","));
            let missed: Vec<String> = expected.difference(&predicted).map(show).collect();
            let extra: Vec<String> = predicted.difference(&expected).map(show).collect();
            let exc_missed: Vec<String> = exp_exc.difference(&pred_exc).cloned().collect();
            let exc_extra: Vec<String> = pred_exc.difference(&exp_exc).cloned().collect();
            failing.push(CaseFailure {
                id: c.id.clone(),
                file: lc.file.clone(),
                detail: format!(
                    "missed [{}]; unexpected [{}]; expected exceptions not raised [{}]; unexpected exceptions [{}]",
                    missed.join(" "),
                    extra.join(" "),
                    exc_missed.join(","),
                    exc_extra.join(",")
                ),
            });
        }
    }
    let classes: Vec<ClassScore> = CLASSES
        .iter()
        .map(|c| {
            let (tp, fp, fn_) = counts.get(c).copied().unwrap_or_default();
            let precision = if tp + fp == 0 {
                1.0
            } else {
                tp as f64 / (tp + fp) as f64
            };
            let recall = if tp + fn_ == 0 {
                1.0
            } else {
                tp as f64 / (tp + fn_) as f64
            };
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassScore {
                class: (*c).to_string(),
                tp,
                fp,
                fn_,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    let macro_f1 = classes.iter().map(|c| c.f1).sum::<f64>() / classes.len() as f64;
    failing.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(AccuracyReport {
        cases: cases.len(),
        classes,
        macro_f1,
        failing,
    })
}

/// Loads `dir` and scores it (see [`score_cases`]).
pub fn score_dir(
    dir: &Path,
    default_cfg: &MatchConfig,
    load_cfg: &dyn Fn(&Path) -> Result<MatchConfig, String>,
) -> Result<AccuracyReport, AccuracyError> {
    score_cases(&load_dir(dir)?, default_cfg, load_cfg)
}

/// The matcher configuration of the embedded seed policy (`None` only if that policy does not
/// load, which its own tests rule out). The accuracy tests, the shuffle property test and the
/// benchmark all call it.
pub fn seed_config() -> Option<MatchConfig> {
    crate::policy::load(
        "embedded:seed/saas/policy.yaml",
        crate::embedded::default_policy(),
    )
    .ok()
    .map(|(p, _)| MatchConfig::from_policy(&p))
}
