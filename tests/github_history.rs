//! End-to-end tests of `closegate-engine eval-runs` against the fake GitHub (loopback only), run
//! as a separate process through `GITHUB_API_URL`. Ground truth comes from the fake's own
//! generation parameters. The `#[ignore]`d `bench_year_with_latency` is the request-budget and
//! wall-time check (run it with `--ignored --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fake_github.rs"]
mod fake_github;

use fake_github::{FakeConfig, FakeGithub};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Output};

const TOKEN: &str = "ghs_TopSecretTokenValue1234567890";

fn run_export(
    fake: &FakeGithub,
    dir: &std::path::Path,
    extra: &[&str],
    days: u32,
    start: &str,
) -> (Output, Option<Vec<u8>>) {
    let out = dir.join("eval-runs.json");
    let since: chrono::NaiveDate = start.parse().unwrap();
    let until = since + chrono::Duration::days(i64::from(days) - 1);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_closegate-engine"));
    cmd.args([
        "eval-runs",
        "--since",
        start,
        "--until",
        &until.to_string(),
        "--out",
    ])
    .arg(&out)
    .args([
        "--github-repo",
        "octo-org/octo-docs",
        "--retry-base-ms",
        "10",
    ])
    .args(extra)
    .env("GITHUB_API_URL", fake.api_url())
    .env("GITHUB_TOKEN", TOKEN)
    .env_remove("GH_TOKEN")
    .env_remove("GITHUB_REPOSITORY")
    .env("RUST_LOG", "debug");
    let o = cmd.output().unwrap();
    let bytes = std::fs::read(&out).ok();
    (o, bytes)
}

