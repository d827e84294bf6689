//! Puts the entries in a canonical order (so the result cannot depend on input order), interns
//! entities, accounts and normalised counterparties, and precomputes normalised references and
//! base-currency values. No I/O.

use super::{normalize, MatchConfig};
use crate::ledger::{Entry, Side};
use crate::money::Currency;
use chrono::Datelike;
use rust_decimal::Decimal;

/// One entry as the matcher sees it; `p` (its index in [`Books::items`]) is its canonical rank.
pub(super) struct Item<'a> {
    pub entry: &'a Entry,
    pub side: Side,
    pub entity: u32,
    pub account: u32,
    pub currency: Currency,
    /// Signed minor units.
    pub minor: i64,
    /// Days from the common era.
    pub day: i32,
    /// Amount in the base currency at the entry's own date (`None`: no rate or overflow).
    pub base: Option<Decimal>,
    /// Span of the normalised reference in [`Books::refs`].
    nref: Option<(u32, u32)>,
    /// Interned normalised counterparty.
    pub cp: Option<u32>,
}

/// The prepared book set.
pub(super) struct Books<'a> {
    pub items: Vec<Item<'a>>,
    refs: String,
    cps: Vec<String>,
    /// Per interned counterparty: length in chars and a 64-bucket character histogram, for a
    /// cheap upper bound on Jaro-Winkler (see [`Books::similar`]).
    cp_shape: Vec<(u32, [u8; 64])>,
}

fn shape(s: &str) -> (u32, [u8; 64]) {
    let mut h = [0u8; 64];
    let mut n = 0u32;
    for c in s.chars() {
        let b = &mut h[(c as u32 % 64) as usize];
        *b = b.saturating_add(1);
        n += 1;
    }
    (n, h)
}

