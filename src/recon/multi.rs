//! `multi_to_one` candidates: for each still-free line (the "one" side), the free lines of the
//! other side in the same (entity, account, currency, sign) bucket, dated within the window and
//! linked to it by counterparty similarity or a shared reference root, are searched by a bounded
//! meet-in-the-middle subset-sum for groups of 2..=`multi_max_group` lines whose sum is within
//! `multi_sum_tolerance`. Only the best-difference solutions of each line become edges; two or
//! more of them make the line AMBIGUOUS in the assignment. No I/O.

use super::assign::{split_sides, Edge, State};
use super::normalize::shares_root;
use super::pairs::block;
use super::prep::{max_diff_minor, prefix8, unit, Books, FxMap};
use super::{MatchConfig, MULTI_MAX_CANDIDATES};
use crate::gate::request::MatchClass;
use crate::ledger::Side;
use crate::money::Currency;
use rust_decimal::Decimal;

/// How many equally good solutions are kept per line (two suffice to flag AMBIGUOUS; the rest
/// only enrich the candidate list).
const KEEP_SOLUTIONS: usize = 8;

/// A free line in the multi index, with what the scan needs inline (no pointer chasing).
struct Slot {
    abs: u64,
    p: u32,
    day: i32,
    cp: Option<u32>,
    pfx: u64,
}

/// (entity, account, currency, sign, date block).
type Bucket = (u32, u32, Currency, i64, i32);

/// All multi-to-one edges among the free lines.
pub(super) fn candidates(books: &Books<'_>, cfg: &MatchConfig, state: &State) -> Vec<Edge> {
    let window = i32::try_from(cfg.matching.date_window_days).unwrap_or(i32::MAX);
    let kmax = cfg.matching.multi_max_group;
    let mut edges = Vec::new();
    if kmax < 2 {
        return edges;
    }
    for many_side in [Side::Sl, Side::Gl] {
        // Free lines of the many side by bucket and date block, sorted by absolute amount.
        let mut index: FxMap<Bucket, Vec<Slot>> = FxMap::default();
        for (p, it) in books.items.iter().enumerate() {
            if it.side == many_side && it.minor != 0 && state.is_free(p) {
                let b = block(it.day, i64::from(window));
                index
                    .entry((it.entity, it.account, it.currency, it.minor.signum(), b))
                    .or_default()
                    .push(Slot {
                        abs: it.minor.unsigned_abs(),
                        p: p as u32,
                        day: it.day,
                        cp: it.cp,
                        pfx: books.ref_prefix(p),
                    });
            }
        }
        for v in index.values_mut() {
            v.sort_unstable_by_key(|s| (s.abs, s.p));
        }
        for (o, it) in books.items.iter().enumerate() {
            if it.side == many_side || it.minor == 0 || !state.is_free(o) {
                continue;
            }
            let rate = cfg.rate(it.currency, it.entry.date);
            let tol = max_diff_minor(cfg.matching.multi_sum_tolerance, it.currency, rate);
            let target = it.minor.unsigned_abs();
            let cap = target.saturating_add(tol.unsigned_abs());
            let oref = books.nref(o);
            // Bytes of the "one" reference that a part's 8-byte prefix must repeat.
            let (opfx, omask) = oref.map_or((0, 0), |r| {
                let n = r.len().min(8) as u32;
                let mask = if n == 0 { 0 } else { u64::MAX << (64 - 8 * n) };
                (prefix8(r) & mask, mask)
            });
            let mut cands: Vec<u32> = Vec::new();
            let mut too_many = false;
            let (b_lo, b_hi) = (
                block(it.day.saturating_sub(window), i64::from(window)),
                block(it.day.saturating_add(window), i64::from(window)),
            );
            'blocks: for blk in b_lo..=b_hi {
                let key = (it.entity, it.account, it.currency, it.minor.signum(), blk);
                let Some(list) = index.get(&key) else {
                    continue;
                };
                for slot in list {
                    if slot.abs > cap {
                        break;
                    }
                    if (slot.day - it.day).abs() > window {
                        continue;
                    }
                    let p = slot.p;
                    // A root is a prefix of the part's normalised reference: check the cached
                    // prefix bytes first, then the full rule.
                    let linked =
                        books.similar_cp(it.cp, slot.cp, cfg.matching.counterparty_similarity)
                            || oref.is_some_and(|r| {
                                slot.pfx & omask == opfx
                                    && books.nref(p as usize).is_some_and(|pr| pr.starts_with(r))
                                    && books.items[p as usize]
                                        .entry
                                        .reference
                                        .as_deref()
                                        .is_some_and(|raw| shares_root(r, raw))
                            });
                    if linked {
                        if cands.len() == MULTI_MAX_CANDIDATES {
                            too_many = true;
                            break 'blocks;
                        }
                        cands.push(p);
                    }
                }
            }
            // Canonical order, whatever the index order.
            cands.sort_unstable();
            if too_many || cands.len() < 2 {
                continue;
            }
            let vals: Vec<u64> = cands
                .iter()
                .map(|p| books.items[*p as usize].minor.unsigned_abs())
                .collect();
            let Some((diff, sols)) = best_subsets(&vals, target, tol.unsigned_abs(), kmax) else {
                continue;
            };
            let diff_base = if diff == 0 {
                Decimal::ZERO
            } else {
                match rate.and_then(|r| {
                    Decimal::from(diff)
                        .checked_mul(unit(it.currency))?
                        .checked_mul(r)
                }) {
                    Some(d) => d,
                    None => continue,
                }
            };
            for sol in sols {
                let mut parts: Vec<u32> = sol.iter().map(|i| cands[*i]).collect();
                parts.sort_unstable();
                let gap = parts
                    .iter()
                    .map(|p| (books.items[*p as usize].day - it.day).unsigned_abs())
                    .max()
                    .unwrap_or(0);
                let (gl, sl) = split_sides(books, o as u32, parts);
                edges.push(Edge {
                    class: MatchClass::MultiToOne,
                    ref_rank: 0,
                    diff: diff_base,
                    gap: 0,
                    sim: 0,
                    gl,
                    sl,
                    report_gap: gap,
                    report_ref_distance: None,
                    report_similarity: None,
                });
            }
        }
    }
    edges
}

