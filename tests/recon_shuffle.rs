//! Order independence: the matcher's result is identical under 20 random shuffles (and the
//! reversal) of every accuracy case's entries, and of seeded synthetic books.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use closegate_engine::ledger::Entry;
use closegate_engine::recon::accuracy::{load_dir, seed_config};
use closegate_engine::recon::{reconcile, synth};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;

fn check_order_independent(name: &str, entries: Vec<Entry>, cases: u32) {
    let cfg = seed_config().unwrap();
    let baseline = reconcile(&entries, &cfg);
    let mut reversed = entries.clone();
    reversed.reverse();
    assert_eq!(reconcile(&reversed, &cfg), baseline, "{name}: reversed");
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&Just(entries).prop_shuffle(), |shuffled| {
            prop_assert_eq!(reconcile(&shuffled, &cfg), baseline.clone(), "{}", name);
            Ok(())
        })
        .unwrap();
}

#[test]
fn every_corpus_case_is_order_independent() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/accuracy");
    let cases = load_dir(&dir).unwrap();
    assert!(cases.len() >= 200);
    for lc in cases {
        let entries: Vec<Entry> = lc
            .case
            .entries
            .iter()
            .cloned()
            .map(|r| Entry::try_from(r).unwrap())
            .collect();
        check_order_independent(&lc.case.id, entries, 20);
    }
}

#[test]
fn synthetic_books_are_order_independent() {
    for seed in [1, 2, 3] {
        let (entries, _) = synth::books(400, seed);
        check_order_independent(&format!("synth seed {seed}"), entries, 5);
    }
}
