//! Exit statuses, the same for every subcommand:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | ok |
//! | 1 | could not run: bad input, I/O error, usage error (clap's own 2 is remapped) |
//! | 2 | the check ran and failed: invalid policy, broken chain, regression |

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: ok.
    Ok,
    /// 1: could not run.
    Error,
    /// 2: the check ran and failed.
    CheckFailed,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        match s {
            ExitStatus::Ok => ExitCode::from(0),
            ExitStatus::Error => ExitCode::from(1),
            ExitStatus::CheckFailed => ExitCode::from(2),
        }
    }
}

/// Prints a clap error and returns 0 for `--help`/`--version`, 1 for usage errors (a missing
/// subcommand included).
pub fn usage_error(e: clap::Error) -> ExitCode {
    let _ = e.print();
    match e.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
            ExitCode::from(0)
        }
        // A missing subcommand is a usage error, even though clap prints the help for it.
        _ => ExitCode::from(1),
    }
}