impl<'a> Books<'a> {
    pub fn new(entries: &'a [Entry], cfg: &MatchConfig) -> Books<'a> {
        // Canonical order: by id, then by every other field (duplicated ids stay deterministic).
        // Sorted first on a 16-byte id prefix held inline (no pointer chasing), then runs with
        // an equal prefix are sorted with the full comparison.
        let full = |a: &&Entry, b: &&Entry| {
            a.entry_id
                .cmp(&b.entry_id)
                .then_with(|| {
                    (a.side, &a.entity, &a.account, a.amount.currency).cmp(&(
                        b.side,
                        &b.entity,
                        &b.account,
                        b.amount.currency,
                    ))
                })
                .then(a.amount.minor.cmp(&b.amount.minor))
                .then(a.date.cmp(&b.date))
                .then(a.counterparty.cmp(&b.counterparty))
                .then(a.reference.cmp(&b.reference))
        };
        let mut keyed: Vec<(u128, u32)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut b = [0u8; 16];
                for (d, x) in b.iter_mut().zip(e.entry_id.bytes()) {
                    *d = x;
                }
                (u128::from_be_bytes(b), i as u32)
            })
            .collect();
        keyed.sort_unstable();
        let mut order: Vec<&Entry> = keyed.iter().map(|(_, i)| &entries[*i as usize]).collect();
        let mut i = 0;
        while i < keyed.len() {
            let mut j = i + 1;
            while j < keyed.len() && keyed[j].0 == keyed[i].0 {
                j += 1;
            }
            if j - i > 1 {
                order[i..j].sort_unstable_by(full);
            }
            i = j;
        }
        let mut entity_ids: FxMap<&str, u32> = FxMap::default();
        let mut account_ids: FxMap<&str, u32> = FxMap::default();
        let mut cp_ids: FxMap<String, u32> = FxMap::default();
        let mut raw_cp: FxMap<&str, Option<u32>> = FxMap::default();
        let mut cps = Vec::new();
        let mut cp_shape = Vec::new();
        let mut refs = String::new();
        let mut items = Vec::with_capacity(order.len());
        for e in order {
            let n = entity_ids.len() as u32;
            let entity = *entity_ids.entry(e.entity.as_str()).or_insert(n);
            let n = account_ids.len() as u32;
            let account = *account_ids.entry(e.account.as_str()).or_insert(n);
            let nref = e
                .reference
                .as_deref()
                .and_then(normalize::reference)
                .map(|r| {
                    let start = refs.len() as u32;
                    refs.push_str(&r);
                    (start, r.len() as u32)
                });
            let cp = e.counterparty.as_deref().and_then(|raw| {
                *raw_cp.entry(raw).or_insert_with(|| {
                    normalize::counterparty(raw).map(|c| match cp_ids.get(&c) {
                        Some(id) => *id,
                        None => {
                            let id = cps.len() as u32;
                            cp_shape.push(shape(&c));
                            cps.push(c.clone());
                            cp_ids.insert(c, id);
                            id
                        }
                    })
                })
            });
            let base = cfg
                .rate(e.amount.currency, e.date)
                .and_then(|r| e.amount.to_decimal().checked_mul(r));
            items.push(Item {
                entry: e,
                side: e.side,
                entity,
                account,
                currency: e.amount.currency,
                minor: e.amount.minor,
                day: e.date.num_days_from_ce(),
                base,
                nref,
                cp,
            });
        }
        Books {
            items,
            refs,
            cps,
            cp_shape,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The normalised reference of item `p`.
    pub fn nref(&self, p: usize) -> Option<&str> {
        let (s, l) = self.items[p].nref?;
        self.refs.get(s as usize..(s + l) as usize)
    }

    /// Jaro-Winkler similarity of the normalised counterparties of `a` and `b` (both present).
    pub fn similarity(&self, a: usize, b: usize) -> Option<f64> {
        let (ca, cb) = (self.items[a].cp?, self.items[b].cp?);
        if ca == cb {
            return Some(1.0);
        }
        Some(strsim::jaro_winkler(
            &self.cps[ca as usize],
            &self.cps[cb as usize],
        ))
    }

    /// Whether the counterparties of `a` and `b` are both present and have a similarity of at
    /// least `threshold`. Exactly `similarity(a, b) >= threshold`, but skips the Jaro-Winkler
    /// computation when an upper bound already falls short: the matching characters m are at
    /// most the histogram intersection H, so jaro ≤ (H/|a| + H/|b| + 1)/3, and Jaro-Winkler adds
    /// at most 0.1 × (common prefix, ≤ 4) × (1 − jaro).
    pub fn similar(&self, a: usize, b: usize, threshold: f64) -> bool {
        self.similar_cp(self.items[a].cp, self.items[b].cp, threshold)
    }

    /// [`Books::similar`] on interned counterparty ids.
    pub fn similar_cp(&self, ca: Option<u32>, cb: Option<u32>, threshold: f64) -> bool {
        let (Some(ca), Some(cb)) = (ca, cb) else {
            return false;
        };
        if ca == cb {
            return 1.0 >= threshold;
        }
        let ((la, ha), (lb, hb)) = (&self.cp_shape[ca as usize], &self.cp_shape[cb as usize]);
        let h: u32 = ha.iter().zip(hb).map(|(x, y)| u32::from(*x.min(y))).sum();
        if *la > 0 && *lb > 0 {
            let (sa, sb) = (&self.cps[ca as usize], &self.cps[cb as usize]);
            let prefix = sa
                .chars()
                .zip(sb.chars())
                .take(4)
                .take_while(|(x, y)| x == y)
                .count();
            let hf = f64::from(h);
            let j = ((hf / f64::from(*la) + hf / f64::from(*lb) + 1.0) / 3.0).min(1.0);
            let bound = j + 0.1 * prefix as f64 * (1.0 - j);
            if bound < threshold - 1e-9 {
                return false;
            }
        }
        strsim::jaro_winkler(&self.cps[ca as usize], &self.cps[cb as usize]) >= threshold
    }

    /// The first 8 bytes of the normalised reference of `p`, zero-padded (0 when missing): a
    /// cache-friendly pre-check for prefixes.
    pub fn ref_prefix(&self, p: usize) -> u64 {
        self.nref(p).map_or(0, prefix8)
    }

    /// The id of item `p`.
    pub fn id(&self, p: usize) -> &str {
        &self.items[p].entry.entry_id
    }
}

/// `10^exponent` as a decimal.
pub(super) fn unit(c: Currency) -> Decimal {
    Decimal::new(1, u32::from(c.exponent()))
}

/// The largest difference in minor units of `c` whose base value (at `rate`) is ≤ `tol_base`.
/// Without a rate only a zero difference can be verified.
pub(super) fn max_diff_minor(tol_base: Decimal, c: Currency, rate: Option<Decimal>) -> i64 {
    let Some(rate) = rate.filter(|r| *r > Decimal::ZERO) else {
        return 0;
    };
    if rate == Decimal::ONE {
        // Base currency: no division needed.
        let scaled = tol_base.checked_mul(Decimal::from(10_i64.pow(u32::from(c.exponent()))));
        return scaled
            .and_then(|v| rust_decimal::prelude::ToPrimitive::to_i64(&v.floor()))
            .unwrap_or(0)
            .max(0);
    }
    let per_minor = match unit(c).checked_mul(rate) {
        Some(v) if v > Decimal::ZERO => v,
        _ => return 0,
    };
    let within = |d: i64| {
        Decimal::from(d)
            .checked_mul(per_minor)
            .is_some_and(|v| v <= tol_base)
    };
    let guess = tol_base
        .checked_div(per_minor)
        .map(|q| q.floor())
        .and_then(|q| rust_decimal::prelude::ToPrimitive::to_i64(&q))
        .unwrap_or(0)
        .max(0);
    let mut d = guess;
    while d > 0 && !within(d) {
        d -= 1;
    }
    while d < i64::MAX && within(d + 1) {
        d += 1;
    }
    d
}

/// The first 8 bytes of `s`, zero-padded, as a big-endian integer.
pub(super) fn prefix8(s: &str) -> u64 {
    let mut b = [0u8; 8];
    for (d, x) in b.iter_mut().zip(s.bytes()) {
        *d = x;
    }
    u64::from_be_bytes(b)
}

/// A small, fast, deterministic hasher (the FxHash multiply-rotate scheme) for the matcher's
/// internal indexes; keys are small integers and short strings. Not for untrusted-key maps
/// exposed elsewhere: a crafted input can only slow the matcher down, never change its result.
#[derive(Default, Clone, Copy)]
pub(super) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_i32(&mut self, i: i32) {
        self.write_u64(i as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `HashMap` with [`FxHasher`].
pub(super) type FxMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;
