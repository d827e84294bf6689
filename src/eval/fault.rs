//! Fault injection for the monitor's regression test: a deliberately broken gate that forgets
//! `SOD_SAME_ACTOR`. Enabled only by `CLOSEGATE_FAULT_INJECT=policy-regression` (read in the
//! command layer), so CI can prove that a regression in the gate turns the policy dimension
//! red and makes `soc2-monitor --fail-on-regression` exit 2. Never used otherwise.

use crate::gate::decision::{Decision, Outcome, ReasonCode};
use crate::gate::request::{Context, Request};
use crate::policy::model::Policy;

/// The environment variable that enables fault injection.
pub const ENV: &str = "CLOSEGATE_FAULT_INJECT";

/// The gate with the segregation-of-duties reason removed: when nothing else fired, the
/// request is allowed.
pub fn gate_without_sod(req: &Request, ctx: &Context, policy: &Policy) -> Decision {
    let mut d = crate::gate::evaluate(req, ctx, policy);
    d.reasons.retain(|r| r.code != ReasonCode::SodSameActor);
    if d.reasons.is_empty() {
        d.outcome = Outcome::Allow;
    }
    d
}

/// The gate to use for a fault name (`policy-regression`), or an error for unknown names.
pub fn gate_for(name: &str) -> Result<crate::engine::GateFn, String> {
    match name {
        "policy-regression" => Ok(gate_without_sod),
        other => Err(format!(
            "{ENV}=`{other}` is not a known fault (known: policy-regression)"
        )),
    }
}
