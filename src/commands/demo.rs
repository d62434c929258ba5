//! `entra-audit demo`: the whole job on a built-in simulated tenant, with nothing to set up. It
//! generates a tenant with planted problems, writes its on-prem export, serves its cloud side
//! on loopback like Graph (token endpoint included), signs in and collects with the same client
//! and code path a real tenant gets, audits the snapshot against the export, writes the report,
//! and says how many of the planted problems the audit found. It owns that sequence; generating,
//! serving, collecting and auditing belong to `simulate`, `sign_in`/`collect` and `audit`. It
//! never listens beyond loopback and never reaches the network.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;

use crate::audit::findings::Finding;
use crate::audit::result::AuditReport;
use crate::audit::{self, CheckOptions};
use crate::commands::progress;
use crate::commands::sign_in::{ConnectOptions, connect};
use crate::graph::auth::Secret;
use crate::graph::collect::{CollectOptions, CollectReport, CollectionStatus};
use crate::simulate::export::{OnPremFormat, OnPremWriter, write_ground_truth};
use crate::simulate::generator::{GeneratorOptions, generate_streaming};
use crate::simulate::model::PlantedProblem;
use crate::simulate::{Latency, ServerOptions, SimServer};

/// What `demo` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct DemoOptions {
    pub out: PathBuf,
    pub users: usize,
    pub seed: u64,
    pub latency: Latency,
    pub progress: bool,
}

/// What the demo produced.
#[derive(Debug)]
pub(crate) struct DemoRun {
    pub audit: AuditReport,
    pub onprem_file: PathBuf,
    pub snapshot_dir: PathBuf,
    pub report_dir: PathBuf,
    /// The collection in a line (`collect_headline`).
    pub collect_summary: String,
    pub planted: Vec<PlantedProblem>,
}

/// Runs the demo; the report is written by the caller (as `check` writes it).
pub(crate) fn run(options: &DemoOptions) -> anyhow::Result<DemoRun> {
    let onprem_dir = options.out.join("onprem");
    let snapshot_dir = options.out.join("cloud");
    let report_dir = options.out.join("report");
    let collected_at = Utc::now();
    let mut writer = OnPremWriter::create(&onprem_dir, &[OnPremFormat::Ldif])?;
    let tenant = generate_streaming(
        &GeneratorOptions {
            seed: options.seed,
            users: options.users,
            contacts: (options.users / 10).max(10),
            groups: (options.users / 10).max(10),
            cloud_only: (options.users / 50).max(5),
            collected_at,
            ..GeneratorOptions::default()
        },
        &mut |record| writer.write(&record),
    );
    writer.finish()?;
    write_ground_truth(&tenant, &onprem_dir.join("expected.json"))?;
    let planted = tenant.ground_truth.clone();
    let onprem_file = onprem_dir.join(OnPremFormat::Ldif.file_name());

    // A made-up app registration that only this process knows, for this run only.
    let client_id = "00000000-0000-4000-8000-0000000de770";
    let secret = Secret::new(format!("demo-{:032x}", rand::random::<u128>()));
    let mut server_options = ServerOptions::new(client_id, secret.expose());
    server_options.latency = options.latency;

    let runtime = progress::runtime()?;
    let collect_summary = runtime.block_on(async {
        let server = SimServer::start(tenant, server_options)
            .await
            .context("starting the simulated tenant")?;
        let base = server.base_url().to_owned();
        let session = connect(&ConnectOptions {
            tenant: Some(server.handle().tenant_id().to_owned()),
            client_id: Some(client_id.to_owned()),
            client_secret: Some(secret),
            authority_host: Some(base.clone()),
            graph_endpoint: Some(base),
            requests_per_second: 50,
            ..ConnectOptions::default()
        })?;
        session.sign_in().await?;
        let started = Instant::now();
        let report = progress::collect_with_progress(
            &session.graph,
            &snapshot_dir,
            CollectOptions::default(),
            options.progress,
        )
        .await?;
        server.shutdown().await?;
        anyhow::ensure!(
            report.failed().is_empty(),
            "collecting from the simulated tenant failed:\n{}",
            progress::collect_summary(&report, started.elapsed(), progress::Then::Audit)
        );
        Ok::<String, anyhow::Error>(collect_headline(&report, started.elapsed()))
    })?;

    let audit = audit::check(&CheckOptions {
        cloud: Some(snapshot_dir.clone()),
        onprem: vec![onprem_file.clone()],
        ..CheckOptions::default()
    })?;
    Ok(DemoRun {
        audit,
        onprem_file,
        snapshot_dir,
        report_dir,
        collect_summary,
        planted,
    })
}

