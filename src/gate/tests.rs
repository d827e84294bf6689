//! Gate unit tests: one per reason code, precedence, threshold equality, tiers, fail-closed,
//! and property tests (determinism; every reason's clause is the text at its pointer).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::decision::{Outcome, ReasonCode, Tier};
use super::request::*;
use super::*;
use crate::ledger::{Entry, Side};
use crate::money::{Currency, Money};
use chrono::NaiveDate;
use proptest::prelude::*;

fn policy() -> Policy {
    static SEED: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        crate::policy::load("policy.yaml", include_bytes!("../../seed/saas/policy.yaml"))
            .map(|(p, _)| p)
            .map_err(|d| format!("{d:?}"))
            .unwrap()
    })
    .clone()
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn entry(
    id: &str,
    side: Side,
    entity: &str,
    account: &str,
    amount: &str,
    ccy: &str,
    date: &str,
) -> Entry {
    let c = Currency::from_code(ccy).unwrap();
    Entry {
        entry_id: id.into(),
        side,
        entity: entity.into(),
        account: account.into(),
        amount: Money::parse(amount, c).unwrap(),
        date: d(date),
        counterparty: Some("Acme".into()),
        reference: Some("INV-1".into()),
    }
}

/// A US-PARENT USD pair on account 1200 in April (an open period).
fn pair(amount: &str) -> Vec<Entry> {
    pair_on(amount, "2026-04-10", "2026-04-11")
}

/// A US-PARENT USD pair on account 1200 with the given GL and SL dates.
fn pair_on(amount: &str, gl_date: &str, sl_date: &str) -> Vec<Entry> {
    vec![
        entry(
            "GL-1",
            Side::Gl,
            "US-PARENT",
            "1200",
            amount,
            "USD",
            gl_date,
        ),
        entry(
            "SL-1",
            Side::Sl,
            "US-PARENT",
            "1200",
            amount,
            "USD",
            sl_date,
        ),
    ]
}

fn mview(class: MatchClass, state: MatchState, proposer: &str, entries: Vec<Entry>) -> MatchView {
    MatchView {
        id: "M-1".into(),
        class,
        state,
        proposer: proposer.into(),
        entries,
        approvals: vec![],
    }
}

fn req(actor: &str, action: Action, subject: Subject) -> Request {
    Request {
        actor: actor.into(),
        action,
        subject,
        rationale: None,
    }
}

fn confirm(actor: &str, m: MatchView) -> Request {
    req(actor, Action::ConfirmMatch, Subject::Match(m))
}

fn eval(r: &Request) -> Decision {
    evaluate(r, &Context::default(), &policy())
}

fn codes(dec: &Decision) -> Vec<&'static str> {
    dec.reasons.iter().map(|r| r.code.as_str()).collect()
}

fn pending(action: Action, tier: Tier, requester: &str, approvals: &[&str]) -> PendingView {
    PendingView {
        id: "R-1".into(),
        action,
        requester: requester.into(),
        approvals: approvals.iter().map(|s| s.to_string()).collect(),
        open: true,
        tier,
        entity: Some("US-PARENT".into()),
    }
}

fn exact(proposer: &str, amount: &str) -> MatchView {
    mview(
        MatchClass::ExactMatch,
        MatchState::Proposed,
        proposer,
        pair(amount),
    )
}

// ---- one test per reason code -------------------------------------------------------------

#[test]
fn actor_invalid_stops_evaluation() {
    for bad in ["robot:x", "human:", "alice", "human:a b", "", "HUMAN:alice"] {
        let dec = eval(&confirm(bad, exact("engine:recon", "10.00")));
        assert_eq!(dec.outcome, Outcome::Deny, "{bad}");
        assert_eq!(codes(&dec), ["ACTOR_INVALID"], "{bad}");
        assert_eq!(dec.reasons[0].pointer, None);
    }
}