fn status_of(days: &Value) -> BTreeMap<String, String> {
    days.as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn fake_year_with_every_trap() {
    let fake = FakeGithub::start(FakeConfig::year_with_traps(TOKEN));
    assert!(
        fake.run_count() > 1000,
        "the window must exceed the 1,000-result cap"
    );
    let tmp = tempfile::tempdir().unwrap();
    let (o, bytes) = run_export(&fake, tmp.path(), &[], 365, "2025-07-01");
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let bytes = bytes.unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();

    // every run exactly once, with the expected status and qualification
    let runs = v["runs"].as_array().unwrap();
    let mut seen = BTreeMap::new();
    for r in runs {
        let id: u64 = r["run_id"].as_str().unwrap().parse().unwrap();
        assert!(
            seen.insert(id, r.clone()).is_none(),
            "run {id} listed twice"
        );
    }
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        fake.expected_runs.keys().copied().collect::<Vec<_>>()
    );
    for (id, exp) in &fake.expected_runs {
        let r = &seen[id];
        assert_eq!(r["status"], exp.status, "run {id}: {r}");
        assert_eq!(r["qualifies"], exp.qualifies, "run {id}");
        assert_eq!(r["date"], exp.date.to_string(), "run {id}");
        if exp.status == "INVALID_ARTIFACT" {
            assert!(
                r["reason"].as_str().is_some_and(|s| !s.is_empty()),
                "run {id} has no reason"
            );
        }
    }
    // each trap's reason
    let reasons: Vec<String> = runs
        .iter()
        .filter_map(|r| r["reason"].as_str().map(str::to_string))
        .collect();
    for needle in [
        "corrupt zip",
        "sha256 mismatch",
        "decompression bomb",
        "path traversal",
        "nested zip",
        "410",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "no run with reason `{needle}`: {reasons:?}"
        );
    }
    // reruns recorded with their attempt
    assert!(runs.iter().any(|r| r["run_attempt"] == 2));
    // coverage day by day
    let got = status_of(&v["coverage"]["days"]);
    let want: BTreeMap<String, String> = fake
        .expected_days
        .iter()
        .map(|(d, s)| (d.to_string(), s.to_string()))
        .collect();
    assert_eq!(got, want);
    // every FAIL day is remediated on the next OK day of the ground truth
    let days: Vec<(&String, &String)> = want.iter().collect();
    let regs = v["coverage"]["regressions"].as_array().unwrap();
    assert_eq!(
        regs.len(),
        days.iter().filter(|(_, s)| *s == "FAIL").count()
    );
    for reg in regs {
        let f = reg["failed_on"].as_str().unwrap();
        let i = days.iter().position(|(d, _)| d.as_str() == f).unwrap();
        let next_ok = days[i + 1..]
            .iter()
            .find(|(_, s)| *s == "OK")
            .map(|(d, _)| d.as_str());
        assert_eq!(reg["remediated_on"].as_str(), next_ok);
    }
    // retention trap
    assert_eq!(v["retention_days"], 90);
    assert_eq!(v["retention_sufficient"], false);
    assert!(
        stderr.contains("WARNING: artifact retention is 90 days"),
        "{stderr}"
    );
    // HTTP traps
    assert_eq!(
        fake.blob_auth_violations(),
        0,
        "the token reached the blob host"
    );
    assert!(fake.blob_requests() > 300);
    assert_eq!(fake.missing_version_header(), 0);
    assert_eq!(fake.bad_auth(), 0);
    assert!(fake.rate_limit_tripped());
    let fired = fake.once_fired();
    for k in ["list502", "secondary:", "art502:", "blob502:"] {
        assert!(
            fired.iter().any(|f| f.starts_with(k)),
            "trap {k} never fired: {fired:?}"
        );
    }
    // month-sized created ranges only
    for q in fake.list_queries() {
        let (a, b) = q
            .split_once("..")
            .expect("every listing is filtered by created");
        let a = chrono::DateTime::parse_from_rfc3339(a).unwrap();
        let b = chrono::DateTime::parse_from_rfc3339(b).unwrap();
        assert!(b - a <= chrono::Duration::days(31), "range too long: {q}");
    }
    // request count logged
    assert!(stderr.contains("API requests"), "{stderr}");
    // the token appears nowhere
    for (what, s) in [
        ("stdout", stdout.as_bytes()),
        ("stderr", stderr.as_bytes()),
        ("eval-runs.json", &bytes[..]),
    ] {
        assert!(
            !String::from_utf8_lossy(s).contains(TOKEN),
            "token leaked in {what}"
        );
        assert!(
            !String::from_utf8_lossy(s).contains("TopSecret"),
            "token leaked in {what}"
        );
    }
}

fn quiet_config(days: u32) -> FakeConfig {
    FakeConfig {
        start: "2026-01-01".parse().unwrap(),
        days,
        pr_runs: 20,
        latency_ms: 0,
        traps: false,
        rate_limit_after: None,
        reset_in_secs: 0,
        token: TOKEN.into(),
    }
}

#[test]
fn same_fake_same_bytes() {
    let fake = FakeGithub::start(quiet_config(60));
    let t1 = tempfile::tempdir().unwrap();
    let t2 = tempfile::tempdir().unwrap();
    let (o1, b1) = run_export(&fake, t1.path(), &["--concurrency", "8"], 60, "2026-01-01");
    let (o2, b2) = run_export(&fake, t2.path(), &["--concurrency", "3"], 60, "2026-01-01");
    assert!(o1.status.success() && o2.status.success());
    assert_eq!(b1.unwrap(), b2.unwrap());
}

#[test]
fn rate_limit_reset_too_far_fails_naming_the_reset() {
    let mut cfg = quiet_config(20);
    cfg.rate_limit_after = Some(3);
    cfg.reset_in_secs = 3600;
    let fake = FakeGithub::start(cfg);
    let tmp = tempfile::tempdir().unwrap();
    let (o, bytes) = run_export(
        &fake,
        tmp.path(),
        &["--max-rate-wait", "2"],
        20,
        "2026-01-01",
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rate limit exhausted") && stderr.contains("resets at 20"),
        "{stderr}"
    );
    assert!(bytes.is_none(), "no output on failure");
    assert!(!stderr.contains(TOKEN));
}

