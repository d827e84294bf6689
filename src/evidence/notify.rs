//! Pure pieces of the outbox worker: the exponential backoff schedule, the request bodies
//! (Slack Block Kit for HITL notifications, generic JSON otherwise), secret redaction of error
//! text, and the audit event recorded for every outbox state transition.
//!
//! Must not do I/O or read the clock: the worker (`cmd::outbox`) passes `now` in. Must never put
//! a webhook URL into anything it returns except the request it is handed to send.

use crate::audit::event::{EventType, NewEvent};
use crate::store::OutboxRow;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

/// The actor recorded on the worker's events.
pub const OUTBOX_ACTOR: &str = "engine:outbox";
/// The action recorded on every outbox event.
pub const OUTBOX_ACTION: &str = "outbox_deliver";
/// Longest delay between two attempts.
pub const MAX_BACKOFF_SECS: i64 = 6 * 3600;

/// Delay before the next attempt after `attempts` failed attempts (1-based):
/// `base * 2^(attempts-1)`, at least 1 s, at most [`MAX_BACKOFF_SECS`]. Deterministic (no
/// jitter): with a single worker per database there is no thundering herd to spread.
pub fn backoff(base_secs: u64, attempts: u32) -> Duration {
    let base = i64::try_from(base_secs.max(1)).unwrap_or(MAX_BACKOFF_SECS);
    let shift = attempts.saturating_sub(1).min(30);
    let secs = base.saturating_mul(1i64 << shift).min(MAX_BACKOFF_SECS);
    Duration::seconds(secs)
}

/// RFC 3339 UTC, second precision, `Z` (the store's time format).
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => "-".to_string(),
        Some(other) => other.to_string(),
    }
}

/// Slack Block Kit body of a `hitl_notification` (incoming-webhook format: `text` fallback plus
/// `blocks`).
pub fn slack_body(row: &OutboxRow) -> Value {
    let p = &row.payload;
    let reasons = p
        .get("reasons")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let subject = match (p.get("match_id"), p.get("request_id")) {
        (Some(Value::String(m)), _) => format!("match `{m}`"),
        (_, Some(Value::String(r))) => format!("request `{r}`"),
        _ => "-".to_string(),
    };
    let amount = format!("{} {}", s(p, "amount"), s(p, "currency"));
    let text = format!(
        "Approval required: {} on {} ({}) for {}",
        s(p, "action"),
        subject,
        s(p, "entity"),
        amount
    );
    json!({
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Approval required"}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": format!("*Action:*\n{}", s(p, "action"))},
                {"type": "mrkdwn", "text": format!("*Subject:*\n{subject}")},
                {"type": "mrkdwn", "text": format!("*Entity:*\n{}", s(p, "entity"))},
                {"type": "mrkdwn", "text": format!("*Amount:*\n{amount}")}
            ]},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Reasons:* {reasons}")}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": format!("closegate audit event seq {} · outbox #{}", s(p, "event_seq"), row.id)}
            ]}
        ]
    })
}

/// Generic JSON webhook body: the message as queued, with its identity.
pub fn generic_body(row: &OutboxRow) -> Value {
    json!({
        "type": row.kind,
        "outbox_id": row.id,
        "created_ts": row.created_ts,
        "audit_seq": row.audit_seq,
        "payload": row.payload,
    })
}

/// Replaces every occurrence of each non-empty secret (and of its `scheme://host` prefix'
/// remainder, the path) by `[redacted]`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for sec in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(sec, "[redacted]");
        // The path and query of a URL are the secret part of a webhook; hide them alone too.
        if let Some(i) = sec.find("://") {
            let rest = &sec[i + 3..];
            if let Some(j) = rest.find('/') {
                let path = &rest[j..];
                if path.len() > 1 {
                    out = out.replace(path, "/[redacted]");
                }
            }
        }
    }
    out
}

/// A state transition of an outbox row, for its audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// `PENDING` → `LEASED`.
    Leased {
        /// Lease expiry.
        until: String,
    },
    /// `LEASED` → `DELIVERED`.
    Delivered,
    /// `LEASED` → `PENDING` after a failed attempt.
    Retry {
        /// Redacted error.
        error: String,
        /// Next attempt time.
        next_attempt_at: String,
    },
    /// `LEASED` → `DEAD_LETTER`.
    DeadLetter {
        /// Redacted error.
        error: String,
    },
}

impl Transition {
    /// `FROM -> TO`.
    pub fn states(&self) -> &'static str {
        match self {
            Transition::Leased { .. } => "PENDING -> LEASED",
            Transition::Delivered => "LEASED -> DELIVERED",
            Transition::Retry { .. } => "LEASED -> PENDING",
            Transition::DeadLetter { .. } => "LEASED -> DEAD_LETTER",
        }
    }
}

/// The `OUTBOX_DELIVERY` event of a transition: actor `actor` (`engine:outbox`, or the
/// sweeper's), action `outbox_deliver`, decision `allow`, tier `T0`, no reasons; the row and
/// transition are described in `rationale`. `attempt` is the attempt number concerned.
pub fn transition_event(
    row: &OutboxRow,
    t: &Transition,
    attempt: u32,
    actor: &str,
    now: DateTime<Utc>,
    policy_version: &str,
) -> NewEvent {
    let detail = match t {
        Transition::Leased { until } => format!("lease until {until}"),
        Transition::Delivered => "delivered".to_string(),
        Transition::Retry {
            error,
            next_attempt_at,
        } => format!("failed: {error}; next attempt at {next_attempt_at}"),
        Transition::DeadLetter { error } => format!("failed: {error}; dead-lettered"),
    };
    let p = &row.payload;
    let opt = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    NewEvent {
        event_id: String::new(),
        ts: ts(now),
        actor_id: actor.to_string(),
        actor_kind: "engine".to_string(),
        action: OUTBOX_ACTION.to_string(),
        tier: "T0".to_string(),
        decision: "allow".to_string(),
        reasons: Vec::new(),
        event_type: EventType::OutboxDelivery,
        subject: crate::audit::event::EventSubject {
            match_id: opt("match_id"),
            entry_ids: Vec::new(),
            request_id: opt("request_id"),
        },
        entity: opt("entity"),
        accounts: Vec::new(),
        amount: None,
        currency: None,
        amount_base: None,
        policy_version: policy_version.to_string(),
        rationale: Some(format!(
            "outbox #{} {} {} (attempt {} of {}): {}",
            row.id,
            row.kind,
            t.states(),
            attempt,
            row.max_attempts,
            detail
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        assert_eq!(backoff(30, 1).num_seconds(), 30);
        assert_eq!(backoff(30, 2).num_seconds(), 60);
        assert_eq!(backoff(30, 4).num_seconds(), 240);
        assert_eq!(backoff(0, 1).num_seconds(), 1);
        assert_eq!(backoff(30, 40).num_seconds(), MAX_BACKOFF_SECS);
    }

    #[test]
    fn redaction_hides_the_url_and_its_path() {
        let url = "https://hooks.slack.com/services/T0/B0/secret";
        let msg =
            format!("error sending request for url ({url}): boom; path /services/T0/B0/secret");
        let r = redact(&msg, &[url]);
        assert!(!r.contains("secret"), "{r}");
        assert!(r.contains("[redacted]"));
    }
}
