//! The audit sample of `audit-sample.csv`: the sample seed, the sha256 ranking, the boundary
//! population (above materiality or touching an always-human account) and the CSV rendering.
//!
//! Reproducible with standard tools and no RNG library:
//! - `sample_seed = sha256_hex("closegate-sample:" || since || ":" || until || ":" || head_hash_at_until)`;
//! - `rank(e) = sha256_hex(sample_seed || ":" || e.hash)` (hex strings as ASCII);
//! - random sample: the [`SAMPLE_SIZE`] smallest ranks over every event in the window;
//! - boundary sample: the [`SAMPLE_SIZE`] smallest ranks over the boundary population, leaving
//!   out events already in the random sample (so the 50 rows are 50 distinct events).
//!
//! Ties cannot happen (event hashes are distinct); the sort is still total (rank, then seq).
//! Pure: no I/O, no clock.

use crate::audit::event::{AuditEvent, NewEvent};
use crate::policy::model::Policy;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use std::collections::{BinaryHeap, HashSet};
use std::str::FromStr;

/// Events drawn per sample kind.
pub const SAMPLE_SIZE: usize = 25;

/// Prefix of the seed pre-image.
pub const SEED_PREFIX: &str = "closegate-sample:";

/// Which sample a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// Drawn from every event in the window.
    Random,
    /// Drawn from the boundary population.
    Boundary,
}

impl SampleKind {
    /// `random` or `boundary`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SampleKind::Random => "random",
            SampleKind::Boundary => "boundary",
        }
    }
}

/// `sha256_hex(SEED_PREFIX || since || ":" || until || ":" || head_hash_at_until)`.
pub fn sample_seed(since: &str, until: &str, head_hash_at_until: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{SEED_PREFIX}{since}:{until}:{head_hash_at_until}").as_bytes(),
    ))
}

/// `sha256_hex(seed || ":" || event_hash)`.
pub fn rank(seed: &str, event_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update(b":");
    h.update(event_hash.as_bytes());
    hex::encode(h.finalize())
}

/// Why an event is in the boundary population (`;`-joined when several apply), `None` if it is
/// not. Materiality follows the gate: an entity with an override is measured in its own
/// currency against the override (when the event's amount is in that currency); otherwise
/// `amount_base` is compared with the policy threshold. Amounts compare by absolute value.
pub fn boundary_reason(ev: &NewEvent, policy: &Policy) -> Option<String> {
    let mut why: Vec<String> = Vec::new();
    let dec = |s: &Option<String>| {
        s.as_deref()
            .and_then(|v| Decimal::from_str(v).ok())
            .map(|d| d.abs())
    };
    let over = ev.entity.as_deref().and_then(|ent| {
        policy
            .materiality
            .entity_overrides
            .iter()
            .find(|o| o.entity == ent)
            .zip(policy.entity(ent))
    });
    let override_applies = match over {
        Some((o, ent)) if ev.currency.as_deref() == Some(ent.currency.code()) => {
            if dec(&ev.amount).is_some_and(|a| a > o.threshold) {
                why.push(format!("materiality_override:{}", o.entity));
            }
            true
        }
        _ => false,
    };
    if !override_applies && dec(&ev.amount_base).is_some_and(|a| a > policy.materiality.threshold) {
        why.push("materiality".to_string());
    }
    for h in &policy.always_human_accounts {
        if ev.accounts.iter().any(|a| a == &h.account) {
            why.push(format!("always_human_account:{}", h.account));
        }
    }
    (!why.is_empty()).then(|| why.join(";"))
}

/// One sampled row.
#[derive(Debug, Clone)]
pub struct SampledEvent {
    /// Random or boundary.
    pub kind: SampleKind,
    /// The event's rank (hex sha256).
    pub rank: String,
    /// Why it is a boundary event, if it is one (also set on random rows that are).
    pub boundary_reason: Option<String>,
    /// The event.
    pub event: AuditEvent,
}

/// The sample and the population sizes behind it.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The seed.
    pub seed: String,
    /// Events in the window.
    pub population: usize,
    /// Events in the boundary population.
    pub boundary_population: usize,
    /// Boundary events not already in the random sample (what the boundary draw ranks).
    pub boundary_eligible: usize,
    /// Random rows then boundary rows, each by rank.
    pub rows: Vec<SampledEvent>,
}

impl Sample {
    /// Rows of one kind.
    pub fn count(&self, kind: SampleKind) -> usize {
        self.rows.iter().filter(|r| r.kind == kind).count()
    }
}

/// A chosen event, before its row is read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// Random or boundary.
    pub kind: SampleKind,
    /// Rank.
    pub rank: String,
    /// Seq of the event.
    pub seq: u64,
    /// Boundary reason, if any.
    pub boundary_reason: Option<String>,
}

