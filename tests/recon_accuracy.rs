//! The accuracy corpus `eval/accuracy/*.json` scored against the matcher: macro-F1 must reach
//! the issue 4 threshold (0.98), and the embedded copy must hold the same cases as the files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use closegate_engine::recon::accuracy::{load_dir, load_embedded, score_dir, seed_config};
use closegate_engine::recon::MatchConfig;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/accuracy")
}

fn no_loader(p: &Path) -> Result<MatchConfig, String> {
    Err(format!(
        "no policy loader in this test (asked for `{}`)",
        p.display()
    ))
}

#[test]
fn corpus_macro_f1_meets_threshold() {
    let cfg = seed_config().unwrap();
    let report = score_dir(&corpus(), &cfg, &no_loader).unwrap();
    for c in &report.classes {
        eprintln!(
            "{:<13} tp {:>4} fp {:>3} fn {:>3}  P {:.4} R {:.4} F1 {:.4}",
            c.class, c.tp, c.fp, c.fn_, c.precision, c.recall, c.f1
        );
    }
    for f in &report.failing {
        eprintln!("FAIL {} ({}): {}", f.id, f.file, f.detail);
    }
    eprintln!("cases {} macro-F1 {:.4}", report.cases, report.macro_f1);
    assert!(report.cases >= 200, "only {} cases", report.cases);
    assert!(report.macro_f1 >= 0.98, "macro-F1 {}", report.macro_f1);
}

#[test]
fn corpus_covers_every_class_and_enough_hard_cases() {
    let cases = load_dir(&corpus()).unwrap();
    let hard = cases
        .iter()
        .filter(|c| c.case.description.starts_with("hard:"))
        .count();
    assert!(
        hard * 100 / cases.len() >= 25,
        "{hard} hard of {}",
        cases.len()
    );
    for class in ["exact_match", "fuzzy_match", "multi_to_one"] {
        let n = cases
            .iter()
            .filter(|c| c.case.expected.iter().any(|g| g.class.as_str() == class))
            .count();
        assert!(n >= 40, "{class}: {n} cases");
    }
    let exc = cases.iter().filter(|c| c.case.expected.is_empty()).count();
    assert!(exc >= 40, "exception-only cases: {exc}");
    assert!(cases.iter().all(|c| !c.case.description.trim().is_empty()));
}

#[test]
fn embedded_corpus_equals_files() {
    let files: Vec<_> = load_dir(&corpus())
        .unwrap()
        .into_iter()
        .map(|c| c.case)
        .collect();
    let emb: Vec<_> = load_embedded()
        .unwrap()
        .into_iter()
        .map(|c| c.case)
        .collect();
    assert_eq!(files, emb);
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.json"),
        "[\n {\"id\": \"x\",\n  \"oops\": 1}\n]\n",
    )
    .unwrap();
    let err = load_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("bad.json:3:"), "{err}");
    assert!(err.contains("oops"), "{err}");
}

#[test]
fn expected_groups_must_name_case_entries() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.json"),
        r#"{"id":"c","description":"d","policy":null,"entries":[],
            "expected":[{"class":"exact_match","gl":["GL-9"],"sl":[]}]}"#,
    )
    .unwrap();
    let err = score_dir(dir.path(), &seed_config().unwrap(), &no_loader)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`GL-9`"), "{err}");
}
