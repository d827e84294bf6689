//! `closegate-engine eval-runs --eval-runs-dir`: the offline source. Gaps are explicit, a corrupt
//! monitor file is named, the output is byte-identical across runs, and bad windows or an
//! existing `--out` are refused with exit 1 and no file written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/monitor_file.rs"]
mod monitor_file;

use monitor_file::monitor;
use serde_json::{json, Value};
use std::process::{Command, Output};

fn eval_runs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_closegate-engine"))
        .arg("eval-runs")
        .args(args)
        .env_remove("GITHUB_REPOSITORY")
        .output()
        .unwrap()
}

/// Ten days, 2026-02-01..10: missing 03, 06, 07; failing 04 (06:00), remediated 05 at 09:30.
fn folder() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for day in 1..=10 {
        if [3, 6, 7].contains(&day) {
            continue;
        }
        let time = if day == 5 { "09:30:00" } else { "06:00:00" };
        monitor(
            t.path(),
            &format!("soc2-monitor-{day:02}.json"),
            &format!("2026-02-{day:02}T{time}Z"),
            day != 4,
        );
    }
    // not a monitor file: ignored
    std::fs::write(t.path().join("notes.json"), "not json").unwrap();
    t
}

#[test]
fn gaps_and_remediation_are_explicit() {
    let src = folder();
    let out = tempfile::tempdir().unwrap();
    let f = out.path().join("eval-runs.json");
    let o = eval_runs(&[
        "--since",
        "2026-02-01",
        "--until",
        "2026-02-10",
        "--out",
        f.to_str().unwrap(),
        "--eval-runs-dir",
        src.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
    let c = &v["coverage"];
    let missing: Vec<&str> = c["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "MISSING")
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    let fail: Vec<&str> = c["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "FAIL")
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["2026-02-03", "2026-02-06", "2026-02-07"]);
    assert_eq!(fail, ["2026-02-04"]);
    assert_eq!(
        (c["ok"].as_u64(), c["fail"].as_u64(), c["missing"].as_u64()),
        (Some(6), Some(1), Some(3))
    );
    assert_eq!(c["days"].as_array().unwrap().len(), 10);
    assert_eq!(
        c["regressions"],
        json!([{"failed_on": "2026-02-04", "remediated_on": "2026-02-05", "hours_to_remediate": 27.5}])
    );
    assert_eq!(v["source"]["kind"], "directory");
    assert_eq!(v["runs"].as_array().unwrap().len(), 7);
    assert_eq!(v["retention_days"], Value::Null);
}

#[test]
fn same_folder_same_bytes() {
    let src = folder();
    let out = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for n in ["a.json", "b.json"] {
        let f = out.path().join(n);
        let o = eval_runs(&[
            "--since",
            "2026-02-01",
            "--until",
            "2026-02-10",
            "--out",
            f.to_str().unwrap(),
            "--eval-runs-dir",
            src.path().to_str().unwrap(),
        ]);
        assert!(o.status.success());
        outs.push(std::fs::read(f).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
}

#[test]
fn corrupt_monitor_is_named_and_nothing_written() {
    let src = folder();
    std::fs::write(
        src.path().join("soc2-monitor-99.json"),
        "{\n  \"generated_at\": \"2026-02-09T06:00:00Z\",\n  \"eval_run_id\": 7,\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let f = out.path().join("eval-runs.json");
    let o = eval_runs(&[
        "--since",
        "2026-02-01",
        "--until",
        "2026-02-10",
        "--out",
        f.to_str().unwrap(),
        "--eval-runs-dir",
        src.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("soc2-monitor-99.json:3:"), "{e}");
    assert!(!f.exists());
}

#[test]
fn reversed_window_and_existing_out_are_refused() {
    let src = folder();
    let out = tempfile::tempdir().unwrap();
    let f = out.path().join("eval-runs.json");
    let o = eval_runs(&[
        "--since",
        "2026-02-10",
        "--until",
        "2026-02-01",
        "--out",
        f.to_str().unwrap(),
        "--eval-runs-dir",
        src.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("before it starts"));
    assert!(!f.exists());
    std::fs::write(&f, "keep me").unwrap();
    let o = eval_runs(&[
        "--since",
        "2026-02-01",
        "--until",
        "2026-02-10",
        "--out",
        f.to_str().unwrap(),
        "--eval-runs-dir",
        src.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "keep me");
    let o = eval_runs(&[
        "--since",
        "2026-02-01",
        "--until",
        "2026-02-10",
        "--out",
        f.to_str().unwrap(),
        "--force",
        "--eval-runs-dir",
        src.path().to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert_ne!(std::fs::read_to_string(&f).unwrap(), "keep me");
}

#[test]
fn tz_offset_moves_day_boundaries() {
    let src = tempfile::tempdir().unwrap();
    monitor(
        src.path(),
        "soc2-monitor-a.json",
        "2026-02-02T03:00:00Z",
        true,
    );
    let out = tempfile::tempdir().unwrap();
    let f = out.path().join("e.json");
    let o = eval_runs(&[
        "--since",
        "2026-02-01",
        "--until",
        "2026-02-02",
        "--tz=-05:00",
        "--out",
        f.to_str().unwrap(),
        "--eval-runs-dir",
        src.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
    assert_eq!(v["window"]["tz"], "-05:00");
    assert_eq!(v["runs"][0]["date"], "2026-02-01");
    let o = eval_runs(&[
        "--since",
        "2026-02-01",
        "--until",
        "2026-02-02",
        "--tz",
        "America/New_York",
        "--out",
        out.path().join("ny.json").to_str().unwrap(),
        "--eval-runs-dir",
        src.path().to_str().unwrap(),
    ]);
    // An IANA zone: 03:00Z on 2 Feb is 22:00 on 1 Feb in New York (UTC-5 in winter).
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("ny.json")).unwrap()).unwrap();
    assert_eq!(v["window"]["tz"], "America/New_York");
    assert_eq!(v["runs"][0]["date"], "2026-02-01");
    let o = eval_runs(&[
        "--since",
        "2026-02-01",
        "--until",
        "2026-02-02",
        "--tz",
        "Mars/Olympus_Mons",
        "--out",
        out.path().join("x.json").to_str().unwrap(),
        "--eval-runs-dir",
        src.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.path().join("x.json").exists());
}
