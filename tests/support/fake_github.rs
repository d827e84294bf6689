//! A faithful fake of the GitHub REST endpoints that `eval-runs` uses, for tests only. It listens
//! on 127.0.0.1 only (two ports: the API and a separate "blob host"), speaks minimal HTTP/1.1
//! with keep-alive, and serves bodies shaped like `shared/reference/github-api/` examples.
//!
//! It generates a year of nightly runs from a few parameters and computes its own ground truth
//! from those parameters (never from the code under test). It simulates: missing days, failures,
//! reruns (`run_attempt` 2), same-day `workflow_dispatch` remediation, `pull_request` runs,
//! `link` pagination with the 1,000-result cap on `created` filters, a 302 to the blob port that
//! rejects (and records) any request carrying `Authorization`, 410 for expired artifacts, a corrupt
//! zip, a digest mismatch, a zip bomb, a zip-slip entry, a nested zip, 502s that succeed on
//! retry, a primary rate limit with reset, a `retry-after` secondary limit, the retention
//! endpoint (90 days) and optional per-request latency. It must never bind a non-loopback address.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Generation parameters.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// First day.
    pub start: NaiveDate,
    /// Number of days.
    pub days: u32,
    /// Total pull_request runs spread over the year.
    pub pr_runs: u32,
    /// Added latency per request.
    pub latency_ms: u64,
    /// Enable the artifact and HTTP traps.
    pub traps: bool,
    /// Primary rate limit: after this many API requests, 403 until `reset_in_secs` later.
    pub rate_limit_after: Option<u64>,
    /// Seconds until the primary limit resets.
    pub reset_in_secs: u64,
    /// The token the API accepts.
    pub token: String,
}

impl FakeConfig {
    /// A year from 2025-07-01 with every trap and 700 pull_request runs (> 1,000 in the window).
    pub fn year_with_traps(token: &str) -> FakeConfig {
        FakeConfig {
            start: NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
            days: 365,
            pr_runs: 700,
            latency_ms: 0,
            traps: true,
            rate_limit_after: Some(400),
            reset_in_secs: 2,
            token: token.to_string(),
        }
    }
}

/// How an artifact misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trap {
    None,
    ListedExpired,
    Gone410,
    Corrupt,
    DigestMismatch,
    Bomb,
    Slip,
    Nested,
    Blob502Once,
}

#[derive(Debug, Clone)]
struct FakeArtifact {
    id: u64,
    name: String,
    run_id: u64,
    branch: String,
    head_sha: String,
    created_at: DateTime<Utc>,
    zip: Vec<u8>,
    digest: Option<String>,
    trap: Trap,
}

#[derive(Debug, Clone)]
struct FakeRun {
    id: u64,
    run_number: u64,
    run_attempt: u64,
    event: String,
    branch: String,
    head_sha: String,
    conclusion: String,
    created_at: DateTime<Utc>,
    started_at: DateTime<Utc>,
    artifacts: Vec<u64>,
    fail_artifacts_once: bool,
    secondary_limit_once: bool,
}

/// Expected outcome of one run, from the generation parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRun {
    pub status: &'static str,
    pub qualifies: bool,
    pub date: NaiveDate,
}

struct State {
    cfg: FakeConfig,
    runs: Vec<FakeRun>,
    artifacts: HashMap<u64, FakeArtifact>,
    api_requests: AtomicU64,
    blob_requests: AtomicU64,
    blob_auth_violations: AtomicU64,
    missing_version_header: AtomicU64,
    bad_auth: AtomicU64,
    once_done: Mutex<HashSet<String>>,
    rate_reset_at: Mutex<Option<u64>>,
    rate_tripped: AtomicBool,
    list_queries: Mutex<Vec<String>>,
    seen_headers: Mutex<Vec<String>>,
    api_port: u16,
    blob_port: u16,
}

/// A running fake.
pub struct FakeGithub {
    state: Arc<State>,
    /// The expected run statuses.
    pub expected_runs: BTreeMap<u64, ExpectedRun>,
    /// The expected coverage per day (`OK`, `FAIL`, `MISSING`).
    pub expected_days: BTreeMap<NaiveDate, &'static str>,
}

fn at(d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(h, m, 0).unwrap())
}

