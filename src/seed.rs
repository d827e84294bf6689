//! Seed packs: the loader of `seed/<pack>/` (embedded in the binary) or of a user's own pack
//! directory of the same shape, and the consistency checks `validate` runs on them.
//!
//! A pack is four files:
//!
//! | file | required | content |
//! |---|---|---|
//! | `pack.yaml` | yes | `name`, `description`, `seeded_at`, `accounts`, `actors` |
//! | `policy.yaml` | yes | the pack's policy (kept as bytes here; `policy::load` parses it) |
//! | `entries.json` | yes | a JSON array of entries in the accuracy-case format ([`ledger::EntryRecord`]) |
//! | `expected.json` | no | the designed match groups, `[{"class", "gl": [..], "sl": [..]}]` |
//!
//! Unknown keys are rejected everywhere. Syntax and field errors name `file:line:col`.
//!
//! `content_hash` is the lower-case hex sha256 of the pack files present, in byte order of their
//! file names, each framed as `name NUL decimal-byte-length NUL bytes` (files other than the four
//! above are not part of a pack and are ignored).
//!
//! This module does no file I/O of its own: every read goes through a [`SeedSource`]
//! ([`EmbeddedSource`] or [`DirSource`]). It writes nothing and never touches a database: the
//! `seed` command does that with the [`SeedPack`] returned here.

use crate::gate::request::Actor;
use crate::ledger::{self, Entry, EntryRecord};
use crate::money::Currency;
use crate::policy::model::Policy;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// The pack's descriptor file.
pub const PACK_FILE: &str = "pack.yaml";
/// The pack's policy file.
pub const POLICY_FILE: &str = "policy.yaml";
/// The pack's ledger entries.
pub const ENTRIES_FILE: &str = "entries.json";
/// The pack's designed match groups (optional).
pub const EXPECTED_FILE: &str = "expected.json";

/// The files that make up a pack, in the (byte) order `content_hash` frames them.
pub const PACK_FILES: [&str; 4] = [ENTRIES_FILE, EXPECTED_FILE, PACK_FILE, POLICY_FILE];

/// One account of the chart of accounts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAccount {
    /// Entity id.
    pub entity: String,
    /// Account number.
    pub account: String,
    /// Display name.
    pub name: String,
}

/// One actor of the actor registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedActor {
    /// Actor id, `human:<id>`, `llm:<id>` or `engine:<id>`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where the identity comes from, e.g. `oidc:https://idp.example.com#alice` or `header-trust`.
    pub identity_source: String,
    /// Entities the actor may act on; `None` = unscoped.
    #[serde(default)]
    pub entities: Option<Vec<String>>,
}

/// A loaded seed pack.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedPack {
    /// Pack name, e.g. `saas`.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Timestamp used for every seed-time event.
    pub seeded_at: DateTime<Utc>,
    /// Display name of the policy file, e.g. `embedded:seed/saas/policy.yaml`.
    pub policy_name: String,
    /// The policy file's bytes.
    pub policy_src: Vec<u8>,
    /// Chart of accounts.
    pub accounts: Vec<SeedAccount>,
    /// Actor registry.
    pub actors: Vec<SeedActor>,
    /// GL and SL entries, in file order.
    pub entries: Vec<Entry>,
    /// The designed match groups (`expected.json`), if the pack has them.
    pub expected: Option<serde_json::Value>,
    /// sha256 over the pack files (see the module doc for the framing).
    pub content_hash: String,
}

/// Why a pack could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// No embedded pack of that name.
    #[error("unknown seed pack `{name}` (available: {available})")]
    UnknownPack {
        /// The name asked for.
        name: String,
        /// The embedded packs, comma-separated.
        available: String,
    },
    /// A required file is absent.
    #[error("{file}: missing (a seed pack needs pack.yaml, policy.yaml and entries.json)")]
    Missing {
        /// Display name of the file.
        file: String,
    },
    /// The file could not be read.
    #[error("{file}: cannot read: {message}")]
    Io {
        /// Display name of the file.
        file: String,
        /// The OS error.
        message: String,
    },
    /// A syntax or field error at a position.
    #[error("{file}:{line}:{col}: {message}")]
    At {
        /// Display name of the file.
        file: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        col: u64,
        /// What is wrong.
        message: String,
    },
    /// An error with no known position.
    #[error("{file}: {message}")]
    Invalid {
        /// Display name of the file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// One consistency problem found by [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedProblem {
    /// Display name of the file the problem is in.
    pub file: String,
    /// What is wrong, naming the item (entry id, actor id, account).
    pub message: String,
}

