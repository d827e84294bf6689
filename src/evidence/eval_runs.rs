//! `eval-runs.json`: every monitor run in a window, and the day-by-day coverage derived from them.
//!
//! The shape is fixed by issue 6 (fields may be added, never renamed; key order as in the issue)
//! and extended by issue 7 with the GitHub run metadata. This file holds:
//! - the serde model ([`EvalRuns`], [`RunRecord`], [`Coverage`] …);
//! - the pure coverage function [`compute_coverage`] (no clock, no I/O);
//! - the parser of one `soc2-monitor.json` ([`parse_monitor`]) shared by both sources;
//! - the local-directory source ([`load_directory`]), the only I/O here (reads a folder).
//!
//! It must not talk to the network (that is `crate::github`) nor read the wall clock: the output
//! is a function of the inputs only, so the same inputs give byte-identical JSON.
//!
//! Time zones: `--tz` accepts `UTC` (or `Z`), fixed offsets such as `+02:00` / `-0500`, and IANA
//! names (`America/New_York`, with their daylight-saving rules, from chrono-tz's tz database).
//! `window.tz` records the name as given, so the day boundaries can be re-derived.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Offset, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalRunsError {
    /// `--tz` is neither UTC nor a fixed offset.
    #[error("unsupported time zone `{0}`: use `UTC` or a fixed offset such as `+02:00`")]
    BadTz(String),
    /// The window ends before it starts.
    #[error("the window ends (`{until}`) before it starts (`{since}`)")]
    WindowReversed {
        /// First day.
        since: NaiveDate,
        /// Last day.
        until: NaiveDate,
    },
    /// A monitor file could not be parsed.
    #[error("{file}:{line}:{column}: invalid soc2-monitor JSON: {message}")]
    CorruptMonitor {
        /// File (or artifact) name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was wrong.
        message: String,
    },
    /// Reading the directory failed.
    #[error("cannot read `{}`: {cause}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
}

/// A time zone for day boundaries: UTC or a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tz {
    zone: Zone,
}

/// A fixed offset or an IANA zone (with its daylight-saving rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    Fixed(FixedOffset),
    Iana(chrono_tz::Tz),
}

impl Tz {
    /// UTC.
    pub fn utc() -> Tz {
        Tz {
            zone: Zone::Fixed(Utc.fix()),
        }
    }

    /// Parses `UTC`, `Z`, `+HH:MM`, `-HH:MM`, `+HHMM`, `+HH`, or an IANA name
    /// (`America/New_York`, whose day boundaries follow its daylight-saving rules).
    pub fn parse(s: &str) -> Result<Tz, EvalRunsError> {
        let bad = || EvalRunsError::BadTz(s.to_string());
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t.eq_ignore_ascii_case("etc/utc") {
            return Ok(Tz::utc());
        }
        if t.contains('/') {
            return t
                .parse::<chrono_tz::Tz>()
                .map(|z| Tz {
                    zone: Zone::Iana(z),
                })
                .map_err(|_| bad());
        }
        let (sign, rest) = match t.as_bytes().first() {
            Some(b'+') => (1i32, &t[1..]),
            Some(b'-') => (-1i32, &t[1..]),
            _ => return Err(bad()),
        };
        let digits: String = rest.chars().filter(|c| *c != ':').collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4)
        {
            return Err(bad());
        }
        let h: i32 = digits[..2].parse().map_err(|_| bad())?;
        let m: i32 = if digits.len() == 4 {
            digits[2..].parse().map_err(|_| bad())?
        } else {
            0
        };
        if h > 14 || m > 59 {
            return Err(bad());
        }
        let offset = FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(bad)?;
        Ok(Tz {
            zone: Zone::Fixed(offset),
        })
    }

    /// The canonical name written in `window.tz`: `UTC`, `+HH:MM` or the IANA name.
    pub fn name(&self) -> String {
        let offset = match self.zone {
            Zone::Fixed(o) => o,
            Zone::Iana(z) => return z.name().to_string(),
        };
        let secs = offset.local_minus_utc();
        if secs == 0 {
            return "UTC".to_string();
        }
        let sign = if secs < 0 { '-' } else { '+' };
        let a = secs.abs();
        format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
    }

    /// The local calendar date of an instant.
    pub fn date_of(&self, t: DateTime<Utc>) -> NaiveDate {
        match self.zone {
            Zone::Fixed(o) => t.with_timezone(&o).date_naive(),
            Zone::Iana(z) => t.with_timezone(&z).date_naive(),
        }
    }

    /// The UTC instant at which local day `d` starts.
    pub fn day_start(&self, d: NaiveDate) -> DateTime<Utc> {
        let naive = d.and_time(chrono::NaiveTime::MIN);
        match self.zone {
            Zone::Fixed(o) => match o.from_local_datetime(&naive) {
                chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
                // A fixed offset is never ambiguous; fall back to reading the wall time as UTC.
                _ => Utc.from_utc_datetime(&naive),
            },
            // Midnight can be repeated (take the first) or skipped by a daylight-saving change
            // (the day then starts at the first instant after the gap).
            Zone::Iana(z) => (0..=3)
                .find_map(|h| {
                    z.from_local_datetime(&(naive + chrono::Duration::hours(h)))
                        .earliest()
                })
                .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc)),
        }
    }
}