fn monitor_json(t: DateTime<Utc>, ok: bool) -> Vec<u8> {
    let id = t.format("%Y%m%d-%H%M%S").to_string();
    let row = |dim: &str, st: bool, head: &str| json!({"dimension": dim, "status": if st {"OK"} else {"FAIL"}, "headline": head, "threshold_met": st});
    let v = json!({
        "generated_at": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "eval_run_id": id,
        "deterministic_rows": [
            row("matching_accuracy", true, "macro-F1 1.0 on 83 cases"),
            row("policy_enforcement", ok, if ok {"21 scenarios, pass-rate 1.0"} else {"21 scenarios, pass-rate 0.95"}),
            row("latency", true, "p95 9.0ms; ~7700 matches/sec"),
            row("adversarial_robustness", true, "25 scenarios, 0 bypasses"),
        ],
        "overall_ok": ok,
        "notes": []
    });
    serde_json::to_vec_pretty(&v).unwrap()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, b) in entries {
        w.start_file(*n, o).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn sha(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

impl FakeGithub {
    /// Generates the data and starts both listeners on 127.0.0.1.
    pub fn start(cfg: FakeConfig) -> FakeGithub {
        let api = TcpListener::bind("127.0.0.1:0").unwrap();
        let blob = TcpListener::bind("127.0.0.1:0").unwrap();
        let (runs, artifacts, expected_runs, expected_days) = generate(&cfg);
        let state = Arc::new(State {
            cfg,
            runs,
            artifacts,
            api_requests: AtomicU64::new(0),
            blob_requests: AtomicU64::new(0),
            blob_auth_violations: AtomicU64::new(0),
            missing_version_header: AtomicU64::new(0),
            bad_auth: AtomicU64::new(0),
            once_done: Mutex::new(HashSet::new()),
            rate_reset_at: Mutex::new(None),
            rate_tripped: AtomicBool::new(false),
            list_queries: Mutex::new(Vec::new()),
            seen_headers: Mutex::new(Vec::new()),
            api_port: api.local_addr().unwrap().port(),
            blob_port: blob.local_addr().unwrap().port(),
        });
        for (listener, is_blob) in [(api, false), (blob, true)] {
            let st = Arc::clone(&state);
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(conn) = conn else { continue };
                    let st = Arc::clone(&st);
                    std::thread::spawn(move || serve_conn(&st, conn, is_blob));
                }
            });
        }
        FakeGithub {
            state,
            expected_runs,
            expected_days,
        }
    }

    /// API base URL.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.state.api_port)
    }
    /// Requests to the API port.
    pub fn api_requests(&self) -> u64 {
        self.state.api_requests.load(Ordering::SeqCst)
    }
    /// Requests to the blob port.
    pub fn blob_requests(&self) -> u64 {
        self.state.blob_requests.load(Ordering::SeqCst)
    }
    /// Blob requests that carried `Authorization`.
    pub fn blob_auth_violations(&self) -> u64 {
        self.state.blob_auth_violations.load(Ordering::SeqCst)
    }
    /// API requests without `X-GitHub-Api-Version: 2022-11-28`.
    pub fn missing_version_header(&self) -> u64 {
        self.state.missing_version_header.load(Ordering::SeqCst)
    }
    /// API requests with a wrong or missing token.
    pub fn bad_auth(&self) -> u64 {
        self.state.bad_auth.load(Ordering::SeqCst)
    }
    /// Whether the primary rate limit tripped.
    pub fn rate_limit_tripped(&self) -> bool {
        self.state.rate_tripped.load(Ordering::SeqCst)
    }
    /// The `created` values of every run-listing request.
    pub fn list_queries(&self) -> Vec<String> {
        self.state.list_queries.lock().unwrap().clone()
    }
    /// Every retry-once trap that fired.
    pub fn once_fired(&self) -> Vec<String> {
        let mut v: Vec<_> = self
            .state
            .once_done
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .collect();
        v.sort();
        v
    }
    /// Total runs in the fake.
    pub fn run_count(&self) -> usize {
        self.state.runs.len()
    }
    /// Ground truth as JSON (for the example binary).
    pub fn ground_truth_json(&self) -> Value {
        json!({
            "days": self.expected_days.iter().map(|(d, s)| json!({"date": d.to_string(), "status": s})).collect::<Vec<_>>(),
            "runs": self.expected_runs.iter().map(|(id, e)| json!({"run_id": id.to_string(), "status": e.status, "qualifies": e.qualifies, "date": e.date.to_string()})).collect::<Vec<_>>(),
        })
    }
}

