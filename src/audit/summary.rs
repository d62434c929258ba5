//! The tenant summary that heads the reports: objects by type and sync state, directory and
//! password hash sync freshness, and the Cloud Sync jobs' status, read from the audit tables.
//!
//! It counts and copies; it must not judge (findings are the rules' job, and a stale sync or a
//! quarantined job is reported by its rule). A figure whose table is unavailable stays `None`
//! with the table's reason, so the report can say "unknown" instead of showing a zero.

use chrono::{DateTime, Utc};
use polars::prelude::*;
use polars::sql::SQLContext;

use crate::audit::result::{ObjectCounts, SyncFreshness, SyncJobSummary, TenantSummary};
use crate::audit::rules::{Kind, Rule};
use crate::audit::tables::{self, Params, Tables};

/// The tables the summary reads (the rules engine keeps them: [`kept`]); their unavailability is
/// repeated in the summary.
const SOURCES: [&str; 5] = [
    "onprem_objects",
    "cloud_objects",
    "organization",
    "password_sync",
    "sync_jobs",
];

/// The view that pairs on-prem objects with their cloud twins; the summary reuses it so "on-prem
/// only" means exactly what the matching rules mean by "not joined yet".
const LINKS_VIEW: &str = "onprem_links";

/// What the rules engine must keep for the summary, which reads it after the rules: its tables
/// and the links view it reuses.
pub(super) fn kept() -> Vec<&'static str> {
    SOURCES.into_iter().chain([LINKS_VIEW]).collect()
}

/// Computes the summary from the tables built for the audit.
///
/// `views` are the views the rules engine built ([`crate::audit::rules::engine::RunOutput`]);
/// the on-prem/cloud links are taken from there when built, else computed here.
pub(super) fn tenant_summary(
    tables: &Tables,
    rules: &[Rule],
    params: &Params,
    views: &std::collections::BTreeMap<String, DataFrame>,
) -> PolarsResult<TenantSummary> {
    let mut summary = TenantSummary::default();
    for (table, reason) in &tables.unavailable {
        if SOURCES.contains(table) {
            summary
                .unavailable
                .insert((*table).to_owned(), reason.clone());
        }
    }
    let mut ctx = SQLContext::new();
    for (name, frame) in tables.queryable() {
        ctx.register(name, frame);
    }

    summary.directory_sync.max_age_hours = hours(params.directory_sync_max_age);
    summary.password_hash_sync.max_age_hours = hours(params.password_sync_max_age);
    if let Some(org) = tables.frames.get(tables::ORGANIZATION.name) {
        let name = strings(org, "display_name")?;
        let enabled = bools(org, "sync_enabled")?;
        let last = times(org, "last_sync_time")?;
        summary.tenant_name = name.into_iter().flatten().next();
        summary.directory_sync = freshness(
            last.into_iter().next().flatten(),
            params.as_of,
            params.directory_sync_max_age,
        );
        summary.directory_sync.enabled = enabled.into_iter().next().flatten();
    }
    if let Some(phs) = tables.frames.get(tables::PASSWORD_SYNC.name) {
        let last = times(phs, "last_password_sync_time")?;
        summary.password_hash_sync = freshness(
            last.into_iter().next().flatten(),
            params.as_of,
            params.password_sync_max_age,
        );
    }

    count_objects(
        &mut ctx,
        tables,
        rules,
        views.get(LINKS_VIEW),
        &mut summary.objects,
    )?;
    summary.cloud_sync_max_age_hours = hours(params.cloud_sync_max_age);
    if let Some(jobs) = tables.frames.get(tables::SYNC_JOBS.name) {
        summary.cloud_sync_jobs = Some(sync_jobs(jobs, params.as_of)?);
    }
    Ok(summary)
}

fn count_objects(
    ctx: &mut SQLContext,
    tables: &Tables,
    rules: &[Rule],
    built_links: Option<&DataFrame>,
    objects: &mut std::collections::BTreeMap<String, ObjectCounts>,
) -> PolarsResult<()> {
    let has = |t: &str| tables.frames.contains_key(t);
    // Every type is listed even when an input holds none of it: a zero there is a real zero.
    if has("cloud_objects") || has("onprem_objects") {
        for kind in ["user", "contact", "group"] {
            objects.insert(kind.to_owned(), ObjectCounts::default());
        }
    }
    if has("cloud_objects") {
        for counts in objects.values_mut() {
            counts.synced = Some(0);
            counts.formerly_synced = Some(0);
            counts.cloud_only = Some(0);
        }
        let rows = query(
            ctx,
            "SELECT object_type, sync_state, CAST(COUNT(*) AS BIGINT) AS n FROM cloud_objects GROUP BY object_type, sync_state",
        )?;
        for (kind, state, n) in rows {
            let counts = objects.entry(kind).or_default();
            let slot = match state.as_deref() {
                Some("synced") => &mut counts.synced,
                Some("formerly_synced") => &mut counts.formerly_synced,
                _ => &mut counts.cloud_only,
            };
            *slot = Some(slot.unwrap_or(0) + n);
        }
    }
    if has("onprem_objects") {
        for counts in objects.values_mut() {
            counts.onprem = Some(0);
        }
        let rows = query(
            ctx,
            "SELECT object_type, NULL AS none, CAST(COUNT(*) AS BIGINT) AS n FROM onprem_objects GROUP BY object_type",
        )?;
        for (kind, _, n) in rows {
            objects.entry(kind).or_default().onprem = Some(n);
        }
        let view = rules
            .iter()
            .find(|r| r.kind == Kind::View && r.name == LINKS_VIEW);
        if let Some(view) = view.filter(|v| v.requires.iter().all(|t| has(t))) {
            let links = match built_links {
                Some(links) => links.clone(),
                None => ctx.execute(&view.sql)?.collect()?,
            };
            ctx.register(LINKS_VIEW, links.lazy());
            for counts in objects.values_mut() {
                counts.onprem_only = Some(0);
            }
            // On the row, which names the object as its GUID does: a million GUIDs' text hashed
            // took the summary 0.1 s.
            let rows = query(
                ctx,
                "SELECT o.object_type, NULL AS none, CAST(COUNT(*) AS BIGINT) AS n FROM onprem_objects o ANTI JOIN onprem_links l ON o.object_row = l.object_row GROUP BY o.object_type",
            )?;
            for (kind, _, n) in rows {
                objects.entry(kind).or_default().onprem_only = Some(n);
            }
        }
    }
    Ok(())
}

