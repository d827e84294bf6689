//! Seeded synthetic GL/SL books for the benchmark: deterministic from a seed (splitmix64, no
//! `rand` dependency), with a known mix of exact pairs, fuzzy pairs (netted fees, reference
//! typos, missing references), multi-to-one splits and unmatched noise. Pure; no I/O.

use crate::ledger::{Entry, Side};
use crate::money::{Currency, Money};
use chrono::NaiveDate;

/// splitmix64: a tiny, well-known 64-bit generator; good enough for test data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; slight modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// What a synthetic book set holds, by construction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthStats {
    /// GL lines generated.
    pub gl: usize,
    /// SL lines generated.
    pub sl: usize,
    /// Planted exact pairs.
    pub exact: usize,
    /// Planted fuzzy pairs.
    pub fuzzy: usize,
    /// Planted splits (one GL, several SL).
    pub multi: usize,
}

/// Generates about `n_gl` GL lines and `n_gl` SL lines (USD, entity `US-PARENT`, one year of
/// dates) from `seed`. Deterministic.
///
/// The books grow like a growing business: 12 accounts and 5,000 customers per 10,000 GL lines,
/// so the number of lines per account and day (the matcher's candidate density) stays the same
/// at every size and the benchmark measures the cost of more books, not of denser ones.
pub fn books(n_gl: usize, seed: u64) -> (Vec<Entry>, SynthStats) {
    let mut rng = SplitMix64::new(seed);
    let mut stats = SynthStats::default();
    let (Some(usd), Some(start)) = (
        Currency::from_code("USD"),
        NaiveDate::from_ymd_opt(2026, 1, 1),
    ) else {
        return (Vec::new(), stats);
    };
    let scale = (n_gl / 10_000).max(1);
    let accounts: Vec<String> = (0..12 * scale)
        .map(|i| format!("{}", 1100 + i * 10))
        .collect();
    let customers = 5000 * scale as u64;
    let mut out = Vec::with_capacity(n_gl * 2 + n_gl / 10);
    let mut sl_n = 0usize;
    let mk =
        |id: String, side, account: &str, minor: i64, day: u64, cp: String, r: Option<String>| {
            Entry {
                entry_id: id,
                side,
                entity: "US-PARENT".to_string(),
                account: account.to_string(),
                amount: Money {
                    minor,
                    currency: usd,
                },
                date: start + chrono::Days::new(day),
                counterparty: Some(cp),
                reference: r,
            }
        };
    let mut gl_n = 0usize;
    while gl_n < n_gl {
        let account = &accounts[rng.below(accounts.len() as u64) as usize];
        let day = rng.below(365);
        let cust = rng.below(customers);
        let cp = customer_name(cust, false);
        // amounts: 10.00 .. ~100000.00, log-ish spread
        let minor = (1000 + rng.below(100) * rng.below(100_000) + rng.below(100_000)) as i64;
        let reference = format!("INV-{:07}", gl_n);
        let gl_id = format!("GL-{gl_n:07}");
        gl_n += 1;
        let kind = rng.below(100);
        let sday = day + rng.below(4);
        out.push(mk(
            gl_id,
            Side::Gl,
            account,
            minor,
            day,
            cp.clone(),
            Some(reference.clone()),
        ));
        let mut sl = |minor: i64, cp: String, r: Option<String>, out: &mut Vec<Entry>| {
            out.push(mk(
                format!("SL-{sl_n:07}"),
                Side::Sl,
                account,
                minor,
                sday,
                cp,
                r,
            ));
            sl_n += 1;
        };
        if kind < 75 {
            stats.exact += 1;
            sl(
                minor,
                cp.to_uppercase(),
                Some(reference.to_lowercase()),
                &mut out,
            );
        } else if kind < 87 {
            stats.fuzzy += 1;
            match kind % 3 {
                0 => sl(
                    minor - (rng.below(500) as i64).min(minor / 2),
                    cp,
                    Some(reference),
                    &mut out,
                ),
                1 => sl(minor, cp, Some(format!("{reference}X")), &mut out),
                _ => sl(minor, customer_name(cust, true), None, &mut out),
            }
        } else if kind < 92 {
            stats.multi += 1;
            let parts = 2 + rng.below(3) as i64;
            let mut left = minor;
            for i in 0..parts {
                let v = if i == parts - 1 {
                    left
                } else {
                    (left / (parts - i)).max(1)
                };
                left -= v;
                sl(v, cp.clone(), Some(format!("{reference}-{i}")), &mut out);
            }
        } else if kind < 96 {
            // GL without counterpart
        } else {
            let other = rng.below(customers);
            sl(
                minor / 3 + 7,
                format!("Vendor {other:05} GmbH"),
                Some(format!("PAY-{}", rng.next_u64() % 1_000_000_000)),
                &mut out,
            );
        }
    }
    stats.gl = gl_n;
    stats.sl = sl_n;
    (out, stats)
}

const SYLLABLES: [&str; 32] = [
    "ka", "lo", "mir", "zen", "tor", "vex", "qua", "bri", "sol", "dun", "fe", "gar", "hol", "ix",
    "jor", "lum", "nav", "ost", "pra", "rud", "sy", "tal", "um", "vol", "wex", "yar", "zo", "cre",
    "dra", "elm", "fin", "gho",
];
const SUFFIXES: [&str; 6] = ["Inc", "LLC", "Ltd", "GmbH", "Corp", "PLC"];

/// A deterministic company name for customer `c` (three syllables, a second word, a legal
/// suffix); `shouted` gives the bank's upper-case spelling with another legal suffix.
pub fn customer_name(c: u64, shouted: bool) -> String {
    let mut r = SplitMix64::new(c.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut word = |n: usize| -> String {
        let mut w: String = (0..n)
            .map(|_| SYLLABLES[r.below(SYLLABLES.len() as u64) as usize])
            .collect();
        if let Some(f) = w.get(0..1) {
            w = f.to_uppercase() + w.get(1..).unwrap_or("");
        }
        w
    };
    let first = word(3);
    let second = word(2);
    let suffix = SUFFIXES[(c % SUFFIXES.len() as u64) as usize];
    let name = format!("{first} {second} {suffix}");
    if shouted {
        format!(
            "{} {}",
            format!("{first} {second}").to_uppercase(),
            SUFFIXES[((c + 1) % 6) as usize].to_uppercase()
        )
    } else {
        name
    }
}
