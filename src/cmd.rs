//! Dispatch of parsed commands to their glue modules (`cmd/*.rs`). The only layer that uses
//! `anyhow`; each subcommand maps its outcome to an [`ExitStatus`].

pub mod audit;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> ExitStatus {
    match &cli.command {
        Command::Validate => ExitStatus::Ok,
        Command::Audit(args) => audit::run(&cli, args),
    }
}

/// Prints an error chain to stderr (`error: outer: inner`) and returns exit 1.
pub(crate) fn report_error(e: &anyhow::Error) -> ExitStatus {
    eprintln!("error: {e:#}");
    ExitStatus::Error
}