impl fmt::Display for SeedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// Where pack files come from. The only door to I/O in this module.
pub trait SeedSource {
    /// The display name of a pack file, used in errors and as `policy_name`.
    fn display(&self, file: &str) -> String;
    /// The bytes of a pack file; `Ok(None)` when it does not exist.
    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, SeedError>;
}

/// A pack compiled into the binary (`embedded::SEED`).
#[derive(Debug, Clone)]
pub struct EmbeddedSource {
    pack: String,
}

impl EmbeddedSource {
    /// A source reading `seed/<pack>/` from the binary (use [`load_embedded`] to check the name).
    pub fn new(pack: &str) -> EmbeddedSource {
        EmbeddedSource {
            pack: pack.to_string(),
        }
    }
}

impl SeedSource for EmbeddedSource {
    fn display(&self, file: &str) -> String {
        format!("embedded:seed/{}/{}", self.pack, file)
    }

    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, SeedError> {
        Ok(crate::embedded::seed_file(&format!("{}/{}", self.pack, file)).map(<[u8]>::to_vec))
    }
}

/// A pack in a directory on disk.
#[derive(Debug, Clone)]
pub struct DirSource {
    dir: PathBuf,
}

impl DirSource {
    /// A source reading `dir/<file>`.
    pub fn new(dir: &Path) -> DirSource {
        DirSource {
            dir: dir.to_path_buf(),
        }
    }
}

impl SeedSource for DirSource {
    fn display(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, SeedError> {
        match std::fs::read(self.dir.join(file)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SeedError::Io {
                file: self.display(file),
                message: e.to_string(),
            }),
        }
    }
}

/// The names of the packs embedded in the binary, sorted.
pub fn available_packs() -> Vec<String> {
    let mut names: Vec<String> = crate::embedded::SEED
        .dirs()
        .filter(|d| d.get_file(d.path().join(PACK_FILE)).is_some())
        .filter_map(|d| {
            d.path()
                .file_name()
                .and_then(|n| n.to_str())
                .map(String::from)
        })
        .collect();
    names.sort();
    names
}

/// Loads an embedded pack by name (`saas`). An unknown name lists the available packs.
pub fn load_embedded(pack: &str) -> Result<SeedPack, SeedError> {
    if !available_packs().iter().any(|p| p == pack) {
        return Err(SeedError::UnknownPack {
            name: pack.to_string(),
            available: available_packs().join(", "),
        });
    }
    load(&EmbeddedSource::new(pack))
}

/// Loads a user's pack from a directory of the same shape as `seed/saas/`.
pub fn load_dir(dir: &Path) -> Result<SeedPack, SeedError> {
    load(&DirSource::new(dir))
}

/// `pack.yaml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    name: String,
    description: String,
    seeded_at: serde_saphyr::Spanned<String>,
    accounts: Vec<SeedAccount>,
    actors: Vec<SeedActor>,
}

