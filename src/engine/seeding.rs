//! Builds a book of record from a seed pack: entities (from the policy), the chart of accounts,
//! the actor registry and the entries. Deterministic: every timestamp comes from the pack's
//! `seeded_at`, never the clock. Writes no audit events: seeding imports data, it is not a gate
//! action (the history replay that follows goes through the engine actions).

use super::EngineError;
use crate::policy::model::Policy;
use crate::seed::SeedPack;
use crate::store::{AccountRow, EntityRow, Tx};
use serde::{Deserialize, Serialize};

/// Meta key of the actor registry (JSON array of [`RegistryActor`]).
pub const REGISTRY_KEY: &str = "actor_registry";

/// One actor of the registry, as stored in the book of record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryActor {
    /// Actor id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// How it authenticates.
    pub identity_source: String,
    /// Entity scope, if any.
    pub entities: Option<Vec<String>>,
}

/// Writes the pack into an empty store inside `tx`, recording the policy in force (its name and
/// exact text, which may differ from the pack's own `policy.yaml`).
pub fn seed(
    tx: &Tx<'_>,
    pack: &SeedPack,
    policy: &Policy,
    policy_name: &str,
    policy_src: &str,
) -> Result<(), EngineError> {
    let at = pack.seeded_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for e in &policy.entities {
        tx.upsert_entity(&EntityRow {
            entity_id: e.id.clone(),
            name: e.id.clone(),
            currency: e.currency.code().to_string(),
        })?;
    }
    for a in &pack.accounts {
        tx.upsert_account(&AccountRow {
            entity_id: a.entity.clone(),
            account: a.account.clone(),
            name: a.name.clone(),
            always_human: policy
                .always_human_accounts
                .iter()
                .any(|h| h.account == a.account),
        })?;
    }
    let mut entries = pack.entries.clone();
    entries.sort_by(|a, b| a.entry_id.cmp(&b.entry_id));
    for e in &entries {
        tx.insert_entry(e)?;
    }
    let registry: Vec<RegistryActor> = pack
        .actors
        .iter()
        .map(|a| RegistryActor {
            id: a.id.clone(),
            name: a.name.clone(),
            identity_source: a.identity_source.clone(),
            entities: a.entities.clone(),
        })
        .collect();
    tx.store_policy(&policy.sha256, policy_name, policy_src, &at)?;
    tx.set_meta(
        REGISTRY_KEY,
        &serde_json::to_string(&registry).unwrap_or_else(|_| "[]".into()),
    )?;
    tx.set_meta("seed_pack", &pack.name)?;
    tx.set_meta("seed_pack_content_hash", &pack.content_hash)?;
    tx.set_meta("seeded_at", &at)?;
    Ok(())
}

/// The actor registry stored by [`seed`] (empty if the store was not seeded).
pub fn registry(tx: &Tx<'_>) -> Result<Vec<RegistryActor>, EngineError> {
    let raw = tx.get_meta(REGISTRY_KEY)?.unwrap_or_default();
    Ok(serde_json::from_str(&raw).unwrap_or_default())
}
