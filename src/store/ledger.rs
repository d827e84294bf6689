//! Ledger-side storage: entities, accounts, actors, entries, matches (+ entries, approvals),
//! pending requests (+ approvals) and run-time closed periods. Typed reads and writes only; the
//! engine actions decide when to call them. Must not append audit events (the caller does, in
//! the same transaction).

use super::{StoreError, Tx};
use crate::gate::decision::Tier;
use crate::gate::request::{Action, MatchClass, MatchState, MatchView, PendingView};
use crate::ledger::{Entry, Side};
use crate::money::{Currency, Money};
use crate::policy::model::YearMonth;
use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension, Row};

/// An entity (legal entity / book).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRow {
    /// Entity id, e.g. `US-PARENT`.
    pub entity_id: String,
    /// Display name.
    pub name: String,
    /// Functional currency (ISO 4217).
    pub currency: String,
}

/// An account of an entity's chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Entity id.
    pub entity_id: String,
    /// Account number.
    pub account: String,
    /// Display name.
    pub name: String,
    /// Confirmations touching it always need a human.
    pub always_human: bool,
}

/// An actor seen by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorRow {
    /// `human:alice`.
    pub actor_id: String,
    /// `human`, `llm`, `engine` or `invalid`.
    pub kind: String,
    /// Where the identity came from (`cli-operator`, `seed`, `mcp-transport`, …).
    pub identity_source: String,
    /// First time seen (RFC 3339).
    pub first_seen: String,
    /// Last time seen (RFC 3339).
    pub last_seen: String,
}

/// Reconciliation status of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryStatus {
    /// Not in any live match.
    Unmatched,
    /// In a proposed (or pending-approval) match.
    Proposed,
    /// In a confirmed match.
    Matched,
    /// Flagged as an exception.
    Exception,
}

