//! Validation and in-memory extraction of a downloaded artifact zip (pure: bytes in, verdict
//! out; no I/O, nothing written to disk).
//!
//! Checks, in order: zip magic; sha256 against the artifact's `digest` when present; entry count;
//! every entry name must be enclosed (no `..`, no absolute path: zip-slip); no nested zip; then
//! only `soc2-monitor.json` at the root is read, with its declared size, its compression ratio and
//! its actual inflated size capped (decompression bombs).

use std::io::{Cursor, Read};

/// The one file we read from an artifact.
pub const MONITOR_FILE: &str = "soc2-monitor.json";
/// Largest accepted `soc2-monitor.json`, inflated.
pub const MAX_MONITOR_BYTES: u64 = 1024 * 1024;
/// Most entries accepted in an artifact zip.
pub const MAX_ENTRIES: usize = 64;
/// Highest accepted inflated/compressed ratio for entries larger than 64 KiB.
pub const MAX_RATIO: u64 = 100;

/// Why an artifact is `INVALID_ARTIFACT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidArtifact {
    /// Not a zip.
    #[error("not a zip archive (bad magic)")]
    BadMagic,
    /// Digest mismatch.
    #[error("sha256 mismatch: digest `{expected}`, downloaded `sha256:{actual}`")]
    DigestMismatch {
        /// From the API.
        expected: String,
        /// Computed.
        actual: String,
    },
    /// Digest field not understood.
    #[error("unsupported digest `{0}`")]
    BadDigest(String),
    /// The zip cannot be read.
    #[error("corrupt zip: {0}")]
    Corrupt(String),
    /// Too many entries.
    #[error("too many entries ({0})")]
    TooManyEntries(usize),
    /// Zip-slip.
    #[error("path traversal in entry `{0}`")]
    PathTraversal(String),
    /// A zip inside the zip.
    #[error("nested zip entry `{0}`")]
    NestedZip(String),
    /// Decompression bomb.
    #[error("decompression bomb: `{name}` {detail}")]
    Bomb {
        /// Entry.
        name: String,
        /// What tripped.
        detail: String,
    },
    /// No monitor file.
    #[error("no `soc2-monitor.json` at the root of the artifact")]
    NoMonitor,
    /// The download was larger than the cap.
    #[error("download larger than {0} bytes")]
    TooLarge(u64),
    /// The download itself failed in a way that makes the artifact unusable.
    #[error("{0}")]
    Download(String),
    /// The monitor JSON is invalid.
    #[error("{0}")]
    Monitor(String),
}

/// Validates `zip` (and `digest` when present) and returns the bytes of `soc2-monitor.json`.
pub fn extract_monitor(zip: &[u8], digest: Option<&str>) -> Result<Vec<u8>, InvalidArtifact> {
    if !zip.starts_with(b"PK\x03\x04") {
        return Err(InvalidArtifact::BadMagic);
    }
    if let Some(d) = digest {
        let expected = d
            .strip_prefix("sha256:")
            .ok_or_else(|| InvalidArtifact::BadDigest(d.to_string()))?;
        let actual = crate::evidence::eval_runs::sha256_hex(zip);
        if !expected.eq_ignore_ascii_case(&actual) {
            return Err(InvalidArtifact::DigestMismatch {
                expected: d.to_string(),
                actual,
            });
        }
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(zip))
        .map_err(|e| InvalidArtifact::Corrupt(e.to_string()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(InvalidArtifact::TooManyEntries(archive.len()));
    }
    let mut monitor_index = None;
    for i in 0..archive.len() {
        let f = archive
            .by_index_raw(i)
            .map_err(|e| InvalidArtifact::Corrupt(e.to_string()))?;
        let name = f
            .name()
            .map_err(|e| InvalidArtifact::Corrupt(e.to_string()))?
            .to_string();
        let traversal = f.enclosed_name().is_none()
            || name.starts_with('/')
            || name.starts_with('\\')
            || name.split(['/', '\\']).any(|c| c == "..");
        if traversal {
            return Err(InvalidArtifact::PathTraversal(name));
        }
        if name.to_ascii_lowercase().ends_with(".zip") {
            return Err(InvalidArtifact::NestedZip(name));
        }
        if name == MONITOR_FILE {
            monitor_index = Some(i);
        }
    }
    let i = monitor_index.ok_or(InvalidArtifact::NoMonitor)?;
    let f = archive
        .by_index(i)
        .map_err(|e| InvalidArtifact::Corrupt(e.to_string()))?;
    let bomb = |detail: String| InvalidArtifact::Bomb {
        name: MONITOR_FILE.to_string(),
        detail,
    };
    if f.size() > MAX_MONITOR_BYTES {
        return Err(bomb(format!(
            "declares {} bytes (cap {MAX_MONITOR_BYTES})",
            f.size()
        )));
    }
    if f.size() > 64 * 1024 && f.size() / f.compressed_size().max(1) > MAX_RATIO {
        return Err(bomb(format!(
            "compression ratio over {MAX_RATIO} ({} -> {} bytes)",
            f.compressed_size(),
            f.size()
        )));
    }
    let mut out = Vec::new();
    f.take(MAX_MONITOR_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| InvalidArtifact::Corrupt(e.to_string()))?;
    if out.len() as u64 > MAX_MONITOR_BYTES {
        return Err(bomb(format!("inflates past {MAX_MONITOR_BYTES} bytes")));
    }
    if out.starts_with(b"PK\x03\x04") {
        return Err(InvalidArtifact::NestedZip(MONITOR_FILE.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (n, b) in entries {
            w.start_file(*n, o).unwrap();
            w.write_all(b).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn good_zip_and_digest() {
        let z = zip_of(&[("soc2-monitor.json", b"{}")]);
        let d = format!("sha256:{}", crate::evidence::eval_runs::sha256_hex(&z));
        assert_eq!(extract_monitor(&z, Some(&d)).unwrap(), b"{}");
        assert!(matches!(
            extract_monitor(&z, Some("sha256:00")),
            Err(InvalidArtifact::DigestMismatch { .. })
        ));
    }

    #[test]
    fn traps() {
        assert_eq!(
            extract_monitor(b"{\"message\":\"gone\"}", None),
            Err(InvalidArtifact::BadMagic)
        );
        let slip = zip_of(&[("../evil.sh", b"x"), ("soc2-monitor.json", b"{}")]);
        assert!(matches!(
            extract_monitor(&slip, None),
            Err(InvalidArtifact::PathTraversal(_))
        ));
        let nested = zip_of(&[("inner.zip", b"PK\x03\x04"), ("soc2-monitor.json", b"{}")]);
        assert!(matches!(
            extract_monitor(&nested, None),
            Err(InvalidArtifact::NestedZip(_))
        ));
        let bomb = zip_of(&[("soc2-monitor.json", &vec![b' '; 4 * 1024 * 1024])]);
        assert!(matches!(
            extract_monitor(&bomb, None),
            Err(InvalidArtifact::Bomb { .. })
        ));
        let none = zip_of(&[("other.json", b"{}")]);
        assert_eq!(
            extract_monitor(&none, None),
            Err(InvalidArtifact::NoMonitor)
        );
        let mut corrupt = zip_of(&[("soc2-monitor.json", b"{}")]);
        corrupt.truncate(20);
        assert!(matches!(
            extract_monitor(&corrupt, None),
            Err(InvalidArtifact::Corrupt(_))
        ));
    }
}
