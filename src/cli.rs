//! The command line (clap derive). No logic here: `cmd` does the work.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// closegate-engine: policy gate, hash-chained audit log and SOC 2 evidence for AI
/// reconciliation agents.
#[derive(Debug, Parser)]
#[command(name = "closegate-engine", version, about, long_about = None)]
pub struct Cli {
    /// SQLite database of the book of record.
    #[arg(
        long,
        global = true,
        env = "CLOSEGATE_DB",
        default_value = ".closegate/recon.db"
    )]
    pub db: PathBuf,
    /// Policy file. Default: ./policy.yaml if it exists, else the embedded `saas` pack's policy.
    #[arg(long, global = true, env = "CLOSEGATE_POLICY")]
    pub policy: Option<PathBuf>,
    /// More output (repeatable).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less output.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the policy (and, once they exist, the seed data and the audit chain).
    ///
    /// Prints every diagnostic (`file:line:col: error[P012]: ...` plus a fix hint) to stderr and
    /// a one-line summary to stdout. Exits 0 when there is no error (warnings allowed), 2 when
    /// any check found an error, 1 when the policy could not be read.
    Validate(ValidateArgs),
    /// Inspect the policy in force.
    Policy {
        /// What to do with the policy.
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

/// Output format of `validate` and `policy explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON on stdout.
    Json,
}

/// `validate` options.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// `text`: diagnostics on stderr, summary on stdout. `json`: a JSON array of every
    /// diagnostic on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the loaded policy as a table: name, base currency, sha256 (the `policy_version`
    /// recorded on every decision) and one row per rule with its JSON pointer, key values and
    /// clause.
    Explain {
        /// `text` (a table) or `json`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}
