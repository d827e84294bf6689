//! `closegate-engine audit-evidence-export`: the glue that builds the auditor's PBC bundle. Reads
//! the store (one snapshot for the events, the chain verification, actors, dead letters, sweeper
//! runs), runs `git log --follow` on `--policy-path`, builds `eval-runs.json` through
//! `cmd::eval_runs::build`, hands everything to the pure `evidence::*` renderers, and writes the
//! zip atomically (temp file + rename; never a partial zip; an existing `--out` only with
//! `--force`).
//!
//! Refuses (exit 1, nothing written): an existing `--out` without `--force`, `since > until`, a
//! window starting before the earliest retained event, a missing database, a corrupt monitor
//! file. A broken audit chain is reported in the README and gives exit 2 (the bundle is still
//! written: the auditor must see it). The only wall-clock value is the README's generation time,
//! pinned by `--generated-at` or `SOURCE_DATE_EPOCH`.

use crate::audit::chain::Verifier;
use crate::cli::{Cli, EvalRunsSourceArgs, ExportArgs};
use crate::engine::seeding;
use crate::evidence::bundle::{self, FILES};
use crate::evidence::eval_runs::{sha256_hex, Source, Tz, Window};
use crate::evidence::policy_versions::{self, PolicyVersions};
use crate::evidence::readme::{self, BoundaryRule, ChainResult, ReadmeInput};
use crate::evidence::sample::{self, Sample, SampleKind, SampledEvent, SAMPLE_SIZE};
use crate::exit::ExitStatus;
use crate::policy::model::Policy;
use crate::store::{OutboxState, Store, StoreError};
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Single-quotes a shell word when it needs it.
fn sh(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,+@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The generation time and where it came from.
fn generated_at(arg: Option<&str>) -> Result<(String, String)> {
    if let Some(s) = arg {
        let t = DateTime::parse_from_rfc3339(s)
            .with_context(|| format!("--generated-at `{s}` is not an RFC 3339 time"))?;
        return Ok((ts(t.with_timezone(&Utc)), "--generated-at".into()));
    }
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        let secs: i64 = v
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH `{v}` is not a number of seconds"))?;
        let t = DateTime::from_timestamp(secs, 0)
            .with_context(|| format!("SOURCE_DATE_EPOCH `{v}` is out of range"))?;
        return Ok((ts(t), "SOURCE_DATE_EPOCH".into()));
    }
    Ok((ts(Utc::now()), "the wall clock (not pinned)".into()))
}

/// Everything read from the store in one snapshot. The window's events are streamed once:
/// only the sample's 50 rows and the counts are kept.
struct Snapshot {
    sample: Sample,
    seq_range: Option<(u64, u64)>,
    by_actor: BTreeMap<String, BTreeMap<String, u64>>,
    by_type: BTreeMap<String, u64>,
    versions: BTreeMap<String, (u64, String, String)>,
    head_at_until: (u64, String),
    registry: Vec<seeding::RegistryActor>,
    actors: Vec<crate::store::ActorRow>,
    dead: Vec<crate::store::OutboxRow>,
    sweeper: Vec<crate::store::SweeperRunRow>,
}

fn read_snapshot(
    store: &Store,
    policy: &Policy,
    window: &Window,
    start: &str,
    end: &str,
) -> Result<Snapshot> {
    store.read(|tx| {
        let head_at_until = tx.last_event_before(end)?.unwrap_or_default();
        let seed = sample::sample_seed(
            &window.since.to_string(),
            &window.until.to_string(),
            &head_at_until.1,
        );
        let mut sampler = sample::Sampler::new(&seed, policy);
        let mut seq_range: Option<(u64, u64)> = None;
        let mut by_actor: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
        let mut versions: BTreeMap<String, (u64, String, String)> = BTreeMap::new();
        tx.for_each_event(1, |e| {
            let b = &e.body;
            if b.ts.as_str() < start || b.ts.as_str() >= end {
                return Ok::<_, anyhow::Error>(());
            }
            sampler.offer(&e);
            seq_range =
                Some(seq_range.map_or((e.seq, e.seq), |(a, z)| (a.min(e.seq), z.max(e.seq))));
            *by_actor
                .entry(b.actor_id.clone())
                .or_default()
                .entry(b.event_type.as_str().to_string())
                .or_default() += 1;
            *by_type
                .entry(b.event_type.as_str().to_string())
                .or_default() += 1;
            let v =
                versions
                    .entry(b.policy_version.clone())
                    .or_insert((0, b.ts.clone(), b.ts.clone()));
            v.0 += 1;
            if b.ts < v.1 {
                v.1 = b.ts.clone();
            }
            if b.ts > v.2 {
                v.2 = b.ts.clone();
            }
            Ok(())
        })?;
        let sel = sampler.finish();
        let mut rows = Vec::with_capacity(sel.picks.len());
        for p in sel.picks {
            let event = tx
                .get_event(p.seq)?
                .with_context(|| format!("event seq {} vanished during the export", p.seq))?;
            rows.push(SampledEvent {
                kind: p.kind,
                rank: p.rank,
                boundary_reason: p.boundary_reason,
                event,
            });
        }
        let registry = seeding::registry(tx).map_err(anyhow::Error::new)?;
        Ok(Snapshot {
            sample: Sample {
                seed: sel.seed,
                population: sel.population,
                boundary_population: sel.boundary_population,
                boundary_eligible: sel.boundary_eligible,
                rows,
            },
            seq_range,
            by_actor,
            by_type,
            versions,
            head_at_until,
            registry,
            actors: tx.list_actors()?,
            dead: tx.list_outbox(Some(OutboxState::DeadLetter))?,
            sweeper: tx.list_sweeper_runs()?,
        })
    })
}

