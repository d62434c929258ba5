//! `entra-audit simulate`: turns the command line into the simulator's options (latency,
//! throttling and fault profiles parsed here, so a typo names its flag) and runs it.

use anyhow::Context as _;

use super::cli::SimulateArgs;
use crate::simulate::export::{OnPremFormat, SnapshotFormat};
use crate::simulate::generator::TenantHealth;

/// Runs `simulate` until Ctrl-C (with `--out`: writes the files and returns).
pub(crate) fn execute(args: &SimulateArgs) -> anyhow::Result<u8> {
    crate::simulate::command::run(&options(args)?)?;
    Ok(0)
}

fn options(args: &SimulateArgs) -> anyhow::Result<crate::simulate::command::SimulateOptions> {
    Ok(crate::simulate::command::SimulateOptions {
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
        quarantined_jobs: args.quarantined_jobs,
        failing_jobs: args.failing_jobs,
        min_per_case: args.min_per_case,
        collected_at: args
            .collected_at
            .as_deref()
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .with_context(|| format!("--collected-at {t}: not an RFC 3339 time"))
            })
            .transpose()?,
        formats: args
            .formats
            .iter()
            .map(|f| match f.as_str() {
                "ldif" => OnPremFormat::Ldif,
                "csv" => OnPremFormat::Csv,
                _ => OnPremFormat::Json,
            })
            .collect(),
        snapshot_format: if args.snapshot_format == "json" {
            SnapshotFormat::Json
        } else {
            SnapshotFormat::Jsonl
        },
        out: args.out.clone(),
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
