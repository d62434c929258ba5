//! `entra-audit check`: every input path checked first, then Active Directory (an export, or
//! live over LDAP), the cloud side (a snapshot directory, or collected live), the audit, and what
//! the run hands over (files, terminal summary, verdict). `check --config tenants.toml` runs that
//! for every tenant of an MSP's file ([`super::tenants`]). It owns the order of those steps for
//! one command line; auditing, collecting and writing belong to the layers below.

use std::collections::BTreeSet;

use anyhow::Context as _;

use super::cli::CheckArgs;
use super::collect::collect_live;
use super::tenants;
use crate::audit::{self, schedule};
use crate::graph::collect::CollectOptions;
use crate::inputs::{ldap, paths};
use crate::outputs::publish;
use crate::preview::terminal_safe;

/// Runs `check`; returns the exit code (0 clean, 1 findings at or above `--fail-on`).
pub(crate) fn execute(args: &CheckArgs) -> anyhow::Result<u8> {
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
    let mut given: Vec<paths::Input> = args
        .onprem
        .iter()
        .map(|p| paths::Input::file("--onprem", p))
        .collect();
    given.extend(
        args.cloud
            .iter()
            .map(|p| paths::Input::directory("--cloud", p)),
    );
    given.extend(
        args.baseline
            .iter()
            .map(|p| paths::Input::file("--baseline", p)),
    );
    given.extend(
        args.suppressions
            .iter()
            .map(|p| paths::Input::file("--suppressions", p)),
    );
    given.extend(
        args.rules_dir
            .iter()
            .map(|p| paths::Input::directory("--rules-dir", p)),
    );
    given.extend(
        args.sync
            .sync_config
            .iter()
            .map(|p| paths::Input::file("--sync-config", p)),
    );
    paths::check_readable(&given)?;
    if let Some(dir) = &args.rules_dir {
        // A refused rule pack is known before anything is collected.
        audit::rules::with_custom(dir)?;
    }
    // A sync config that does not parse is known before anything is collected, too.
    args.sync.config()?;
    // Read the scheduled-run inputs first: a typo in them must not cost a collection.
    let schedule =
        schedule::ScheduleInputs::load(args.baseline.as_deref(), args.suppressions.as_deref())?;
    // Active Directory first: a wrong password should not cost a tenant collection.
    let mut onprem = args.onprem.clone();
    if let Some(server) = &args.ad_server {
        std::fs::create_dir_all(&args.out)
            .with_context(|| format!("cannot create {}", args.out.display()))?;
        let out = args.out.join("ad.json");
        let mut options = args.ldap.collect_options(server, out.clone())?;
        // The sync settings' custom source anchor or UPN attribute is read too.
        options.extra_attributes = args.sync.config()?.extra_attributes();
        let summary = ldap::collect(&options)?;
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
        let (report, summary) =
            collect_live(&args.auth, &dir, options, super::progress::Then::Audit)?;
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
    print!("{}", next_step(args));
    eprintln!("{}", terminal_safe(&published.exit.summary));
    Ok(published.exit.code)
}

/// The summary's last line: where to read the result (nothing when no files were written).
fn next_step(args: &CheckArgs) -> String {
    if args.no_files {
        return String::new();
    }
    format!(
        "next: open {} in a browser: the verdict, each rule's findings and their fix\n",
        terminal_safe(&args.out.join("report.html").display().to_string())
    )
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
fn check_tenants(args: &CheckArgs, config: &std::path::Path) -> anyhow::Result<u8> {
    let entries = tenants::load(config)?;
    let mut given: Vec<paths::Input> = Vec::new();
    for e in &entries {
        let source = |what: &str| format!("tenant {}: {what}", e.name);
        given.extend(
            e.onprem
                .iter()
                .map(|p| paths::Input::file(source("onprem"), p)),
        );
        given.extend(
            e.baseline
                .iter()
                .map(|p| paths::Input::file(source("baseline"), p)),
        );
        given.extend(
            e.suppressions
                .iter()
                .map(|p| paths::Input::file(source("suppressions"), p)),
        );
        given.extend(
            e.connect
                .certificate
                .iter()
                .map(|p| paths::Input::file(source("certificate"), p)),
        );
        given.extend(
            e.connect
                .client_secret_file
                .iter()
                .map(|p| paths::Input::file(source("client_secret_file"), p)),
        );
    }
    given.extend(
        args.rules_dir
            .iter()
            .map(|p| paths::Input::directory("--rules-dir", p)),
    );
    paths::check_readable(&given)?;
    if let Some(dir) = &args.rules_dir {
        audit::rules::with_custom(dir)?;
    }
    let template = check_options(args, None, Vec::new())?;
    let finish = |entry: &tenants::TenantEntry, audit, folder: &std::path::Path| {
        let schedule = schedule::ScheduleInputs::load(
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
    Ok(worst)
}
