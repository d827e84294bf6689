//! The GitHub token, wrapped so that it cannot leak through `Debug`, `Display` or logs.
//!
//! The only way to read the secret is [`Token::expose`], used when building the `Authorization`
//! header for the API host. It must never be formatted into an error, a log line or an output.

use std::fmt;

/// A GitHub token. `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token; `None` when it is empty.
    pub fn new(s: String) -> Option<Token> {
        let t = s.trim().to_string();
        if t.is_empty() {
            None
        } else {
            Some(Token(t))
        }
    }

    /// Reads `GITHUB_TOKEN`, then `GH_TOKEN`.
    pub fn from_env() -> Option<Token> {
        ["GITHUB_TOKEN", "GH_TOKEN"]
            .iter()
            .find_map(|k| std::env::var(k).ok().and_then(Token::new))
    }

    /// The secret, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn never_formats_the_secret() {
        let t = Token::new("ghp_secretvalue".into()).unwrap();
        assert!(!format!("{t:?} {t} {:#?}", t).contains("secretvalue"));
        assert_eq!(t.expose(), "ghp_secretvalue");
        assert!(Token::new("  ".into()).is_none());
    }
}
