//! What the gate answers: a decision, the tier, and every rule that fired, each quoting its
//! verbatim clause and JSON pointer. Plain data; no I/O.

use serde::{Deserialize, Serialize};

/// Action tiers T0–T3 (T3 = two distinct human approvers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tier {
    /// Routine, reversible (propose).
    T0,
    /// Reversible state changes (reject, flag).
    T1,
    /// Book-affecting (confirm, post adjustment).
    T2,
    /// Irreversible or period-level: two distinct human approvers.
    T3,
}

impl Tier {
    /// `T0`..`T3`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Tier::T0 => "T0",
            Tier::T1 => "T1",
            Tier::T2 => "T2",
            Tier::T3 => "T3",
        }
    }
}

/// Stable reason codes. Never renamed; new ones may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReasonCode {
    /// Engine invariant: the subject is not in a state that allows the action.
    StateInvalid,
    /// Engine invariant: the actor id is not `human:`, `llm:` or `engine:`.
    ActorInvalid,
    /// The proposer (or requester) tried to confirm or approve their own action.
    SodSameActor,
    /// An LLM actor tried to confirm or approve.
    LlmCannotApprove,
    /// The strategy does not allow engine auto-confirm (or the amount is above its limit).
    StrategyRequiresHuman,
    /// The amount is above the materiality threshold.
    MaterialityOverThreshold,
    /// An always-human account is touched.
    AccountForcedHuman,
    /// The match was proposed by an LLM.
    LlmProposalRequiresHuman,
    /// An entry's date falls in a closed period.
    PeriodClosed,
    /// A human confirmation above the rationale threshold has no rationale.
    MissingRationale,
    /// T3: two distinct human approvers are needed.
    DualApprovalRequired,
    /// The same human approved twice.
    DuplicateApprover,
    /// Engine invariant: the request's arguments are malformed, oversized or unknown.
    RequestInvalid,
    /// Engine invariant: the actor is scoped to other entities.
    EntityOutOfScope,
    /// Engine invariant: an engine actor may not approve a pending request.
    EngineCannotApprove,
    /// Engine invariant: a rule could not be evaluated (e.g. no fx rate); the gate fails closed.
    EvaluationError,
}

impl ReasonCode {
    /// Every code, in declaration order.
    pub const ALL: [ReasonCode; 16] = [
        ReasonCode::StateInvalid,
        ReasonCode::ActorInvalid,
        ReasonCode::SodSameActor,
        ReasonCode::LlmCannotApprove,
        ReasonCode::StrategyRequiresHuman,
        ReasonCode::MaterialityOverThreshold,
        ReasonCode::AccountForcedHuman,
        ReasonCode::LlmProposalRequiresHuman,
        ReasonCode::PeriodClosed,
        ReasonCode::MissingRationale,
        ReasonCode::DualApprovalRequired,
        ReasonCode::DuplicateApprover,
        ReasonCode::RequestInvalid,
        ReasonCode::EntityOutOfScope,
        ReasonCode::EngineCannotApprove,
        ReasonCode::EvaluationError,
    ];

    /// The SCREAMING_SNAKE_CASE name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReasonCode::StateInvalid => "STATE_INVALID",
            ReasonCode::ActorInvalid => "ACTOR_INVALID",
            ReasonCode::SodSameActor => "SOD_SAME_ACTOR",
            ReasonCode::LlmCannotApprove => "LLM_CANNOT_APPROVE",
            ReasonCode::StrategyRequiresHuman => "STRATEGY_REQUIRES_HUMAN",
            ReasonCode::MaterialityOverThreshold => "MATERIALITY_OVER_THRESHOLD",
            ReasonCode::AccountForcedHuman => "ACCOUNT_FORCED_HUMAN",
            ReasonCode::LlmProposalRequiresHuman => "LLM_PROPOSAL_REQUIRES_HUMAN",
            ReasonCode::PeriodClosed => "PERIOD_CLOSED",
            ReasonCode::MissingRationale => "MISSING_RATIONALE",
            ReasonCode::DualApprovalRequired => "DUAL_APPROVAL_REQUIRED",
            ReasonCode::DuplicateApprover => "DUPLICATE_APPROVER",
            ReasonCode::RequestInvalid => "REQUEST_INVALID",
            ReasonCode::EntityOutOfScope => "ENTITY_OUT_OF_SCOPE",
            ReasonCode::EngineCannotApprove => "ENGINE_CANNOT_APPROVE",
            ReasonCode::EvaluationError => "EVALUATION_ERROR",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reason {
    /// Stable code.
    pub code: ReasonCode,
    /// The verbatim `clause` of the rule (or the built-in clause of an engine invariant).
    pub clause: String,
    /// RFC 6901 pointer to the rule object in the policy; `null` for engine invariants.
    pub pointer: Option<String>,
}

/// The outcome, from most to least permissive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Outcome {
    /// Apply the state change.
    Allow,
    /// Hold it until this many more distinct human approvals arrive.
    RequireApproval {
        /// Approvals still needed (1 or 2).
        approvals_remaining: u8,
    },
    /// Refuse.
    Deny,
}

impl Outcome {
    /// `allow`, `require_approval` or `deny`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::RequireApproval { .. } => "require_approval",
            Outcome::Deny => "deny",
        }
    }
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decision {
    /// Allow, require approval, or deny.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The action's tier.
    pub tier: Tier,
    /// Every rule that fired, in evaluation order. Empty only for a plain allow.
    pub reasons: Vec<Reason>,
}
