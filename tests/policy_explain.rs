//! `closegate-engine policy explain` end to end: a snapshot of the table for the seed policy,
//! determinism, the JSON form's pointers, and exit codes for invalid or missing policies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;

fn bin() -> Command {
    let mut c = Command::cargo_bin("closegate-engine").unwrap();
    c.env_remove("CLOSEGATE_POLICY").env_remove("CLOSEGATE_DB");
    c
}

fn explain(args: &[&str]) -> (Option<i32>, String, String) {
    let out = bin()
        .args(["policy", "explain"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn explain_seed_policy_snapshot() {
    let (code, stdout, stderr) = explain(&["--policy", "seed/saas/policy.yaml"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    // The sha256 shown is the sha256 of the file's bytes.
    let sha =
        closegate_engine::policy::sha256_hex(&std::fs::read("seed/saas/policy.yaml").unwrap());
    assert!(
        stdout.contains(&format!("policy_version  sha256:{sha}\n")),
        "{stdout}"
    );
    insta::assert_snapshot!(stdout);
}

#[test]
fn explain_is_deterministic_and_embedded_matches_the_file() {
    let a = explain(&["--policy", "seed/saas/policy.yaml"]).1;
    let b = explain(&["--policy", "seed/saas/policy.yaml"]).1;
    assert_eq!(a, b);
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["policy", "explain"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let embedded = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        embedded.replace("embedded:seed/saas/policy.yaml", "seed/saas/policy.yaml"),
        a
    );
}

#[test]
fn explain_json_rules_carry_resolvable_pointers() {
    let (code, stdout, _) = explain(&["--format", "json", "--policy", "seed/saas/policy.yaml"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let doc: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string("seed/saas/policy.yaml").unwrap()).unwrap();
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 13);
    for r in rules {
        let ptr = r["pointer"].as_str().unwrap();
        assert_eq!(doc.pointer(ptr).unwrap()["clause"], r["clause"], "{ptr}");
    }
    assert_eq!(v["base_currency"], "USD");
    assert_eq!(v["fx_rates"][0]["rate"], "1.2650");
}

#[test]
fn explain_invalid_policy_exits_2_with_diagnostics() {
    let (code, stdout, stderr) = explain(&[
        "--policy",
        "tests/fixtures/policy/invalid/p006_wrong_version.yaml",
    ]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with(
            "tests/fixtures/policy/invalid/p006_wrong_version.yaml:3:10: error[P006]: "
        ),
        "{stderr}"
    );
}

#[test]
fn explain_missing_policy_exits_1() {
    let (code, _, stderr) = explain(&["--policy", "no/such/policy.yaml"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with("error: cannot read policy file `no/such/policy.yaml`"),
        "{stderr}"
    );
}

#[test]
fn help_texts_snapshot() {
    for args in [
        &["validate", "--help"][..],
        &["policy", "explain", "--help"],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        insta::assert_snapshot!(args.join("_"), String::from_utf8(out.stdout).unwrap());
    }
}
