//! Every policy and adversarial scenario file parses with the model of `eval::scenario`, passes
//! its static checks, and together they cover what issue 5 asks: at least 40 policy and 25
//! adversarial scenarios, every reason code, tier, action and adversarial category, and only
//! entry ids that exist (unless the step expects the refusal of an unknown id).
//! Reads the files under `eval/` in the source tree; runs nothing against a store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use closegate_engine::eval::scenario::{
    self, parse_args, Category, ExpectedDecision, Ref, Scenario, StepArgs, Suite, Tamper,
};
use closegate_engine::gate::decision::{ReasonCode, Tier};
use closegate_engine::gate::request::Action;
use closegate_engine::ledger::{Entry, EntryRecord};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn dir(suite: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("eval")
        .join(suite)
}

fn load(suite_dir: &str) -> Vec<(PathBuf, Scenario)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir(suite_dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let src = std::fs::read(&p).unwrap();
            let s =
                scenario::parse(&p.display().to_string(), &src).unwrap_or_else(|e| panic!("{e}"));
            (p, s)
        })
        .collect()
}

fn seed_entries() -> BTreeMap<String, Entry> {
    closegate_engine::seed::load_embedded("saas")
        .unwrap()
        .entries
        .into_iter()
        .map(|e| (e.entry_id.clone(), e))
        .collect()
}

fn tier_of(t: &str) -> Tier {
    match t {
        "T0" => Tier::T0,
        "T1" => Tier::T1,
        "T2" => Tier::T2,
        "T3" => Tier::T3,
        other => panic!("tier {other}"),
    }
}

/// The tier docs/gate.md assigns to each parsed step (the seed policy closes US-PARENT 2026-03).
fn derived_tiers(s: &Scenario) -> Vec<Option<Tier>> {
    let mut out: Vec<Option<Tier>> = Vec::new();
    for step in &s.steps {
        let t = match step
            .action
            .as_deref()
            .map(|a| parse_args(a, step.args.as_ref()))
        {
            Some(Ok(StepArgs::ProposeMatch { .. })) => Some(Tier::T0),
            Some(Ok(StepArgs::RejectMatch { .. } | StepArgs::FlagException { .. })) => {
                Some(Tier::T1)
            }
            Some(Ok(StepArgs::ConfirmMatch { .. })) => Some(Tier::T2),
            Some(Ok(StepArgs::PostAdjustment { entity, date, .. })) => {
                let closed = entity == "US-PARENT" && date.format("%Y-%m").to_string() == "2026-03";
                Some(if closed { Tier::T3 } else { Tier::T2 })
            }
            Some(Ok(StepArgs::ClosePeriod { .. } | StepArgs::ReopenPeriod { .. })) => {
                Some(Tier::T3)
            }
            Some(Ok(StepArgs::ApproveAction {
                target: Ref::Step(k),
                ..
            })) => out[k - 1],
            // Arguments that do not parse: the action's own tier where it does not depend on them.
            _ => match step.action.as_deref().and_then(Action::parse) {
                Some(Action::ProposeMatch) => Some(Tier::T0),
                Some(Action::RejectMatch | Action::FlagException) => Some(Tier::T1),
                Some(Action::ConfirmMatch) => Some(Tier::T2),
                Some(Action::ClosePeriod | Action::ReopenPeriod) => Some(Tier::T3),
                _ => None,
            },
        };
        out.push(t);
    }
    out
}

fn check_suite(suite_dir: &str, suite: Suite) -> Vec<(PathBuf, Scenario)> {
    let all = load(suite_dir);
    let seed = seed_entries();
    for (path, s) in &all {
        let stem = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(
            s.name,
            stem,
            "{}: name must equal the file stem",
            path.display()
        );
        let problems = scenario::validate(s, suite);
        assert!(problems.is_empty(), "{}: {problems:#?}", path.display());

        let own: Option<BTreeMap<String, Entry>> = s.entries.as_ref().map(|es| {
            es.iter()
                .map(|r: &EntryRecord| {
                    let e = Entry::try_from(r.clone()).unwrap();
                    (e.entry_id.clone(), e)
                })
                .collect()
        });
        let known = own.as_ref().unwrap_or(&seed);
        if let Some(p) = &s.policy {
            assert!(
                path.parent().unwrap().join(p).is_file(),
                "{}: policy {p}",
                path.display()
            );
        }
        let tiers = derived_tiers(s);
        for (i, step) in s.steps.iter().enumerate() {
            let at = format!("{} step {}", path.display(), i + 1);
            if let Some(t) = &step.tamper {
                assert_eq!(s.category, Some(Category::TransportBypass), "{at}");
                if let Tamper::PolicyEdit { policy } = t {
                    assert!(
                        path.parent().unwrap().join(policy).is_file(),
                        "{at}: {policy}"
                    );
                }
                continue;
            }
            if let Some(want) = &step.expect.tier {
                assert_eq!(Some(tier_of(want)), tiers[i], "{at}: tier");
            }
            let Ok(args) = parse_args(step.action.as_deref().unwrap(), step.args.as_ref()) else {
                continue;
            };
            let ids: Vec<&String> = match &args {
                StepArgs::ProposeMatch { gl, sl, .. } => gl.iter().chain(sl).collect(),
                StepArgs::FlagException { entries, .. } => entries.iter().collect(),
                _ => vec![],
            };
            let unknown: Vec<_> = ids.iter().filter(|id| !known.contains_key(**id)).collect();
            if !unknown.is_empty() {
                let e = &step.expect;
                let refuses = e.decision == Some(ExpectedDecision::Deny)
                    && e.reasons
                        .as_ref()
                        .is_none_or(|r| r.iter().any(|c| c == "STATE_INVALID"));
                assert!(refuses, "{at}: unknown entries {unknown:?}");
            }
        }
    }
    all
}

