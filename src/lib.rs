//! closegate-engine: a policy gate, a hash-chained audit log and the SOC 2 monitoring evidence
//! built on them. See `README.md` for the tour and `docs/` for the formats.

pub mod atomic;
pub mod audit;
pub mod cli;
pub mod cmd;
pub mod embedded;
pub mod engine;
pub mod eval;
pub mod evidence;
pub mod exit;
pub mod gate;
pub mod github;
pub mod ledger;
pub mod money;
pub mod monitor;
pub mod policy;
pub mod recon;
pub mod seed;
pub mod store;
pub mod webhook;

use exit::ExitStatus;

/// Runs a parsed command line.
pub fn run(cli: cli::Cli) -> ExitStatus {
    cmd::dispatch(cli)
}
