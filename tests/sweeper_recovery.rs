//! `sweeper run` recovers what crashed processes left: a lock held by a process that was killed
//! (released once expired, never before), an outbox lease held by a drain killed mid-delivery
//! (released as a failed attempt), and aged exceptions flagged. Each run is recorded (row +
//! SWEEPER_RUN event) and appears in `sweeper-runs.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod export_common;

use chrono::{DateTime, Duration, Utc};
use export_common::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

fn sweep(db: &Path, now: DateTime<Utc>) -> serde_json::Value {
    let o = run(
        db,
        &[
            "sweeper",
            "run",
            "--format",
            "json",
            "--now",
            &now.to_rfc3339(),
        ],
    );
    serde_json::from_str(&ok(&o)).unwrap()
}

fn lock_rows(db: &Path) -> Vec<(String, Option<i64>, String)> {
    let con = rusqlite::Connection::open(db).unwrap();
    let mut st = con
        .prepare("SELECT name, pid, expires_at FROM advisory_locks ORDER BY name")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn lock_of_a_killed_process_is_released_once_expired_and_the_run_is_exported() {
    let t = tempfile::tempdir().unwrap();
    let db = seed(t.path(), false);
    // A process takes the lock and is killed while holding it.
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "lock",
            "acquire",
            "recon-batch",
            "--ttl-secs",
            "30",
            "--hold-secs",
            "600",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut token = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut token)
        .unwrap();
    assert_eq!(
        token.trim().len(),
        32,
        "acquire prints the token once it holds the lock"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let rows = lock_rows(&db);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].1,
        Some(i64::from(pid)),
        "the row records the holder pid"
    );
    let expires: DateTime<Utc> = rows[0].2.parse().unwrap();

    // Another process cannot take it.
    let o = run(&db, &["lock", "acquire", "recon-batch", "--ttl-secs", "5"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is held by"));

    // Before expiry the sweeper leaves it alone.
    let early = sweep(&db, expires - Duration::seconds(1));
    assert_eq!(early["released"], serde_json::json!([]));
    assert_eq!(lock_rows(&db).len(), 1);

    // After expiry it is released and the run says so. (Not before 2026-07-01, so every open
    // seed entry, dated 2026-03..05, is past the aged threshold whatever the wall clock says.)
    let floor: DateTime<Utc> = "2026-07-01T00:00:00Z".parse().unwrap();
    let at = (expires + Duration::seconds(5)).max(floor);
    let r = sweep(&db, at);
    let released = r["released"].as_array().unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0]["kind"], "advisory_lock");
    assert_eq!(released[0]["name"], "recon-batch");
    assert_eq!(released[0]["pid"], pid);
    assert!(lock_rows(&db).is_empty());
    // The lock can be taken again.
    ok(&run(
        &db,
        &["lock", "acquire", "recon-batch", "--ttl-secs", "5"],
    ));

    // Recorded: sweeper_runs row + SWEEPER_RUN event by the sweeper actor.
    let con = rusqlite::Connection::open(&db).unwrap();
    let (runs, events): (i64, i64) = con
        .query_row(
            "SELECT (SELECT COUNT(*) FROM sweeper_runs WHERE actor = 'engine:sweeper' AND finished_at IS NOT NULL),
                    (SELECT COUNT(*) FROM audit_log WHERE event_type = 'SWEEPER_RUN' AND actor_id = 'engine:sweeper')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((runs, events), (2, 2));
    ok(&run(&db, &["audit", "verify"]));

    // In sweeper-runs.json.
    let first: String = con
        .query_row("SELECT MIN(ts) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    let mon = t.path().join("monitor");
    std::fs::create_dir(&mon).unwrap();
    let z = t.path().join("s.zip");
    ok(&run(
        &db,
        &[
            "audit-evidence-export",
            "--since",
            &first[..10],
            "--until",
            &(at + Duration::days(1)).date_naive().to_string(),
            "--out",
            z.to_str().unwrap(),
            "--eval-runs-dir",
            mon.to_str().unwrap(),
        ],
    ));
    let sr = json_of(&zip_map(&z), "sweeper-runs.json");
    let runs = sr.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let last = &runs[1];
    assert_eq!(last["id"], r["run_id"]);
    assert_eq!(last["actor"], "engine:sweeper");
    assert_eq!(last["released_count"], 1);
    assert_eq!(last["released"][0]["name"], "recon-batch");
    // Aged exceptions: every open entry of the seed is past 5 business days.
    let open: i64 = con
        .query_row(
            "SELECT COUNT(*) FROM entries WHERE status IN ('EXCEPTION', 'UNMATCHED')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(open > 0);
    assert_eq!(last["flagged_count"].as_i64().unwrap(), open);
    assert_eq!(last["flagged"][0]["kind"], "aged_exception");
}

#[test]
fn lease_of_a_killed_drain_is_released_as_a_failed_attempt() {
    let t = tempfile::tempdir().unwrap();
    let db = seed(t.path(), false);
    one_approval_required(&db);
    let hook = silent_server("/hook");
    let now = Utc::now();
    let mut child = bin()
        .arg("--db")
        .arg(&db)
        .args([
            "outbox",
            "drain",
            "--lease-secs",
            "60",
            "--now",
            &now.to_rfc3339(),
        ])
        .env("CLOSEGATE_WEBHOOK_URL", &hook)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the row is leased (the drain is then blocked on the silent endpoint).
    let con = rusqlite::Connection::open(&db).unwrap();
    let mut leased = None;
    for _ in 0..200 {
        let r: (String, Option<String>) = con
            .query_row(
                "SELECT state, lease_expires_at FROM outbox WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        if r.0 == "LEASED" {
            leased = r.1;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let expires: DateTime<Utc> = leased.expect("the drain leased the row").parse().unwrap();

    let r = sweep(&db, expires + Duration::seconds(1));
    let released = r["released"].as_array().unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0]["kind"], "outbox_lease");
    assert_eq!(released[0]["outbox_id"], 1);
    assert_eq!(released[0]["new_state"], "PENDING");
    let (state, attempts, err): (String, i64, String) = con
        .query_row(
            "SELECT state, attempts, last_error FROM outbox WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("PENDING", 1));
    assert!(err.contains("lease expired"));
    let n: i64 = con
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE event_type = 'OUTBOX_DELIVERY' AND actor_id = 'engine:sweeper'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
    ok(&run(&db, &["audit", "verify"]));
}
