//! Atomic, non-clobbering output files: write to a temp file in the target's directory, fsync,
//! then rename over the target. Refuses to replace an existing file unless `force` is set, so no
//! command overwrites data by accident (brief, non-negotiable 3).

use std::io::Write;
use std::path::Path;

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The target exists and `--force` was not given.
    #[error("`{0}` already exists; pass --force to replace it")]
    Exists(String),
    /// An I/O error.
    #[error("cannot write `{path}`: {cause}")]
    Io {
        /// Target path.
        path: String,
        /// The error.
        cause: std::io::Error,
    },
}

/// Writes `bytes` to `path` atomically. Creates the parent directory if needed.
pub fn write(path: &Path, bytes: &[u8], force: bool) -> Result<(), WriteError> {
    let shown = path.display().to_string();
    let io = |cause| WriteError::Io {
        path: shown.clone(),
        cause,
    };
    if !force && path.exists() {
        return Err(WriteError::Exists(shown));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    // Temp files are created 0600; an output file is an ordinary file (0644 before umask).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    // Without --force, `persist_noclobber` refuses atomically even if the file appeared after
    // the check above.
    let persisted = if force {
        tmp.persist(path).map(|_| ())
    } else {
        tmp.persist_noclobber(path).map(|_| ())
    };
    persisted.map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_clobber_without_force_and_replaces_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.json");
        write(&p, b"one", false).unwrap();
        assert!(matches!(
            write(&p, b"two", false),
            Err(WriteError::Exists(_))
        ));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write(&p, b"two", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode & 0o044,
                0o044,
                "output is not readable by others: {mode:o}"
            );
        }
    }
}