/// Runs a `(text, text, count)` query.
fn query(ctx: &mut SQLContext, sql: &str) -> PolarsResult<Vec<(String, Option<String>, usize)>> {
    let frame = ctx.execute(sql)?.collect()?;
    let kinds = strings(&frame, frame.get_column_names()[0].as_str())?;
    let second = frame.get_column_names()[1].to_string();
    let states = match frame.column(&second)?.dtype() {
        DataType::Null => vec![None; frame.height()],
        _ => strings(&frame, &second)?,
    };
    let counts = frame.column("n")?.as_materialized_series().i64()?.clone();
    Ok(kinds
        .into_iter()
        .zip(states)
        .zip(counts.iter())
        .map(|((kind, state), n)| {
            (
                kind.unwrap_or_else(|| "(none)".to_owned()),
                state,
                n.and_then(|n| usize::try_from(n).ok()).unwrap_or(0),
            )
        })
        .collect())
}

fn sync_jobs(jobs: &DataFrame, as_of: DateTime<Utc>) -> PolarsResult<Vec<SyncJobSummary>> {
    let text = |name: &str| strings(jobs, name);
    let time = |name: &str| -> PolarsResult<Vec<Option<String>>> {
        Ok(times(jobs, name)?
            .into_iter()
            .map(|t| t.map(rfc3339))
            .collect())
    };
    let last_success_age: Vec<Option<f64>> = times(jobs, "last_success_time")?
        .into_iter()
        .map(|t| t.map(|t| hours(as_of - t)))
        .collect();
    let configuration = text("configuration")?;
    let job_id = text("job_id")?;
    let template_id = text("template_id")?;
    let domain = text("domain")?;
    let schedule_state = text("schedule_state")?;
    let status_code = text("status_code")?;
    let last_execution_state = text("last_execution_state")?;
    let last_execution_ended = time("last_execution_ended")?;
    let last_success_time = time("last_success_time")?;
    let successive_failures: Vec<Option<i32>> = jobs
        .column("successive_failures")?
        .as_materialized_series()
        .i32()?
        .iter()
        .collect();
    let quarantine_reason = text("quarantine_reason")?;
    let quarantine_since = time("quarantine_since")?;
    let quarantine_error = text("quarantine_error_message")?;
    let last_error = text("last_execution_error_message")?;
    let health = text("health")?;
    Ok((0..jobs.height())
        .map(|i| SyncJobSummary {
            configuration: configuration[i].clone(),
            job_id: job_id[i].clone().unwrap_or_default(),
            template_id: template_id[i].clone(),
            domain: domain[i].clone(),
            schedule_state: schedule_state[i].clone(),
            status_code: status_code[i].clone(),
            last_execution_state: last_execution_state[i].clone(),
            last_execution_ended: last_execution_ended[i].clone(),
            last_success_time: last_success_time[i].clone(),
            last_success_age_hours: last_success_age[i],
            successive_failures: successive_failures[i].map(i64::from),
            quarantine_reason: quarantine_reason[i].clone(),
            quarantine_since: quarantine_since[i].clone(),
            error: quarantine_error[i]
                .clone()
                .or_else(|| last_error[i].clone()),
            health: health[i]
                .as_deref()
                .and_then(crate::inputs::snapshot::JobHealth::from_column),
        })
        .collect())
}

fn freshness(
    last: Option<DateTime<Utc>>,
    as_of: DateTime<Utc>,
    max_age: chrono::Duration,
) -> SyncFreshness {
    SyncFreshness {
        known: true,
        enabled: None,
        last: last.map(rfc3339),
        age_hours: last.map(|t| hours(as_of - t)),
        max_age_hours: hours(max_age),
    }
}

// Hours for display: a few hundred thousand at most, far inside f64's exact integers.
#[allow(clippy::cast_precision_loss)]
fn hours(d: chrono::Duration) -> f64 {
    d.num_seconds() as f64 / 3600.0
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A text column's values; a word column (`object_type`, `sync_state`: polars `Enum`s) as text.
fn strings(frame: &DataFrame, name: &str) -> PolarsResult<Vec<Option<String>>> {
    Ok(frame
        .column(name)?
        .cast(&DataType::String)?
        .as_materialized_series()
        .str()?
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect())
}

fn bools(frame: &DataFrame, name: &str) -> PolarsResult<Vec<Option<bool>>> {
    Ok(frame
        .column(name)?
        .as_materialized_series()
        .bool()?
        .iter()
        .collect())
}

/// Time columns are declared as UTC microseconds ([`tables::ColumnType::Time`]).
fn times(frame: &DataFrame, name: &str) -> PolarsResult<Vec<Option<DateTime<Utc>>>> {
    Ok(frame
        .column(name)?
        .as_materialized_series()
        .datetime()?
        .physical()
        .iter()
        .map(|v| v.and_then(DateTime::from_timestamp_micros))
        .collect())
}