#[test]
fn state_invalid_for_terminal_matches_missing_subjects_and_mislabelled_classes() {
    for state in [MatchState::Confirmed, MatchState::Rejected] {
        let m = mview(MatchClass::ExactMatch, state, "engine:recon", pair("10.00"));
        let dec = eval(&confirm("human:alice", m.clone()));
        assert_eq!(codes(&dec), ["STATE_INVALID"]);
        let dec = eval(&req("human:alice", Action::RejectMatch, Subject::Match(m)));
        assert_eq!(codes(&dec), ["STATE_INVALID"]);
    }
    let dec = eval(&req(
        "human:alice",
        Action::ConfirmMatch,
        Subject::Missing {
            what: "match M-9".into(),
        },
    ));
    assert_eq!(
        (dec.outcome, codes(&dec)),
        (Outcome::Deny, vec!["STATE_INVALID"])
    );
    // An "exact" match whose amounts differ is not exact: the engine never trusts the label.
    let mut entries = pair("100.00");
    entries[1].amount.minor += 1;
    let dec = eval(&req(
        "llm:s1",
        Action::ProposeMatch,
        Subject::Proposal {
            class: MatchClass::ExactMatch,
            entries: entries.clone(),
            already_matched: vec![],
        },
    ));
    assert_eq!(codes(&dec), ["STATE_INVALID"]);
    // The same entries proposed as fuzzy are plausible.
    let dec = eval(&req(
        "llm:s1",
        Action::ProposeMatch,
        Subject::Proposal {
            class: MatchClass::FuzzyMatch,
            entries,
            already_matched: vec![],
        },
    ));
    assert_eq!(dec.outcome, Outcome::Allow);
    assert_eq!(dec.tier, Tier::T0);
}

#[test]
fn propose_refuses_entries_already_matched_and_one_sided_groups() {
    let dec = eval(&req(
        "engine:recon",
        Action::ProposeMatch,
        Subject::Proposal {
            class: MatchClass::ExactMatch,
            entries: pair("5.00"),
            already_matched: vec!["GL-1".into()],
        },
    ));
    assert_eq!(codes(&dec), ["STATE_INVALID"]);
    let gl_only = vec![
        entry(
            "GL-1",
            Side::Gl,
            "US-PARENT",
            "1200",
            "5.00",
            "USD",
            "2026-04-10",
        ),
        entry(
            "GL-2",
            Side::Gl,
            "US-PARENT",
            "1200",
            "5.00",
            "USD",
            "2026-04-10",
        ),
        entry(
            "GL-3",
            Side::Gl,
            "US-PARENT",
            "1200",
            "10.00",
            "USD",
            "2026-04-10",
        ),
    ];
    let dec = eval(&req(
        "engine:recon",
        Action::ProposeMatch,
        Subject::Proposal {
            class: MatchClass::MultiToOne,
            entries: gl_only,
            already_matched: vec![],
        },
    ));
    assert_eq!(codes(&dec), ["STATE_INVALID"]);
}

#[test]
fn sod_same_actor_and_llm_cannot_approve_both_fire() {
    let dec = eval(&confirm("llm:s1", exact("llm:s1", "10.00")));
    assert_eq!(dec.outcome, Outcome::Deny);
    assert_eq!(codes(&dec), ["SOD_SAME_ACTOR", "LLM_CANNOT_APPROVE"]);
    assert!(dec
        .reasons
        .iter()
        .all(|r| r.pointer.as_deref() == Some("/segregation_of_duties")));
    let dec = eval(&confirm("human:alice", exact("human:alice", "10.00")));
    assert_eq!(codes(&dec), ["SOD_SAME_ACTOR"]);
    let dec = eval(&confirm("llm:s2", exact("engine:recon", "10.00")));
    assert_eq!(codes(&dec), ["LLM_CANNOT_APPROVE"]);
}

#[test]
fn strategy_requires_human_for_fuzzy_and_multi_and_above_the_auto_confirm_limit() {
    for class in [MatchClass::FuzzyMatch, MatchClass::MultiToOne] {
        let m = mview(class, MatchState::Proposed, "engine:recon", pair("10.00"));
        let dec = eval(&confirm("engine:autoconfirm", m));
        assert_eq!(
            dec.outcome,
            Outcome::RequireApproval {
                approvals_remaining: 1
            }
        );
        assert_eq!(codes(&dec), ["STRATEGY_REQUIRES_HUMAN"]);
        assert_eq!(
            dec.reasons[0].pointer.as_deref(),
            Some(format!("/strategies/{}", class.as_str()).as_str())
        );
    }
}

