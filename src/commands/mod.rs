//! The command layer: one module per `entra-audit` command, the clap definitions ([`cli`]), and
//! the glue every live command shares (signing in: [`sign_in`]; progress bars and the runtime:
//! [`progress`]). A command turns its flags into the typed options of the layers below and
//! calls them; it holds no audit, Graph or rendering logic of its own.
//!
//! It is the only layer that may use [`cli`]'s types; the architecture test
//! (`tests/architecture.rs`) fails on any other module that does.

pub(crate) mod check;
pub mod cli;
pub(crate) mod cloud_sync;
pub(crate) mod collect;
pub(crate) mod completions;
pub(crate) mod demo;
pub(crate) mod doctor;
pub(crate) mod progress;
pub(crate) mod rules;
pub(crate) mod sign_in;
pub(crate) mod simulate;
pub(crate) mod tenants;

use cli::{Cli, Command};

/// Sets up the log: `ENTRA_AUDIT_LOG` filters (default `warn`), stderr only, colours only for a
/// person at a terminal (escape sequences in a log file are noise, and a log viewer may act on
/// them), JSON lines with `--log-format json`.
pub fn init_logging(cli: &Cli) {
    use std::io::IsTerminal as _;
    let ansi = std::io::stderr().is_terminal();
    let filter = tracing_subscriber::EnvFilter::try_from_env("ENTRA_AUDIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if cli.log_format == cli::LogFormat::Json {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
}

/// How `main` prints an error: the whole chain on one line, made safe for a terminal, because an
/// error quotes inputs (a DN, a file's line) and must never carry raw control characters.
pub fn describe_error(error: &anyhow::Error) -> String {
    crate::preview::terminal_safe(&format!("{error:#}")).into_owned()
}

/// Runs one command; returns its exit code (0 clean, 1 findings or a job that needs attention;
/// an error is 2, decided by `main`).
pub fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Check(args) => check::execute(&args),
        Command::Collect(args) => collect::execute(&args),
        Command::Doctor(args) => doctor::execute(&args),
        Command::Demo(args) => demo::execute(&args),
        Command::Rules { command } => rules::execute(command),
        Command::Tables => Ok(rules::tables()),
        Command::OnpremScript => {
            print!("{}", crate::inputs::onprem::export_script());
            Ok(0)
        }
        Command::Simulate(args) => simulate::execute(&args),
        Command::CloudSync(args) => cloud_sync::execute(&args),
        Command::Completions(args) => completions::completions(args.shell),
        Command::Man(args) => completions::man(args.out.as_deref()),
        Command::CollectAd(args) => {
            let mut options = args.ldap.collect_options(&args.server, args.out.clone())?;
            options.extra_attributes.clone_from(&args.attributes);
            eprint!("{}", crate::inputs::ldap::collect(&options)?);
            Ok(0)
        }
    }
}
