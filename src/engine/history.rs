//! A deterministic simulated operating history, replayed through the real engine actions so
//! the audit log holds realistic populations for the evidence export: engine proposals and
//! auto-confirms, escalations and human confirmations, denials (segregation of duties, missing
//! rationale, LLM approvals, duplicate approvers), T3 dual approvals, period closes and a reopen.
//!
//! Deterministic: a fixed-seed splitmix64 generator and timestamps derived from the simulated
//! day, never the clock, so `seed --history 180d` gives the same audit head on every run.

use super::seeding::RegistryActor;
use super::{execute_in, EngineError, Env};
use crate::gate::decision::Outcome;
use crate::ledger::{Entry, Side};
use crate::money::{Currency, Money};
use crate::policy::model::Policy;
use crate::store::{Store, Tx};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde_json::{json, Value};

/// splitmix64: tiny, well-known, good enough for simulation, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    /// True with probability `pct` percent.
    fn pct(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
}

/// What the replay produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryReport {
    /// Simulated days.
    pub days: u32,
    /// Entries imported.
    pub entries: u64,
    /// Audit events appended.
    pub events: u64,
}

/// What the two sides of a simulated pair share.
struct Proto<'a> {
    entity: &'a str,
    account: &'a str,
    counterparty: &'a str,
    reference: &'a str,
}

struct Sim<'a> {
    policy: &'a Policy,
    policy_name: &'a str,
    policy_src: &'a str,
    registry: &'a [RegistryActor],
    rng: Rng,
    clock: DateTime<Utc>,
    next_entry: u64,
    events: u64,
    open_requests: Vec<String>,
}

impl Sim<'_> {
    fn act(
        &mut self,
        tx: &Tx<'_>,
        actor: &str,
        action: &str,
        args: Value,
    ) -> Result<(Outcome, Option<String>), EngineError> {
        self.clock += Duration::seconds(7 + (self.rng.next() % 50) as i64);
        let reg = self.registry.iter().find(|a| a.id == actor);
        let env = Env {
            policy: self.policy,
            policy_name: self.policy_name,
            policy_src: self.policy_src,
            actor: actor.to_string(),
            identity_source: reg
                .map(|r| r.identity_source.clone())
                .unwrap_or_else(|| "header-trust".into()),
            ts: self.clock,
            actor_scope: reg.and_then(|r| r.entities.clone()),
            gate: crate::gate::evaluate,
        };
        let r = execute_in(tx, &env, action, &args)?;
        self.events += 1;
        Ok((r.decision.outcome, r.created))
    }

    /// A new entry shaped like `proto` (entity, account, counterparty, reference) on `side`.
    fn entry(&mut self, side: Side, proto: &Proto<'_>, amount: Money, date: NaiveDate) -> Entry {
        self.next_entry += 1;
        let prefix = if side == Side::Gl { "HGL" } else { "HSL" };
        Entry {
            entry_id: format!("{prefix}-{:06}", self.next_entry),
            side,
            entity: proto.entity.to_string(),
            account: proto.account.to_string(),
            amount,
            date,
            counterparty: Some(proto.counterparty.to_string()),
            reference: Some(proto.reference.to_string()),
        }
    }

    fn human_for(&mut self, entity: &str, not: &str) -> &'static str {
        let pool: &[&'static str] = match entity {
            "UK-SUB" => &["human:dave", "human:alice"],
            "JP-SUB" => &["human:emi", "human:alice"],
            _ => &["human:alice", "human:carol", "human:bob"],
        };
        let start = (self.rng.next() % pool.len() as u64) as usize;
        (0..pool.len())
            .map(|i| pool[(start + i) % pool.len()])
            .find(|h| *h != not)
            .unwrap_or("human:bob")
    }
}

const COUNTERPARTIES: &[&str] = &[
    "Acme Corp",
    "Globex LLC",
    "Initech Inc",
    "Umbrella Ltd",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli Inc",
    "Vandelay Industries",
    "Soylent Corp",
    "Tyrell Corp",
    "Nakatomi KK",
    "Cyberdyne Systems",
];

