//! Test support shared by the `eval-runs` and export tests: writes one `soc2-monitor*.json` in
//! the shape issue 5 pins, for a monitor folder with chosen days, failures and gaps.
#![allow(clippy::unwrap_used, dead_code)]

use serde_json::json;
use std::path::Path;

/// Writes `dir/name`: a monitor run generated at `generated_at` (RFC 3339, `Z`), OK or FAIL.
pub fn monitor(dir: &Path, name: &str, generated_at: &str, ok: bool) {
    let id = generated_at
        .replace(['-', ':'], "")
        .replace('T', "-")
        .trim_end_matches('Z')
        .to_string();
    let v = json!({
        "generated_at": generated_at,
        "eval_run_id": id,
        "deterministic_rows": [
            {"dimension": "matching_accuracy", "status": "OK", "headline": "macro-F1 1.0 on 83 cases", "threshold_met": true},
            {"dimension": "policy_enforcement", "status": if ok {"OK"} else {"FAIL"}, "headline": "21 scenarios", "threshold_met": ok}
        ],
        "overall_ok": ok,
        "notes": []
    });
    std::fs::write(dir.join(name), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}
