//! Test support only: deterministic synthetic audit events for the tamper, concurrency and
//! SIGKILL tests and the benchmarks (`closegate-engine audit append-synthetic`). The events look
//! like real ones (all event types and actor kinds, reasons with clauses and pointers, amounts
//! as strings, escaped and non-ASCII text) but record no real decision. Must not be used to
//! write a real book of record.

use crate::audit::event::{EventSubject, EventType, NewEvent};
use crate::gate::decision::{Reason, ReasonCode};

/// The `policy_version` recorded on synthetic events: sha256 of the bytes `synthetic`, a policy
/// never stored, so reason clauses are not checked against it.
pub const SYNTHETIC_POLICY_VERSION: &str =
    "b3cc0475bb78a5026098858e9889acf666d31062d513d303314eca31d36e72f2";

/// The `i`-th synthetic event (`i` ≥ 1), with event id `{prefix}-{i}`. Same inputs, same event.
pub fn event(prefix: &str, i: u64) -> NewEvent {
    let types = EventType::ALL;
    let event_type = types[(i % types.len() as u64) as usize];
    let (actor_id, actor_kind) = match i % 3 {
        0 => ("human:alice", "human"),
        1 => ("llm:agent-1", "llm"),
        _ => ("engine:recon", "engine"),
    };
    let secs = i % 86_400;
    let day = 1 + (i / 86_400) % 28;
    let ts = format!(
        "2026-01-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    let code = ReasonCode::ALL[(i % ReasonCode::ALL.len() as u64) as usize];
    let reasons = if i.is_multiple_of(4) {
        vec![]
    } else {
        vec![Reason {
            code,
            clause: format!("Synthetic clause {} for \"{}\"", i % 7, code.as_str()),
            pointer: (!i.is_multiple_of(5)).then(|| format!("/rules/{}", i % 7)),
        }]
    };
    NewEvent {
        event_id: format!("{prefix}-{i}"),
        ts,
        actor_id: actor_id.into(),
        actor_kind: actor_kind.into(),
        action: "confirm_match".into(),
        tier: "T2".into(),
        decision: if reasons.is_empty() {
            "allow"
        } else {
            "require_approval"
        }
        .into(),
        reasons,
        event_type,
        subject: EventSubject {
            match_id: Some(format!("M-{i}")),
            entry_ids: vec![format!("GL-{i}"), format!("SL-{i}")],
            request_id: None,
        },
        entity: Some("US-PARENT".into()),
        accounts: vec!["1200".into(), "4000".into()],
        amount: Some(format!("{}.{:02}", i * 37 % 100_000, i % 100)),
        currency: Some("USD".into()),
        amount_base: Some(format!("{}.{:02}", i * 37 % 100_000, i % 100)),
        policy_version: SYNTHETIC_POLICY_VERSION.into(),
        rationale: (i.is_multiple_of(2)).then(|| format!("Matched per \"INV-{i}\" — réf. ok\ttab")),
    }
}
