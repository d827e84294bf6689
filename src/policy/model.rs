//! Validated policy types: valid by construction, built only by `policy::load` after every
//! check in `policy/validate.rs` passed. No I/O.
//!
//! Thresholds are exact decimals in major units of the stated currency; money is never
//! floating point. `counterparty_similarity` is a score, not money, so it is an `f64`.

use crate::money::Currency;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A rule's human-readable clause and the RFC 6901 JSON pointer of the rule object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The exact string of the rule's `clause` key.
    pub text: String,
    /// JSON pointer to the rule object, e.g. `/always_human_accounts/0`.
    pub pointer: String,
}

/// A legal entity with its functional currency and IANA timezone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Entity id, e.g. `US-PARENT`.
    pub id: String,
    /// Functional currency.
    pub currency: Currency,
    /// IANA timezone name, e.g. `America/New_York`.
    pub timezone: String,
}

/// `materiality.entity_overrides[]`: a threshold in the entity's own currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialityOverride {
    /// Entity id (known to `entities`).
    pub entity: String,
    /// Threshold in the entity's functional currency.
    pub threshold: Decimal,
    /// The override's clause.
    pub clause: Clause,
}

/// `materiality`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Materiality {
    /// Threshold in the base currency.
    pub threshold: Decimal,
    /// The rule's clause.
    pub clause: Clause,
    /// Per-entity overrides.
    pub entity_overrides: Vec<MaterialityOverride>,
}

/// `always_human_accounts[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HumanAccount {
    /// Account number, compared exactly.
    pub account: String,
    /// Display name.
    pub name: String,
    /// The rule's clause.
    pub clause: Clause,
}

/// One entry of `strategies`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategy {
    /// Whether the engine may confirm this class without a human.
    pub auto_confirm: bool,
    /// Base-currency amount above which auto-confirm is not allowed (only with `auto_confirm`).
    pub auto_confirm_limit: Option<Decimal>,
    /// The rule's clause.
    pub clause: Clause,
}

/// `strategies`: one entry per match class that can be proposed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategies {
    /// `exact_match`.
    pub exact_match: Strategy,
    /// `fuzzy_match`.
    pub fuzzy_match: Strategy,
    /// `multi_to_one`.
    pub multi_to_one: Strategy,
}

/// `rationale`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rationale {
    /// Base-currency amount above which a human confirmation needs a rationale.
    pub required_above: Decimal,
    /// The rule's clause.
    pub clause: Clause,
}

/// `exceptions` (optional): when an open exception is escalated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceptions {
    /// Business days (Mon–Fri) after which an open exception is flagged for escalation.
    pub escalate_after_business_days: u32,
    /// The rule's clause.
    pub clause: Clause,
}

/// A closed accounting period of one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month 1..=12.
    pub month: u32,
}

impl YearMonth {
    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Option<YearMonth> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let month: u32 = m.parse().ok()?;
        (1..=12)
            .contains(&month)
            .then_some(YearMonth { year, month })
    }

    /// The period a date falls in.
    pub fn of(date: NaiveDate) -> YearMonth {
        use chrono::Datelike;
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// `closed_periods.periods[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedPeriod {
    /// Entity id.
    pub entity: String,
    /// The period.
    pub period: YearMonth,
}

/// `closed_periods`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedPeriods {
    /// The rule's clause.
    pub clause: Clause,
    /// Periods closed in the policy file itself.
    pub periods: Vec<ClosedPeriod>,
}

/// `matching`: parameters of the reconciliation matcher (see `docs/matching.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct Matching {
    /// Maximum distance in days between the dates of matched entries.
    pub date_window_days: u32,
    /// Absolute fuzzy tolerance, base currency.
    pub fuzzy_amount_tolerance: Decimal,
    /// Relative fuzzy tolerance in percent of the amount.
    pub fuzzy_amount_tolerance_pct: Decimal,
    /// Tolerance of a multi-to-one sum, base currency.
    pub multi_sum_tolerance: Decimal,
    /// Largest group on the many side of a multi-to-one match.
    pub multi_max_group: usize,
    /// Minimum counterparty similarity in [0, 1].
    pub counterparty_similarity: f64,
}

/// `fx_rates[]`: base-currency value of one unit of `currency`, from `as_of` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxRate {
    /// The foreign currency.
    pub currency: Currency,
    /// Base-currency value of one unit.
    pub rate: Decimal,
    /// First date the rate applies.
    pub as_of: NaiveDate,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Schema version (1).
    pub version: u32,
    /// Display name.
    pub name: String,
    /// Base currency of thresholds and `amount_base`.
    pub base_currency: Currency,
    /// Entities.
    pub entities: Vec<Entity>,
    /// `segregation_of_duties`.
    pub segregation_of_duties: Clause,
    /// `llm_proposals`.
    pub llm_proposals: Clause,
    /// `materiality`.
    pub materiality: Materiality,
    /// `always_human_accounts`.
    pub always_human_accounts: Vec<HumanAccount>,
    /// `strategies`.
    pub strategies: Strategies,
    /// `rationale`.
    pub rationale: Rationale,
    /// `dual_approval`.
    pub dual_approval: Clause,
    /// `closed_periods`.
    pub closed_periods: ClosedPeriods,
    /// `exceptions` (optional; absent = the sweeper's own default).
    pub exceptions: Option<Exceptions>,
    /// `matching`.
    pub matching: Matching,
    /// `fx_rates`, sorted by (currency, as_of).
    pub fx_rates: Vec<FxRate>,
    /// sha256 (lower-case hex) of the policy file's bytes: the `policy_version`.
    pub sha256: String,
    /// The policy document as JSON, for resolving reason pointers.
    pub document: serde_json::Value,
}

impl Policy {
    /// Every rule clause in file order: `segregation_of_duties`, `llm_proposals`,
    /// `materiality` and its overrides, `always_human_accounts`, `strategies`, `rationale`,
    /// `dual_approval`, `closed_periods`. Each `pointer` resolves in `document` to the rule
    /// object whose `clause` is `text`.
    pub fn clauses(&self) -> Vec<&Clause> {
        let mut v = vec![
            &self.segregation_of_duties,
            &self.llm_proposals,
            &self.materiality.clause,
        ];
        v.extend(self.materiality.entity_overrides.iter().map(|o| &o.clause));
        v.extend(self.always_human_accounts.iter().map(|a| &a.clause));
        v.extend([
            &self.strategies.exact_match.clause,
            &self.strategies.fuzzy_match.clause,
            &self.strategies.multi_to_one.clause,
            &self.rationale.clause,
            &self.dual_approval,
            &self.closed_periods.clause,
        ]);
        v.extend(self.exceptions.iter().map(|x| &x.clause));
        v
    }

    /// The entity with this id.
    pub fn entity(&self, id: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.id == id)
    }

    /// Base-currency value of `amount` (major units of `currency`) on `date`: the latest rate
    /// with `as_of <= date`. `None` when no rate applies (the caller must fail closed).
    pub fn to_base(&self, amount: Decimal, currency: Currency, date: NaiveDate) -> Option<Decimal> {
        if currency == self.base_currency {
            return Some(amount);
        }
        let rate = self
            .fx_rates
            .iter()
            .filter(|r| r.currency == currency && r.as_of <= date)
            .max_by_key(|r| r.as_of)?;
        amount.checked_mul(rate.rate)
    }

    /// Whether `entity`'s period containing `date` is closed, and by which rule.
    pub fn is_closed(&self, entity: &str, period: YearMonth) -> bool {
        self.closed_periods
            .periods
            .iter()
            .any(|p| p.entity == entity && p.period == period)
    }
}
