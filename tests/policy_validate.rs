//! `closegate-engine validate` end to end: every broken policy in
//! `tests/fixtures/policy/invalid/` exits 2 with exactly one diagnostic, whose code and
//! `line:col` are written in the table below from reading the fixture (the broken line is
//! named in each fixture's first comment). Also: the seed policy exits 0, a warning-only policy
//! exits 0 and prints its warning, a missing file and a usage error exit 1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use std::path::Path;

const FIXTURES: &str = "tests/fixtures/policy";

fn bin() -> Command {
    let mut c = Command::cargo_bin("closegate-engine").unwrap();
    c.env_remove("CLOSEGATE_POLICY").env_remove("CLOSEGATE_DB");
    c
}

/// (fixture, expected code, line, col). Positions counted by hand from each fixture.
const CASES: &[(&str, &str, usize, usize)] = &[
    // `   clause:` one space too deep: the mis-indented key.
    ("p001_bad_indentation", "P001", 16, 4),
    // `always_human_accounts: "1030"`: the value.
    ("p002_accounts_not_a_sequence", "P002", 19, 24),
    // `auto_confirm: "true"` inside the flow mapping.
    ("p002_auto_confirm_quoted", "P002", 23, 33),
    // `  thresold:` the key itself.
    ("p003_unknown_key", "P003", 15, 3),
    ("p003_unknown_top_level_key", "P003", 6, 1),
    // The second `clause:` of `rationale`.
    ("p004_duplicate_key", "P004", 29, 3),
    // `required_above` missing: reported at the `rationale:` key.
    ("p005_missing_required_key", "P005", 26, 1),
    ("p006_wrong_version", "P006", 3, 10),
    ("p007_bad_base_currency", "P007", 5, 16),
    ("p007_bad_entity_currency", "P007", 8, 32),
    ("p007_bad_fx_currency", "P007", 45, 17),
    // The second UK-SUB's id value.
    ("p008_duplicate_entity", "P008", 10, 11),
    ("p009_override_unknown_entity", "P009", 18, 17),
    ("p010_period_unknown_entity", "P010", 34, 17),
    ("p011_empty_clause", "P011", 13, 11),
    ("p011_blank_flow_clause", "P011", 24, 48),
    ("p012_negative_threshold", "P012", 15, 14),
    ("p012_zero_override_threshold", "P012", 18, 36),
    ("p012_zero_auto_confirm_limit", "P012", 23, 60),
    ("p013_unquoted_money", "P013", 27, 19),
    ("p013_not_a_decimal", "P013", 37, 27),
    ("p016_bad_period", "P016", 34, 36),
    // No JPY rate: reported at JP-SUB's `currency: JPY`.
    ("p017_missing_fx_rate", "P017", 9, 32),
    ("p018_zero_fx_rate", "P018", 43, 28),
    ("p019_bad_fx_date", "P019", 44, 45),
    ("p020_date_window_too_large", "P020", 36, 21),
    ("p020_multi_max_group_too_small", "P020", 40, 20),
    ("p020_similarity_above_one", "P020", 41, 28),
    ("p020_escalation_zero", "P020", 36, 33),
    ("p021_duplicate_account", "P021", 21, 16),
    ("p022_empty_timezone", "P022", 8, 47),
    ("p022_unknown_timezone", "P022", 8, 47),
    ("p024_duplicate_fx_rate", "P024", 44, 45),
    ("p027_duplicate_override", "P027", 19, 17),
];