/// Loads a pack from any source.
pub fn load(source: &dyn SeedSource) -> Result<SeedPack, SeedError> {
    let required = |file: &str| -> Result<Vec<u8>, SeedError> {
        source.read(file)?.ok_or_else(|| SeedError::Missing {
            file: source.display(file),
        })
    };
    let pack_src = required(PACK_FILE)?;
    let policy_src = required(POLICY_FILE)?;
    let entries_src = required(ENTRIES_FILE)?;
    let expected_src = source.read(EXPECTED_FILE)?;

    let pack_name = source.display(PACK_FILE);
    let raw: RawPack =
        serde_saphyr::from_slice(&pack_src).map_err(|e| yaml_error(&pack_name, &e))?;
    let seeded_at = parse_utc(&raw.seeded_at.value).ok_or_else(|| SeedError::At {
        file: pack_name.clone(),
        line: raw.seeded_at.referenced.line(),
        col: raw.seeded_at.referenced.column(),
        message: format!(
            "`seeded_at`: `{}` is not an RFC 3339 UTC timestamp (e.g. `2026-06-01T06:00:00Z`)",
            raw.seeded_at.value
        ),
    })?;

    let entries_name = source.display(ENTRIES_FILE);
    let records: Vec<EntryRecord> =
        serde_json::from_slice(&entries_src).map_err(|e| json_error(&entries_name, &e))?;
    let mut entries = Vec::with_capacity(records.len());
    for r in records {
        let id = r.entry_id.clone();
        let entry = Entry::try_from(r).map_err(|e| {
            let message = e.to_string();
            match locate_entry(&entries_src, &id) {
                Some((line, col)) => SeedError::At {
                    file: entries_name.clone(),
                    line,
                    col,
                    message,
                },
                None => SeedError::Invalid {
                    file: entries_name.clone(),
                    message,
                },
            }
        })?;
        entries.push(entry);
    }

    let expected = match &expected_src {
        None => None,
        Some(bytes) => {
            let name = source.display(EXPECTED_FILE);
            // The typed parse reports shape errors at their position; the value is kept as is.
            serde_json::from_slice::<Vec<ExpectedGroup>>(bytes)
                .map_err(|e| json_error(&name, &e))?;
            Some(serde_json::from_slice(bytes).map_err(|e| json_error(&name, &e))?)
        }
    };

    let mut files: Vec<(&str, &[u8])> = vec![
        (PACK_FILE, &pack_src),
        (POLICY_FILE, &policy_src),
        (ENTRIES_FILE, &entries_src),
    ];
    if let Some(b) = &expected_src {
        files.push((EXPECTED_FILE, b));
    }
    let content_hash = content_hash(&files);

    Ok(SeedPack {
        name: raw.name,
        description: raw.description,
        seeded_at,
        policy_name: source.display(POLICY_FILE),
        policy_src,
        accounts: raw.accounts,
        actors: raw.actors,
        entries,
        expected,
        content_hash,
    })
}

/// sha256 over `(name, bytes)` pairs sorted by name, each framed `name \0 len \0 bytes`.
pub fn content_hash(files: &[(&str, &[u8])]) -> String {
    let mut sorted: Vec<&(&str, &[u8])> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut h = Sha256::new();
    for (name, bytes) in sorted {
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update(bytes.len().to_string().as_bytes());
        h.update([0u8]);
        h.update(bytes);
    }
    hex::encode(h.finalize())
}

/// Line and column (1-based, in characters) of the `"entry_id": "<id>"` value in a JSON text.
fn locate_entry(src: &[u8], id: &str) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(src).ok()?;
    let needle = serde_json::to_string(id).ok()?;
    let mut from = 0;
    while let Some(i) = text[from..].find(&needle) {
        let at = from + i;
        let before = text[..at].trim_end();
        if let Some(rest) = before.strip_suffix(':') {
            if rest.trim_end().ends_with("\"entry_id\"") {
                let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
                let line = text[..at].matches('\n').count() as u64 + 1;
                let col = text[line_start..at].chars().count() as u64 + 1;
                return Some((line, col));
            }
        }
        from = at + needle.len();
    }
    None
}

fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s).ok()?;
    (t.offset().local_minus_utc() == 0).then(|| t.with_timezone(&Utc))
}

fn json_error(file: &str, e: &serde_json::Error) -> SeedError {
    let full = e.to_string();
    // serde_json appends " at line L column C"; the position goes in front instead.
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    SeedError::At {
        file: file.to_string(),
        line: e.line() as u64,
        col: e.column() as u64,
        message,
    }
}

/// serde-saphyr's message without its snippet and its own position (`error: line L column C:`
/// prefix, ` at line L, column C` suffix)
/// (the position is printed in front as `file:line:col`).
pub(crate) fn yaml_message(e: &serde_saphyr::Error) -> String {
    let full = e.without_snippet().to_string();
    let s = full.trim().strip_prefix("error: ").unwrap_or(full.trim());
    let s = match s.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((pos, rest)) if pos.contains(" column ") => rest,
        _ => s,
    };
    match s.rfind(" at line ") {
        Some(i) if s[i..].contains("column") => s[..i].to_string(),
        _ => s.to_string(),
    }
}

