//! `entra-audit simulate`: generates a tenant, writes its on-prem export, its ground truth and
//! (on request) its Graph snapshot, then serves it on loopback until Ctrl-C and prints how to
//! connect: the URL to use as authority host and Graph endpoint, the tenant, the client and the
//! simulator's own secret. With `--out DIR` it writes every file (export, snapshot, ground truth,
//! `planted.json`) under DIR and exits instead: that is how the fixture tenant and the benchmark
//! data are made.
//!
//! It owns the order of those steps and what is printed; generating, writing and serving belong
//! to `generator`, `export` and `server`. It binds loopback addresses only: the simulator is a
//! test double, never a service on a network.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};

use super::export::{
    OnPremFormat, OnPremWriter, SnapshotFormat, write_ground_truth, write_planted,
    write_snapshot_as,
};
use super::generator::{GeneratorOptions, TenantHealth, generate_streaming};
use super::model::SimTenant;
use super::{ClientApp, FaultOptions, Latency, ServerOptions, SimServer, ThrottleOptions};

/// What `entra-audit simulate` was asked for (built from the command line by `main`).
#[derive(Debug, Clone)]
pub(crate) struct SimulateOptions {
    pub users: usize,
    pub contacts: usize,
    pub groups: usize,
    pub cloud_only: usize,
    pub seed: u64,
    pub problem_rate: f64,
    pub tenant_health: Option<TenantHealth>,
    pub quarantined_jobs: usize,
    pub failing_jobs: usize,
    pub min_per_case: usize,
    /// The snapshot time (`None`: now).
    pub collected_at: Option<DateTime<Utc>>,
    /// On-prem export formats to write.
    pub formats: Vec<OnPremFormat>,
    pub snapshot_format: SnapshotFormat,
    /// Write everything under this directory and exit instead of serving.
    pub out: Option<PathBuf>,
    pub listen: SocketAddr,
    pub write_onprem: PathBuf,
    pub write_snapshot: Option<PathBuf>,
    pub latency: Latency,
    pub throttle: ThrottleOptions,
    pub faults: FaultOptions,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// PEM certificate whose key may sign client assertions.
    pub certificate: Option<PathBuf>,
}

/// Where the generated files go.
struct Destinations {
    onprem: PathBuf,
    ground_truth: PathBuf,
    snapshot: Option<PathBuf>,
    planted: Option<PathBuf>,
}

impl Destinations {
    fn of(options: &SimulateOptions) -> Destinations {
        match &options.out {
            Some(dir) => Destinations {
                onprem: dir.join("onprem"),
                ground_truth: dir.join("expected.json"),
                snapshot: Some(dir.join("cloud")),
                planted: Some(dir.join("planted.json")),
            },
            None => Destinations {
                onprem: options.write_onprem.clone(),
                ground_truth: options.write_onprem.join("expected.json"),
                snapshot: options.write_snapshot.clone(),
                planted: None,
            },
        }
    }
}

/// With `--out`: generates and writes every file, prints what was written, and returns.
/// Otherwise generates, writes and serves; returns when Ctrl-C (or SIGTERM) arrives.
pub(crate) fn run(options: &SimulateOptions) -> anyhow::Result<()> {
    if !options.listen.ip().is_loopback() {
        bail!(
            "--listen {}: the simulator only listens on loopback addresses (127.0.0.1, [::1])",
            options.listen
        );
    }
    let certificate = options
        .certificate
        .as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the certificate {}", p.display()))
        })
        .transpose()?;
    let destinations = Destinations::of(options);
    let (tenant, summary) = generate_and_write(options, &destinations)?;
    if options.out.is_some() {
        println!("entra-audit simulate: {summary}");
        print_files(options, &destinations);
        return Ok(());
    }
    serve(
        options,
        tenant,
        &summary,
        certificate.as_deref(),
        &destinations,
    )
}

