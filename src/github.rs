//! The GitHub Actions artifact history as a source of `eval-runs.json` (issue 7).
//!
//! Access pattern (see `docs/eval-runs.md` for the request budget):
//! 1. `GET /repos/{o}/{r}` for the default branch (unless given) and the retention setting
//!    (`/actions/permissions/artifact-and-log-retention`; a 403/404 leaves it unknown);
//! 2. the window is split into month-sized `created` ranges, each listed with `per_page=100`,
//!    following `link: rel="next"`; a range reporting more than 1,000 runs is split again, a
//!    range that yields fewer runs than its `total_count` is an error; runs are de-duplicated by id;
//! 3. per run, with bounded concurrency: list its artifacts (paginated, our own route), pick the
//!    newest whose name starts with the prefix, download it (302 → blob without credentials),
//!    validate it and read `soc2-monitor.json` in memory.
//!
//! This module never prints the token and never writes files: it returns [`RunRecord`]s for
//! `crate::evidence::eval_runs` to assemble.

pub mod artifact;
pub mod client;
pub mod model;
pub mod token;

use crate::evidence::eval_runs::{self, RunRecord, RunStatus, Tz, Window};
use artifact::InvalidArtifact;
use chrono::{Datelike, Duration as CDuration, NaiveDate};
use client::{path_of, Client, ClientSettings, Target};
use model::{Artifact, ArtifactsPage, Repository, Retention, RunsPage, WorkflowRun};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
pub use token::Token;

/// Largest accepted artifact zip.
pub const MAX_ZIP_BYTES: u64 = 32 * 1024 * 1024;
/// The API caps filtered run listings at this many results.
pub const LISTING_CAP: u64 = 1000;

/// Errors of the GitHub source. None of them carries the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GithubError {
    /// The client could not be built.
    #[error("cannot build the github client: {0}")]
    Build(String),
    /// Connection-level failure after retries.
    #[error("request to `{path}` failed: {message}")]
    Transport {
        /// Path.
        path: String,
        /// Cause.
        message: String,
    },
    /// Unexpected HTTP status.
    #[error("`{path}` answered HTTP {status}")]
    Status {
        /// Path.
        path: String,
        /// Status.
        status: u16,
    },
    /// Rate limit whose reset is too far away.
    #[error(
        "rate limit exhausted on `{path}`: resets at {reset}, beyond --max-rate-wait {max_wait}s"
    )]
    RateLimited {
        /// Path.
        path: String,
        /// Reset time (RFC 3339) or the retry-after.
        reset: String,
        /// The allowed wait.
        max_wait: u64,
    },
    /// A body that is not the expected JSON.
    #[error("unexpected response from `{path}`: {message}")]
    Json {
        /// Path.
        path: String,
        /// Cause.
        message: String,
    },
    /// A listing that returned fewer runs than it announced.
    #[error("incomplete listing `{range}`: got {got} of {total} runs")]
    Incomplete {
        /// The created range.
        range: String,
        /// Runs received.
        got: u64,
        /// Runs announced.
        total: u64,
    },
    /// Bad `--github-repo`.
    #[error("invalid repository `{0}`: expected OWNER/REPO")]
    BadRepo(String),
    /// A runtime problem.
    #[error("{0}")]
    Runtime(String),
}

/// Options of the GitHub source.
#[derive(Debug, Clone)]
pub struct GithubOptions {
    /// API base (`GITHUB_API_URL`), without trailing slash.
    pub api_url: String,
    /// `OWNER/REPO`.
    pub repo: String,
    /// Workflow file name or id.
    pub workflow: String,
    /// Artifact name prefix.
    pub artifact_prefix: String,
    /// Token.
    pub token: Option<Token>,
    /// Concurrent runs processed.
    pub concurrency: usize,
    /// Longest rate-limit wait.
    pub max_rate_wait: Duration,
    /// Events that qualify.
    pub qualifying_events: Vec<String>,
    /// Branch that qualifies; `None` = the repository's default branch.
    pub qualifying_branch: Option<String>,
    /// First backoff step.
    pub backoff_base: Duration,
    /// Progress display.
    pub progress: Progress,
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// No progress output.
    Off,
    /// A bar (TTY).
    Bar,
    /// Plain periodic lines (CI).
    Lines,
}