#[test]
fn threshold_equality_is_not_above() {
    // auto_confirm_limit and materiality are both 10000.00: equal is allowed.
    let dec = eval(&confirm(
        "engine:autoconfirm",
        exact("engine:recon", "10000.00"),
    ));
    assert_eq!(dec.outcome, Outcome::Allow, "{dec:?}");
    assert!(dec.reasons.is_empty());
    let dec = eval(&confirm(
        "engine:autoconfirm",
        exact("engine:recon", "10000.01"),
    ));
    assert_eq!(
        dec.outcome,
        Outcome::RequireApproval {
            approvals_remaining: 1
        }
    );
    assert_eq!(
        codes(&dec),
        ["STRATEGY_REQUIRES_HUMAN", "MATERIALITY_OVER_THRESHOLD"]
    );
    assert_eq!(dec.reasons[1].pointer.as_deref(), Some("/materiality"));
    // Rationale threshold 1000.00: equal needs none.
    let dec = eval(&confirm("human:alice", exact("engine:recon", "1000.00")));
    assert_eq!(dec.outcome, Outcome::Allow);
    let dec = eval(&confirm("human:alice", exact("engine:recon", "1000.01")));
    assert_eq!(codes(&dec), ["MISSING_RATIONALE"]);
}

#[test]
fn jp_override_compares_in_yen() {
    let jp = |amount: &str| {
        vec![
            entry(
                "GL-1",
                Side::Gl,
                "JP-SUB",
                "1200",
                amount,
                "JPY",
                "2026-04-10",
            ),
            entry(
                "SL-1",
                Side::Sl,
                "JP-SUB",
                "1200",
                amount,
                "JPY",
                "2026-04-10",
            ),
        ]
    };
    let m = |a| {
        mview(
            MatchClass::ExactMatch,
            MatchState::Proposed,
            "engine:recon",
            jp(a),
        )
    };
    let dec = eval(&confirm("engine:autoconfirm", m("1000000")));
    assert_eq!(dec.outcome, Outcome::Allow, "{dec:?}");
    let dec = eval(&confirm("engine:autoconfirm", m("1000001")));
    assert_eq!(codes(&dec), ["MATERIALITY_OVER_THRESHOLD"]);
    assert_eq!(
        dec.reasons[0].pointer.as_deref(),
        Some("/materiality/entity_overrides/0")
    );
}

#[test]
fn cross_currency_uses_the_rate_in_force_on_the_entry_date() {
    // GBP 7,900 at 1.2650 (Jan rate) = USD 9,993.50; at 1.2710 (from April) = USD 10,040.90.
    let gb = |date: &str| {
        vec![
            entry("GL-1", Side::Gl, "UK-SUB", "1200", "7900.00", "GBP", date),
            entry("SL-1", Side::Sl, "UK-SUB", "1200", "7900.00", "GBP", date),
        ]
    };
    let m = |date| {
        mview(
            MatchClass::ExactMatch,
            MatchState::Proposed,
            "engine:recon",
            gb(date),
        )
    };
    assert_eq!(
        eval(&confirm("engine:autoconfirm", m("2026-03-31"))).outcome,
        Outcome::Allow
    );
    let dec = eval(&confirm("engine:autoconfirm", m("2026-04-01")));
    assert_eq!(
        codes(&dec),
        ["STRATEGY_REQUIRES_HUMAN", "MATERIALITY_OVER_THRESHOLD"]
    );
}

#[test]
fn account_forced_human_one_reason_per_account() {
    let mut entries = pair("50.00");
    entries[0].account = "1030".into();
    let m = mview(
        MatchClass::ExactMatch,
        MatchState::Proposed,
        "engine:recon",
        entries.clone(),
    );
    let dec = eval(&confirm("engine:autoconfirm", m));
    assert_eq!(codes(&dec), ["ACCOUNT_FORCED_HUMAN"]);
    assert_eq!(
        dec.reasons[0].pointer.as_deref(),
        Some("/always_human_accounts/0")
    );
    entries[1].account = "2400".into();
    let m = mview(
        MatchClass::ExactMatch,
        MatchState::Proposed,
        "engine:recon",
        entries,
    );
    let dec = eval(&confirm("engine:autoconfirm", m));
    assert_eq!(
        codes(&dec),
        ["ACCOUNT_FORCED_HUMAN", "ACCOUNT_FORCED_HUMAN"]
    );
    assert_eq!(
        dec.reasons[1].pointer.as_deref(),
        Some("/always_human_accounts/1")
    );
}