impl EntryStatus {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryStatus::Unmatched => "UNMATCHED",
            EntryStatus::Proposed => "PROPOSED",
            EntryStatus::Matched => "MATCHED",
            EntryStatus::Exception => "EXCEPTION",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<EntryStatus> {
        [
            EntryStatus::Unmatched,
            EntryStatus::Proposed,
            EntryStatus::Matched,
            EntryStatus::Exception,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A match to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMatch {
    /// Match id.
    pub match_id: String,
    /// Claimed class.
    pub class: MatchClass,
    /// Initial state (usually `PROPOSED`).
    pub state: MatchState,
    /// Proposer actor id.
    pub proposer: String,
    /// Creation time (RFC 3339); also the first `updated_ts`.
    pub created_ts: String,
    /// Entry ids on both sides.
    pub entry_ids: Vec<String>,
}

/// State of a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestState {
    /// Waiting for approvals.
    Open,
    /// Executed after enough approvals.
    Executed,
    /// Rejected / cancelled.
    Rejected,
}

impl RequestState {
    /// Stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RequestState::Open => "OPEN",
            RequestState::Executed => "EXECUTED",
            RequestState::Rejected => "REJECTED",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<RequestState> {
        [
            RequestState::Open,
            RequestState::Executed,
            RequestState::Rejected,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A pending action request to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRequest {
    /// Request id.
    pub request_id: String,
    /// The action waiting to execute.
    pub action: Action,
    /// Everything needed to execute it later (entity, period, adjustment…).
    pub payload: serde_json::Value,
    /// Requester actor id.
    pub requester: String,
    /// Tier (`T3` for dual approval).
    pub tier: String,
    /// Creation time (RFC 3339).
    pub created_ts: String,
}

/// A stored request: the gate's view plus what the engine needs to execute it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    /// As the gate sees it (`open` = state is `OPEN`).
    pub view: PendingView,
    /// The payload given at insert.
    pub payload: serde_json::Value,
    /// Tier.
    pub tier: String,
    /// State.
    pub state: RequestState,
    /// Creation time.
    pub created_ts: String,
}

fn corrupt(what: &str, id: &str, message: String) -> StoreError {
    StoreError::corrupt(format!("{what} `{id}`"), message)
}

fn entry_from_row(r: &Row<'_>) -> Result<Entry, StoreError> {
    let id: String = r.get(0)?;
    let side: String = r.get(1)?;
    let side = match side.as_str() {
        "GL" => Side::Gl,
        "SL" => Side::Sl,
        other => return Err(corrupt("entry", &id, format!("side `{other}`"))),
    };
    let cur: String = r.get(5)?;
    let currency = Currency::from_code(&cur)
        .ok_or_else(|| corrupt("entry", &id, format!("currency `{cur}`")))?;
    let date: String = r.get(6)?;
    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| corrupt("entry", &id, format!("date `{date}`")))?;
    Ok(Entry {
        side,
        entity: r.get(2)?,
        account: r.get(3)?,
        amount: Money {
            minor: r.get(4)?,
            currency,
        },
        date,
        counterparty: r.get(7)?,
        reference: r.get(8)?,
        entry_id: id,
    })
}

const ENTRY_COLS: &str =
    "entry_id, side, entity_id, account, amount_minor, currency, date, counterparty, reference";

impl Tx<'_> {
    /// Inserts or updates an entity.
    pub fn upsert_entity(&self, e: &EntityRow) -> Result<(), StoreError> {
        self.w()?.execute(
            "INSERT INTO entities (entity_id, name, currency) VALUES (?1, ?2, ?3)
             ON CONFLICT (entity_id) DO UPDATE SET name = excluded.name, currency = excluded.currency",
            params![e.entity_id, e.name, e.currency],
        )?;
        Ok(())
    }

    /// All entities, by id.
    pub fn list_entities(&self) -> Result<Vec<EntityRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT entity_id, name, currency FROM entities ORDER BY entity_id")?;
        let rows = stmt.query_map([], |r| {
            Ok(EntityRow {
                entity_id: r.get(0)?,
                name: r.get(1)?,
                currency: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Inserts or updates an account (its entity must exist).
    pub fn upsert_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        self.w()?.execute(
            "INSERT INTO accounts (entity_id, account, name, always_human) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (entity_id, account) DO UPDATE
             SET name = excluded.name, always_human = excluded.always_human",
            params![a.entity_id, a.account, a.name, a.always_human],
        )?;
        Ok(())
    }

    /// All accounts, by entity then account.
    pub fn list_accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT entity_id, account, name, always_human FROM accounts ORDER BY entity_id, account",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AccountRow {
                entity_id: r.get(0)?,
                account: r.get(1)?,
                name: r.get(2)?,
                always_human: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records that an actor acted at `ts`: inserts it (first_seen = last_seen = ts) or moves
    /// `last_seen` forward (never back).
    pub fn touch_actor(
        &self,
        actor_id: &str,
        kind: &str,
        identity_source: &str,
        ts: &str,
    ) -> Result<(), StoreError> {
        self.w()?.execute(
            "INSERT INTO actors (actor_id, kind, identity_source, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (actor_id) DO UPDATE
             SET last_seen = max(last_seen, excluded.last_seen),
                 first_seen = min(first_seen, excluded.first_seen)",
            params![actor_id, kind, identity_source, ts],
        )?;
        Ok(())
    }

    /// All actors, by id.
    pub fn list_actors(&self) -> Result<Vec<ActorRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT actor_id, kind, identity_source, first_seen, last_seen FROM actors ORDER BY actor_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ActorRow {
                actor_id: r.get(0)?,
                kind: r.get(1)?,
                identity_source: r.get(2)?,
                first_seen: r.get(3)?,
                last_seen: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Inserts an entry with status `UNMATCHED` (its entity must exist; the id must be new).
    pub fn insert_entry(&self, e: &Entry) -> Result<(), StoreError> {
        let mut stmt = self.w()?.prepare_cached(&format!(
            "INSERT INTO entries ({ENTRY_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ))?;
        stmt.execute(params![
            e.entry_id,
            e.side.as_str(),
            e.entity,
            e.account,
            e.amount.minor,
            e.amount.currency.code(),
            e.date.format("%Y-%m-%d").to_string(),
            e.counterparty,
            e.reference,
        ])?;
        Ok(())
    }

    /// One entry, `None` if unknown.
    pub fn get_entry(&self, entry_id: &str) -> Result<Option<Entry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLS} FROM entries WHERE entry_id = ?1"
        ))?;
        let mut rows = stmt.query([entry_id])?;
        match rows.next()? {
            Some(r) => entry_from_row(r).map(Some),
            None => Ok(None),
        }
    }

    /// Entries by id, in the order asked; [`StoreError::NotFound`] for the first unknown id.
    pub fn get_entries(&self, ids: &[String]) -> Result<Vec<Entry>, StoreError> {
        ids.iter()
            .map(|id| {
                self.get_entry(id)?.ok_or_else(|| StoreError::NotFound {
                    what: "entry",
                    id: id.clone(),
                })
            })
            .collect()
    }

    /// Entries with a status, ordered by entity, date, id.
    pub fn list_entries(&self, status: EntryStatus) -> Result<Vec<Entry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLS} FROM entries WHERE status = ?1 ORDER BY entity_id, date, entry_id"
        ))?;
        let mut rows = stmt.query([status.as_str()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(entry_from_row(r)?);
        }
        Ok(out)
    }

    /// Entries with status `UNMATCHED`, ordered by entity, date, id.
    pub fn list_unmatched(&self) -> Result<Vec<Entry>, StoreError> {
        self.list_entries(EntryStatus::Unmatched)
    }

    /// An entry's status, `None` if unknown.
    pub fn entry_status(&self, entry_id: &str) -> Result<Option<EntryStatus>, StoreError> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT status FROM entries WHERE entry_id = ?1",
                [entry_id],
                |r| r.get(0),
            )
            .optional()?;
        s.map(|s| {
            EntryStatus::parse(&s)
                .ok_or_else(|| corrupt("entry", entry_id, format!("status `{s}`")))
        })
        .transpose()
    }

    /// Sets an entry's status; [`StoreError::NotFound`] if unknown.
    pub fn set_entry_status(&self, entry_id: &str, status: EntryStatus) -> Result<(), StoreError> {
        let n = self.w()?.execute(
            "UPDATE entries SET status = ?2 WHERE entry_id = ?1",
            params![entry_id, status.as_str()],
        )?;
        not_found_if_zero(n, "entry", entry_id)
    }

    /// Counts of entries by status (every status present, zero included), in status order.
    pub fn count_entries_by_status(&self) -> Result<Vec<(EntryStatus, u64)>, StoreError> {
        let mut out = Vec::new();
        for s in [
            EntryStatus::Unmatched,
            EntryStatus::Proposed,
            EntryStatus::Matched,
            EntryStatus::Exception,
        ] {
            let n: i64 = self.conn.query_row(
                "SELECT COUNT(*) FROM entries WHERE status = ?1",
                [s.as_str()],
                |r| r.get(0),
            )?;
            out.push((s, n.max(0) as u64));
        }
        Ok(out)
    }

    /// Inserts a match and its entry links (entries must exist). Does not change entry statuses.
    pub fn insert_match(&self, m: &NewMatch) -> Result<(), StoreError> {
        let conn = self.w()?;
        conn.execute(
            "INSERT INTO matches (match_id, class, state, proposer, created_ts, updated_ts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![
                m.match_id,
                m.class.as_str(),
                m.state.as_str(),
                m.proposer,
                m.created_ts
            ],
        )?;
        let mut stmt =
            conn.prepare_cached("INSERT INTO match_entries (match_id, entry_id) VALUES (?1, ?2)")?;
        for e in &m.entry_ids {
            stmt.execute(params![m.match_id, e])?;
        }
        Ok(())
    }

    /// A match as the gate sees it (entries ordered by id, approvals in order), `None` if unknown.
    pub fn get_match(&self, match_id: &str) -> Result<Option<MatchView>, StoreError> {
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT class, state, proposer FROM matches WHERE match_id = ?1",
                [match_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((class, state, proposer)) = row else {
            return Ok(None);
        };
        let class = MatchClass::parse(&class)
            .ok_or_else(|| corrupt("match", match_id, format!("class `{class}`")))?;
        let state = MatchState::parse(&state)
            .ok_or_else(|| corrupt("match", match_id, format!("state `{state}`")))?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM entries e JOIN match_entries m ON m.entry_id = e.entry_id
             WHERE m.match_id = ?1 ORDER BY e.entry_id",
            ENTRY_COLS
                .split(", ")
                .map(|c| format!("e.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
        let mut rows = stmt.query([match_id])?;
        let mut entries = Vec::new();
        while let Some(r) = rows.next()? {
            entries.push(entry_from_row(r)?);
        }
        let approvals = self.approvals("match_approvals", "match_id", match_id)?;
        Ok(Some(MatchView {
            id: match_id.to_string(),
            class,
            state,
            proposer,
            entries,
            approvals,
        }))
    }

    fn approvals(&self, table: &str, key: &str, id: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT actor_id FROM {table} WHERE {key} = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Match ids in a state (all states when `None`), by id.
    pub fn list_matches(&self, state: Option<MatchState>) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT match_id FROM matches WHERE ?1 IS NULL OR state = ?1 ORDER BY match_id",
        )?;
        let rows = stmt.query_map([state.map(|s| s.as_str())], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Match ids linked to an entry, by id.
    pub fn matches_of_entry(&self, entry_id: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT match_id FROM match_entries WHERE entry_id = ?1 ORDER BY match_id",
        )?;
        let rows = stmt.query_map([entry_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Counts of matches by state (every state, zero included), in state order.
    pub fn count_matches_by_state(&self) -> Result<Vec<(MatchState, u64)>, StoreError> {
        let mut out = Vec::new();
        for s in [
            MatchState::Proposed,
            MatchState::PendingApproval,
            MatchState::Confirmed,
            MatchState::Rejected,
        ] {
            let n: i64 = self.conn.query_row(
                "SELECT COUNT(*) FROM matches WHERE state = ?1",
                [s.as_str()],
                |r| r.get(0),
            )?;
            out.push((s, n.max(0) as u64));
        }
        Ok(out)
    }

    /// Sets a match's state and `updated_ts`; [`StoreError::NotFound`] if unknown.
    pub fn set_match_state(
        &self,
        match_id: &str,
        state: MatchState,
        ts: &str,
    ) -> Result<(), StoreError> {
        let n = self.w()?.execute(
            "UPDATE matches SET state = ?2, updated_ts = ?3 WHERE match_id = ?1",
            params![match_id, state.as_str(), ts],
        )?;
        not_found_if_zero(n, "match", match_id)
    }

    /// Records a human approval of a match (a repeat by the same actor is a database error).
    pub fn add_match_approval(
        &self,
        match_id: &str,
        actor_id: &str,
        ts: &str,
    ) -> Result<(), StoreError> {
        self.w()?.execute(
            "INSERT INTO match_approvals (match_id, actor_id, ts) VALUES (?1, ?2, ?3)",
            params![match_id, actor_id, ts],
        )?;
        Ok(())
    }

    /// Inserts a pending request in state `OPEN`.
    pub fn insert_request(&self, r: &NewRequest) -> Result<(), StoreError> {
        let payload = serde_json::to_string(&r.payload)
            .map_err(|e| StoreError::Database(format!("cannot encode request payload: {e}")))?;
        self.w()?.execute(
            "INSERT INTO requests (request_id, action, payload, requester, tier, state, created_ts)
             VALUES (?1, ?2, ?3, ?4, ?5, 'OPEN', ?6)",
            params![
                r.request_id,
                r.action.as_str(),
                payload,
                r.requester,
                r.tier,
                r.created_ts
            ],
        )?;
        Ok(())
    }

    /// A request with its approvals (in order), `None` if unknown.
    pub fn get_request(&self, request_id: &str) -> Result<Option<StoredRequest>, StoreError> {
        type RequestRow = (String, String, String, String, String, String);
        let row: Option<RequestRow> = self
            .conn
            .query_row(
                "SELECT action, payload, requester, tier, state, created_ts
                 FROM requests WHERE request_id = ?1",
                [request_id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((action, payload, requester, tier, state, created_ts)) = row else {
            return Ok(None);
        };
        let action = Action::parse(&action)
            .ok_or_else(|| corrupt("request", request_id, format!("action `{action}`")))?;
        let state = RequestState::parse(&state)
            .ok_or_else(|| corrupt("request", request_id, format!("state `{state}`")))?;
        let payload: serde_json::Value = serde_json::from_str(&payload)
            .map_err(|e| corrupt("request", request_id, format!("payload: {e}")))?;
        let approvals = self.approvals("request_approvals", "request_id", request_id)?;
        let view_tier = match tier.as_str() {
            "T0" => Tier::T0,
            "T1" => Tier::T1,
            "T2" => Tier::T2,
            "T3" => Tier::T3,
            other => return Err(corrupt("request", request_id, format!("tier `{other}`"))),
        };
        let entity = payload
            .get("entity")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
        Ok(Some(StoredRequest {
            view: PendingView {
                id: request_id.to_string(),
                action,
                requester,
                approvals,
                open: state == RequestState::Open,
                tier: view_tier,
                entity,
            },
            payload,
            tier,
            state,
            created_ts,
        }))
    }

    /// Request ids in a state (all when `None`), by id.
    pub fn list_requests(&self, state: Option<RequestState>) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT request_id FROM requests WHERE ?1 IS NULL OR state = ?1 ORDER BY request_id",
        )?;
        let rows = stmt.query_map([state.map(|s| s.as_str())], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records an approval of a request (a repeat by the same actor is a database error).
    pub fn add_request_approval(
        &self,
        request_id: &str,
        actor_id: &str,
        ts: &str,
    ) -> Result<(), StoreError> {
        self.w()?.execute(
            "INSERT INTO request_approvals (request_id, actor_id, ts) VALUES (?1, ?2, ?3)",
            params![request_id, actor_id, ts],
        )?;
        Ok(())
    }

    /// Sets a request's state; [`StoreError::NotFound`] if unknown.
    pub fn set_request_state(
        &self,
        request_id: &str,
        state: RequestState,
    ) -> Result<(), StoreError> {
        let n = self.w()?.execute(
            "UPDATE requests SET state = ?2 WHERE request_id = ?1",
            params![request_id, state.as_str()],
        )?;
        not_found_if_zero(n, "request", request_id)
    }

    /// Periods closed at run time, by entity then period (feeds `gate::request::Context`).
    pub fn closed_periods(&self) -> Result<Vec<(String, YearMonth)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT entity_id, period FROM closed_periods ORDER BY entity_id, period",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let entity: String = r.get(0)?;
            let p: String = r.get(1)?;
            let period = YearMonth::parse(&p)
                .ok_or_else(|| corrupt("closed period of", &entity, format!("period `{p}`")))?;
            out.push((entity, period));
        }
        Ok(out)
    }

    /// Marks a period closed (idempotent: closing a closed period keeps the first record).
    pub fn close_period(
        &self,
        entity: &str,
        period: YearMonth,
        ts: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        self.w()?.execute(
            "INSERT INTO closed_periods (entity_id, period, closed_ts, closed_by)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![entity, period.to_string(), ts, by],
        )?;
        Ok(())
    }

    /// Reopens a period; returns whether it was closed.
    pub fn reopen_period(&self, entity: &str, period: YearMonth) -> Result<bool, StoreError> {
        let n = self.w()?.execute(
            "DELETE FROM closed_periods WHERE entity_id = ?1 AND period = ?2",
            params![entity, period.to_string()],
        )?;
        Ok(n > 0)
    }
}

fn not_found_if_zero(n: usize, what: &'static str, id: &str) -> Result<(), StoreError> {
    if n == 0 {
        Err(StoreError::NotFound {
            what,
            id: id.to_string(),
        })
    } else {
        Ok(())
    }
}