#[test]
fn every_invalid_fixture_is_in_the_table() {
    let mut on_disk: Vec<String> = std::fs::read_dir(Path::new(FIXTURES).join("invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut in_table: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    in_table.sort();
    assert_eq!(on_disk, in_table);
    assert!(CASES.len() >= 18);
}

#[test]
fn each_broken_policy_exits_2_with_its_code_at_its_position() {
    let mut failures = Vec::new();
    for &(name, code, line, col) in CASES {
        let file = format!("{FIXTURES}/invalid/{name}.yaml");
        let out = bin()
            .args(["validate", "--format", "json", "--policy", &file])
            .output()
            .unwrap();
        if out.status.code() != Some(2) {
            failures.push(format!("{name}: exit {:?}, want 2", out.status.code()));
            continue;
        }
        let diags: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let got: Vec<(String, String, u64, u64)> = diags
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["severity"].as_str().unwrap().to_string(),
                    d["code"].as_str().unwrap().to_string(),
                    d["line"].as_u64().unwrap(),
                    d["col"].as_u64().unwrap(),
                )
            })
            .collect();
        let want = vec![(
            "error".to_string(),
            code.to_string(),
            line as u64,
            col as u64,
        )];
        if got != want {
            failures.push(format!("{name}: got {got:?}, want {want:?}"));
            continue;
        }
        // The human form names the file, position and code, and has a help line.
        let text = bin()
            .args(["validate", "--policy", &file])
            .output()
            .unwrap();
        assert_eq!(text.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8(text.stderr).unwrap();
        let head = format!("{file}:{line}:{col}: error[{code}]: ");
        if !stderr.starts_with(&head) || !stderr.contains("\n  = help: ") {
            failures.push(format!(
                "{name}: stderr {stderr:?} does not start with {head:?}"
            ));
        }
        let stdout = String::from_utf8(text.stdout).unwrap();
        assert!(stdout.starts_with("policy INVALID: "), "{name}: {stdout}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn seed_policy_is_valid() {
    let out = bin()
        .args(["validate", "--policy", "seed/saas/policy.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let sha =
        closegate_engine::policy::sha256_hex(&std::fs::read("seed/saas/policy.yaml").unwrap());
    assert_eq!(
        stdout.lines().next().unwrap_or_default(),
        format!(
            "policy OK: seed/saas/policy.yaml `Example SaaS Inc. reconciliation policy` (sha256 {sha})"
        )
    );
    assert!(stdout.contains("seed OK: pack `saas`"), "{stdout}");
}

#[test]
fn seed_policy_json_is_an_empty_array() {
    let out = bin()
        .args([
            "validate",
            "--format",
            "json",
            "--policy",
            "seed/saas/policy.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!([]));
}

#[test]
fn warning_only_policy_exits_0_and_prints_the_warning() {
    let file = format!("{FIXTURES}/warning/p014_limit_above_materiality.yaml");
    let out = bin()
        .args(["validate", "--policy", &file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    // `auto_confirm_limit: "20000.00"` on line 23, value at column 60.
    assert!(
        stderr.starts_with(&format!("{file}:23:60: warning[P014]: ")),
        "{stderr}"
    );
    assert_eq!(stderr.matches("warning[").count(), 1, "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("policy OK with 1 warning: "), "{stdout}");
}

#[test]
fn several_problems_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::fs::read_to_string("seed/saas/policy.yaml").unwrap();
    let broken = seed
        .replace("version: 1", "version: 3")
        .replace("threshold: \"10000.00\"", "threshold: \"-1\"")
        .replace("multi_max_group: 6", "multi_max_group: 99")
        .replace("timezone: Asia/Tokyo", "timezone: tokyo");
    let path = dir.path().join("policy.yaml");
    std::fs::write(&path, broken).unwrap();
    let out = bin()
        .args(["validate", "--format", "json", "--policy"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["P006", "P022", "P012", "P020"]);
}

#[test]
fn missing_policy_file_exits_1() {
    let out = bin()
        .args([
            "validate",
            "--policy",
            "tests/fixtures/policy/does-not-exist.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "error: cannot read policy file `tests/fixtures/policy/does-not-exist.yaml`"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn policy_env_var_is_honoured() {
    let out = bin()
        .env(
            "CLOSEGATE_POLICY",
            format!("{FIXTURES}/invalid/p006_wrong_version.yaml"),
        )
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn default_policy_is_local_file_then_embedded() {
    let dir = tempfile::tempdir().unwrap();
    // No ./policy.yaml: the embedded seed policy.
    let out = bin()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("policy OK: embedded:seed/saas/policy.yaml "),
        "{stdout}"
    );
    // A broken ./policy.yaml is picked up instead.
    std::fs::copy(
        format!("{FIXTURES}/invalid/p006_wrong_version.yaml"),
        dir.path().join("policy.yaml"),
    )
    .unwrap();
    let out = bin()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("policy.yaml:3:10: error[P006]: "),
        "{stderr}"
    );
}

#[test]
fn diagnostic_rendering_snapshot() {
    let out = bin()
        .args([
            "validate",
            "--policy",
            "tests/fixtures/policy/invalid/p012_negative_threshold.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(String::from_utf8(out.stderr).unwrap());
}

#[test]
fn usage_error_exits_1() {
    let out = bin().arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stderr).unwrap());
}