#[test]
fn llm_proposal_requires_human() {
    let dec = eval(&confirm("engine:autoconfirm", exact("llm:s1", "10.00")));
    assert_eq!(
        dec.outcome,
        Outcome::RequireApproval {
            approvals_remaining: 1
        }
    );
    assert_eq!(codes(&dec), ["LLM_PROPOSAL_REQUIRES_HUMAN"]);
    assert_eq!(dec.reasons[0].pointer.as_deref(), Some("/llm_proposals"));
    // A human confirmation satisfies it.
    assert_eq!(
        eval(&confirm("human:alice", exact("llm:s1", "10.00"))).outcome,
        Outcome::Allow
    );
}

#[test]
fn period_closed_needs_two_distinct_humans() {
    let march = pair_on("10.00", "2026-03-30", "2026-04-01");
    let mut m = mview(
        MatchClass::ExactMatch,
        MatchState::Proposed,
        "engine:recon",
        march,
    );
    let dec = eval(&confirm("engine:autoconfirm", m.clone()));
    assert_eq!(
        dec.outcome,
        Outcome::RequireApproval {
            approvals_remaining: 2
        }
    );
    assert_eq!(codes(&dec), ["PERIOD_CLOSED"]);
    m.state = MatchState::PendingApproval;
    // The engine cannot complete an escalation.
    let dec = eval(&confirm("engine:autoconfirm", m.clone()));
    assert_eq!(dec.outcome, Outcome::Deny);
    assert_eq!(codes(&dec)[0], "STATE_INVALID");
    let dec = eval(&confirm("human:alice", m.clone()));
    assert_eq!(
        dec.outcome,
        Outcome::RequireApproval {
            approvals_remaining: 1
        }
    );
    assert_eq!(codes(&dec), ["PERIOD_CLOSED"]);
    m.approvals.push("human:alice".into());
    let dec = eval(&confirm("human:alice", m.clone()));
    assert_eq!(
        (dec.outcome, codes(&dec)),
        (Outcome::Deny, vec!["DUPLICATE_APPROVER", "PERIOD_CLOSED"])
    );
    let dec = eval(&confirm("human:bob", m));
    assert_eq!(dec.outcome, Outcome::Allow);
}

#[test]
fn period_closed_at_run_time_counts_too() {
    let ctx = Context {
        closed_periods: vec![(
            "US-PARENT".into(),
            YearMonth {
                year: 2026,
                month: 4,
            },
        )],
        reopened_periods: vec![],
        actor_scope: None,
    };
    let dec = evaluate(
        &confirm("engine:autoconfirm", exact("engine:recon", "10.00")),
        &ctx,
        &policy(),
    );
    assert_eq!(codes(&dec), ["PERIOD_CLOSED"]);
}

#[test]
fn missing_rationale_blank_counts_as_absent() {
    let mut r = confirm("human:alice", exact("engine:recon", "5000.00"));
    r.rationale = Some("   ".into());
    assert_eq!(codes(&eval(&r)), ["MISSING_RATIONALE"]);
    r.rationale = Some("matched to remittance advice".into());
    assert_eq!(eval(&r).outcome, Outcome::Allow);
}

#[test]
fn request_invalid_for_oversized_rationale() {
    let mut r = confirm("human:alice", exact("engine:recon", "5000.00"));
    r.rationale = Some("x".repeat(MAX_RATIONALE_CHARS + 1));
    let dec = eval(&r);
    assert_eq!(
        (dec.outcome, codes(&dec)),
        (Outcome::Deny, vec!["REQUEST_INVALID"])
    );
}

#[test]
fn entity_out_of_scope() {
    let ctx = Context {
        closed_periods: vec![],
        reopened_periods: vec![],
        actor_scope: Some(vec!["UK-SUB".into()]),
    };
    let dec = evaluate(
        &confirm("human:alice", exact("engine:recon", "10.00")),
        &ctx,
        &policy(),
    );
    assert_eq!(
        (dec.outcome, codes(&dec)),
        (Outcome::Deny, vec!["ENTITY_OUT_OF_SCOPE"])
    );
    let ctx = Context {
        closed_periods: vec![],
        reopened_periods: vec![],
        actor_scope: Some(vec!["US-PARENT".into()]),
    };
    let dec = evaluate(
        &confirm("human:alice", exact("engine:recon", "10.00")),
        &ctx,
        &policy(),
    );
    assert_eq!(dec.outcome, Outcome::Allow);
}

