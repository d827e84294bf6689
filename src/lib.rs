//! closegate-engine: a policy gate, a hash-chained audit log and the SOC 2 monitoring evidence
//! built on them. See `README.md` for the tour and `docs/` for the formats.

pub mod atomic;
pub mod audit;
pub mod cli;
pub mod cmd;
pub mod embedded;
pub mod engine;
pub mod eval;
pub mod evidence;
pub mod exit;
pub mod gate;
pub mod github;
pub mod ledger;
pub mod money;
pub mod monitor;
pub mod policy;
pub mod recon;
pub mod seed;
pub mod store;
pub mod webhook;

use exit::ExitStatus;

/// Runs a parsed command line.
pub fn run(cli: cli::Cli) -> ExitStatus {
    init_logging(cli.verbose, cli.quiet);
    cmd::dispatch(cli)
}

/// Diagnostics to stderr: warnings by default, `-v` info, `-vv` debug, `-q` errors only;
/// `RUST_LOG` overrides. No colour, no timestamps (output stays comparable between runs).
fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    // octocrab logs every failed request at error level before we report it ourselves.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},octocrab=off")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}
