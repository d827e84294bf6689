//! Issue 5 acceptance through the binary: eval determinism, monitor idempotence, the three
//! regression paths (fault-injected gate, missing dimension, corrupt summary), `ci` on a fresh
//! folder, the report snapshot, and the Slack notification against a loopback server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use predicates::str::contains;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

fn bin(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("closegate-engine").unwrap();
    c.current_dir(cwd)
        .env_remove("CLOSEGATE_SLACK_HOOK")
        .env_remove("CLOSEGATE_FAULT_INJECT")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("CLOSEGATE_DB")
        .env_remove("CLOSEGATE_POLICY");
    c
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

const DETERMINISTIC: &str = "accuracy,policy,adversarial";

#[test]
fn same_run_id_gives_identical_sections_and_identical_monitor_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for out in ["a", "b"] {
        bin(d)
            .args([
                "eval",
                "--dimension",
                DETERMINISTIC,
                "--run-id",
                "20260601-060000",
                "--out-dir",
                out,
            ])
            .assert()
            .success();
    }
    let a = json(&d.join("a/20260601-060000/summary.json"));
    let b = json(&d.join("b/20260601-060000/summary.json"));
    for k in ["accuracy", "policy", "adversarial"] {
        assert!(a["dimensions"][k].is_object(), "{k} missing");
        assert_eq!(a["dimensions"][k], b["dimensions"][k], "{k} differs");
    }
    assert_eq!(
        a["dimensions"]["policy"]["pass_rate"], 1.0,
        "{}",
        a["dimensions"]["policy"]
    );
    assert_eq!(a["dimensions"]["adversarial"]["bypasses"], 0);
    assert!(a["dimensions"]["accuracy"]["macro_f1"].as_f64().unwrap() >= 0.98);
    // latest/ is a copy, not a link.
    assert!(!std::fs::symlink_metadata(d.join("a/latest/summary.json"))
        .unwrap()
        .file_type()
        .is_symlink());
    for out in ["a", "b"] {
        bin(d)
            .args([
                "soc2-monitor",
                "--summary",
                &format!("{out}/20260601-060000/summary.json"),
            ])
            .args(["--out", &format!("{out}.json")])
            .assert()
            .success();
    }
    let ma = std::fs::read(d.join("a.json")).unwrap();
    assert_eq!(
        ma,
        std::fs::read(d.join("b.json")).unwrap(),
        "monitor output differs"
    );
    let m: serde_json::Value = serde_json::from_slice(&ma).unwrap();
    assert_eq!(m["generated_at"], "2026-06-01T06:00:00Z");
    // Latency was not run: MISSING, and the monitor says so.
    assert_eq!(m["deterministic_rows"][2]["status"], "MISSING");
    // Running the monitor again on the same summary rewrites identical bytes without --force.
    bin(d)
        .args([
            "soc2-monitor",
            "--summary",
            "a/20260601-060000/summary.json",
            "--out",
            "a.json",
        ])
        .assert()
        .success();
    // The same run id again refuses to overwrite the run folder.
    bin(d)
        .args([
            "eval",
            "--dimension",
            "accuracy",
            "--run-id",
            "20260601-060000",
            "--out-dir",
            "a",
        ])
        .assert()
        .code(1)
        .stderr(contains("--force"));
}

