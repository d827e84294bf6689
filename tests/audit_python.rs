//! Runs the Python verifier printed in `docs/audit-log.md` against real databases: it must
//! accept an intact log (agreeing on the head with `audit verify`) and reject a tampered one at
//! the same seq. Skipped, with a notice, when `python3` is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit_common;

use audit_common::*;
use std::process::Command;

/// The code block after the `<!-- verifier.py -->` marker.
fn python_verifier() -> String {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/audit-log.md"),
    )
    .unwrap();
    let after = doc.split("<!-- verifier.py -->").nth(1).unwrap();
    let body = after.split("```python\n").nth(1).unwrap();
    body.split("```").next().unwrap().to_string()
}

fn python_available() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_python(script: &std::path::Path, db: &std::path::Path) -> (i32, String) {
    let out = Command::new("python3")
        .arg(script)
        .arg(db)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

#[test]
fn documented_python_verifier_agrees_with_audit_verify() {
    if !python_available() {
        eprintln!("python3 not found: skipping the documented-verifier test");
        return;
    }
    let code = python_verifier();
    assert!(
        code.lines().count() <= 30,
        "the doc promises a verifier of at most 30 lines"
    );
    let (dir, db) = copy_of_history();
    let script = dir.path().join("verifier.py");
    std::fs::write(&script, code).unwrap();

    let (status, out) = run_python(&script, &db);
    assert_eq!(status, 0, "{out}");
    assert_eq!(out, format!("ok: head {}", head_of(&db)));

    drop_triggers(&db)
        .execute(
            "UPDATE audit_log SET rationale = 'edited' WHERE seq = 1234",
            [],
        )
        .unwrap();
    let (status, out) = run_python(&script, &db);
    assert_eq!(status, 2, "{out}");
    assert_eq!(out, "seq 1234: hash mismatch");
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 2);
    assert_eq!(first_problem(&v).0, 1234);
}
