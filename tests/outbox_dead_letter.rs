//! `outbox drain` against loopback endpoints that always fail: the HITL notification is retried
//! with exponential backoff (observed through `--now`: nothing is attempted before
//! `next_attempt_at`), reaches DEAD_LETTER after `--max-attempts`, every transition is an audit
//! event, the dead letter appears in `dead-letters.json`, and the hook URL (a secret) appears
//! in no output, no error, no database column and no bundle file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod export_common;

use chrono::{DateTime, Duration, Utc};
use export_common::*;
use std::path::Path;
use std::sync::atomic::Ordering;

fn drain(db: &Path, hook: &str, now: DateTime<Utc>, outputs: &mut Vec<String>) {
    let o = bin()
        .arg("--db")
        .arg(db)
        .args([
            "outbox",
            "drain",
            "--max-attempts",
            "4",
            "--backoff-secs",
            "30",
        ])
        .args(["--now", &now.to_rfc3339()])
        .env("CLOSEGATE_SLACK_HOOK", hook)
        .output()
        .unwrap();
    outputs.push(String::from_utf8_lossy(&o.stdout).into_owned());
    outputs.push(String::from_utf8_lossy(&o.stderr).into_owned());
    ok(&o);
}

fn row(db: &Path) -> (String, i64, Option<String>, Option<String>) {
    let con = rusqlite::Connection::open(db).unwrap();
    con.query_row(
        "SELECT state, attempts, next_attempt_at, last_error FROM outbox WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .unwrap()
}

#[test]
fn always_failing_endpoint_dead_letters_with_backoff_and_no_secret_leaks() {
    let t = tempfile::tempdir().unwrap();
    let db = seed(t.path(), false);
    one_approval_required(&db);
    let secret_path = "/services/T0SECRET/B0SECRET/xoxSECRETtoken";
    let server = failing_server(500, secret_path);
    // A closed port for the first attempt: a connection error must be redacted too.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}{secret_path}")
    };
    let mut outputs = Vec::new();
    let t0: DateTime<Utc> = Utc::now() + Duration::minutes(1);

    // Attempt 1 (connection refused) -> PENDING, next at t0 + 30 s.
    drain(&db, &closed, t0, &mut outputs);
    let (state, attempts, next, err) = row(&db);
    assert_eq!((state.as_str(), attempts), ("PENDING", 1));
    let next1: DateTime<Utc> = next.unwrap().parse().unwrap();
    assert_eq!(next1 - t0.with_nanosecond0(), Duration::seconds(30));
    assert!(err.unwrap().starts_with("connection failed"));

    // Before next_attempt_at nothing is attempted (backoff observed).
    drain(&db, &server.url, next1 - Duration::seconds(1), &mut outputs);
    assert_eq!(server.hits.load(Ordering::SeqCst), 0);
    assert_eq!(row(&db).1, 1);

    // Attempt 2 at next1 -> next at +60 s; attempt 3 -> +120 s; attempt 4 -> DEAD_LETTER.
    drain(&db, &server.url, next1, &mut outputs);
    let next2: DateTime<Utc> = row(&db).2.unwrap().parse().unwrap();
    assert_eq!(next2 - next1, Duration::seconds(60));
    drain(&db, &server.url, next2 - Duration::seconds(1), &mut outputs);
    assert_eq!(server.hits.load(Ordering::SeqCst), 1);
    drain(&db, &server.url, next2, &mut outputs);
    let next3: DateTime<Utc> = row(&db).2.unwrap().parse().unwrap();
    assert_eq!(next3 - next2, Duration::seconds(120));
    drain(&db, &server.url, next3, &mut outputs);
    let (state, attempts, next, err) = row(&db);
    assert_eq!((state.as_str(), attempts, next), ("DEAD_LETTER", 4, None));
    assert_eq!(
        err.as_deref(),
        Some("http status 500 Internal Server Error")
    );
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
    // A dead letter is never attempted again.
    drain(&db, &server.url, next3 + Duration::days(1), &mut outputs);
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);

    // The requests were Slack Block Kit.
    let reqs = server.requests.lock().unwrap().clone();
    assert!(reqs[0].contains("\"blocks\"") && reqs[0].contains("Approval required"));
    assert!(
        reqs[0].contains(secret_path),
        "the request itself goes to the hook"
    );

    // Every transition is an audit event: 4 leases + 3 retries + 1 dead letter.
    let con = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = con
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE event_type = 'OUTBOX_DELIVERY'
             AND actor_id = 'engine:outbox' AND action = 'outbox_deliver' AND decision = 'allow'
             AND tier = 'T0' AND reasons = '[]'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 8);
    ok(&run(&db, &["audit", "verify"]));

    // dead-letters.json lists it.
    let first: String = con
        .query_row("SELECT MIN(ts) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    let mon = t.path().join("monitor");
    std::fs::create_dir(&mon).unwrap();
    let z = t.path().join("d.zip");
    let until = (t0 + Duration::days(2)).date_naive().to_string();
    let o = run(
        &db,
        &[
            "audit-evidence-export",
            "--since",
            &first[..10],
            "--until",
            &until,
            "--out",
            z.to_str().unwrap(),
            "--eval-runs-dir",
            mon.to_str().unwrap(),
        ],
    );
    outputs.push(ok(&o));
    outputs.push(String::from_utf8_lossy(&o.stderr).into_owned());
    let map = zip_map(&z);
    let dl = json_of(&map, "dead-letters.json");
    assert_eq!(dl.as_array().unwrap().len(), 1);
    assert_eq!(dl[0]["outbox_id"], 1);
    assert_eq!(dl[0]["kind"], "hitl_notification");
    assert_eq!(dl[0]["attempts"], 4);
    assert_eq!(dl[0]["max_attempts"], 4);
    assert_eq!(dl[0]["last_error"], "http status 500 Internal Server Error");
    assert_eq!(dl[0]["payload_summary"]["match_id"], "M-000001");
    assert!(dl[0]["last_error_at"].is_string());

    // The secret is nowhere: outputs, bundle files, database text columns.
    for needle in ["SECRET", &server.url, &closed] {
        for o in &outputs {
            assert!(!o.contains(needle), "output leaks the hook: {o}");
        }
        for (name, bytes) in &map {
            assert!(
                !String::from_utf8_lossy(bytes).contains(needle),
                "{name} leaks the hook"
            );
        }
    }
    let leaks: i64 = con
        .query_row(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE last_error LIKE '%SECRET%' OR payload LIKE '%SECRET%')
                  + (SELECT COUNT(*) FROM audit_log WHERE rationale LIKE '%SECRET%')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaks, 0);
}

#[test]
fn drain_without_a_target_refuses_and_leases_nothing() {
    let t = tempfile::tempdir().unwrap();
    let db = seed(t.path(), false);
    one_approval_required(&db);
    let o = run(&db, &["outbox", "drain"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("CLOSEGATE_SLACK_HOOK"));
    assert_eq!(row(&db).0, "PENDING");
    // A malformed hook is refused without echoing it.
    let o = bin()
        .arg("--db")
        .arg(&db)
        .args(["outbox", "drain"])
        .env("CLOSEGATE_WEBHOOK_URL", "not a url SECRETVALUE")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("SECRETVALUE"));
}

trait Trunc {
    fn with_nanosecond0(self) -> Self;
}

impl Trunc for DateTime<Utc> {
    fn with_nanosecond0(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap()
    }
}