type Generated = (
    Vec<FakeRun>,
    HashMap<u64, FakeArtifact>,
    BTreeMap<u64, ExpectedRun>,
    BTreeMap<NaiveDate, &'static str>,
);

fn generate(cfg: &FakeConfig) -> Generated {
    let mut runs = Vec::new();
    let mut arts: HashMap<u64, FakeArtifact> = HashMap::new();
    let mut exp_runs = BTreeMap::new();
    let mut exp_days = BTreeMap::new();
    let mut next_art = 5_000_000u64;
    let mut run_number = 0u64;
    let mut add_art = |arts: &mut HashMap<u64, FakeArtifact>,
                       run: &FakeRun,
                       name: String,
                       zip: Vec<u8>,
                       trap: Trap,
                       null_digest: bool| {
        next_art += 1;
        let digest = if trap == Trap::DigestMismatch {
            Some(format!("sha256:{}", sha(b"something else")))
        } else if null_digest {
            None
        } else {
            Some(format!("sha256:{}", sha(&zip)))
        };
        arts.insert(
            next_art,
            FakeArtifact {
                id: next_art,
                name,
                run_id: run.id,
                branch: run.branch.clone(),
                head_sha: run.head_sha.clone(),
                created_at: run.started_at + Duration::minutes(3),
                zip,
                digest,
                trap,
            },
        );
        next_art
    };
    let t = cfg.traps;
    for i in 0..cfg.days {
        let d = cfg.start + Duration::days(i64::from(i));
        let missing = i % 29 == 7;
        let fail = i % 31 == 12;
        let run_failed = i % 47 == 20 && !fail;
        let rerun = i % 37 == 5;
        let dispatch_fix = fail && i % 62 == 12;
        let trap = if !t || fail || run_failed {
            Trap::None
        } else if i < 10 {
            Trap::ListedExpired
        } else if i % 71 == 3 {
            Trap::Gone410
        } else {
            match i {
                100 => Trap::Corrupt,
                101 => Trap::DigestMismatch,
                102 => Trap::Bomb,
                103 => Trap::Slip,
                104 => Trap::Nested,
                110 => Trap::Blob502Once,
                _ => Trap::None,
            }
        };
        let no_artifact = t && i == 105 && !fail && !run_failed;
        let mut day = if missing { "MISSING" } else { "OK" };
        if !missing {
            run_number += 1;
            let created = at(d, 6, 0);
            let started = if rerun { at(d, 9, 0) } else { created };
            let mut run = FakeRun {
                id: 9_000_000 + u64::from(i) * 10,
                run_number,
                run_attempt: if rerun { 2 } else { 1 },
                event: "schedule".into(),
                branch: "main".into(),
                head_sha: sha(format!("commit-{i}").as_bytes())[..40].to_string(),
                conclusion: if fail || run_failed {
                    "failure"
                } else {
                    "success"
                }
                .into(),
                created_at: created,
                started_at: started,
                artifacts: vec![],
                fail_artifacts_once: t && i % 50 == 9,
                secondary_limit_once: t && i == 120,
            };
            let status;
            if run_failed {
                status = "RUN_FAILED";
                day = "FAIL";
            } else if no_artifact {
                status = "MISSING_ARTIFACT";
                day = "MISSING";
            } else {
                let good = monitor_json(started, !fail);
                let zip = match trap {
                    Trap::Corrupt => {
                        let mut z = zip_of(&[("soc2-monitor.json", &good)]);
                        let n = z.len();
                        z.truncate(n / 2);
                        z
                    }
                    Trap::Bomb => zip_of(&[("soc2-monitor.json", &vec![b' '; 48 * 1024 * 1024])]),
                    Trap::Slip => zip_of(&[
                        ("../../../etc/cron.d/x", b"* * * * * root true"),
                        ("soc2-monitor.json", &good),
                    ]),
                    Trap::Nested => zip_of(&[
                        ("soc2-monitor.json", &good),
                        ("inner.zip", &zip_of(&[("a", b"b")])),
                    ]),
                    _ => zip_of(&[("soc2-monitor.json", &good)]),
                };
                // junk artifacts around the real one; day 130 has enough to need page 2
                let junk = if t && i == 130 { 119 } else { 1 };
                for k in 0..junk {
                    let a = add_art(
                        &mut arts,
                        &run,
                        format!("coverage-report-{k}"),
                        zip_of(&[("r.txt", b"x")]),
                        Trap::None,
                        false,
                    );
                    run.artifacts.push(a);
                }
                let a = add_art(
                    &mut arts,
                    &run,
                    format!("soc2-monitor-{}", started.format("%Y%m%d")),
                    zip,
                    trap,
                    i % 3 == 0,
                );
                run.artifacts.push(a);
                status = match trap {
                    Trap::ListedExpired | Trap::Gone410 => "EXPIRED",
                    Trap::Corrupt
                    | Trap::DigestMismatch
                    | Trap::Bomb
                    | Trap::Slip
                    | Trap::Nested => "INVALID_ARTIFACT",
                    _ if fail => "FAIL",
                    _ => "OK",
                };
                day = match status {
                    "OK" => "OK",
                    "FAIL" => "FAIL",
                    _ => "MISSING",
                };
            }
            exp_runs.insert(
                run.id,
                ExpectedRun {
                    status,
                    qualifies: true,
                    date: d,
                },
            );
            runs.push(run);
        }
        if dispatch_fix {
            run_number += 1;
            let c = at(d, 15, 0);
            let mut run = FakeRun {
                id: 9_000_000 + u64::from(i) * 10 + 1,
                run_number,
                run_attempt: 1,
                event: "workflow_dispatch".into(),
                branch: "main".into(),
                head_sha: sha(format!("fix-{i}").as_bytes())[..40].to_string(),
                conclusion: "success".into(),
                created_at: c,
                started_at: c,
                artifacts: vec![],
                fail_artifacts_once: false,
                secondary_limit_once: false,
            };
            let a = add_art(
                &mut arts,
                &run,
                format!("soc2-monitor-{}-fix", c.format("%Y%m%d")),
                zip_of(&[("soc2-monitor.json", &monitor_json(c, true))]),
                Trap::None,
                false,
            );
            run.artifacts.push(a);
            exp_runs.insert(
                run.id,
                ExpectedRun {
                    status: "OK",
                    qualifies: true,
                    date: d,
                },
            );
            runs.push(run);
            day = "OK";
        }
        exp_days.insert(d, day);
    }
    // pull_request runs: spread evenly, never qualifying, some failing
    for k in 0..cfg.pr_runs {
        let day = k * cfg.days / cfg.pr_runs.max(1);
        let d = cfg.start + Duration::days(i64::from(day));
        let c = at(d, 12, 0) + Duration::minutes(i64::from(k % 600));
        run_number += 1;
        let ok = k % 5 != 0;
        let mut run = FakeRun {
            id: 20_000_000 + u64::from(k),
            run_number,
            run_attempt: 1,
            event: "pull_request".into(),
            branch: format!("feature-{}", k % 17),
            head_sha: sha(format!("pr-{k}").as_bytes())[..40].to_string(),
            conclusion: if ok { "success" } else { "failure" }.into(),
            created_at: c,
            started_at: c,
            artifacts: vec![],
            fail_artifacts_once: false,
            secondary_limit_once: false,
        };
        let a = add_art(
            &mut arts,
            &run,
            format!("soc2-monitor-pr-{k}"),
            zip_of(&[("soc2-monitor.json", &monitor_json(c, ok))]),
            Trap::None,
            false,
        );
        run.artifacts.push(a);
        exp_runs.insert(
            run.id,
            ExpectedRun {
                status: if ok { "OK" } else { "FAIL" },
                qualifies: false,
                date: d,
            },
        );
        runs.push(run);
    }
    // newest first, as the API lists them
    runs.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    (runs, arts, exp_runs, exp_days)
}

