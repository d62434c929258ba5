//! The `entra-audit` binary: parses the command line, dispatches to the command layer
//! (`entra_audit::commands`) and maps the outcome to an exit code: 0 clean, 1 findings at or
//! above `--fail-on` (or a Cloud Sync job that needs attention), 2 error. Nothing else.

use std::process::ExitCode;

/// jemalloc, not glibc malloc: an audit's columns are large, short-lived buffers that glibc maps
/// fresh and unmaps on free (every page faulted in again); see Cargo.toml for the figures.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::Parser as _;
use entra_audit::commands::{self, cli::Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    commands::init_logging(&cli);
    match commands::dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {}", commands::describe_error(&error));
            ExitCode::from(2)
        }
    }
}
