//! Shared helpers of the export, outbox and sweeper integration tests: run the binary, seed a
//! database, write monitor files, read a bundle, and tiny loopback HTTP servers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_closegate-engine"));
    c.env_remove("GITHUB_REPOSITORY")
        .env_remove("CLOSEGATE_DB")
        .env_remove("CLOSEGATE_POLICY")
        .env_remove("CLOSEGATE_SLACK_HOOK")
        .env_remove("CLOSEGATE_WEBHOOK_URL")
        .env_remove("SOURCE_DATE_EPOCH");
    c
}

pub fn run(db: &Path, args: &[&str]) -> Output {
    bin().arg("--db").arg(db).args(args).output().unwrap()
}

pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Seeds `saas`, with the 180-day history when `history`.
pub fn seed(dir: &Path, history: bool) -> PathBuf {
    let db = dir.join("recon.db");
    let mut args = vec!["seed", "--pack", "saas"];
    if history {
        args.extend(["--history", "180d"]);
    }
    ok(&run(&db, &args));
    db
}

#[path = "../support/monitor_file.rs"]
mod monitor_file;
/// Writes one soc2-monitor JSON (shared with the `eval-runs` tests).
pub use monitor_file::monitor;

/// A monitor run at 06:00Z on every day from `since` for `days` days.
pub fn monitor_every_day(dir: &Path, since: chrono::NaiveDate, days: u64) {
    for i in 0..days {
        let d = since + chrono::Days::new(i);
        monitor(
            dir,
            &format!("soc2-monitor-{d}.json"),
            &format!("{d}T06:00:00Z"),
            true,
        );
    }
}

/// The bundle's files by name, in zip order.
pub fn read_zip(path: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap();
    let mut ar = zip::ZipArchive::new(f).unwrap();
    (0..ar.len())
        .map(|i| {
            let mut e = ar.by_index(i).unwrap();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (e.name().unwrap().to_string(), b)
        })
        .collect()
}

pub fn zip_map(path: &Path) -> BTreeMap<String, Vec<u8>> {
    read_zip(path).into_iter().collect()
}

pub fn json_of(files: &BTreeMap<String, Vec<u8>>, name: &str) -> serde_json::Value {
    serde_json::from_slice(&files[name]).unwrap()
}

pub fn sha256(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(b))
}

/// A loopback HTTP server answering every request with `status`; counts requests and keeps the
/// request heads and bodies.
pub struct FailingServer {
    pub url: String,
    pub hits: Arc<AtomicU64>,
    pub requests: Arc<Mutex<Vec<String>>>,
}

pub fn failing_server(status: u16, path: &str) -> FailingServer {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hits = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (h, r) = (hits.clone(), requests.clone());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then the body by content-length.
            loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let len = text[..i]
                        .lines()
                        .find_map(|l| {
                            let l = l.to_ascii_lowercase();
                            l.strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= i + 4 + len {
                        break;
                    }
                }
            }
            h.fetch_add(1, Ordering::SeqCst);
            r.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf).into_owned());
            let _ = write!(
                s,
                "HTTP/1.1 {status} Failing\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope"
            );
        }
    });
    FailingServer {
        url: format!("http://127.0.0.1:{port}{path}"),
        hits,
        requests,
    }
}

/// A loopback server that accepts connections and never answers (a hung endpoint).
pub fn silent_server(path: &str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut keep = Vec::new();
        for s in l.incoming().flatten() {
            keep.push(s);
        }
    });
    format!("http://127.0.0.1:{port}{path}")
}

/// Creates one APPROVAL_REQUIRED event (an engine confirming a USD 12,500 match), hence one
/// `hitl_notification` outbox row, in a database seeded without history.
pub fn one_approval_required(db: &Path) {
    ok(&run(
        db,
        &[
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
    let o = run(
        db,
        &[
            "match",
            "confirm",
            "M-000001",
            "--actor",
            "engine:autoconfirm",
        ],
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("require_approval"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
