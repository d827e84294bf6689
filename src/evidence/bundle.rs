//! The PBC bundle of `audit-evidence-export`: the JSON documents built from store rows
//! (`actors.json`, `dead-letters.json`, `sweeper-runs.json`), the deterministic zip writer, and
//! the fixed file list. The README is rendered by `evidence::readme`.
//!
//! Pure: takes rows and bytes, returns bytes. No I/O, no clock. The zip is deterministic: fixed
//! entry order ([`FILES`]), every entry dated 1980-01-01 00:00:00 (the zip epoch), mode 0644,
//! deflate at the default level, no extra fields.

use crate::engine::seeding::RegistryActor;
use crate::store::{ActorRow, OutboxRow, SweeperRunRow};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{Cursor, Write};

/// The seven files, in zip order.
pub const FILES: [&str; 7] = [
    "README.md",
    "audit-sample.csv",
    "actors.json",
    "dead-letters.json",
    "policy-versions.json",
    "eval-runs.json",
    "sweeper-runs.json",
];

/// Errors of the zip writer.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The zip library failed.
    #[error("cannot build the zip: {0}")]
    Zip(String),
    /// A file of [`FILES`] is missing, or an unknown one was given.
    #[error("bundle file list mismatch: expected exactly {expected:?}, got {got:?}")]
    Files {
        /// The expected names.
        expected: Vec<String>,
        /// What was given.
        got: Vec<String>,
    },
}

/// Builds the zip from `(name, bytes)` pairs, which must be exactly [`FILES`] (in any order:
/// they are written in [`FILES`] order).
pub fn zip(files: &[(&str, Vec<u8>)]) -> Result<Vec<u8>, BundleError> {
    let mut got: Vec<String> = files.iter().map(|(n, _)| n.to_string()).collect();
    got.sort();
    let mut expected: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    if got != expected {
        return Err(BundleError::Files { expected, got });
    }
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::DEFAULT)
        .unix_permissions(0o644)
        .large_file(false);
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let e = |x: zip::result::ZipError| BundleError::Zip(x.to_string());
    for name in FILES {
        let Some((_, bytes)) = files.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        w.start_file(name, opts).map_err(e)?;
        w.write_all(bytes)
            .map_err(|x| BundleError::Zip(x.to_string()))?;
    }
    Ok(w.finish().map_err(e)?.into_inner())
}

/// Pretty JSON with a final newline.
pub fn json_bytes<T: Serialize>(v: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut b = serde_json::to_vec_pretty(v)?;
    b.push(b'\n');
    Ok(b)
}

/// One actor of `actors.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorEntry {
    /// Actor id (`human:alice`).
    pub actor_id: String,
    /// `human`, `llm`, `engine` or `invalid`.
    pub kind: String,
    /// Display name from the registry, if registered.
    pub name: Option<String>,
    /// Identity source: `oidc:<issuer>#<subject>`, `header-trust`, `cli-operator`, … (from the
    /// actors table when the actor acted, else from the registry).
    pub identity_source: Option<String>,
    /// OIDC issuer, when the identity source is `oidc:<issuer>#<subject>`.
    pub oidc_issuer: Option<String>,
    /// OIDC subject, when the identity source is `oidc:<issuer>#<subject>`.
    pub oidc_subject: Option<String>,
    /// The registry's identity source, when registered.
    pub registry_identity_source: Option<String>,
    /// Entity scope from the registry (`None` = unscoped or unregistered).
    pub entities: Option<Vec<String>>,
    /// In the actor identity registry.
    pub in_registry: bool,
    /// First time the engine saw it act (any time, not only the window).
    pub first_seen: Option<String>,
    /// Last time the engine saw it act.
    pub last_seen: Option<String>,
    /// Audit events by this actor in the window.
    pub events_in_window: u64,
    /// The same, by event type.
    pub events_in_window_by_type: BTreeMap<String, u64>,
}

/// Kind of an actor id from its prefix (`invalid` when it has none we know).
pub fn kind_of(actor_id: &str) -> String {
    match actor_id.split_once(':') {
        Some((k @ ("human" | "llm" | "engine"), rest)) if !rest.is_empty() => k.to_string(),
        _ => "invalid".to_string(),
    }
}

/// Splits `oidc:<issuer>#<subject>` into issuer and subject (the subject after the last `#`).
pub fn oidc_parts(identity_source: &str) -> Option<(String, String)> {
    let rest = identity_source.strip_prefix("oidc:")?;
    let (iss, sub) = rest.rsplit_once('#')?;
    (!iss.is_empty() && !sub.is_empty()).then(|| (iss.to_string(), sub.to_string()))
}

/// Merges the registry, the actors table and the window's per-actor event counts, by actor id.
pub fn actors(
    registry: &[RegistryActor],
    table: &[ActorRow],
    counts: &BTreeMap<String, BTreeMap<String, u64>>,
) -> Vec<ActorEntry> {
    let mut ids: Vec<&str> = registry.iter().map(|r| r.id.as_str()).collect();
    ids.extend(table.iter().map(|a| a.actor_id.as_str()));
    ids.extend(counts.keys().map(String::as_str));
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let reg = registry.iter().find(|r| r.id == id);
            let row = table.iter().find(|a| a.actor_id == id);
            let by_type = counts.get(id).cloned().unwrap_or_default();
            let identity_source = row
                .map(|r| r.identity_source.clone())
                .or_else(|| reg.map(|r| r.identity_source.clone()));
            let oidc = identity_source.as_deref().and_then(oidc_parts);
            ActorEntry {
                actor_id: id.to_string(),
                kind: row.map(|r| r.kind.clone()).unwrap_or_else(|| kind_of(id)),
                name: reg.map(|r| r.name.clone()),
                identity_source,
                oidc_issuer: oidc.as_ref().map(|o| o.0.clone()),
                oidc_subject: oidc.map(|o| o.1),
                registry_identity_source: reg.map(|r| r.identity_source.clone()),
                entities: reg.and_then(|r| r.entities.clone()),
                in_registry: reg.is_some(),
                first_seen: row.map(|r| r.first_seen.clone()),
                last_seen: row.map(|r| r.last_seen.clone()),
                events_in_window: by_type.values().sum(),
                events_in_window_by_type: by_type,
            }
        })
        .collect()
}