/// What the GitHub source found.
#[derive(Debug)]
pub struct GithubHistory {
    /// One record per run (not yet sorted).
    pub runs: Vec<RunRecord>,
    /// Retention days, when readable.
    pub retention_days: Option<u32>,
    /// The qualifying branch used.
    pub qualifying_branch: String,
    /// Requests sent to the API host.
    pub api_requests: u64,
    /// Requests sent to the blob host.
    pub blob_requests: u64,
    /// Retries.
    pub retries: u64,
}

/// Month-sized `created` ranges covering the window in `tz`: `(first_day, last_day)` pairs.
pub fn month_ranges(window: &Window) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = window.since;
    while start <= window.until {
        let next_month = if start.month() == 12 {
            NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
        };
        let end = match next_month.and_then(|n| n.pred_opt()) {
            Some(e) if e < window.until => e,
            _ => window.until,
        };
        out.push((start, end));
        match end.succ_opt() {
            Some(n) => start = n,
            None => break,
        }
    }
    out
}

fn created_query(from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> String {
    let f = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!("{}..{}", f(from), f(to))
}

/// Reads the whole history for `window` (blocking: runs its own tokio runtime).
pub fn fetch_history(
    opts: &GithubOptions,
    window: &Window,
    tz: &Tz,
) -> Result<GithubHistory, GithubError> {
    let (owner, name) = opts
        .repo
        .split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| GithubError::BadRepo(opts.repo.clone()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| GithubError::Runtime(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(fetch_async(opts, owner, name, window, tz))
}

async fn fetch_async(
    opts: &GithubOptions,
    owner: &str,
    name: &str,
    window: &Window,
    tz: &Tz,
) -> Result<GithubHistory, GithubError> {
    let client = Arc::new(Client::new(ClientSettings {
        api_url: opts.api_url.trim_end_matches('/').to_string(),
        token: opts.token.clone(),
        max_rate_wait: opts.max_rate_wait,
        backoff_base: opts.backoff_base,
        seed: 0x636c_6f73_6567_6174,
    })?);
    let base = format!("{}/repos/{owner}/{name}", client.api_url());

    let branch = match &opts.qualifying_branch {
        Some(b) => b.clone(),
        None => client.get_json::<Repository>(&base).await?.0.default_branch,
    };
    let retention_url = format!("{base}/actions/permissions/artifact-and-log-retention");
    let retention_days = match client.send(Target::Api(&retention_url)).await? {
        a if a.status == 200 => Some(
            serde_json::from_slice::<Retention>(&a.body)
                .map_err(|e| GithubError::Json {
                    path: path_of(&retention_url).to_string(),
                    message: e.to_string(),
                })?
                .days,
        ),
        a => {
            tracing::warn!(
                "cannot read the artifact retention setting (HTTP {}): the token may lack admin read",
                a.status
            );
            None
        }
    };

    // Listing.
    let mut runs: BTreeMap<u64, WorkflowRun> = BTreeMap::new();
    let wf = &opts.workflow;
    let mut ranges: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> =
        month_ranges(window)
            .into_iter()
            .map(|(a, b)| {
                let end = b
                    .succ_opt()
                    .map(|n| tz.day_start(n))
                    .unwrap_or_else(|| tz.day_start(b) + CDuration::days(1));
                (tz.day_start(a), end - CDuration::seconds(1))
            })
            .collect();
    while let Some((from, to)) = ranges.pop() {
        let range = created_query(from, to);
        let mut url = format!("{base}/actions/workflows/{wf}/runs?created={range}&per_page=100");
        let mut got = 0u64;
        let mut total = 0u64;
        let mut first = true;
        let mut split = false;
        loop {
            let (page, next) = client.get_json::<RunsPage>(&url).await?;
            if first {
                total = page.total_count;
                first = false;
                if total > LISTING_CAP && to - from > CDuration::minutes(2) {
                    let mid = from + (to - from) / 2;
                    ranges.push((from, mid));
                    ranges.push((mid + CDuration::seconds(1), to));
                    split = true;
                    break;
                }
            }
            for r in page.workflow_runs {
                got += 1;
                let keep = match runs.get(&r.id) {
                    Some(old) => r.run_attempt.unwrap_or(1) >= old.run_attempt.unwrap_or(1),
                    None => true,
                };
                if keep {
                    runs.insert(r.id, r);
                }
            }
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
        if !split && got < total {
            return Err(GithubError::Incomplete { range, got, total });
        }
    }

    // Per run.
    let total_runs = runs.len() as u64;
    let progress = ProgressSink::new(opts.progress, total_runs);
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    let ctx = Arc::new(RunCtx {
        base: base.clone(),
        prefix: opts.artifact_prefix.clone(),
        events: opts.qualifying_events.clone(),
        branch: branch.clone(),
        tz: *tz,
    });
    for (_, run) in runs {
        let client = Arc::clone(&client);
        let sem = Arc::clone(&sem);
        let ctx = Arc::clone(&ctx);
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            process_run(&client, &ctx, run).await
        });
    }
    let mut out = Vec::with_capacity(total_runs as usize);
    while let Some(joined) = set.join_next().await {
        let rec = joined.map_err(|e| GithubError::Runtime(format!("worker failed: {e}")))??;
        out.push(rec);
        progress.inc();
    }
    progress.finish();
    Ok(GithubHistory {
        runs: out,
        retention_days,
        qualifying_branch: branch,
        api_requests: client.api_requests(),
        blob_requests: client.blob_requests(),
        retries: client.retries(),
    })
}

struct RunCtx {
    base: String,
    prefix: String,
    events: Vec<String>,
    branch: String,
    tz: Tz,
}

fn record_for(run: &WorkflowRun, ctx: &RunCtx) -> RunRecord {
    let time = run.run_started_at.unwrap_or(run.created_at);
    let qualifies = ctx.events.iter().any(|e| e == &run.event)
        && run.head_branch.as_deref() == Some(ctx.branch.as_str());
    RunRecord {
        run_id: run.id.to_string(),
        date: ctx.tz.date_of(run.created_at),
        event: run.event.clone(),
        qualifies,
        status: RunStatus::MissingArtifact,
        overall_ok: None,
        eval_run_id: None,
        rows: Vec::new(),
        reason: None,
        time,
        file: None,
        branch: run.head_branch.clone(),
        head_sha: Some(run.head_sha.clone()),
        run_number: Some(run.run_number),
        run_attempt: run.run_attempt,
        conclusion: run.conclusion.clone(),
        html_url: Some(run.html_url.clone()),
        created_at: Some(run.created_at),
        artifact_name: None,
        artifact_id: None,
        artifact_digest: None,
        monitor_sha256: None,
    }
}

async fn process_run(
    client: &Client,
    ctx: &RunCtx,
    run: WorkflowRun,
) -> Result<RunRecord, GithubError> {
    let mut rec = record_for(&run, ctx);
    if run.status.as_deref() != Some("completed") {
        rec.status = RunStatus::InProgress;
        rec.reason = Some(format!(
            "run status `{}`",
            run.status.as_deref().unwrap_or("unknown")
        ));
        return Ok(rec);
    }
    // Artifacts, paginated (octocrab's list ignores per_page: our own route).
    let mut url = format!(
        "{}/actions/runs/{}/artifacts?per_page=100",
        ctx.base, run.id
    );
    let mut picked: Option<Artifact> = None;
    loop {
        let (page, next) = client.get_json::<ArtifactsPage>(&url).await?;
        for a in page.artifacts {
            if a.name.starts_with(&ctx.prefix)
                && picked
                    .as_ref()
                    .is_none_or(|p| (a.created_at, a.id) > (p.created_at, p.id))
            {
                picked = Some(a);
            }
        }
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    let Some(art) = picked else {
        let failed = matches!(
            run.conclusion.as_deref(),
            Some("failure" | "cancelled" | "timed_out" | "startup_failure")
        );
        rec.status = if failed {
            RunStatus::RunFailed
        } else {
            RunStatus::MissingArtifact
        };
        return Ok(rec);
    };
    rec.artifact_name = Some(art.name.clone());
    rec.artifact_id = Some(art.id);
    rec.artifact_digest = art.digest.clone();
    if art.expired {
        rec.status = RunStatus::Expired;
        rec.reason = Some("listed as expired".into());
        return Ok(rec);
    }
    match download(client, ctx, &art).await? {
        Downloaded::Expired => {
            rec.status = RunStatus::Expired;
            rec.reason = Some("download answered 410 Gone".into());
        }
        Downloaded::Invalid(why) => {
            rec.status = RunStatus::InvalidArtifact;
            rec.reason = Some(why.to_string());
        }
        Downloaded::Zip(bytes) => match artifact::extract_monitor(&bytes, art.digest.as_deref()) {
            Err(why) => {
                rec.status = RunStatus::InvalidArtifact;
                rec.reason = Some(why.to_string());
            }
            Ok(json) => {
                let label = format!("artifact `{}` ({})/soc2-monitor.json", art.name, art.id);
                match eval_runs::parse_monitor(&label, &json) {
                    Err(e) => {
                        rec.status = RunStatus::InvalidArtifact;
                        rec.reason = Some(e.to_string());
                    }
                    Ok(m) => {
                        rec.status = if m.overall_ok {
                            RunStatus::Ok
                        } else {
                            RunStatus::Fail
                        };
                        rec.overall_ok = Some(m.overall_ok);
                        rec.eval_run_id = Some(m.eval_run_id);
                        rec.rows = m.deterministic_rows;
                        rec.monitor_sha256 = Some(eval_runs::sha256_hex(&json));
                    }
                }
            }
        },
    }
    Ok(rec)
}

enum Downloaded {
    Zip(Vec<u8>),
    Expired,
    Invalid(InvalidArtifact),
}

async fn download(
    client: &Client,
    ctx: &RunCtx,
    art: &Artifact,
) -> Result<Downloaded, GithubError> {
    if art.size_in_bytes > MAX_ZIP_BYTES {
        return Ok(Downloaded::Invalid(InvalidArtifact::TooLarge(
            MAX_ZIP_BYTES,
        )));
    }
    // Rebuilt from the API base: a URL from a response never receives the token.
    let url = format!("{}/actions/artifacts/{}/zip", ctx.base, art.id);
    let a = client.send(Target::Redirect(&url)).await?;
    match a.status {
        410 => return Ok(Downloaded::Expired),
        301 | 302 | 303 | 307 | 308 => {}
        200 => {
            return Ok(Downloaded::Invalid(InvalidArtifact::Download(
                "download answered 200 instead of a redirect".into(),
            )))
        }
        401 | 403 => {
            return Err(GithubError::Status {
                path: path_of(&url).to_string(),
                status: a.status,
            })
        }
        s => {
            return Ok(Downloaded::Invalid(InvalidArtifact::Download(format!(
                "download answered HTTP {s}"
            ))))
        }
    }
    let Some(loc) = a
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return Ok(Downloaded::Invalid(InvalidArtifact::Download(
            "redirect without `Location`".into(),
        )));
    };
    let b = client
        .send(Target::Blob {
            url: &loc,
            cap: MAX_ZIP_BYTES,
        })
        .await?;
    if b.status == 410 {
        return Ok(Downloaded::Expired);
    }
    if b.status != 200 {
        return Ok(Downloaded::Invalid(InvalidArtifact::Download(format!(
            "blob host answered HTTP {}",
            b.status
        ))));
    }
    if b.body.len() as u64 > MAX_ZIP_BYTES {
        return Ok(Downloaded::Invalid(InvalidArtifact::TooLarge(
            MAX_ZIP_BYTES,
        )));
    }
    Ok(Downloaded::Zip(b.body))
}

/// Progress display: an indicatif bar on a TTY, plain lines every 10% otherwise.
struct ProgressSink {
    bar: Option<indicatif::ProgressBar>,
    lines: bool,
    total: u64,
    done: std::sync::atomic::AtomicU64,
}

impl ProgressSink {
    fn new(mode: Progress, total: u64) -> ProgressSink {
        let bar = (mode == Progress::Bar).then(|| {
            let b = indicatif::ProgressBar::new(total);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs {elapsed}")
            {
                b.set_style(style);
            }
            b
        });
        ProgressSink {
            bar,
            lines: mode == Progress::Lines,
            total,
            done: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn inc(&self) {
        let n = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Some(b) = &self.bar {
            b.inc(1);
        } else if self.lines {
            let step = (self.total / 10).max(1);
            if n.is_multiple_of(step) || n == self.total {
                eprintln!("eval-runs: {n}/{} runs read", self.total);
            }
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn months_cover_the_window_exactly() {
        let w = Window::new(
            "2025-12-15".parse().unwrap(),
            "2026-03-02".parse().unwrap(),
            &Tz::utc(),
        )
        .unwrap();
        let r = month_ranges(&w);
        let s: Vec<String> = r.iter().map(|(a, b)| format!("{a}..{b}")).collect();
        assert_eq!(
            s,
            [
                "2025-12-15..2025-12-31",
                "2026-01-01..2026-01-31",
                "2026-02-01..2026-02-28",
                "2026-03-01..2026-03-02"
            ]
        );
    }
}
