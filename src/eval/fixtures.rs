//! Where eval fixtures come from: the embedded `eval/` tree (so the binary works with no
//! checkout) or a directory on disk (`--cases`, `--scenarios`, `--adversarial`). Both are read
//! the same way, and each fixture set has a content hash recorded in `summary.json`.

use include_dir::Dir;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A folder of fixtures.
#[derive(Debug, Clone)]
pub enum FixtureDir {
    /// A folder inside the embedded `eval/` tree, e.g. `policy`.
    Embedded(&'static Dir<'static>, String),
    /// A folder on disk.
    Disk(PathBuf),
}

impl FixtureDir {
    /// The embedded `eval/<name>` folder.
    pub fn embedded(name: &str) -> FixtureDir {
        FixtureDir::Embedded(&crate::embedded::EVAL, name.to_string())
    }

    /// Display name used in messages (`embedded:eval/policy` or the path).
    pub fn display(&self) -> String {
        match self {
            FixtureDir::Embedded(_, name) => format!("embedded:eval/{name}"),
            FixtureDir::Disk(p) => p.display().to_string(),
        }
    }

    /// Files directly in the folder whose name ends with one of `exts`, sorted by name:
    /// `(display name, relative name, bytes)`.
    pub fn files(&self, exts: &[&str]) -> Result<Vec<(String, String, Vec<u8>)>, String> {
        let keep = |name: &str| exts.iter().any(|e| name.ends_with(e));
        let mut out = Vec::new();
        match self {
            FixtureDir::Embedded(root, name) => {
                let dir = root
                    .get_dir(name.as_str())
                    .ok_or_else(|| format!("{} is not in this build", self.display()))?;
                for f in dir.files() {
                    let file = f
                        .path()
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default();
                    if keep(file) {
                        out.push((
                            format!("embedded:eval/{}", f.path().display()),
                            file.to_string(),
                            f.contents().to_vec(),
                        ));
                    }
                }
            }
            FixtureDir::Disk(dir) => {
                let rd = std::fs::read_dir(dir)
                    .map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
                for e in rd {
                    let e = e.map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
                    let path = e.path();
                    let file = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                        .to_string();
                    if path.is_file() && keep(&file) {
                        let bytes = std::fs::read(&path)
                            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                        out.push((path.display().to_string(), file, bytes));
                    }
                }
            }
        }
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }

    /// Reads a file relative to this folder (`policies/loosened.yaml`). Refuses absolute paths
    /// and `..` so a scenario cannot read outside its fixture tree.
    pub fn read(&self, rel: &str) -> Result<(String, Vec<u8>), String> {
        let p = Path::new(rel);
        if p.is_absolute()
            || p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(format!(
                "`{rel}` must be a relative path inside {}",
                self.display()
            ));
        }
        match self {
            FixtureDir::Embedded(root, name) => {
                let full = format!("{name}/{rel}");
                root.get_file(full.as_str())
                    .map(|f| (format!("embedded:eval/{full}"), f.contents().to_vec()))
                    .ok_or_else(|| format!("embedded:eval/{full} does not exist"))
            }
            FixtureDir::Disk(dir) => {
                let path = dir.join(rel);
                std::fs::read(&path)
                    .map(|b| (path.display().to_string(), b))
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
            }
        }
    }
}

/// sha256 over the files (name `\0` length `\0` bytes, in name order), lower-case hex.
pub fn content_hash(files: &[(String, String, Vec<u8>)]) -> String {
    let mut h = Sha256::new();
    for (_, name, bytes) in files {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(bytes.len().to_string().as_bytes());
        h.update([0]);
        h.update(bytes);
    }
    hex::encode(h.finalize())
}
