//! The `saas` seed pack loads, passes its checks against the seed policy, and has the shape
//! issue 3 asks for; broken packs fail with errors naming `file:line:col` or the bad item.
//! These tests read only the embedded pack and temporary copies of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use closegate_engine::gate::request::{Actor, ActorKind};
use closegate_engine::ledger::{Entry, Side};
use closegate_engine::money::Currency;
use closegate_engine::seed::{self, ExpectedGroup, PolicyFacts, SeedError, SeedPack};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

/// The seed policy as a JSON value, read straight from its YAML. `policy::load` lives on
/// another branch; this and [`seed_facts`] are the one place that stands in for it.
fn seed_policy_doc() -> serde_json::Value {
    serde_saphyr::from_slice(closegate_engine::embedded::default_policy()).unwrap()
}

fn date(v: &serde_json::Value) -> NaiveDate {
    NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

fn seed_facts() -> PolicyFacts {
    let doc = seed_policy_doc();
    let cur = |v: &serde_json::Value| Currency::from_code(v.as_str().unwrap()).unwrap();
    let list = |k: &str| doc[k].as_array().unwrap().clone();
    PolicyFacts {
        base_currency: cur(&doc["base_currency"]),
        entities: list("entities")
            .iter()
            .map(|e| (e["id"].as_str().unwrap().to_string(), cur(&e["currency"])))
            .collect(),
        fx_rates: list("fx_rates")
            .iter()
            .map(|r| (cur(&r["currency"]), date(&r["as_of"])))
            .collect(),
        always_human_accounts: list("always_human_accounts")
            .iter()
            .map(|a| a["account"].as_str().unwrap().to_string())
            .collect(),
    }
}

fn dec(v: &serde_json::Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap()).unwrap()
}

