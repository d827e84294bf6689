//! End-to-end tests of the book of record through the binary: seeding (deterministic, refuses
//! to overwrite data without --force, atomic), the operator commands (identity explicit, every
//! decision in the audit log), and `recon run` on the seeded pack (issues 3 and 4).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use std::path::Path;

fn bin() -> Command {
    Command::cargo_bin("closegate-engine").unwrap()
}

fn at(db: &Path) -> Command {
    let mut c = bin();
    c.arg("--db").arg(db);
    c
}

/// `SELECT count(*) …` with no parameter.
fn count(c: &rusqlite::Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `SELECT count(*) …` with one parameter.
fn count_with(c: &rusqlite::Connection, sql: &str, p: impl rusqlite::ToSql) -> i64 {
    c.query_row(sql, [p], |r| r.get(0)).unwrap()
}

fn head(db: &Path) -> String {
    let out = at(db).args(["state", "--format", "json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    format!(
        "{}:{}",
        v["audit_head"]["seq"],
        v["audit_head"]["hash"].as_str().unwrap()
    )
}

#[test]
fn seeding_with_history_is_deterministic_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    at(&a)
        .args(["seed", "--history", "180d"])
        .assert()
        .success();
    at(&b)
        .args(["seed", "--history", "180d"])
        .assert()
        .success();
    let ha = head(&a);
    assert_eq!(ha, head(&b), "two seeds gave different audit heads");
    // Re-seeding over data needs --force, and then gives the same head again.
    at(&a)
        .args(["seed", "--history", "180d"])
        .assert()
        .code(1)
        .stderr(contains("already holds data; pass --force"));
    assert_eq!(
        head(&a),
        ha,
        "a refused seed must leave the database untouched"
    );
    at(&a)
        .args(["seed", "--history", "180d", "--force"])
        .assert()
        .success();
    assert_eq!(head(&a), ha);
    at(&a).args(["audit", "verify"]).assert().success();
    // Thousands of events of every kind.
    let c = rusqlite::Connection::open(&a).unwrap();
    let n: i64 = count(&c, "SELECT count(*) FROM audit_log");
    assert!(n > 2000, "{n} events");
    for t in [
        "MATCH_PROPOSED",
        "MATCH_CONFIRMED",
        "APPROVAL_REQUIRED",
        "APPROVAL_GRANTED",
        "POLICY_VIOLATION",
        "EXCEPTION_FLAGGED",
        "ADJUSTMENT_POSTED",
        "PERIOD_CLOSED",
        "PERIOD_REOPENED",
    ] {
        let k: i64 = count_with(
            &c,
            "SELECT count(*) FROM audit_log WHERE event_type = ?1",
            t,
        );
        assert!(k > 0, "no {t} event in the history");
    }
    for code in [
        "SOD_SAME_ACTOR",
        "MISSING_RATIONALE",
        "LLM_CANNOT_APPROVE",
        "DUPLICATE_APPROVER",
    ] {
        let k: i64 = count_with(
            &c,
            "SELECT count(*) FROM audit_log WHERE decision = 'deny' AND reasons LIKE ?1",
            format!("%\"{code}\"%"),
        );
        assert!(k > 0, "no {code} denial in the history");
    }
}

#[test]
fn recon_run_on_the_seed_pack_logs_every_decision_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    at(&db).args(["seed"]).assert().success();
    let out = at(&db)
        .args(["recon", "run", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let decisions: u64 = v["decisions"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum();
    // The pack's designed groups (seed/saas/expected.json) are what the matcher proposes.
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("seed/saas/expected.json").unwrap()).unwrap();
    let groups = expected.as_array().unwrap();
    for class in ["exact_match", "fuzzy_match", "multi_to_one"] {
        let want = groups.iter().filter(|g| g["class"] == class).count() as u64;
        assert_eq!(v["proposed"][class].as_u64().unwrap_or(0), want, "{class}");
    }
    let c = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = count(&c, "SELECT count(*) FROM audit_log");
    assert_eq!(n as u64, decisions, "one audit event per decision");
    // The auto-confirm path is a distinct engine actor from the proposer.
    let proposers: i64 = count(&c, "SELECT count(*) FROM audit_log WHERE action = 'propose_match' AND actor_id = 'engine:recon'");
    let confirmers: i64 = count(&c, "SELECT count(*) FROM audit_log WHERE action = 'confirm_match' AND actor_id = 'engine:autoconfirm'");
    assert_eq!(proposers, confirmers);
    // Nothing above materiality or on an always-human account was auto-confirmed.
    let bad: i64 = count(&c, "SELECT count(*) FROM audit_log WHERE event_type = 'MATCH_CONFIRMED' AND actor_kind = 'engine'
             AND (CAST(amount_base AS REAL) > 10000.0 OR accounts LIKE '%\"1030\"%' OR accounts LIKE '%\"2400\"%')");
    assert_eq!(bad, 0);
    at(&db).args(["audit", "verify"]).assert().success();
}

#[test]
fn operator_commands_go_through_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db");
    at(&db).args(["seed"]).assert().success();
    let out = at(&db)
        .args([
            "match",
            "propose",
            "--class",
            "exact_match",
            "--gl",
            "GL-1001",
            "--sl",
            "SL-2001",
        ])
        .args(["--actor", "human:carol", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = v["created"].as_str().unwrap().to_string();
    // The proposer cannot confirm: exit 2 with the clause quoted.
    at(&db)
        .args([
            "match",
            "confirm",
            &m,
            "--actor",
            "human:carol",
            "--rationale",
            "mine",
        ])
        .assert()
        .code(2)
        .stdout(contains("SOD_SAME_ACTOR"))
        .stdout(contains("may not confirm or approve"));
    at(&db)
        .args([
            "match",
            "confirm",
            &m,
            "--actor",
            "human:alice",
            "--rationale",
            "checked",
        ])
        .assert()
        .success()
        .stdout(contains("allow"));
    // T3: close a period, two distinct humans.
    let out = at(&db)
        .args([
            "period",
            "close",
            "--entity",
            "UK-SUB",
            "--period",
            "2026-04",
            "--actor",
            "human:carol",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"]["decision"], "require_approval");
    let r = v["created"].as_str().unwrap().to_string();
    at(&db)
        .args(["approve", &r, "--actor", "human:carol"])
        .assert()
        .code(2);
    at(&db)
        .args(["approve", &r, "--actor", "llm:session-1"])
        .assert()
        .code(2);
    at(&db)
        .args(["approve", &r, "--actor", "human:alice"])
        .assert()
        .success()
        .stdout(contains("1 approval(s) remaining"));
    at(&db)
        .args(["approve", &r, "--actor", "human:alice"])
        .assert()
        .code(2)
        .stdout(contains("DUPLICATE_APPROVER"));
    at(&db)
        .args(["approve", &r, "--actor", "human:bob"])
        .assert()
        .success()
        .stdout(contains("PERIOD_CLOSED"));
    // A malformed actor is refused and recorded.
    at(&db)
        .args(["match", "reject", &m, "--actor", "root"])
        .assert()
        .code(2)
        .stdout(contains("ACTOR_INVALID"));
    at(&db)
        .args(["state"])
        .assert()
        .success()
        .stdout(contains("CONFIRMED"));
    at(&db).args(["audit", "verify"]).assert().success();
    at(&db)
        .args(["audit", "tail", "-n", "3"])
        .assert()
        .success()
        .stdout(contains("POLICY_VIOLATION"));
}

#[test]
fn missing_database_and_bad_pack_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    at(&dir.path().join("none.db"))
        .args(["state"])
        .assert()
        .code(1)
        .stderr(contains("does not exist"));
    at(&dir.path().join("x.db"))
        .args(["seed", "--pack", "nope"])
        .assert()
        .code(1)
        .stderr(contains("nope"));
    at(&dir.path().join("x.db"))
        .args(["seed", "--history", "soon"])
        .assert()
        .code(1)
        .stderr(contains("--history"));
    assert!(
        !dir.path().join("x.db").exists(),
        "a failed seed must not leave a database"
    );
}

#[test]
fn validate_checks_policy_seed_data_and_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    at(&db).args(["seed"]).assert().success();
    at(&db).args(["recon", "run"]).assert().success();
    at(&db)
        .args(["validate"])
        .assert()
        .success()
        .stdout(contains("policy OK"))
        .stdout(contains("seed OK"))
        .stdout(contains("audit OK"));
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "PRAGMA foreign_keys = OFF; DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET actor_id = 'human:mallory' WHERE seq = 5;",
    )
    .unwrap();
    drop(c);
    at(&db)
        .args(["validate"])
        .assert()
        .code(2)
        .stdout(contains("audit BROKEN"))
        .stderr(contains("seq 5"));
}

#[test]
fn usage_errors_and_refused_requests_explain_themselves() {
    // A missing subcommand is a usage error (1), though clap prints the help.
    bin().assert().code(1);
    bin().arg("audit").assert().code(1);
    bin().arg("--help").assert().success();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("u.db");
    at(&db).args(["seed"]).assert().success();
    // A malformed amount is refused (exit 2), recorded, and the operator is told why.
    at(&db)
        .args([
            "adjust",
            "--entity",
            "US-PARENT",
            "--account",
            "6100",
            "--amount",
            "12x.5",
        ])
        .args([
            "--currency",
            "USD",
            "--date",
            "2026-04-02",
            "--actor",
            "human:carol",
        ])
        .assert()
        .code(2)
        .stdout(contains("REQUEST_INVALID"))
        .stderr(contains("`12x.5` is not a decimal number"));
    // An explicit --policy-path that does not exist stops the export before anything is written.
    let zip = dir.path().join("b.zip");
    at(&db)
        .args([
            "audit-evidence-export",
            "--since",
            "2026-06-01",
            "--until",
            "2026-06-02",
        ])
        .args([
            "--eval-runs-dir",
            dir.path().to_str().unwrap(),
            "--policy-path",
            "/nonexistent/policy.yaml",
            "--out",
        ])
        .arg(&zip)
        .assert()
        .code(1)
        .stderr(contains("--policy-path"));
    assert!(!zip.exists());
}

#[test]
fn state_changes_queue_a_downstream_sync_that_waits_for_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    at(&db).args(["seed"]).assert().success();
    at(&db).args(["recon", "run"]).assert().success();
    let c = rusqlite::Connection::open(&db).unwrap();
    let confirmed: i64 = count(
        &c,
        "SELECT count(*) FROM audit_log WHERE event_type = 'MATCH_CONFIRMED'",
    );
    let sync: i64 = count(
        &c,
        "SELECT count(*) FROM outbox WHERE kind = 'downstream_sync'",
    );
    let hitl: i64 = count(
        &c,
        "SELECT count(*) FROM outbox WHERE kind = 'hitl_notification'",
    );
    let escalated: i64 = count(
        &c,
        "SELECT count(*) FROM audit_log WHERE event_type = 'APPROVAL_REQUIRED'",
    );
    assert!(confirmed > 0 && escalated > 0);
    assert_eq!(sync, confirmed, "one downstream sync per confirmed match");
    assert_eq!(hitl, escalated, "one notification per escalation");
    drop(c);
    // Only Slack is configured (and unreachable): notifications are attempted, sync rows wait.
    at(&db)
        .env("CLOSEGATE_SLACK_HOOK", "http://127.0.0.1:9/services/SECRET")
        .env_remove("CLOSEGATE_WEBHOOK_URL")
        .args(["outbox", "drain", "--once"])
        .assert()
        .stderr(predicates::str::contains("SECRET").not());
    let c = rusqlite::Connection::open(&db).unwrap();
    let touched: i64 = count(&c, "SELECT count(*) FROM outbox WHERE kind = 'downstream_sync' AND (attempts > 0 OR state <> 'PENDING')");
    assert_eq!(
        touched, 0,
        "sync rows without a target must not burn attempts"
    );
    let tried: i64 = count(
        &c,
        "SELECT count(*) FROM outbox WHERE kind = 'hitl_notification' AND attempts > 0",
    );
    assert_eq!(tried, hitl);
}

#[test]
fn seeding_under_another_policy_records_that_policy_text() {
    // The clauses quoted by later decisions must verify against the policy actually in force,
    // not the pack's own policy.yaml.
    let dir = tempfile::tempdir().unwrap();
    let pol = dir.path().join("policy.yaml");
    let src = std::fs::read_to_string("seed/saas/policy.yaml")
        .unwrap()
        .replace(
            "Fuzzy matches always require human confirmation.",
            "Fuzzy matches always need a person (edited policy).",
        );
    std::fs::write(&pol, &src).unwrap();
    let db = dir.path().join("p.db");
    at(&db)
        .arg("--policy")
        .arg(&pol)
        .args(["seed"])
        .assert()
        .success();
    at(&db)
        .arg("--policy")
        .arg(&pol)
        .args(["recon", "run"])
        .assert()
        .success();
    let c = rusqlite::Connection::open(&db).unwrap();
    let stored: Vec<String> = c
        .prepare("SELECT source FROM policies")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stored, [src]);
    assert!(
        count(
            &c,
            "SELECT count(*) FROM audit_log WHERE reasons LIKE '%edited policy%'"
        ) > 0
    );
    at(&db).args(["audit", "verify"]).assert().success();
}
