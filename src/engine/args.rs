//! Request arguments as an agent or operator sends them (the scenario `args:` map, the CLI's
//! flags). Parsing is strict: unknown keys, wrong types, malformed ids and oversized strings
//! are refused, and the engine records the refusal as `REQUEST_INVALID`. Identity is never an
//! argument: an `actor` key is an unknown key. No I/O.

use crate::gate::request::{Action, MatchClass};
use serde::Deserialize;

/// Longest free-text argument (rationale, note), in characters.
pub const MAX_TEXT: usize = 4096;
/// Most entry ids in one request.
pub const MAX_IDS: usize = 64;

/// `propose_match`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeArgs {
    /// Claimed class.
    pub class: String,
    /// GL entry ids.
    pub gl: Vec<String>,
    /// SL entry ids.
    pub sl: Vec<String>,
}

/// `confirm_match`, `reject_match`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchArgs {
    /// Match id.
    #[serde(rename = "match")]
    pub match_id: String,
    /// Human rationale.
    #[serde(default)]
    pub rationale: Option<String>,
}

/// `flag_exception`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagArgs {
    /// Entry ids.
    pub entries: Vec<String>,
    /// Why (free text; `AMBIGUOUS: …` from the matcher).
    #[serde(default)]
    pub note: Option<String>,
}

/// `post_adjustment`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustArgs {
    /// Entity id.
    pub entity: String,
    /// Accounts touched.
    pub accounts: Vec<String>,
    /// Decimal string in major units.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Posting date `YYYY-MM-DD`.
    pub date: String,
    /// Human rationale.
    #[serde(default)]
    pub rationale: Option<String>,
}

/// `close_period`, `reopen_period`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodArgs {
    /// Entity id.
    pub entity: String,
    /// `YYYY-MM`.
    pub period: String,
}

/// `approve_action`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveArgs {
    /// Pending request id.
    pub request: String,
    /// Human rationale.
    #[serde(default)]
    pub rationale: Option<String>,
}

/// Parsed, shape-checked arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// `propose_match`.
    Propose(ProposeArgs, MatchClass),
    /// `confirm_match`.
    Confirm(MatchArgs),
    /// `reject_match`.
    Reject(MatchArgs),
    /// `flag_exception`.
    Flag(FlagArgs),
    /// `post_adjustment`.
    Adjust(AdjustArgs),
    /// `close_period`.
    Close(PeriodArgs),
    /// `reopen_period`.
    Reopen(PeriodArgs),
    /// `approve_action`.
    Approve(ApproveArgs),
}

fn id_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn check_ids(what: &str, ids: &[String]) -> Result<(), String> {
    if ids.len() > MAX_IDS {
        return Err(format!(
            "`{what}` lists {} ids; at most {MAX_IDS}",
            ids.len()
        ));
    }
    if let Some(bad) = ids.iter().find(|i| !id_ok(i)) {
        return Err(format!("`{what}` holds a malformed id `{}`", clip(bad)));
    }
    let mut sorted: Vec<&String> = ids.iter().collect();
    sorted.sort();
    match sorted.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(format!("`{what}` lists `{}` twice", clip(w[0]))),
        None => Ok(()),
    }
}

fn check_text(what: &str, t: &Option<String>) -> Result<(), String> {
    match t {
        Some(t) if t.chars().count() > MAX_TEXT => Err(format!(
            "`{what}` has {} characters; at most {MAX_TEXT}",
            t.chars().count()
        )),
        _ => Ok(()),
    }
}

/// Shortens a user value for an error message.
pub fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

fn de<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T, String> {
    let v = if v.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        v.clone()
    };
    serde_json::from_value(v).map_err(|e| clip_msg(&e.to_string()))
}

fn clip_msg(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Parses `args` for `action`; the error says what is wrong (recorded as `REQUEST_INVALID`).
pub fn parse(action: Action, args: &serde_json::Value) -> Result<Args, String> {
    Ok(match action {
        Action::ProposeMatch => {
            let a: ProposeArgs = de(args)?;
            check_ids("gl", &a.gl)?;
            check_ids("sl", &a.sl)?;
            let class = MatchClass::parse(&a.class)
                .ok_or_else(|| format!("unknown match class `{}`", clip(&a.class)))?;
            Args::Propose(a, class)
        }
        Action::ConfirmMatch | Action::RejectMatch => {
            let a: MatchArgs = de(args)?;
            check_ids("match", std::slice::from_ref(&a.match_id))?;
            check_text("rationale", &a.rationale)?;
            if action == Action::ConfirmMatch {
                Args::Confirm(a)
            } else {
                Args::Reject(a)
            }
        }
        Action::FlagException => {
            let a: FlagArgs = de(args)?;
            check_ids("entries", &a.entries)?;
            check_text("note", &a.note)?;
            if a.entries.is_empty() {
                return Err("`entries` is empty".into());
            }
            Args::Flag(a)
        }
        Action::PostAdjustment => {
            let a: AdjustArgs = de(args)?;
            check_ids("entity", std::slice::from_ref(&a.entity))?;
            check_ids("accounts", &a.accounts)?;
            check_text("rationale", &a.rationale)?;
            Args::Adjust(a)
        }
        Action::ClosePeriod | Action::ReopenPeriod => {
            let a: PeriodArgs = de(args)?;
            check_ids("entity", std::slice::from_ref(&a.entity))?;
            if action == Action::ClosePeriod {
                Args::Close(a)
            } else {
                Args::Reopen(a)
            }
        }
        Action::ApproveAction => {
            let a: ApproveArgs = de(args)?;
            check_ids("request", std::slice::from_ref(&a.request))?;
            check_text("rationale", &a.rationale)?;
            Args::Approve(a)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_in_args_is_an_unknown_key() {
        let e = parse(
            Action::ConfirmMatch,
            &json!({"match": "M-000001", "actor": "human:cfo"}),
        )
        .unwrap_err();
        assert!(e.contains("unknown field `actor`"), "{e}");
    }

    #[test]
    fn malformed_and_oversized_arguments_are_refused() {
        assert!(parse(Action::ConfirmMatch, &json!({"match": 7})).is_err());
        assert!(parse(Action::ConfirmMatch, &json!({})).is_err());
        assert!(parse(Action::ConfirmMatch, &json!({"match": "M 1"})).is_err());
        let long = "x".repeat(MAX_TEXT + 1);
        assert!(parse(
            Action::ConfirmMatch,
            &json!({"match": "M-1", "rationale": long})
        )
        .is_err());
        let many: Vec<String> = (0..=MAX_IDS).map(|i| format!("GL-{i}")).collect();
        assert!(parse(
            Action::ProposeMatch,
            &json!({"class": "exact_match", "gl": many, "sl": []})
        )
        .is_err());
        assert!(parse(
            Action::ProposeMatch,
            &json!({"class": "best_guess", "gl": ["a"], "sl": ["b"]})
        )
        .is_err());
        assert!(parse(Action::FlagException, &json!({"entries": []})).is_err());
        assert!(parse(Action::FlagException, &json!({"entries": ["GL-1", "GL-1"]})).is_err());
    }

    #[test]
    fn well_formed_arguments_parse() {
        let a = parse(
            Action::ProposeMatch,
            &json!({"class": "fuzzy_match", "gl": ["GL-1"], "sl": ["SL-1"]}),
        )
        .unwrap();
        assert!(matches!(a, Args::Propose(_, MatchClass::FuzzyMatch)));
        let a = parse(
            Action::ApproveAction,
            &json!({"request": "R-000001", "rationale": "ok"}),
        )
        .unwrap();
        assert!(matches!(a, Args::Approve(_)));
    }
}