/// Generates the tenant, streaming its on-prem export to disk, and writes the ground truth and
/// the snapshot (and `planted.json`) where `destinations` say. Returns the tenant (its cloud
/// side) and a one-line summary.
fn generate_and_write(
    options: &SimulateOptions,
    destinations: &Destinations,
) -> anyhow::Result<(SimTenant, String)> {
    let collected_at = options.collected_at.unwrap_or_else(Utc::now);
    // The on-prem side streams to disk as it is generated: a large tenant keeps only its cloud
    // side in memory (about half the peak at 500,000 users).
    let mut writer = OnPremWriter::create(&destinations.onprem, &options.formats)?;
    let mut onprem_objects = 0usize;
    let mut tenant = generate_streaming(
        &GeneratorOptions {
            seed: options.seed,
            users: options.users,
            contacts: options.contacts,
            groups: options.groups,
            cloud_only: options.cloud_only,
            problem_rate: options.problem_rate,
            min_per_case: options.min_per_case,
            tenant_health: options.tenant_health,
            quarantined_jobs: options.quarantined_jobs,
            failing_jobs: options.failing_jobs,
            collected_at,
        },
        &mut |record| {
            onprem_objects += 1;
            writer.write(&record);
        },
    );
    writer.finish()?;
    if let Some(tenant_id) = &options.tenant_id {
        rename_tenant(&mut tenant, tenant_id);
    }
    write_ground_truth(&tenant, &destinations.ground_truth)?;
    if let Some(dir) = &destinations.snapshot {
        write_snapshot_as(&tenant, dir, collected_at, options.snapshot_format)?;
    }
    if let Some(path) = &destinations.planted {
        write_planted(&tenant, &generation_command(options, collected_at), path)?;
    }
    let summary = format!(
        "{} users, {} contacts, {} groups in the cloud; {onprem_objects} on-prem records; {} planted problems (seed {})",
        tenant.users.len(),
        tenant.contacts.len(),
        tenant.groups.len(),
        tenant.ground_truth.len(),
        options.seed
    );
    Ok((tenant, summary))
}

/// The command line that generates the same files: only what decides the tenant (no secret, no
/// serving option), for `planted.json`.
fn generation_command(options: &SimulateOptions, collected_at: DateTime<Utc>) -> String {
    let mut command = format!(
        "entra-audit simulate --seed {} --users {} --contacts {} --groups {} --cloud-only {} \
         --problem-rate {} --min-per-case {} --quarantined-jobs {} --failing-jobs {} \
         --collected-at {}",
        options.seed,
        options.users,
        options.contacts,
        options.groups,
        options.cloud_only,
        options.problem_rate,
        options.min_per_case,
        options.quarantined_jobs,
        options.failing_jobs,
        collected_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let mut extra: Vec<String> = Vec::new();
    if let Some(health) = options.tenant_health {
        extra.push(
            match health {
                TenantHealth::Healthy => "--tenant-health healthy",
                TenantHealth::DirectorySyncStale => "--tenant-health dirsync-stale",
                TenantHealth::PasswordHashSyncStale => "--tenant-health phs-stale",
            }
            .to_owned(),
        );
    }
    if let Some(tenant_id) = &options.tenant_id {
        extra.push(format!("--tenant-id {tenant_id}"));
    }
    let formats: Vec<&str> = options
        .formats
        .iter()
        .map(|f| match f {
            OnPremFormat::Ldif => "ldif",
            OnPremFormat::Csv => "csv",
            OnPremFormat::Json => "json",
        })
        .collect();
    extra.push(format!("--formats {}", formats.join(",")));
    if options.snapshot_format == SnapshotFormat::Json {
        extra.push("--snapshot-format json".to_owned());
    }
    if let Some(out) = &options.out {
        extra.push(format!("--out {}", out.display()));
    }
    for part in extra {
        command.push(' ');
        command.push_str(&part);
    }
    command
}

/// What `--out` wrote.
fn print_files(options: &SimulateOptions, destinations: &Destinations) {
    let files: Vec<String> = options
        .formats
        .iter()
        .map(|f| {
            destinations
                .onprem
                .join(f.file_name())
                .display()
                .to_string()
        })
        .collect();
    println!("  on-prem export:  {}", files.join(", "));
    if let Some(dir) = &destinations.snapshot {
        println!(
            "  cloud snapshot:  {}   (entra-audit check --cloud)",
            dir.display()
        );
    }
    println!("  ground truth:    {}", destinations.ground_truth.display());
    if let Some(path) = &destinations.planted {
        println!("  planted cases:   {}", path.display());
    }
}

/// Serves `tenant` until Ctrl-C (or SIGTERM).
fn serve(
    options: &SimulateOptions,
    tenant: SimTenant,
    summary: &str,
    certificate: Option<&str>,
    destinations: &Destinations,
) -> anyhow::Result<()> {
    let tenant_id = tenant.tenant_id.clone();
    let client_id = options
        .client_id
        .clone()
        .unwrap_or_else(|| uuid_like(rand::random()));
    let client_secret = options
        .client_secret
        .clone()
        .unwrap_or_else(|| format!("sim-{:032x}", rand::random::<u128>()));
    let mut app = ClientApp::with_secret(&client_id, &client_secret);
    if let Some(pem) = certificate {
        app = app.with_certificate(pem);
    }
    let mut server_options = ServerOptions::new(&client_id, &client_secret);
    server_options.apps = vec![app];
    server_options.latency = options.latency;
    server_options.throttle = options.throttle.clone();
    server_options.faults = options.faults.clone();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("cannot listen on {}", options.listen))?;
        let server = SimServer::start_on(tenant, server_options, listener)?;
        let base = server.base_url().to_owned();
        // Printed only once the server answers, so a script may connect as soon as it reads this.
        print_connection(&Connection {
            summary,
            base: &base,
            tenant_id: &tenant_id,
            client_id: &client_id,
            client_secret: &client_secret,
            certificate: certificate.is_some(),
            options,
            destinations,
        });
        std::io::Write::flush(&mut std::io::stdout()).ok();
        shutdown_signal().await;
        server.shutdown().await
    })
}

