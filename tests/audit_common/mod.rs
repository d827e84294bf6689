//! Shared helpers of the `audit_*` integration tests: build a database holding a realistic
//! history (`seed --pack saas --history 180d`, replayed through the engine actions), copy it, tamper with it as an
//! attacker with file access would, and run `audit verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Events in the history database (read from it once).
pub fn history_events() -> u64 {
    static N: OnceLock<u64> = OnceLock::new();
    *N.get_or_init(|| {
        let c = rusqlite::Connection::open(history_db()).unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
            .unwrap();
        assert!(
            n > 2500,
            "the seeded history is too small for the tamper suite: {n}"
        );
        n as u64
    })
}

/// The binary under test.
pub fn bin() -> Command {
    Command::cargo_bin("closegate-engine").unwrap()
}

/// Builds (once per test binary) the seeded 180-day history database and returns its path.
/// The single place that decides how the history is produced.
pub fn history_db() -> &'static Path {
    static DB: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = DB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("history.db");
        bin()
            .args(["--db", db.to_str().unwrap(), "-q", "seed", "--pack", "saas"])
            .args(["--history", "180d"])
            .assert()
            .success();
        (dir, db)
    });
    p
}

/// A fresh copy of the history database in its own directory (the WAL was checkpointed when
/// the building process closed the database, so the main file is complete).
pub fn copy_of_history() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("copy.db");
    std::fs::copy(history_db(), &dst).unwrap();
    (dir, dst)
}

/// A raw connection, as an attacker with file access has.
pub fn raw(db: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(db).unwrap()
}

/// Drops the append-only triggers (and foreign-key enforcement: the outbox references audit
/// events), as an attacker with file access would first.
pub fn drop_triggers(db: &Path) -> rusqlite::Connection {
    let c = raw(db);
    c.execute_batch(
        "PRAGMA foreign_keys = OFF;
         DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
         DROP TRIGGER audit_log_append_at_head;",
    )
    .unwrap();
    c
}

/// Runs `audit verify --format json [extra]`; returns (exit code, report).
pub fn verify_json(db: &Path, extra: &[&str]) -> (i32, Value) {
    let out = bin()
        .args([
            "--db",
            db.to_str().unwrap(),
            "audit",
            "verify",
            "--format",
            "json",
        ])
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, v)
}

/// The head `SEQ:HASH` of a database, from `audit verify --format json`.
pub fn head_of(db: &Path) -> String {
    let (code, v) = verify_json(db, &[]);
    assert_eq!(code, 0, "{v}");
    format!("{}:{}", v["head_seq"], v["head_hash"].as_str().unwrap())
}

/// `(seq, kind)` of the first problem.
pub fn first_problem(v: &Value) -> (u64, String) {
    let p = &v["problems"][0];
    (
        p["seq"].as_u64().unwrap(),
        p["kind"].as_str().unwrap().to_string(),
    )
}
