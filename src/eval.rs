//! The eval harness: four dimensions (accuracy, policy, latency, adversarial) over embedded
//! or user-supplied fixtures, producing `summary.json`, `report.json` and `report.md`.

pub mod fault;
pub mod fixtures;
pub mod harness;
pub mod latency;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod summary;
