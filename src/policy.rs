//! `policy.yaml` schema v1: loading, validation with `file:line:col` diagnostics, and the
//! validated model the gate evaluates.
//!
//! [`load`] is the only way to get a [`model::Policy`]: it parses the bytes (`raw`), checks
//! them against schema v1 (`validate`) and returns either the policy with its warnings or
//! every diagnostic found. It never panics on any input and does no I/O: callers read the file
//! (see `cmd::resolve_policy`). `docs/policy.md` documents the schema and the codes.

pub mod diag;
pub mod model;
pub mod raw;
mod validate;

pub use diag::{DiagCode, Diagnostic, Severity};

use sha2::{Digest, Sha256};

/// Parses and validates a policy file. `file_name` is only used in diagnostics.
///
/// `Ok((policy, warnings))` when there is no error; `Err(diagnostics)` otherwise (all of them,
/// errors and warnings, sorted by position, at least one an error).
pub fn load(
    file_name: &str,
    src: &[u8],
) -> Result<(model::Policy, Vec<Diagnostic>), Vec<Diagnostic>> {
    let root = match raw::parse(src) {
        Ok(root) => root,
        Err(e) => {
            let message = if e.message.starts_with("multiple YAML documents") {
                "the file holds more than one YAML document".to_string()
            } else {
                format!("invalid YAML: {}", e.message)
            };
            return Err(vec![Diagnostic {
                file: file_name.to_string(),
                line: e.pos.line,
                col: e.pos.col,
                severity: Severity::Error,
                code: DiagCode::YamlSyntax,
                message,
                hint:
                    "fix the YAML syntax at this position (check indentation, quotes and brackets)"
                        .to_string(),
            }]);
        }
    };
    validate::validate(file_name, src, &root, sha256_hex(src))
}

