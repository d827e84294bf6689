//! Matcher benchmark on seeded synthetic books (`recon::synth`): for each size it runs one child
//! process (so peak RSS is per size), times `reconcile`, and prints wall time, matches per second
//! and peak RSS (VmHWM from /proc/self/status, which includes the generated input).
//!
//! Run: `cargo bench --bench recon` (sizes 10000,100000,1000000 GL lines, about as many SL);
//! choose sizes with `RECON_BENCH_SIZES=10000,100000` or `cargo bench --bench recon -- 10000`.
//! Figures only: no assertions on time (targets are checked by reading the output).

use closegate_engine::recon::accuracy::seed_config;
use closegate_engine::recon::{reconcile, synth};
use std::process::{Command, ExitCode};
use std::time::Instant;

const SEED: u64 = 0x5EED_2026;

fn status_kb(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn child(n: usize) -> ExitCode {
    let Some(cfg) = seed_config() else {
        eprintln!("error: seed configuration unavailable");
        return ExitCode::FAILURE;
    };
    let t0 = Instant::now();
    let (entries, stats) = synth::books(n, SEED);
    let gen = t0.elapsed();
    let rss_input = status_kb("VmRSS:").unwrap_or(0);
    let t = Instant::now();
    let result = reconcile(&entries, &cfg);
    let wall = t.elapsed().as_secs_f64();
    let hwm = status_kb("VmHWM:").unwrap_or(0);
    let count = |c: &str| {
        result
            .groups
            .iter()
            .filter(|g| g.class.as_str() == c)
            .count()
    };
    let ambiguous = result
        .exceptions
        .iter()
        .filter(|x| x.reason.code() == "AMBIGUOUS")
        .count();
    println!(
        "{:>8} GL + {:>8} SL | reconcile {:>7.3} s | {:>9.0} matches/s | peak RSS {:>6.0} MB (input {:.0} MB) | exact {} (planted {}) fuzzy {} ({}) multi {} ({}) exceptions {} ambiguous {} | generate {:.2} s",
        stats.gl,
        stats.sl,
        wall,
        result.groups.len() as f64 / wall.max(1e-9),
        hwm as f64 / 1024.0,
        rss_input as f64 / 1024.0,
        count("exact_match"),
        stats.exact,
        count("fuzzy_match"),
        stats.fuzzy,
        count("multi_to_one"),
        stats.multi,
        result.exceptions.len(),
        ambiguous,
        gen.as_secs_f64(),
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return match args.get(i + 1).and_then(|s| s.parse().ok()) {
            Some(n) => child(n),
            None => {
                eprintln!("error: `--child` needs a size");
                ExitCode::FAILURE
            }
        };
    }
    let from_args: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes: Vec<usize> = if !from_args.is_empty() {
        from_args
    } else if let Ok(s) = std::env::var("RECON_BENCH_SIZES") {
        s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
    } else {
        vec![10_000, 100_000, 1_000_000]
    };
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("error: cannot find the benchmark executable");
        return ExitCode::FAILURE;
    };
    println!("recon benchmark, seed {SEED:#x}, sizes {sizes:?}");
    for n in sizes {
        match Command::new(&exe)
            .arg("--child")
            .arg(n.to_string())
            .status()
        {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("error: size {n} failed: {s}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("error: cannot run size {n}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
