//! The typed result of one audit ([`AuditReport`]): the findings, every rule's outcome, the
//! inputs it read and the tenant's state, exactly what `findings.json` holds. The audit layer
//! produces it; the outputs layer (`crate::outputs`) renders and writes it and never computes
//! any of it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::audit::findings::{
    BaselineComparison, BaselineFinding, Finding, RuleCleanup, RuleResult, Severity,
    SuppressionsApplied,
};
use crate::inputs::onprem::RejectedRecord;
use crate::inputs::snapshot::{CollectionState, JobHealth};

/// The version of the findings.json layout; bumped on any incompatible change.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Everything one audit produced: what `findings.json` holds.
#[derive(Debug, Serialize)]
pub struct AuditReport {
    pub schema_version: u32,
    pub tool: String,
    /// The time rules judged against, RFC 3339.
    pub as_of: String,
    pub tenant_id: Option<String>,
    pub inputs: Inputs,
    pub rules: Vec<RuleResult>,
    pub findings: Vec<Finding>,
    /// What the tenant looks like (objects by sync state, sync freshness, Cloud Sync jobs).
    /// Added after schema version 1 shipped: additive, so the version stays 1.
    pub tenant_summary: TenantSummary,
    /// A scheduled run's additive keys, set by the schedule (`--baseline`, `--suppressions`)
    /// before anything is written; absent otherwise. With a baseline: the comparison, the
    /// baseline's findings gone in this run (of rules this run evaluated), and the count of
    /// those of rules not evaluated now, by rule (neither resolved nor present).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineComparison>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Vec<BaselineFinding>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_rechecked: Option<BTreeMap<String, usize>>,
    /// With suppressions: the file, the muted count and the warnings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressions: Option<SuppressionsApplied>,
    /// Each rule's Markdown docs (its header), by rule name, for report.html. Not in
    /// findings.json: the rule catalogue has them, and they would repeat in every run.
    #[serde(skip)]
    pub rule_docs: BTreeMap<String, String>,
    /// What each rule declares about cleaning up its findings, by rule name, for the cleanup
    /// files. Not in findings.json.
    #[serde(skip)]
    pub rule_cleanup: BTreeMap<String, RuleCleanup>,
}

/// The tenant at a glance, computed by `audit` from the tables (counts and times, no verdicts).
/// `None` means "not known" (the input was not given or its collection failed), never zero.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TenantSummary {
    /// organization.displayName.
    pub tenant_name: Option<String>,
    /// Objects by type (`user`, `contact`, `group`).
    pub objects: BTreeMap<String, ObjectCounts>,
    pub directory_sync: SyncFreshness,
    pub password_hash_sync: SyncFreshness,
    /// Cloud Sync jobs; `None` when the synchronization jobs were not collected.
    pub cloud_sync_jobs: Option<Vec<SyncJobSummary>>,
    /// The --cloud-sync-max-age threshold, in hours.
    pub cloud_sync_max_age_hours: f64,
    /// Why a part of this summary is unknown: the table and the reason it is unavailable.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unavailable: BTreeMap<String, String>,
}

/// One object type's objects by sync state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObjectCounts {
    /// Cloud objects synced from on-prem (onPremisesSyncEnabled true).
    pub synced: Option<usize>,
    /// Cloud objects synced once, now cloud-managed (onPremisesSyncEnabled false).
    pub formerly_synced: Option<usize>,
    /// Cloud objects never synced (onPremisesSyncEnabled null).
    pub cloud_only: Option<usize>,
    /// On-prem objects in the exports.
    pub onprem: Option<usize>,
    /// On-prem objects with no cloud twin yet (the `onprem_links` view): sync will soft-match or
    /// create them.
    pub onprem_only: Option<usize>,
}

/// When a sync last ran, against the threshold the rules use.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncFreshness {
    /// Whether the source of this figure was available (see `TenantSummary::unavailable`).
    pub known: bool,
    /// organization.onPremisesSyncEnabled (directory sync only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// RFC 3339; `None` with `known` means it never ran.
    pub last: Option<String>,
    /// Hours between `last` and the audit's as-of time.
    pub age_hours: Option<f64>,
    /// The --*-max-age threshold, in hours.
    pub max_age_hours: f64,
}

/// One Cloud Sync job as its status reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncJobSummary {
    pub configuration: Option<String>,
    pub job_id: String,
    pub template_id: Option<String>,
    pub domain: Option<String>,
    pub schedule_state: Option<String>,
    pub status_code: Option<String>,
    pub last_execution_state: Option<String>,
    pub last_execution_ended: Option<String>,
    pub last_success_time: Option<String>,
    /// Hours between `last_success_time` and the audit's as-of time.
    pub last_success_age_hours: Option<f64>,
    pub successive_failures: Option<i64>,
    pub quarantine_reason: Option<String>,
    pub quarantine_since: Option<String>,
    /// The quarantine's error, else the last execution's.
    pub error: Option<String>,
    /// The job's health (`sync_jobs.health`, judged once, by `SyncJob::health`, for the rules,
    /// `cloud-sync status` and the report).
    pub health: Option<JobHealth>,
}

#[derive(Debug, Default, Serialize)]
pub struct Inputs {
    pub onprem: Vec<OnPremFile>,
    /// On-prem objects by type, after de-duplication across files.
    pub onprem_objects: BTreeMap<String, usize>,
    pub cloud: Option<CloudInput>,
    pub rejected_count: usize,
    pub rejected_records: Vec<RejectedRecord>,
    pub rules_not_evaluated: Vec<NotEvaluated>,
    /// The sync engine's configuration the prediction assumed, each part with its source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_model: Option<crate::audit::sync_model::SyncModel>,
    /// Exported objects the engine never syncs, counted by reason and listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::audit::sync_model::ScopeReport>,
}

#[derive(Debug, Serialize)]
pub struct OnPremFile {
    pub path: PathBuf,
    pub format: crate::inputs::onprem::Format,
    pub objects: usize,
    pub rejected: usize,
    /// Records of other classes (computers, OUs...) skipped on purpose.
    pub skipped: BTreeMap<String, usize>,
    /// Doubts about the file as a whole (e.g. "probably truncated"); shown in every output.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CloudInput {
    pub dir: PathBuf,
    pub collected_at: Option<String>,
    pub collections: BTreeMap<String, CollectionState>,
}

#[derive(Debug, Serialize)]
pub struct NotEvaluated {
    pub rule: String,
    pub reason: String,
}

impl AuditReport {
    /// The most severe finding's severity, if any.
    pub fn worst_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    pub fn count_at_or_above(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= severity)
            .count()
    }
}
