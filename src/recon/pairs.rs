//! One-to-one candidates (`exact_match`, `fuzzy_match`) found through indexes, never by
//! comparing all pairs: SL lines are indexed by (entity, account, currency, sign) sorted by
//! amount, and for cross-currency pairs by (entity, account, sign) sorted by base value; each GL
//! line range-queries its tolerance band and then checks dates and references. No I/O.

use super::assign::Edge;
use super::prep::{max_diff_minor, unit, Books, FxMap};
use super::MatchConfig;
use crate::gate::request::MatchClass;
use crate::ledger::Side;
use crate::money::Currency;
use rust_decimal::Decimal;

/// The fuzzy tolerance for a GL line whose base value is `gl_base`:
/// `max(fuzzy_amount_tolerance, |gl_base| × pct / 100)`.
/// `pct_frac` is `fuzzy_amount_tolerance_pct / 100`, computed once by the caller.
pub(super) fn pair_tolerance(
    cfg: &MatchConfig,
    pct_frac: Decimal,
    gl_base: Decimal,
) -> Option<Decimal> {
    let pct = gl_base.abs().checked_mul(pct_frac)?;
    Some(pct.max(cfg.matching.fuzzy_amount_tolerance))
}

/// Reference evidence for a fuzzy pair: `(rank, distance)`, or `None` when the references do not
/// match. Both present: equal (rank 0) or Levenshtein ≤ 2 (rank 1–2). Otherwise counterparty
/// similarity ≥ threshold (rank 3).
pub(super) fn reference_evidence(
    books: &Books<'_>,
    cfg: &MatchConfig,
    a: usize,
    b: usize,
) -> Option<(u8, Option<u32>)> {
    match (books.nref(a), books.nref(b)) {
        (Some(x), Some(y)) => {
            if x == y {
                return Some((0, Some(0)));
            }
            let d = strsim::levenshtein(x, y);
            (d <= 2).then_some((d as u8, Some(d as u32)))
        }
        _ => books
            .similar(a, b, cfg.matching.counterparty_similarity)
            .then_some((3, None)),
    }
}

fn sim_millionths(s: Option<f64>) -> u32 {
    s.map(|x| (x * 1_000_000.0).round() as u32).unwrap_or(0)
}

/// (entity, account, currency, sign, date block).
type SameKey = (u32, u32, Currency, i64, i32);
/// (entity, account, sign, date block).
type CrossKey = (u32, u32, i64, i32);

/// The date block of a day: blocks are `window + 1` days wide, so every line within the window
/// of a day lies in that day's block or a neighbouring one.
pub(super) fn block(day: i32, window: i64) -> i32 {
    day.div_euclid((window + 1).clamp(1, i64::from(i32::MAX)) as i32)
}