/// An inclusive window of local days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// First day, inclusive.
    pub since: NaiveDate,
    /// Last day, inclusive.
    pub until: NaiveDate,
    /// `UTC` or a fixed offset.
    pub tz: String,
}

impl Window {
    /// Builds a window, refusing `since > until`.
    pub fn new(since: NaiveDate, until: NaiveDate, tz: &Tz) -> Result<Window, EvalRunsError> {
        if since > until {
            return Err(EvalRunsError::WindowReversed { since, until });
        }
        Ok(Window {
            since,
            until,
            tz: tz.name(),
        })
    }

    /// Every day of the window, in order.
    pub fn days(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut d = self.since;
        while d <= self.until {
            out.push(d);
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        out
    }

    /// Number of days in the window.
    pub fn len_days(&self) -> i64 {
        (self.until - self.since).num_days() + 1
    }
}

/// Where the runs came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `directory` or `github`.
    pub kind: String,
    /// Directory source: the folder, as given on the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// GitHub source: `OWNER/REPO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// GitHub source: the workflow file name or id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// GitHub source: the artifact name prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_prefix: Option<String>,
    /// GitHub source: the API base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// GitHub source: the qualifying events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifying_events: Option<Vec<String>>,
    /// GitHub source: the branch a qualifying run must be on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifying_branch: Option<String>,
}

/// Status of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// The monitor's `overall_ok` was true.
    Ok,
    /// The monitor's `overall_ok` was false.
    Fail,
    /// The run finished but uploaded no artifact with the prefix.
    MissingArtifact,
    /// The artifact is gone (listed as expired or the download answered 410).
    Expired,
    /// The artifact could not be trusted or read (see `reason`).
    InvalidArtifact,
    /// The run failed before uploading its artifact.
    RunFailed,
    /// The run has not completed yet: listed, never decides a day.
    InProgress,
}

impl RunStatus {
    /// What a deciding run of this status makes of its day.
    pub fn day_status(self) -> DayStatus {
        match self {
            RunStatus::Ok => DayStatus::Ok,
            RunStatus::Fail | RunStatus::RunFailed => DayStatus::Fail,
            RunStatus::MissingArtifact
            | RunStatus::Expired
            | RunStatus::InvalidArtifact
            | RunStatus::InProgress => DayStatus::Missing,
        }
    }
}

/// Status of one day in the coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DayStatus {
    /// A qualifying run said OK.
    Ok,
    /// A qualifying run said FAIL (or the run failed).
    Fail,
    /// No qualifying run with usable evidence.
    Missing,
}

/// One row of a monitor run (`deterministic_rows` of soc2-monitor.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// Dimension name.
    pub dimension: String,
    /// `OK`, `FAIL` or `MISSING`.
    pub status: String,
    /// Headline figure.
    #[serde(default)]
    pub headline: String,
    /// Whether the threshold was met.
    #[serde(default)]
    pub threshold_met: bool,
}

