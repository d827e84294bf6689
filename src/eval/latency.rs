//! The latency dimension: repeated full `recon run`s on freshly seeded copies of the pack, with
//! the wall time of every engine action (gate, state change, audit append, commit). Wall-clock
//! figures are the only non-deterministic part of an eval.

use super::summary::{round4, LatencySummary, Percentiles};
use crate::engine::recon_run::{self, ReconRunEnv};
use crate::engine::{seeding, GateFn};
use crate::policy::model::Policy;
use crate::seed::SeedPack;
use crate::store::Store;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Nearest-rank percentile of sorted milliseconds.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn pct(mut v: Vec<f64>) -> Percentiles {
    v.sort_by(f64::total_cmp);
    Percentiles {
        p50: round4(percentile(&v, 50.0)),
        p95: round4(percentile(&v, 95.0)),
        p99: round4(percentile(&v, 99.0)),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `repetitions` passes; each on a new store in `scratch`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    pack: &SeedPack,
    policy: &Policy,
    policy_name: &str,
    policy_src: &str,
    gate: GateFn,
    repetitions: u32,
    scratch: &Path,
) -> Result<LatencySummary, String> {
    let mut runs = Vec::new();
    let mut actions: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut all = Vec::new();
    let mut matches = 0u64;
    let mut busy = Duration::ZERO;
    for rep in 0..repetitions.max(1) {
        let db = scratch.join(format!("latency-{rep}.db"));
        let mut store = Store::open(&db).map_err(|e| e.to_string())?;
        store
            .transaction(|tx| seeding::seed(tx, pack, policy, policy_name, policy_src))
            .map_err(|e| e.to_string())?;
        let env = ReconRunEnv {
            policy,
            policy_name,
            policy_src,
            ts: pack.seeded_at,
            gate,
        };
        let mut observe = |action: &str, d: Duration| {
            actions.entry(action.to_string()).or_default().push(ms(d));
            all.push(ms(d));
        };
        let t = Instant::now();
        let report =
            recon_run::run(&mut store, &env, Some(&mut observe)).map_err(|e| e.to_string())?;
        let took = t.elapsed();
        busy += took;
        runs.push(ms(took));
        matches += report.proposed.values().sum::<u64>();
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
    let secs = busy.as_secs_f64();
    Ok(LatencySummary {
        repetitions: u64::from(repetitions.max(1)),
        recon_run_ms: pct(runs),
        action_ms: pct(all),
        actions_p95_ms: actions.into_iter().map(|(k, v)| (k, pct(v).p95)).collect(),
        matches_per_sec: if secs > 0.0 {
            (matches as f64 / secs).round()
        } else {
            0.0
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 95.0), 3.0);
        assert_eq!(percentile(&[], 95.0), 0.0);
    }
}