#[test]
fn t3_dual_approval_flow() {
    let p = policy();
    let close = req(
        "human:carol",
        Action::ClosePeriod,
        Subject::Period {
            entity: "UK-SUB".into(),
            period: YearMonth {
                year: 2026,
                month: 4,
            },
        },
    );
    let dec = evaluate(&close, &Context::default(), &p);
    assert_eq!(dec.tier, Tier::T3);
    assert_eq!(
        dec.outcome,
        Outcome::RequireApproval {
            approvals_remaining: 2
        }
    );
    assert_eq!(codes(&dec), ["DUAL_APPROVAL_REQUIRED"]);
    assert_eq!(dec.reasons[0].pointer.as_deref(), Some("/dual_approval"));
    let approve = |actor: &str, approvals: &[&str]| {
        eval(&req(
            actor,
            Action::ApproveAction,
            Subject::Pending(pending(
                Action::ClosePeriod,
                Tier::T3,
                "human:carol",
                approvals,
            )),
        ))
    };
    assert_eq!(codes(&approve("human:carol", &[])), ["SOD_SAME_ACTOR"]);
    assert_eq!(approve("human:carol", &[]).outcome, Outcome::Deny);
    assert_eq!(codes(&approve("llm:s1", &[])), ["LLM_CANNOT_APPROVE"]);
    assert_eq!(
        codes(&approve("engine:autoconfirm", &[])),
        ["ENGINE_CANNOT_APPROVE"]
    );
    let first = approve("human:alice", &[]);
    assert_eq!(
        first.outcome,
        Outcome::RequireApproval {
            approvals_remaining: 1
        }
    );
    assert_eq!(first.tier, Tier::T3);
    let dup = approve("human:alice", &["human:alice"]);
    assert_eq!(dup.outcome, Outcome::Deny);
    assert!(codes(&dup).contains(&"DUPLICATE_APPROVER"));
    assert_eq!(
        approve("human:bob", &["human:alice"]).outcome,
        Outcome::Allow
    );
    // Closing an already-closed period is refused.
    let again = req(
        "human:carol",
        Action::ClosePeriod,
        Subject::Period {
            entity: "US-PARENT".into(),
            period: YearMonth {
                year: 2026,
                month: 3,
            },
        },
    );
    assert_eq!(
        evaluate(&again, &Context::default(), &p).outcome,
        Outcome::Deny
    );
    let reopen = req(
        "human:carol",
        Action::ReopenPeriod,
        Subject::Period {
            entity: "US-PARENT".into(),
            period: YearMonth {
                year: 2026,
                month: 3,
            },
        },
    );
    assert_eq!(
        evaluate(&reopen, &Context::default(), &p).outcome,
        Outcome::RequireApproval {
            approvals_remaining: 2
        }
    );
}

#[test]
fn approving_a_closed_request_is_state_invalid() {
    let mut p = pending(Action::PostAdjustment, Tier::T2, "llm:s1", &[]);
    p.open = false;
    let dec = eval(&req(
        "human:alice",
        Action::ApproveAction,
        Subject::Pending(p),
    ));
    assert_eq!(codes(&dec), ["STATE_INVALID"]);
    // A T2 request executes on its first human approval.
    let p = pending(Action::PostAdjustment, Tier::T2, "llm:s1", &[]);
    let dec = eval(&req(
        "human:alice",
        Action::ApproveAction,
        Subject::Pending(p),
    ));
    assert_eq!((dec.outcome, dec.tier), (Outcome::Allow, Tier::T2));
}

fn adjustment(amount: &str, date: &str, account: &str) -> Subject {
    Subject::Adjustment(AdjustmentView {
        entity: "US-PARENT".into(),
        accounts: vec![account.into(), "6100".into()],
        amount: Money::parse(amount, Currency::from_code("USD").unwrap()).unwrap(),
        date: d(date),
    })
}

