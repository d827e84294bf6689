//! Evidence built for the auditor: `eval_runs` (the model and pure coverage math of
//! `eval-runs.json`, with its local-directory source), and the pure pieces of the PBC bundle of
//! `audit-evidence-export` — the sample (`sample`), the policy history (`policy_versions`), the
//! other documents and the deterministic zip (`bundle`), the README (`readme`) — plus the pure
//! parts of the outbox worker (`notify`). Nothing here talks to the network or reads the clock:
//! the glue lives in `crate::cmd::{export, outbox, sweeper}` and `crate::github`.

pub mod bundle;
pub mod eval_runs;
pub mod notify;
pub mod policy_versions;
pub mod readme;
pub mod sample;
