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
    Validate,
}
