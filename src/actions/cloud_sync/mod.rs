//! Cloud Sync operations (`entra-audit cloud-sync`): judging the provisioning jobs (found by
//! [`crate::graph::cloud_sync_discovery`], shared with `collect`) with a playbook of documented
//! quarantine reasons and error codes ([`status`], [`playbook`]), and acting on one job — start,
//! pause, restart with a reset scope — safely ([`actions`]): the exact request is printed and
//! nothing is sent without `--yes` or a confirmation on a terminal, dangerous scopes need a
//! second flag, every request sent goes to an action log ([`log`]), and the job is read until its
//! status changes. The command itself is `crate::commands::cloud_sync`. It must not be reachable
//! from `check` or `collect` (they only read), and must never send a request the user has not
//! agreed to.

pub(crate) mod actions;
pub(crate) mod log;
pub(crate) mod playbook;
pub(crate) mod status;

use crate::inputs::snapshot::SyncJob;

/// Why `--job` (with `--service-principal`) did not name exactly one job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ResolveError {
    #[error("no Cloud Sync job matches '{wanted}'{}; the jobs are: {}", sp_note(.service_principal.as_deref()), list(.available))]
    NotFound {
        wanted: String,
        service_principal: Option<String>,
        available: Vec<String>,
    },
    #[error("'{wanted}' matches {} Cloud Sync jobs{}: {}. Pass the job id as --job (and --service-principal ID if job ids repeat)", .candidates.len(), sp_note(.service_principal.as_deref()), list(.candidates))]
    Ambiguous {
        wanted: String,
        service_principal: Option<String>,
        candidates: Vec<String>,
    },
}

fn sp_note(sp: Option<&str>) -> String {
    sp.map(|s| format!(" of service principal '{s}'"))
        .unwrap_or_default()
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join("; ")
    }
}

/// How a job is named in candidate lists: id, template, domain, service principal.
pub(crate) fn describe(job: &SyncJob) -> String {
    format!(
        "{} [{}] domain {} (service principal {}{})",
        job.id,
        job.template_id.as_deref().unwrap_or("-"),
        status::domain(job).unwrap_or("-"),
        job.service_principal_id.as_deref().unwrap_or("-"),
        job.service_principal_display_name
            .as_deref()
            .map(|n| format!(" '{n}'"))
            .unwrap_or_default()
    )
}

/// Picks the job `wanted` names: a job id (exact, case-insensitive) first; otherwise a domain
/// name, matched against the job's `DomainFQDN` setting and its service principal's display name
/// (<https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/concept-attributes>).
/// `service_principal` (id or display name) narrows the search.
pub(crate) fn resolve<'a>(
    jobs: &'a [SyncJob],
    wanted: &str,
    service_principal: Option<&str>,
) -> Result<&'a SyncJob, ResolveError> {
    let wanted_trim = wanted.trim();
    let eq = |a: Option<&str>, b: &str| a.is_some_and(|a| a.trim().eq_ignore_ascii_case(b.trim()));
    let in_scope: Vec<&SyncJob> = jobs
        .iter()
        .filter(|j| {
            service_principal.is_none_or(|sp| {
                eq(j.service_principal_id.as_deref(), sp)
                    || eq(j.service_principal_display_name.as_deref(), sp)
            })
        })
        .collect();
    let by_id: Vec<&SyncJob> = in_scope
        .iter()
        .copied()
        .filter(|j| j.id.eq_ignore_ascii_case(wanted_trim))
        .collect();
    let candidates = if by_id.is_empty() {
        in_scope
            .iter()
            .copied()
            .filter(|j| {
                eq(j.setting("DomainFQDN"), wanted_trim)
                    || eq(j.service_principal_display_name.as_deref(), wanted_trim)
            })
            .collect()
    } else {
        by_id
    };
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(ResolveError::NotFound {
            wanted: wanted_trim.to_owned(),
            service_principal: service_principal.map(str::to_owned),
            available: in_scope.iter().map(|j| describe(j)).collect(),
        }),
        many => Err(ResolveError::Ambiguous {
            wanted: wanted_trim.to_owned(),
            service_principal: service_principal.map(str::to_owned),
            candidates: many.iter().map(|j| describe(j)).collect(),
        }),
    }
}

#[cfg(test)]
mod tests;
