//! `policy.yaml` schema v1: loading, validation with `file:line:col` diagnostics, and the
//! validated model the gate evaluates.

pub mod model;
