//! The `entra-audit` binary: parses the command line and dispatches; exit codes are decided here
//! (0 clean, 1 findings at or above --fail-on, 2 error) and nowhere else.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use anyhow::Context as _;
use entra_audit::cli::{CheckArgs, Cli, Command, FailOn, RulesCommand, SimulateArgs};
use entra_audit::simulate::generator::TenantHealth;
use entra_audit::{audit, onprem, report, rules, simulate, tables};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ENTRA_AUDIT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Rules { command } => {
            let rules = rules::embedded()?;
            match command.unwrap_or(RulesCommand::List) {
                RulesCommand::List => print!("{}", rules_list(&rules)),
                RulesCommand::Explain { name } => print!("{}", explain(&rules, &name)?),
                RulesCommand::Catalogue => print!("{}", rules::catalogue_markdown(&rules)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tables => {
            print!("{}", tables_doc());
            Ok(ExitCode::SUCCESS)
        }
        Command::OnpremScript => {
            print!("{}", onprem::export_script());
            Ok(ExitCode::SUCCESS)
        }
        Command::Simulate(args) => {
            simulate::command::run(&simulate_options(&args)?)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let options = audit::CheckOptions {
        cloud: args.cloud.clone(),
        onprem: args.onprem.clone(),
        rules_dir: args.rules_dir.clone(),
        as_of: args.as_of,
        directory_sync_max_age: args.directory_sync_max_age,
        password_sync_max_age: args.password_sync_max_age,
        cloud_sync_max_age: args.cloud_sync_max_age,
        only: (!args.rules.is_empty()).then(|| args.rules.iter().cloned().collect::<BTreeSet<_>>()),
    };
    let audit = audit::check(&options)?;
    let written = if args.no_files {
        Vec::new()
    } else {
        report::write_all(&audit, &args.out)?
    };
    print!("{}", report::terminal_summary(&audit, &written));
    let failing = match args.fail_on {
        FailOn::AtOrAbove(severity) => audit.count_at_or_above(severity) > 0,
        FailOn::Never => false,
    };
    Ok(if failing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn simulate_options(args: &SimulateArgs) -> anyhow::Result<simulate::command::SimulateOptions> {
    Ok(simulate::command::SimulateOptions {
        users: args.users,
        contacts: args.contacts,
        groups: args.groups,
        cloud_only: args.cloud_only,
        seed: args.seed,
        problem_rate: args.problem_rate,
        tenant_health: args.tenant_health.as_deref().map(|h| match h {
            "dirsync-stale" => TenantHealth::DirectorySyncStale,
            "phs-stale" => TenantHealth::PasswordHashSyncStale,
            _ => TenantHealth::Healthy,
        }),
        listen: args.listen,
        write_onprem: args.write_onprem.clone(),
        write_snapshot: args.write_snapshot.clone(),
        latency: args
            .latency
            .parse()
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("--latency")?,
        throttle: args
            .throttle
            .parse()
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("--throttle")?,
        faults: args
            .faults
            .parse()
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("--faults")?,
        tenant_id: args.tenant_id.clone(),
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        certificate: args.certificate.clone(),
    })
}

fn rules_list(all: &[rules::Rule]) -> String {
    let listed: Vec<&rules::Rule> = all.iter().filter(|r| r.kind == rules::Kind::Rule).collect();
    let width = listed.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in listed {
        let _ = writeln!(
            out,
            "{:<width$}  {:<8}  {:<12}  {}",
            r.name,
            r.severity.as_str(),
            r.category,
            r.title
        );
    }
    out.push_str("\n`entra-audit rules explain NAME` shows a rule's documentation.\n");
    out
}

fn explain(all: &[rules::Rule], name: &str) -> anyhow::Result<String> {
    let Some(rule) = all.iter().find(|r| r.name == name) else {
        let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
        anyhow::bail!(
            "no rule named '{name}'; the rules are: {}",
            names.join(", ")
        );
    };
    Ok(format!(
        "{} ({}, {})\n{}\n\nneeds: {}{}\nsource: {}\n\n{}\n",
        rule.name,
        rule.severity,
        rule.category,
        rule.title,
        rule.requires.join(", "),
        if rule.optional.is_empty() {
            String::new()
        } else {
            format!("; uses when available: {}", rule.optional.join(", "))
        },
        rule.source.display(),
        rule.docs
    ))
}

fn tables_doc() -> String {
    let mut out = String::new();
    for spec in tables::TABLES {
        let _ = writeln!(out, "{}\n  {}", spec.name, spec.doc);
        for c in spec.columns {
            let _ = writeln!(out, "    {:<30} {:<16} {}", c.name, c.ty.sql_name(), c.doc);
        }
        out.push('\n');
    }
    out
}
