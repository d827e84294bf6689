//! What the gate is asked: an actor (from the caller's authenticated transport, never from the
//! agent's payload), an action, and the facts about the subject that the caller loaded.
//! Plain data; no I/O.

use crate::ledger::Entry;
use crate::policy::model::YearMonth;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of an actor id (`human:alice`, `llm:session-1`, `engine:recon`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// A person, authenticated by the caller's transport.
    Human,
    /// An LLM agent session.
    Llm,
    /// The engine itself (matcher, auto-confirm path).
    Engine,
}

impl ActorKind {
    /// `human`, `llm` or `engine`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ActorKind::Human => "human",
            ActorKind::Llm => "llm",
            ActorKind::Engine => "engine",
        }
    }
}

/// A parsed actor id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Actor {
    /// The kind.
    pub kind: ActorKind,
    /// The name after the colon (non-empty).
    pub name: String,
}

impl Actor {
    /// Parses `kind:name`. The name is 1..=128 characters of `[A-Za-z0-9._@+-]`.
    pub fn parse(s: &str) -> Option<Actor> {
        let (k, name) = s.split_once(':')?;
        let kind = match k {
            "human" => ActorKind::Human,
            "llm" => ActorKind::Llm,
            "engine" => ActorKind::Engine,
            _ => return None,
        };
        let ok = !name.is_empty()
            && name.len() <= 128
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'+' | b'-')
            });
        ok.then(|| Actor {
            kind,
            name: name.to_string(),
        })
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.name)
    }
}

/// Every action the gate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Propose a match (T0).
    ProposeMatch,
    /// Reject a proposed match (T1).
    RejectMatch,
    /// Flag entries as an exception (T1).
    FlagException,
    /// Confirm a match (T2).
    ConfirmMatch,
    /// Post a manual adjustment (T2; T3 into a closed period).
    PostAdjustment,
    /// Close an entity's period (T3).
    ClosePeriod,
    /// Reopen an entity's period (T3).
    ReopenPeriod,
    /// Approve a pending request.
    ApproveAction,
}

impl Action {
    /// All actions, in declaration order.
    pub const ALL: [Action; 8] = [
        Action::ProposeMatch,
        Action::RejectMatch,
        Action::FlagException,
        Action::ConfirmMatch,
        Action::PostAdjustment,
        Action::ClosePeriod,
        Action::ReopenPeriod,
        Action::ApproveAction,
    ];

    /// The snake_case name used in policy scenarios and the audit log.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::ProposeMatch => "propose_match",
            Action::RejectMatch => "reject_match",
            Action::FlagException => "flag_exception",
            Action::ConfirmMatch => "confirm_match",
            Action::PostAdjustment => "post_adjustment",
            Action::ClosePeriod => "close_period",
            Action::ReopenPeriod => "reopen_period",
            Action::ApproveAction => "approve_action",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The class a match claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchClass {
    /// One GL ↔ one SL, identical amount and reference.
    ExactMatch,
    /// One GL ↔ one SL within tolerance.
    FuzzyMatch,
    /// Several lines on one side summing to one line on the other.
    MultiToOne,
}

impl MatchClass {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            MatchClass::ExactMatch => "exact_match",
            MatchClass::FuzzyMatch => "fuzzy_match",
            MatchClass::MultiToOne => "multi_to_one",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<MatchClass> {
        [
            MatchClass::ExactMatch,
            MatchClass::FuzzyMatch,
            MatchClass::MultiToOne,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// The lifecycle state of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MatchState {
    /// Proposed, awaiting confirmation.
    Proposed,
    /// Escalated: waiting for human approval(s).
    PendingApproval,
    /// Confirmed (terminal).
    Confirmed,
    /// Rejected (terminal).
    Rejected,
}

impl MatchState {
    /// `PROPOSED`, `PENDING_APPROVAL`, `CONFIRMED`, `REJECTED`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MatchState::Proposed => "PROPOSED",
            MatchState::PendingApproval => "PENDING_APPROVAL",
            MatchState::Confirmed => "CONFIRMED",
            MatchState::Rejected => "REJECTED",
        }
    }

    /// Parses the upper-case name.
    pub fn parse(s: &str) -> Option<MatchState> {
        [
            MatchState::Proposed,
            MatchState::PendingApproval,
            MatchState::Confirmed,
            MatchState::Rejected,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// A match as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchView {
    /// Match id.
    pub id: String,
    /// Claimed class.
    pub class: MatchClass,
    /// Current state.
    pub state: MatchState,
    /// Actor id of the proposer (as recorded, possibly unparseable if the store was tampered).
    pub proposer: String,
    /// The entries on both sides.
    pub entries: Vec<Entry>,
    /// Human actors who already approved this match while it was PENDING_APPROVAL.
    pub approvals: Vec<String>,
}

/// A pending T3 request waiting for approvals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingView {
    /// Request id.
    pub id: String,
    /// The action waiting to execute.
    pub action: Action,
    /// Actor id of the requester.
    pub requester: String,
    /// Actor ids that already approved, in order.
    pub approvals: Vec<String>,
    /// Whether it is still open (not executed, not cancelled).
    pub open: bool,
    /// The tier the request was raised at (T3 needs two distinct human approvals, T2 one).
    pub tier: crate::gate::decision::Tier,
    /// Entity the request concerns, for scope checks.
    pub entity: Option<String>,
}

/// A manual adjustment to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentView {
    /// Entity id.
    pub entity: String,
    /// Accounts touched.
    pub accounts: Vec<String>,
    /// Amount (minor units, signed).
    pub amount: crate::money::Money,
    /// Posting date.
    pub date: NaiveDate,
}

/// The subject of a request: what the caller loaded from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `propose_match`: the claimed class and the entries (each must be unmatched).
    Proposal {
        /// The class the proposer claims.
        class: MatchClass,
        /// The entries, as the store holds them.
        entries: Vec<Entry>,
        /// Entry ids the caller found already matched or proposed elsewhere.
        already_matched: Vec<String>,
    },
    /// `confirm_match`, `reject_match`.
    Match(MatchView),
    /// `flag_exception`.
    Entries(Vec<Entry>),
    /// `post_adjustment`.
    Adjustment(AdjustmentView),
    /// `close_period`, `reopen_period`.
    Period {
        /// Entity id.
        entity: String,
        /// Period.
        period: YearMonth,
    },
    /// `approve_action`.
    Pending(PendingView),
    /// The caller could not load the subject (unknown id): the gate denies with `STATE_INVALID`.
    Missing {
        /// What was asked for.
        what: String,
    },
}

/// A request to the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Actor id from the authenticated transport.
    pub actor: String,
    /// The action.
    pub action: Action,
    /// What the action is about.
    pub subject: Subject,
    /// Human-written rationale, if any.
    pub rationale: Option<String>,
}

/// State the gate needs beyond the request and the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Periods closed at run time (by `close_period`), in addition to the policy's own list.
    pub closed_periods: Vec<(String, YearMonth)>,
    /// Periods the policy file closes but a `reopen_period` reopened at run time.
    pub reopened_periods: Vec<(String, YearMonth)>,
    /// Entities the actor may act on, from the actor registry; `None` = unscoped.
    pub actor_scope: Option<Vec<String>>,
}