/// Base-currency value with the latest rate on or before the date (the rule of docs/gate.md).
fn to_base(doc: &serde_json::Value, e: &Entry) -> Decimal {
    let amount = e.amount.to_decimal();
    let cur = e.amount.currency.code();
    if cur == doc["base_currency"].as_str().unwrap() {
        return amount;
    }
    let rate = doc["fx_rates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["currency"] == cur && date(&r["as_of"]) <= e.date)
        .max_by_key(|r| date(&r["as_of"]))
        .unwrap();
    amount * dec(&rate["rate"])
}

fn saas() -> SeedPack {
    seed::load_embedded("saas").unwrap()
}

fn groups(pack: &SeedPack) -> Vec<ExpectedGroup> {
    serde_json::from_value(pack.expected.clone().unwrap()).unwrap()
}

#[test]
fn embedded_saas_loads_and_passes_check() {
    let pack = saas();
    assert_eq!(pack.name, "saas");
    assert_eq!(pack.policy_name, "embedded:seed/saas/policy.yaml");
    assert_eq!(
        pack.policy_src,
        closegate_engine::embedded::default_policy()
    );
    assert_eq!(pack.seeded_at.to_rfc3339(), "2026-06-01T06:00:00+00:00");
    assert_eq!(pack.content_hash.len(), 64);
    let problems = seed::check_facts(&pack, &seed_facts());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn saas_has_the_shape_issue_3_asks_for() {
    let pack = saas();
    assert!(pack.entries.len() >= 150, "{} entries", pack.entries.len());
    let entities: BTreeSet<_> = pack.entries.iter().map(|e| e.entity.as_str()).collect();
    assert_eq!(entities, BTreeSet::from(["JP-SUB", "UK-SUB", "US-PARENT"]));
    let kinds: BTreeSet<_> = pack
        .actors
        .iter()
        .map(|a| Actor::parse(&a.id).unwrap().kind)
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([ActorKind::Human, ActorKind::Llm, ActorKind::Engine])
    );
    for id in ["engine:recon", "engine:autoconfirm", "llm:us-agent"] {
        assert!(pack.actors.iter().any(|a| a.id == id), "{id}");
    }
    assert!(pack.actors.iter().any(|a| a.id.starts_with("llm:")
        && a.entities.as_deref() == Some(&["US-PARENT".to_string()][..])));
    // Sensitive accounts, the closed period and every month March..May are exercised.
    for acct in ["1030", "2400"] {
        assert!(pack.entries.iter().any(|e| e.account == acct), "{acct}");
        assert!(pack.accounts.iter().any(|a| a.account == acct), "{acct}");
    }
    let month = |e: &Entry| e.date.format("%Y-%m").to_string();
    let months: BTreeSet<_> = pack.entries.iter().map(month).collect();
    assert_eq!(
        months,
        BTreeSet::from(["2026-03".into(), "2026-04".into(), "2026-05".into()])
    );
    assert!(pack
        .entries
        .iter()
        .any(|e| e.entity == "US-PARENT" && month(e) == "2026-03"));
}

#[test]
fn expected_covers_every_class_and_obeys_the_class_rules() {
    let pack = saas();
    let doc = seed_policy_doc();
    let by_id: BTreeMap<_, _> = pack
        .entries
        .iter()
        .map(|e| (e.entry_id.as_str(), e))
        .collect();
    let gs = groups(&pack);
    let classes: BTreeSet<_> = gs.iter().map(|g| g.class.as_str()).collect();
    assert_eq!(
        classes,
        BTreeSet::from(["exact_match", "fuzzy_match", "multi_to_one"])
    );
    let grouped: BTreeSet<_> = gs
        .iter()
        .flat_map(|g| g.gl.iter().chain(&g.sl))
        .cloned()
        .collect();
    let exceptions = pack
        .entries
        .iter()
        .filter(|e| !grouped.contains(&e.entry_id))
        .count();
    assert!(exceptions >= 10, "{exceptions} exceptions");

    let m = &doc["matching"];
    let window = m["date_window_days"].as_i64().unwrap();
    let (tol, pct, multi_tol) = (
        dec(&m["fuzzy_amount_tolerance"]),
        dec(&m["fuzzy_amount_tolerance_pct"]),
        dec(&m["multi_sum_tolerance"]),
    );
    let materiality = dec(&doc["materiality"]["threshold"]);
    let mut above = 0;
    for g in &gs {
        let gl: Vec<&Entry> = g.gl.iter().map(|i| by_id[i.as_str()]).collect();
        let sl: Vec<&Entry> = g.sl.iter().map(|i| by_id[i.as_str()]).collect();
        assert!(gl.iter().all(|e| e.side == Side::Gl) && sl.iter().all(|e| e.side == Side::Sl));
        let all: Vec<&Entry> = gl.iter().chain(&sl).copied().collect();
        let first = all.iter().map(|e| e.date).min().unwrap();
        let last = all.iter().map(|e| e.date).max().unwrap();
        assert!((last - first).num_days() <= window, "{g:?}");
        assert!(
            all.iter()
                .all(|e| e.entity == gl[0].entity && e.account == gl[0].account),
            "{g:?}"
        );
        let base = |es: &[&Entry]| -> Decimal { es.iter().map(|e| to_base(&doc, e)).sum() };
        let (g_base, s_base) = (base(&gl), base(&sl));
        if g_base.abs() > materiality {
            above += 1;
        }
        match g.class.as_str() {
            "exact_match" => {
                assert_eq!((gl.len(), sl.len()), (1, 1), "{g:?}");
                assert_eq!(gl[0].amount, sl[0].amount, "{g:?}");
            }
            "fuzzy_match" => {
                assert_eq!((gl.len(), sl.len()), (1, 1), "{g:?}");
                let allowed = tol.max(g_base.abs() * pct / Decimal::from(100));
                assert!((g_base - s_base).abs() <= allowed, "{g:?}");
                assert!(
                    gl[0].amount != sl[0].amount || gl[0].reference != sl[0].reference,
                    "{g:?} is exact"
                );
            }
            "multi_to_one" => {
                let shape = (gl.len() == 1 && sl.len() >= 2) || (sl.len() == 1 && gl.len() >= 2);
                assert!(shape && gl.len().max(sl.len()) <= 6, "{g:?}");
                assert!((g_base - s_base).abs() <= multi_tol, "{g:?}");
            }
            other => panic!("class {other}"),
        }
    }
    assert!(above >= 4, "{above} above-materiality groups");
}

fn copy_saas(dir: &Path) {
    for f in seed::PACK_FILES {
        let bytes = closegate_engine::embedded::seed_file(&format!("saas/{f}")).unwrap();
        std::fs::write(dir.join(f), bytes).unwrap();
    }
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let p = dir.join(file);
    let s = std::fs::read_to_string(&p).unwrap();
    assert!(s.contains(from), "{from}");
    std::fs::write(&p, s.replacen(from, to, 1)).unwrap();
}

fn broken_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_saas(dir.path());
    dir
}

#[test]
fn load_dir_of_a_copy_gives_the_same_pack() {
    let dir = broken_copy();
    let a = saas();
    let b = seed::load_dir(dir.path()).unwrap();
    assert_eq!(a.content_hash, b.content_hash);
    assert_eq!(a.entries, b.entries);
    assert!(seed::check_facts(&b, &seed_facts()).is_empty());
    // One changed byte changes the hash.
    edit(dir.path(), "policy.yaml", "version: 1", "version: 1 ");
    assert_ne!(
        seed::load_dir(dir.path()).unwrap().content_hash,
        a.content_hash
    );
}

#[test]
fn unknown_pack_lists_the_available_ones() {
    let err = seed::load_embedded("nope").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown seed pack `nope` (available: saas)"
    );
}

