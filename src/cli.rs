//! The command line (clap derive). No logic here: `cmd` does the work.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// closegate-engine: policy gate, hash-chained audit log and SOC 2 evidence for AI
/// reconciliation agents.
#[derive(Debug, Parser)]
#[command(name = "closegate-engine", version, about, long_about = None)]
pub struct Cli {
    /// SQLite database of the book of record [default: .closegate/recon.db; `ci` uses a
    /// temporary one unless this is given].
    #[arg(long, global = true, env = "CLOSEGATE_DB")]
    pub db: Option<PathBuf>,
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

/// Where the book of record lives when `--db` and `CLOSEGATE_DB` are not given.
pub const DEFAULT_DB: &str = ".closegate/recon.db";

impl Cli {
    /// The database path: `--db` / `CLOSEGATE_DB`, else [`DEFAULT_DB`].
    pub fn db(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DB))
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the policy, the embedded seed pack against it, and the audit chain of `--db`.
    ///
    /// Prints every diagnostic (`file:line:col: error[P012]: ...` plus a fix hint) to stderr and
    /// a one-line summary per check to stdout. The audit check runs only when the `--db` file
    /// exists. Exits 0 when there is no error (warnings allowed), 2 when any check found an
    /// error, 1 when the policy could not be read.
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
    /// Build the book of record from a seed pack (embedded `saas`, or `--pack-dir`).
    ///
    /// Deterministic: the same pack gives the same database and, with `--history`, the same
    /// audit head on every run. A database that holds data is refused unless `--force`.
    Seed(SeedArgs),
    /// Counts of entries, matches and pending requests by state, and the audit head.
    State(StateArgs),
    /// Operator actions on matches (identity is explicit: `--actor human:alice`).
    Match(MatchCmdArgs),
    /// Operator actions on periods: close or reopen (T3: two distinct human approvers).
    Period(PeriodCmdArgs),
    /// Approve a pending request (T3 close/reopen, escalated adjustments).
    Approve(ApproveCmdArgs),
    /// Post a manual adjustment (T2; T3 into a closed period).
    Adjust(AdjustCmdArgs),
    /// The reconciliation matcher, run through the engine.
    Recon(ReconCmdArgs),
    /// Score the four dimensions: accuracy (macro-F1), policy (scenario pass-rate), latency
    /// (engine action p95, matches/sec) and adversarial (bypasses by a hijacked agent).
    ///
    /// Writes `<out-dir>/<run-id>/{summary.json,report.json,report.md}` and copies them to
    /// `<out-dir>/latest/`. The fixtures default to the ones embedded in the binary.
    Eval(EvalArgs),
    /// Turn an eval summary into the `soc2-monitor.json` evidence artifact (idempotent: the same
    /// summary gives byte-identical JSON). With `--fail-on-regression`, exits 2 when any row is
    /// FAIL or MISSING, after writing the artifact. Notifies Slack when CLOSEGATE_SLACK_HOOK is
    /// set and a row failed.
    #[command(name = "soc2-monitor")]
    Soc2Monitor(MonitorArgs),
    /// The whole nightly job in one command: seed (temporary database unless --db is given),
    /// validate, one recon pass, eval (all dimensions) and soc2-monitor, stopping at the first
    /// hard error, then a compact table.
    Ci(CiArgs),
    /// The outbox of side effects (HITL notifications): drain delivers due messages.
    Outbox(OutboxArgs),
    /// The recovery sweeper: releases expired locks and outbox leases, flags aged exceptions.
    Sweeper(SweeperArgs),
    /// Advisory locks (named, with a TTL and the holder's pid).
    Lock(LockArgs),
    /// Build the auditor's PBC bundle: a deterministic zip of exactly seven files (README.md,
    /// audit-sample.csv, actors.json, dead-letters.json, policy-versions.json, eval-runs.json,
    /// sweeper-runs.json). See docs/evidence-export.md.
    AuditEvidenceExport(Box<ExportArgs>),
}

