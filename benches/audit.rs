//! Audit-log benchmark (harness = false; `cargo bench --bench audit`). Prints:
//! - appends/s with one event per transaction (synchronous = FULL, the default, and NORMAL);
//! - appends/s batched, 1,000 events per transaction;
//! - `audit verify` events/s over 1,000,000 events (the store's streaming verify, and the pure
//!   chain verifier alone, to separate SQLite read cost from hashing).
//!
//! Targets on the 2-core reference machine: ≥ 20,000 appends/s batched, verify ≥ 500,000
//! events/s. Sizes can be lowered with `AUDIT_BENCH_EVENTS` (default 1000000) for a quick run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use closegate_engine::audit::chain::{EventRef, Verifier};
use closegate_engine::audit::synthetic;
use closegate_engine::store::{Durability, Store, StoreError};
use std::time::Instant;

fn rate(n: u64, secs: f64) -> String {
    format!("{:>12.0}/s  ({n} in {secs:.3} s)", n as f64 / secs)
}

fn append(store: &mut Store, prefix: &str, total: u64, batch: u64) -> f64 {
    let start = Instant::now();
    let mut i = 1;
    while i <= total {
        let end = (i + batch - 1).min(total);
        store
            .transaction(|tx| {
                for k in i..=end {
                    tx.append_event(synthetic::event(prefix, k))?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        i = end + 1;
    }
    start.elapsed().as_secs_f64()
}

fn main() {
    let events: u64 = std::env::var("AUDIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    println!("audit benchmark (temp dir {})", dir.path().display());

    let mut s = Store::open(&dir.path().join("single.db")).unwrap();
    let n = 2_000;
    let t = append(&mut s, "full", n, 1);
    println!("append, 1 event/tx, synchronous=FULL   {}", rate(n, t));
    s.set_durability(Durability::Normal).unwrap();
    let t = append(&mut s, "normal", 20_000, 1);
    println!("append, 1 event/tx, synchronous=NORMAL {}", rate(20_000, t));

    let mut s = Store::open(&dir.path().join("big.db")).unwrap();
    let t = append(&mut s, "big", events, 1_000);
    println!("append, 1000 events/tx, FULL           {}", rate(events, t));

    let start = Instant::now();
    let report = s.verify(Verifier::new()).unwrap();
    let t = start.elapsed().as_secs_f64();
    assert!(report.ok && report.events == events, "{report:?}");
    println!("verify (store, streaming)              {}", rate(events, t));

    // The pure chain verifier on events already in memory (hashing + canonical JSON only).
    let mut all = Vec::with_capacity(events as usize);
    s.read(|tx| {
        tx.for_each_event(1, |e| {
            all.push(e);
            Ok::<_, StoreError>(())
        })
    })
    .unwrap();
    let refs: Vec<EventRef<'_>> = all.iter().map(EventRef::from_event).collect();
    let start = Instant::now();
    let mut v = Verifier::new();
    for r in &refs {
        v.feed(r);
    }
    let report = v.finish();
    let t = start.elapsed().as_secs_f64();
    assert!(report.ok);
    println!("verify (chain only, in memory)         {}", rate(events, t));
    let mut buf = Vec::with_capacity(4096);
    let start = Instant::now();
    let mut total = 0usize;
    for r in &refs {
        buf.clear();
        closegate_engine::audit::chain::canonical_json(r, &mut buf);
        total += buf.len();
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "  of which canonical JSON alone          {}",
        rate(events, t)
    );
    let start = Instant::now();
    for r in &refs {
        let _ = closegate_engine::audit::chain::compute_hash(r);
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "  compute_hash (JSON + sha256 + hex)     {}",
        rate(events, t)
    );
    println!(
        "  mean canonical size                    {} bytes",
        total / refs.len().max(1)
    );
    let size = std::fs::metadata(dir.path().join("big.db")).map_or(0, |m| m.len());
    println!(
        "database size for {events} events: {} MiB",
        size / (1024 * 1024)
    );
}
