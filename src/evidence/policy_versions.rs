//! `policy-versions.json`: the git history of the policy file (`git log --follow`) linked to the
//! `policy_version` values (sha256 of the policy bytes) recorded in the audit log. A version seen
//! in the log that matches the file at no commit is an unreviewed policy and is flagged.
//!
//! Pure: parses `git log` output given to it and builds the document; running `git` is the
//! caller's job (`cmd::export`). No clock.

use serde::Serialize;

/// The `git log` format this module parses: one record per commit, starting with `\x1e`, fields
/// separated by `\x1f`, followed by the `--name-only` path.
pub const GIT_LOG_FORMAT: &str = "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%s";

/// One commit that touched the policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyCommit {
    /// Full commit hash.
    pub commit: String,
    /// Author name.
    pub author_name: String,
    /// Author e-mail.
    pub author_email: String,
    /// Author date (strict ISO 8601, as git prints it).
    pub authored_at: String,
    /// Committer name.
    pub committer_name: String,
    /// Committer e-mail.
    pub committer_email: String,
    /// Commit date (strict ISO 8601).
    pub committed_at: String,
    /// First line of the message.
    pub subject: String,
    /// Path of the file at that commit (repository-relative; differs across renames).
    pub path: String,
    /// sha256 of the file's bytes at that commit (`None` when the commit deleted it).
    pub file_sha256: Option<String>,
    /// `policy_version` values of the audit log equal to `file_sha256`.
    pub policy_versions_seen: Vec<String>,
}

/// Parses `git log --follow --name-only` output in [`GIT_LOG_FORMAT`]. `file_sha256` is left
/// `None`; the caller fills it with `git show COMMIT:PATH`.
pub fn parse_git_log(out: &str) -> Vec<PolicyCommit> {
    let mut commits = Vec::new();
    for rec in out.split('\x1e').filter(|r| !r.trim().is_empty()) {
        let mut lines = rec.lines();
        let header = lines.next().unwrap_or_default();
        let f: Vec<&str> = header.split('\x1f').collect();
        if f.len() < 8 {
            continue;
        }
        let path = lines
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .to_string();
        commits.push(PolicyCommit {
            commit: f[0].to_string(),
            author_name: f[1].to_string(),
            author_email: f[2].to_string(),
            authored_at: f[3].to_string(),
            committer_name: f[4].to_string(),
            committer_email: f[5].to_string(),
            committed_at: f[6].to_string(),
            subject: f[7..].join("\x1f"),
            path,
            file_sha256: None,
            policy_versions_seen: Vec::new(),
        });
    }
    commits
}

/// A `policy_version` as seen in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionSeen {
    /// The sha256 recorded on events.
    pub policy_version: String,
    /// Events in the window carrying it.
    pub events_in_window: u64,
    /// First event time in the window.
    pub first_seen: String,
    /// Last event time in the window.
    pub last_seen: String,
    /// Commits whose file bytes hash to it (oldest first).
    pub commits: Vec<String>,
    /// `true` when no commit matches: an unreviewed policy.
    pub unreviewed: bool,
}

/// The whole `policy-versions.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyVersions {
    /// `--policy-path` as given (`None`: no git history examined).
    pub policy_path: Option<String>,
    /// Whether the git history could be read.
    pub history_examined: bool,
    /// Why the history was not examined, if it was not.
    pub history_note: Option<String>,
    /// Every commit that touched the file, newest first (as `git log` prints them).
    pub commits: Vec<PolicyCommit>,
    /// Every `policy_version` in the window's events, by first_seen.
    pub versions_in_log: Vec<VersionSeen>,
    /// The versions with no matching commit (the flag auditors must see).
    pub unreviewed_versions: Vec<String>,
}

/// Links commits and versions. `seen` is `(version, events, first_ts, last_ts)` in any order.
pub fn link(
    policy_path: Option<String>,
    history_note: Option<String>,
    mut commits: Vec<PolicyCommit>,
    seen: Vec<(String, u64, String, String)>,
) -> PolicyVersions {
    let mut versions: Vec<VersionSeen> = seen
        .into_iter()
        .map(|(v, n, first, last)| {
            let mut matching: Vec<String> = commits
                .iter()
                .rev()
                .filter(|c| c.file_sha256.as_deref() == Some(v.as_str()))
                .map(|c| c.commit.clone())
                .collect();
            matching.dedup();
            VersionSeen {
                unreviewed: matching.is_empty(),
                policy_version: v,
                events_in_window: n,
                first_seen: first,
                last_seen: last,
                commits: matching,
            }
        })
        .collect();
    versions.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then(a.policy_version.cmp(&b.policy_version))
    });
    for c in &mut commits {
        c.policy_versions_seen = versions
            .iter()
            .filter(|v| c.file_sha256.as_deref() == Some(v.policy_version.as_str()))
            .map(|v| v.policy_version.clone())
            .collect();
    }
    let unreviewed_versions = versions
        .iter()
        .filter(|v| v.unreviewed)
        .map(|v| v.policy_version.clone())
        .collect();
    PolicyVersions {
        history_examined: history_note.is_none(),
        policy_path,
        history_note,
        commits,
        versions_in_log: versions,
        unreviewed_versions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records_and_flags_an_unmatched_version() {
        let out = "\x1eaaa\x1fAnn\x1fann@x\x1f2026-01-02T03:04:05+00:00\x1fCy\x1fcy@x\x1f2026-01-02T03:04:06+00:00\x1fedit policy\n\nconf/policy.yaml\n\
                   \x1ebbb\x1fAnn\x1fann@x\x1f2026-01-01T03:04:05+00:00\x1fAnn\x1fann@x\x1f2026-01-01T03:04:05+00:00\x1fadd\n\nold.yaml\n";
        let mut c = parse_git_log(out);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].path, "conf/policy.yaml");
        assert_eq!(c[1].path, "old.yaml");
        assert_eq!(c[0].committer_name, "Cy");
        c[0].file_sha256 = Some("v2".into());
        c[1].file_sha256 = Some("v1".into());
        let pv = link(
            Some("p".into()),
            None,
            c,
            vec![
                ("v1".into(), 3, "t1".into(), "t2".into()),
                ("v9".into(), 1, "t3".into(), "t3".into()),
            ],
        );
        assert_eq!(pv.unreviewed_versions, vec!["v9".to_string()]);
        assert_eq!(pv.versions_in_log[0].commits, vec!["bbb".to_string()]);
        assert_eq!(pv.commits[1].policy_versions_seen, vec!["v1".to_string()]);
    }
}
