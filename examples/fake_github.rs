//! Dev-only: runs the fake GitHub of `tests/support/fake_github.rs` as a separate process so that
//! the real binary (or `audit-evidence-export`) can be pointed at it through `GITHUB_API_URL`.
//! Loopback only; stops by itself after `--seconds` (default 600).
//!
//! ```text
//! cargo run --example fake_github -- --token T [--latency-ms 50] [--no-traps] [--truth truth.json]
//! GITHUB_API_URL=<printed url> GITHUB_TOKEN=T closegate-engine eval-runs --github-repo octo-org/octo-docs \
//!     --since 2025-07-01 --until 2026-06-30 --out eval-runs.json
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/fake_github.rs"]
mod fake_github;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let val = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let token = val("--token").unwrap_or_else(|| "fake-token".into());
    let mut cfg = fake_github::FakeConfig::year_with_traps(&token);
    if let Some(l) = val("--latency-ms") {
        cfg.latency_ms = l.parse().unwrap();
    }
    if args.iter().any(|a| a == "--no-traps") {
        cfg.traps = false;
        cfg.rate_limit_after = None;
        cfg.pr_runs = 0;
    }
    let secs: u64 = val("--seconds").map(|s| s.parse().unwrap()).unwrap_or(600);
    let fake = fake_github::FakeGithub::start(cfg);
    if let Some(p) = val("--truth") {
        std::fs::write(
            p,
            serde_json::to_vec_pretty(&fake.ground_truth_json()).unwrap(),
        )
        .unwrap();
    }
    println!("{}", fake.api_url());
    std::thread::sleep(std::time::Duration::from_secs(secs));
    eprintln!(
        "fake_github: {} API requests, {} blob requests, {} blob requests with Authorization",
        fake.api_requests(),
        fake.blob_requests(),
        fake.blob_auth_violations()
    );
}
