//! Unit tests of the store: migrations, pragmas, appends, triggers, typed round trips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::audit::chain::{ProblemKind, Verifier};
use crate::audit::event::{EventSubject, EventType, NewEvent};
use crate::gate::request::{Action, MatchClass, MatchState};
use crate::ledger::{Entry, Side};
use crate::money::{Currency, Money};
use crate::policy::model::YearMonth;

fn temp() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("sub/dir/recon.db")).unwrap();
    (dir, store)
}

fn ev(i: u64) -> NewEvent {
    NewEvent {
        event_id: format!("e-{i}"),
        ts: "2026-01-01T00:00:00Z".into(),
        actor_id: "engine:recon".into(),
        actor_kind: "engine".into(),
        action: "propose_match".into(),
        tier: "T0".into(),
        decision: "allow".into(),
        reasons: vec![],
        event_type: EventType::MatchProposed,
        subject: EventSubject::default(),
        entity: None,
        accounts: vec![],
        amount: Some("1.00".into()),
        currency: Some("USD".into()),
        amount_base: None,
        policy_version: "00".repeat(32),
        rationale: None,
    }
}

fn entry(id: &str, side: Side, minor: i64) -> Entry {
    Entry {
        entry_id: id.into(),
        side,
        entity: "US".into(),
        account: "1200".into(),
        amount: Money {
            minor,
            currency: Currency::from_code("USD").unwrap(),
        },
        date: chrono::NaiveDate::from_ymd_opt(2026, 4, 3).unwrap(),
        counterparty: Some("Acme".into()),
        reference: None,
    }
}

#[test]
fn open_creates_parent_and_records_schema_version() {
    let (_d, s) = temp();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let n: i64 = s
        .conn
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, SCHEMA_VERSION);
    let mode: String = s
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = s
        .conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    assert!(s.is_empty().unwrap());
}