#[test]
fn a_fault_injected_gate_fails_the_policy_dimension_and_the_monitor_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bin(d)
        .env("CLOSEGATE_FAULT_INJECT", "policy-regression")
        .args([
            "eval",
            "--dimension",
            "policy",
            "--run-id",
            "20260601-060000",
        ])
        .assert()
        .success()
        .stderr(contains("fault injection"));
    let s = json(&d.join("evals/results/latest/summary.json"));
    assert!(s["dimensions"]["policy"]["pass_rate"].as_f64().unwrap() < 1.0);
    bin(d)
        .args(["soc2-monitor", "--out", "m.json", "--fail-on-regression"])
        .assert()
        .code(2);
    let m = json(&d.join("m.json"));
    assert_eq!(
        m["deterministic_rows"][1]["dimension"],
        "policy_enforcement"
    );
    assert_eq!(m["deterministic_rows"][1]["status"], "FAIL");
    assert_eq!(m["overall_ok"], false);
    assert!(m["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("SOD_SAME_ACTOR")));
}

#[test]
fn a_deleted_dimension_is_missing_and_a_corrupt_summary_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bin(d)
        .args([
            "eval",
            "--dimension",
            DETERMINISTIC,
            "--run-id",
            "20260601-060000",
        ])
        .assert()
        .success();
    let mut s = json(&d.join("evals/results/latest/summary.json"));
    s["dimensions"]
        .as_object_mut()
        .unwrap()
        .remove("adversarial");
    std::fs::write(d.join("cut.json"), serde_json::to_string(&s).unwrap()).unwrap();
    bin(d)
        .args([
            "soc2-monitor",
            "--summary",
            "cut.json",
            "--out",
            "m.json",
            "--fail-on-regression",
        ])
        .assert()
        .code(2);
    let m = json(&d.join("m.json"));
    assert_eq!(m["deterministic_rows"][3]["status"], "MISSING");
    assert_eq!(m["deterministic_rows"][3]["threshold_met"], false);
    // Corrupt JSON: exit 1, file:line:col, no artifact.
    std::fs::write(
        d.join("bad.json"),
        "{\n  \"eval_run_id\": \"20260601-060000\",\n  oops\n}",
    )
    .unwrap();
    bin(d)
        .args([
            "soc2-monitor",
            "--summary",
            "bad.json",
            "--out",
            "none.json",
            "--fail-on-regression",
        ])
        .assert()
        .code(1)
        .stderr(contains("bad.json:3:"));
    assert!(!d.join("none.json").exists());
}

#[test]
fn ci_runs_the_whole_pipeline_on_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bin(d)
        .args(["ci", "--run-id", "20260601-060000", "--repetitions", "3"])
        .assert()
        .success()
        .stdout(contains("matching_accuracy"))
        .stdout(contains("adversarial_robustness"))
        .stdout(contains("overall: OK"));
    let m = json(&d.join("soc2-monitor.json"));
    assert_eq!(m["overall_ok"], true, "{m}");
    assert_eq!(m["deterministic_rows"].as_array().unwrap().len(), 4);
    assert!(m["audit_head"]["seq"].as_u64().unwrap() > 0);
    for f in ["summary.json", "report.json", "report.md"] {
        assert!(d.join("evals/results/latest").join(f).exists(), "{f}");
    }
    // No database was left in the folder (ci seeds a temporary one).
    assert!(!d.join(".closegate").exists());
}

#[test]
fn report_md_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bin(d)
        .args([
            "eval",
            "--dimension",
            DETERMINISTIC,
            "--run-id",
            "20260601-060000",
        ])
        .assert()
        .success();
    let md = std::fs::read_to_string(d.join("evals/results/latest/report.md")).unwrap();
    insta::assert_snapshot!("report_md", md);
}

/// A loopback Slack: answers 500 to the first `fail_first` requests, then 200; records bodies.
fn fake_slack(fail_first: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let status = if i < fail_first {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            );
        }
    });
    (
        format!("http://{addr}/services/T000/B000/SECRETTOKEN123"),
        bodies,
    )
}

#[test]
fn slack_is_notified_with_retries_and_the_hook_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bin(d)
        .env("CLOSEGATE_FAULT_INJECT", "policy-regression")
        .args([
            "eval",
            "--dimension",
            "policy",
            "--run-id",
            "20260601-060000",
        ])
        .assert()
        .success();
    let (hook, bodies) = fake_slack(2);
    let out = bin(d)
        .env("CLOSEGATE_SLACK_HOOK", &hook)
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "acme/books")
        .env("GITHUB_RUN_ID", "42")
        .args(["soc2-monitor", "--out", "m.json", "--fail-on-regression"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3, "two 500s then a success");
    let v: serde_json::Value = serde_json::from_str(&bodies[2]).unwrap();
    let text = v.to_string();
    assert!(text.contains("policy_enforcement"), "{text}");
    assert!(
        text.contains("adversarial_robustness"),
        "missing rows are named too: {text}"
    );
    assert!(
        text.contains("https://github.example/acme/books/actions/runs/42"),
        "{text}"
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains("SECRETTOKEN123") && !all.contains(&hook),
        "hook leaked: {all}"
    );
    // A hook that never answers well is a warning, not an exit-code change, and stays secret.
    let (hook, _) = fake_slack(100);
    let out = bin(d)
        .env("CLOSEGATE_SLACK_HOOK", &hook)
        .args(["soc2-monitor", "--out", "m.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: Slack notification failed after 3 attempt(s): HTTP 500"),
        "{err}"
    );
    assert!(!err.contains("SECRETTOKEN123"));
}