#[test]
fn post_adjustment_tiers_and_rules() {
    let dec = eval(&req(
        "human:alice",
        Action::PostAdjustment,
        adjustment("50.00", "2026-04-02", "1200"),
    ));
    assert_eq!((dec.outcome, dec.tier), (Outcome::Allow, Tier::T2));
    let dec = eval(&req(
        "human:alice",
        Action::PostAdjustment,
        adjustment("5000.00", "2026-04-02", "1200"),
    ));
    assert_eq!(codes(&dec), ["MISSING_RATIONALE"]);
    let dec = eval(&req(
        "human:alice",
        Action::PostAdjustment,
        adjustment("50.00", "2026-03-02", "1200"),
    ));
    assert_eq!(dec.tier, Tier::T3);
    assert_eq!(
        dec.outcome,
        Outcome::RequireApproval {
            approvals_remaining: 2
        }
    );
    assert_eq!(codes(&dec), ["PERIOD_CLOSED", "DUAL_APPROVAL_REQUIRED"]);
    let dec = eval(&req(
        "llm:s1",
        Action::PostAdjustment,
        adjustment("20000.00", "2026-04-02", "1030"),
    ));
    assert_eq!(
        dec.outcome,
        Outcome::RequireApproval {
            approvals_remaining: 1
        }
    );
    assert_eq!(
        codes(&dec),
        [
            "MATERIALITY_OVER_THRESHOLD",
            "ACCOUNT_FORCED_HUMAN",
            "LLM_PROPOSAL_REQUIRES_HUMAN"
        ]
    );
    let dec = eval(&req(
        "engine:recon",
        Action::PostAdjustment,
        adjustment("20.00", "2026-04-02", "1200"),
    ));
    assert_eq!(dec.outcome, Outcome::Allow);
}

// ---- precedence and fail-closed -----------------------------------------------------------

#[test]
fn deny_beats_require_approval() {
    // A human confirming a closed-period match above the rationale threshold without one:
    // PERIOD_CLOSED escalates, MISSING_RATIONALE denies; deny wins and both are listed.
    let entries = pair_on("2000.00", "2026-03-30", "2026-03-31");
    let m = mview(
        MatchClass::ExactMatch,
        MatchState::Proposed,
        "engine:recon",
        entries,
    );
    let dec = eval(&confirm("human:alice", m));
    assert_eq!(dec.outcome, Outcome::Deny);
    assert_eq!(codes(&dec), ["MISSING_RATIONALE", "PERIOD_CLOSED"]);
}

#[test]
fn require_approval_beats_allow_and_takes_the_largest_count() {
    let mut entries = pair("20000.00");
    entries[0].date = d("2026-03-31");
    let m = mview(
        MatchClass::FuzzyMatch,
        MatchState::Proposed,
        "llm:s1",
        entries,
    );
    let dec = eval(&confirm("engine:autoconfirm", m));
    assert_eq!(
        dec.outcome,
        Outcome::RequireApproval {
            approvals_remaining: 2
        }
    );
    assert_eq!(
        codes(&dec),
        [
            "STRATEGY_REQUIRES_HUMAN",
            "MATERIALITY_OVER_THRESHOLD",
            "LLM_PROPOSAL_REQUIRES_HUMAN",
            "PERIOD_CLOSED"
        ]
    );
}

#[test]
fn fails_closed_when_a_rule_cannot_be_evaluated() {
    // No EUR rate in the policy: materiality cannot be evaluated, so the engine path denies
    // instead of auto-confirming a small-looking match.
    let eur = vec![
        entry(
            "GL-1",
            Side::Gl,
            "US-PARENT",
            "1200",
            "10.00",
            "EUR",
            "2026-04-10",
        ),
        entry(
            "SL-1",
            Side::Sl,
            "US-PARENT",
            "1200",
            "10.00",
            "EUR",
            "2026-04-10",
        ),
    ];
    let m = mview(
        MatchClass::ExactMatch,
        MatchState::Proposed,
        "engine:recon",
        eur.clone(),
    );
    let dec = eval(&confirm("engine:autoconfirm", m));
    assert_eq!(dec.outcome, Outcome::Deny);
    assert_eq!(codes(&dec), ["EVALUATION_ERROR"]);
    // A human path errors the same way: never allow on an error.
    let m = mview(
        MatchClass::ExactMatch,
        MatchState::Proposed,
        "engine:recon",
        eur,
    );
    assert_eq!(eval(&confirm("human:alice", m)).outcome, Outcome::Deny);
    // A stored proposer that does not parse is an error, not a pass.
    let dec = eval(&confirm("engine:autoconfirm", exact("garbage", "10.00")));
    assert_eq!(dec.outcome, Outcome::Deny);
    assert!(codes(&dec).contains(&"EVALUATION_ERROR"));
}