/// What `simulate` prints once it answers.
struct Connection<'a> {
    summary: &'a str,
    base: &'a str,
    tenant_id: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
    certificate: bool,
    options: &'a SimulateOptions,
    destinations: &'a Destinations,
}

fn print_connection(c: &Connection<'_>) {
    let Connection {
        summary,
        base,
        tenant_id,
        client_id,
        client_secret,
        options,
        destinations,
        ..
    } = c;
    println!("entra-audit simulate: {summary}");
    println!("listening on {base}");
    println!(
        "  authority host:  {base}   (AZURE_AUTHORITY_HOST; token endpoint {base}/{tenant_id}/oauth2/v2.0/token)"
    );
    println!("  graph endpoint:  {base}   (/v1.0 and /beta; scope {base}/.default)");
    println!("  tenant id:       {tenant_id}");
    println!("  client id:       {client_id}");
    println!("  client secret:   {client_secret}   (the simulator's own, accepted only here)");
    if c.certificate {
        println!(
            "  certificate:     client assertions signed with the certificate's key are accepted"
        );
    }
    print_files(options, destinations);
    println!("Ctrl-C stops it.");
}

/// Gives the generated tenant another id, everywhere it appears (the organization, the
/// directory synchronization object, and tenant-level findings of the ground truth).
fn rename_tenant(tenant: &mut SimTenant, tenant_id: &str) {
    let old = std::mem::replace(&mut tenant.tenant_id, tenant_id.to_owned());
    for id in [
        &mut tenant.organization.id,
        &mut tenant.directory_synchronization.id,
    ] {
        if *id == old {
            tenant_id.clone_into(id);
        }
    }
    let planted = tenant
        .planted_cases
        .iter_mut()
        .flat_map(|case| case.expected.iter_mut());
    for problem in tenant.ground_truth.iter_mut().chain(planted) {
        if problem.cloud_object_id.as_deref() == Some(old.as_str()) {
            problem.cloud_object_id = Some(tenant_id.to_owned());
        }
    }
}

fn uuid_like(bits: u128) -> String {
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renaming_the_tenant_reaches_the_ground_truth() {
        let mut tenant = super::super::generator::generate(&GeneratorOptions {
            tenant_health: Some(TenantHealth::DirectorySyncStale),
            ..GeneratorOptions::default()
        });
        let old = tenant.tenant_id.clone();
        rename_tenant(&mut tenant, "11111111-2222-4333-8444-555555555555");
        assert_eq!(
            tenant.organization.id,
            "11111111-2222-4333-8444-555555555555"
        );
        let stale = tenant
            .ground_truth
            .iter()
            .find(|p| p.rule == "directory-sync-stale")
            .expect("planted");
        assert_eq!(
            stale.cloud_object_id.as_deref(),
            Some("11111111-2222-4333-8444-555555555555")
        );
        assert!(
            !tenant
                .ground_truth
                .iter()
                .any(|p| p.cloud_object_id.as_deref() == Some(old.as_str()))
        );
    }

    #[test]
    fn generated_client_ids_look_like_guids() {
        let id = uuid_like(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
