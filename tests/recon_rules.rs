//! Rule boundaries of the matcher (docs/matching.md): tolerance equality is inside, the date
//! window is inclusive, the group-size limit, ambiguity, signs, entity/account, fx and the
//! global (not input-order greedy) assignment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use closegate_engine::gate::request::MatchClass;
use closegate_engine::ledger::{Entry, EntryRecord, Side};
use closegate_engine::recon::accuracy::seed_config;
use closegate_engine::recon::{reconcile, ExceptionReason, ReconResult};

fn ent(id: &str, amount: &str, date: &str, cp: Option<&str>, r: Option<&str>) -> Entry {
    ent_in(id, amount, "USD", date, cp, r)
}

fn ent_in(
    id: &str,
    amount: &str,
    cur: &str,
    date: &str,
    cp: Option<&str>,
    r: Option<&str>,
) -> Entry {
    Entry::try_from(EntryRecord {
        entry_id: id.to_string(),
        side: if id.starts_with("GL") {
            Side::Gl
        } else {
            Side::Sl
        },
        entity: "US-PARENT".to_string(),
        account: "1200".to_string(),
        amount: amount.to_string(),
        currency: cur.to_string(),
        date: date.parse().unwrap(),
        counterparty: cp.map(str::to_string),
        reference: r.map(str::to_string),
    })
    .unwrap()
}

fn run(entries: &[Entry]) -> ReconResult {
    reconcile(entries, &seed_config().unwrap())
}

fn classes(r: &ReconResult) -> Vec<(MatchClass, Vec<String>, Vec<String>)> {
    r.groups
        .iter()
        .map(|g| (g.class, g.gl.clone(), g.sl.clone()))
        .collect()
}

fn pair(class: MatchClass, gl: &str, sl: &str) -> (MatchClass, Vec<String>, Vec<String>) {
    (class, vec![gl.to_string()], vec![sl.to_string()])
}

#[test]
fn fuzzy_absolute_tolerance_equal_is_inside_and_one_cent_more_is_outside() {
    let gl = ent("GL-1", "1000.00", "2026-04-01", None, Some("INV-1"));
    let inside = run(&[
        gl.clone(),
        ent("SL-1", "995.00", "2026-04-01", None, Some("INV-1")),
    ]);
    assert_eq!(
        classes(&inside),
        vec![pair(MatchClass::FuzzyMatch, "GL-1", "SL-1")]
    );
    let outside = run(&[gl, ent("SL-1", "994.99", "2026-04-01", None, Some("INV-1"))]);
    assert!(outside.groups.is_empty());
    assert_eq!(outside.exceptions.len(), 2);
}

#[test]
fn fuzzy_percentage_tolerance_uses_the_gl_amount() {
    // 0.1% of 30000.00 = 30.00
    let gl = ent("GL-1", "30000.00", "2026-04-01", None, Some("W-1"));
    let inside = run(&[
        gl.clone(),
        ent("SL-1", "29970.00", "2026-04-01", None, Some("W-1")),
    ]);
    assert_eq!(inside.groups.len(), 1);
    let outside = run(&[gl, ent("SL-1", "29969.99", "2026-04-01", None, Some("W-1"))]);
    assert!(outside.groups.is_empty());
}

#[test]
fn date_window_is_inclusive() {
    let gl = ent("GL-1", "10.00", "2026-04-01", None, Some("R-1"));
    let five = run(&[
        gl.clone(),
        ent("SL-1", "10.00", "2026-04-06", None, Some("R-1")),
    ]);
    assert_eq!(
        classes(&five),
        vec![pair(MatchClass::ExactMatch, "GL-1", "SL-1")]
    );
    assert_eq!(five.groups[0].date_gap_days, 5);
    let six = run(&[gl, ent("SL-1", "10.00", "2026-04-07", None, Some("R-1"))]);
    assert!(six.groups.is_empty());
}