fn yaml_error(file: &str, e: &serde_saphyr::Error) -> SeedError {
    let message = yaml_message(e);
    match e.location() {
        Some(loc) if loc.line() > 0 => SeedError::At {
            file: file.to_string(),
            line: loc.line(),
            col: loc.column(),
            message,
        },
        _ => SeedError::Invalid {
            file: file.to_string(),
            message,
        },
    }
}

/// One designed group of `expected.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedGroup {
    /// `exact_match`, `fuzzy_match` or `multi_to_one`.
    pub class: String,
    /// GL entry ids.
    pub gl: Vec<String>,
    /// SL entry ids.
    pub sl: Vec<String>,
}

/// The policy facts [`check`] needs. Built from a validated [`Policy`] by [`PolicyFacts::from_policy`];
/// tests may build it directly (the one place where the check is decoupled from `policy::load`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFacts {
    /// Base currency.
    pub base_currency: Currency,
    /// Entity ids and their functional currencies.
    pub entities: Vec<(String, Currency)>,
    /// `(currency, as_of)` of every fx rate.
    pub fx_rates: Vec<(Currency, NaiveDate)>,
    /// Always-human account numbers.
    pub always_human_accounts: Vec<String>,
}

impl PolicyFacts {
    /// The facts of a validated policy.
    pub fn from_policy(policy: &Policy) -> PolicyFacts {
        PolicyFacts {
            base_currency: policy.base_currency,
            entities: policy
                .entities
                .iter()
                .map(|e| (e.id.clone(), e.currency))
                .collect(),
            fx_rates: policy
                .fx_rates
                .iter()
                .map(|r| (r.currency, r.as_of))
                .collect(),
            always_human_accounts: policy
                .always_human_accounts
                .iter()
                .map(|a| a.account.clone())
                .collect(),
        }
    }
}

/// Checks a loaded pack against its policy: every problem, in file order.
pub fn check(pack: &SeedPack, policy: &Policy) -> Vec<SeedProblem> {
    check_facts(pack, &PolicyFacts::from_policy(policy))
}