/// One monitor run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// GitHub run id, or the file name for the directory source.
    pub run_id: String,
    /// Local date (in `window.tz`) of the run.
    pub date: NaiveDate,
    /// Trigger event (`schedule`, `workflow_dispatch`, `pull_request` …; `local` for a file).
    pub event: String,
    /// Whether the run counts towards coverage.
    pub qualifies: bool,
    /// Run status.
    pub status: RunStatus,
    /// The monitor's `overall_ok`, when the artifact was read.
    pub overall_ok: Option<bool>,
    /// The monitor's `eval_run_id`, when the artifact was read.
    pub eval_run_id: Option<String>,
    /// The monitor's rows (empty when the artifact was not read).
    pub rows: Vec<Row>,
    /// Why the artifact is `INVALID_ARTIFACT` (or other detail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The instant used to order runs and measure remediation: the monitor's `generated_at`
    /// (directory) or the run's `run_started_at`, else `created_at` (GitHub).
    pub time: DateTime<Utc>,
    /// Directory source: the file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// GitHub: head branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// GitHub: head commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    /// GitHub: run number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_number: Option<u64>,
    /// GitHub: attempt (reruns are > 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_attempt: Option<u64>,
    /// GitHub: run conclusion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// GitHub: run page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    /// GitHub: run creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// GitHub: artifact name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_name: Option<String>,
    /// GitHub: artifact id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<u64>,
    /// GitHub: the artifact's `digest` (`sha256:…`) when GitHub gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_digest: Option<String>,
    /// sha256 of the `soc2-monitor.json` bytes that were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor_sha256: Option<String>,
}

/// One coverage day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageDay {
    /// Local date.
    pub date: NaiveDate,
    /// Day status.
    pub status: DayStatus,
    /// The run that decided the day, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// A FAIL day and its remediation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// The FAIL day.
    pub failed_on: NaiveDate,
    /// The first later OK day, if any in the window.
    pub remediated_on: Option<NaiveDate>,
    /// Hours between the deciding runs' times, one decimal (half up); null when unremediated.
    pub hours_to_remediate: Option<f64>,
}

/// Coverage of the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// One entry per day of the window.
    pub days: Vec<CoverageDay>,
    /// OK days.
    pub ok: usize,
    /// FAIL days.
    pub fail: usize,
    /// MISSING days.
    pub missing: usize,
    /// One per FAIL day.
    pub regressions: Vec<Regression>,
}

/// The whole `eval-runs.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRuns {
    /// The window.
    pub window: Window,
    /// The source.
    pub source: Source,
    /// Artifact retention in days, when known (GitHub source).
    pub retention_days: Option<u32>,
    /// Whether the retention covers the window and a 365-day Type 2 period; null when unknown.
    pub retention_sufficient: Option<bool>,
    /// Every run, sorted by (date, run_id).
    pub runs: Vec<RunRecord>,
    /// Day-by-day coverage.
    pub coverage: Coverage,
}

/// Days of retention a Type 2 period needs.
pub const TYPE2_DAYS: i64 = 365;

/// Whether `retention_days` covers both the window and a Type 2 period.
pub fn retention_sufficient(retention_days: u32, window: &Window) -> bool {
    let need = window.len_days().max(TYPE2_DAYS);
    i64::from(retention_days) >= need
}

impl EvalRuns {
    /// Assembles the document: sorts the runs, keeps those inside the window, computes coverage.
    pub fn build(
        window: Window,
        source: Source,
        retention_days: Option<u32>,
        mut runs: Vec<RunRecord>,
    ) -> EvalRuns {
        runs.retain(|r| r.date >= window.since && r.date <= window.until);
        sort_runs(&mut runs);
        let coverage = compute_coverage(&window, &runs);
        let retention_sufficient = retention_days.map(|d| retention_sufficient(d, &window));
        EvalRuns {
            window,
            source,
            retention_days,
            retention_sufficient,
            runs,
            coverage,
        }
    }

    /// Deterministic pretty JSON with a final newline.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }
}

/// Sort key for run ids: numeric ids in numeric order, then others lexicographically.
fn run_id_key(id: &str) -> (bool, usize, &str) {
    let numeric = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
    if numeric {
        (false, id.trim_start_matches('0').len(), id)
    } else {
        (true, 0, id)
    }
}

/// Sorts runs by (date, run_id), numeric ids numerically.
pub fn sort_runs(runs: &mut [RunRecord]) {
    runs.sort_by(|a, b| {
        (a.date, run_id_key(&a.run_id), a.time).cmp(&(b.date, run_id_key(&b.run_id), b.time))
    });
}