/// Where the eval fixtures come from and how to run.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalCommonArgs {
    /// Dimensions to run (comma-separated).
    #[arg(long = "dimension", value_enum, value_delimiter = ',', default_values_t = [
        crate::eval::harness::Dimension::Accuracy,
        crate::eval::harness::Dimension::Policy,
        crate::eval::harness::Dimension::Latency,
        crate::eval::harness::Dimension::Adversarial,
    ])]
    pub dimensions: Vec<crate::eval::harness::Dimension>,
    /// Folder of results.
    #[arg(long, default_value = "evals/results")]
    pub out_dir: PathBuf,
    /// Run id `YYYYMMDD-HHMMSS` (default: SOURCE_DATE_EPOCH if set, else the UTC start time).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Accuracy corpus folder (default: the embedded eval/accuracy).
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// Policy scenario folder (default: the embedded eval/policy).
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// Adversarial scenario folder (default: the embedded eval/adversarial).
    #[arg(long, value_name = "DIR")]
    pub adversarial: Option<PathBuf>,
    /// Embedded seed pack.
    #[arg(long, default_value = "saas")]
    pub pack: String,
    /// A seed pack folder instead.
    #[arg(long, value_name = "DIR")]
    pub pack_dir: Option<PathBuf>,
    /// Full `recon run`s for the latency dimension.
    #[arg(long, default_value_t = 20)]
    pub repetitions: u32,
    /// Replace an existing `<out-dir>/<run-id>/`.
    #[arg(long)]
    pub force: bool,
}

/// `eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// Fixtures and options.
    #[command(flatten)]
    pub common: EvalCommonArgs,
}

/// `soc2-monitor`.
#[derive(Debug, Clone, clap::Args)]
pub struct MonitorArgs {
    /// The eval summary.
    #[arg(long, default_value = "evals/results/latest/summary.json")]
    pub summary: PathBuf,
    /// Thresholds file (default: the embedded eval/thresholds.yaml).
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// Where to write the artifact. An existing file with other content is replaced only
    /// with --force.
    #[arg(long, default_value = "soc2-monitor.json")]
    pub out: PathBuf,
    /// Exit 2 when any row is FAIL or MISSING (after writing the artifact).
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Replace an existing artifact with different content.
    #[arg(long)]
    pub force: bool,
}

/// `ci`.
#[derive(Debug, Clone, clap::Args)]
pub struct CiArgs {
    /// Fixtures and options (as `eval`).
    #[command(flatten)]
    pub common: EvalCommonArgs,
    /// Where to write the monitor artifact.
    #[arg(long, default_value = "soc2-monitor.json")]
    pub out: PathBuf,
    /// Thresholds file (default: the embedded eval/thresholds.yaml).
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// Exit 2 when any row is FAIL or MISSING (after writing every artifact).
    #[arg(long)]
    pub fail_on_regression: bool,
}

/// `recon`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReconCmdArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ReconCommand,
}

/// `recon` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum ReconCommand {
    /// One matcher pass over the unmatched entries: `engine:recon` proposes each match,
    /// `engine:autoconfirm` attempts the auto-confirm through the gate (allowed, or escalated
    /// to PENDING_APPROVAL with its clauses); ambiguous entries are flagged for a human.
    /// Prints a summary by class and by decision.
    Run {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// `outbox`.
#[derive(Debug, Clone, clap::Args)]
pub struct OutboxArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: OutboxCommand,
}

/// `outbox` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum OutboxCommand {
    /// Deliver the PENDING messages due now: HITL notifications as Slack Block Kit to
    /// $CLOSEGATE_SLACK_HOOK (or generic JSON to $CLOSEGATE_WEBHOOK_URL), other kinds as
    /// generic JSON to $CLOSEGATE_WEBHOOK_URL. Each row is leased with a token and an expiry;
    /// a failed attempt is retried with exponential backoff; after the attempt limit it moves to
    /// DEAD_LETTER. Every transition is an audit event. Repeats passes until nothing is due.
    Drain {
        /// Attempts before dead-lettering (default: the row's own limit, 8).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
        max_attempts: Option<u32>,
        /// Lease length in seconds (the HTTP timeout stays below it).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=3600))]
        lease_secs: u64,
        /// First backoff step in seconds (doubles per failed attempt, capped at 6 h).
        #[arg(long, default_value_t = 30)]
        backoff_secs: u64,
        /// One pass over the rows due at start, then stop.
        #[arg(long)]
        once: bool,
        /// Test support: the clock (RFC 3339) instead of the wall clock.
        #[arg(long, hide = true)]
        now: Option<String>,
    },
}