fn git(dir: &Path, args: &[&str]) -> std::result::Result<Vec<u8>, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "core.quotepath=off", "-c", "color.ui=never"])
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| format!("cannot run `git`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`git {}` failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// `git log --follow` of the policy file, each commit with the file's sha256 at that commit.
/// `Err(note)` when the history cannot be read.
fn policy_history(path: &Path) -> std::result::Result<Vec<policy_versions::PolicyCommit>, String> {
    if !path.is_file() {
        return Err(format!("`{}` is not a file", path.display()));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let top = git(dir, &["rev-parse", "--show-toplevel"])
        .map_err(|_| format!("`{}` is not in a git repository", path.display()))?;
    let top = String::from_utf8_lossy(&top).trim().to_string();
    let log = git(
        dir,
        &[
            "log",
            "--follow",
            "--name-only",
            policy_versions::GIT_LOG_FORMAT,
            "--",
            &file,
        ],
    )?;
    let mut commits = policy_versions::parse_git_log(&String::from_utf8_lossy(&log));
    for c in &mut commits {
        if let Ok(bytes) = git(
            Path::new(&top),
            &["show", &format!("{}:{}", c.commit, c.path)],
        ) {
            c.file_sha256 = Some(sha256_hex(&bytes));
        }
    }
    Ok(commits)
}

/// The source flags as resolved (the GitHub repository even when it came from
/// `GITHUB_REPOSITORY`, and the branch actually used for qualifying runs).
fn source_words(s: &EvalRunsSourceArgs, used: &Source) -> Vec<String> {
    if let Some(d) = &s.eval_runs_dir {
        return vec!["--eval-runs-dir".into(), sh(&d.display().to_string())];
    }
    let mut v = Vec::new();
    if let Some(r) = used.repo.as_ref().or(s.github_repo.as_ref()) {
        v.extend(["--github-repo".into(), sh(r)]);
    }
    v.extend([
        "--workflow".into(),
        sh(&s.workflow),
        "--artifact-prefix".into(),
        sh(&s.artifact_prefix),
        "--qualifying-events".into(),
        sh(&s.qualifying_events.join(",")),
    ]);
    if let Some(b) = used
        .qualifying_branch
        .as_ref()
        .or(s.qualifying_branch.as_ref())
    {
        v.extend(["--qualifying-branch".into(), sh(b)]);
    }
    v
}

/// Runs `audit-evidence-export`.
pub fn run(cli: &Cli, args: &ExportArgs) -> Result<ExitStatus> {
    let started = std::time::Instant::now();
    if args.out.exists() && !args.force {
        bail!(
            "`{}` already exists; pass --force to replace it",
            args.out.display()
        );
    }
    // An explicit --policy-path must be a file in a git work tree; without one, the policy in
    // force (--policy, else ./policy.yaml) is examined when it is a file.
    let policy_path: Option<std::path::PathBuf> = match &args.policy_path {
        Some(p) => {
            policy_history(p).map_err(|e| anyhow::anyhow!("--policy-path: {e}"))?;
            Some(p.clone())
        }
        None => cli
            .policy
            .clone()
            .or_else(|| Some(std::path::PathBuf::from("policy.yaml")))
            .filter(|p| p.is_file()),
    };
    let tz = Tz::parse(&args.tz)?;
    let window = Window::new(args.since, args.until, &tz)?;
    let (gen_at, gen_src) = generated_at(args.generated_at.as_deref())?;
    let store = Store::open_existing(&cli.db()).map_err(|e| match e {
        StoreError::Missing { .. } => anyhow::Error::new(e),
        other => anyhow::Error::new(other).context(format!("cannot read `{}`", cli.db().display())),
    })?;
    let (policy_name, policy) = match super::require_policy(cli.policy.as_deref()) {
        Ok(x) => x,
        Err(status) => return Ok(status),
    };
    let start = ts(tz.day_start(window.since));
    let end_day = window
        .until
        .succ_opt()
        .context("--until is the last representable date")?;
    let end = ts(tz.day_start(end_day));
    let Some((first_seq, first_ts)) = store.read(|tx| tx.earliest_event())? else {
        bail!(
            "the audit log of `{}` is empty: nothing to export",
            cli.db().display()
        );
    };
    let first_day = DateTime::parse_from_rfc3339(&first_ts)
        .map(|t| tz.date_of(t.with_timezone(&Utc)))
        .with_context(|| format!("event seq {first_seq} has an unreadable ts `{first_ts}`"))?;
    if window.since < first_day {
        bail!(
            "the window starts on `{}`, before the earliest retained event (seq {first_seq} at `{first_ts}`, day `{first_day}` in {}): choose --since {first_day} or later",
            window.since,
            tz.name()
        );
    }
    // Monitor runs (may fail on a corrupt file, named): before the heavier work.
    let eval = super::eval_runs::build(&window, &tz, &args.source, cli.quiet)?;
    let snap = read_snapshot(&store, &policy, &window, &start, &end)?;

    let report = store.verify(Verifier::new().with_policies(store.policy_documents()?))?;
    let chain = ChainResult {
        ok: report.ok,
        events: report.events,
        head_seq: report.head_seq,
        head_hash: report.head_hash.clone(),
        problems_total: report.problems_total,
        first_problem: report.first_problem().map(|p| {
            format!(
                "seq {}: {}",
                p.seq.map_or("-".into(), |s| s.to_string()),
                p.message
            )
        }),
    };

    let drawn = &snap.sample;
    let seed = drawn.seed.clone();
    let csv = sample::to_csv(drawn).into_bytes();
    let events_in_window = drawn.population;
    if events_in_window == 0 {
        eprintln!(
            "warning: no audit event falls in {}..{} ({}): the bundle's sample is empty",
            window.since,
            window.until,
            tz.name()
        );
    }

    let actors = bundle::actors(&snap.registry, &snap.actors, &snap.by_actor);
    let unregistered: Vec<String> = actors
        .iter()
        .filter(|a| !a.in_registry && a.events_in_window > 0)
        .map(|a| a.actor_id.clone())
        .collect();
    let dead = bundle::dead_letters(&snap.dead);
    let sweeps = bundle::sweeper_runs(&snap.sweeper, &start, &end);

    // Policy history.
    let (commits, note) = match &policy_path {
        None => (Vec::new(), Some("no --policy-path was given and no policy file was found, so no `policy_version` could be linked to a reviewed commit".to_string())),
        Some(p) => match policy_history(p) {
            Ok(c) => (c, None),
            Err(n) => (Vec::new(), Some(n)),
        },
    };
    let pv: PolicyVersions = policy_versions::link(
        policy_path.as_ref().map(|p| p.display().to_string()),
        note.clone(),
        commits,
        snap.versions
            .clone()
            .into_iter()
            .map(|(v, (n, a, b))| (v, n, a, b))
            .collect(),
    );
    if !pv.unreviewed_versions.is_empty() {
        eprintln!(
            "warning: {} policy version(s) in the log match no commit of the policy file: {}",
            pv.unreviewed_versions.len(),
            pv.unreviewed_versions.join(", ")
        );
    }

    let files: Vec<(&str, Vec<u8>)> = vec![
        ("audit-sample.csv", csv),
        ("actors.json", bundle::json_bytes(&actors)?),
        ("dead-letters.json", bundle::json_bytes(&dead)?),
        ("policy-versions.json", bundle::json_bytes(&pv)?),
        ("eval-runs.json", eval.to_json()?),
        ("sweeper-runs.json", bundle::json_bytes(&sweeps)?),
    ];

    // The canonical command line.
    let mut words = vec![
        "closegate-engine".to_string(),
        "--db".into(),
        sh(&cli.db().display().to_string()),
    ];
    if let Some(p) = &cli.policy {
        words.extend(["--policy".into(), sh(&p.display().to_string())]);
    }
    words.extend([
        "audit-evidence-export".into(),
        "--since".into(),
        window.since.to_string(),
        "--until".into(),
        window.until.to_string(),
        "--tz".into(),
        sh(&tz.name()),
    ]);
    if let Some(p) = &policy_path {
        words.extend(["--policy-path".into(), sh(&p.display().to_string())]);
    }
    words.extend(source_words(&args.source, &eval.source));
    words.extend(["--generated-at".into(), gen_at.clone()]);

    let c = &eval.coverage;
    let unremediated = c
        .regressions
        .iter()
        .filter(|r| r.remediated_on.is_none())
        .count();
    let retention_warning = match (eval.retention_days, eval.retention_sufficient) {
        (Some(d), Some(false)) => Some(format!(
            "artifact retention is {d} days, shorter than the window or the 365 days a Type 2 period needs: older monitor runs are lost"
        )),
        _ => None,
    };
    let input = ReadmeInput {
        command_line: words.join(" "),
        params: vec![
            ("since".into(), window.since.to_string()),
            ("until".into(), window.until.to_string()),
            ("tz".into(), tz.name()),
            (
                "window (UTC)".into(),
                format!("{start} .. {end} (end exclusive)"),
            ),
            ("database".into(), cli.db().display().to_string()),
            (
                "policy path (git history)".into(),
                policy_path
                    .as_ref()
                    .map_or("(none found)".into(), |p| p.display().to_string()),
            ),
            ("monitor runs source".into(), eval.source.kind.clone()),
            ("sample size per kind".into(), SAMPLE_SIZE.to_string()),
        ],
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: gen_at.clone(),
        generated_at_source: gen_src,
        since: window.since.to_string(),
        until: window.until.to_string(),
        tz: tz.name(),
        start_utc: start.clone(),
        end_utc: end.clone(),
        db: cli.db().display().to_string(),
        policy: (policy_name, policy.sha256.clone()),
        events_in_window,
        seq_range: snap.seq_range,
        by_type: snap.by_type.clone().into_iter().collect(),
        boundary_population: drawn.boundary_population,
        boundary_eligible: drawn.boundary_eligible,
        random_n: drawn.count(SampleKind::Random),
        boundary_n: drawn.count(SampleKind::Boundary),
        sample_size: SAMPLE_SIZE,
        seed: seed.clone(),
        head_at_until: snap.head_at_until.clone(),
        boundary_rule: BoundaryRule {
            base_currency: policy.base_currency.code().to_string(),
            threshold: policy.materiality.threshold.to_string(),
            overrides: policy
                .materiality
                .entity_overrides
                .iter()
                .map(|o| {
                    let ccy = policy
                        .entity(&o.entity)
                        .map_or("?".into(), |e| e.currency.code().to_string());
                    (o.entity.clone(), ccy, o.threshold.to_string())
                })
                .collect(),
            always_human: policy
                .always_human_accounts
                .iter()
                .map(|a| a.account.clone())
                .collect(),
        },
        chain,
        files: files
            .iter()
            .map(|(n, b)| (n.to_string(), sha256_hex(b), b.len()))
            .collect(),
        actors: actors.len(),
        unregistered_actors: unregistered,
        dead_letters: dead.len(),
        sweeper_runs: sweeps.len(),
        policy_path: policy_path.as_ref().map(|p| p.display().to_string()),
        policy_history_note: note,
        policy_commits: pv.commits.len(),
        policy_versions_seen: pv.versions_in_log.len(),
        unreviewed_versions: pv.unreviewed_versions.clone(),
        eval_runs: eval.runs.len(),
        coverage: (
            c.ok as usize,
            c.fail as usize,
            c.missing as usize,
            c.regressions.len(),
            unremediated,
        ),
        eval_source: eval.source.kind.clone(),
        retention_warning,
    };
    let mut all = files;
    all.push(("README.md", readme::render(&input).into_bytes()));
    debug_assert_eq!(all.len(), FILES.len());
    let zip = bundle::zip(&all)?;
    crate::atomic::write(&args.out, &zip, args.force)?;
    if !cli.quiet {
        println!(
            "wrote {} ({} bytes, sha256 {}): {} events in the window, sample {}+{}, chain {}, {} unreviewed policy version(s), {} dead letter(s), {} sweeper run(s), coverage {} ok/{} fail/{} missing ({:.2} s)",
            args.out.display(),
            zip.len(),
            sha256_hex(&zip),
            events_in_window,
            input.random_n,
            input.boundary_n,
            if report.ok { "intact" } else { "BROKEN" },
            pv.unreviewed_versions.len(),
            dead.len(),
            sweeps.len(),
            c.ok,
            c.fail,
            c.missing,
            started.elapsed().as_secs_f64()
        );
    }
    if !report.ok {
        eprintln!(
            "error: the audit chain is broken (see README.md of the bundle and `audit verify`)"
        );
        return Ok(ExitStatus::CheckFailed);
    }
    Ok(ExitStatus::Ok)
}
