//! `closegate-engine ci`: the nightly job in one command, stopping at the first hard error:
//! seed (a temporary database unless `--db`/`CLOSEGATE_DB` is given), validate (policy, pack,
//! chain), one `recon run` pass, eval (all dimensions), soc2-monitor. Ends with a compact table.
//! Exit: 0 ok; 2 a check failed (with `--fail-on-regression`, a FAIL or MISSING row), after
//! every artifact is written; 1 could not run.

use crate::audit::chain::Verifier;
use crate::cli::{CiArgs, Cli};
use crate::engine::recon_run::{self, ReconRunEnv};
use crate::eval::summary::AuditHead;
use crate::exit::ExitStatus;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use std::time::Instant;

/// `ci`.
pub fn run(cli: &Cli, a: &CiArgs) -> Result<ExitStatus> {
    let started = Instant::now();
    let mut stages: Vec<(String, String)> = Vec::new();
    let run_id = super::eval::run_id(a.common.run_id.as_deref())?;
    let tmp = tempfile::tempdir().context("cannot create a temporary folder")?;
    let db = cli
        .db
        .clone()
        .unwrap_or_else(|| tmp.path().join("recon.db"));

    // 1. seed
    let (pack, policy) = match super::seed::load_pack(
        &a.common.pack,
        a.common.pack_dir.as_deref(),
        cli.policy.as_deref(),
    ) {
        Ok(x) => x,
        Err(status) => return Ok(status),
    };
    let policy_src = policy.text();
    let seeded = super::seed::build(&db, pack.clone(), policy.clone(), None, a.common.force)
        .context("seed failed")?;
    stages.push((
        "seed".into(),
        format!("pack `{}`, {} entries", seeded.pack.name, seeded.entries),
    ));
    stages.push((
        "validate".into(),
        format!("policy OK ({}), pack OK", &policy.policy.sha256[..12]),
    ));

    // 2. one recon pass, timestamped from the run id so the log is reproducible
    let ts = chrono::NaiveDateTime::parse_from_str(&run_id, "%Y%m%d-%H%M%S")
        .map(|t| t.and_utc())
        .unwrap_or(pack.seeded_at);
    let mut store = Store::open_existing(&db)?;
    let env = ReconRunEnv {
        policy: &policy.policy,
        policy_name: &policy.name,
        policy_src: &policy_src,
        ts,
        gate: super::eval::gate_from_env()?,
    };
    let rr = recon_run::run(&mut store, &env, None).context("recon run failed")?;
    stages.push((
        "recon run".into(),
        format!(
            "{} proposed, {} decisions",
            rr.proposed.values().sum::<u64>(),
            rr.decisions.values().sum::<u64>()
        ),
    ));
    let report = store.verify(Verifier::new().with_policies(store.policy_documents()?))?;
    if !report.ok {
        let first = report
            .first_problem()
            .map(|p| p.message.clone())
            .unwrap_or_default();
        bail!("audit chain of `{}` does not verify: {first}", db.display());
    }
    let head = store
        .audit_head()?
        .map(|(seq, hash)| AuditHead { seq, hash });
    drop(store);
    stages.push((
        "audit verify".into(),
        format!("{} events intact", report.events),
    ));

    // 3. eval
    let written = super::eval::run_loaded(&a.common, &run_id, pack, policy, head, true)?;
    stages.push(("eval".into(), format!("{}", written.dir.display())));

    // 4. monitor
    let report = super::monitor::write_report(
        &written.latest_summary,
        a.thresholds.as_deref(),
        &a.out,
        a.common.force,
    )?;
    stages.push(("soc2-monitor".into(), format!("{}", a.out.display())));
    super::monitor::notify_if_failed(&report, cli.quiet);
    if !cli.quiet {
        println!("closegate-engine ci, run {run_id}");
        for (stage, what) in &stages {
            println!("  {stage:<14} {what}");
        }
        println!("dimensions:");
        super::monitor::print_rows(&report);
        println!("finished in {:.1}s", started.elapsed().as_secs_f64());
    }
    Ok(if a.fail_on_regression && !report.overall_ok {
        ExitStatus::CheckFailed
    } else {
        ExitStatus::Ok
    })
}