/// Rounds a duration to hours with one decimal, half up, using integer arithmetic only.
pub fn hours_one_decimal(d: Duration) -> f64 {
    let secs = d.num_seconds();
    let tenths = if secs >= 0 {
        (secs * 10 + 1800) / 3600
    } else {
        -((-secs * 10 + 1800) / 3600)
    };
    // tenths is small (a year is 87,600 tenths), so the conversion is exact.
    tenths as f64 / 10.0
}

/// The pure coverage function.
///
/// One entry per day of the window. Only qualifying, completed runs count (`IN_PROGRESS` never
/// decides). When several count on one day, the latest (by `time`, then `run_attempt`, then
/// run id) decides. A day with none is `MISSING`. Each `FAIL` day is a regression, remediated on
/// the first later `OK` day; the hours are measured between the two deciding runs' `time`s.
pub fn compute_coverage(window: &Window, runs: &[RunRecord]) -> Coverage {
    use std::collections::BTreeMap;
    let mut decider: BTreeMap<NaiveDate, &RunRecord> = BTreeMap::new();
    for r in runs
        .iter()
        .filter(|r| r.qualifies && r.status != RunStatus::InProgress)
    {
        let later = |a: &RunRecord, b: &RunRecord| {
            (a.time, a.run_attempt.unwrap_or(1), run_id_key(&a.run_id))
                > (b.time, b.run_attempt.unwrap_or(1), run_id_key(&b.run_id))
        };
        match decider.get(&r.date) {
            Some(cur) if !later(r, cur) => {}
            _ => {
                decider.insert(r.date, r);
            }
        }
    }
    let mut days = Vec::new();
    let (mut ok, mut fail, mut missing) = (0, 0, 0);
    for d in window.days() {
        let (status, run_id) = match decider.get(&d) {
            Some(r) => (r.status.day_status(), Some(r.run_id.clone())),
            None => (DayStatus::Missing, None),
        };
        match status {
            DayStatus::Ok => ok += 1,
            DayStatus::Fail => fail += 1,
            DayStatus::Missing => missing += 1,
        }
        days.push(CoverageDay {
            date: d,
            status,
            run_id,
        });
    }
    let mut regressions = Vec::new();
    for (i, day) in days.iter().enumerate() {
        if day.status != DayStatus::Fail {
            continue;
        }
        let fixed = days[i + 1..].iter().find(|x| x.status == DayStatus::Ok);
        let (remediated_on, hours) = match fixed {
            Some(f) => {
                let h = match (decider.get(&day.date), decider.get(&f.date)) {
                    (Some(a), Some(b)) => Some(hours_one_decimal(b.time - a.time)),
                    _ => None,
                };
                (Some(f.date), h)
            }
            None => (None, None),
        };
        regressions.push(Regression {
            failed_on: day.date,
            remediated_on,
            hours_to_remediate: hours,
        });
    }
    Coverage {
        days,
        ok,
        fail,
        missing,
        regressions,
    }
}

/// The parts of a `soc2-monitor.json` that eval-runs needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Monitor {
    /// When the monitor ran (derived from `eval_run_id`).
    pub generated_at: DateTime<Utc>,
    /// The eval run.
    pub eval_run_id: String,
    /// The rows.
    pub deterministic_rows: Vec<Row>,
    /// Whether every row was OK.
    pub overall_ok: bool,
}

