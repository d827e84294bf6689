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
    /// Build `eval-runs.json` (every monitor run in a window, and its day-by-day coverage) from a
    /// folder of soc2-monitor*.json files or from the GitHub Actions artifact history.
    EvalRuns(Box<EvalRunsArgs>),
    /// The hash-chained audit log: verify, tail.
    Audit(AuditArgs),
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

/// `eval-runs`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalRunsArgs {
    /// First day of the window (inclusive), YYYY-MM-DD.
    #[arg(long)]
    pub since: chrono::NaiveDate,
    /// Last day of the window (inclusive), YYYY-MM-DD.
    #[arg(long)]
    pub until: chrono::NaiveDate,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// Overwrite `--out` if it exists.
    #[arg(long)]
    pub force: bool,
    /// Day boundaries: `UTC` or a fixed offset such as `+02:00` (IANA names are refused).
    #[arg(long, default_value = "UTC")]
    pub tz: String,
    /// Where the runs come from.
    #[command(flatten)]
    pub source: EvalRunsSourceArgs,
}

/// The source of monitor runs, shared by `eval-runs` and `audit-evidence-export` (flatten it).
#[derive(Debug, Clone, clap::Args)]
pub struct EvalRunsSourceArgs {
    /// Offline source: a folder of soc2-monitor*.json files. Wins over the GitHub source.
    #[arg(long)]
    pub eval_runs_dir: Option<PathBuf>,
    /// GitHub source: OWNER/REPO (default: $GITHUB_REPOSITORY). Token from GITHUB_TOKEN or
    /// GH_TOKEN, API base from GITHUB_API_URL.
    #[arg(long)]
    pub github_repo: Option<String>,
    /// Workflow file name or id of the nightly monitor.
    #[arg(long, default_value = "soc2-monitor-nightly.yml")]
    pub workflow: String,
    /// Name prefix of the monitor artifact.
    #[arg(long, default_value = "soc2-monitor-")]
    pub artifact_prefix: String,
    /// Longest wait, in seconds, for a rate-limit reset before failing.
    #[arg(long, default_value_t = 120)]
    pub max_rate_wait: u64,
    /// Runs processed concurrently (artifact listing and download).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Events whose runs count towards coverage (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "schedule,workflow_dispatch"
    )]
    pub qualifying_events: Vec<String>,
    /// Branch a qualifying run must be on (default: the repository's default branch).
    #[arg(long)]
    pub qualifying_branch: Option<String>,
    /// First retry backoff step in milliseconds (doubles per retry; jitter added).
    #[arg(long, default_value_t = 250, hide = true)]
    pub retry_base_ms: u64,
}

/// `audit` subcommands.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// Output format of `audit verify` and `audit tail`.
pub type OutputFormat = Format;

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