struct Req {
    path: String,
    query: BTreeMap<String, String>,
    headers: HashMap<String, String>,
    raw_target: String,
}

fn read_req(r: &mut BufReader<TcpStream>) -> Option<Req> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let _method = parts.next()?;
    let target = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    if let Some(n) = headers
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut sink = vec![0; n];
        r.read_exact(&mut sink).ok()?;
    }
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    let query = q
        .split('&')
        .filter(|s| !s.is_empty())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%3a", ":")))
        .collect();
    Some(Req {
        path: path.to_string(),
        query,
        headers,
        raw_target: target.clone(),
    })
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn json_resp(status: u16, v: &Value) -> Resp {
    Resp {
        status,
        headers: vec![(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body: serde_json::to_vec(v).unwrap(),
    }
}

fn reason(s: u16) -> &'static str {
    match s {
        200 => "OK",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

fn serve_conn(st: &State, conn: TcpStream, is_blob: bool) {
    let mut writer = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(conn);
    while let Some(req) = read_req(&mut reader) {
        if st.cfg.latency_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(st.cfg.latency_ms));
        }
        let resp = if is_blob {
            blob(st, &req)
        } else {
            api(st, &req)
        };
        let mut head = format!(
            "HTTP/1.1 {} {}\r\ncontent-length: {}\r\n",
            resp.status,
            reason(resp.status),
            resp.body.len()
        );
        for (k, v) in &resp.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&resp.body).is_err() {
            return;
        }
    }
}