#[test]
fn reopening_does_not_remigrate_and_newer_schema_is_refused() {
    let (d, s) = temp();
    let path = s.path().to_path_buf();
    drop(s);
    let s = Store::open_existing(&path).unwrap();
    s.conn.pragma_update(None, "user_version", 99).unwrap();
    drop(s);
    let err = Store::open_existing(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    let missing = Store::open_existing(&d.path().join("nope.db")).unwrap_err();
    assert!(matches!(missing, StoreError::Missing { .. }));
    assert!(missing.to_string().contains("nope.db"));
}

#[test]
fn appends_chain_and_verify() {
    let (_d, mut s) = temp();
    s.transaction(|tx| {
        for i in 1..=10 {
            let e = tx.append_event(ev(i))?;
            assert_eq!(e.seq, i);
        }
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let (seq, hash) = s.audit_head().unwrap().unwrap();
    assert_eq!(seq, 10);
    let r = s.verify(Verifier::new()).unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!((r.events, r.head_seq, r.head_hash), (10, 10, hash));
    let tail = s.tail(3).unwrap();
    assert_eq!(tail.iter().map(|e| e.seq).collect::<Vec<_>>(), [8, 9, 10]);
    assert_eq!(tail[2].body, ev(10));
    assert!(!s.is_empty().unwrap());
}

#[test]
fn failed_transaction_rolls_back() {
    let (_d, mut s) = temp();
    let r: Result<(), StoreError> = s.transaction(|tx| {
        tx.append_event(ev(1))?;
        Err(StoreError::ReadOnly)
    });
    assert!(r.is_err());
    assert_eq!(s.count_events().unwrap(), 0);
}

#[test]
fn read_transactions_refuse_writes() {
    let (_d, s) = temp();
    let r = s.read(|tx| tx.append_event(ev(1)));
    assert!(matches!(r, Err(StoreError::ReadOnly)));
}

#[test]
fn audit_log_refuses_update_delete_and_replace() {
    let (_d, mut s) = temp();
    s.transaction(|tx| {
        tx.append_event(ev(1))?;
        tx.append_event(ev(2))
    })
    .unwrap();
    for sql in [
        "UPDATE audit_log SET rationale = 'x' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 2",
        "INSERT OR REPLACE INTO audit_log SELECT * FROM audit_log WHERE seq = 1",
    ] {
        let err = s.conn.execute(sql, []).unwrap_err().to_string();
        assert!(err.contains(APPEND_ONLY_MESSAGE), "{sql}: {err}");
    }
    // A duplicate event_id REPLACE would delete the old row: the delete trigger fires.
    let err = s
        .conn
        .execute(
            "INSERT OR REPLACE INTO audit_log SELECT 3, event_id, ts, actor_id, actor_kind, action,
             tier, decision, reasons, event_type, subject, entity, accounts, amount, currency,
             amount_base, policy_version, rationale, (SELECT hash FROM audit_log WHERE seq = 2), hash
             FROM audit_log WHERE seq = 1",
            [],
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains(APPEND_ONLY_MESSAGE), "{err}");
    assert!(s.verify(Verifier::new()).unwrap().ok);
}

#[test]
fn verify_reports_unparseable_rows() {
    let (_d, mut s) = temp();
    s.transaction(|tx| tx.append_event(ev(1))).unwrap();
    s.conn
        .execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET reasons = '{'")
        .unwrap();
    let r = s.verify(Verifier::new()).unwrap();
    assert_eq!(r.problems[0].kind, ProblemKind::Unparseable);
    assert_eq!(r.problems[0].seq, Some(1));
    assert!(r.problems[0].message.contains("reasons"));
}

#[test]
fn tampered_policy_text_is_reported() {
    let (_d, mut s) = temp();
    s.transaction(|tx| tx.store_policy(&"ab".repeat(32), "p.yaml", "rules: []", "t"))
        .unwrap();
    let r = s.verify(Verifier::new()).unwrap();
    assert_eq!(r.problems[0].kind, ProblemKind::PolicyTampered);
    assert!(s.policy_documents().unwrap().is_empty());
}

#[test]
fn policy_documents_feed_reason_checks() {
    use sha2::{Digest, Sha256};
    let (_d, mut s) = temp();
    let src = "materiality:\n  clause: Big amounts need a human\n";
    let v = hex::encode(Sha256::digest(src.as_bytes()));
    s.transaction(|tx| {
        tx.store_policy(&v, "p.yaml", src, "2026-01-01T00:00:00Z")?;
        let mut e = ev(1);
        e.policy_version = v.clone();
        e.reasons = vec![crate::gate::decision::Reason {
            code: crate::gate::decision::ReasonCode::MaterialityOverThreshold,
            clause: "Big amounts need a human!".into(),
            pointer: Some("/materiality".into()),
        }];
        tx.append_event(e)
    })
    .unwrap();
    let docs = s.policy_documents().unwrap();
    assert_eq!(docs.len(), 1);
    let r = s.verify(Verifier::new().with_policies(docs)).unwrap();
    assert_eq!(r.problems[0].kind, ProblemKind::ReasonClauseMismatch);
}

#[test]
fn ledger_round_trips() {
    let (_d, mut s) = temp();
    s.transaction(|tx| {
        tx.upsert_entity(&EntityRow {
            entity_id: "US".into(),
            name: "US Parent".into(),
            currency: "USD".into(),
        })?;
        tx.upsert_account(&AccountRow {
            entity_id: "US".into(),
            account: "1200".into(),
            name: "AR".into(),
            always_human: true,
        })?;
        tx.touch_actor(
            "human:alice",
            "human",
            "cli-operator",
            "2026-01-02T00:00:00Z",
        )?;
        tx.touch_actor(
            "human:alice",
            "human",
            "cli-operator",
            "2026-01-01T00:00:00Z",
        )?;
        tx.touch_actor(
            "human:alice",
            "human",
            "cli-operator",
            "2026-01-03T00:00:00Z",
        )?;
        tx.insert_entry(&entry("GL-1", Side::Gl, 450000))?;
        tx.insert_entry(&entry("SL-1", Side::Sl, -450000))?;
        tx.insert_match(&NewMatch {
            match_id: "M-1".into(),
            class: MatchClass::ExactMatch,
            state: MatchState::Proposed,
            proposer: "llm:s1".into(),
            created_ts: "2026-01-01T00:00:00Z".into(),
            entry_ids: vec!["SL-1".into(), "GL-1".into()],
        })?;
        tx.set_entry_status("GL-1", EntryStatus::Proposed)?;
        tx.set_match_state("M-1", MatchState::PendingApproval, "2026-01-02T00:00:00Z")?;
        tx.add_match_approval("M-1", "human:alice", "2026-01-02T00:00:00Z")?;
        tx.insert_request(&NewRequest {
            request_id: "R-1".into(),
            action: Action::ClosePeriod,
            payload: serde_json::json!({"entity": "US", "period": "2026-03"}),
            requester: "human:bob".into(),
            tier: "T3".into(),
            created_ts: "2026-01-01T00:00:00Z".into(),
        })?;
        tx.add_request_approval("R-1", "human:carol", "t")?;
        tx.close_period("US", YearMonth::parse("2026-03").unwrap(), "t", "human:bob")?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    s.read(|tx| {
        assert_eq!(
            tx.get_entry("GL-1")?.unwrap(),
            entry("GL-1", Side::Gl, 450000)
        );
        assert_eq!(tx.get_entry("nope")?, None);
        assert_eq!(
            tx.list_unmatched()?
                .iter()
                .map(|e| e.entry_id.as_str())
                .collect::<Vec<_>>(),
            ["SL-1"]
        );
        assert_eq!(tx.entry_status("GL-1")?, Some(EntryStatus::Proposed));
        let m = tx.get_match("M-1")?.unwrap();
        assert_eq!(m.state, MatchState::PendingApproval);
        assert_eq!(m.entries.len(), 2);
        assert_eq!(m.entries[0].entry_id, "GL-1");
        assert_eq!(m.approvals, ["human:alice"]);
        let r = tx.get_request("R-1")?.unwrap();
        assert!(r.view.open);
        assert_eq!(r.view.approvals, ["human:carol"]);
        assert_eq!(r.payload["period"], "2026-03");
        let a = &tx.list_actors()?[0];
        assert_eq!(
            (a.first_seen.as_str(), a.last_seen.as_str()),
            ("2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z")
        );
        assert_eq!(tx.closed_periods()?.len(), 1);
        assert!(tx.list_accounts()?[0].always_human);
        Ok::<_, StoreError>(())
    })
    .unwrap();
    s.transaction(|tx| {
        assert!(tx.reopen_period("US", YearMonth::parse("2026-03").unwrap())?);
        tx.set_request_state("R-1", RequestState::Executed)?;
        assert!(matches!(
            tx.set_match_state("nope", MatchState::Rejected, "t"),
            Err(StoreError::NotFound { .. })
        ));
        Ok::<_, StoreError>(())
    })
    .unwrap();
    s.read(|tx| {
        assert!(tx.closed_periods()?.is_empty());
        assert!(!tx.get_request("R-1")?.unwrap().view.open);
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

#[test]
fn entries_need_a_known_entity() {
    let (_d, mut s) = temp();
    let r = s.transaction(|tx| tx.insert_entry(&entry("GL-1", Side::Gl, 1)));
    assert!(r.unwrap_err().to_string().contains("FOREIGN KEY"));
}

#[test]
fn ops_round_trips() {
    let (_d, mut s) = temp();
    s.transaction(|tx| {
        tx.set_meta("pack", "saas")?;
        let id = tx.enqueue_outbox(&NewOutbox {
            kind: "webhook".into(),
            payload: serde_json::json!({"a": 1}),
            max_attempts: 5,
            next_attempt_at: None,
            created_ts: "t".into(),
            audit_seq: None,
        })?;
        assert_eq!(tx.get_outbox(id)?.unwrap().state, OutboxState::Pending);
        tx.insert_lock(&LockRow {
            name: "sweeper".into(),
            holder: "w1".into(),
            token: "tok".into(),
            pid: Some(7),
            acquired_at: "t".into(),
            expires_at: "u".into(),
        })?;
        assert!(tx.insert_lock(&tx.get_lock("sweeper")?.unwrap()).is_err());
        assert!(!tx.delete_lock("sweeper", "other")?);
        assert!(tx.delete_lock("sweeper", "tok")?);
        tx.insert_sweeper_run(&SweeperRunRow {
            id: 0,
            started_at: "t".into(),
            finished_at: None,
            actor: "engine:sweeper".into(),
            released: serde_json::json!(["M-1"]),
            flagged: serde_json::json!([]),
        })?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    s.read(|tx| {
        assert_eq!(tx.get_meta("pack")?.as_deref(), Some("saas"));
        assert_eq!(tx.list_outbox(Some(OutboxState::DeadLetter))?.len(), 0);
        assert_eq!(tx.list_sweeper_runs()?[0].released[0], "M-1");
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

#[test]
fn a_foreign_sqlite_database_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE notes (x TEXT)").unwrap();
    drop(c);
    let err = Store::open_existing(&path).unwrap_err();
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
    let c = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1, "no closegate tables were added");
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "journal mode untouched");
}
