//! Global one-to-one assignment over candidate edges, and the ambiguity rule. No I/O.
//!
//! Edges are sorted by (class rank, reference rank, base amount difference, date gap,
//! descending similarity) and processed in tiers of equal rank key. Within a tier, an edge whose
//! entries are all still free is accepted when no other live edge of the same tier shares an
//! entry with it; live edges that do share an entry are equally good alternatives, so all their
//! entries become AMBIGUOUS exceptions (never guess) and are consumed. Ids only order the output;
//! they never decide which of two equal candidates wins.

use super::prep::Books;
use super::{ExceptionItem, ExceptionReason, MatchGroup};
use crate::gate::request::MatchClass;
use crate::ledger::Side;
use rust_decimal::Decimal;
use std::cmp::Reverse;
use std::collections::BTreeSet;

/// A candidate match between canonical item indices.
#[derive(Debug, Clone)]
pub(super) struct Edge {
    pub class: MatchClass,
    /// 0 equal references, 1–2 edit distance, 3 counterparty evidence (fuzzy pairs only).
    pub ref_rank: u8,
    /// Absolute difference in the base currency.
    pub diff: Decimal,
    /// Date gap in days (pairs only; 0 for multi).
    pub gap: u32,
    /// Similarity in millionths, higher is better (pairs only; 0 for multi).
    pub sim: u32,
    /// Canonical indices of the GL side, sorted.
    pub gl: Vec<u32>,
    /// Canonical indices of the SL side, sorted.
    pub sl: Vec<u32>,
    /// Reported figures.
    pub report_gap: u32,
    pub report_ref_distance: Option<u32>,
    pub report_similarity: Option<f64>,
}

impl Edge {
    fn rank_key(&self) -> (MatchClass, u8, Decimal, u32, Reverse<u32>) {
        (
            self.class,
            self.ref_rank,
            self.diff,
            self.gap,
            Reverse(self.sim),
        )
    }

    fn members(&self) -> impl Iterator<Item = u32> + '_ {
        self.gl.iter().chain(self.sl.iter()).copied()
    }
}

/// Sorts edges by rank key, then ids (canonical indices).
pub(super) fn sort_edges(edges: &mut [Edge]) {
    edges.sort_unstable_by(|a, b| {
        a.rank_key()
            .cmp(&b.rank_key())
            .then_with(|| (&a.gl, &a.sl).cmp(&(&b.gl, &b.sl)))
    });
}

#[derive(Debug, Clone)]
enum Slot {
    Free,
    Matched,
    Ambiguous(BTreeSet<u32>),
}

/// Per-item assignment state.
pub(super) struct State {
    slots: Vec<Slot>,
    /// Scratch counter per item, reset after each tier.
    count: Vec<u32>,
}

impl State {
    pub fn new(n: usize) -> State {
        State {
            slots: vec![Slot::Free; n],
            count: vec![0; n],
        }
    }

    pub fn is_free(&self, p: usize) -> bool {
        matches!(self.slots[p], Slot::Free)
    }

    /// The exceptions: every item not matched.
    pub fn exceptions(&self, books: &Books<'_>) -> Vec<ExceptionItem> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(p, s)| {
                let reason = match s {
                    Slot::Matched => return None,
                    Slot::Free => ExceptionReason::Unmatched,
                    Slot::Ambiguous(c) => {
                        let mut candidates: Vec<String> = c
                            .iter()
                            .map(|q| books.id(*q as usize).to_string())
                            .collect();
                        candidates.sort();
                        candidates.dedup();
                        ExceptionReason::Ambiguous { candidates }
                    }
                };
                Some(ExceptionItem {
                    entry_id: books.id(p).to_string(),
                    reason,
                })
            })
            .collect()
    }
}

/// Runs the tiered assignment over sorted `edges`; returns the accepted edges.
pub(super) fn run(state: &mut State, edges: &[Edge]) -> Vec<Edge> {
    let mut accepted = Vec::new();
    let mut i = 0;
    while i < edges.len() {
        let key = edges[i].rank_key();
        let mut j = i + 1;
        while j < edges.len() && edges[j].rank_key() == key {
            j += 1;
        }
        let live: Vec<&Edge> = edges[i..j]
            .iter()
            .filter(|e| e.members().all(|p| state.is_free(p as usize)))
            .collect();
        for e in &live {
            for p in e.members() {
                state.count[p as usize] += 1;
            }
        }
        let mut conflicted: Vec<&Edge> = Vec::new();
        let mut clean: Vec<&Edge> = Vec::new();
        for e in &live {
            if e.members().any(|p| state.count[p as usize] > 1) {
                conflicted.push(e);
            } else {
                clean.push(e);
            }
        }
        for e in &live {
            for p in e.members() {
                state.count[p as usize] = 0;
            }
        }
        // Clean edges share no entry with any other live edge of the tier.
        for e in clean {
            for p in e.members() {
                state.slots[p as usize] = Slot::Matched;
            }
            accepted.push(e.clone());
        }
        for e in conflicted {
            for (mine, other) in [(&e.gl, &e.sl), (&e.sl, &e.gl)] {
                for p in mine {
                    let slot = &mut state.slots[*p as usize];
                    if !matches!(slot, Slot::Ambiguous(_)) {
                        *slot = Slot::Ambiguous(BTreeSet::new());
                    }
                    if let Slot::Ambiguous(c) = slot {
                        c.extend(other.iter().copied());
                    }
                }
            }
        }
        i = j;
    }
    accepted
}

impl Edge {
    /// The public form.
    pub fn into_group(self, books: &Books<'_>) -> MatchGroup {
        let ids = |v: &[u32]| {
            let mut ids: Vec<String> = v
                .iter()
                .map(|p| books.id(*p as usize).to_string())
                .collect();
            ids.sort();
            ids
        };
        MatchGroup {
            class: self.class,
            gl: ids(&self.gl),
            sl: ids(&self.sl),
            amount_diff_base: self.diff,
            date_gap_days: self.report_gap,
            reference_distance: self.report_ref_distance,
            counterparty_similarity: self.report_similarity,
        }
    }
}

/// Which side an item is on (helper for callers building edges).
pub(super) fn split_sides(books: &Books<'_>, one: u32, many: Vec<u32>) -> (Vec<u32>, Vec<u32>) {
    if books.items[one as usize].side == Side::Gl {
        (vec![one], many)
    } else {
        (many, vec![one])
    }
}