/// Lower-case hex sha256 of `bytes`: the `policy_version` of a policy file.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    const SEED: &[u8] = include_bytes!("../seed/saas/policy.yaml");

    fn ok(src: &[u8]) -> (model::Policy, Vec<Diagnostic>) {
        match load("policy.yaml", src) {
            Ok(x) => x,
            Err(d) => panic!(
                "{}",
                d.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }

    #[test]
    fn seed_policy_loads_without_diagnostics() {
        let (p, warnings) = ok(SEED);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(p.version, 1);
        assert_eq!(p.base_currency.code(), "USD");
        assert_eq!(p.entities.len(), 3);
        assert_eq!(
            p.materiality.threshold,
            rust_decimal::Decimal::new(1_000_000, 2)
        );
        assert_eq!(p.materiality.entity_overrides[0].entity, "JP-SUB");
        assert_eq!(p.always_human_accounts[1].account, "2400");
        assert_eq!(
            p.strategies.exact_match.auto_confirm_limit,
            Some(rust_decimal::Decimal::new(1_000_000, 2))
        );
        assert!(!p.strategies.fuzzy_match.auto_confirm);
        assert_eq!(p.closed_periods.periods[0].period.to_string(), "2026-03");
        assert_eq!(p.matching.multi_max_group, 6);
        assert_eq!(p.fx_rates.len(), 3);
    }

    #[test]
    fn sha256_is_lower_hex_of_the_exact_bytes() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let (p, _) = ok(SEED);
        assert_eq!(p.sha256, sha256_hex(SEED));
        // A comment changes the bytes, so the policy_version changes too.
        let mut edited = SEED.to_vec();
        edited.extend_from_slice(b"# trailing comment\n");
        assert_ne!(ok(&edited).0.sha256, p.sha256);
    }

    #[test]
    fn every_clause_pointer_resolves_to_its_rule_object() {
        // Two overrides and three accounts, so indices other than 0 are exercised.
        let src = String::from_utf8(SEED.to_vec()).unwrap().replace(
            "    - { entity: JP-SUB,",
            "    - { entity: UK-SUB, threshold: \"8000.00\", clause: \"UK override.\" }\n    - { entity: JP-SUB,",
        ).replace(
            "always_human_accounts:\n",
            "always_human_accounts:\n  - { account: \"9999\", name: \"Suspense\", clause: \"Suspense is human-only.\" }\n",
        );
        let (p, _) = ok(src.as_bytes());
        let clauses = p.clauses();
        assert_eq!(clauses.len(), 15);
        let pointers: Vec<&str> = clauses.iter().map(|c| c.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/segregation_of_duties",
                "/llm_proposals",
                "/materiality",
                "/materiality/entity_overrides/0",
                "/materiality/entity_overrides/1",
                "/always_human_accounts/0",
                "/always_human_accounts/1",
                "/always_human_accounts/2",
                "/strategies/exact_match",
                "/strategies/fuzzy_match",
                "/strategies/multi_to_one",
                "/rationale",
                "/dual_approval",
                "/closed_periods",
                "/exceptions",
            ]
        );
        for c in clauses {
            let obj = p
                .document
                .pointer(&c.pointer)
                .unwrap_or_else(|| panic!("{}", c.pointer));
            assert!(obj.is_object(), "{}", c.pointer);
            assert_eq!(
                obj["clause"].as_str(),
                Some(c.text.as_str()),
                "{}",
                c.pointer
            );
        }
        assert_eq!(
            p.materiality.entity_overrides[1].clause.text,
            p.document["materiality"]["entity_overrides"][1]["clause"]
        );
        assert_eq!(p.always_human_accounts[0].account, "9999");
    }

    #[test]
    fn fx_rates_are_sorted_by_currency_then_date() {
        let src = String::from_utf8(SEED.to_vec()).unwrap().replace(
            "fx_rates:\n",
            "fx_rates:\n  - { currency: JPY, rate: \"0.0070\", as_of: \"2026-06-01\" }\n  - { currency: EUR, rate: \"1.0800\", as_of: \"2026-01-01\" }\n  - { currency: GBP, rate: \"1.2500\", as_of: \"2025-07-01\" }\n",
        );
        let (p, _) = ok(src.as_bytes());
        let got: Vec<String> = p
            .fx_rates
            .iter()
            .map(|r| format!("{} {} {}", r.currency, r.as_of, r.rate))
            .collect();
        assert_eq!(
            got,
            [
                "EUR 2026-01-01 1.0800",
                "GBP 2025-07-01 1.2500",
                "GBP 2026-01-01 1.2650",
                "GBP 2026-04-01 1.2710",
                "JPY 2026-01-01 0.0067",
                "JPY 2026-06-01 0.0070",
            ]
        );
        // The document keeps the file's order: pointers index the file, not the sorted list.
        assert_eq!(p.document["fx_rates"][0]["currency"], "JPY");
    }

    #[test]
    fn warnings_do_not_fail_the_load() {
        let src = String::from_utf8(SEED.to_vec()).unwrap().replace(
            "fuzzy_match:  { auto_confirm: false,",
            "fuzzy_match:  { auto_confirm: false, auto_confirm_limit: \"5.00\",",
        );
        let (p, warnings) = ok(src.as_bytes());
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].code, DiagCode::LimitWithoutAutoConfirm);
        assert_eq!(warnings[0].severity, Severity::Warning);
        assert_eq!((warnings[0].line, warnings[0].col), (24, 60));
        assert!(!p.strategies.fuzzy_match.auto_confirm);
    }

    #[test]
    fn misspelled_key_is_reported_once_not_also_as_missing() {
        let src = String::from_utf8(SEED.to_vec())
            .unwrap()
            .replace("  required_above:", "  requried_above:");
        let d = load("p.yaml", src.as_bytes()).unwrap_err();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, DiagCode::UnknownKey);
        assert!(
            d[0].hint.starts_with("did you mean `required_above`?"),
            "{}",
            d[0].hint
        );
    }

    #[test]
    fn control_characters_in_user_values_are_escaped() {
        let src = String::from_utf8(SEED.to_vec()).unwrap().replace(
            "base_currency: USD\n",
            "base_currency: USD\n\"evil\\e[31m\\nkey\": 1\n",
        );
        let d = load("p.yaml", src.as_bytes()).unwrap_err();
        assert_eq!(d[0].code, DiagCode::UnknownKey);
        assert!(
            d[0].message.contains("evil\\u{1b}[31m\\nkey"),
            "{}",
            d[0].message
        );
        check_contract(src.as_bytes());
    }

    #[test]
    fn empty_and_non_mapping_files_are_errors() {
        for (src, code) in [
            (&b""[..], DiagCode::WrongType),
            (b"# only a comment\n", DiagCode::WrongType),
            (b"- a\n- b\n", DiagCode::WrongType),
            (b"just text", DiagCode::WrongType),
            (b"a: [\n", DiagCode::YamlSyntax),
            (b"---\na: 1\n---\nb: 2\n", DiagCode::YamlSyntax),
        ] {
            let d = load("p.yaml", src).unwrap_err();
            assert_eq!(d[0].code, code, "{:?}: {d:?}", String::from_utf8_lossy(src));
            assert!(d[0].line >= 1 && d[0].col >= 1, "{d:?}");
        }
    }

    fn check_contract(src: &[u8]) {
        match load("fuzz.yaml", src) {
            Ok((p, warnings)) => {
                assert!(warnings.iter().all(|w| w.severity == Severity::Warning));
                for c in p.clauses() {
                    assert_eq!(
                        p.document
                            .pointer(&c.pointer)
                            .and_then(|o| o.get("clause"))
                            .and_then(|v| v.as_str()),
                        Some(c.text.as_str())
                    );
                }
            }
            Err(diags) => {
                assert!(diags.iter().any(Diagnostic::is_error));
                for d in &diags {
                    assert!(!d.message.is_empty() && !d.hint.is_empty());
                    assert!(
                        !d.message.chars().any(char::is_control)
                            && !d.hint.chars().any(char::is_control),
                        "{d}"
                    );
                }
            }
        }
    }

    /// A line-level mutation of the seed policy.
    #[derive(Debug, Clone)]
    enum Mutation {
        Delete(usize),
        Duplicate(usize),
        Replace(usize, String),
        Splice(usize, usize, String),
    }

    fn mutate(src: &str, muts: &[Mutation]) -> String {
        let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
        for m in muts {
            if lines.is_empty() {
                break;
            }
            let n = lines.len();
            match m {
                Mutation::Delete(i) => {
                    lines.remove(i % n);
                }
                Mutation::Duplicate(i) => {
                    let l = lines[i % n].clone();
                    lines.insert(i % n, l);
                }
                Mutation::Replace(i, t) => lines[i % n] = t.clone(),
                Mutation::Splice(i, at, t) => {
                    let l = &mut lines[i % n];
                    let chars: Vec<char> = l.chars().collect();
                    let at = at % (chars.len() + 1);
                    let mut s: String = chars[..at].iter().collect();
                    s.push_str(t);
                    s.extend(chars[at..].iter());
                    *l = s;
                }
            }
        }
        lines.join("\n")
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let frag = prop_oneof![
            Just("-".to_string()),
            Just(": ".to_string()),
            Just("\"".to_string()),
            Just("{".to_string()),
            Just("&a ".to_string()),
            Just("*a".to_string()),
            Just("0".to_string()),
            Just("\t".to_string()),
            Just("  ".to_string()),
            "[ -~]{0,12}",
            "\\PC{0,6}",
        ];
        prop_oneof![
            any::<usize>().prop_map(Mutation::Delete),
            any::<usize>().prop_map(Mutation::Duplicate),
            (any::<usize>(), frag.clone()).prop_map(|(i, t)| Mutation::Replace(i, t)),
            (any::<usize>(), any::<usize>(), frag).prop_map(|(i, a, t)| Mutation::Splice(i, a, t)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            check_contract(&bytes);
        }

        #[test]
        fn mutated_seed_policies_never_panic(muts in proptest::collection::vec(mutation(), 1..6)) {
            let seed = std::str::from_utf8(SEED).unwrap();
            check_contract(mutate(seed, &muts).as_bytes());
        }
    }
}
