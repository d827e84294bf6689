//! The tamper suite: on a copy of a database with a few thousand events, with the triggers
//! dropped first, every kind of after-the-fact change is detected by `audit verify` with exit 2
//! and the right first bad seq; truncation and a re-hashed tail need `--expect-head`. Also: the
//! triggers refuse UPDATE and DELETE on an intact database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit_common;

use audit_common::*;
use closegate_engine::audit::chain;
use closegate_engine::store::{Store, StoreError, APPEND_ONLY_MESSAGE};
use predicates::str::contains;

#[test]
fn intact_history_verifies_with_and_without_expect_head() {
    let (_d, db) = copy_of_history();
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["events"], history_events());
    assert_eq!(v["head_seq"], history_events());
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    let head = head_of(&db);
    assert_eq!(verify_json(&db, &["--expect-head", &head]).0, 0);
    bin()
        .args(["--db", db.to_str().unwrap(), "audit", "verify"])
        .assert()
        .code(0)
        .stdout(contains(format!("{} events", history_events())));
}

/// Flips one byte of one column of one row.
fn edit_one_byte(column: &str, seq: u64) {
    let (_d, db) = copy_of_history();
    let c = drop_triggers(&db);
    // The first event at or after `seq` where the column holds a letter or digit to flip.
    let seq: u64 = c
        .query_row(
            &format!("SELECT seq FROM audit_log WHERE seq >= ?1 AND {column} GLOB '*[0-9A-Za-z]*' ORDER BY seq LIMIT 1"),
            [seq as i64],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as u64;
    let before: String = c
        .query_row(
            &format!("SELECT {column} FROM audit_log WHERE seq = ?1"),
            [seq as i64],
            |r| r.get(0),
        )
        .unwrap();
    // Change the last digit (else letter), keeping the JSON columns parseable.
    let mut bytes = before.clone().into_bytes();
    let i = bytes
        .iter()
        .rposition(|b| b.is_ascii_digit())
        .or_else(|| bytes.iter().rposition(|b| b.is_ascii_alphanumeric()))
        .unwrap();
    bytes[i] = if bytes[i] == b'1' { b'2' } else { b'1' };
    let after = String::from_utf8(bytes).unwrap();
    assert_ne!(before, after);
    c.execute(
        &format!("UPDATE audit_log SET {column} = ?1 WHERE seq = ?2"),
        rusqlite::params![after, seq as i64],
    )
    .unwrap();
    drop(c);
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 2, "{column}: {v}");
    assert_eq!(v["ok"], false);
    // Editing `hash` itself also breaks the next event's link, reported after this one.
    assert_eq!(
        first_problem(&v),
        (seq, "hash_mismatch".into()),
        "{column}: {v}"
    );
    bin()
        .args(["--db", db.to_str().unwrap(), "audit", "verify"])
        .assert()
        .code(2)
        .stdout(contains(format!("first bad seq {seq} ")));
}

#[test]
fn editing_one_byte_of_any_field_is_caught_at_that_seq() {
    for (column, seq) in [
        ("amount", 1234),
        ("actor_id", 17),
        ("reasons", 2001),
        ("ts", 1),
        ("rationale", 2800),
        ("subject", 1500),
        ("policy_version", 999),
        ("hash", 2500),
    ] {
        edit_one_byte(column, seq);
    }
}

#[test]
fn editing_the_last_event_is_caught() {
    edit_one_byte("amount_base", history_events());
}

#[test]
fn a_row_that_no_longer_parses_is_reported_without_a_cascade() {
    let (_d, db) = copy_of_history();
    drop_triggers(&db)
        .execute(
            "UPDATE audit_log SET subject = '{\"match_id\": nul' WHERE seq = 42",
            [],
        )
        .unwrap();
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(first_problem(&v), (42, "unparseable".into()));
    assert_eq!(v["problems_total"], 1, "{v}");
}

#[test]
fn deleting_a_middle_row_is_caught_at_the_missing_seq() {
    let (_d, db) = copy_of_history();
    drop_triggers(&db)
        .execute("DELETE FROM audit_log WHERE seq = 1500", [])
        .unwrap();
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(first_problem(&v), (1500, "seq_gap".into()));
    assert_eq!(v["events"], history_events() - 1);
}

#[test]
fn deleting_the_first_row_is_caught_at_seq_1() {
    let (_d, db) = copy_of_history();
    drop_triggers(&db)
        .execute("DELETE FROM audit_log WHERE seq = 1", [])
        .unwrap();
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 2);
    assert_eq!(first_problem(&v), (1, "seq_gap".into()));
}