fn once(st: &State, key: String) -> bool {
    st.once_done.lock().unwrap().insert(key)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn blob(st: &State, req: &Req) -> Resp {
    st.blob_requests.fetch_add(1, Ordering::SeqCst);
    if req.headers.contains_key("authorization") {
        st.blob_auth_violations.fetch_add(1, Ordering::SeqCst);
        return Resp {
            status: 403,
            headers: vec![],
            body: b"<Error><Code>AuthenticationFailed</Code></Error>".to_vec(),
        };
    }
    let id: u64 = req.path.trim_start_matches("/blob/").parse().unwrap_or(0);
    let Some(a) = st.artifacts.get(&id) else {
        return Resp {
            status: 404,
            headers: vec![],
            body: vec![],
        };
    };
    if a.trap == Trap::Blob502Once && once(st, format!("blob502:{id}")) {
        return Resp {
            status: 502,
            headers: vec![],
            body: b"bad gateway".to_vec(),
        };
    }
    Resp {
        status: 200,
        headers: vec![("content-type".into(), "application/zip".into())],
        body: a.zip.clone(),
    }
}

fn artifact_json(st: &State, a: &FakeArtifact) -> Value {
    let base = format!("http://127.0.0.1:{}", st.api_port);
    let created = a
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let expires =
        (a.created_at + Duration::days(90)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({
        "id": a.id,
        "node_id": format!("MDg6QXJ0aWZhY3Q{}", a.id),
        "name": a.name,
        "size_in_bytes": a.zip.len(),
        "url": format!("{base}/repos/octo-org/octo-docs/actions/artifacts/{}", a.id),
        "archive_download_url": format!("{base}/repos/octo-org/octo-docs/actions/artifacts/{}/zip", a.id),
        "expired": a.trap == Trap::ListedExpired,
        "created_at": created,
        "expires_at": expires,
        "updated_at": created,
        "digest": a.digest,
        "workflow_run": {"id": a.run_id, "repository_id": 1296269, "head_repository_id": 1296269, "head_branch": a.branch, "head_sha": a.head_sha}
    })
}

fn run_json(st: &State, r: &FakeRun) -> Value {
    let base = format!("http://127.0.0.1:{}", st.api_port);
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let actor = json!({"login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": false});
    let api = format!("{base}/repos/octo-org/octo-docs/actions/runs/{}", r.id);
    json!({
        "id": r.id,
        "name": "soc2-monitor-nightly",
        "node_id": format!("WFR_{}", r.id),
        "check_suite_id": r.id + 7,
        "check_suite_node_id": format!("CS_{}", r.id),
        "head_branch": r.branch,
        "head_sha": r.head_sha,
        "path": ".github/workflows/soc2-monitor-nightly.yml@main",
        "run_number": r.run_number,
        "event": r.event,
        "display_title": "soc2-monitor-nightly",
        "status": "completed",
        "conclusion": r.conclusion,
        "workflow_id": 159038,
        "url": api,
        "html_url": format!("https://github.com/octo-org/octo-docs/actions/runs/{}", r.id),
        "pull_requests": [],
        "created_at": ts(r.created_at),
        "updated_at": ts(r.started_at + Duration::minutes(4)),
        "actor": actor,
        "run_attempt": r.run_attempt,
        "run_started_at": ts(r.started_at),
        "triggering_actor": actor,
        "jobs_url": format!("{api}/jobs"),
        "logs_url": format!("{api}/logs"),
        "check_suite_url": format!("{base}/repos/octo-org/octo-docs/check-suites/{}", r.id + 7),
        "artifacts_url": format!("{api}/artifacts"),
        "cancel_url": format!("{api}/cancel"),
        "rerun_url": format!("{api}/rerun"),
        "previous_attempt_url": if r.run_attempt > 1 { Value::String(format!("{api}/attempts/{}", r.run_attempt - 1)) } else { Value::Null },
        "workflow_url": format!("{base}/repos/octo-org/octo-docs/actions/workflows/159038"),
        "head_commit": {"id": r.head_sha, "tree_id": r.head_sha, "message": "nightly", "timestamp": ts(r.created_at), "author": {"name": "Octo Cat", "email": "octocat@github.com"}, "committer": {"name": "GitHub", "email": "noreply@github.com"}},
        "repository": {"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "octo-docs", "full_name": "octo-org/octo-docs", "private": true},
        "head_repository": {"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "octo-docs", "full_name": "octo-org/octo-docs", "private": true}
    })
}

fn parse_bound(s: &str, end: bool) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let d: NaiveDate = s.parse().ok()?;
    Some(if end {
        at(d, 23, 59) + Duration::seconds(59)
    } else {
        at(d, 0, 0)
    })
}

fn paginate(
    st: &State,
    req: &Req,
    total: usize,
    cap: Option<usize>,
) -> (usize, usize, Vec<(String, String)>) {
    let per_page: usize = req
        .query
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = req
        .query
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let served = cap.map_or(total, |c| total.min(c));
    let from = ((page - 1) * per_page).min(served);
    let to = (from + per_page).min(served);
    let last = served.div_ceil(per_page).max(1);
    let mut links = Vec::new();
    let mk = |p: usize| {
        let mut q = req.query.clone();
        q.insert("page".into(), p.to_string());
        let qs: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "<http://127.0.0.1:{}{}?{}>",
            st.api_port,
            req.path,
            qs.join("&")
        )
    };
    if page < last {
        links.push(format!("{}; rel=\"next\"", mk(page + 1)));
        links.push(format!("{}; rel=\"last\"", mk(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", mk(page - 1)));
        links.push(format!("{}; rel=\"first\"", mk(1)));
    }
    let h = if links.is_empty() {
        vec![]
    } else {
        vec![("link".to_string(), links.join(", "))]
    };
    (from, to, h)
}

fn api(st: &State, req: &Req) -> Resp {
    let n = st.api_requests.fetch_add(1, Ordering::SeqCst) + 1;
    st.seen_headers.lock().unwrap().push(req.raw_target.clone());
    if req.headers.get("x-github-api-version").map(String::as_str) != Some("2022-11-28") {
        st.missing_version_header.fetch_add(1, Ordering::SeqCst);
    }
    let auth_ok = req.headers.get("authorization").is_some_and(|v| {
        v == &format!("Bearer {}", st.cfg.token) || v == &format!("token {}", st.cfg.token)
    });
    if !auth_ok {
        st.bad_auth.fetch_add(1, Ordering::SeqCst);
        return json_resp(
            401,
            &json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
        );
    }
    // primary rate limit
    let mut rl_headers = vec![
        ("x-ratelimit-limit".to_string(), "5000".to_string()),
        ("x-ratelimit-resource".to_string(), "core".to_string()),
        ("x-ratelimit-used".to_string(), n.to_string()),
    ];
    {
        let mut reset = st.rate_reset_at.lock().unwrap();
        if let Some(after) = st.cfg.rate_limit_after {
            if n == after && reset.is_none() && !st.rate_tripped.load(Ordering::SeqCst) {
                *reset = Some(now() + st.cfg.reset_in_secs);
                st.rate_tripped.store(true, Ordering::SeqCst);
                rl_headers.push(("x-ratelimit-remaining".into(), "0".into()));
                rl_headers.push(("x-ratelimit-reset".into(), reset.unwrap().to_string()));
                drop(reset);
                return with_headers(route(st, req), rl_headers);
            }
        }
        if let Some(r) = *reset {
            if now() < r {
                rl_headers.push(("x-ratelimit-remaining".into(), "0".into()));
                rl_headers.push(("x-ratelimit-reset".into(), r.to_string()));
                let mut resp = json_resp(
                    403,
                    &json!({"message": "API rate limit exceeded for installation.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", "status": "403"}),
                );
                resp.headers.extend(rl_headers);
                return resp;
            }
            *reset = None;
        }
    }
    rl_headers.push(("x-ratelimit-remaining".into(), "4000".into()));
    rl_headers.push(("x-ratelimit-reset".into(), (now() + 3600).to_string()));
    with_headers(route(st, req), rl_headers)
}

fn with_headers(mut r: Resp, h: Vec<(String, String)>) -> Resp {
    r.headers.extend(h);
    r
}

fn route(st: &State, req: &Req) -> Resp {
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let not_found = || {
        json_resp(
            404,
            &json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
        )
    };
    match segs.as_slice() {
        ["repos", o, r] => json_resp(
            200,
            &json!({"id": 1296269, "name": r, "full_name": format!("{o}/{r}"), "private": true, "default_branch": "main"}),
        ),
        ["repos", _, _, "actions", "permissions", "artifact-and-log-retention"] => {
            json_resp(200, &json!({"days": 90, "maximum_allowed_days": 400}))
        }
        ["repos", _, _, "actions", "workflows", _wf, "runs"] => {
            let created = req.query.get("created").cloned();
            st.list_queries
                .lock()
                .unwrap()
                .push(created.clone().unwrap_or_default());
            if st.cfg.traps && once(st, "list502".into()) {
                return json_resp(502, &json!({"message": "Server Error"}));
            }
            let filtered: Vec<&FakeRun> = match &created {
                Some(c) => {
                    let (a, b) = c.split_once("..").unwrap_or((c, c));
                    let (Some(a), Some(b)) = (parse_bound(a, false), parse_bound(b, true)) else {
                        return json_resp(422, &json!({"message": "Validation Failed"}));
                    };
                    st.runs
                        .iter()
                        .filter(|r| r.created_at >= a && r.created_at <= b)
                        .collect()
                }
                None => st.runs.iter().collect(),
            };
            let cap = created.as_ref().map(|_| 1000);
            let (from, to, links) = paginate(st, req, filtered.len(), cap);
            let page: Vec<Value> = filtered[from..to].iter().map(|r| run_json(st, r)).collect();
            let mut resp = json_resp(
                200,
                &json!({"total_count": filtered.len(), "workflow_runs": page}),
            );
            resp.headers.extend(links);
            resp
        }
        ["repos", _, _, "actions", "runs", id, "artifacts"] => {
            let id: u64 = id.parse().unwrap_or(0);
            let Some(run) = st.runs.iter().find(|r| r.id == id) else {
                return not_found();
            };
            if run.fail_artifacts_once && once(st, format!("art502:{id}")) {
                return json_resp(502, &json!({"message": "Server Error"}));
            }
            if run.secondary_limit_once && once(st, format!("secondary:{id}")) {
                let mut r = json_resp(
                    403,
                    &json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits", "status": "403"}),
                );
                r.headers.push(("retry-after".into(), "1".into()));
                return r;
            }
            let arts: Vec<&FakeArtifact> = run
                .artifacts
                .iter()
                .filter_map(|a| st.artifacts.get(a))
                .collect();
            let (from, to, links) = paginate(st, req, arts.len(), None);
            let page: Vec<Value> = arts[from..to]
                .iter()
                .map(|a| artifact_json(st, a))
                .collect();
            let mut resp = json_resp(200, &json!({"total_count": arts.len(), "artifacts": page}));
            resp.headers.extend(links);
            resp
        }
        ["repos", _, _, "actions", "artifacts", id, "zip"] => {
            let id: u64 = id.parse().unwrap_or(0);
            let Some(a) = st.artifacts.get(&id) else {
                return not_found();
            };
            if matches!(a.trap, Trap::ListedExpired | Trap::Gone410) {
                return json_resp(
                    410,
                    &json!({"message": "Artifact has expired", "documentation_url": "https://docs.github.com/rest/actions/artifacts#download-an-artifact", "status": "410"}),
                );
            }
            Resp {
                status: 302,
                headers: vec![(
                    "location".into(),
                    format!("http://127.0.0.1:{}/blob/{id}?sig=fake&se=60", st.blob_port),
                )],
                body: vec![],
            }
        }
        _ => not_found(),
    }
}
