//! The `closegate-engine` binary: parse, run, map to an exit code. All logic lives in the
//! library (`closegate_engine::run`).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match closegate_engine::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return closegate_engine::exit::usage_error(e),
    };
    closegate_engine::run(cli).into()
}
