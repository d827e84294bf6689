//! One HTTP client for outgoing webhooks (the monitor's Slack notification, the outbox's
//! HITL and downstream deliveries): rustls with ring, no redirects, timeouts, a single-thread
//! runtime so callers stay synchronous.
//!
//! Webhook URLs are secrets: errors from here never contain the URL (reqwest errors are
//! stripped of it), and a non-2xx answer is reported by its status code only.

use std::time::Duration;

/// A synchronous JSON poster.
pub struct Poster {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// Why a POST did not get an answer (never holds the URL).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PostError(pub String);

impl Poster {
    /// A poster whose requests time out after `timeout` (connecting: at most 10 s).
    pub fn new(timeout: Duration) -> Result<Poster, PostError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PostError(format!("cannot start the HTTP runtime: {e}")))?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("closegate-engine/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .build()
            .map_err(|e| PostError(format!("cannot build the HTTP client: {}", e.without_url())))?;
        Ok(Poster { rt, client })
    }

    /// POSTs `body` as JSON with extra `headers`; returns the HTTP status code of the answer.
    pub fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        headers: &[(&str, String)],
    ) -> Result<u16, PostError> {
        let mut req = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        self.rt.block_on(async move {
            let resp = req.send().await.map_err(describe)?;
            let status = resp.status().as_u16();
            // Drain the body so the connection can be reused; its content is not needed.
            let _ = resp.bytes().await;
            Ok(status)
        })
    }
}

/// A reqwest error without its URL, prefixed by its category.
fn describe(e: reqwest::Error) -> PostError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "bad response body"
    } else {
        "request failed"
    };
    let mut msg = e.without_url().to_string();
    msg.truncate(200);
    PostError(format!("{kind}: {msg}"))
}
