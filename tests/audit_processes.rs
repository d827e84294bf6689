//! Appends from several OS processes: two `append-synthetic` processes writing at once give one
//! gap-free chain holding every event, and a process killed with SIGKILL in the middle of a long
//! batch leaves a chain that verifies (whole transactions only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit_common;

use audit_common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn spawn_append(
    db: &std::path::Path,
    count: u64,
    batch: u64,
    prefix: &str,
    pause_us: u64,
) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("closegate-engine"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "--quiet",
            "audit",
            "append-synthetic",
        ])
        .args(["--count", &count.to_string(), "--batch", &batch.to_string()])
        .args(["--id-prefix", prefix, "--pause-us", &pause_us.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn count_rows(db: &std::path::Path, sql: &str) -> u64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_secs(30)).unwrap();
    c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

#[test]
fn two_processes_appending_concurrently_give_one_gap_free_chain() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("two.db");
    // Create the schema first so both processes race only on appends.
    bin()
        .args([
            "--db",
            db.to_str().unwrap(),
            "audit",
            "append-synthetic",
            "--count",
            "0",
        ])
        .assert()
        .success();
    // Both pause between transactions, as real engine actions do between commits; without it
    // SQLite's busy handler lets one tight loop starve the other and nothing interleaves.
    let (n_a, n_b) = (900, 900);
    let a = spawn_append(&db, n_a, 1, "proc-a", 300);
    let b = spawn_append(&db, n_b, 3, "proc-b", 300);
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["events"], n_a + n_b);
    assert_eq!(v["head_seq"], n_a + n_b);
    let from_a = count_rows(
        &db,
        "SELECT COUNT(*) FROM audit_log WHERE event_id LIKE 'proc-a-%'",
    );
    assert_eq!(from_a, n_a);
    // The test must have exercised real contention: some event of b lies between two of a.
    let interleaved = count_rows(
        &db,
        "SELECT COUNT(*) FROM audit_log WHERE event_id LIKE 'proc-b-%'
           AND seq > (SELECT MIN(seq) FROM audit_log WHERE event_id LIKE 'proc-a-%')
           AND seq < (SELECT MAX(seq) FROM audit_log WHERE event_id LIKE 'proc-a-%')",
    );
    assert!(interleaved > 0, "the two processes did not interleave");
}

#[test]
fn sigkill_in_the_middle_of_a_batch_leaves_a_chain_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("killed.db");
    let batch = 500;
    let mut child = spawn_append(&db, 5_000_000, batch, "kill", 0);
    // Wait until some transactions have committed, then kill (SIGKILL on Unix).
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let ready = db.exists()
            && rusqlite::Connection::open(&db)
                .and_then(|c| {
                    c.busy_timeout(Duration::from_secs(5))?;
                    c.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get::<_, i64>(0))
                })
                .is_ok_and(|n| n >= 3 * batch as i64);
        if ready {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        assert!(child.try_wait().unwrap().is_none(), "append ended early");
    }
    std::thread::sleep(Duration::from_millis(150));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the process was killed, not finished");
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 0, "{v}");
    let events = v["events"].as_u64().unwrap();
    assert!(events >= 3 * batch && events < 5_000_000, "{events}");
    assert_eq!(
        events % batch,
        0,
        "only whole transactions are visible: {events}"
    );
    // The chain can be extended after the crash.
    bin()
        .args(["--db", db.to_str().unwrap(), "audit", "append-synthetic"])
        .args(["--count", "10", "--id-prefix", "after"])
        .assert()
        .success();
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["events"].as_u64().unwrap(), events + 10);
}
