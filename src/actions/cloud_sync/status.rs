//! `cloud-sync status`: every Cloud Sync configuration (by domain) and its jobs, judged
//! (healthy, escrowed objects, paused, not run yet, quarantined, failing) with the playbook's advice
//! for the last two,
//! as terminal text or as JSON (`--json`; field names are stable). "Failing" is what the
//! `cloud-sync-job-failing` rule flags: an active job with successive complete failures, a failed
//! last run, runs but no success ever, or no success within `--max-age`. It reads a list of jobs;
//! it must not fetch or send anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::actions::{quarantine_reason, status_code};
use super::playbook::{self, Advice};
use crate::inputs::snapshot::{SyncJob, TaskExecution};

/// How a job is doing: judged once, in [`SyncJob::health`], for the rules, this command and the
/// report alike.
pub(crate) use crate::inputs::snapshot::JobHealth as Health;

/// The configuration's domain: the job's `DomainFQDN` setting
/// (<https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/concept-attributes>), else the
/// service principal's display name, which the portal sets to "the AD domain URL … but it may be
/// named something else"
/// (<https://learn.microsoft.com/entra/identity/hybrid/cloud-sync/how-to-inbound-synch-ms-graph>).
pub(crate) fn domain(job: &SyncJob) -> Option<&str> {
    job.setting("DomainFQDN")
        .filter(|d| !d.trim().is_empty())
        .or(job.service_principal_display_name.as_deref())
}

/// `status --json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report {
    pub tenant: String,
    pub as_of: String,
    pub configurations: Vec<Configuration>,
    pub jobs: usize,
    pub quarantined: usize,
    pub failing: usize,
    pub paused: usize,
}