/// What [`Sampler::finish`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The seed.
    pub seed: String,
    /// Events offered.
    pub population: usize,
    /// Boundary events offered.
    pub boundary_population: usize,
    /// Boundary events not in the random sample.
    pub boundary_eligible: usize,
    /// Random picks then boundary picks, each by rank.
    pub picks: Vec<Pick>,
}

/// The `cap` smallest `(rank, seq)` seen, as a max-heap.
struct Smallest {
    cap: usize,
    heap: BinaryHeap<(String, u64, Option<String>)>,
}

impl Smallest {
    fn new(cap: usize) -> Smallest {
        Smallest {
            cap,
            heap: BinaryHeap::with_capacity(cap + 1),
        }
    }

    fn offer(&mut self, rank: &str, seq: u64, why: &Option<String>) {
        if self.heap.len() >= self.cap {
            match self.heap.peek() {
                Some(top) if (rank, seq) < (top.0.as_str(), top.1) => {}
                _ => return,
            }
        }
        self.heap.push((rank.to_string(), seq, why.clone()));
        if self.heap.len() > self.cap {
            self.heap.pop();
        }
    }

    fn sorted(self) -> Vec<(String, u64, Option<String>)> {
        self.heap.into_sorted_vec()
    }
}

/// Streaming sampler: offer every event of the window once (any order); memory stays bounded
/// (the 25 smallest ranks overall and the 50 smallest boundary ranks, enough to skip the at most
/// 25 that are also random picks).
pub struct Sampler<'p> {
    seed: String,
    policy: &'p Policy,
    population: usize,
    boundary_population: usize,
    random: Smallest,
    boundary: Smallest,
}

