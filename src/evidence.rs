//! Evidence built for the auditor. For now this holds `eval_runs`, the model and the pure coverage
//! math of `eval-runs.json` with its local-directory source; the bundle itself (zip, sample,
//! actors…) is added by the evidence-export work and calls into it. Nothing here talks to the
//! network: the GitHub source lives in `crate::github`.

pub mod eval_runs;