#[test]
fn tiers_per_action() {
    let p = policy();
    let ctx = Context::default();
    let t = |r: Request| tier_of(&r, &ctx, &p);
    let m = || Subject::Match(exact("engine:recon", "1.00"));
    assert_eq!(t(req("human:a", Action::ProposeMatch, m())), Tier::T0);
    assert_eq!(t(req("human:a", Action::RejectMatch, m())), Tier::T1);
    assert_eq!(
        t(req(
            "human:a",
            Action::FlagException,
            Subject::Entries(pair("1.00"))
        )),
        Tier::T1
    );
    assert_eq!(t(req("human:a", Action::ConfirmMatch, m())), Tier::T2);
    assert_eq!(
        t(req(
            "human:a",
            Action::PostAdjustment,
            adjustment("1.00", "2026-04-01", "1200")
        )),
        Tier::T2
    );
    assert_eq!(
        t(req(
            "human:a",
            Action::PostAdjustment,
            adjustment("1.00", "2026-03-01", "1200")
        )),
        Tier::T3
    );
    let period = || Subject::Period {
        entity: "UK-SUB".into(),
        period: YearMonth {
            year: 2026,
            month: 1,
        },
    };
    assert_eq!(t(req("human:a", Action::ClosePeriod, period())), Tier::T3);
    assert_eq!(t(req("human:a", Action::ReopenPeriod, period())), Tier::T3);
    let pend = Subject::Pending(pending(Action::PostAdjustment, Tier::T2, "llm:x", &[]));
    assert_eq!(t(req("human:a", Action::ApproveAction, pend)), Tier::T2);
}

#[test]
fn every_reason_code_is_reachable_in_these_tests() {
    // Guard: adding a code without a test above makes this fail.
    let src = include_str!("tests.rs");
    for code in ReasonCode::ALL {
        assert!(
            src.matches(&format!("\"{}\"", code.as_str())).count() >= 1,
            "{} untested",
            code.as_str()
        );
    }
}

// ---- properties ---------------------------------------------------------------------------

fn arb_entry(side: Side, idx: usize) -> impl Strategy<Value = Entry> {
    (
        prop::sample::select(vec![
            ("US-PARENT", "USD"),
            ("UK-SUB", "GBP"),
            ("JP-SUB", "JPY"),
            ("US-PARENT", "EUR"),
        ]),
        prop::sample::select(vec!["1200", "1030", "2400", "4000"]),
        -2_000_000_000i64..2_000_000_000i64,
        0u32..120,
    )
        .prop_map(move |((ent, ccy), acct, minor, day)| Entry {
            entry_id: format!("{}-{idx}", side.as_str()),
            side,
            entity: ent.into(),
            account: acct.into(),
            amount: Money {
                minor,
                currency: Currency::from_code(ccy).unwrap(),
            },
            date: d("2026-02-15") + chrono::Days::new(u64::from(day)),
            counterparty: None,
            reference: None,
        })
}

