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

/// The stack the command runs on. polars plans a rule's query recursively, and a plan of unions
/// of joins goes deep; the main thread has 8 MiB on Linux but 1 MiB on Windows, so the command
/// gets a thread of its own with room to spare (only the pages it touches are committed).
const STACK_BYTES: usize = 64 << 20;

fn main() -> ExitCode {
    let cli = Cli::parse();
    commands::init_logging(&cli);
    let outcome = std::thread::Builder::new()
        .name("main".to_owned())
        .stack_size(STACK_BYTES)
        .spawn(move || commands::dispatch(cli))
        .map_err(|e| anyhow::anyhow!("cannot start the command's thread: {e}"))
        .and_then(|thread| {
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {}", commands::describe_error(&error));
            ExitCode::from(2)
        }
    }
}