/// Converts a USD-cents figure into the entity's currency, in minor units (rounded).
fn in_currency(usd_cents: u64, ccy: Currency) -> Money {
    let minor = match ccy.code() {
        "GBP" => usd_cents * 100 / 127,
        "JPY" => usd_cents * 150 / 100,
        _ => usd_cents,
    };
    Money {
        minor: minor as i64,
        currency: ccy,
    }
}

fn business_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Replays `days` days ending the day before `until`, one transaction per day.
pub fn replay(
    store: &mut Store,
    policy: &Policy,
    policy_name: &str,
    policy_src: &str,
    registry: &[RegistryActor],
    until: DateTime<Utc>,
    days: u32,
) -> Result<HistoryReport, EngineError> {
    let first = until.date_naive() - Duration::days(i64::from(days));
    let mut sim = Sim {
        policy,
        policy_name,
        policy_src,
        registry,
        rng: Rng(0xC105_E6A7_E000_0001),
        clock: first
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or(until),
        next_entry: 0,
        events: 0,
        open_requests: Vec::new(),
    };
    let mut report = HistoryReport {
        days,
        ..Default::default()
    };
    for offset in 0..days {
        let day = first + Duration::days(i64::from(offset));
        if let Some(t) = day.and_hms_opt(9, 0, 0) {
            sim.clock = sim.clock.max(t.and_utc());
        }
        store.transaction(|tx| -> Result<(), EngineError> {
            if business_day(day) {
                report.entries += simulate_day(tx, &mut sim, day)?;
            }
            if day.day() == 3 {
                month_end(tx, &mut sim, day)?;
            }
            Ok(())
        })?;
    }
    report.events = sim.events;
    Ok(report)
}

