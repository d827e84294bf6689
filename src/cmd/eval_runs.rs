//! `closegate-engine eval-runs`: builds `eval-runs.json` alone, from a folder of monitor files or
//! from the GitHub Actions artifact history, and writes it atomically (temp file + rename).
//!
//! Glue only: reads flags and the environment (`GITHUB_TOKEN`/`GH_TOKEN`, `GITHUB_API_URL`,
//! `GITHUB_REPOSITORY`), calls `github::fetch_history` or `eval_runs::load_directory`, then
//! `EvalRuns::build`. It never prints the token. `audit-evidence-export` reuses [`build`].

use crate::cli::{Cli, EvalRunsArgs, EvalRunsSourceArgs};
use crate::evidence::eval_runs::{self, EvalRuns, Source, Tz, Window};
use crate::exit::ExitStatus;
use crate::github::{self, GithubOptions, Progress, Token};
use anyhow::{bail, Context, Result};
use std::io::IsTerminal;
use std::time::Duration;

/// Default API base.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Runs the subcommand.
pub fn run(args: &EvalRunsArgs, cli: &Cli) -> Result<ExitStatus> {
    if args.out.exists() && !args.force {
        bail!(
            "`{}` exists: pass --force to overwrite it",
            args.out.display()
        );
    }
    let tz = Tz::parse(&args.tz)?;
    let window = Window::new(args.since, args.until, &tz)?;
    let doc = build(&window, &tz, &args.source, cli.quiet)?;
    let bytes = doc.to_json().context("cannot serialize eval-runs.json")?;
    crate::atomic::write(&args.out, &bytes, args.force)?;
    let c = &doc.coverage;
    println!(
        "wrote {}: {} runs; coverage {} ok, {} fail, {} missing, {} regressions",
        args.out.display(),
        doc.runs.len(),
        c.ok,
        c.fail,
        c.missing,
        c.regressions.len()
    );
    Ok(ExitStatus::Ok)
}

/// Builds the `eval-runs.json` document for a window from the configured source. Warnings
/// (retention) and the request count go to stderr.
pub fn build(
    window: &Window,
    tz: &Tz,
    source: &EvalRunsSourceArgs,
    quiet: bool,
) -> Result<EvalRuns> {
    if let Some(dir) = &source.eval_runs_dir {
        let runs = eval_runs::load_directory(dir, tz)?;
        let src = Source {
            kind: "directory".into(),
            path: Some(dir.display().to_string()),
            repo: None,
            workflow: None,
            artifact_prefix: None,
            api_url: None,
            qualifying_events: None,
            qualifying_branch: None,
        };
        return Ok(EvalRuns::build(window.clone(), src, None, runs));
    }
    let repo = source
        .github_repo
        .clone()
        .or_else(|| std::env::var("GITHUB_REPOSITORY").ok().filter(|s| !s.is_empty()))
        .context("no source: pass --eval-runs-dir DIR or --github-repo OWNER/REPO (or set GITHUB_REPOSITORY)")?;
    let api_url = std::env::var("GITHUB_API_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_API_URL.to_string())
        .trim_end_matches('/')
        .to_string();
    let token = Token::from_env();
    if token.is_none() {
        eprintln!("warning: neither GITHUB_TOKEN nor GH_TOKEN is set: unauthenticated requests are limited to 60/hour");
    }
    let progress = if quiet {
        Progress::Off
    } else if std::io::stderr().is_terminal() {
        Progress::Bar
    } else {
        Progress::Lines
    };
    let opts = GithubOptions {
        api_url: api_url.clone(),
        repo: repo.clone(),
        workflow: source.workflow.clone(),
        artifact_prefix: source.artifact_prefix.clone(),
        token,
        concurrency: usize::from(source.concurrency),
        max_rate_wait: Duration::from_secs(source.max_rate_wait),
        qualifying_events: source.qualifying_events.clone(),
        qualifying_branch: source.qualifying_branch.clone(),
        backoff_base: Duration::from_millis(source.retry_base_ms),
        progress,
    };
    let h = github::fetch_history(&opts, window, tz)
        .with_context(|| format!("cannot read the artifact history of `{repo}`"))?;
    eprintln!(
        "eval-runs: {} runs; {} API requests, {} blob downloads, {} retries",
        h.runs.len(),
        h.api_requests,
        h.blob_requests,
        h.retries
    );
    let src = Source {
        kind: "github".into(),
        path: None,
        repo: Some(repo),
        workflow: Some(source.workflow.clone()),
        artifact_prefix: Some(source.artifact_prefix.clone()),
        api_url: Some(api_url),
        qualifying_events: Some(source.qualifying_events.clone()),
        qualifying_branch: Some(h.qualifying_branch.clone()),
    };
    let doc = EvalRuns::build(window.clone(), src, h.retention_days, h.runs);
    match (doc.retention_days, doc.retention_sufficient) {
        (Some(days), Some(false)) => eprintln!(
            "WARNING: artifact retention is {days} days, shorter than the {}-day window or the \
             365 days a SOC 2 Type 2 period needs: older monitor runs are lost (EXPIRED/MISSING). \
             Raise it under Settings > Actions > Artifact and log retention",
            window.len_days()
        ),
        (None, _) => eprintln!(
            "warning: artifact retention unknown (the token cannot read the retention setting)"
        ),
        _ => {}
    }
    Ok(doc)
}