/// One row of `dead-letters.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    /// Outbox row id.
    pub outbox_id: i64,
    /// Message kind.
    pub kind: String,
    /// The payload's identifying fields (never a URL or secret: payloads hold none).
    pub payload_summary: serde_json::Value,
    /// Attempts made.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// The last error (redacted at write time).
    pub last_error: Option<String>,
    /// When it happened (the time it was dead-lettered).
    pub last_error_at: Option<String>,
    /// When the message was queued.
    pub created_ts: String,
    /// The audit event that queued it.
    pub audit_seq: Option<u64>,
}

/// Keys of a payload kept in its summary.
const SUMMARY_KEYS: [&str; 9] = [
    "event_seq",
    "event_type",
    "action",
    "match_id",
    "request_id",
    "entity",
    "amount",
    "currency",
    "reasons",
];

/// Dead letters from outbox rows (the caller passes the `DEAD_LETTER` rows), by id.
pub fn dead_letters(rows: &[OutboxRow]) -> Vec<DeadLetter> {
    rows.iter()
        .map(|r| {
            let mut summary = serde_json::Map::new();
            if let Some(obj) = r.payload.as_object() {
                for k in SUMMARY_KEYS {
                    if let Some(v) = obj.get(k) {
                        summary.insert(k.to_string(), v.clone());
                    }
                }
            }
            DeadLetter {
                outbox_id: r.id,
                kind: r.kind.clone(),
                payload_summary: serde_json::Value::Object(summary),
                attempts: r.attempts,
                max_attempts: r.max_attempts,
                last_error: r.last_error.clone(),
                last_error_at: r.last_error_at.clone(),
                created_ts: r.created_ts.clone(),
                audit_seq: r.audit_seq,
            }
        })
        .collect()
}

/// One row of `sweeper-runs.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweeperRunDoc {
    /// Run id.
    pub id: i64,
    /// Start time.
    pub started_at: String,
    /// End time.
    pub finished_at: Option<String>,
    /// The sweeper's actor id.
    pub actor: String,
    /// Items released.
    pub released_count: usize,
    /// Items flagged.
    pub flagged_count: usize,
    /// What it released (locks, outbox leases).
    pub released: serde_json::Value,
    /// What it flagged (aged exceptions).
    pub flagged: serde_json::Value,
}

/// Sweeper runs whose `started_at` is in `[start, end)` (RFC 3339 UTC strings), by id.
pub fn sweeper_runs(rows: &[SweeperRunRow], start: &str, end: &str) -> Vec<SweeperRunDoc> {
    let len = |v: &serde_json::Value| v.as_array().map_or(0, Vec::len);
    rows.iter()
        .filter(|r| r.started_at.as_str() >= start && r.started_at.as_str() < end)
        .map(|r| SweeperRunDoc {
            id: r.id,
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            actor: r.actor.clone(),
            released_count: len(&r.released),
            flagged_count: len(&r.flagged),
            released: r.released.clone(),
            flagged: r.flagged.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(readme: &str) -> Vec<(&'static str, Vec<u8>)> {
        FILES
            .iter()
            .rev()
            .map(|n| {
                let body = if *n == "README.md" {
                    readme.to_string()
                } else {
                    format!("{n}\n")
                };
                (*n, body.into_bytes())
            })
            .collect()
    }

    #[test]
    fn zip_is_deterministic_ordered_and_dated_at_the_zip_epoch() {
        let a = zip(&files("x")).unwrap();
        let b = zip(&files("x")).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, zip(&files("y")).unwrap());
        let mut ar = ::zip::ZipArchive::new(Cursor::new(a)).unwrap();
        let names: Vec<String> = (0..ar.len())
            .map(|i| ar.by_index(i).unwrap().name().unwrap().to_string())
            .collect();
        assert_eq!(names, FILES.map(String::from).to_vec());
        let f = ar.by_index(0).unwrap();
        assert_eq!(f.unix_mode(), Some(0o100644));
        let t = f.last_modified().unwrap();
        assert_eq!((t.year(), t.month(), t.day()), (1980, 1, 1));
    }

    #[test]
    fn zip_refuses_a_wrong_file_list() {
        let mut f = files("x");
        f.pop();
        assert!(matches!(zip(&f), Err(BundleError::Files { .. })));
    }

    #[test]
    fn oidc_sources_split_into_issuer_and_subject() {
        assert_eq!(
            oidc_parts("oidc:https://idp.example.com#alice"),
            Some(("https://idp.example.com".into(), "alice".into()))
        );
        assert_eq!(oidc_parts("header-trust"), None);
        assert_eq!(oidc_parts("oidc:#x"), None);
    }

    #[test]
    fn kinds_from_prefixes() {
        assert_eq!(kind_of("human:a"), "human");
        assert_eq!(kind_of("robot:a"), "invalid");
        assert_eq!(kind_of("llm:"), "invalid");
    }
}