/// Whether an id is well formed: 1..=64 characters of `A-Z a-z 0-9 . _ -`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// [`check`] over the facts it needs.
pub fn check_facts(pack: &SeedPack, facts: &PolicyFacts) -> Vec<SeedProblem> {
    let mut out = Vec::new();
    // File display names share the policy file's prefix (`embedded:seed/saas/`, `DIR/`).
    let base = pack
        .policy_name
        .strip_suffix(POLICY_FILE)
        .unwrap_or_default();
    let pack_file = format!("{base}{PACK_FILE}");
    let entries_file = format!("{base}{ENTRIES_FILE}");
    let expected_file = format!("{base}{EXPECTED_FILE}");
    let mut problem = |file: &str, message: String| {
        out.push(SeedProblem {
            file: file.to_string(),
            message,
        })
    };
    let known_entity = |e: &str| facts.entities.iter().any(|(id, _)| id == e);

    let mut chart = BTreeSet::new();
    for a in &pack.accounts {
        if !known_entity(&a.entity) {
            problem(
                &pack_file,
                format!("account `{}`: unknown entity `{}`", a.account, a.entity),
            );
        }
        if !chart.insert((a.entity.as_str(), a.account.as_str())) {
            problem(
                &pack_file,
                format!("account `{}` of `{}` is listed twice", a.account, a.entity),
            );
        }
    }
    for h in &facts.always_human_accounts {
        if !pack.accounts.iter().any(|a| &a.account == h) {
            problem(
                &pack_file,
                format!("always-human account `{h}` of the policy is not in the chart of accounts"),
            );
        }
    }

    let mut actor_ids = BTreeSet::new();
    for a in &pack.actors {
        if Actor::parse(&a.id).is_none() {
            problem(
                &pack_file,
                format!(
                    "actor `{}`: not `human:`, `llm:` or `engine:` followed by 1-128 of `A-Za-z0-9._@+-`",
                    a.id
                ),
            );
        }
        if !actor_ids.insert(a.id.as_str()) {
            problem(&pack_file, format!("actor `{}` is listed twice", a.id));
        }
        if a.identity_source.trim().is_empty() {
            problem(
                &pack_file,
                format!("actor `{}`: empty `identity_source`", a.id),
            );
        }
        if let Some(scope) = &a.entities {
            if scope.is_empty() {
                problem(
                    &pack_file,
                    format!(
                        "actor `{}`: empty `entities` scope (omit it for unscoped)",
                        a.id
                    ),
                );
            }
            for e in scope.iter().filter(|e| !known_entity(e)) {
                problem(
                    &pack_file,
                    format!("actor `{}`: scope names unknown entity `{e}`", a.id),
                );
            }
        }
    }

    let mut ids: BTreeMap<&str, ledger::Side> = BTreeMap::new();
    for e in &pack.entries {
        let id = e.entry_id.as_str();
        if !valid_id(id) {
            problem(
                &entries_file,
                format!("entry `{id}`: id is not 1-64 of `A-Za-z0-9._-`"),
            );
        }
        if ids.insert(id, e.side).is_some() {
            problem(&entries_file, format!("entry `{id}`: duplicate entry id"));
        }
        if !known_entity(&e.entity) {
            problem(
                &entries_file,
                format!("entry `{id}`: unknown entity `{}`", e.entity),
            );
        } else if !chart.contains(&(e.entity.as_str(), e.account.as_str())) {
            problem(
                &entries_file,
                format!(
                    "entry `{id}`: account `{}` is not in the chart of `{}`",
                    e.account, e.entity
                ),
            );
        }
        let cur = e.amount.currency;
        if cur != facts.base_currency
            && !facts
                .fx_rates
                .iter()
                .any(|(c, as_of)| *c == cur && *as_of <= e.date)
        {
            problem(
                &entries_file,
                format!(
                    "entry `{id}`: no fx rate for `{}` on or before `{}`",
                    cur.code(),
                    e.date
                ),
            );
        }
    }

    if let Some(v) = &pack.expected {
        match serde_json::from_value::<Vec<ExpectedGroup>>(v.clone()) {
            Err(err) => problem(&expected_file, err.to_string()),
            Ok(groups) => {
                let mut seen = BTreeSet::new();
                for (i, g) in groups.iter().enumerate() {
                    if crate::gate::request::MatchClass::parse(&g.class).is_none() {
                        problem(
                            &expected_file,
                            format!("group {}: unknown class `{}`", i + 1, g.class),
                        );
                    }
                    for (side, list) in [(ledger::Side::Gl, &g.gl), (ledger::Side::Sl, &g.sl)] {
                        for id in list {
                            match ids.get(id.as_str()) {
                                None => problem(
                                    &expected_file,
                                    format!("group {}: unknown entry `{id}`", i + 1),
                                ),
                                Some(s) if *s != side => problem(
                                    &expected_file,
                                    format!(
                                        "group {}: entry `{id}` is not on the {} side",
                                        i + 1,
                                        side.as_str()
                                    ),
                                ),
                                Some(_) => {}
                            }
                            if !seen.insert(id.clone()) {
                                problem(
                                    &expected_file,
                                    format!("group {}: entry `{id}` is in two groups", i + 1),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn content_hash_frames_and_sorts() {
        let a = content_hash(&[("b", b"1"), ("a", b"22")]);
        let b = content_hash(&[("a", b"22"), ("b", b"1")]);
        assert_eq!(a, b);
        let mut h = Sha256::new();
        h.update(b"a\x002\x0022b\x001\x001");
        assert_eq!(a, hex::encode(h.finalize()));
        // The framing separates names from contents.
        assert_ne!(content_hash(&[("a", b"b")]), content_hash(&[("ab", b"")]));
    }

    #[test]
    fn utc_only() {
        assert!(parse_utc("2026-06-01T06:00:00Z").is_some());
        assert!(parse_utc("2026-06-01T06:00:00+00:00").is_some());
        assert!(parse_utc("2026-06-01T06:00:00+02:00").is_none());
        assert!(parse_utc("2026-06-01").is_none());
    }

    #[test]
    fn ids() {
        assert!(valid_id("GL-1001"));
        assert!(!valid_id(""));
        assert!(!valid_id("GL 1001"));
        assert!(!valid_id(&"x".repeat(65)));
    }
}