/// One business day: imports, matcher proposals, auto-confirms, human work and some misuse.
fn simulate_day(tx: &Tx<'_>, sim: &mut Sim<'_>, day: NaiveDate) -> Result<u64, EngineError> {
    let pairs = sim.rng.range(6, 10);
    let mut imported = 0;
    for _ in 0..pairs {
        let (entity, ccy) = match sim.rng.range(0, 99) {
            0..=59 => ("US-PARENT", "USD"),
            60..=84 => ("UK-SUB", "GBP"),
            _ => ("JP-SUB", "JPY"),
        };
        let Some(mut ccy) = Currency::from_code(ccy) else {
            continue;
        };
        let mut entity = entity;
        if sim
            .policy
            .to_base(rust_decimal::Decimal::ONE, ccy, day)
            .is_none()
        {
            // No fx rate in force yet for this currency: book it in the parent instead, so the
            // simulated books stay evaluable (the gate would fail closed on them).
            entity = "US-PARENT";
            ccy = sim.policy.base_currency;
        }
        let cp = COUNTERPARTIES[(sim.rng.next() % COUNTERPARTIES.len() as u64) as usize];
        let reference = format!("INV-{}", sim.rng.range(10_000, 99_999));
        let kind = sim.rng.range(0, 99);
        let big = (12..=20).contains(&kind);
        let usd_cents = if big {
            sim.rng.range(1_200_000, 8_000_000)
        } else {
            sim.rng.range(5_000, 900_000)
        };
        let amount = in_currency(usd_cents, ccy);
        let account = if (90..=96).contains(&kind) && entity != "JP-SUB" {
            "1030"
        } else {
            "1200"
        };
        let proto = Proto {
            entity,
            account,
            counterparty: cp,
            reference: &reference,
        };
        let gl = sim.entry(Side::Gl, &proto, amount, day);
        let mut sls = Vec::new();
        let class = match kind {
            21..=40 => {
                // Fuzzy: a bank fee netted on the SL side.
                let fee = in_currency(1_500, ccy).minor.min(amount.minor / 100).max(1);
                let net = Money {
                    minor: amount.minor - fee,
                    currency: ccy,
                };
                sls.push(sim.entry(Side::Sl, &proto, net, day + Duration::days(1)));
                "fuzzy_match"
            }
            41..=50 => {
                let part = amount.minor / 2;
                sls.push(sim.entry(
                    Side::Sl,
                    &proto,
                    Money {
                        minor: part,
                        currency: ccy,
                    },
                    day,
                ));
                sls.push(sim.entry(
                    Side::Sl,
                    &proto,
                    Money {
                        minor: amount.minor - part,
                        currency: ccy,
                    },
                    day,
                ));
                "multi_to_one"
            }
            97..=99 => "exception",
            _ => {
                sls.push(sim.entry(Side::Sl, &proto, amount, day));
                "exact_match"
            }
        };
        tx.insert_entry(&gl)?;
        for s in &sls {
            tx.insert_entry(s)?;
        }
        imported += 1 + sls.len() as u64;
        if class == "exception" {
            let who = sim.human_for(entity, "");
            sim.act(
                tx,
                who,
                "flag_exception",
                json!({"entries": [gl.entry_id], "note": "no bank counterpart yet"}),
            )?;
            continue;
        }
        let sl_ids: Vec<String> = sls.iter().map(|s| s.entry_id.clone()).collect();
        let by_llm = sim.rng.pct(12);
        let proposer = if by_llm {
            "llm:session-1"
        } else {
            "engine:recon"
        };
        let (_, created) = sim.act(
            tx,
            proposer,
            "propose_match",
            json!({"class": class, "gl": [gl.entry_id], "sl": sl_ids}),
        )?;
        let Some(match_id) = created else { continue };
        if by_llm && sim.rng.pct(25) {
            // A hijacked or confused agent tries to confirm its own proposal.
            sim.act(tx, proposer, "confirm_match", json!({"match": match_id}))?;
        }
        let (outcome, _) = sim.act(
            tx,
            "engine:autoconfirm",
            "confirm_match",
            json!({"match": match_id}),
        )?;
        if outcome == Outcome::Allow {
            continue;
        }
        let human = sim.human_for(entity, "");
        let needs_rationale = usd_cents > 100_000;
        if needs_rationale && sim.rng.pct(8) {
            sim.act(tx, human, "confirm_match", json!({"match": match_id}))?;
        }
        let rationale = format!("checked {reference} against remittance advice");
        let (outcome, _) = sim.act(
            tx,
            human,
            "confirm_match",
            json!({"match": match_id, "rationale": rationale}),
        )?;
        if let Outcome::RequireApproval { .. } = outcome {
            let second = sim.human_for(entity, human);
            sim.act(
                tx,
                second,
                "confirm_match",
                json!({"match": match_id, "rationale": rationale}),
            )?;
        }
    }
    if sim.rng.pct(10) {
        // A human proposes by hand and then tries to confirm their own match.
        let usd = Currency::from_code("USD");
        if let Some(usd) = usd {
            let amount = in_currency(sim.rng.range(10_000, 90_000), usd);
            let proto = Proto {
                entity: "US-PARENT",
                account: "1200",
                counterparty: "Globex LLC",
                reference: "MAN-1",
            };
            let gl = sim.entry(Side::Gl, &proto, amount, day);
            let sl = sim.entry(Side::Sl, &proto, amount, day);
            tx.insert_entry(&gl)?;
            tx.insert_entry(&sl)?;
            imported += 2;
            let (_, created) = sim.act(
                tx,
                "human:carol",
                "propose_match",
                json!({"class": "exact_match", "gl": [gl.entry_id], "sl": [sl.entry_id]}),
            )?;
            if let Some(m) = created {
                sim.act(
                    tx,
                    "human:carol",
                    "confirm_match",
                    json!({"match": m, "rationale": "mine"}),
                )?;
                sim.act(
                    tx,
                    "human:alice",
                    "confirm_match",
                    json!({"match": m, "rationale": "reviewed manual match"}),
                )?;
            }
        }
    }
    if day.weekday() == Weekday::Fri {
        // Weekly bank-fee true-up by the senior accountant.
        let fee = sim.rng.range(1_000, 40_000);
        let amount = format!("{}.{:02}", fee / 100, fee % 100);
        let (outcome, created) = sim.act(tx, "human:carol", "post_adjustment", json!({"entity": "US-PARENT", "accounts": ["6100", "1010"],
            "amount": amount, "currency": "USD", "date": day.to_string(), "rationale": "weekly bank fee true-up"}))?;
        if let (Outcome::RequireApproval { .. }, Some(req)) = (outcome, created) {
            // Into a closed period: T3, two approvers (a posted adjustment creates no request).
            dual_approve(tx, sim, &req, ["fee statement attached", "ok"])?;
        }
        if let Some(req) = sim.open_requests.first().cloned() {
            // An agent tries to approve a pending T3 request: refused.
            sim.act(
                tx,
                "llm:session-2",
                "approve_action",
                json!({"request": req}),
            )?;
        }
    }
    Ok(imported)
}