/// Parses one monitor JSON; `name` is used in the error (`name:line:col`).
pub fn parse_monitor(name: &str, bytes: &[u8]) -> Result<Monitor, EvalRunsError> {
    serde_json::from_slice::<Monitor>(bytes).map_err(|e| EvalRunsError::CorruptMonitor {
        file: name.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Turns a parsed monitor into a run record (the caller fills the GitHub fields).
pub fn run_from_monitor(run_id: String, m: Monitor, tz: &Tz, event: &str) -> RunRecord {
    RunRecord {
        run_id,
        date: tz.date_of(m.generated_at),
        event: event.to_string(),
        qualifies: true,
        status: if m.overall_ok {
            RunStatus::Ok
        } else {
            RunStatus::Fail
        },
        overall_ok: Some(m.overall_ok),
        eval_run_id: Some(m.eval_run_id),
        rows: m.deterministic_rows,
        reason: None,
        time: m.generated_at,
        file: None,
        branch: None,
        head_sha: None,
        run_number: None,
        run_attempt: None,
        conclusion: None,
        html_url: None,
        created_at: None,
        artifact_name: None,
        artifact_id: None,
        artifact_digest: None,
        monitor_sha256: None,
    }
}

/// Reads every `soc2-monitor*.json` file directly inside `dir` (sorted by name). A corrupt file
/// is an error naming it. The run date is the monitor's `generated_at` in `tz`; every file
/// qualifies (event `local`: a file carries no trigger). `run_id` is the file name.
pub fn load_directory(dir: &Path, tz: &Tz) -> Result<Vec<RunRecord>, EvalRunsError> {
    let io = |cause| EvalRunsError::Io {
        path: dir.to_path_buf(),
        cause,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("soc2-monitor") && name.ends_with(".json") && entry.path().is_file() {
            names.push(name);
        }
    }
    names.sort();
    let mut runs = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(|cause| EvalRunsError::Io {
            path: path.clone(),
            cause,
        })?;
        let shown = path.display().to_string();
        let m = parse_monitor(&shown, &bytes)?;
        let mut r = run_from_monitor(name.clone(), m, tz, "local");
        r.file = Some(name);
        r.monitor_sha256 = Some(sha256_hex(&bytes));
        runs.push(r);
    }
    Ok(runs)
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }
    fn run(id: &str, time: &str, status: RunStatus, qualifies: bool) -> RunRecord {
        let m = Monitor {
            generated_at: t(time),
            eval_run_id: id.into(),
            deterministic_rows: vec![],
            overall_ok: status == RunStatus::Ok,
        };
        let mut r = run_from_monitor(id.into(), m, &Tz::utc(), "schedule");
        r.status = status;
        r.qualifies = qualifies;
        r
    }

    #[test]
    fn tz_parsing() {
        assert_eq!(Tz::parse("UTC").unwrap().name(), "UTC");
        assert_eq!(Tz::parse("+02:00").unwrap().name(), "+02:00");
        assert_eq!(Tz::parse("-0530").unwrap().name(), "-05:30");
        assert!(Tz::parse("Europe/Nowhere").is_err());
        let ny = Tz::parse("America/New_York").unwrap();
        assert_eq!(ny.name(), "America/New_York");
        // Winter: UTC-5; summer: UTC-4.
        assert_eq!(
            ny.day_start(d("2026-01-15")).to_rfc3339(),
            "2026-01-15T05:00:00+00:00"
        );
        assert_eq!(
            ny.day_start(d("2026-07-15")).to_rfc3339(),
            "2026-07-15T04:00:00+00:00"
        );
        assert_eq!(ny.date_of(t("2026-07-15T03:30:00Z")), d("2026-07-14"));
        // The spring-forward day is 23 hours long; the next day starts at 04:00Z.
        assert_eq!(
            ny.day_start(d("2026-03-09")) - ny.day_start(d("2026-03-08")),
            Duration::hours(23)
        );
        assert!(Tz::parse("+25:00").is_err());
        let tz = Tz::parse("-05:00").unwrap();
        assert_eq!(tz.date_of(t("2026-01-02T03:00:00Z")), d("2026-01-01"));
        assert_eq!(tz.day_start(d("2026-01-01")), t("2026-01-01T05:00:00Z"));
    }

    #[test]
    fn window_refuses_reversed() {
        assert!(Window::new(d("2026-02-01"), d("2026-01-01"), &Tz::utc()).is_err());
        let w = Window::new(d("2026-01-30"), d("2026-02-02"), &Tz::utc()).unwrap();
        assert_eq!(w.days().len(), 4);
    }

    #[test]
    fn coverage_missing_fail_and_remediation() {
        let w = Window::new(d("2026-01-01"), d("2026-01-05"), &Tz::utc()).unwrap();
        let runs = vec![
            run("1", "2026-01-01T06:00:00Z", RunStatus::Ok, true),
            run("2", "2026-01-02T06:00:00Z", RunStatus::Fail, true),
            // non-qualifying OK on the FAIL day does not count
            run("3", "2026-01-02T07:00:00Z", RunStatus::Ok, false),
            run("4", "2026-01-04T08:30:00Z", RunStatus::Ok, true),
        ];
        let c = compute_coverage(&w, &runs);
        let st: Vec<_> = c.days.iter().map(|x| x.status).collect();
        use DayStatus::*;
        assert_eq!(st, vec![Ok, Fail, Missing, Ok, Missing]);
        assert_eq!((c.ok, c.fail, c.missing), (2, 1, 2));
        assert_eq!(c.regressions.len(), 1);
        assert_eq!(c.regressions[0].remediated_on, Some(d("2026-01-04")));
        assert_eq!(c.regressions[0].hours_to_remediate, Some(50.5));
    }

    #[test]
    fn latest_run_decides_a_day() {
        let w = Window::new(d("2026-01-01"), d("2026-01-01"), &Tz::utc()).unwrap();
        let runs = vec![
            run("9", "2026-01-01T10:00:00Z", RunStatus::Ok, true),
            run("10", "2026-01-01T06:00:00Z", RunStatus::Fail, true),
        ];
        let c = compute_coverage(&w, &runs);
        assert_eq!(c.days[0].status, DayStatus::Ok);
        assert_eq!(c.days[0].run_id.as_deref(), Some("9"));
        let runs = vec![
            run("9", "2026-01-01T10:00:00Z", RunStatus::Ok, true),
            run("10", "2026-01-01T11:00:00Z", RunStatus::InProgress, true),
            run("11", "2026-01-01T12:00:00Z", RunStatus::RunFailed, true),
        ];
        assert_eq!(compute_coverage(&w, &runs).days[0].status, DayStatus::Fail);
    }

    #[test]
    fn unremediated_regression() {
        let w = Window::new(d("2026-01-01"), d("2026-01-02"), &Tz::utc()).unwrap();
        let runs = vec![run("1", "2026-01-02T06:00:00Z", RunStatus::Fail, true)];
        let c = compute_coverage(&w, &runs);
        assert_eq!(c.regressions[0].remediated_on, None);
        assert_eq!(c.regressions[0].hours_to_remediate, None);
    }

    #[test]
    fn rounding_is_half_up_one_decimal() {
        assert_eq!(hours_one_decimal(Duration::seconds(86400)), 24.0);
        assert_eq!(hours_one_decimal(Duration::seconds(180)), 0.1); // 0.05 h rounds up
        assert_eq!(hours_one_decimal(Duration::seconds(179)), 0.0);
    }

    #[test]
    fn sorting_is_numeric_for_ids() {
        let mut runs = vec![
            run("1000", "2026-01-01T06:00:00Z", RunStatus::Ok, true),
            run("999", "2026-01-01T07:00:00Z", RunStatus::Ok, true),
        ];
        sort_runs(&mut runs);
        assert_eq!(runs[0].run_id, "999");
    }

    #[test]
    fn corrupt_monitor_names_file_and_position() {
        let e = parse_monitor("x/soc2-monitor-1.json", b"{\n  \"generated_at\": ").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("x/soc2-monitor-1.json:2:"), "{s}");
    }

    #[test]
    fn key_order_matches_issue() {
        let w = Window::new(d("2026-01-01"), d("2026-01-01"), &Tz::utc()).unwrap();
        let src = Source {
            kind: "directory".into(),
            path: Some("m".into()),
            repo: None,
            workflow: None,
            artifact_prefix: None,
            api_url: None,
            qualifying_events: None,
            qualifying_branch: None,
        };
        let e = EvalRuns::build(
            w,
            src,
            None,
            vec![run("1", "2026-01-01T06:00:00Z", RunStatus::Ok, true)],
        );
        let v: serde_json::Value = serde_json::from_slice(&e.to_json().unwrap()).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "window",
                "source",
                "retention_days",
                "retention_sufficient",
                "runs",
                "coverage"
            ]
        );
        let rk: Vec<_> = v["runs"][0]
            .as_object()
            .unwrap()
            .keys()
            .take(8)
            .cloned()
            .collect();
        assert_eq!(
            rk,
            [
                "run_id",
                "date",
                "event",
                "qualifies",
                "status",
                "overall_ok",
                "eval_run_id",
                "rows"
            ]
        );
        let ck: Vec<_> = v["coverage"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(ck, ["days", "ok", "fail", "missing", "regressions"]);
    }
}