/// All 1:1 candidate edges.
pub(super) fn candidates(books: &Books<'_>, cfg: &MatchConfig) -> Vec<Edge> {
    let window = i64::from(cfg.matching.date_window_days);
    let window_days = i32::try_from(window).unwrap_or(i32::MAX);
    // Exact: a decimal divided by 100 only moves the decimal point.
    let pct_frac = cfg
        .matching
        .fuzzy_amount_tolerance_pct
        .checked_div(Decimal::ONE_HUNDRED)
        .unwrap_or(Decimal::ZERO);
    // SL lines by (entity, account, currency, sign, date block), sorted by amount.
    let mut same: FxMap<SameKey, Vec<(i64, u32, i32)>> = FxMap::default();
    // SL lines by (entity, account, sign, date block), sorted by base value.
    let mut cross: FxMap<CrossKey, Vec<(Decimal, u32)>> = FxMap::default();
    // Currencies present per (entity, account, sign).
    let mut currencies: FxMap<(u32, u32, i64), Vec<Currency>> = FxMap::default();
    for (p, it) in books.items.iter().enumerate() {
        if it.side != Side::Sl || it.minor == 0 {
            continue;
        }
        let sign = it.minor.signum();
        let b = block(it.day, window);
        same.entry((it.entity, it.account, it.currency, sign, b))
            .or_default()
            .push((it.minor, p as u32, it.day));
        let cs = currencies.entry((it.entity, it.account, sign)).or_default();
        if !cs.contains(&it.currency) {
            cs.push(it.currency);
        }
        if let Some(base) = it.base {
            cross
                .entry((it.entity, it.account, sign, b))
                .or_default()
                .push((base, p as u32));
        }
    }
    for v in same.values_mut() {
        v.sort_unstable();
    }
    for v in cross.values_mut() {
        v.sort_unstable();
    }

    let mut edges = Vec::new();
    // Visit GL lines grouped like the index (bucket, block, amount) so consecutive lookups hit
    // the same sorted list: the order only affects speed, edges are sorted afterwards.
    let mut gls: Vec<(u32, u32, Currency, i64, i32, i64, u32)> = books
        .items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.side == Side::Gl && it.minor != 0)
        .map(|(g, it)| {
            (
                it.entity,
                it.account,
                it.currency,
                it.minor.signum(),
                block(it.day, window),
                it.minor,
                g as u32,
            )
        })
        .collect();
    gls.sort_unstable();
    for &(.., g) in &gls {
        let g = g as usize;
        let it = &books.items[g];
        let sign = it.minor.signum();
        let tol = it.base.and_then(|b| pair_tolerance(cfg, pct_frac, b));
        let rate = cfg.rate(it.currency, it.entry.date);
        let bound = tol.map_or(0, |t| max_diff_minor(t, it.currency, rate));
        let (b_lo, b_hi) = (
            block(it.day.saturating_sub(window_days), window),
            block(it.day.saturating_add(window_days), window),
        );
        for blk in b_lo..=b_hi {
            let Some(list) = same.get(&(it.entity, it.account, it.currency, sign, blk)) else {
                continue;
            };
            let lo = it.minor.saturating_sub(bound);
            let hi = it.minor.saturating_add(bound);
            let start = list.partition_point(|(m, ..)| *m < lo);
            for &(sm, s, sday) in &list[start..] {
                if sm > hi {
                    break;
                }
                let gap = (i64::from(it.day) - i64::from(sday)).abs();
                if gap > window {
                    continue;
                }
                let sl = &books.items[s as usize];
                let diff_minor = it.minor.abs_diff(sl.minor);
                let exact = diff_minor == 0
                    && books.nref(g).is_some()
                    && books.nref(g) == books.nref(s as usize);
                let (class, ref_rank, dist) = if exact {
                    (MatchClass::ExactMatch, 0, Some(0))
                } else if let Some((r, d)) = reference_evidence(books, cfg, g, s as usize) {
                    (MatchClass::FuzzyMatch, r, d)
                } else {
                    continue;
                };
                let diff = if diff_minor == 0 {
                    Decimal::ZERO
                } else {
                    match rate.and_then(|r| {
                        Decimal::from(diff_minor)
                            .checked_mul(unit(it.currency))?
                            .checked_mul(r)
                    }) {
                        Some(d) => d,
                        None => continue,
                    }
                };
                let sim = books.similarity(g, s as usize);
                edges.push(Edge {
                    class,
                    ref_rank,
                    diff,
                    gap: gap as u32,
                    sim: sim_millionths(sim),
                    gl: vec![g as u32],
                    sl: vec![s],
                    report_gap: gap as u32,
                    report_ref_distance: dist,
                    report_similarity: sim,
                });
            }
        }
        // Cross-currency pairs: compared in the base currency, each line at its own date's rate.
        let (Some(gb), Some(tol)) = (it.base, tol) else {
            continue;
        };
        if currencies
            .get(&(it.entity, it.account, sign))
            .is_none_or(|cs| cs.iter().all(|c| *c == it.currency))
        {
            continue;
        }
        let (Some(lo), Some(hi)) = (gb.checked_sub(tol), gb.checked_add(tol)) else {
            continue;
        };
        for blk in b_lo..=b_hi {
            let Some(list) = cross.get(&(it.entity, it.account, sign, blk)) else {
                continue;
            };
            let start = list.partition_point(|(b, _)| *b < lo);
            for &(sb, s) in &list[start..] {
                if sb > hi {
                    break;
                }
                let sl = &books.items[s as usize];
                if sl.currency == it.currency {
                    continue;
                }
                let gap = (i64::from(it.day) - i64::from(sl.day)).abs();
                if gap > window {
                    continue;
                }
                let Some((ref_rank, dist)) = reference_evidence(books, cfg, g, s as usize) else {
                    continue;
                };
                let sim = books.similarity(g, s as usize);
                edges.push(Edge {
                    class: MatchClass::FuzzyMatch,
                    ref_rank,
                    diff: (gb - sb).abs(),
                    gap: gap as u32,
                    sim: sim_millionths(sim),
                    gl: vec![g as u32],
                    sl: vec![s],
                    report_gap: gap as u32,
                    report_ref_distance: dist,
                    report_similarity: sim,
                });
            }
        }
    }
    edges
}
