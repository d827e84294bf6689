//! A policy change without a matching commit is flagged: a temp git repository commits the
//! reference policy; engine actions run first under it, then under an edited, uncommitted copy.
//! `policy-versions.json` links the first version to the commit and lists the second in
//! `unreviewed_versions`; the README says so. Skipped, with a notice, when `git` is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod export_common;

use export_common::*;
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Pat Reviewer",
            "-c",
            "user.email=pat@example.com",
        ])
        .args(args)
        .env("GIT_AUTHOR_DATE", "2026-01-05T10:00:00+00:00")
        .env("GIT_COMMITTER_DATE", "2026-01-05T10:00:00+00:00")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn git_out(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

#[test]
fn uncommitted_policy_version_is_flagged() {
    if !Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("git not installed: skipped");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    std::fs::create_dir_all(repo.join("conf")).unwrap();
    let reference =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/saas/policy.yaml")).unwrap();
    let policy = repo.join("conf/policy.yaml");
    std::fs::write(&policy, &reference).unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "conf/policy.yaml"]);
    git(&repo, &["commit", "-q", "-m", "reviewed policy"]);
    let commit = git_out(&repo, &["rev-parse", "HEAD"]);

    let db = seed(t.path(), false);
    let p = policy.to_str().unwrap();
    // Under the committed policy.
    ok(&run(
        &db,
        &[
            "--policy",
            p,
            "match",
            "propose",
            "--class",
            "exact_match",
            "--gl",
            "GL-1010",
            "--sl",
            "SL-2010",
            "--actor",
            "engine:recon",
        ],
    ));
    // Edit without committing, and act under it.
    let edited = String::from_utf8(reference.clone())
        .unwrap()
        .replace("threshold: \"10000.00\"", "threshold: \"50000.00\"");
    assert_ne!(edited.as_bytes(), reference.as_slice());
    std::fs::write(&policy, &edited).unwrap();
    let v = run(
        &db,
        &[
            "--policy",
            p,
            "match",
            "confirm",
            "M-000001",
            "--actor",
            "engine:autoconfirm",
        ],
    );
    assert!(v.status.code().is_some());
    let unreviewed = sha256(edited.as_bytes());
    let reviewed = sha256(&reference);

    // The window starts on the day of the first event (the actions ran at the wall clock).
    let con = rusqlite::Connection::open(&db).unwrap();
    let (first, last): (String, String) = con
        .query_row("SELECT MIN(ts), MAX(ts) FROM audit_log", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let versions: Vec<String> = con
        .prepare("SELECT DISTINCT policy_version FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(versions, [reviewed.clone(), unreviewed.clone()]);
    let mon = t.path().join("monitor");
    std::fs::create_dir(&mon).unwrap();
    let z = t.path().join("p.zip");
    let o = run(
        &db,
        &[
            "audit-evidence-export",
            "--since",
            &first[..10],
            "--until",
            &last[..10],
            "--out",
            z.to_str().unwrap(),
            "--eval-runs-dir",
            mon.to_str().unwrap(),
            "--policy-path",
            p,
            "--generated-at",
            "2026-12-31T00:00:00Z",
        ],
    );
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains(&unreviewed));
    let map = zip_map(&z);
    let pv = json_of(&map, "policy-versions.json");
    assert_eq!(pv["history_examined"], true);
    assert_eq!(pv["unreviewed_versions"], serde_json::json!([unreviewed]));
    let commits = pv["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 1);
    assert_eq!(commits[0]["commit"], commit.as_str());
    assert_eq!(commits[0]["file_sha256"], reviewed.as_str());
    assert_eq!(commits[0]["author_name"], "Pat Reviewer");
    assert_eq!(commits[0]["path"], "conf/policy.yaml");
    assert_eq!(
        commits[0]["policy_versions_seen"],
        serde_json::json!([reviewed])
    );
    let seen = pv["versions_in_log"].as_array().unwrap();
    let find = |v: &str| {
        seen.iter()
            .find(|x| x["policy_version"] == v)
            .unwrap()
            .clone()
    };
    assert_eq!(find(&reviewed)["commits"], serde_json::json!([commit]));
    assert_eq!(find(&reviewed)["unreviewed"], false);
    assert_eq!(find(&unreviewed)["unreviewed"], true);
    let readme = String::from_utf8(map["README.md"].clone()).unwrap();
    assert!(readme.contains("**Unreviewed policy**"), "{readme}");
    assert!(readme.contains(&unreviewed));

    // Committing the edit makes the same log fully reviewed.
    git(&repo, &["commit", "-q", "-am", "raise materiality"]);
    let z2 = t.path().join("p2.zip");
    ok(&run(
        &db,
        &[
            "audit-evidence-export",
            "--since",
            &first[..10],
            "--until",
            &last[..10],
            "--out",
            z2.to_str().unwrap(),
            "--eval-runs-dir",
            mon.to_str().unwrap(),
            "--policy-path",
            p,
            "--generated-at",
            "2026-12-31T00:00:00Z",
        ],
    ));
    let pv2 = json_of(&zip_map(&z2), "policy-versions.json");
    assert_eq!(pv2["unreviewed_versions"], serde_json::json!([]));
    assert_eq!(pv2["commits"].as_array().unwrap().len(), 2);
}
