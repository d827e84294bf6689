//! The policy gate: `evaluate(request, context, policy) -> Decision`.
//!
//! Pure: no files, clock, environment, network or global state (enforced by
//! `tests/gate_purity.rs`). Fails closed: any error while evaluating any rule yields `deny`.

pub mod decision;
pub mod request;
