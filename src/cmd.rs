//! Dispatch of subcommands to `cmd::*`, and the one place errors become exit codes. anyhow is
//! used here and below only.

pub mod eval_runs;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

/// Runs the parsed command line and maps its result to an exit status.
pub fn dispatch(cli: Cli) -> ExitStatus {
    let res = match &cli.command {
        Command::Validate => Ok(ExitStatus::Ok),
        Command::EvalRuns(args) => eval_runs::run(args, &cli),
    };
    match res {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitStatus::Error
        }
    }
}