impl<'p> Sampler<'p> {
    /// A sampler for `seed` under `policy`'s boundary rule.
    pub fn new(seed: &str, policy: &'p Policy) -> Sampler<'p> {
        Sampler {
            seed: seed.to_string(),
            policy,
            population: 0,
            boundary_population: 0,
            random: Smallest::new(SAMPLE_SIZE),
            boundary: Smallest::new(2 * SAMPLE_SIZE),
        }
    }

    /// Offers one event of the window.
    pub fn offer(&mut self, e: &AuditEvent) {
        let r = rank(&self.seed, &e.hash);
        let why = boundary_reason(&e.body, self.policy);
        self.population += 1;
        self.random.offer(&r, e.seq, &why);
        if why.is_some() {
            self.boundary_population += 1;
            self.boundary.offer(&r, e.seq, &why);
        }
    }

    /// The picks: random by rank, then boundary by rank (random ones left out).
    pub fn finish(self) -> Selection {
        let random = self.random.sorted();
        let taken: HashSet<u64> = random.iter().map(|r| r.1).collect();
        let overlap = random.iter().filter(|r| r.2.is_some()).count();
        let mut picks: Vec<Pick> = random
            .into_iter()
            .map(|(rank, seq, boundary_reason)| Pick {
                kind: SampleKind::Random,
                rank,
                seq,
                boundary_reason,
            })
            .collect();
        picks.extend(
            self.boundary
                .sorted()
                .into_iter()
                .filter(|r| !taken.contains(&r.1))
                .take(SAMPLE_SIZE)
                .map(|(rank, seq, boundary_reason)| Pick {
                    kind: SampleKind::Boundary,
                    rank,
                    seq,
                    boundary_reason,
                }),
        );
        Selection {
            seed: self.seed,
            population: self.population,
            boundary_population: self.boundary_population,
            boundary_eligible: self.boundary_population - overlap,
            picks,
        }
    }
}

/// Draws both samples from the events of the window held in memory (any order): a
/// [`Sampler`] over them, with the rows filled from the slice.
pub fn draw(seed: &str, events: &[AuditEvent], policy: &Policy) -> Sample {
    let mut s = Sampler::new(seed, policy);
    for e in events {
        s.offer(e);
    }
    let sel = s.finish();
    let rows = sel
        .picks
        .iter()
        .filter_map(|p| {
            events
                .iter()
                .find(|e| e.seq == p.seq)
                .map(|e| SampledEvent {
                    kind: p.kind,
                    rank: p.rank.clone(),
                    boundary_reason: p.boundary_reason.clone(),
                    event: e.clone(),
                })
        })
        .collect();
    Sample {
        seed: sel.seed,
        population: sel.population,
        boundary_population: sel.boundary_population,
        boundary_eligible: sel.boundary_eligible,
        rows,
    }
}

/// The CSV header of `audit-sample.csv`.
pub const CSV_COLUMNS: &[&str] = &[
    "sample_kind",
    "rank",
    "seq",
    "event_id",
    "ts",
    "actor",
    "actor_kind",
    "event_type",
    "action",
    "tier",
    "decision",
    "reason_codes",
    "clauses",
    "pointers",
    "entity",
    "accounts",
    "amount",
    "currency",
    "amount_base",
    "policy_version",
    "boundary_reason",
    "rationale",
    "prev_hash",
    "hash",
];

/// RFC 4180 field: quoted when it holds a comma, quote, CR or LF.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Renders the sample as CSV (LF line ends; multi-valued fields joined with `;`, clauses with
/// ` | `; a missing pointer is empty).
pub fn to_csv(sample: &Sample) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push('\n');
    for r in &sample.rows {
        let b = &r.event.body;
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let fields: Vec<String> = vec![
            r.kind.as_str().to_string(),
            r.rank.clone(),
            r.event.seq.to_string(),
            b.event_id.clone(),
            b.ts.clone(),
            b.actor_id.clone(),
            b.actor_kind.clone(),
            b.event_type.as_str().to_string(),
            b.action.clone(),
            b.tier.clone(),
            b.decision.clone(),
            b.reasons
                .iter()
                .map(|x| x.code.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            b.reasons
                .iter()
                .map(|x| x.clause.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            b.reasons
                .iter()
                .map(|x| x.pointer.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(";"),
            opt(&b.entity),
            b.accounts.join(";"),
            opt(&b.amount),
            opt(&b.currency),
            opt(&b.amount_base),
            b.policy_version.clone(),
            opt(&r.boundary_reason),
            opt(&b.rationale),
            r.event.prev_hash.clone(),
            r.event.hash.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_and_rank_are_plain_sha256_of_the_documented_strings() {
        let s = sample_seed("2026-01-01", "2026-03-31", "ab");
        assert_eq!(
            s,
            hex::encode(Sha256::digest(b"closegate-sample:2026-01-01:2026-03-31:ab"))
        );
        assert_eq!(
            rank(&s, "cd"),
            hex::encode(Sha256::digest(format!("{s}:cd").as_bytes()))
        );
    }

    /// The streaming sampler equals the definition: sort everything by (rank, seq), take 25;
    /// then the boundary events not taken, 25.
    #[test]
    fn streaming_sampler_matches_a_full_sort() {
        use crate::audit::event::{EventSubject, EventType};
        let policy = crate::policy::load(
            "p",
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/seed/saas/policy.yaml"
            )),
        )
        .map(|x| x.0)
        .unwrap();
        let events: Vec<AuditEvent> = (1..=400u64)
            .map(|i| AuditEvent {
                seq: i,
                body: NewEvent {
                    event_id: format!("e{i}"),
                    ts: "2026-01-01T00:00:00Z".into(),
                    actor_id: "engine:x".into(),
                    actor_kind: "engine".into(),
                    action: "a".into(),
                    tier: "T0".into(),
                    decision: "allow".into(),
                    reasons: vec![],
                    event_type: EventType::MatchProposed,
                    subject: EventSubject::default(),
                    entity: Some("US-PARENT".into()),
                    accounts: vec![if i % 7 == 0 {
                        "1030".into()
                    } else {
                        "1200".into()
                    }],
                    amount: None,
                    currency: Some("USD".into()),
                    amount_base: Some(if i % 5 == 0 { "20000.00" } else { "5.00" }.into()),
                    policy_version: "v".into(),
                    rationale: None,
                },
                prev_hash: String::new(),
                hash: hex::encode(Sha256::digest(i.to_string().as_bytes())),
            })
            .collect();
        let seed = sample_seed("2026-01-01", "2026-01-31", "h");
        let got = draw(&seed, &events, &policy);
        let mut all: Vec<(String, u64, bool)> = events
            .iter()
            .map(|e| {
                (
                    rank(&seed, &e.hash),
                    e.seq,
                    boundary_reason(&e.body, &policy).is_some(),
                )
            })
            .collect();
        all.sort();
        let random: Vec<u64> = all.iter().take(25).map(|x| x.1).collect();
        let boundary: Vec<u64> = all
            .iter()
            .filter(|x| x.2 && !random.contains(&x.1))
            .take(25)
            .map(|x| x.1)
            .collect();
        let want: Vec<u64> = random.iter().chain(boundary.iter()).copied().collect();
        let seqs: Vec<u64> = got.rows.iter().map(|r| r.event.seq).collect();
        assert_eq!(seqs, want);
        assert_eq!(got.population, 400);
        assert_eq!(got.boundary_population, all.iter().filter(|x| x.2).count());
        assert_eq!(got.count(SampleKind::Boundary), 25);
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