#[test]
fn exact_needs_references_on_both_sides() {
    let r = run(&[
        ent("GL-1", "10.00", "2026-04-01", Some("Acme Corp"), None),
        ent("SL-1", "10.00", "2026-04-01", Some("ACME"), None),
    ]);
    assert_eq!(
        classes(&r),
        vec![pair(MatchClass::FuzzyMatch, "GL-1", "SL-1")]
    );
}

#[test]
fn reference_edit_distance_two_is_inside_three_is_outside() {
    let gl = ent("GL-1", "10.00", "2026-04-01", None, Some("INV-1000"));
    let two = run(&[
        gl.clone(),
        ent("SL-1", "10.00", "2026-04-01", None, Some("INV-1000XY")),
    ]);
    assert_eq!(two.groups.len(), 1);
    assert_eq!(two.groups[0].reference_distance, Some(2));
    let three = run(&[
        gl,
        ent("SL-1", "10.00", "2026-04-01", None, Some("INV-1000XYZ")),
    ]);
    assert!(three.groups.is_empty());
}

#[test]
fn reversed_signs_never_match() {
    let r = run(&[
        ent("GL-1", "100.00", "2026-04-01", None, Some("R-1")),
        ent("SL-1", "-100.00", "2026-04-01", None, Some("R-1")),
    ]);
    assert!(r.groups.is_empty());
    let both_negative = run(&[
        ent("GL-1", "-100.00", "2026-04-01", None, Some("R-1")),
        ent("SL-1", "-100.00", "2026-04-01", None, Some("R-1")),
    ]);
    assert_eq!(both_negative.groups.len(), 1);
}

fn split(n: usize) -> Vec<Entry> {
    let parts: Vec<i64> = (0..n as i64).map(|k| 1000 + k).collect();
    let total: i64 = parts.iter().sum();
    let mut v = vec![ent(
        "GL-1",
        &format!("{total}.00"),
        "2026-04-01",
        Some("Acme"),
        Some("INV-9"),
    )];
    for (k, p) in parts.iter().enumerate() {
        v.push(ent(
            &format!("SL-{k}"),
            &format!("{p}.00"),
            "2026-04-02",
            Some("Acme Inc"),
            None,
        ));
    }
    v
}

#[test]
fn group_size_limit_is_inclusive() {
    let six = run(&split(6));
    assert_eq!(six.groups.len(), 1);
    assert_eq!(six.groups[0].class, MatchClass::MultiToOne);
    assert_eq!(six.groups[0].sl.len(), 6);
    let seven = run(&split(7));
    assert!(seven.groups.is_empty());
    assert_eq!(seven.exceptions.len(), 8);
}

#[test]
fn multi_sum_tolerance_equal_is_inside() {
    let mk = |gl: &str| {
        run(&[
            ent("GL-1", gl, "2026-04-01", Some("Acme"), None),
            ent("SL-1", "600.00", "2026-04-01", Some("Acme"), None),
            ent("SL-2", "400.00", "2026-04-01", Some("Acme"), None),
        ])
    };
    assert_eq!(mk("1001.00").groups.len(), 1);
    assert_eq!(mk("1001.00").groups[0].amount_diff_base.to_string(), "1.00");
    assert!(mk("1001.01").groups.is_empty());
}

#[test]
fn equal_candidates_are_ambiguous_with_candidate_ids() {
    let r = run(&[
        ent("GL-1", "250.00", "2026-04-01", Some("Acme"), Some("INV-1")),
        ent("SL-1", "250.00", "2026-04-02", Some("Acme"), Some("INV-1")),
        ent("SL-2", "250.00", "2026-04-02", Some("Acme"), Some("INV-1")),
    ]);
    assert!(r.groups.is_empty());
    let gl = r.exceptions.iter().find(|x| x.entry_id == "GL-1").unwrap();
    assert_eq!(
        gl.reason,
        ExceptionReason::Ambiguous {
            candidates: vec!["SL-1".to_string(), "SL-2".to_string()]
        }
    );
    let sl = r.exceptions.iter().find(|x| x.entry_id == "SL-2").unwrap();
    assert_eq!(sl.reason.code(), "AMBIGUOUS");
}