#[test]
fn bad_json_names_file_line_col() {
    let dir = broken_copy();
    // Break the third line (the second entry): a missing comma between two fields.
    edit(
        dir.path(),
        "entries.json",
        r#""entry_id": "GL-1002","#,
        r#""entry_id": "GL-1002""#,
    );
    let err = seed::load_dir(dir.path()).unwrap_err();
    match &err {
        SeedError::At {
            file, line, col, ..
        } => {
            assert!(file.ends_with("entries.json"), "{file}");
            assert_eq!(*line, 3);
            assert!(*col > 20, "{col}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("entries.json:3:"), "{err}");
}

#[test]
fn bad_amount_names_its_position_and_entry() {
    let dir = broken_copy();
    edit(
        dir.path(),
        "entries.json",
        r#""amount": "750.00""#,
        r#""amount": "7.5.0""#,
    );
    let err = seed::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("entries.json:3:"), "{err}");
    assert!(err.contains("GL-1002"), "{err}");
}

#[test]
fn unknown_key_in_entries_is_rejected() {
    let dir = broken_copy();
    edit(
        dir.path(),
        "entries.json",
        r#""side": "SL","#,
        r#""side": "SL", "memo": "x","#,
    );
    let err = seed::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("memo"), "{err}");
}

#[test]
fn unknown_key_in_pack_yaml_is_rejected_with_position() {
    let dir = broken_copy();
    edit(
        dir.path(),
        "pack.yaml",
        "name: saas\n",
        "name: saas\ncolour: blue\n",
    );
    let err = seed::load_dir(dir.path()).unwrap_err();
    let SeedError::At { file, line, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(file.ends_with("pack.yaml"));
    assert_eq!(*line, 4, "{err}");
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn non_utc_seeded_at_is_rejected_with_position() {
    let dir = broken_copy();
    edit(
        dir.path(),
        "pack.yaml",
        "2026-06-01T06:00:00Z",
        "2026-06-01T06:00:00+02:00",
    );
    let err = seed::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("pack.yaml:5:"), "{err}");
    assert!(err.contains("seeded_at"), "{err}");
}

#[test]
fn missing_entries_file_is_named() {
    let dir = broken_copy();
    std::fs::remove_file(dir.path().join("entries.json")).unwrap();
    let err = seed::load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("entries.json: missing"), "{err}");
}

fn problems(dir: &Path) -> Vec<String> {
    let pack = seed::load_dir(dir).unwrap();
    seed::check_facts(&pack, &seed_facts())
        .iter()
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn check_finds_unknown_entity_duplicate_id_and_bad_scope() {
    let dir = broken_copy();
    edit(
        dir.path(),
        "entries.json",
        r#""entity": "JP-SUB""#,
        r#""entity": "DE-SUB""#,
    );
    edit(
        dir.path(),
        "entries.json",
        r#""entry_id": "SL-2002""#,
        r#""entry_id": "SL-2001""#,
    );
    edit(
        dir.path(),
        "pack.yaml",
        "entities: [US-PARENT]",
        "entities: [US-PARENTS]",
    );
    let ps = problems(dir.path());
    let has = |s: &str| ps.iter().any(|p| p.contains(s));
    assert!(has("unknown entity `DE-SUB`"), "{ps:#?}");
    assert!(has("entry `SL-2001`: duplicate entry id"), "{ps:#?}");
    assert!(has("scope names unknown entity `US-PARENTS`"), "{ps:#?}");
    let shown = dir.path().display().to_string();
    assert!(ps.iter().all(|p| p.starts_with(&shown)), "{ps:#?}");
}

#[test]
fn check_finds_missing_fx_rate_unknown_account_and_bad_actor() {
    let dir = broken_copy();
    edit(
        dir.path(),
        "entries.json",
        r#""date": "2026-04-10", "counterparty": "Brakebills Ltd""#,
        r#""date": "2025-12-31", "counterparty": "Brakebills Ltd""#,
    );
    edit(
        dir.path(),
        "entries.json",
        r#""account": "1200""#,
        r#""account": "9999""#,
    );
    edit(dir.path(), "pack.yaml", "\"human:bob\"", "\"root:bob\"");
    let ps = problems(dir.path());
    let has = |s: &str| ps.iter().any(|p| p.contains(s));
    assert!(
        has("entry `GL-1001`: account `9999` is not in the chart of `US-PARENT`"),
        "{ps:#?}"
    );
    assert!(
        has("entry `GL-1101`: no fx rate for `GBP` on or before `2025-12-31`"),
        "{ps:#?}"
    );
    assert!(has("actor `root:bob`"), "{ps:#?}");
}

#[test]
fn check_finds_bad_expected_groups() {
    let dir = broken_copy();
    edit(
        dir.path(),
        "expected.json",
        r#""gl": ["GL-1002"]"#,
        r#""gl": ["GL-1001"]"#,
    );
    edit(
        dir.path(),
        "expected.json",
        r#""sl": ["SL-2003"]"#,
        r#""sl": ["GL-1004"]"#,
    );
    let ps = problems(dir.path());
    let has = |s: &str| ps.iter().any(|p| p.contains(s));
    assert!(has("entry `GL-1001` is in two groups"), "{ps:#?}");
    assert!(has("entry `GL-1004` is not on the SL side"), "{ps:#?}");
}
