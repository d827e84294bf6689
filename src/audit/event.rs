//! One audit-log event, exactly as it is hashed and stored. The field set is the contract of
//! `docs/audit-log.md`; fields may be added, never renamed. No I/O.

use crate::gate::decision::Reason;
use serde::{Deserialize, Serialize};

/// Event types (issue 3). Never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// A match was proposed.
    MatchProposed,
    /// A match was confirmed.
    MatchConfirmed,
    /// A match was rejected.
    MatchRejected,
    /// The gate escalated the request to human approval.
    ApprovalRequired,
    /// A human approval was recorded (possibly completing the request).
    ApprovalGranted,
    /// The gate denied the request.
    PolicyViolation,
    /// Entries were flagged as an exception.
    ExceptionFlagged,
    /// A manual adjustment was posted.
    AdjustmentPosted,
    /// A period was closed.
    PeriodClosed,
    /// A period was reopened.
    PeriodReopened,
    /// An outbox delivery changed state (delivered, retried, dead-lettered).
    OutboxDelivery,
    /// The recovery sweeper ran.
    SweeperRun,
}

impl EventType {
    /// Every event type, in declaration order.
    pub const ALL: [EventType; 12] = [
        EventType::MatchProposed,
        EventType::MatchConfirmed,
        EventType::MatchRejected,
        EventType::ApprovalRequired,
        EventType::ApprovalGranted,
        EventType::PolicyViolation,
        EventType::ExceptionFlagged,
        EventType::AdjustmentPosted,
        EventType::PeriodClosed,
        EventType::PeriodReopened,
        EventType::OutboxDelivery,
        EventType::SweeperRun,
    ];

    /// Parses the SCREAMING_SNAKE_CASE name.
    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The SCREAMING_SNAKE_CASE name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::MatchProposed => "MATCH_PROPOSED",
            EventType::MatchConfirmed => "MATCH_CONFIRMED",
            EventType::MatchRejected => "MATCH_REJECTED",
            EventType::ApprovalRequired => "APPROVAL_REQUIRED",
            EventType::ApprovalGranted => "APPROVAL_GRANTED",
            EventType::PolicyViolation => "POLICY_VIOLATION",
            EventType::ExceptionFlagged => "EXCEPTION_FLAGGED",
            EventType::AdjustmentPosted => "ADJUSTMENT_POSTED",
            EventType::PeriodClosed => "PERIOD_CLOSED",
            EventType::PeriodReopened => "PERIOD_REOPENED",
            EventType::OutboxDelivery => "OUTBOX_DELIVERY",
            EventType::SweeperRun => "SWEEPER_RUN",
        }
    }
}

/// What an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSubject {
    /// Match id, when the event concerns a match.
    pub match_id: Option<String>,
    /// Entry ids involved, sorted.
    pub entry_ids: Vec<String>,
    /// Pending request id, when the event concerns one.
    pub request_id: Option<String>,
}

/// The content of an event before it is chained: everything except `seq`, `prev_hash`, `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Unique id (deterministic in seeded runs).
    pub event_id: String,
    /// RFC 3339 UTC timestamp, second precision, `Z` suffix.
    pub ts: String,
    /// Actor id as given by the transport (`human:alice`).
    pub actor_id: String,
    /// `human`, `llm`, `engine`, or `invalid` when the id did not parse.
    pub actor_kind: String,
    /// Gate action name (`confirm_match`), or a system action (`outbox_deliver`).
    pub action: String,
    /// `T0`..`T3`.
    pub tier: String,
    /// `allow`, `require_approval`, `deny`.
    pub decision: String,
    /// Every rule that fired.
    pub reasons: Vec<Reason>,
    /// Event type.
    pub event_type: EventType,
    /// Subject ids.
    pub subject: EventSubject,
    /// Entity id, if any.
    pub entity: Option<String>,
    /// Accounts touched, sorted, de-duplicated.
    pub accounts: Vec<String>,
    /// Amount as a decimal string in `currency`, if any.
    pub amount: Option<String>,
    /// ISO 4217 code of `amount`.
    pub currency: Option<String>,
    /// Amount in the policy's base currency, decimal string.
    pub amount_base: Option<String>,
    /// sha256 of the policy bytes in force.
    pub policy_version: String,
    /// Rationale text, if any.
    pub rationale: Option<String>,
}

/// A chained event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// 1..n with no gaps.
    pub seq: u64,
    /// The content.
    #[serde(flatten)]
    pub body: NewEvent,
    /// Hash of the previous event (64 zeros for seq 1).
    pub prev_hash: String,
    /// `sha256(prev_hash || canonical_json(event without hash))`, lower-case hex.
    pub hash: String,
}
