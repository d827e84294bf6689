//! Our own models of the GitHub REST responses we read (octocrab's lack `run_attempt` and
//! `digest` and treat nullable fields as required). Only the fields we use; unknown fields are
//! ignored. Every field the spec marks nullable is an `Option`. No logic here.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `GET /repos/{o}/{r}/actions/workflows/{id}/runs` page.
#[derive(Debug, Clone, Deserialize)]
pub struct RunsPage {
    /// Total matching runs (the API serves at most 1,000 of them when filtered).
    pub total_count: u64,
    /// This page.
    pub workflow_runs: Vec<WorkflowRun>,
}

/// A workflow run (latest attempt).
#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowRun {
    /// Run id (stable across reruns).
    pub id: u64,
    /// Workflow name.
    #[serde(default)]
    pub name: Option<String>,
    /// Head branch.
    #[serde(default)]
    pub head_branch: Option<String>,
    /// Head commit.
    pub head_sha: String,
    /// Run number.
    pub run_number: u64,
    /// Attempt; reruns are > 1.
    #[serde(default)]
    pub run_attempt: Option<u64>,
    /// Trigger.
    pub event: String,
    /// `queued`, `in_progress`, `completed` …
    #[serde(default)]
    pub status: Option<String>,
    /// `success`, `failure` …
    #[serde(default)]
    pub conclusion: Option<String>,
    /// Run page.
    pub html_url: String,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Start of the latest attempt.
    #[serde(default)]
    pub run_started_at: Option<DateTime<Utc>>,
}

/// `GET /repos/{o}/{r}/actions/runs/{id}/artifacts` page.
#[derive(Debug, Clone, Deserialize)]
pub struct ArtifactsPage {
    /// Total artifacts.
    pub total_count: u64,
    /// This page.
    pub artifacts: Vec<Artifact>,
}

/// An artifact.
#[derive(Debug, Clone, Deserialize)]
pub struct Artifact {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Zip size.
    pub size_in_bytes: u64,
    /// Download URL (we rebuild it from the API base instead of trusting it).
    #[serde(default)]
    pub archive_download_url: Option<String>,
    /// Listed as expired.
    pub expired: bool,
    /// Creation.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// `sha256:<hex>` of the zip; null before upload-artifact v4.
    #[serde(default)]
    pub digest: Option<String>,
}

/// `GET /repos/{o}/{r}/actions/permissions/artifact-and-log-retention`.
#[derive(Debug, Clone, Deserialize)]
pub struct Retention {
    /// Retention in days.
    pub days: u32,
    /// Maximum allowed.
    #[serde(default)]
    pub maximum_allowed_days: Option<u32>,
}

/// `GET /repos/{o}/{r}` (only the default branch).
#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    /// Default branch.
    pub default_branch: String,
}
