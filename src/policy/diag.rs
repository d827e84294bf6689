//! Policy diagnostics: a problem found in `policy.yaml`, with `file:line:col`, a severity, a
//! stable code (`P001`..), a one-line message and a one-line fix hint.
//!
//! Codes are stable: never renumbered or reused, new ones are appended. `docs/policy.md` has
//! the table; a unit test pins the list so a change there is deliberate. Rendering is plain
//! data (`Display`, `Serialize`); this module prints nothing itself.

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is. Any error makes `load` fail and `validate` exit 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy cannot be used.
    Error,
    /// The policy is usable but probably not what was meant.
    Warning,
}

impl Severity {
    /// `error` / `warning`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! diag_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $name:literal, $desc:literal; )*) => {
        /// Stable diagnostic codes. Never renumbered; new codes are appended.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum DiagCode {
            $( $(#[$doc])* $variant, )*
        }

        impl DiagCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [DiagCode] = &[ $( DiagCode::$variant, )* ];

            /// The stable code, e.g. `P012`.
            pub fn as_str(&self) -> &'static str {
                match self { $( DiagCode::$variant => $code, )* }
            }

            /// A kebab-case name, e.g. `non-positive-amount`.
            pub fn name(&self) -> &'static str {
                match self { $( DiagCode::$variant => $name, )* }
            }

            /// What the code means, one line.
            pub fn description(&self) -> &'static str {
                match self { $( DiagCode::$variant => $desc, )* }
            }
        }
    };
}

diag_codes! {
    /// The file is not valid YAML (or not UTF-8, or holds several documents).
    YamlSyntax = "P001", "yaml-syntax", "the file is not valid YAML";
    /// A value has the wrong YAML type (e.g. a sequence where a mapping is expected).
    WrongType = "P002", "wrong-type", "a value has the wrong type";
    /// A key that schema v1 does not define.
    UnknownKey = "P003", "unknown-key", "a key that schema v1 does not define";
    /// The same key twice in one mapping.
    DuplicateKey = "P004", "duplicate-key", "the same key appears twice in one mapping";
    /// A required key is absent.
    MissingKey = "P005", "missing-key", "a required key is missing";
    /// `version` is not 1.
    UnsupportedVersion = "P006", "unsupported-version", "`version` is not 1";
    /// A currency that is not an active ISO 4217 code.
    UnknownCurrency = "P007", "unknown-currency", "a currency is not an ISO 4217 code";
    /// Two entities share an id.
    DuplicateEntity = "P008", "duplicate-entity", "two entities share an id";
    /// A materiality override names an entity not in `entities`.
    OverrideUnknownEntity = "P009", "override-unknown-entity", "a materiality override names an unknown entity";
    /// A closed period names an entity not in `entities`.
    PeriodUnknownEntity = "P010", "period-unknown-entity", "a closed period names an unknown entity";
    /// A `clause` is empty or blank.
    EmptyClause = "P011", "empty-clause", "a rule's clause is empty or blank";
    /// A threshold or limit is zero or negative.
    NonPositiveAmount = "P012", "non-positive-amount", "a threshold or limit is not positive";
    /// A monetary value is not a quoted decimal string.
    NotDecimal = "P013", "not-decimal", "a monetary value is not a quoted decimal string";
    /// `auto_confirm_limit` is above the materiality threshold (warning).
    LimitAboveMateriality = "P014", "limit-above-materiality", "`auto_confirm_limit` is above the materiality threshold";
    /// `auto_confirm_limit` is set while `auto_confirm` is false (warning).
    LimitWithoutAutoConfirm = "P015", "limit-without-auto-confirm", "`auto_confirm_limit` is set but `auto_confirm` is false";
    /// A period is not `YYYY-MM`.
    BadPeriod = "P016", "bad-period", "a period is not `YYYY-MM`";
    /// An entity's currency differs from the base currency and has no fx rate.
    MissingFxRate = "P017", "missing-fx-rate", "an entity currency has no fx rate to the base currency";
    /// An fx rate is zero or negative.
    NonPositiveFxRate = "P018", "non-positive-fx-rate", "an fx rate is not positive";
    /// An fx `as_of` is not a `YYYY-MM-DD` date.
    BadDate = "P019", "bad-date", "a date is not `YYYY-MM-DD`";
    /// A `matching` parameter is outside its allowed range.
    OutOfRange = "P020", "out-of-range", "a matching parameter is outside its allowed range";
    /// The same account is listed twice in `always_human_accounts`.
    DuplicateAccount = "P021", "duplicate-account", "an always-human account is listed twice";
    /// A timezone is empty or not shaped like `Area/City` or `UTC`.
    BadTimezone = "P022", "bad-timezone", "a timezone is empty or not an IANA name";
    /// A required text value or list is empty.
    EmptyValue = "P023", "empty-value", "a required text or list is empty";
    /// Two fx rates for the same currency and `as_of`.
    DuplicateFxRate = "P024", "duplicate-fx-rate", "two fx rates share a currency and `as_of`";
    /// An fx rate for the base currency itself (ignored; warning).
    FxRateForBase = "P025", "fx-rate-for-base", "an fx rate is given for the base currency";
    /// The same closed period listed twice (warning).
    DuplicatePeriod = "P026", "duplicate-period", "a closed period is listed twice";
    /// Two materiality overrides for the same entity.
    DuplicateOverride = "P027", "duplicate-override", "two materiality overrides name the same entity";
}

