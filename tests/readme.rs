//! The README's tour runs as written: every `$cg …` line of its first `sh` block that uses
//! `$cg` is executed in order, in an empty folder, with `$cg` bound to the binary under test.
//! A line whose comment says `exit N` must exit N; every other line must exit 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn the_readme_tour_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let lines: Vec<&str> = readme
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("$cg "))
        .collect();
    assert!(lines.len() >= 10, "the tour lost its commands: {lines:?}");
    let dir = tempfile::tempdir().unwrap();
    for line in lines {
        let (cmd, comment) = match line.split_once(" # ") {
            Some((c, k)) => (c.trim(), k),
            None => (line, ""),
        };
        let want = comment
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .find(|w| w[0] == "exit")
            .and_then(|w| w[1].trim_end_matches(':').parse::<i32>().ok())
            .unwrap_or(0);
        let out = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .env("cg", env!("CARGO_BIN_EXE_closegate-engine"))
            .env_remove("CLOSEGATE_DB")
            .env_remove("CLOSEGATE_POLICY")
            .env_remove("CLOSEGATE_FAULT_INJECT")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(want),
            "`{cmd}`\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