/// Alice then Bob approve a pending T3 request.
fn dual_approve(
    tx: &Tx<'_>,
    sim: &mut Sim<'_>,
    req: &str,
    why: [&str; 2],
) -> Result<(), EngineError> {
    for (who, rationale) in ["human:alice", "human:bob"].into_iter().zip(why) {
        sim.act(
            tx,
            who,
            "approve_action",
            json!({"request": req, "rationale": rationale}),
        )?;
    }
    Ok(())
}

/// On the 3rd of each month: close the previous month for every entity (T3 dual approval),
/// for months before the seed pack's own books (which start in 2026-03).
fn month_end(tx: &Tx<'_>, sim: &mut Sim<'_>, day: NaiveDate) -> Result<(), EngineError> {
    let prev = day - Duration::days(5);
    let period = format!("{:04}-{:02}", prev.year(), prev.month());
    if period.as_str() >= "2026-03" {
        return Ok(());
    }
    let entities: Vec<String> = sim.policy.entities.iter().map(|e| e.id.clone()).collect();
    for entity in entities {
        let (_, created) = sim.act(
            tx,
            "human:carol",
            "close_period",
            json!({"entity": entity, "period": period}),
        )?;
        let Some(req) = created else { continue };
        sim.open_requests.push(req.clone());
        if sim.rng.pct(40) {
            // An agent tries to approve a period close: refused.
            sim.act(
                tx,
                "llm:session-2",
                "approve_action",
                json!({"request": req}),
            )?;
        }
        if sim.rng.pct(30) {
            sim.act(tx, "human:carol", "approve_action", json!({"request": req}))?;
        }
        sim.act(
            tx,
            "human:alice",
            "approve_action",
            json!({"request": req, "rationale": "close checklist complete"}),
        )?;
        if sim.rng.pct(30) {
            sim.act(tx, "human:alice", "approve_action", json!({"request": req}))?;
        }
        sim.act(
            tx,
            "human:bob",
            "approve_action",
            json!({"request": req, "rationale": "reviewed close pack"}),
        )?;
        sim.open_requests.retain(|r| *r != req);
    }
    if period == "2026-01" {
        // A late accrual into a closed period: T3, two approvers.
        let (_, created) = sim.act(tx, "human:carol", "post_adjustment", json!({"entity": "JP-SUB", "accounts": ["2000", "6100"],
            "amount": "250000", "currency": "JPY", "date": "2026-01-30", "rationale": "late supplier invoice"}))?;
        if let Some(req) = created {
            dual_approve(tx, sim, &req, ["invoice verified", "approved"])?;
        }
        // Reopen and re-close UK-SUB 2025-12 for a correction.
        let (_, created) = sim.act(
            tx,
            "human:dave",
            "reopen_period",
            json!({"entity": "UK-SUB", "period": "2025-12"}),
        )?;
        if let Some(req) = created {
            dual_approve(tx, sim, &req, ["correction needed", "ok"])?;
        }
        let (_, created) = sim.act(
            tx,
            "human:dave",
            "close_period",
            json!({"entity": "UK-SUB", "period": "2025-12"}),
        )?;
        if let Some(req) = created {
            dual_approve(tx, sim, &req, ["corrected", "ok"])?;
        }
    }
    Ok(())
}
