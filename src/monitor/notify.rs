//! Slack notification of a failed monitor run (Block Kit over an incoming webhook).
//!
//! The webhook URL is a secret: it never appears in output, logs or errors (reqwest errors are
//! stripped of their URL, and messages name only the HTTP status). A failed notification is a
//! warning for the caller; it never changes the monitor's exit code.

use super::{MonitorReport, RowStatus};
use serde_json::{json, Value};
use std::time::Duration;

/// How to deliver.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Pause before the second attempt; doubles after each failure.
    pub backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            attempts: 3,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Why delivery failed (never holds the URL).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// Every attempt failed; the last reason.
    #[error("Slack notification failed after {attempts} attempt(s): {last}")]
    Failed {
        /// Attempts made.
        attempts: u32,
        /// The last error, without the URL.
        last: String,
    },
}

/// The Block Kit message naming every failing dimension, its headline and the run URL.
pub fn payload(report: &MonitorReport, run_url: Option<&str>) -> Value {
    let failing: Vec<&super::Row> = report
        .deterministic_rows
        .iter()
        .filter(|r| r.status != RowStatus::Ok)
        .collect();
    let title = format!(
        "SOC 2 monitor: {} dimension(s) failed in run {}",
        failing.len(),
        report.eval_run_id
    );
    let fields: Vec<Value> = failing
        .iter()
        .map(|r| {
            let status = match r.status {
                RowStatus::Ok => "OK",
                RowStatus::Fail => "FAIL",
                RowStatus::Missing => "MISSING",
            };
            json!({"type": "mrkdwn", "text": format!("*{}*: {status}\n{}", r.dimension, r.headline)})
        })
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": "SOC 2 monitor regression"}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!(
            "Run `{}` at {} (policy `{}`)", report.eval_run_id, report.generated_at,
            report.policy_version.chars().take(12).collect::<String>())}}),
    ];
    // Block Kit allows at most 10 fields per section.
    for chunk in fields.chunks(10) {
        blocks.push(json!({"type": "section", "fields": chunk}));
    }
    if let Some(url) = run_url {
        blocks.push(json!({"type": "context", "elements": [
            {"type": "mrkdwn", "text": format!("<{url}|Open the workflow run>")}]}));
    }
    json!({"text": title, "blocks": blocks})
}

/// The run URL from `GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID`, if all
/// three are set (passed in by the caller, which reads the environment).
pub fn run_url(server: Option<&str>, repo: Option<&str>, run_id: Option<&str>) -> Option<String> {
    match (server, repo, run_id) {
        (Some(s), Some(r), Some(id)) if !s.is_empty() && !r.is_empty() && !id.is_empty() => {
            Some(format!("{}/{r}/actions/runs/{id}", s.trim_end_matches('/')))
        }
        _ => None,
    }
}

/// POSTs `body` to the webhook with retries (5xx, 429 and connection errors are retried;
/// other 4xx are final). Returns the number of attempts made.
pub fn post(url: &str, body: &Value, d: &Delivery) -> Result<u32, NotifyError> {
    let poster = crate::webhook::Poster::new(d.timeout).map_err(|e| NotifyError::Client(e.0))?;
    let attempts = d.attempts.max(1);
    let mut pause = d.backoff;
    let mut last = String::new();
    for n in 1..=attempts {
        match poster.post_json(url, body, &[]) {
            Ok(status) if (200..300).contains(&status) => return Ok(n),
            Ok(status) => {
                last = format!("HTTP {status}");
                if (400..500).contains(&status) && status != 429 {
                    return Err(NotifyError::Failed { attempts: n, last });
                }
            }
            Err(e) => last = e.0,
        }
        if n < attempts {
            std::thread::sleep(pause);
            pause *= 2;
        }
    }
    Err(NotifyError::Failed { attempts, last })
}
