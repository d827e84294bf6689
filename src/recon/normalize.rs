//! Normalisation of references and counterparties, and the reference-root link used by
//! multi-to-one groups. Pure string functions; no I/O, no money.
//!
//! - A reference is normalised by lower-casing it and keeping only alphanumeric characters
//!   (`"INV-1001"`, `"inv 1001"`, `"Inv.1001"` all become `inv1001`). Empty → missing.
//! - A counterparty is lower-cased, `.` and `'` are deleted, every other non-alphanumeric
//!   character becomes a space, and trailing legal-form tokens ([`LEGAL_SUFFIXES`]) are dropped
//!   repeatedly, never the first token (`"ACME Co., Ltd."` → `acme`). Empty → missing.

/// Legal-form words dropped from the end of a counterparty name (after normalisation).
pub const LEGAL_SUFFIXES: &[&str] = &[
    "ab",
    "ag",
    "as",
    "bv",
    "co",
    "company",
    "corp",
    "corporation",
    "gk",
    "gmbh",
    "inc",
    "incorporated",
    "kg",
    "kk",
    "limited",
    "llc",
    "llp",
    "lp",
    "ltd",
    "nv",
    "oy",
    "plc",
    "pte",
    "pty",
    "sa",
    "sarl",
    "sas",
    "spa",
    "srl",
];

/// The normalised reference, or `None` when nothing alphanumeric is left.
pub fn reference(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    (!s.is_empty()).then_some(s)
}

/// The normalised counterparty, or `None` when nothing is left.
pub fn counterparty(raw: &str) -> Option<String> {
    let mut spaced = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c == '.' || c == '\'' || c == '\u{2019}' {
            continue;
        }
        if c.is_alphanumeric() {
            spaced.extend(c.to_lowercase());
        } else {
            spaced.push(' ');
        }
    }
    let mut tokens: Vec<&str> = spaced.split_whitespace().collect();
    while tokens.len() > 1 && tokens.last().is_some_and(|t| LEGAL_SUFFIXES.contains(t)) {
        tokens.pop();
    }
    let s = tokens.join(" ");
    (!s.is_empty()).then_some(s)
}

/// Whether `part_raw` shares the reference root `one_norm` (a normalised reference): true when
/// the concatenation of the first k alphanumeric tokens of `part_raw` (k ≥ 1, up to all of
/// them) normalises to `one_norm`. `INV-1001` is the root of `INV-1001-2`, `inv1001/B` and
/// `INV-1001`, but not of `INV-10012`.
pub fn shares_root(one_norm: &str, part_raw: &str) -> bool {
    let mut built = String::with_capacity(part_raw.len());
    let mut in_token = false;
    for c in part_raw.chars() {
        if c.is_alphanumeric() {
            built.extend(c.to_lowercase());
            in_token = true;
            if built.len() > one_norm.len() && !one_norm.starts_with(built.as_str()) {
                return false;
            }
        } else if in_token {
            in_token = false;
            if built == one_norm {
                return true;
            }
        }
    }
    !built.is_empty() && built == one_norm
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn references_ignore_case_space_punctuation() {
        assert_eq!(reference("INV-1001").unwrap(), "inv1001");
        assert_eq!(reference(" inv 1001 ").unwrap(), "inv1001");
        assert_eq!(reference("Inv.10/01").unwrap(), "inv1001");
        assert_eq!(reference(" -/ "), None);
    }

    #[test]
    fn counterparties_drop_legal_suffixes() {
        assert_eq!(counterparty("ACME CORPORATION").unwrap(), "acme");
        assert_eq!(counterparty("Acme Corp.").unwrap(), "acme");
        assert_eq!(counterparty("Acme Co., Ltd.").unwrap(), "acme");
        assert_eq!(counterparty("Tanaka K.K.").unwrap(), "tanaka");
        assert_eq!(counterparty("Müller GmbH").unwrap(), "müller");
        assert_eq!(
            counterparty("Blue Sky Holdings PLC").unwrap(),
            "blue sky holdings"
        );
        // the first token is never dropped
        assert_eq!(counterparty("Corp").unwrap(), "corp");
        assert_eq!(counterparty("..."), None);
    }

    #[test]
    fn reference_roots() {
        assert!(shares_root("inv1001", "INV-1001-2"));
        assert!(shares_root("inv1001", "INV1001/B"));
        assert!(shares_root("inv1001", "INV-1001"));
        assert!(!shares_root("inv1001", "INV-10012"));
        assert!(!shares_root("inv1001", "INV-1002-1"));
        assert!(!shares_root("inv1001", ""));
    }
}