impl fmt::Display for DiagCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for DiagCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file's display name, e.g. `policy.yaml` or `embedded:seed/saas/policy.yaml`.
    pub file: String,
    /// Line, 1-based (0 when unknown).
    pub line: usize,
    /// Column in characters, 1-based (0 when unknown).
    pub col: usize,
    /// Error or warning.
    pub severity: Severity,
    /// The stable code.
    pub code: DiagCode,
    /// What is wrong, one line.
    pub message: String,
    /// How to fix it, one line.
    pub hint: String,
}

impl Diagnostic {
    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `policy.yaml:14:16: error[P012]: <message>` then `  = help: <hint>` on a second line.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}[{}]: {}",
            self.file, self.line, self.col, self.severity, self.code, self.message
        )?;
        if !self.hint.is_empty() {
            write!(f, "\n  = help: {}", self.hint)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn codes_are_unique_sequential_and_stable() {
        for (i, c) in DiagCode::ALL.iter().enumerate() {
            assert_eq!(c.as_str(), format!("P{:03}", i + 1));
            assert!(!c.description().is_empty());
            assert!(!c.name().is_empty());
        }
        let names: std::collections::BTreeSet<_> = DiagCode::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), DiagCode::ALL.len());
        // Pin the list: renumbering a code is a breaking change for users' tooling.
        let list: Vec<String> = DiagCode::ALL
            .iter()
            .map(|c| format!("{} {}", c.as_str(), c.name()))
            .collect();
        insta::assert_snapshot!(list.join("\n"));
    }

    #[test]
    fn display_has_position_code_and_hint() {
        let d = Diagnostic {
            file: "policy.yaml".into(),
            line: 14,
            col: 16,
            severity: Severity::Error,
            code: DiagCode::NonPositiveAmount,
            message: "materiality.threshold must be a positive decimal, got \"-5\"".into(),
            hint: "use a decimal string above zero, e.g. \"10000.00\"".into(),
        };
        assert_eq!(
            d.to_string(),
            "policy.yaml:14:16: error[P012]: materiality.threshold must be a positive decimal, got \"-5\"\n  = help: use a decimal string above zero, e.g. \"10000.00\""
        );
        let j = serde_json::to_value(&d).unwrap();
        assert_eq!(j["code"], "P012");
        assert_eq!(j["severity"], "error");
    }
}