#[test]
fn policy_scenarios_are_valid_and_cover_every_code_tier_and_action() {
    let all = check_suite("policy", Suite::Policy);
    assert!(all.len() >= 40, "{} policy scenarios", all.len());

    let mut codes = BTreeSet::new();
    let mut tiers = BTreeSet::new();
    let mut actions = BTreeSet::new();
    for (_, s) in &all {
        for (step, tier) in s.steps.iter().zip(derived_tiers(s)) {
            for r in step.expect.reasons.iter().flatten() {
                codes.insert(ReasonCode::parse(r).unwrap());
            }
            tiers.extend(tier);
            if let Some(a) = step.action.as_deref().and_then(Action::parse) {
                actions.insert(a);
            }
        }
    }
    let missing: Vec<_> = ReasonCode::ALL
        .iter()
        .filter(|c| !codes.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "reason codes never expected: {missing:?}"
    );
    assert_eq!(
        tiers,
        BTreeSet::from([Tier::T0, Tier::T1, Tier::T2, Tier::T3])
    );
    assert_eq!(actions, BTreeSet::from(Action::ALL));
}

#[test]
fn adversarial_scenarios_are_valid_and_cover_every_category() {
    let all = check_suite("adversarial", Suite::Adversarial);
    assert!(all.len() >= 25, "{} adversarial scenarios", all.len());
    let cats: BTreeSet<_> = all.iter().filter_map(|(_, s)| s.category).collect();
    assert_eq!(cats, BTreeSet::from(Category::ALL));
    // Every tamper kind is exercised.
    let kinds: BTreeSet<_> = all
        .iter()
        .flat_map(|(_, s)| &s.steps)
        .filter_map(|st| st.tamper.as_ref())
        .map(|t| matches!(t, Tamper::Sql { .. }))
        .collect();
    assert_eq!(kinds, BTreeSet::from([false, true]));
}

#[test]
fn scenario_names_are_unique_across_suites() {
    let mut names = BTreeSet::new();
    for (p, s) in load("policy").into_iter().chain(load("adversarial")) {
        assert!(
            names.insert(s.name.clone()),
            "{}: duplicate name",
            p.display()
        );
    }
}

#[test]
fn validate_catches_bad_scenarios() {
    let src = br#"
name: bad
description: d
policy: null
entries: null
steps:
  - actor: human:alice
    action: confirm_match
    args: { match: $2 }
    expect: { decision: allow, reasons: [NOT_A_CODE], approvals_remaining: 1 }
  - actor: human:alice
    action: propose_match
    args: { class: exact_match, gl: [GL-1001], sl: [SL-2001], actor: human:cfo }
    expect: { decision: allow }
  - actor: human:alice
    action: approve_action
    args: { request: $2 }
    expect: { decision: deny, reasons: [REQUEST_INVALID] }
"#;
    let s = scenario::parse("bad.yaml", src).unwrap();
    let problems = scenario::validate(&s, Suite::Adversarial).join("\n");
    for want in [
        "missing `category`",
        "step 1: unknown reason code `NOT_A_CODE`",
        "step 1: approvals_remaining is only for require_approval",
        "step 1: `$2` does not name an earlier step that creates a match",
        "step 2: arguments do not parse (unknown argument `actor`)",
        "step 3: expects REQUEST_INVALID but the arguments parse",
        "step 3: `$2` does not name an earlier step that creates a request",
    ] {
        assert!(problems.contains(want), "{want}\n---\n{problems}");
    }
}

#[test]
fn parse_errors_name_file_line_col_and_unknown_keys() {
    let src = b"name: x\ndescription: d\nsteps:\n  - actor: human:a\n    action: propose_match\n    expect: { decision: allow, colour: red }\n";
    let e = scenario::parse("x.yaml", src).unwrap_err();
    assert!(e.starts_with("x.yaml:6:"), "{e}");
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn parse_args_limits() {
    let v = |s: &str| -> serde_json::Value { serde_json::from_str(s).unwrap() };
    let ok = parse_args("confirm_match", Some(&v(r#"{"match": "$3"}"#))).unwrap();
    assert_eq!(
        ok,
        StepArgs::ConfirmMatch {
            target: Ref::Step(3),
            rationale: None
        }
    );
    let text = |n: usize| {
        v(&format!(
            r#"{{"match": "M-1", "rationale": "{}"}}"#,
            "é".repeat(n)
        ))
    };
    assert!(parse_args("confirm_match", Some(&text(4096))).is_ok());
    assert!(parse_args("confirm_match", Some(&text(4097))).is_err());
    for bad in [
        r#"{"match": "$0"}"#,
        r#"{"match": "$01"}"#,
        r#"{"match": "$"}"#,
        r#"{"match": 3}"#,
        r#"{"match": "M 1"}"#,
        r#"{"match": "M-1", "actor": "human:cfo"}"#,
    ] {
        assert!(parse_args("confirm_match", Some(&v(bad))).is_err(), "{bad}");
    }
    assert!(parse_args("drop_table", None).is_err());
    let adj = parse_args(
        "post_adjustment",
        Some(&v(r#"{"entity": "JP-SUB", "accounts": ["1200"], "amount": "1200000", "currency": "JPY", "date": "2026-05-20"}"#)),
    )
    .unwrap();
    let StepArgs::PostAdjustment { amount, .. } = adj else {
        panic!()
    };
    assert_eq!(amount.minor, 1_200_000);
}