fn arb_request() -> impl Strategy<Value = (Request, Context)> {
    let actors = vec![
        "human:alice",
        "human:bob",
        "llm:s1",
        "engine:recon",
        "engine:autoconfirm",
        "bogus",
    ];
    (
        prop::sample::select(actors.clone()),
        prop::sample::select(actors),
        prop::collection::vec(arb_entry(Side::Gl, 1), 1..3),
        prop::collection::vec(arb_entry(Side::Sl, 2), 1..3),
        prop::sample::select(vec![
            MatchClass::ExactMatch,
            MatchClass::FuzzyMatch,
            MatchClass::MultiToOne,
        ]),
        prop::sample::select(vec![
            MatchState::Proposed,
            MatchState::PendingApproval,
            MatchState::Confirmed,
        ]),
        0usize..8,
        prop::option::of(prop::sample::select(vec!["", "ok", "reviewed"])),
        prop::option::of(prop::sample::select(vec![
            vec!["US-PARENT".to_string()],
            vec![],
        ])),
        prop::collection::vec(prop::sample::select(vec!["human:alice", "human:bob"]), 0..2),
    )
        .prop_map(
            |(actor, proposer, mut gl, sl, class, state, action, rationale, scope, approvals)| {
                gl.extend(sl);
                let m = MatchView {
                    id: "M".into(),
                    class,
                    state,
                    proposer: proposer.into(),
                    entries: gl.clone(),
                    approvals: approvals.iter().map(|s| s.to_string()).collect(),
                };
                let first = gl[0].clone();
                let subject = match action {
                    0 => Subject::Match(m),
                    1 => Subject::Proposal {
                        class,
                        entries: gl,
                        already_matched: vec![],
                    },
                    2 => Subject::Entries(gl),
                    3 => Subject::Adjustment(AdjustmentView {
                        entity: first.entity,
                        accounts: vec![first.account],
                        amount: first.amount,
                        date: first.date,
                    }),
                    4 => Subject::Period {
                        entity: first.entity,
                        period: YearMonth::of(first.date),
                    },
                    _ => Subject::Pending(PendingView {
                        id: "R".into(),
                        action: Action::ClosePeriod,
                        requester: proposer.into(),
                        approvals: approvals.iter().map(|s| s.to_string()).collect(),
                        open: state != MatchState::Confirmed,
                        tier: if action == 5 { Tier::T3 } else { Tier::T2 },
                        entity: Some("US-PARENT".into()),
                    }),
                };
                let act = match action {
                    0 => Action::ConfirmMatch,
                    1 => Action::ProposeMatch,
                    2 => Action::FlagException,
                    3 => Action::PostAdjustment,
                    4 => Action::ClosePeriod,
                    _ => Action::ApproveAction,
                };
                let req = Request {
                    actor: actor.into(),
                    action: act,
                    subject,
                    rationale: rationale.map(String::from),
                };
                (
                    req,
                    Context {
                        closed_periods: vec![],
                        reopened_periods: vec![],
                        actor_scope: scope,
                    },
                )
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn identical_inputs_give_identical_decisions((r, ctx) in arb_request()) {
        let p = policy();
        let a = evaluate(&r, &ctx, &p);
        let b = evaluate(&r.clone(), &ctx.clone(), &p.clone());
        prop_assert_eq!(&a, &b);
    }

    #[test]
    fn every_reason_quotes_the_clause_at_its_pointer((r, ctx) in arb_request()) {
        let p = policy();
        let dec = evaluate(&r, &ctx, &p);
        if dec.outcome != Outcome::Allow {
            prop_assert!(!dec.reasons.is_empty());
        }
        for reason in &dec.reasons {
            match &reason.pointer {
                Some(ptr) => {
                    let at = p.document.pointer(ptr).and_then(|v| v.get("clause")).and_then(|v| v.as_str());
                    prop_assert_eq!(at, Some(reason.clause.as_str()), "pointer {}", ptr);
                }
                None => prop_assert_eq!(reason.clause.as_str(), builtin_clause(reason.code)),
            }
        }
    }

    #[test]
    fn an_error_never_allows((r, ctx) in arb_request()) {
        let dec = evaluate(&r, &ctx, &policy());
        if dec.reasons.iter().any(|x| x.code == ReasonCode::EvaluationError || x.code == ReasonCode::ActorInvalid) {
            prop_assert_eq!(dec.outcome, Outcome::Deny);
        }
    }
}

#[test]
fn a_reopened_policy_period_is_open() {
    let march = pair_on("10.00", "2026-03-30", "2026-03-31");
    let m = mview(
        MatchClass::ExactMatch,
        MatchState::Proposed,
        "engine:recon",
        march,
    );
    let ctx = Context {
        closed_periods: vec![],
        reopened_periods: vec![(
            "US-PARENT".into(),
            YearMonth {
                year: 2026,
                month: 3,
            },
        )],
        actor_scope: None,
    };
    let dec = evaluate(&confirm("engine:autoconfirm", m), &ctx, &policy());
    assert_eq!(dec.outcome, Outcome::Allow, "{dec:?}");
}