#[test]
fn wrong_token_is_an_error_without_the_token() {
    let mut cfg = quiet_config(5);
    cfg.token = "another-token".into();
    let fake = FakeGithub::start(cfg);
    let tmp = tempfile::tempdir().unwrap();
    let (o, bytes) = run_export(&fake, tmp.path(), &[], 5, "2026-01-01");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr.contains("401"), "{stderr}");
    assert!(!stderr.contains(TOKEN));
    assert!(bytes.is_none());
}

/// Not a timed test: prints the figures for the report. 365 nightly runs, 50 ms per request.
#[test]
#[ignore]
fn bench_year_with_latency() {
    let mut cfg = quiet_config(365);
    cfg.start = "2025-07-01".parse().unwrap();
    cfg.pr_runs = 0;
    cfg.latency_ms = 50;
    let fake = FakeGithub::start(cfg);
    let tmp = tempfile::tempdir().unwrap();
    let t0 = std::time::Instant::now();
    let (o, _) = run_export(&fake, tmp.path(), &[], 365, "2025-07-01");
    let el = t0.elapsed();
    assert!(o.status.success());
    println!(
        "bench: {} runs, wall {:.2}s, {} API requests, {} blob requests (client log: {})",
        fake.run_count(),
        el.as_secs_f64(),
        fake.api_requests(),
        fake.blob_requests(),
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .find(|l| l.contains("API requests"))
            .unwrap_or("")
    );
}

/// Issue 7 with issue 6: the auditor's bundle rebuilt from the (fake) Actions history is
/// byte-identical for the same fake data, names its GitHub source, and holds no token.
#[test]
fn export_bundle_from_the_fake_history_is_deterministic_and_token_free() {
    let fake = FakeGithub::start(quiet_config(150));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let seed = Command::new(env!("CARGO_BIN_EXE_closegate-engine"))
        .arg("--db")
        .arg(&db)
        .args(["-q", "seed", "--history", "180d"])
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let export = |name: &str| {
        let out = dir.path().join(name);
        let o = Command::new(env!("CARGO_BIN_EXE_closegate-engine"))
            .arg("--db")
            .arg(&db)
            .args([
                "audit-evidence-export",
                "--since",
                "2026-03-01",
                "--until",
                "2026-05-29",
            ])
            .args(["--generated-at", "2026-06-01T07:00:00Z", "--out"])
            .arg(&out)
            .args([
                "--github-repo",
                "octo-org/octo-docs",
                "--retry-base-ms",
                "10",
            ])
            .env("GITHUB_API_URL", fake.api_url())
            .env("GITHUB_TOKEN", TOKEN)
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_REPOSITORY")
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .unwrap();
        (o, std::fs::read(&out).ok())
    };
    let (o1, z1) = export("a.zip");
    let (o2, z2) = export("b.zip");
    for o in [&o1, &o2] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!all.contains(TOKEN), "token leaked: {all}");
        assert!(o.status.success(), "{all}");
    }
    let (z1, z2) = (z1.unwrap(), z2.unwrap());
    assert_eq!(z1, z2, "same fake data, different zip");
    assert!(!String::from_utf8_lossy(&z1).contains(TOKEN));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(z1)).unwrap();
    let mut runs = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("eval-runs.json").unwrap(), &mut runs).unwrap();
    let v: Value = serde_json::from_str(&runs).unwrap();
    assert_eq!(v["source"]["kind"], "github", "{}", v["source"]);
    assert_eq!(v["coverage"]["days"].as_array().unwrap().len(), 90);
    assert_eq!(v["retention_days"], 90);
    assert_eq!(v["retention_sufficient"], false);
    let mut readme = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("README.md").unwrap(), &mut readme).unwrap();
    assert!(
        readme.contains("**Retention**: artifact retention is 90 days"),
        "{readme}"
    );
    assert!(
        String::from_utf8_lossy(&o1.stderr).contains("retention"),
        "no stderr warning"
    );
    assert_eq!(fake.blob_auth_violations(), 0);
}