/// Meet-in-the-middle bounded subset-sum: among subsets of `vals` of size 2..=`kmax` whose sum
/// is within `tol` of `target`, returns the smallest difference and up to [`KEEP_SOLUTIONS`]
/// subsets (as sorted index lists) attaining it. `vals.len()` must be ≤ 2 × 16.
pub(super) fn best_subsets(
    vals: &[u64],
    target: u64,
    tol: u64,
    kmax: usize,
) -> Option<(u64, Vec<Vec<usize>>)> {
    if vals.len() > 32 {
        return None;
    }
    let h = vals.len() / 2;
    let half = |vs: &[u64]| -> Vec<(u128, u32, u32)> {
        let mut out = Vec::new();
        for mask in 0u32..(1u32 << vs.len()) {
            let size = mask.count_ones();
            if size as usize > kmax {
                continue;
            }
            let sum: u128 = (0..vs.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| u128::from(vs[i]))
                .sum();
            out.push((sum, size, mask));
        }
        out
    };
    let mut a = half(&vals[..h]);
    a.sort_unstable();
    let b = half(&vals[h..]);
    let (target, tol) = (u128::from(target), u128::from(tol));
    let mut best: Option<u128> = None;
    let mut sols: Vec<(u32, u32)> = Vec::new();
    for &(sb, kb, mb) in &b {
        let lo = target.saturating_sub(tol).saturating_sub(sb);
        let Some(hi) = (target + tol).checked_sub(sb) else {
            continue;
        };
        let start = a.partition_point(|x| x.0 < lo);
        for &(sa, ka, ma) in &a[start..] {
            if sa > hi {
                break;
            }
            let k = (ka + kb) as usize;
            if k < 2 || k > kmax {
                continue;
            }
            let diff = (sa + sb).abs_diff(target);
            if diff > tol {
                continue;
            }
            match best {
                Some(d) if diff > d => {}
                Some(d) if diff == d => {
                    if sols.len() < 1024 {
                        sols.push((ma, mb));
                    }
                }
                _ => {
                    best = Some(diff);
                    sols.clear();
                    sols.push((ma, mb));
                }
            }
        }
    }
    let best = best?;
    let mut lists: Vec<Vec<usize>> = sols
        .into_iter()
        .map(|(ma, mb)| {
            (0..h)
                .filter(|i| ma & (1 << i) != 0)
                .chain(
                    (0..vals.len() - h)
                        .filter(|i| mb & (1 << i) != 0)
                        .map(|i| h + i),
                )
                .collect()
        })
        .collect();
    lists.sort();
    lists.truncate(KEEP_SOLUTIONS);
    Some((u64::try_from(best).unwrap_or(u64::MAX), lists))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn finds_unique_split() {
        let (d, s) = best_subsets(&[600, 400, 250], 1000, 0, 6).unwrap();
        assert_eq!(d, 0);
        assert_eq!(s, vec![vec![0, 1]]);
    }

    #[test]
    fn reports_two_equal_solutions() {
        let (_, s) = best_subsets(&[600, 400, 250, 150], 1000, 0, 6).unwrap();
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn respects_group_limit_and_tolerance() {
        assert!(best_subsets(&[1, 1, 1], 3, 0, 2).is_none());
        assert!(best_subsets(&[1, 1, 1], 3, 0, 3).is_some());
        assert!(best_subsets(&[500, 499], 1000, 0, 6).is_none());
        assert_eq!(best_subsets(&[500, 499], 1000, 1, 6).unwrap().0, 1);
        // a single line equal to the target is not a group
        assert!(best_subsets(&[1000, 3], 1000, 0, 6).is_none());
    }

    #[test]
    fn prefers_smaller_difference() {
        let (d, s) = best_subsets(&[600, 399, 400], 1000, 100, 6).unwrap();
        assert_eq!(d, 0);
        assert_eq!(s, vec![vec![0, 2]]);
    }
}