#[test]
fn two_equal_subset_sums_are_ambiguous() {
    let r = run(&[
        ent("GL-1", "1000.00", "2026-04-01", Some("Acme"), None),
        ent("SL-1", "600.00", "2026-04-01", Some("Acme"), None),
        ent("SL-2", "400.00", "2026-04-01", Some("Acme"), None),
        ent("SL-3", "250.00", "2026-04-01", Some("Acme"), None),
        ent("SL-4", "150.00", "2026-04-01", Some("Acme"), None),
    ]);
    assert!(r.groups.is_empty());
    assert!(r.exceptions.iter().all(|x| x.reason.code() == "AMBIGUOUS"));
}

#[test]
fn unmatched_entries_are_plain_exceptions() {
    let r = run(&[ent("GL-1", "1.00", "2026-04-01", None, None)]);
    assert_eq!(r.exceptions[0].reason, ExceptionReason::Unmatched);
}

#[test]
fn assignment_is_global_not_greedy_by_input_order() {
    // GL-1 comes first in the input and is a fine (fuzzy) candidate for SL-1, but SL-1 is an
    // exact match for GL-2; GL-1 still gets its own exact match SL-2.
    let entries = vec![
        ent("GL-1", "500.00", "2026-04-01", Some("Acme"), Some("INV-1")),
        ent("SL-1", "500.00", "2026-04-01", Some("Acme"), Some("INV-2")),
        ent("GL-2", "500.00", "2026-04-01", Some("Acme"), Some("INV-2")),
        ent("SL-2", "500.00", "2026-04-03", Some("Acme"), Some("INV-1")),
    ];
    let r = run(&entries);
    assert_eq!(
        classes(&r),
        vec![
            pair(MatchClass::ExactMatch, "GL-1", "SL-2"),
            pair(MatchClass::ExactMatch, "GL-2", "SL-1"),
        ]
    );
}

#[test]
fn cross_currency_uses_the_rate_in_force_on_each_date() {
    let sl = ent("SL-1", "1265.00", "2026-04-02", None, Some("UK-1"));
    // 2026-03-31: 1.2650 applies → 1265.00, a fuzzy match
    let before = run(&[
        ent_in("GL-1", "1000.00", "GBP", "2026-03-31", None, Some("UK-1")),
        sl.clone(),
    ]);
    assert_eq!(
        classes(&before),
        vec![pair(MatchClass::FuzzyMatch, "GL-1", "SL-1")]
    );
    // 2026-04-01: 1.2710 applies → 1271.00, 6.00 away
    let after = run(&[
        ent_in("GL-1", "1000.00", "GBP", "2026-04-01", None, Some("UK-1")),
        sl,
    ]);
    assert!(after.groups.is_empty());
}

#[test]
fn no_rate_means_no_comparison_but_identical_amounts_still_match_exactly() {
    let eur_fee = run(&[
        ent_in("GL-1", "1000.00", "EUR", "2026-04-01", None, Some("E-1")),
        ent_in("SL-1", "999.00", "EUR", "2026-04-01", None, Some("E-1")),
    ]);
    assert!(eur_fee.groups.is_empty());
    let eur_exact = run(&[
        ent_in("GL-1", "1000.00", "EUR", "2026-04-01", None, Some("E-1")),
        ent_in("SL-1", "1000.00", "EUR", "2026-04-01", None, Some("E-1")),
    ]);
    assert_eq!(eur_exact.groups.len(), 1);
}

#[test]
fn empty_input_gives_empty_result() {
    let r = run(&[]);
    assert!(r.groups.is_empty() && r.exceptions.is_empty());
}
