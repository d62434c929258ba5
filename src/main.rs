//! The `entra-audit` binary: parses the command line and dispatches; exit codes are decided here
//! (0 clean, 1 findings at or above --fail-on, 2 error) and nowhere else.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

use anyhow::Context as _;
use entra_audit::cli::{
    AuthArgs, CheckArgs, Cli, CollectArgs, Command, DemoArgs, FailOn, RulesCommand, SimulateArgs,
};
use entra_audit::collect::{self, CollectOptions};
use entra_audit::preview::terminal_safe;
use entra_audit::simulate::generator::TenantHealth;
use entra_audit::{
    audit, baseline, connect, demo, doctor, inputs, ldap, live, onprem, publish, rules, simulate,
    tables, tenants,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Colours only for a person at a terminal: escape sequences in a log file are noise, and
    // a log viewer may act on them.
    let ansi = std::io::stderr().is_terminal();
    let filter = tracing_subscriber::EnvFilter::try_from_env("ENTRA_AUDIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if cli.log_format == "json" {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            // An error quotes inputs (a DN, a file's line): never raw control characters.
            eprintln!("error: {}", terminal_safe(&format!("{error:#}")));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Collect(args) => collect(&args),
        Command::Doctor(args) => doctor(&args),
        Command::Demo(args) => demo(&args),
        Command::Rules { command } => {
            let rules = rules::embedded()?;
            match command.unwrap_or(RulesCommand::List) {
                RulesCommand::List => print!("{}", rules_list(&rules)),
                RulesCommand::Explain { name } => {
                    print!("{}", terminal_safe(&explain(&rules, &name)?));
                }
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
        Command::CloudSync(args) => cloud_sync(&args),
        Command::CollectAd(args) => {
            let summary =
                ldap::collect(&args.ldap.collect_options(&args.server, args.out.clone())?)?;
            eprint!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `doctor`: the LDAP side when --ad-server is given, the Graph side when there is a tenant to
/// sign in to (or nothing else was asked); the worse exit code wins.
fn doctor(args: &entra_audit::cli::DoctorArgs) -> anyhow::Result<ExitCode> {
    let mut code = 0;
    if let Some(server) = &args.ad_server {
        let out = std::path::PathBuf::new();
        let probe = ldap::probe(&args.ldap.collect_options(server, out)?)?;
        print!("{probe}");
        code = u8::from(!probe.missing.is_empty());
        if args.auth.tenant.is_none() && !args.auth.device_code {
            return Ok(ExitCode::from(code));
        }
    }
    Ok(ExitCode::from(
        code.max(doctor::run(&args.auth.connect_options())?),
    ))
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let publish_options = |out| publish::PublishOptions {
        out,
        no_files: args.no_files,
        csv_bom: args.csv_bom,
        fail_on: args.fail_on,
        fail_on_new: args.fail_on_new,
        allow_partial: args.allow_partial,
        rules_named: !args.rules.is_empty(),
    };
    if let Some(config) = &args.config {
        return check_tenants(args, config);
    }
    // Every input path first: a typo must not cost a sign-in and a collection.
    let mut given: Vec<inputs::Input> = args
        .onprem
        .iter()
        .map(|p| inputs::Input::file("--onprem", p))
        .collect();
    given.extend(
        args.cloud
            .iter()
            .map(|p| inputs::Input::directory("--cloud", p)),
    );
    given.extend(
        args.baseline
            .iter()
            .map(|p| inputs::Input::file("--baseline", p)),
    );
    given.extend(
        args.suppressions
            .iter()
            .map(|p| inputs::Input::file("--suppressions", p)),
    );
    given.extend(
        args.rules_dir
            .iter()
            .map(|p| inputs::Input::directory("--rules-dir", p)),
    );
    given.extend(
        args.sync
            .sync_config
            .iter()
            .map(|p| inputs::Input::file("--sync-config", p)),
    );
    inputs::check_readable(&given)?;
    if let Some(dir) = &args.rules_dir {
        // A refused rule pack is known before anything is collected.
        rules::with_custom(dir)?;
    }
    // A sync config that does not parse is known before anything is collected, too.
    args.sync.config()?;
    // Read the scheduled-run inputs first: a typo in them must not cost a collection.
    let schedule =
        baseline::ScheduleInputs::load(args.baseline.as_deref(), args.suppressions.as_deref())?;
    // Active Directory first: a wrong password should not cost a tenant collection.
    let mut onprem = args.onprem.clone();
    if let Some(server) = &args.ad_server {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("cannot create {}", args.out.display()))?;
        let out = args.out.join("ad.json");
        let summary = ldap::collect(&args.ldap.collect_options(server, out.clone())?)?;
        eprint!("{summary}");
        onprem.push(out);
    }
    let cloud = if let Some(dir) = &args.cloud {
        Some(dir.clone())
    } else if args.auth.tenant.is_some() || args.auth.device_code {
        let dir = args
            .snapshot_dir
            .clone()
            .unwrap_or_else(|| args.out.join("cloud"));
        let options = CollectOptions {
            errors_only: args.errors_only,
            ..CollectOptions::default()
        };
        let (report, summary) = collect_live(&args.auth, &dir, options)?;
        eprint!("{}", terminal_safe(&summary));
        if !report.failed().is_empty() && !args.allow_partial {
            anyhow::bail!(
                "the collection is incomplete (see above and {}); not auditing a partial \
                 tenant. Rerun, or pass --allow-partial to audit what was collected",
                report.manifest_path().display()
            );
        }
        Some(dir)
    } else {
        if !onprem.is_empty() {
            eprintln!(
                "note: no --cloud and no tenant to sign in to (--tenant or AZURE_TENANT_ID): \
                 auditing the on-prem export alone; the rules that need the cloud side are not evaluated"
            );
        }
        None
    };
    let audit = audit::check(&check_options(args, cloud, onprem)?)?;
    let published = publish::publish(audit, schedule, &publish_options(&args.out))?;
    // Directory data (DNs, names, values) is in the summary: escaped control characters only.
    print!("{}", terminal_safe(&published.terminal));
    eprintln!("{}", terminal_safe(&published.exit.summary));
    Ok(ExitCode::from(published.exit.code))
}

fn check_options(
    args: &CheckArgs,
    cloud: Option<std::path::PathBuf>,
    onprem: Vec<std::path::PathBuf>,
) -> anyhow::Result<audit::CheckOptions> {
    Ok(audit::CheckOptions {
        cloud,
        onprem,
        rules_dir: args.rules_dir.clone(),
        as_of: args.as_of,
        directory_sync_max_age: args.directory_sync_max_age,
        password_sync_max_age: args.password_sync_max_age,
        cloud_sync_max_age: args.cloud_sync_max_age,
        only: (!args.rules.is_empty()).then(|| args.rules.iter().cloned().collect::<BTreeSet<_>>()),
        sync: args.sync.config()?,
    })
}

/// `check --config tenants.toml`: every tenant into OUT/<name>/, an index, the worst exit code.
fn check_tenants(args: &CheckArgs, config: &std::path::Path) -> anyhow::Result<ExitCode> {
    let entries = tenants::load(config)?;
    let mut given: Vec<inputs::Input> = Vec::new();
    for e in &entries {
        let source = |what: &str| format!("tenant {}: {what}", e.name);
        given.extend(
            e.onprem
                .iter()
                .map(|p| inputs::Input::file(source("onprem"), p)),
        );
        given.extend(
            e.baseline
                .iter()
                .map(|p| inputs::Input::file(source("baseline"), p)),
        );
        given.extend(
            e.suppressions
                .iter()
                .map(|p| inputs::Input::file(source("suppressions"), p)),
        );
        given.extend(
            e.connect
                .certificate
                .iter()
                .map(|p| inputs::Input::file(source("certificate"), p)),
        );
        given.extend(
            e.connect
                .client_secret_file
                .iter()
                .map(|p| inputs::Input::file(source("client_secret_file"), p)),
        );
    }
    given.extend(
        args.rules_dir
            .iter()
            .map(|p| inputs::Input::directory("--rules-dir", p)),
    );
    inputs::check_readable(&given)?;
    if let Some(dir) = &args.rules_dir {
        rules::with_custom(dir)?;
    }
    let template = check_options(args, None, Vec::new())?;
    let finish = |entry: &tenants::TenantEntry, audit, folder: &std::path::Path| {
        let schedule = baseline::ScheduleInputs::load(
            entry.baseline.as_deref(),
            entry.suppressions.as_deref(),
        )?;
        let published = publish::publish(
            audit,
            schedule,
            &publish::PublishOptions {
                out: folder,
                no_files: false,
                csv_bom: args.csv_bom,
                fail_on: args.fail_on,
                fail_on_new: args.fail_on_new && entry.baseline.is_some(),
                allow_partial: args.allow_partial,
                rules_named: !args.rules.is_empty(),
            },
        )?;
        Ok((published.exit.code, published.exit.summary))
    };
    let outcomes = tenants::run_all(&entries, &args.out, &template, args.allow_partial, &finish)?;
    for o in &outcomes {
        println!(
            "{}",
            terminal_safe(&format!("{:<20} exit {}  {}", o.name, o.code, o.summary))
        );
    }
    println!("index: {}", args.out.join("index.html").display());
    let worst = outcomes.iter().map(|o| o.code).max().unwrap_or(0);
    Ok(ExitCode::from(worst))
}

/// Signs in and collects into `dir`; returns the report and its printed summary.
fn collect_live(
    auth: &AuthArgs,
    dir: &std::path::Path,
    options: CollectOptions,
) -> anyhow::Result<(collect::CollectReport, String)> {
    let session = connect::connect(&auth.connect_options())?;
    live::runtime()?.block_on(async {
        session.sign_in().await?;
        let started = std::time::Instant::now();
        let report =
            live::collect_with_progress(&session.graph, dir, options, live::show_progress())
                .await?;
        let summary = live::collect_summary(&report, started.elapsed());
        Ok((report, summary))
    })
}

fn collect(args: &CollectArgs) -> anyhow::Result<ExitCode> {
    let options = CollectOptions {
        skip: args.skip.iter().copied().collect(),
        errors_only: args.errors_only,
        ..CollectOptions::default()
    };
    let (report, summary) = collect_live(&args.auth, &args.out, options)?;
    print!("{}", terminal_safe(&summary));
    Ok(if report.failed().is_empty() || args.allow_partial {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn demo(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let latency = args
        .latency
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("--latency")?;
    eprintln!(
        "entra-audit demo: simulating a hybrid tenant ({} users, seed {}) on loopback; no network, no credentials",
        args.users, args.seed
    );
    let run = demo::run(&demo::DemoOptions {
        out: args.out.clone(),
        users: args.users,
        seed: args.seed,
        latency,
        progress: live::show_progress(),
    })?;
    print!("{}", run.collect_summary);
    print!(
        "{}",
        demo::planted_vs_found(&run.planted, &run.audit.findings)
    );
    let places = demo::where_things_are(&run);
    let published = publish::publish(
        run.audit,
        baseline::ScheduleInputs::load(None, None)?,
        &publish::PublishOptions {
            out: &run.report_dir,
            no_files: false,
            csv_bom: false,
            fail_on: FailOn::Never,
            fail_on_new: false,
            allow_partial: true,
            rules_named: false,
        },
    )?;
    print!("{}", terminal_safe(&published.terminal));
    print!("{places}");
    Ok(ExitCode::SUCCESS)
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

/// `cloud-sync`: 0 done, 1 a job needs attention (quarantined, failing, or not in the expected
/// state after an action), 2 on error (from `main`).
fn cloud_sync(args: &entra_audit::cli::CloudSyncArgs) -> anyhow::Result<ExitCode> {
    Ok(match entra_audit::cloudsync::run(args)? {
        entra_audit::cloudsync::Outcome::Done => ExitCode::SUCCESS,
        entra_audit::cloudsync::Outcome::NeedsAttention => ExitCode::from(1),
    })
}