/// The collection in one line: what was read, how fast, where the details are. The
/// per-collection table is `collect`'s; the one collection an application sign-in cannot read
/// is said once, by the audit's summary, next to the rules it concerns.
pub(crate) fn collect_headline(report: &CollectReport, elapsed: Duration) -> String {
    let read: Vec<String> = report
        .collections
        .iter()
        .filter(|(_, o)| o.status == CollectionStatus::Complete)
        .map(|(c, o)| format!("{} {c}", o.objects))
        .collect();
    let mut out = format!(
        "signed in and collected the simulated tenant over HTTP in {:.1} s ({} requests): {}\n",
        elapsed.as_secs_f64(),
        report.total_stats().requests,
        read.join(", ")
    );
    let unexpected: Vec<&str> = report
        .collections
        .iter()
        .filter(|(c, o)| o.status != CollectionStatus::Complete && !c.delegated_only())
        .map(|(c, _)| c.file_stem())
        .collect();
    if !unexpected.is_empty() {
        let _ = writeln!(
            out,
            "  not read: {} (see {})",
            unexpected.join(", "),
            report.manifest_path().display()
        );
    }
    out
}

/// How the findings compare with the problems planted in the simulated tenant: one line when
/// every rule found at least what was planted, and the rules that did not otherwise.
pub(crate) fn planted_vs_found(planted: &[PlantedProblem], findings: &[Finding]) -> String {
    let mut per_rule: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for p in planted {
        per_rule.entry(p.rule.as_str()).or_default().0 += 1;
    }
    for f in findings {
        per_rule.entry(f.rule.as_str()).or_default().1 += 1;
    }
    let short: Vec<(&str, (usize, usize))> = per_rule
        .iter()
        .filter(|(_, (p, f))| f < p)
        .map(|(r, n)| (*r, *n))
        .collect();
    let rules_planted = per_rule.values().filter(|(p, _)| *p > 0).count();
    if short.is_empty() {
        return format!(
            "The simulated tenant has {} planted problems of {rules_planted} rules; the audit reported {} findings, at least as many as planted for every rule\n",
            planted.len(),
            findings.len()
        );
    }
    let mut out = format!(
        "The simulated tenant has {} planted problems; the audit reported {} findings, fewer than planted for:\n",
        planted.len(),
        findings.len()
    );
    for (rule, (p, f)) in short {
        let _ = writeln!(out, "  {rule:<28} planted {p:>4}  found {f:>4}");
    }
    out
}

/// Where the demo put things, for the closing lines.
pub(crate) fn where_things_are(run: &DemoRun) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\non-prem export: {}   (what was planted: {})",
        run.onprem_file.display(),
        run.onprem_file.with_file_name("expected.json").display()
    );
    let _ = writeln!(
        out,
        "cloud snapshot: {}   (re-audit offline: entra-audit check --cloud {} --onprem {})",
        run.snapshot_dir.display(),
        run.snapshot_dir.display(),
        run.onprem_file.display()
    );
    let _ = writeln!(
        out,
        "report:         {}   (open it in a browser)",
        run.report_dir.join("report.html").display()
    );
    let _ = writeln!(
        out,
        "next: on your own tenant, `entra-audit doctor` checks the sign-in and permissions (docs/auditing.md)"
    );
    out
}

/// Runs `demo` from its flags: always 0 unless something fails.
pub(crate) fn execute(args: &crate::commands::cli::DemoArgs) -> anyhow::Result<u8> {
    let latency = args
        .latency
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("--latency")?;
    eprintln!(
        "entra-audit demo: simulating a hybrid tenant ({} users, seed {}) on loopback; no network, no credentials",
        args.users, args.seed
    );
    let run = run(&DemoOptions {
        out: args.out.clone(),
        users: args.users,
        seed: args.seed,
        latency,
        progress: crate::commands::progress::show_progress(),
    })?;
    print!("{}", run.collect_summary);
    println!("{}", planted_vs_found(&run.planted, &run.audit.findings));
    let places = where_things_are(&run);
    let published = crate::outputs::publish::publish(
        run.audit,
        crate::audit::schedule::ScheduleInputs::load(None, None)?,
        &crate::outputs::publish::PublishOptions {
            out: &run.report_dir,
            no_files: false,
            csv_bom: false,
            fail_on: crate::audit::schedule::FailOn::Never,
            fail_on_new: false,
            allow_partial: true,
            rules_named: false,
        },
    )?;
    print!("{}", crate::preview::terminal_safe(&published.terminal));
    print!("{places}");
    Ok(0)
}