/// `sweeper`.
#[derive(Debug, Clone, clap::Args)]
pub struct SweeperArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: SweeperCommand,
}

/// `sweeper` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum SweeperCommand {
    /// One sweep: release expired advisory locks and expired outbox leases (each a failed
    /// attempt), flag EXCEPTION/UNMATCHED entries older than N business days, and record the run
    /// (sweeper_runs row + SWEEPER_RUN audit event).
    Run {
        /// The sweeper's identity.
        #[arg(long, default_value = "engine:sweeper")]
        actor: String,
        /// Business days (Mon-Fri) after which an open exception is flagged for escalation
        /// (default: the policy's `exceptions.escalate_after_business_days`, else 5).
        #[arg(long)]
        aged_days: Option<u32>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Test support: the clock (RFC 3339) instead of the wall clock.
        #[arg(long, hide = true)]
        now: Option<String>,
    },
}

/// `lock`.
#[derive(Debug, Clone, clap::Args)]
pub struct LockArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LockCommand,
}

/// `lock` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum LockCommand {
    /// Take a named lock for TTL seconds; prints its token. Refused while another holder has it
    /// (an expired lock is released by `sweeper run`).
    Acquire {
        /// Lock name.
        name: String,
        /// Time to live in seconds.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        ttl_secs: u64,
        /// Holder name (default `pid:<pid>`).
        #[arg(long)]
        holder: Option<String>,
        /// Keep the process alive this many seconds holding the lock, then release it (a killed
        /// process leaves the lock to the sweeper).
        #[arg(long)]
        hold_secs: Option<u64>,
    },
    /// Release a lock held with TOKEN.
    Release {
        /// Lock name.
        name: String,
        /// The token printed by `acquire`.
        #[arg(long)]
        token: String,
    },
    /// List the locks.
    List,
}

/// `audit-evidence-export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// First day of the window (inclusive), YYYY-MM-DD, in --tz.
    #[arg(long)]
    pub since: chrono::NaiveDate,
    /// Last day of the window (inclusive), YYYY-MM-DD, in --tz.
    #[arg(long)]
    pub until: chrono::NaiveDate,
    /// The zip to write (atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// Day boundaries: `UTC`, a fixed offset such as `+02:00`, or an IANA zone such as
    /// `America/New_York`.
    #[arg(long, default_value = "UTC", allow_hyphen_values = true)]
    pub tz: String,
    /// The policy file in git whose history goes into policy-versions.json (`git log --follow`).
    #[arg(long)]
    pub policy_path: Option<PathBuf>,
    /// Pin the README's generation time (RFC 3339). Default: $SOURCE_DATE_EPOCH, else now.
    #[arg(long)]
    pub generated_at: Option<String>,
    /// Where the monitor runs come from.
    #[command(flatten)]
    pub source: EvalRunsSourceArgs,
}

/// `seed`.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// Embedded pack to load.
    #[arg(long, default_value = "saas")]
    pub pack: String,
    /// Load a pack of the same shape from this folder instead (pack.yaml, entries.json,
    /// policy.yaml, optional expected.json).
    #[arg(long, value_name = "DIR")]
    pub pack_dir: Option<PathBuf>,
    /// Also replay a simulated operating history of this many days (e.g. `180d`) through the
    /// engine actions, ending at the pack's `seeded_at`.
    #[arg(long, value_name = "DAYS")]
    pub history: Option<String>,
    /// Replace a database that already holds data.
    #[arg(long)]
    pub force: bool,
}

