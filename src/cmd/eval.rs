//! `closegate-engine eval`: resolve fixtures, pack, policy and run id; run the harness; write
//! `<out-dir>/<run-id>/{summary.json,report.json,report.md}` atomically and copy them to
//! `<out-dir>/latest/`.

use super::LoadedPolicy;
use crate::cli::{Cli, EvalCommonArgs};
use crate::eval::fault;
use crate::eval::fixtures::FixtureDir;
use crate::eval::harness::{self, EvalOptions};
use crate::eval::summary::{AuditHead, Summary};
use crate::exit::ExitStatus;
use crate::seed::SeedPack;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// Where an eval's files went.
#[derive(Debug, Clone)]
pub struct Written {
    /// `<out-dir>/<run-id>`.
    pub dir: PathBuf,
    /// `<out-dir>/latest/summary.json`.
    pub latest_summary: PathBuf,
    /// The summary.
    pub summary: Summary,
}

/// The run id: `--run-id`, else `SOURCE_DATE_EPOCH`, else the UTC start time.
pub fn run_id(arg: Option<&str>) -> Result<String> {
    if let Some(id) = arg {
        if crate::monitor::generated_at(id).is_none() {
            bail!("--run-id `{id}` is not of the form YYYYMMDD-HHMMSS");
        }
        return Ok(id.to_string());
    }
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        let secs: i64 = epoch
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH `{epoch}` is not a number of seconds"))?;
        let t = chrono::DateTime::from_timestamp(secs, 0)
            .with_context(|| format!("SOURCE_DATE_EPOCH `{epoch}` is out of range"))?;
        return Ok(t.format("%Y%m%d-%H%M%S").to_string());
    }
    Ok(chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string())
}

/// The gate to evaluate with: the real one, or a broken one under `CLOSEGATE_FAULT_INJECT`.
pub fn gate_from_env() -> Result<crate::engine::GateFn> {
    match std::env::var(fault::ENV) {
        Ok(name) if !name.is_empty() => {
            let g = fault::gate_for(&name).map_err(anyhow::Error::msg)?;
            eprintln!(
                "warning: fault injection `{name}` is active: the gate is deliberately broken"
            );
            Ok(g)
        }
        _ => Ok(crate::gate::evaluate),
    }
}

fn dir_or(p: &Option<PathBuf>, embedded: &str) -> FixtureDir {
    match p {
        Some(d) => FixtureDir::Disk(d.clone()),
        None => FixtureDir::embedded(embedded),
    }
}

/// Runs the eval on an already loaded pack and policy and writes its files. Prints the table
/// unless `quiet`.
pub fn run_loaded(
    a: &EvalCommonArgs,
    run_id: &str,
    pack: SeedPack,
    policy: LoadedPolicy,
    audit_head: Option<AuditHead>,
    quiet: bool,
) -> Result<Written> {
    let dir = a.out_dir.join(run_id);
    if dir.exists() && !a.force {
        bail!(
            "`{}` already exists; pass --force or another --run-id",
            dir.display()
        );
    }
    let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
    let mut dims = a.dimensions.clone();
    dims.sort();
    dims.dedup();
    let opts = EvalOptions {
        dimensions: dims,
        run_id: run_id.to_string(),
        cases: dir_or(&a.cases, "accuracy"),
        scenarios: dir_or(&a.scenarios, "policy"),
        adversarial: dir_or(&a.adversarial, "adversarial"),
        pack,
        policy_name: policy.name,
        policy_src: policy.src,
        policy: policy.policy,
        gate: gate_from_env()?,
        repetitions: a.repetitions,
        scratch: scratch.path().to_path_buf(),
        audit_head,
    };
    let out = harness::run(&opts).map_err(anyhow::Error::msg)?;
    let summary_json = pretty(&serde_json::to_value(&out.summary)?);
    let report_json = pretty(&out.report);
    let md = crate::eval::report::render(&out.summary);
    let latest = a.out_dir.join("latest");
    for d in [&dir, &latest] {
        for (name, bytes) in [
            ("summary.json", summary_json.as_bytes()),
            ("report.json", report_json.as_bytes()),
            ("report.md", md.as_bytes()),
        ] {
            crate::atomic::write(&d.join(name), bytes, true)?;
        }
    }
    if !quiet {
        print_table(&out.summary);
        println!("wrote {} (copied to {})", dir.display(), latest.display());
    }
    Ok(Written {
        dir,
        latest_summary: latest.join("summary.json"),
        summary: out.summary,
    })
}

/// `eval`: loads the pack and policy, reads the audit head of `--db` when it exists, runs.
pub fn run(cli: &Cli, a: &EvalCommonArgs) -> Result<ExitStatus> {
    let run_id = run_id(a.run_id.as_deref())?;
    let (pack, policy) =
        match super::seed::load_pack(&a.pack, a.pack_dir.as_deref(), cli.policy.as_deref()) {
            Ok(x) => x,
            Err(status) => return Ok(status),
        };
    let audit_head = if cli.db().exists() {
        Store::open_existing(&cli.db())
            .ok()
            .and_then(|s| s.audit_head().ok().flatten())
            .map(|(seq, hash)| AuditHead { seq, hash })
    } else {
        None
    };
    run_loaded(a, &run_id, pack, policy, audit_head, cli.quiet)?;
    Ok(ExitStatus::Ok)
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn print_table(s: &Summary) {
    let d = &s.dimensions;
    println!("eval {}:", s.eval_run_id);
    if let Some(a) = &d.accuracy {
        println!(
            "  accuracy     macro-F1 {} on {} cases",
            crate::monitor::fmt_score(a.macro_f1),
            a.cases
        );
    }
    if let Some(p) = &d.policy {
        println!(
            "  policy       {}/{} scenarios passed",
            p.passed, p.scenarios
        );
    }
    if let Some(l) = &d.latency {
        println!(
            "  latency      action p95 {:.1}ms, recon run p95 {:.1}ms, ~{:.0} matches/sec",
            l.action_ms.p95, l.recon_run_ms.p95, l.matches_per_sec
        );
    }
    if let Some(a) = &d.adversarial {
        println!(
            "  adversarial  {} scenarios, {} bypasses",
            a.scenarios, a.bypasses
        );
    }
}
