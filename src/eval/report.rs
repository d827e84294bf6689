//! `report.md`: the eval for an audit committee. One table per dimension, every failure spelled
//! out, the provenance (tool, policy, pack and fixture hashes) at the top. Pure rendering.

use super::summary::Summary;
use crate::monitor::fmt_score;
use std::fmt::Write;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the report.
pub fn render(s: &Summary) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# closegate-engine eval report: run {}\n", s.eval_run_id);
    let _ = writeln!(m, "| | |\n|---|---|");
    let _ = writeln!(m, "| Tool version | {} |", s.tool_version);
    let _ = writeln!(m, "| Policy version (sha256) | `{}` |", s.policy_version);
    let _ = writeln!(
        m,
        "| Seed pack | {} (`{}`) |",
        s.seed_pack.name, s.seed_pack.content_hash
    );
    for (k, v) in &s.fixtures {
        let _ = writeln!(m, "| Fixtures: {k} | `{v}` |");
    }
    match &s.audit_head {
        Some(h) => {
            let _ = writeln!(m, "| Audit head | {}:`{}` |", h.seq, h.hash);
        }
        None => {
            let _ = writeln!(m, "| Audit head | none (no database) |");
        }
    }
    let d = &s.dimensions;
    let _ = writeln!(m, "\n## Matching accuracy\n");
    match &d.accuracy {
        Some(a) => {
            let _ = writeln!(
                m,
                "macro-F1 **{}** over {} cases.\n",
                fmt_score(a.macro_f1),
                a.cases
            );
            let _ = writeln!(
                m,
                "| Class | Precision | Recall | F1 | TP | FP | FN |\n|---|---|---|---|---|---|---|"
            );
            for (class, c) in &a.per_class {
                let _ = writeln!(
                    m,
                    "| {class} | {} | {} | {} | {} | {} | {} |",
                    fmt_score(c.precision),
                    fmt_score(c.recall),
                    fmt_score(c.f1),
                    c.tp,
                    c.fp,
                    c.fn_
                );
            }
            if a.failures.is_empty() {
                let _ = writeln!(m, "\nNo case failed.");
            } else {
                let _ = writeln!(m, "\nFailing cases: {}.", a.failures.join(", "));
            }
        }
        None => {
            let _ = writeln!(m, "Not run.");
        }
    }
    let _ = writeln!(m, "\n## Policy enforcement\n");
    match &d.policy {
        Some(p) => {
            let _ = writeln!(
                m,
                "{} scenarios, {} passed, pass-rate **{}**.\n",
                p.scenarios,
                p.passed,
                fmt_score(p.pass_rate)
            );
            failures(&mut m, &p.failures);
        }
        None => {
            let _ = writeln!(m, "Not run.");
        }
    }
    let _ = writeln!(m, "\n## Latency\n");
    match &d.latency {
        Some(l) => {
            let _ = writeln!(
                m,
                "{} full `recon run`s on the seeded pack; ~{:.0} matches/sec.\n",
                l.repetitions, l.matches_per_sec
            );
            let _ = writeln!(
                m,
                "| Measure | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|"
            );
            let _ = writeln!(
                m,
                "| One engine action | {:.2} | {:.2} | {:.2} |",
                l.action_ms.p50, l.action_ms.p95, l.action_ms.p99
            );
            let _ = writeln!(
                m,
                "| Full recon run | {:.2} | {:.2} | {:.2} |",
                l.recon_run_ms.p50, l.recon_run_ms.p95, l.recon_run_ms.p99
            );
            for (a, p95) in &l.actions_p95_ms {
                let _ = writeln!(m, "| `{a}` | | {p95:.2} | |");
            }
            let _ = writeln!(
                m,
                "\nWall-clock figures vary between runs; the other sections are deterministic."
            );
        }
        None => {
            let _ = writeln!(m, "Not run.");
        }
    }
    let _ = writeln!(m, "\n## Adversarial robustness\n");
    match &d.adversarial {
        Some(a) => {
            let _ = writeln!(
                m,
                "{} scenarios assuming a fully hijacked agent; **{} bypasses**.\n",
                a.scenarios, a.bypasses
            );
            let _ = writeln!(m, "| Category | Scenarios | Bypasses |\n|---|---|---|");
            for (c, n) in &a.by_category {
                let _ = writeln!(m, "| {c} | {} | {} |", n.scenarios, n.bypasses);
            }
            let _ = writeln!(m);
            failures(&mut m, &a.failures);
        }
        None => {
            let _ = writeln!(m, "Not run.");
        }
    }
    m
}

fn failures(m: &mut String, f: &[super::summary::ScenarioFailure]) {
    if f.is_empty() {
        let _ = writeln!(m, "No failures.");
        return;
    }
    let _ = writeln!(m, "| Scenario | Step | What went wrong |\n|---|---|---|");
    for x in f {
        let step = x.step.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
        let _ = writeln!(m, "| {} | {step} | {} |", cell(&x.name), cell(&x.message));
    }
}
