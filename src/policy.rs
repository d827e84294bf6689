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

    const SEED: &[u8] = include_bytes!("../seed/saas/policy.yaml");

    #[test]
    fn seed_policy_loads_without_diagnostics() {
        let (p, warnings) = match load("policy.yaml", SEED) {
            Ok(x) => x,
            Err(d) => panic!(
                "{}",
                d.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        };
        assert!(warnings.is_empty(), "{warnings:?}");
        eprintln!("{p:#?}");
    }
}