impl Report {
    pub(crate) fn needs_attention(&self) -> bool {
        self.quarantined + self.failing > 0
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Configuration {
    pub service_principal_id: String,
    /// The service principal's display name.
    pub name: Option<String>,
    pub jobs: Vec<JobView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobView {
    pub id: String,
    pub template_id: Option<String>,
    pub domain: Option<String>,
    pub health: Health,
    pub status_code: String,
    pub schedule_state: Option<String>,
    pub schedule_interval: Option<String>,
    pub quarantine: Option<QuarantineView>,
    pub last_execution: Option<ExecutionView>,
    pub last_successful_execution: Option<ExecutionView>,
    pub successive_complete_failures: Option<i64>,
    /// `countEscrowed` of the last execution: objects whose failure is being retried.
    pub escrows: Option<i64>,
    pub escrows_pruned: Option<bool>,
    pub steady_state_last_achieved: Option<String>,
    pub troubleshooting_url: Option<String>,
    /// For a quarantined or failing job.
    pub advice: Option<AdviceView>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QuarantineView {
    pub reason: Option<String>,
    /// `seriesBegan`: when this series of quarantines began.
    pub since: Option<String>,
    pub current_began: Option<String>,
    pub next_attempt: Option<String>,
    pub series_count: Option<i64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecutionView {
    pub state: Option<String>,
    pub began: Option<String>,
    pub ended: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdviceView {
    pub meaning: String,
    pub fix: String,
    /// The documented fix of the error code, when it is a documented Cloud Sync code.
    pub error_code_fix: Option<String>,
    pub step: String,
    /// The `entra-audit` command that takes the step (prints the request; `--yes` sends it).
    pub command: Option<String>,
    pub docs: Vec<String>,
}

fn time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn execution(e: Option<&TaskExecution>) -> Option<ExecutionView> {
    let e = e?;
    Some(ExecutionView {
        state: e.state.clone(),
        began: time(e.time_began),
        ended: time(e.time_ended),
        error_code: e.error.as_ref().and_then(|x| x.code.clone()),
        error_message: e.error.as_ref().and_then(|x| x.message.clone()),
    })
}

/// The view of one job.
pub(crate) fn job_view(job: &SyncJob, now: DateTime<Utc>, max_age: chrono::Duration) -> JobView {
    let status = job.status.clone().unwrap_or_default();
    let health = job.health(now, max_age);
    let quarantine = status.quarantine.as_ref().map(|q| QuarantineView {
        reason: q.reason.clone(),
        since: time(q.series_began),
        current_began: time(q.current_began),
        next_attempt: time(q.next_attempt),
        series_count: q.series_count,
        error_code: q.error.as_ref().and_then(|e| e.code.clone()),
        error_message: q.error.as_ref().and_then(|e| e.message.clone()),
    });
    let last = execution(status.last_execution.as_ref());
    let sp = job.service_principal_id.clone().unwrap_or_default();
    let advice = match health {
        Health::Quarantined => {
            let error_code = quarantine.as_ref().and_then(|q| q.error_code.clone());
            Some(advice_view(
                playbook::for_quarantine(quarantine_reason(job)),
                error_code.as_deref(),
                &job.id,
                &sp,
            ))
        }
        Health::Failing => {
            let error_code = last.as_ref().and_then(|e| e.error_code.clone());
            Some(advice_view(
                playbook::for_failing(error_code.as_deref()),
                error_code.as_deref(),
                &job.id,
                &sp,
            ))
        }
        _ => None,
    };
    JobView {
        id: job.id.clone(),
        template_id: job.template_id.clone(),
        domain: domain(job).map(str::to_owned),
        health,
        status_code: status_code(job).to_owned(),
        schedule_state: job.schedule.as_ref().and_then(|s| s.state.clone()),
        schedule_interval: job.schedule.as_ref().and_then(|s| s.interval.clone()),
        quarantine,
        last_execution: last,
        last_successful_execution: execution(status.last_successful_execution.as_ref()),
        successive_complete_failures: status.count_successive_complete_failures,
        escrows: status
            .last_execution
            .as_ref()
            .and_then(|e| e.count_escrowed),
        escrows_pruned: status.escrows_pruned,
        steady_state_last_achieved: time(status.steady_state_last_achieved_time),
        troubleshooting_url: status.troubleshooting_url.clone().filter(|u| !u.is_empty()),
        advice,
    }
}

fn advice_view(advice: Advice, error_code: Option<&str>, job_id: &str, sp: &str) -> AdviceView {
    AdviceView {
        meaning: advice.meaning.to_owned(),
        fix: advice.fix.to_owned(),
        error_code_fix: error_code
            .and_then(playbook::for_error_code)
            .map(str::to_owned),
        step: playbook::step_text(advice.step, job_id, sp),
        command: playbook::command(advice.step, job_id, sp),
        docs: advice.docs.iter().map(|d| (*d).to_owned()).collect(),
    }
}

/// The report of all jobs, grouped by service principal.
pub(crate) fn report(
    tenant: &str,
    jobs: &[SyncJob],
    now: DateTime<Utc>,
    max_age: chrono::Duration,
) -> Report {
    let mut by_sp: BTreeMap<String, Configuration> = BTreeMap::new();
    for job in jobs {
        let sp = job.service_principal_id.clone().unwrap_or_default();
        by_sp
            .entry(sp.clone())
            .or_insert_with(|| Configuration {
                service_principal_id: sp,
                name: job.service_principal_display_name.clone(),
                jobs: Vec::new(),
            })
            .jobs
            .push(job_view(job, now, max_age));
    }
    let mut configurations: Vec<Configuration> = by_sp.into_values().collect();
    configurations.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(a.service_principal_id.cmp(&b.service_principal_id))
    });
    let all = || configurations.iter().flat_map(|c| c.jobs.iter());
    let count = |h: Health| all().filter(|j| j.health == h).count();
    Report {
        tenant: tenant.to_owned(),
        as_of: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        jobs: all().count(),
        quarantined: count(Health::Quarantined),
        failing: count(Health::Failing),
        paused: count(Health::Paused),
        configurations,
    }
}

/// The report as terminal text.
pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    if report.configurations.is_empty() {
        let _ = writeln!(
            out,
            "no Cloud Sync configuration in tenant {} (no service principal of the Cloud Sync \
             application template {})",
            report.tenant,
            crate::graph::cloud_sync_discovery::CLOUD_SYNC_APP_ID
        );
        return out;
    }
    for c in &report.configurations {
        let _ = writeln!(
            out,
            "{} (service principal {})",
            c.name.as_deref().unwrap_or("(unnamed configuration)"),
            c.service_principal_id
        );
        for j in &c.jobs {
            render_job(&mut out, j);
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} job(s): {} quarantined, {} failing, {} paused",
        report.jobs, report.quarantined, report.failing, report.paused
    );
    out
}

fn or_dash(s: Option<&str>) -> &str {
    s.unwrap_or("-")
}

fn render_job(out: &mut String, j: &JobView) {
    let label = match j.health {
        Health::Healthy => "ok",
        Health::Paused => "paused",
        Health::NotRun => "not run yet",
        Health::NotConfigured => "not configured",
        Health::Quarantined => "QUARANTINED",
        Health::Failing => "FAILING",
        Health::Escrowed => "escrowed objects",
    };
    let _ = writeln!(
        out,
        "  {}  [{}]  domain {}  status {}  schedule {} every {}  -> {label}",
        j.id,
        or_dash(j.template_id.as_deref()),
        or_dash(j.domain.as_deref()),
        j.status_code,
        or_dash(j.schedule_state.as_deref()),
        or_dash(j.schedule_interval.as_deref()),
    );
    if let Some(q) = &j.quarantine {
        let _ = writeln!(
            out,
            "    quarantine: reason {}, since {}, current since {}, next attempt {}, re-evaluated {} times",
            or_dash(q.reason.as_deref().filter(|r| !r.is_empty())),
            or_dash(q.since.as_deref()),
            or_dash(q.current_began.as_deref()),
            or_dash(q.next_attempt.as_deref()),
            q.series_count
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        );
        if q.error_code.is_some() || q.error_message.is_some() {
            let _ = writeln!(
                out,
                "    quarantine error: {} {}",
                or_dash(q.error_code.as_deref()),
                q.error_message.as_deref().unwrap_or("")
            );
        }
    }
    for (name, e) in [
        ("last run", &j.last_execution),
        ("last successful run", &j.last_successful_execution),
    ] {
        match e {
            Some(e) => {
                let _ = write!(
                    out,
                    "    {name}: {} {} .. {}",
                    or_dash(e.state.as_deref()),
                    or_dash(e.began.as_deref()),
                    or_dash(e.ended.as_deref())
                );
                if let Some(code) = &e.error_code {
                    let _ = write!(
                        out,
                        ", error {code}: {}",
                        e.error_message.as_deref().unwrap_or("")
                    );
                }
                out.push('\n');
            }
            None => {
                let _ = writeln!(out, "    {name}: never");
            }
        }
    }
    let _ = writeln!(
        out,
        "    successive complete failures {}, escrows {}{}, steady state last reached {}",
        j.successive_complete_failures
            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        j.escrows.map_or_else(|| "-".to_owned(), |n| n.to_string()),
        if j.escrows_pruned == Some(true) {
            " (pruned)"
        } else {
            ""
        },
        or_dash(j.steady_state_last_achieved.as_deref()),
    );
    if let Some(url) = &j.troubleshooting_url {
        let _ = writeln!(out, "    troubleshooting: {url}");
    }
    if let Some(a) = &j.advice {
        let _ = writeln!(out, "    what it means: {}", a.meaning);
        let _ = writeln!(out, "    fix first: {}", a.fix);
        if let Some(fix) = &a.error_code_fix {
            let _ = writeln!(out, "    the error code: {fix}");
        }
        let _ = writeln!(out, "    {}", a.step);
        let _ = writeln!(out, "    docs: {}", a.docs.join(" "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(value: serde_json::Value) -> SyncJob {
        serde_json::from_value(value).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The rules read `sync_jobs.health`, the report reads it back into a [`Health`] and
    /// findings.json and `status --json` serialise it: one spelling for all.
    #[test]
    fn the_health_column_spelling_parses_back_and_serialises_the_same() {
        for health in [
            Health::Healthy,
            Health::Escrowed,
            Health::Paused,
            Health::NotRun,
            Health::NotConfigured,
            Health::Quarantined,
            Health::Failing,
        ] {
            assert_eq!(Health::from_column(health.as_str()), Some(health));
            assert_eq!(
                serde_json::json!(health),
                serde_json::json!(health.as_str())
            );
        }
        assert_eq!(Health::from_column("Failing"), None);
    }

    #[test]
    fn health_follows_the_rules_definitions() {
        let now = at("2026-11-01T12:00:00Z");
        let day = chrono::Duration::hours(24);
        let ok = job(serde_json::json!({
            "id": "a", "status": {"code": "Active",
                "lastExecution": {"state": "Succeeded", "timeEnded": "2026-11-01T11:58:00Z"},
                "lastSuccessfulExecution": {"state": "Succeeded", "timeEnded": "2026-11-01T11:58:00Z"}}
        }));
        assert_eq!(ok.health(now, day), Health::Healthy);
        let stale = job(serde_json::json!({
            "id": "b", "status": {"code": "Active",
                "lastExecution": {"state": "EntryLevelErrors", "timeEnded": "2026-11-01T11:58:00Z"},
                "lastSuccessfulExecution": {"state": "Succeeded", "timeEnded": "2026-10-20T11:58:00Z"}}
        }));
        assert_eq!(stale.health(now, day), Health::Failing);
        let never = job(serde_json::json!({
            "id": "c", "status": {"code": "Active",
                "lastExecution": {"state": "EntryLevelErrors", "timeEnded": "2026-11-01T11:58:00Z"},
                "lastSuccessfulExecution": {"timeEnded": "0001-01-01T00:00:00Z"}}
        }));
        assert_eq!(never.health(now, day), Health::Failing);
        // The docs' own sample (synchronizationJob-get): Paused, with a quarantine of empty strings.
        let sample = job(serde_json::json!({"id": "d", "status": {"code": "Paused",
            "quarantine": {"currentBegan": "", "nextAttempt": "", "reason": "", "seriesBegan": "",
                "seriesCount": 2, "error": {"code": "SalesforceInvalidCredentials"}}}}));
        assert_eq!(sample.health(now, day), Health::Paused);
        assert_eq!(quarantine_reason(&sample), None);
        let q = job(
            serde_json::json!({"id": "e", "status": {"code": "Quarantine",
            "quarantine": {"reason": "TooManyDeletes", "seriesCount": 3}}}),
        );
        assert_eq!(q.health(now, day), Health::Quarantined);
    }

    #[test]
    fn the_domain_is_the_domain_setting_else_the_configuration_name() {
        let with_setting = job(serde_json::json!({
            "id": "a", "servicePrincipalDisplayName": "Contoso sync",
            "synchronizationJobSettings": [{"name": "DomainFQDN", "value": "contoso.com"}]
        }));
        assert_eq!(domain(&with_setting), Some("contoso.com"));
        let without =
            job(serde_json::json!({"id": "a", "servicePrincipalDisplayName": "fabrikam.com"}));
        assert_eq!(domain(&without), Some("fabrikam.com"));
    }

    #[test]
    fn a_quarantined_job_shows_its_reason_and_the_command_that_clears_it() {
        let now = at("2026-11-01T12:00:00Z");
        let q = job(
            serde_json::json!({"id": "AD2AADProvisioning.1", "servicePrincipalId": "sp-1",
            "servicePrincipalDisplayName": "contoso.com",
            "status": {"code": "Quarantine", "quarantine": {"reason": "EncounteredQuarantineException",
                "seriesBegan": "2026-10-30T10:00:00Z", "nextAttempt": "2026-11-01T18:00:00Z", "seriesCount": 4,
                "error": {"code": "HybridIdentityServiceNoActiveAgents", "message": "No agent."}}}}),
        );
        let r = report("t", &[q], now, chrono::Duration::hours(24));
        assert_eq!((r.jobs, r.quarantined, r.failing), (1, 1, 0));
        assert!(r.needs_attention());
        let text = render(&r);
        assert!(
            text.contains("reason EncounteredQuarantineException, since 2026-10-30T10:00:00Z"),
            "{text}"
        );
        assert!(text.contains("re-evaluated 4 times"), "{text}");
        assert!(
            text.contains("Microsoft Entra Connect cloud sync agent"),
            "{text}"
        );
        assert!(
            text.contains(
                "`entra-audit cloud-sync start --job AD2AADProvisioning.1 --service-principal sp-1`"
            ),
            "{text}"
        );
        let json = serde_json::to_value(&r).unwrap();
        let j = &json["configurations"][0]["jobs"][0];
        assert_eq!(j["health"], "quarantined");
        assert_eq!(
            j["quarantine"]["errorCode"],
            "HybridIdentityServiceNoActiveAgents"
        );
        assert_eq!(
            j["advice"]["command"],
            "entra-audit cloud-sync start --job AD2AADProvisioning.1 --service-principal sp-1"
        );
    }
}
