//! The reconciliation matcher: pairs GL and SL entries into `exact_match`, `fuzzy_match` and
//! `multi_to_one` groups and leaves everything else as an exception (unmatched or AMBIGUOUS).
//!
//! Pure and deterministic: no I/O, no clock, no global state, and the result does not depend on
//! the order of the input entries (entries are put in a canonical order first). Money is compared
//! with exact integer minor units and `Decimal`; the counterparty similarity is the only float.
//! Every rule, tolerance and tie-break is stated in `docs/matching.md`; keep the two in step.
//!
//! Layout: `normalize` (strings), `prep` (canonical order, interning, fx), `pairs` (1:1
//! candidates by index, never all pairs), `multi` (bounded subset-sum), `assign` (global
//! one-to-one assignment by tiers, ambiguity), `accuracy` (corpus scorer), `synth` (seeded
//! synthetic books for the benchmark).

pub mod accuracy;
mod assign;
mod multi;
pub mod normalize;
mod pairs;
mod prep;
pub mod synth;

use crate::gate::request::MatchClass;
use crate::ledger::Entry;
use crate::money::Currency;
use crate::policy::model::{FxRate, Matching, Policy};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Most linked candidate lines searched for one multi-to-one group; above this the entry is left
/// to a human (documented in `docs/matching.md`).
pub const MULTI_MAX_CANDIDATES: usize = 24;

/// What the matcher needs from the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchConfig {
    /// `matching` parameters.
    pub matching: Matching,
    /// The policy's base currency (tolerances are in it).
    pub base_currency: Currency,
    /// `fx_rates`: base-currency value of one unit from `as_of` on.
    pub fx_rates: Vec<FxRate>,
}

impl MatchConfig {
    /// The matcher's view of a validated policy.
    pub fn from_policy(p: &Policy) -> MatchConfig {
        MatchConfig {
            matching: p.matching.clone(),
            base_currency: p.base_currency,
            fx_rates: p.fx_rates.clone(),
        }
    }

    /// Base-currency value of one unit of `currency` on `date`: 1 for the base currency, else the
    /// latest rate with `as_of <= date` (the rule of `Policy::to_base`); `None` when none applies.
    pub fn rate(&self, currency: Currency, date: NaiveDate) -> Option<Decimal> {
        if currency == self.base_currency {
            return Some(Decimal::ONE);
        }
        self.fx_rates
            .iter()
            .filter(|r| r.currency == currency && r.as_of <= date)
            .max_by_key(|r| r.as_of)
            .map(|r| r.rate)
    }
}

/// A match the matcher proposes.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchGroup {
    /// The class.
    pub class: MatchClass,
    /// GL entry ids, sorted.
    pub gl: Vec<String>,
    /// SL entry ids, sorted.
    pub sl: Vec<String>,
    /// Absolute amount difference (or sum difference) in the base currency.
    pub amount_diff_base: Decimal,
    /// Largest distance in days between the one side and any line on the other side.
    pub date_gap_days: u32,
    /// Levenshtein distance of the normalised references (pairs with both references only).
    pub reference_distance: Option<u32>,
    /// Jaro-Winkler similarity of the normalised counterparties (pairs with both present only).
    pub counterparty_similarity: Option<f64>,
}

/// Why an entry is an exception.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExceptionReason {
    /// No candidate satisfied the rules.
    Unmatched,
    /// Two or more candidates were equally good: a human decides. `candidates` are the entry
    /// ids on the other side of the tied candidate matches, sorted.
    Ambiguous {
        /// The tied candidates' entry ids.
        candidates: Vec<String>,
    },
}

impl ExceptionReason {
    /// `UNMATCHED` or `AMBIGUOUS`.
    pub fn code(&self) -> &'static str {
        match self {
            ExceptionReason::Unmatched => "UNMATCHED",
            ExceptionReason::Ambiguous { .. } => "AMBIGUOUS",
        }
    }
}

/// An entry left for a human.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExceptionItem {
    /// The entry id.
    pub entry_id: String,
    /// Why.
    pub reason: ExceptionReason,
}

/// The outcome of a reconciliation pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReconResult {
    /// Matches, sorted by (class, GL ids, SL ids).
    pub groups: Vec<MatchGroup>,
    /// Exceptions, sorted by entry id.
    pub exceptions: Vec<ExceptionItem>,
}

/// Reconciles `entries` (both sides mixed) under `cfg`. Pure; see `docs/matching.md`.
pub fn reconcile(entries: &[Entry], cfg: &MatchConfig) -> ReconResult {
    let books = prep::Books::new(entries, cfg);
    let mut state = assign::State::new(books.len());

    let mut edges = pairs::candidates(&books, cfg);
    assign::sort_edges(&mut edges);
    let mut groups = assign::run(&mut state, &edges);

    let mut medges = multi::candidates(&books, cfg, &state);
    assign::sort_edges(&mut medges);
    groups.extend(assign::run(&mut state, &medges));

    let mut out_groups: Vec<MatchGroup> =
        groups.into_iter().map(|g| g.into_group(&books)).collect();
    out_groups.sort_unstable_by(|a, b| (a.class, &a.gl, &a.sl).cmp(&(b.class, &b.gl, &b.sl)));

    let mut exceptions = state.exceptions(&books);
    exceptions.sort_unstable();
    ReconResult {
        groups: out_groups,
        exceptions,
    }
}