#[test]
fn swapping_two_rows_is_caught_at_the_lower_seq() {
    let (_d, db) = copy_of_history();
    let c = drop_triggers(&db);
    // Swap every column but seq between rows 700 and 2100 (event_id is UNIQUE: park one first).
    c.execute_batch(
        "CREATE TEMP TABLE a AS SELECT * FROM audit_log WHERE seq = 700;
         CREATE TEMP TABLE b AS SELECT * FROM audit_log WHERE seq = 2100;
         UPDATE audit_log SET event_id = 'parked' WHERE seq = 700;",
    )
    .unwrap();
    let cols = "event_id, ts, actor_id, actor_kind, action, tier, decision, reasons, event_type, \
                subject, entity, accounts, amount, currency, amount_base, policy_version, \
                rationale, prev_hash, hash";
    for (dst, src) in [(2100, "a"), (700, "b")] {
        c.execute(
            &format!(
                "UPDATE audit_log SET ({cols}) = (SELECT {cols} FROM {src}) WHERE seq = {dst}"
            ),
            [],
        )
        .unwrap();
    }
    drop(c);
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(first_problem(&v), (700, "prev_hash_mismatch".into()));
}

#[test]
fn truncating_the_tail_needs_expect_head() {
    let (_d, db) = copy_of_history();
    let head = head_of(&db);
    drop_triggers(&db)
        .execute("DELETE FROM audit_log WHERE seq > 2500", [])
        .unwrap();
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(code, 0, "a truncated chain is internally intact: {v}");
    let (code, v) = verify_json(&db, &["--expect-head", &head]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(first_problem(&v), (2501, "truncated".into()));
    assert_eq!(v["head_seq"], 2500);
}

#[test]
fn rehashed_tail_after_an_edit_needs_expect_head() {
    let (_d, db) = copy_of_history();
    let head = head_of(&db);
    let edited = 2200;
    // The attacker edits one event and recomputes every hash after it, with our own library.
    let mut events = Vec::new();
    Store::open_existing(&db)
        .unwrap()
        .read(|tx| {
            tx.for_each_event(edited, |e| {
                events.push(e);
                Ok::<_, StoreError>(())
            })
        })
        .unwrap();
    let c = drop_triggers(&db);
    let mut prev = events[0].prev_hash.clone();
    for (k, e) in events.into_iter().enumerate() {
        let mut body = e.body;
        if k == 0 {
            body.amount = Some("1.00".into());
        }
        let forged = chain::link(e.seq, &prev, body);
        c.execute(
            "UPDATE audit_log SET amount = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![
                forged.body.amount,
                forged.prev_hash,
                forged.hash,
                forged.seq as i64
            ],
        )
        .unwrap();
        prev = forged.hash;
    }
    drop(c);
    let (code, v) = verify_json(&db, &[]);
    assert_eq!(
        code, 0,
        "a consistently re-hashed chain is internally intact: {v}"
    );
    let (code, v) = verify_json(&db, &["--expect-head", &head]);
    assert_eq!(code, 2, "{v}");
    assert_eq!(
        first_problem(&v),
        (history_events(), "head_mismatch".into())
    );
}

#[test]
fn update_and_delete_on_an_intact_db_fail_with_the_trigger_message() {
    let (_d, db) = copy_of_history();
    let c = raw(&db);
    for sql in [
        "UPDATE audit_log SET amount = '0.00' WHERE seq = 10",
        "UPDATE audit_log SET rationale = NULL",
        "DELETE FROM audit_log WHERE seq = 10",
        "DELETE FROM audit_log",
    ] {
        let err = c.execute(sql, []).unwrap_err().to_string();
        assert!(err.contains(APPEND_ONLY_MESSAGE), "{sql}: {err}");
    }
    drop(c);
    assert_eq!(verify_json(&db, &[]).0, 0);
}

#[test]
fn unreadable_or_missing_database_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    bin()
        .args(["--db", missing.to_str().unwrap(), "audit", "verify"])
        .assert()
        .code(1)
        .stderr(contains("does not exist"));
    assert!(!missing.exists(), "verify must not create a database");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 8192]).unwrap();
    bin()
        .args(["--db", junk.to_str().unwrap(), "audit", "verify"])
        .assert()
        .code(1)
        .stderr(contains("error:"));
}

#[test]
fn bad_expect_head_is_a_usage_error() {
    let (_d, db) = copy_of_history();
    for bad in ["12", "x:abc", "0:".to_string().as_str(), "5:zz"] {
        bin()
            .args([
                "--db",
                db.to_str().unwrap(),
                "audit",
                "verify",
                "--expect-head",
                bad,
            ])
            .assert()
            .code(1);
    }
}

#[test]
fn tail_prints_the_last_events_in_order() {
    let (_d, db) = copy_of_history();
    let out = bin()
        .args([
            "--db",
            db.to_str().unwrap(),
            "audit",
            "tail",
            "-n",
            "3",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let seqs: Vec<u64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        [history_events() - 2, history_events() - 1, history_events()]
    );
    let head = head_of(&db);
    assert_eq!(
        format!("{}:{}", v[2]["seq"], v[2]["hash"].as_str().unwrap()),
        head
    );
    bin()
        .args(["--db", db.to_str().unwrap(), "audit", "tail", "-n", "2"])
        .assert()
        .success()
        .stdout(contains(format!("{} 2026-", history_events())));
}