/// `state`.
#[derive(Debug, Clone, clap::Args)]
pub struct StateArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Who performs an operator action, and how to print its result.
#[derive(Debug, Clone, clap::Args)]
pub struct ActorArgs {
    /// The acting identity (`human:<id>`, `llm:<id>` or `engine:<id>`), recorded as an
    /// operator action (identity source `cli-operator`).
    #[arg(long, value_name = "ACTOR")]
    pub actor: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `match`.
#[derive(Debug, Clone, clap::Args)]
pub struct MatchCmdArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: MatchCommand,
}

/// `match` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum MatchCommand {
    /// Propose a match (T0). Prints the new match id.
    Propose {
        /// `exact_match`, `fuzzy_match` or `multi_to_one`.
        #[arg(long)]
        class: String,
        /// GL entry ids (repeat or comma-separate).
        #[arg(long, value_delimiter = ',', required = true)]
        gl: Vec<String>,
        /// SL entry ids (repeat or comma-separate).
        #[arg(long, value_delimiter = ',', required = true)]
        sl: Vec<String>,
        /// Actor and format.
        #[command(flatten)]
        who: ActorArgs,
    },
    /// Confirm a match (T2).
    Confirm {
        /// Match id.
        match_id: String,
        /// Why (required above the policy's rationale threshold).
        #[arg(long)]
        rationale: Option<String>,
        /// Actor and format.
        #[command(flatten)]
        who: ActorArgs,
    },
    /// Reject a proposed or pending match (T1); its entries return to the pool.
    Reject {
        /// Match id.
        match_id: String,
        /// Actor and format.
        #[command(flatten)]
        who: ActorArgs,
    },
    /// Flag unmatched entries as an exception for a human (T1).
    Flag {
        /// Entry ids.
        #[arg(required = true, value_delimiter = ',')]
        entries: Vec<String>,
        /// Why.
        #[arg(long)]
        note: Option<String>,
        /// Actor and format.
        #[command(flatten)]
        who: ActorArgs,
    },
}

/// `period`.
#[derive(Debug, Clone, clap::Args)]
pub struct PeriodCmdArgs {
    /// Close or reopen.
    #[command(subcommand)]
    pub command: PeriodCommand,
}

/// `period` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum PeriodCommand {
    /// Request closing an entity's period; executes on the second distinct human approval.
    Close {
        /// Entity id.
        #[arg(long)]
        entity: String,
        /// `YYYY-MM`.
        #[arg(long)]
        period: String,
        /// Actor and format.
        #[command(flatten)]
        who: ActorArgs,
    },
    /// Request reopening an entity's period; executes on the second distinct human approval.
    Reopen {
        /// Entity id.
        #[arg(long)]
        entity: String,
        /// `YYYY-MM`.
        #[arg(long)]
        period: String,
        /// Actor and format.
        #[command(flatten)]
        who: ActorArgs,
    },
}

/// `approve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ApproveCmdArgs {
    /// Pending request id (`R-000001`).
    pub request_id: String,
    /// Why.
    #[arg(long)]
    pub rationale: Option<String>,
    /// Actor and format.
    #[command(flatten)]
    pub who: ActorArgs,
}

/// `adjust`.
#[derive(Debug, Clone, clap::Args)]
pub struct AdjustCmdArgs {
    /// Entity id.
    #[arg(long)]
    pub entity: String,
    /// Accounts touched (repeat or comma-separate).
    #[arg(long = "account", value_delimiter = ',', required = true)]
    pub accounts: Vec<String>,
    /// Decimal amount in major units (`1250.00`).
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    /// ISO 4217 currency.
    #[arg(long)]
    pub currency: String,
    /// Posting date `YYYY-MM-DD`.
    #[arg(long)]
    pub date: String,
    /// Why (required above the policy's rationale threshold).
    #[arg(long)]
    pub rationale: Option<String>,
    /// Actor and format.
    #[command(flatten)]
    pub who: ActorArgs,
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
    /// Day boundaries: `UTC`, a fixed offset such as `+02:00`, or an IANA zone such as
    /// `America/New_York`.
    #[arg(long, default_value = "UTC", allow_hyphen_values = true)]
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
