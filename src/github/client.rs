//! The HTTP layer: octocrab for the JSON API, reqwest for the artifact download, and one retry
//! loop in front of both.
//!
//! - Every API request carries `X-GitHub-Api-Version: 2022-11-28` and, when a token is set, the
//!   `Authorization` header (octocrab adds it only for the API host).
//! - The download asks the API host with redirects disabled, reads `Location`, then GETs the blob
//!   with a separate client that has no credentials at all, streaming with a byte cap.
//! - 5xx and connection errors are retried with exponential backoff plus jitter (seeded, so a
//!   run is reproducible), at most [`MAX_RETRIES`] times. `retry-after` is honoured. When
//!   `x-ratelimit-remaining` reaches 0 the client waits until `x-ratelimit-reset` if that is
//!   within `max_rate_wait`, else fails naming the reset time.
//!
//! It must never format the token: errors name the request path only.

use super::token::Token;
use super::GithubError;
use reqwest::header::HeaderMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// At most this many retries per request.
pub const MAX_RETRIES: u32 = 5;
/// The API version header value.
pub const API_VERSION: &str = "2022-11-28";

/// An HTTP answer, body read (and capped).
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What to fetch.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A JSON API URL (absolute), through octocrab.
    Api(&'a str),
    /// The artifact download endpoint, redirects off.
    Redirect(&'a str),
    /// The blob URL from `Location`: no credentials, capped at `cap` bytes.
    Blob {
        /// URL.
        url: &'a str,
        /// Byte cap.
        cap: u64,
    },
}

impl Target<'_> {
    fn url(&self) -> &str {
        match self {
            Target::Api(u) | Target::Redirect(u) | Target::Blob { url: u, .. } => u,
        }
    }
}

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// API base, without trailing slash.
    pub api_url: String,
    /// Token, if any.
    pub token: Option<Token>,
    /// Longest wait for a rate-limit reset or a `retry-after`.
    pub max_rate_wait: Duration,
    /// First backoff step (doubles each retry).
    pub backoff_base: Duration,
    /// Jitter seed.
    pub seed: u64,
}

/// The client.
pub struct Client {
    octo: octocrab::Octocrab,
    http: reqwest::Client,
    blob: reqwest::Client,
    settings: ClientSettings,
    api_requests: AtomicU64,
    blob_requests: AtomicU64,
    retries: AtomicU64,
    rate_reset: Mutex<Option<u64>>,
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn fmt_epoch(secs: u64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| secs.to_string())
}

