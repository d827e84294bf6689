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
    /// The hash-chained audit log: verify, tail.
    Audit(AuditArgs),
}

/// `audit` subcommands.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// Output format of `audit verify` and `audit tail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the chain: seq contiguity, prev_hash links, hashes, reason clauses against the
    /// recorded policy versions. Exit 0 intact, 2 broken, 1 if the database cannot be read.
    Verify {
        /// Also require the event at SEQ to have HASH (a head recorded elsewhere): detects
        /// truncation and a rewritten tail.
        #[arg(long, value_name = "SEQ:HASH")]
        expect_head: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Print the last N events, oldest first.
    Tail {
        /// How many events.
        #[arg(short = 'n', long = "lines", default_value_t = 10)]
        n: u64,
        /// Output format (json = one JSON event per line).
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Test support only: append COUNT deterministic synthetic events in transactions of BATCH
    /// events (used by the concurrency, SIGKILL and benchmark tests). Not for real databases.
    #[command(hide = true)]
    AppendSynthetic {
        /// Number of events.
        #[arg(long)]
        count: u64,
        /// Events per transaction.
        #[arg(long, default_value_t = 1)]
        batch: u64,
        /// Prefix of the generated event ids (lets two processes append distinct ids).
        #[arg(long, default_value = "syn")]
        id_prefix: String,
        /// Microseconds to sleep between transactions (stands in for the work a real engine
        /// action does between commits, so concurrent writers interleave).
        #[arg(long, default_value_t = 0)]
        pause_us: u64,
    },
}
