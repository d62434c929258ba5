//! `manifest.json`: the [`Manifest`] the snapshot reader reads, built from a [`CollectReport`]
//! and written under a temporary name, then renamed (one type for writer and reader, so a field
//! cannot be spelt two ways).

use anyhow::Context;

use super::jsonl::write_new;
use super::{CollectReport, CollectionOutcome};
use crate::inputs::snapshot::{MANIFEST_SCHEMA_VERSION, Manifest, ManifestCollection};

/// The manifest of `report`.
pub(super) fn manifest(report: &CollectReport) -> Manifest {
    Manifest {
        schema_version: Some(MANIFEST_SCHEMA_VERSION),
        tenant_id: report.tenant_id.clone(),
        collected_at: Some(report.collected_at),
        tool: Some(format!("entra-audit/{}", crate::VERSION)),
        collections: report
            .collections
            .iter()
            .map(|(collection, o)| (collection.file_stem().to_owned(), entry(o)))
            .collect(),
    }
}

fn entry(o: &CollectionOutcome) -> ManifestCollection {
    ManifestCollection {
        status: o.status,
        objects: Some(o.objects),
        error: o.error.clone(),
        code: o.code.clone(),
        requests: Some(o.stats.requests),
        retries: Some(o.stats.retries),
        throttled: Some(o.stats.throttled),
        // Only when there was a choice or a narrower scope: absent means one sequential pass
        // over every object.
        strategy: o.strategy.clone(),
        scope: o.scope.map(str::to_owned),
        seconds: Some(round_ms(o.timings.elapsed.as_secs_f64())),
        plan_seconds: o.timings.plan.map(|d| round_ms(d.as_secs_f64())),
    }
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Writes `manifest.json` under a temporary name and renames it.
pub(super) async fn write(report: &CollectReport) -> anyhow::Result<()> {
    let path = report.manifest_path();
    let temp = report.dir.join(".manifest.json.partial");
    let mut text = serde_json::to_string_pretty(&manifest(report))?;
    text.push('\n');
    write_new(&temp, text.as_bytes()).await?;
    tokio::fs::rename(&temp, &path)
        .await
        .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))
}
