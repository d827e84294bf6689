//! `closegate-engine soc2-monitor`: read the summary and thresholds, build the report (pure,
//! `monitor::build`), write it atomically, notify Slack on failure, and only then decide the
//! exit code. A corrupt summary is exit 1 with `file:line:col` and writes nothing.

use crate::cli::{Cli, MonitorArgs};
use crate::exit::ExitStatus;
use crate::monitor::{self, notify, MonitorReport, RowStatus};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Loads thresholds from a file or the embedded default.
pub fn thresholds(path: Option<&Path>) -> Result<monitor::Thresholds> {
    match path {
        Some(p) => {
            let src = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read thresholds `{}`", p.display()))?;
            Ok(monitor::parse_thresholds(&p.display().to_string(), &src)?)
        }
        None => Ok(monitor::default_thresholds()?),
    }
}

/// Builds and writes the artifact; returns the report.
pub fn write_report(
    summary: &Path,
    thresholds_path: Option<&Path>,
    out: &Path,
    force: bool,
) -> Result<MonitorReport> {
    let src = std::fs::read_to_string(summary)
        .with_context(|| format!("cannot read summary `{}`", summary.display()))?;
    let s = monitor::parse_summary(&summary.display().to_string(), &src)?;
    let t = thresholds(thresholds_path)?;
    let report = monitor::build(&s, &t);
    let json = monitor::to_json(&report);
    // Idempotent re-runs may rewrite identical bytes; different content needs --force.
    let same = std::fs::read(out)
        .map(|b| b == json.as_bytes())
        .unwrap_or(false);
    if out.exists() && !same && !force {
        bail!(
            "`{}` already exists with other content; pass --force to replace it",
            out.display()
        );
    }
    crate::atomic::write(out, json.as_bytes(), true)?;
    Ok(report)
}

/// Posts to Slack when `CLOSEGATE_SLACK_HOOK` is set and a row failed. Warnings only.
pub fn notify_if_failed(report: &MonitorReport, quiet: bool) {
    let Ok(hook) = std::env::var("CLOSEGATE_SLACK_HOOK") else {
        return;
    };
    if hook.trim().is_empty() || report.overall_ok {
        return;
    }
    let env = |k: &str| std::env::var(k).ok();
    let url = notify::run_url(
        env("GITHUB_SERVER_URL").as_deref(),
        env("GITHUB_REPOSITORY").as_deref(),
        env("GITHUB_RUN_ID").as_deref(),
    );
    let body = notify::payload(report, url.as_deref());
    match notify::post(hook.trim(), &body, &notify::Delivery::default()) {
        Ok(n) => {
            if !quiet {
                eprintln!("notified Slack ({n} attempt(s))");
            }
        }
        Err(e) => eprintln!("warning: {e}"),
    }
}

/// Prints the compact table.
pub fn print_rows(report: &MonitorReport) {
    for r in &report.deterministic_rows {
        let status = match r.status {
            RowStatus::Ok => "OK",
            RowStatus::Fail => "FAIL",
            RowStatus::Missing => "MISSING",
        };
        println!("  {:<24} {:<8} {}", r.dimension, status, r.headline);
    }
    println!(
        "  overall: {}",
        if report.overall_ok { "OK" } else { "FAIL" }
    );
}

/// `soc2-monitor`.
pub fn run(cli: &Cli, a: &MonitorArgs) -> Result<ExitStatus> {
    let report = write_report(&a.summary, a.thresholds.as_deref(), &a.out, a.force)?;
    if !cli.quiet {
        print_rows(&report);
        println!("wrote {}", a.out.display());
    }
    notify_if_failed(&report, cli.quiet);
    Ok(if a.fail_on_regression && !report.overall_ok {
        ExitStatus::CheckFailed
    } else {
        ExitStatus::Ok
    })
}