/// The path (and query) of a URL, for messages: never the host's credentials.
pub fn path_of(url: &str) -> &str {
    url.split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(url)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Client {
    /// Builds the client (must run inside a tokio runtime).
    pub fn new(settings: ClientSettings) -> Result<Client, GithubError> {
        let build = |e: String| GithubError::Build(e);
        // One crypto provider for the process: ring (no aws-lc). Ignore "already installed".
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = octocrab::Octocrab::builder()
            .base_uri(settings.api_url.as_str())
            .map_err(|e| build(format!("bad api url `{}`: {e}", settings.api_url)))?
            .add_header(
                reqwest::header::HeaderName::from_static("x-github-api-version"),
                API_VERSION.to_string(),
            )
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)));
        if let Some(t) = &settings.token {
            b = b.personal_token(t.expose().to_string());
        }
        let octo = b.build().map_err(|e| build(e.to_string()))?;
        let ua = concat!("closegate-engine/", env!("CARGO_PKG_VERSION"));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(ua)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| build(e.to_string()))?;
        let blob = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(ua)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| build(e.to_string()))?;
        Ok(Client {
            octo,
            http,
            blob,
            settings,
            api_requests: AtomicU64::new(0),
            blob_requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rate_reset: Mutex::new(None),
        })
    }

    /// Requests sent to the API host so far (what counts against the rate limit).
    pub fn api_requests(&self) -> u64 {
        self.api_requests.load(Ordering::Relaxed)
    }

    /// Requests sent to the blob host so far.
    pub fn blob_requests(&self) -> u64 {
        self.blob_requests.load(Ordering::Relaxed)
    }

    /// Retries so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// API base.
    pub fn api_url(&self) -> &str {
        &self.settings.api_url
    }

    async fn once(&self, target: Target<'_>) -> Result<Answer, String> {
        match target {
            Target::Api(url) => {
                self.api_requests.fetch_add(1, Ordering::Relaxed);
                let resp = self.octo._get(url).await.map_err(|e| e.to_string())?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let body = self
                    .octo
                    .body_to_string(resp)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_bytes();
                Ok(Answer {
                    status,
                    headers,
                    body,
                })
            }
            Target::Redirect(url) => {
                self.api_requests.fetch_add(1, Ordering::Relaxed);
                let mut req = self
                    .http
                    .get(url)
                    .header("accept", "application/vnd.github+json")
                    .header("x-github-api-version", API_VERSION);
                if let Some(t) = &self.settings.token {
                    req = req.bearer_auth(t.expose());
                }
                let resp = req.send().await.map_err(|e| e.without_url().to_string())?;
                read_capped(resp, 64 * 1024, false).await
            }
            Target::Blob { url, cap } => {
                self.blob_requests.fetch_add(1, Ordering::Relaxed);
                // A fresh request on a credential-less client: no Authorization, ever.
                let resp = self
                    .blob
                    .get(url)
                    .send()
                    .await
                    .map_err(|e| e.without_url().to_string())?;
                read_capped(resp, cap, true).await
            }
        }
    }

    fn backoff(&self, attempt: u32, url: &str) -> Duration {
        let base = self.settings.backoff_base.as_millis() as u64;
        let step = base.saturating_mul(1u64 << attempt.min(10));
        let mut h = self.settings.seed ^ u64::from(attempt);
        for b in url.bytes() {
            h = splitmix(h ^ u64::from(b));
        }
        let jitter = if base == 0 { 0 } else { splitmix(h) % base };
        Duration::from_millis(step + jitter)
    }

    async fn wait_for_rate_gate(&self, path: &str) -> Result<(), GithubError> {
        let reset = match self.rate_reset.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        };
        if let Some(reset) = reset {
            let now = now_epoch();
            if reset > now {
                let wait = Duration::from_secs(reset - now + 1);
                if wait > self.settings.max_rate_wait {
                    return Err(GithubError::RateLimited {
                        path: path.to_string(),
                        reset: fmt_epoch(reset),
                        max_wait: self.settings.max_rate_wait.as_secs(),
                    });
                }
                tracing::warn!("rate limit exhausted: waiting until {}", fmt_epoch(reset));
                tokio::time::sleep(wait).await;
            }
            if let Ok(mut g) = self.rate_reset.lock() {
                if *g == Some(reset) {
                    *g = None;
                }
            }
        }
        Ok(())
    }

    /// Sends with retries, rate-limit handling and backoff. Returns the final answer for any
    /// status that is not retried (2xx, 3xx, 4xx other than rate limits).
    pub async fn send(&self, target: Target<'_>) -> Result<Answer, GithubError> {
        let path = path_of(target.url()).to_string();
        let mut attempt: u32 = 0;
        loop {
            if !matches!(target, Target::Blob { .. }) {
                self.wait_for_rate_gate(&path).await?;
            }
            let res = self.once(target).await;
            let retry_in = match res {
                Err(msg) => {
                    if attempt >= MAX_RETRIES {
                        return Err(GithubError::Transport { path, message: msg });
                    }
                    self.backoff(attempt, &path)
                }
                Ok(a) => {
                    if a.header("x-ratelimit-remaining") == Some("0") {
                        if let Some(reset) =
                            a.header("x-ratelimit-reset").and_then(|r| r.parse().ok())
                        {
                            if let Ok(mut g) = self.rate_reset.lock() {
                                *g = Some(reset);
                            }
                        }
                    }
                    let limited = a.status == 429 || a.status == 403;
                    if limited && a.header("retry-after").is_some() {
                        let secs: u64 = a
                            .header("retry-after")
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(60);
                        let wait = Duration::from_secs(secs);
                        if wait > self.settings.max_rate_wait {
                            return Err(GithubError::RateLimited {
                                path,
                                reset: format!("retry-after {secs}s"),
                                max_wait: self.settings.max_rate_wait.as_secs(),
                            });
                        }
                        if attempt >= MAX_RETRIES {
                            return Err(GithubError::Status {
                                path,
                                status: a.status,
                            });
                        }
                        tracing::warn!("secondary rate limit on `{path}`: retry after {secs}s");
                        wait
                    } else if limited && a.header("x-ratelimit-remaining") == Some("0") {
                        if attempt >= MAX_RETRIES {
                            return Err(GithubError::Status {
                                path,
                                status: a.status,
                            });
                        }
                        // The gate at the top of the loop waits (or fails naming the reset).
                        Duration::ZERO
                    } else if a.status >= 500 {
                        if attempt >= MAX_RETRIES {
                            return Err(GithubError::Status {
                                path,
                                status: a.status,
                            });
                        }
                        self.backoff(attempt, &path)
                    } else {
                        return Ok(a);
                    }
                }
            };
            attempt += 1;
            self.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("retry {attempt} of `{path}` in {retry_in:?}");
            if !retry_in.is_zero() {
                tokio::time::sleep(retry_in).await;
            }
        }
    }

    /// GETs a JSON API URL and parses a 200 body; any other status is an error.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<(T, Option<String>), GithubError> {
        let a = self.send(Target::Api(url)).await?;
        let path = path_of(url).to_string();
        if a.status != 200 {
            return Err(GithubError::Status {
                path,
                status: a.status,
            });
        }
        let next = a.header("link").and_then(next_link);
        let v = serde_json::from_slice(&a.body).map_err(|e| GithubError::Json {
            path,
            message: e.to_string(),
        })?;
        Ok((v, next))
    }
}

async fn read_capped(
    mut resp: reqwest::Response,
    cap: u64,
    fail_over_cap: bool,
) -> Result<Answer, String> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if (body.len() + chunk.len()) as u64 > cap {
            if fail_over_cap {
                // Signalled to the caller by a body one byte over the cap.
                body.extend_from_slice(&chunk[..(cap as usize + 1 - body.len()).min(chunk.len())]);
            }
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// The `rel="next"` URL of a `link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        if !is_next {
            return None;
        }
        let u = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        Some(u.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header() {
        let l = "<https://api.github.com/resource?page=2>; rel=\"next\", <https://api.github.com/resource?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(l).as_deref(),
            Some("https://api.github.com/resource?page=2")
        );
        assert_eq!(next_link("<https://x/?page=1>; rel=\"prev\""), None);
    }

    #[test]
    fn path_only() {
        assert_eq!(path_of("https://h:1/a/b?c=1"), "/a/b?c=1");
    }
}
