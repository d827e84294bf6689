//! Command dispatch: maps each parsed [`Command`] to its function in `cmd/*` and turns the
//! outcome into an [`ExitStatus`]. The only place `anyhow` context is added; the modules below
//! `cmd` return typed errors or diagnostics.
//!
//! Also holds helpers every command shares: [`resolve_policy`] (which policy file is in force)
//! and [`require_policy`] (load it or explain why not). Commands write their output here, not
//! in the library modules they call.

pub mod audit;
pub mod ci;
pub mod eval;
pub mod eval_runs;
pub mod export;
pub mod lock;
pub mod monitor;
pub mod ops;
pub mod outbox;
pub mod policy;
pub mod seed;
pub mod sweeper;
pub mod validate;

use crate::cli::{Cli, Command, PolicyCommand};
use crate::exit::ExitStatus;
use crate::policy::model::Policy;
use anyhow::Context;
use std::path::Path;

/// Display name of the embedded reference policy.
pub const EMBEDDED_POLICY_NAME: &str = "embedded:seed/saas/policy.yaml";

/// Runs one command. Errors that stop a command from running are printed as `error: ...`
/// and give exit 1; checks that ran and failed give 2.
pub fn dispatch(cli: Cli) -> ExitStatus {
    let policy = cli.policy.as_deref();
    let result = match &cli.command {
        Command::Validate(args) => validate::run(policy, &cli.db(), args),
        Command::Policy { command } => match command {
            PolicyCommand::Explain { format } => policy::explain(policy, *format),
        },
        Command::EvalRuns(args) => eval_runs::run(args, &cli),
        Command::Audit(args) => Ok(audit::run(&cli, args)),
        Command::Seed(args) => seed::run(&cli, args),
        Command::State(args) => ops::state(&cli, args),
        Command::Match(args) => ops::match_cmd(&cli, args),
        Command::Period(args) => ops::period_cmd(&cli, args),
        Command::Approve(args) => ops::approve_cmd(&cli, args),
        Command::Adjust(args) => ops::adjust_cmd(&cli, args),
        Command::Recon(args) => ops::recon_cmd(&cli, args),
        Command::Eval(args) => eval::run(&cli, &args.common),
        Command::Soc2Monitor(args) => monitor::run(&cli, args),
        Command::Ci(args) => ci::run(&cli, args),
        Command::Outbox(args) => outbox::run(&cli, args),
        Command::Sweeper(args) => sweeper::run(&cli, args),
        Command::Lock(args) => lock::run(&cli, args),
        Command::AuditEvidenceExport(args) => export::run(&cli, args),
    };
    match result {
        Ok(status) => status,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitStatus::Error
        }
    }
}

/// Which policy is in force and its bytes: `--policy PATH` (env `CLOSEGATE_POLICY`) if given,
/// else `./policy.yaml` if it exists, else the embedded `seed/saas/policy.yaml`, named
/// [`EMBEDDED_POLICY_NAME`]. Returns `(display name, bytes)`. An explicit path that cannot be
/// read is an error (exit 1), never a silent fallback.
pub fn resolve_policy(cli_policy: Option<&Path>) -> anyhow::Result<(String, Vec<u8>)> {
    if let Some(path) = cli_policy {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read policy file `{}`", path.display()))?;
        return Ok((path.display().to_string(), bytes));
    }
    let local = Path::new("policy.yaml");
    if local.is_file() {
        let bytes = std::fs::read(local).context("cannot read policy file `policy.yaml`")?;
        return Ok(("policy.yaml".to_string(), bytes));
    }
    let embedded = crate::embedded::default_policy();
    anyhow::ensure!(
        !embedded.is_empty(),
        "no policy: pass --policy PATH (the embedded seed policy is missing from this build)"
    );
    Ok((EMBEDDED_POLICY_NAME.to_string(), embedded.to_vec()))
}

/// A validated policy with its display name and the exact bytes it was loaded from (stored
/// with the audit log so `audit verify` can check clauses against it).
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// Display name (path, or `embedded:…`).
    pub name: String,
    /// The validated policy.
    pub policy: Policy,
    /// The file's bytes.
    pub src: Vec<u8>,
}

impl LoadedPolicy {
    /// The file's text (lossy UTF-8; a policy that loaded is valid UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.src).into_owned()
    }
}

/// Validates `bytes` named `name`: warnings are printed to stderr and the policy returned; an
/// invalid policy prints every diagnostic and gives `Err(ExitStatus::CheckFailed)` (2).
pub fn load_reported(name: String, bytes: Vec<u8>) -> Result<LoadedPolicy, ExitStatus> {
    match crate::policy::load(&name, &bytes) {
        Ok((policy, warnings)) => {
            for w in &warnings {
                eprintln!("{w}");
            }
            Ok(LoadedPolicy {
                name,
                policy,
                src: bytes,
            })
        }
        Err(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            let errors = diags.iter().filter(|d| d.is_error()).count();
            eprintln!(
                "error: policy `{name}` is invalid ({errors} error{}); run `closegate-engine validate`",
                plural(errors)
            );
            Err(ExitStatus::CheckFailed)
        }
    }
}

/// Resolves ([`resolve_policy`]) and loads the policy in force, reading the file once. An
/// unreadable file prints the error and gives `Err(ExitStatus::Error)` (1); an invalid one
/// gives `Err(ExitStatus::CheckFailed)` (2).
pub fn load_policy(cli_policy: Option<&Path>) -> Result<LoadedPolicy, ExitStatus> {
    let (name, bytes) = match resolve_policy(cli_policy) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Err(ExitStatus::Error);
        }
    };
    load_reported(name, bytes)
}

/// [`load_policy`] for commands that need only the name and the policy.
pub fn require_policy(cli_policy: Option<&Path>) -> Result<(String, Policy), ExitStatus> {
    load_policy(cli_policy).map(|l| (l.name, l.policy))
}

/// `""` or `"s"`.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Prints an error chain to stderr (`error: outer: inner`) and returns exit 1.
pub(crate) fn report_error(e: &anyhow::Error) -> ExitStatus {
    eprintln!("error: {e:#}");
    ExitStatus::Error
}
