//! The cloud snapshot directory (`--cloud DIR`): one file per Graph collection, exactly as Graph
//! returns it, plus an optional `manifest.json`. This module owns that layout: the collection
//! names, the Graph property names it reads, and the verdict on each collection (loaded, missing,
//! failed) that decides which rules can be evaluated.
//!
//! The directory is the seam between collecting and auditing: `collect` writes it, Graph Explorer
//! or PowerShell exports can stand in for it, and `check --cloud` reads it. This module must not
//! interpret what the data means for sync (that is the rules' job) and must not turn a collection
//! it could not read into an empty one: a missing, failed or incomplete collection is reported as
//! such, never as "no objects".
//!
//! A collection is a Graph response (`users.json`: `{"value":[...]}` or a bare array), read
//! whole, or one object per line (`users.jsonl`, what `collect` writes), read a block at a time
//! by `jsonl`. Users, contacts and groups are then held packed (`directory`: a million users
//! are the snapshot's largest part).
//!
//! Graph facts followed here:
//! - `onPremisesSyncEnabled` is tri-state: true = synced, false = formerly synced, null = never
//!   (<https://learn.microsoft.com/graph/api/resources/group>,
//!   <https://learn.microsoft.com/graph/api/resources/user>).
//! - `propertyCausingError` is documented as `ProxyAddress`
//!   (<https://learn.microsoft.com/graph/api/resources/onpremisesprovisioningerror>); real
//!   responses also say `ProxyAddresses`, so both are read.
//! - Sync timestamps may be empty strings, and "never" is `0001-01-01T00:00:00Z`
//!   (<https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationstatus>,
//!   and the empty strings of the sample in
//!   <https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationquarantine>).
//! - Users return the sync properties only with `$select`
//!   (<https://learn.microsoft.com/graph/api/user-list>), so a users file without them is
//!   an export that cannot be audited, and is refused with the reason.
//!
//! A collection the manifest marks `"scope": "provisioning-errors"` (`collect --errors-only`)
//! holds only the objects with provisioning errors: it loads, and [`CloudSnapshot::scope`] says
//! so, for the tables to mark what is built from it as partial. A scope this version does not
//! know makes the collection unusable rather than be taken for the whole directory.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Utc};
use compact_str::CompactString;
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::inputs::onprem::RejectedRecord;

pub(crate) mod catalogue;
pub(crate) use catalogue::{CATALOGUE, CollectionSpec};
mod directory;
pub(crate) use directory::{ChunkRows, DirectoryChunk};
pub use directory::{DirectoryObjects, ObjectRef};
mod jsonl;

/// The manifest `scope` of a users, contacts or groups collection holding only the objects with
/// provisioning errors.
pub(crate) const PROVISIONING_ERRORS_SCOPE: &str = "provisioning-errors";

/// The collections of a snapshot, named as their files are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Collection {
    #[serde(rename = "users")]
    Users,
    #[serde(rename = "contacts")]
    Contacts,
    #[serde(rename = "groups")]
    Groups,
    #[serde(rename = "organization")]
    Organization,
    #[serde(rename = "domains")]
    Domains,
    #[serde(rename = "synchronizationJobs")]
    SynchronizationJobs,
    #[serde(rename = "directoryRoles")]
    DirectoryRoles,
    /// `GET /directory/onPremisesSynchronization`: delegated Global Administrator only
    /// (<https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get>).
    #[serde(rename = "onPremisesSynchronization")]
    OnPremisesSynchronization,
    /// Active Microsoft Entra role assignments, complete: `/roleManagement/directory/roleAssignments`
    /// (paged), with role-assignable groups expanded to their transitive members.
    #[serde(rename = "roleAssignments")]
    RoleAssignments,
    /// Eligible (PIM) role assignments: `/roleManagement/directory/roleEligibilitySchedules`.
    #[serde(rename = "roleEligibilities")]
    RoleEligibilities,
    /// Whether a synced-looking user or group was converted to cloud management (source of
    /// authority): `GET /beta/{users|groups}/{id}/onPremisesSyncBehavior`, read per object, only
    /// for the objects the leftover rules judge
    /// (<https://learn.microsoft.com/graph/api/onpremisessyncbehavior-get?view=graph-rest-beta>).
    #[serde(rename = "onPremisesSyncBehavior")]
    SyncBehavior,
}

impl Collection {
    pub const ALL: [Collection; 11] = [
        Collection::Users,
        Collection::Contacts,
        Collection::Groups,
        Collection::Organization,
        Collection::Domains,
        Collection::SynchronizationJobs,
        Collection::DirectoryRoles,
        Collection::OnPremisesSynchronization,
        Collection::RoleAssignments,
        Collection::RoleEligibilities,
        Collection::SyncBehavior,
    ];

    /// Readable only with a delegated sign-in of a Global Administrator: Graph refuses it to
    /// every application token by design
    /// (<https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get>), so its
    /// 403 is expected, not a permission to grant.
    pub fn delegated_only(self) -> bool {
        matches!(self, Collection::OnPremisesSynchronization)
    }

    /// Readable only with a `ReadWrite` permission (no read-only one exists), and optional: the
    /// rules that use it run without it and say so. A read-only audit app is not expected to
    /// hold it, so the doctor offers it apart from the read permissions.
    pub fn needs_write_permission(self) -> bool {
        matches!(self, Collection::SyncBehavior)
    }

    /// What [`Collection::delegated_only`] means for a reader, said once in each summary.
    pub const DELEGATED_ONLY_NOTE: &'static str =
        "readable only with a delegated Global Administrator sign-in";

    pub fn file_stem(self) -> &'static str {
        match self {
            Collection::Users => "users",
            Collection::Contacts => "contacts",
            Collection::Groups => "groups",
            Collection::Organization => "organization",
            Collection::Domains => "domains",
            Collection::SynchronizationJobs => "synchronizationJobs",
            Collection::DirectoryRoles => "directoryRoles",
            Collection::OnPremisesSynchronization => "onPremisesSynchronization",
            Collection::RoleAssignments => "roleAssignments",
            Collection::RoleEligibilities => "roleEligibilities",
            Collection::SyncBehavior => "onPremisesSyncBehavior",
        }
    }

    /// How Graph serves this collection and what the audit uses it for.
    pub fn spec(self) -> &'static CollectionSpec {
        // `CATALOGUE` is in `ALL`'s order, which is the declaration order (a test holds both).
        &CATALOGUE[self as usize]
    }

    /// Properties that a usable export of this collection must contain (when it has objects).
    fn required_properties(self) -> &'static [&'static str] {
        self.spec().required
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_stem())
    }
}

/// What became of one collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CollectionState {
    Loaded {
        file: PathBuf,
        objects: usize,
        rejected: usize,
    },
    /// No file: not collected (the manifest may say why).
    Missing { reason: String },
    /// Collected but unusable: failed, forbidden, incomplete, or missing required properties.
    Failed { reason: String },
}

impl CollectionState {
    pub fn is_loaded(&self) -> bool {
        matches!(self, CollectionState::Loaded { .. })
    }

    /// Why the collection cannot be used, or `None` when it can.
    pub fn unavailable_reason(&self, collection: Collection) -> Option<String> {
        match self {
            CollectionState::Loaded { .. } => None,
            CollectionState::Missing { reason } | CollectionState::Failed { reason } => {
                Some(format!("{collection}: {reason}"))
            }
        }
    }
}

/// How one collection ended, as `manifest.json` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectionStatus {
    Complete,
    Failed,
    /// Graph answered 403: the token lacks the permission (or the resource refuses app-only).
    Forbidden,
    Skipped,
    /// A status this version does not know (a hand-made or newer manifest): not usable.
    #[serde(other)]
    Unknown,
}

impl CollectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionStatus::Complete => "complete",
            CollectionStatus::Failed => "failed",
            CollectionStatus::Forbidden => "forbidden",
            CollectionStatus::Skipped => "skipped",
            CollectionStatus::Unknown => "unknown",
        }
    }
}

/// `manifest.json`: written by `collect` (from this type), read by [`load`]; optional for
/// hand-made snapshots, whose manifests may leave out everything but `status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub schema_version: Option<u32>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_time",
        serialize_with = "millis_time"
    )]
    pub collected_at: Option<DateTime<Utc>>,
    /// `entra-audit/VERSION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// By file stem (`users`, `synchronizationJobs`, ...).
    #[serde(default)]
    pub collections: BTreeMap<String, ManifestCollection>,
}

/// One collection's record in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestCollection {
    /// Anything but `complete` makes the collection unusable.
    pub status: CollectionStatus,
    /// Objects written (complete), or received before the failure.
    #[serde(default)]
    pub objects: Option<usize>,
    /// Why it is not complete.
    #[serde(default)]
    pub error: Option<String>,
    /// Graph's `error.code` of the refusal, when there was one.
    #[serde(default)]
    pub code: Option<String>,
    /// HTTP requests sent, retries included.
    #[serde(default)]
    pub requests: Option<u64>,
    #[serde(default)]
    pub retries: Option<u64>,
    /// 429 answers.
    #[serde(default)]
    pub throttled: Option<u64>,
    /// How the collection was read, when there was a choice: `partitioned(44)`,
    /// `sequential (why)`, or the errors-only filter or scan. Absent: one sequential pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Which objects were collected when not all: `provisioning-errors`. Absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Wall seconds the collection took, and of them the partition planning (count and sample).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_seconds: Option<f64>,
}

/// The `manifest.json` schema `collect` writes.
pub(crate) const MANIFEST_SCHEMA_VERSION: u32 = 1;

/// `collected_at` as `collect` writes it: RFC 3339 in UTC with milliseconds.
#[allow(clippy::ref_option)] // serde's `serialize_with` hands the field by reference
fn millis_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        None => s.serialize_none(),
    }
}

/// A user, contact or group as Graph returns it (the properties the audit reads). Its text
/// other than the id is held as `CompactString`s: a value of up to 24 bytes (most display names
/// and mailNicknames, the base64 immutable id, the domain name, Member/Guest) lies in the field
/// itself, not in an allocation of its own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectoryObject {
    pub id: String,
    pub display_name: Option<CompactString>,
    pub user_principal_name: Option<CompactString>,
    pub mail: Option<CompactString>,
    pub mail_nickname: Option<CompactString>,
    #[serde(deserialize_with = "null_as_default")]
    pub proxy_addresses: Vec<CompactString>,
    pub on_premises_immutable_id: Option<CompactString>,
    pub on_premises_sync_enabled: Option<bool>,
    #[serde(deserialize_with = "lenient_time")]
    pub on_premises_last_sync_date_time: Option<DateTime<Utc>>,
    pub on_premises_distinguished_name: Option<CompactString>,
    pub on_premises_sam_account_name: Option<CompactString>,
    pub on_premises_domain_name: Option<CompactString>,
    pub on_premises_security_identifier: Option<CompactString>,
    pub on_premises_user_principal_name: Option<CompactString>,
    #[serde(deserialize_with = "null_as_default")]
    pub on_premises_provisioning_errors: Vec<ProvisioningError>,
    #[serde(deserialize_with = "lenient_time")]
    pub created_date_time: Option<DateTime<Utc>>,
    pub account_enabled: Option<bool>,
    pub user_type: Option<CompactString>,
    pub mail_enabled: Option<bool>,
    pub security_enabled: Option<bool>,
}

/// `onPremisesProvisioningError` (Graph resource; category is `PropertyConflict` today).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProvisioningError {
    pub category: Option<String>,
    #[serde(deserialize_with = "lenient_time")]
    pub occurred_date_time: Option<DateTime<Utc>>,
    pub property_causing_error: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Organization {
    pub id: String,
    pub display_name: Option<String>,
    pub on_premises_sync_enabled: Option<bool>,
    #[serde(deserialize_with = "lenient_time")]
    pub on_premises_last_sync_date_time: Option<DateTime<Utc>>,
    /// Beta only, not in the v1.0 metadata
    /// (<https://learn.microsoft.com/graph/api/resources/organization?view=graph-rest-beta>).
    /// `None` inside `Some` = present and null: never synced a password.
    #[allow(clippy::option_option)]
    #[serde(deserialize_with = "present_lenient_time")]
    pub on_premises_last_password_sync_date_time: Option<Option<DateTime<Utc>>>,
    #[serde(deserialize_with = "null_as_default")]
    pub verified_domains: Vec<VerifiedDomain>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VerifiedDomain {
    /// Nullable in Graph's metadata (verifiedDomain.name): a nameless entry is skipped, never
    /// the reason to reject the organization.
    pub name: Option<String>,
    pub is_default: Option<bool>,
    pub is_initial: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Domain {
    pub id: String,
    pub is_verified: Option<bool>,
    pub is_default: Option<bool>,
    pub is_initial: Option<bool>,
    pub authentication_type: Option<String>,
}

/// A Cloud Sync `synchronizationJob` plus the `servicePrincipalId` the collector adds (the job
/// resource does not carry its parent, and actions need it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncJob {
    pub id: String,
    pub template_id: Option<String>,
    pub service_principal_id: Option<String>,
    /// The configuration's name (normally the AD domain), when the collector adds it.
    pub service_principal_display_name: Option<String>,
    pub schedule: Option<SyncSchedule>,
    pub status: Option<SyncStatus>,
    #[serde(deserialize_with = "null_as_default")]
    pub synchronization_job_settings: Vec<KeyValue>,
    /// Provisioning jobs: the OUs the job's schema scopes it to (the collector adds them from
    /// `.../jobs/{id}/schema`; empty: the whole domain; absent: not collected).
    pub included_containers: Option<Vec<String>>,
    /// Why the collector could not read the job's schema, when it could not.
    pub scope_unavailable: Option<String>,
    /// Scoping in the job's schema the audit does not evaluate (a group filter, attribute
    /// scoping filters), in a few words each; absent when there is none.
    pub scope_not_evaluated: Option<Vec<String>>,
}

impl SyncJob {
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.synchronization_job_settings
            .iter()
            .find(|kv| kv.name.eq_ignore_ascii_case(name))
            .and_then(|kv| kv.value.as_deref())
    }
}

/// How a Cloud Sync job is doing, judged once here for the rules (the `sync_jobs.health` column),
/// `cloud-sync status` and the report. The status codes and the meaning of
/// `lastSuccessfulExecution` ("the last run without errors") follow
/// <https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationstatus>.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum JobHealth {
    Healthy,
    /// It runs, but some objects fail and wait in escrow: not a failing job.
    Escrowed,
    Paused,
    /// It has not completed its first run.
    NotRun,
    NotConfigured,
    Quarantined,
    Failing,
}

impl JobHealth {
    /// The spelling in the `sync_jobs.health` column and in `cloud-sync status --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobHealth::Healthy => "healthy",
            JobHealth::Escrowed => "escrowed",
            JobHealth::Paused => "paused",
            JobHealth::NotRun => "notRun",
            JobHealth::NotConfigured => "notConfigured",
            JobHealth::Quarantined => "quarantined",
            JobHealth::Failing => "failing",
        }
    }

    /// The health a `sync_jobs.health` value spells (see [`JobHealth::as_str`]).
    pub fn from_column(text: &str) -> Option<JobHealth> {
        [
            JobHealth::Healthy,
            JobHealth::Escrowed,
            JobHealth::Paused,
            JobHealth::NotRun,
            JobHealth::NotConfigured,
            JobHealth::Quarantined,
            JobHealth::Failing,
        ]
        .into_iter()
        .find(|h| h.as_str() == text)
    }

    /// Whether the job needs someone (exit code 1 of `cloud-sync status`).
    pub fn needs_attention(self) -> bool {
        matches!(self, JobHealth::Quarantined | JobHealth::Failing)
    }
}

impl SyncStatus {
    /// The status code, typed; `None` when Graph sent none.
    pub fn code(&self) -> Option<JobStatusCode> {
        self.code.as_deref().map(JobStatusCode::parse)
    }
}

impl SyncJob {
    /// Judges the job as of `now`; `max_age` is how long an active job may go without a run
    /// that succeeded (or, for a job with escrowed objects, without any completed run).
    pub fn health(&self, now: DateTime<Utc>, max_age: chrono::Duration) -> JobHealth {
        let status = self.status.clone().unwrap_or_default();
        match status.code() {
            Some(JobStatusCode::Quarantine) => return JobHealth::Quarantined,
            Some(JobStatusCode::Paused) => return JobHealth::Paused,
            Some(JobStatusCode::NotRun) => return JobHealth::NotRun,
            Some(JobStatusCode::NotConfigured) => return JobHealth::NotConfigured,
            Some(JobStatusCode::Active | JobStatusCode::Other(_)) | None => {}
        }
        if status.quarantine.is_some() {
            return JobHealth::Quarantined;
        }
        let last = status.last_execution.clone().unwrap_or_default();
        let cutoff = now - max_age;
        if status.count_successive_complete_failures.unwrap_or(0) > 0
            || last.state.as_deref() == Some("Failed")
        {
            return JobHealth::Failing;
        }
        // lastSuccessfulExecution is the last run *without errors*: a job that keeps running
        // with escrowed objects leaves it behind without failing.
        if last.count_escrowed.unwrap_or(0) > 0 && last.time_ended.is_some_and(|t| t >= cutoff) {
            return JobHealth::Escrowed;
        }
        let last_success = status
            .last_successful_execution
            .as_ref()
            .and_then(|e| e.time_ended);
        if (last_success.is_none() && last.time_ended.is_some())
            || last_success.is_some_and(|t| t < cutoff)
        {
            JobHealth::Failing
        } else {
            JobHealth::Healthy
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncSchedule {
    pub interval: Option<String>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyValue {
    pub name: String,
    /// Nullable in Graph's metadata (keyValuePair.value): one null must not reject the job.
    pub value: Option<String>,
}

/// `synchronizationStatus.code`: `NotConfigured`, `NotRun`, `Active`, `Paused` or `Quarantine`
/// (<https://learn.microsoft.com/en-us/graph/api/resources/synchronization-synchronizationstatus>).
/// A value Graph adds later is kept as `Other`, never an error: one unknown code must not lose a
/// job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatusCode {
    NotConfigured,
    NotRun,
    Active,
    Paused,
    Quarantine,
    Other(String),
}

impl JobStatusCode {
    pub fn parse(code: &str) -> Self {
        match code {
            "NotConfigured" => Self::NotConfigured,
            "NotRun" => Self::NotRun,
            "Active" => Self::Active,
            "Paused" => Self::Paused,
            "Quarantine" => Self::Quarantine,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// `synchronizationStatus`
/// (<https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationstatus>).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncStatus {
    pub code: Option<String>,
    pub count_successive_complete_failures: Option<i64>,
    pub escrows_pruned: Option<bool>,
    pub last_execution: Option<TaskExecution>,
    pub last_successful_execution: Option<TaskExecution>,
    pub last_successful_execution_with_exports: Option<TaskExecution>,
    pub quarantine: Option<Quarantine>,
    #[serde(deserialize_with = "lenient_time")]
    pub steady_state_last_achieved_time: Option<DateTime<Utc>>,
    pub troubleshooting_url: Option<String>,
}

/// `synchronizationTaskExecution`
/// (<https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationtaskexecution>).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskExecution {
    pub state: Option<String>,
    #[serde(deserialize_with = "lenient_time")]
    pub time_began: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient_time")]
    pub time_ended: Option<DateTime<Utc>>,
    pub count_escrowed: Option<i64>,
    pub error: Option<SyncError>,
}

/// `synchronizationQuarantine`
/// (<https://learn.microsoft.com/graph/api/resources/synchronization-synchronizationquarantine>).
/// The docs' own sample has empty strings for the times and
/// the reason, so every field is lenient.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Quarantine {
    #[serde(deserialize_with = "lenient_time")]
    pub current_began: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "lenient_time")]
    pub next_attempt: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "empty_as_none")]
    pub reason: Option<String>,
    #[serde(deserialize_with = "lenient_time")]
    pub series_began: Option<DateTime<Utc>>,
    pub series_count: Option<i64>,
    pub error: Option<SyncError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncError {
    pub code: Option<String>,
    pub message: Option<String>,
    pub tenant_actionable: Option<bool>,
}

/// A directory role with its members, as `GET /directoryRoles?$expand=members` returns it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectoryRole {
    pub id: String,
    pub display_name: Option<String>,
    pub role_template_id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub members: Vec<RoleMember>,
}

/// One holder of one Microsoft Entra role, as `collect` writes `roleAssignments.json` and
/// `roleEligibilities.json`: a unifiedRoleAssignment (or unifiedRoleEligibilitySchedule) from
/// `/roleManagement/directory`, with the role's name from its roleDefinition, and one record per
/// transitive member when the principal is a role-assignable group (`principalId` then names the
/// group, `memberId` the member). Not a Graph response shape: the collector flattens three.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleHolder {
    /// The assignment's (or eligibility schedule's) id.
    pub id: String,
    pub role_definition_id: String,
    pub role_display_name: Option<String>,
    pub role_template_id: Option<String>,
    pub principal_id: String,
    /// `user`, `group` or `servicePrincipal` (from the principal's `@odata.type`).
    pub principal_type: Option<String>,
    pub member_id: String,
    pub member_type: Option<String>,
    /// `/` for the whole directory, else an administrative unit or object.
    pub directory_scope_id: Option<String>,
}

/// One record of `onPremisesSyncBehavior.json`, as `collect` writes it: the object's id and type
/// and its onPremisesSyncBehavior's `isCloudManaged`
/// (<https://learn.microsoft.com/graph/api/resources/onpremisessyncbehavior?view=graph-rest-beta>:
/// "If true, updates from on-premises Active Directory are blocked in the cloud"), or, for a
/// candidate that could not be read, `isCloudManaged` null and the reason in `notRead`. Not a
/// Graph response shape: the collector reads one object per request and adds the type.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncBehavior {
    pub id: String,
    /// `user` or `group`: a record saying anything else is rejected (naming its id), not held as
    /// text a million times.
    pub object_type: Option<SyncBehaviorObject>,
    pub is_cloud_managed: Option<bool>,
    /// Why this candidate's behaviour was not read (over the cap, Graph's answer to it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_read: Option<String>,
}

/// What kind of object a [`SyncBehavior`] record is of: onPremisesSyncBehavior is read for users
/// and groups only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncBehaviorObject {
    User,
    Group,
}

impl SyncBehaviorObject {
    /// As the snapshot and the tables spell it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SyncBehaviorObject::User => "user",
            SyncBehaviorObject::Group => "group",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RoleMember {
    pub id: String,
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
}

/// `onPremisesDirectorySynchronization`
/// (<https://learn.microsoft.com/graph/api/resources/onpremisesdirectorysynchronizationfeature>):
/// the tenant's matching switches.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectorySynchronization {
    pub id: String,
    pub features: SyncFeatures,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[allow(
    clippy::struct_field_names,
    reason = "the fields are Graph's property names"
)]
pub struct SyncFeatures {
    pub block_soft_match_enabled: Option<bool>,
    pub block_cloud_object_takeover_through_hard_match_enabled: Option<bool>,
    /// The 2026 hardening's bypass: lets the sync client re-map onPremisesObjectIdentifier.
    pub allow_on_prem_update_of_on_premises_object_identifier_enabled: Option<bool>,
    pub soft_match_on_upn_enabled: Option<bool>,
    pub password_sync_enabled: Option<bool>,
}

/// Everything read from a snapshot directory.
#[derive(Debug, Default, Clone)]
pub struct CloudSnapshot {
    pub dir: PathBuf,
    pub manifest: Option<Manifest>,
    pub states: BTreeMap<Collection, CollectionState>,
    /// Packed (see [`DirectoryObjects`]): a million users are their largest part.
    pub users: DirectoryObjects,
    pub contacts: DirectoryObjects,
    pub groups: DirectoryObjects,
    pub organization: Vec<Organization>,
    pub domains: Vec<Domain>,
    pub sync_jobs: Vec<SyncJob>,
    pub directory_roles: Vec<DirectoryRole>,
    pub directory_synchronization: Vec<DirectorySynchronization>,
    pub role_assignments: Vec<RoleHolder>,
    pub role_eligibilities: Vec<RoleHolder>,
    pub sync_behaviors: Vec<SyncBehavior>,
    pub rejected: Vec<RejectedRecord>,
}

impl CloudSnapshot {
    pub fn state(&self, collection: Collection) -> &CollectionState {
        self.states
            .get(&collection)
            .expect("every collection has a state after load")
    }

    /// Whether `collect` recorded the collection as forbidden (Graph answered 403).
    pub fn forbidden(&self, collection: Collection) -> bool {
        self.manifest
            .as_ref()
            .and_then(|m| m.collections.get(collection.file_stem()))
            .is_some_and(|entry| entry.status == CollectionStatus::Forbidden)
    }

    /// The manifest's scope of a loaded collection (`Some("provisioning-errors")`), `None` when it
    /// holds every object.
    pub fn scope(&self, collection: Collection) -> Option<&str> {
        if !self.state(collection).is_loaded() {
            return None;
        }
        self.manifest
            .as_ref()
            .and_then(|m| m.collections.get(collection.file_stem()))
            .and_then(|e| e.scope.as_deref())
    }

    /// The tenant id: from the manifest, else the organization object.
    pub fn tenant_id(&self) -> Option<String> {
        self.manifest
            .as_ref()
            .and_then(|m| m.tenant_id.clone())
            .or_else(|| {
                self.organization
                    .first()
                    .map(|o| o.id.clone())
                    .filter(|id| !id.is_empty())
            })
    }
}

/// A snapshot directory that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "cloud snapshot {path} is not a directory (expected one Graph JSON file per collection: users.json, contacts.json, ...)"
    )]
    NotADirectory { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Present in a snapshot folder while `collect` writes it (removed once `manifest.json` is in
/// place): a folder holding it is an interrupted collection, possibly a mix of two runs.
pub const COLLECTING_MARKER: &str = ".entra-audit-collecting";

/// Reads every collection of the snapshot in `dir`.
pub fn load(dir: &Path) -> Result<CloudSnapshot, SnapshotError> {
    if !dir.is_dir() {
        return Err(SnapshotError::NotADirectory {
            path: dir.to_owned(),
        });
    }
    let marker = dir.join(COLLECTING_MARKER);
    if std::fs::symlink_metadata(&marker).is_ok() {
        return Err(SnapshotError::Invalid {
            path: dir.to_owned(),
            message: format!(
                "the collection that wrote this folder did not finish ({COLLECTING_MARKER} is \
                 still there, and manifest.json is not): its files may mix two runs. Collect \
                 again (`entra-audit collect --out DIR`)"
            ),
        });
    }
    let manifest = read_manifest(dir)?;
    // The users (a million at the largest) are read beside the other collections: read one
    // after the other, the last ones (onPremisesSyncBehavior.json is 0.1 GB at a million objects)
    // kept one core idle for half a second, the LDIF import having finished.
    let (users, rest) = rayon::join(
        || load_directory(dir, manifest.as_ref(), Collection::Users),
        || load_all_but_users(dir, manifest.clone()),
    );
    // Errors as reading in the collections' order gave them: the users' first.
    let users = users?;
    let mut snapshot = rest?;
    snapshot.states.insert(Collection::Users, users.state);
    snapshot.users = users.objects;
    snapshot.rejected.splice(0..0, users.rejected);
    Ok(snapshot)
}

/// Every collection of the snapshot but the users, in [`Collection::ALL`]'s order.
fn load_all_but_users(
    dir: &Path,
    manifest: Option<Manifest>,
) -> Result<CloudSnapshot, SnapshotError> {
    let mut snapshot = CloudSnapshot {
        dir: dir.to_owned(),
        manifest,
        ..CloudSnapshot::default()
    };
    for collection in Collection::ALL {
        let state = match collection {
            // Read beside the others ([`load`]).
            Collection::Users => continue,
            Collection::Contacts => {
                let loaded = load_directory(dir, snapshot.manifest.as_ref(), collection)?;
                keep(&mut snapshot, loaded, |s| &mut s.contacts)
            }
            Collection::Groups => {
                let loaded = load_directory(dir, snapshot.manifest.as_ref(), collection)?;
                keep(&mut snapshot, loaded, |s| &mut s.groups)
            }
            Collection::Organization => {
                load_into(&mut snapshot, collection, |s| &mut s.organization)?
            }
            Collection::Domains => load_into(&mut snapshot, collection, |s| &mut s.domains)?,
            Collection::SynchronizationJobs => {
                load_into(&mut snapshot, collection, |s| &mut s.sync_jobs)?
            }
            Collection::DirectoryRoles => {
                load_into(&mut snapshot, collection, |s| &mut s.directory_roles)?
            }
            Collection::OnPremisesSynchronization => load_into(&mut snapshot, collection, |s| {
                &mut s.directory_synchronization
            })?,
            Collection::RoleAssignments => {
                load_into(&mut snapshot, collection, |s| &mut s.role_assignments)?
            }
            Collection::RoleEligibilities => {
                load_into(&mut snapshot, collection, |s| &mut s.role_eligibilities)?
            }
            Collection::SyncBehavior => {
                load_into(&mut snapshot, collection, |s| &mut s.sync_behaviors)?
            }
        };
        snapshot.states.insert(collection, state);
    }
    Ok(snapshot)
}

fn read_manifest(dir: &Path) -> Result<Option<Manifest>, SnapshotError> {
    let path = dir.join("manifest.json");
    if !path.exists() {
        return Ok(None);
    }
    let bytes = read_bytes(&path)?;
    serde_json::from_str(as_text(&path, &bytes)?)
        .map(Some)
        .map_err(|e| SnapshotError::Invalid {
            path,
            message: format!("line {}: not a valid manifest: {e}", e.line()),
        })
}

/// A snapshot file's bytes, without a UTF-8 byte-order mark; [`as_text`] checks they are UTF-8.
fn read_bytes(path: &Path) -> Result<Vec<u8>, SnapshotError> {
    let mut bytes = std::fs::read(path).map_err(|source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    })?;
    // Windows tools like to write a UTF-8 BOM; JSON parsers do not accept one. (Removed in
    // place: a snapshot file can be a gigabyte, so it is never copied.)
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    Ok(bytes)
}

/// The file's text, checked to be UTF-8 by simdutf8 (as polars checks its string buffers): std's
/// check took 3 % of reading a gigabyte of users.
fn as_text<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, SnapshotError> {
    simdutf8::compat::from_utf8(bytes).map_err(|e| not_utf8(path, e.valid_up_to() as u64))
}

/// A file that is not UTF-8, from `offset` (counted after a byte-order mark) on.
fn not_utf8(path: &Path, offset: u64) -> SnapshotError {
    SnapshotError::Invalid {
        path: path.to_owned(),
        message: format!("not UTF-8 (invalid byte at offset {offset}); save the export as UTF-8"),
    }
}

/// What identifies one record of a collection: an id listed twice with different data is a
/// conflict, not two objects.
trait HasId {
    fn id(&self) -> std::borrow::Cow<'_, str>;
}

macro_rules! has_id {
    ($($t:ty),*) => {$(impl HasId for $t {
        fn id(&self) -> std::borrow::Cow<'_, str> { std::borrow::Cow::Borrowed(&self.id) }
    })*};
}
has_id!(
    DirectoryObject,
    Organization,
    Domain,
    SyncJob,
    DirectoryRole,
    DirectorySynchronization,
    SyncBehavior
);

/// A role-assignable group's assignment gives one record per member, all with the assignment's
/// id: the record is the assignment and the member together.
impl HasId for RoleHolder {
    fn id(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Owned(format!("{}/{}", self.id, self.member_id))
    }
}

/// Reads `collection` into `target` of `snapshot`, its rejected records after those before.
fn load_into<T: DeserializeOwned + HasId + Send>(
    snapshot: &mut CloudSnapshot,
    collection: Collection,
    target: impl FnOnce(&mut CloudSnapshot) -> &mut Vec<T>,
) -> Result<CollectionState, SnapshotError> {
    let loaded = load_collection::<Vec<T>>(&snapshot.dir, snapshot.manifest.as_ref(), collection)?;
    Ok(keep(snapshot, loaded, target))
}

/// Puts `loaded`'s objects into `target` of `snapshot`, its rejected records after those before,
/// and gives its state.
fn keep<C>(
    snapshot: &mut CloudSnapshot,
    loaded: Loaded<C>,
    target: impl FnOnce(&mut CloudSnapshot) -> &mut C,
) -> CollectionState {
    snapshot.rejected.extend(loaded.rejected);
    *target(snapshot) = loaded.objects;
    loaded.state
}

/// Reads the users, contacts or groups of the snapshot in `dir` and packs them
/// ([`DirectoryObjects`]).
fn load_directory(
    dir: &Path,
    manifest: Option<&Manifest>,
    collection: Collection,
) -> Result<Loaded<DirectoryObjects>, SnapshotError> {
    let loaded = load_collection::<PackedAsRead>(dir, manifest, collection)?;
    let objects = loaded
        .objects
        .finish()
        .map_err(|e| SnapshotError::Invalid {
            path: collection_file(dir, collection).unwrap_or_else(|| dir.to_owned()),
            message: e.to_string(),
        })?;
    Ok(Loaded {
        state: loaded.state,
        objects,
        rejected: loaded.rejected,
    })
}

/// One collection as read: its state, its objects (`Vec<T>`, or packed) and its rejected
/// records (none of either unless loaded).
struct Loaded<C> {
    state: CollectionState,
    objects: C,
    rejected: Vec<RejectedRecord>,
}

impl<C: Default> From<CollectionState> for Loaded<C> {
    fn from(state: CollectionState) -> Self {
        Loaded {
            state,
            objects: C::default(),
            rejected: Vec::new(),
        }
    }
}

/// Reads `collection` from the snapshot in `dir`, judged against its `manifest` entry.
fn load_collection<K: Kept>(
    dir: &Path,
    manifest: Option<&Manifest>,
    collection: Collection,
) -> Result<Loaded<K>, SnapshotError> {
    let manifest_entry = manifest
        .and_then(|m| m.collections.get(collection.file_stem()))
        .cloned();
    let Some(path) = collection_file(dir, collection) else {
        let absent = format!(
            "not in the snapshot (no {0}.json or {0}.jsonl)",
            collection.file_stem()
        );
        return Ok(Loaded::from(match &manifest_entry {
            // Not read on purpose (`--skip`) or not readable with the permissions granted: the
            // rules that need it are not evaluated, and the run is still a complete one.
            Some(entry)
                if matches!(
                    entry.status,
                    CollectionStatus::Forbidden | CollectionStatus::Skipped
                ) =>
            {
                CollectionState::Missing {
                    reason: manifest_reason(entry),
                }
            }
            // The collection was tried and failed, or its file is gone although the manifest
            // says it was complete: a given input that cannot be used.
            Some(entry) if entry.status != CollectionStatus::Complete => CollectionState::Failed {
                reason: manifest_reason(entry),
            },
            Some(_) => CollectionState::Failed {
                reason: format!("{absent}, although manifest.json says it is complete"),
            },
            None => CollectionState::Missing { reason: absent },
        }));
    };
    if let Some(scope) = manifest_entry.as_ref().and_then(|e| e.scope.as_deref())
        && scope != PROVISIONING_ERRORS_SCOPE
    {
        return Ok(Loaded::from(CollectionState::Failed {
            reason: format!(
                "manifest.json says the collection holds only the objects of scope '{scope}', which this version does not know"
            ),
        }));
    }
    if let Some(entry) = &manifest_entry
        && entry.status != CollectionStatus::Complete
    {
        // Pages written before the failure are on disk, but a partial collection would make
        // rules report "passed" for objects that were never read.
        return Ok(Loaded::from(CollectionState::Failed {
            reason: manifest_reason(entry),
        }));
    }
    let (parsed, missing) = read_collection::<K>(&path, collection.required_properties())?;
    if !missing.is_empty() {
        return Ok(Loaded::from(CollectionState::Failed {
            reason: format!(
                "{} has no {} property on any object: Graph returns it only when asked with $select (export with $select={})",
                path.display(),
                missing.join(", "),
                collection.required_properties().join(",")
            ),
        }));
    }
    if let Some(next) = parsed.next_link {
        return Ok(Loaded::from(CollectionState::Failed {
            reason: format!(
                "{} holds one page only: it has @odata.nextLink ({next}); follow the link until there is none and save every page",
                path.display()
            ),
        }));
    }
    if let Some(expected) = manifest_entry.as_ref().and_then(|e| e.objects)
        && expected != parsed.objects.len() + parsed.rejected.len()
    {
        return Ok(Loaded::from(CollectionState::Failed {
            reason: format!(
                "manifest.json says {expected} objects but {} holds {}",
                path.display(),
                parsed.objects.len() + parsed.rejected.len()
            ),
        }));
    }
    let state = CollectionState::Loaded {
        file: path,
        objects: parsed.objects.len(),
        rejected: parsed.rejected.len(),
    };
    Ok(Loaded {
        state,
        objects: parsed.objects,
        rejected: parsed.rejected,
    })
}

/// The collection file's objects, and which of the `required` properties no object has (none
/// when there are no objects).
fn read_collection<K: Kept>(
    path: &Path,
    required: &'static [&'static str],
) -> Result<(Parsed<K>, Vec<&'static str>), SnapshotError> {
    let (parsed, found) = if path.extension().is_some_and(|e| e == "jsonl") {
        jsonl::read::<K>(path, required, jsonl::BLOCK)?
    } else {
        let bytes = read_bytes(path)?;
        let text = as_text(path, &bytes)?;
        let parsed = parse_envelope_collection::<K>(path, text)?;
        let found = required
            .iter()
            .map(|p| text.contains(&format!("\"{p}\"")))
            .collect();
        (parsed, found)
    };
    let missing = if parsed.objects.len() == 0 {
        Vec::new()
    } else {
        required
            .iter()
            .zip(found)
            .filter(|(_, found)| !found)
            .map(|(p, _)| *p)
            .collect()
    };
    Ok((parsed, missing))
}

fn manifest_reason(entry: &ManifestCollection) -> String {
    match &entry.error {
        Some(error) => format!(
            "collection {} per manifest.json: {error}",
            entry.status.as_str()
        ),
        None => format!("collection {} per manifest.json", entry.status.as_str()),
    }
}

fn collection_file(dir: &Path, collection: Collection) -> Option<PathBuf> {
    ["json", "jsonl"]
        .iter()
        .map(|ext| dir.join(format!("{}.{ext}", collection.file_stem())))
        .find(|p| p.is_file())
}

struct Parsed<K> {
    objects: K,
    rejected: Vec<RejectedRecord>,
    next_link: Option<String>,
}

/// `{"value":[...]}` (a Graph collection response) or a bare array (one object per line is
/// read a block at a time, by [`jsonl::read`]).
fn parse_envelope_collection<K: Kept>(path: &Path, text: &str) -> Result<Parsed<K>, SnapshotError> {
    let (records, next_link) = parse_envelope(path, text)?;
    let base = text.as_ptr() as usize;
    // Each record's line, for messages: one pass over the text, since the records come in text
    // order (counting from the start for every record was quadratic: 13 s for 12,000 users in
    // one 12 MB file).
    let mut line = 1;
    let mut counted_to = 0;
    let raws: Vec<Line<'_>> = records
        .into_iter()
        .map(|raw| {
            let offset = (raw.get().as_ptr() as usize - base).min(text.len());
            line += crate::inputs::lines::count_newlines(
                &text.as_bytes()[counted_to.min(offset)..offset],
            );
            counted_to = counted_to.max(offset);
            (line, offset, raw.get())
        })
        .collect();
    let mut first = FirstOfEachId::<K>::default();
    first.reserve(raws.len());
    let mut rejected = Vec::new();
    // Parsed on every core a chunk of records at a time and kept (or not) chunk by chunk: the
    // parsed records of the whole file and the objects kept from them were never both whole.
    for chunk in raws.chunks(PARSE_CHUNK) {
        let results: Vec<Result<K::Object, RejectedRecord>> = chunk
            .par_iter()
            .map(|&(line, _, raw)| parse_record::<K::Object>(path, line, raw))
            .collect();
        // The whole text is here: a first record's text is where it lies.
        let first_raw = |first: &Place| -> Result<Cow<'_, str>, SnapshotError> {
            let start = usize::try_from(first.offset).unwrap_or(usize::MAX);
            Ok(Cow::Borrowed(
                text.get(start..start.saturating_add(first.len))
                    .unwrap_or_default(),
            ))
        };
        first.keep_each(results, chunk, 0, first_raw, path, &mut rejected)?;
        first.objects.settle(path)?;
    }
    Ok(Parsed {
        objects: first.objects,
        rejected,
        next_link,
    })
}

/// How many records of a Graph response are parsed at a time.
const PARSE_CHUNK: usize = 1 << 16;

/// A record's line number, its offset in the text it was parsed from, and its text (without a
/// final `\r`).
type Line<'t> = (usize, usize, &'t str);

/// Where a record's text lies in the file, and its line.
struct Place {
    line: usize,
    offset: u64,
    len: usize,
}

/// The objects of a collection, the first of each id in file order. An id listed twice with
/// different data (a snapshot stitched from two runs, an edited file) keeps the first and
/// rejects the other, never both kept silently; an identical repeat is the same object.
struct FirstOfEachId<K> {
    objects: K,
    /// The hash of each kept object's id, its place in `objects` and in the file.
    places: hashbrown::HashTable<(u64, usize, Place)>,
    state: foldhash::fast::RandomState,
}

impl<K: Default> Default for FirstOfEachId<K> {
    fn default() -> Self {
        FirstOfEachId {
            objects: K::default(),
            places: hashbrown::HashTable::new(),
            state: foldhash::fast::RandomState::default(),
        }
    }
}

impl<K: Kept> FirstOfEachId<K> {
    /// Room for `more` objects and their ids, made once: the ids' table of a million users
    /// grown as it was filled was rehashed at every doubling, each time into fresh pages.
    /// `more` may be an estimate (the JSON-lines reader's, from its first block:
    /// [`expected_objects`](crate::inputs::blocks::expected_objects)): room that cannot be had
    /// is no error, the table then grows as it is filled.
    fn reserve(&mut self, more: usize) {
        self.objects.reserve(more);
        let _ = self.places.try_reserve(more, |(hash, _, _)| *hash);
    }

    /// Takes the records of `lines` (read from a text that starts at file offset `text_at`),
    /// in order, as `results` parsed them: each object is kept unless its id came before, and
    /// then dropped when its text is the first one's (`first_raw` gives that) or rejected when
    /// not; a record that did not parse is rejected as it is.
    fn keep_each<'t>(
        &mut self,
        results: Vec<Result<K::Object, RejectedRecord>>,
        lines: &[Line<'_>],
        text_at: u64,
        mut first_raw: impl FnMut(&Place) -> Result<Cow<'t, str>, SnapshotError>,
        path: &Path,
        rejected: &mut Vec<RejectedRecord>,
    ) -> Result<(), SnapshotError> {
        use std::hash::BuildHasher as _;
        for (result, &(line, offset, raw)) in results.into_iter().zip(lines) {
            let object = match result {
                Ok(object) => object,
                Err(record) => {
                    rejected.push(record);
                    continue;
                }
            };
            let id = object.id();
            let hash = self.state.hash_one(id.as_ref());
            let objects = &self.objects;
            if let Some((_, _, first)) = self
                .places
                .find(hash, |(h, at, _)| *h == hash && objects.id_at(*at) == id)
            {
                if first_raw(first)? != raw {
                    rejected.push(repeated_id(path, line, &id, first.line));
                }
                continue;
            }
            drop(id);
            let place = Place {
                line,
                offset: text_at + offset as u64,
                len: raw.len(),
            };
            let at = self.objects.len();
            self.places
                .insert_unique(hash, (hash, at, place), |(h, _, _)| *h);
            self.objects.push(object);
        }
        Ok(())
    }
}

/// Where the objects [`FirstOfEachId`] keeps go, as they are read: a `Vec` of them, or, for
/// the users, contacts and groups, their packed form ([`PackedAsRead`]).
trait Kept: Default + Send {
    /// What each record of the collection is parsed into.
    type Object: DeserializeOwned + HasId + Send;
    fn len(&self) -> usize;
    /// The id of the object kept `at`-th (the tie-breaker when two ids hash alike).
    fn id_at(&self, at: usize) -> Cow<'_, str>;
    fn push(&mut self, object: Self::Object);
    /// Room for `more` objects still to come (none is made by default).
    fn reserve(&mut self, _more: usize) {}
    /// Called after each block of records: packs what can be packed (`path`: for the error;
    /// nothing to do by default).
    fn settle(&mut self, _path: &Path) -> Result<(), SnapshotError> {
        Ok(())
    }
}

impl<T: DeserializeOwned + HasId + Send> Kept for Vec<T> {
    type Object = T;

    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn id_at(&self, at: usize) -> Cow<'_, str> {
        self[at].id()
    }

    fn push(&mut self, object: T) {
        Vec::push(self, object);
    }

    fn reserve(&mut self, more: usize) {
        let _ = self.try_reserve_exact(more);
    }
}

/// Users, contacts or groups packed as they are read: every whole wave of chunks is packed
/// once parsed ([`Kept::settle`]), so the parsed objects of a whole file are never held at
/// once. Parsed whole and packed after, a million users were 0.55 GiB of `DirectoryObject`s
/// beside the on-prem import's objects: the read phase's peak, up to 1,964 MiB, above the
/// 1,907 the benchmark holds the audit to (docs/performance.md). The chunks are those packing
/// the whole file gives: [`CHUNK`](crate::inputs::chunks::CHUNK) objects each, from the first.
#[derive(Default)]
struct PackedAsRead {
    packed: DirectoryObjects,
    /// Parsed, not packed yet: fewer than a wave of chunks.
    pending: Vec<DirectoryObject>,
}

impl PackedAsRead {
    /// The objects, all packed.
    fn finish(mut self) -> Result<DirectoryObjects, directory::TooLarge> {
        let rest = DirectoryObjects::pack(&self.pending)?;
        self.packed.append(rest);
        Ok(self.packed)
    }
}

// Nothing to make room for (the default `reserve`): the packed chunks are sized as they are made,
// and `pending` holds less than a wave of chunks and one block's objects.
impl Kept for PackedAsRead {
    type Object = DirectoryObject;

    fn len(&self) -> usize {
        self.packed.len() + self.pending.len()
    }

    fn id_at(&self, at: usize) -> Cow<'_, str> {
        match at.checked_sub(self.packed.len()) {
            Some(pending) => Cow::Borrowed(&self.pending[pending].id),
            None => Cow::Borrowed(self.packed.get(at).map(ObjectRef::id).unwrap_or_default()),
        }
    }

    fn push(&mut self, object: DirectoryObject) {
        self.pending.push(object);
    }

    fn settle(&mut self, path: &Path) -> Result<(), SnapshotError> {
        use crate::inputs::chunks::{CHUNK, wave};
        if self.pending.len() < wave() {
            return Ok(());
        }
        let whole = self.pending.len() / CHUNK * CHUNK;
        let packed =
            DirectoryObjects::pack(&self.pending[..whole]).map_err(|e| SnapshotError::Invalid {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        self.packed.append(packed);
        self.pending.drain(..whole);
        Ok(())
    }
}

/// The rejection of a record whose id came before with different data.
fn repeated_id(path: &Path, line: usize, id: &str, first_line: usize) -> RejectedRecord {
    RejectedRecord {
        file: path.to_owned(),
        line,
        record: crate::preview::preview(id),
        reason: format!(
            "id {} is listed again with different data (first on line {first_line}, which is \
             kept)",
            crate::preview::quoted(id)
        ),
    }
}

type Envelope<'a> = (Vec<&'a RawValue>, Option<String>);

fn parse_envelope<'a>(path: &Path, text: &'a str) -> Result<Envelope<'a>, SnapshotError> {
    #[derive(Deserialize)]
    struct GraphPage<'a> {
        #[serde(borrow)]
        value: Option<Vec<&'a RawValue>>,
        #[serde(rename = "@odata.nextLink")]
        next_link: Option<String>,
    }
    let invalid = |e: serde_json::Error| SnapshotError::Invalid {
        path: path.to_owned(),
        message: format!(
            "line {} column {}: not valid JSON: {e}",
            e.line(),
            e.column()
        ),
    };
    let first = text.trim_start().chars().next();
    match first {
        Some('[') => Ok((serde_json::from_str(text).map_err(invalid)?, None)),
        Some('{') => {
            let page: GraphPage<'a> = serde_json::from_str(text).map_err(invalid)?;
            match page.value {
                Some(value) => Ok((value, page.next_link)),
                // A single object (e.g. GET /organization/{id}) stands for a one-item collection.
                None => Ok((vec![serde_json::from_str(text).map_err(invalid)?], None)),
            }
        }
        _ => Err(SnapshotError::Invalid {
            path: path.to_owned(),
            message: "expected a Graph collection response ({\"value\": [...]}), a JSON array, or one JSON object per line in a .jsonl file".to_owned(),
        }),
    }
}

fn parse_record<T: DeserializeOwned + HasId>(
    path: &Path,
    line: usize,
    raw: &str,
) -> Result<T, RejectedRecord> {
    let reject = |record: String, reason: String| RejectedRecord {
        file: path.to_owned(),
        line,
        record,
        reason,
    };
    match serde_json::from_str::<T>(raw) {
        Ok(object) if object.id().is_empty() => {
            Err(reject(String::new(), "object has no id".to_owned()))
        }
        Ok(object) => Ok(object),
        Err(e) => {
            // Name the object when its id is readable, so the admin can look it up.
            let id = serde_json::from_str::<IdOnly>(raw)
                .map(|o| o.id)
                .unwrap_or_default();
            Err(reject(id, format!("not a valid Graph object: {e}")))
        }
    }
}

#[derive(Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: String,
}

/// Graph writes "" for unset times in some resources, and `0001-01-01T00:00:00Z` (year 1) for
/// "never".
fn graph_time(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (t.year() > 1).then_some(t)
}

/// A time as Graph writes it: null, "" or `0001-01-01T00:00:00Z` are none ([`graph_time`]);
/// anything else that is not RFC 3339 is an error naming the text. The text is read where it
/// lies, never copied: a snapshot of a million users holds two million times.
fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct GraphTime;
    impl<'de> serde::de::Visitor<'de> for GraphTime {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            match DateTime::parse_from_rfc3339(text) {
                Ok(time) => Ok(graph_time(time.with_timezone(&Utc))),
                Err(e) => Err(E::custom(format!("'{text}' is not an ISO 8601 time: {e}"))),
            }
        }
    }
    d.deserialize_option(GraphTime)
}

// "Absent" (v1.0 organization) and "null" (beta: never synced a password) mean different things here.
#[allow(clippy::option_option)]
fn present_lenient_time<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<DateTime<Utc>>>, D::Error> {
    lenient_time(d).map(Some)
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.filter(|s| !s.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_times_are_read_leniently_and_a_bad_one_is_named() {
        #[derive(Deserialize)]
        struct Timed {
            #[serde(default, deserialize_with = "lenient_time")]
            at: Option<DateTime<Utc>>,
        }
        let at = |json: &str| serde_json::from_str::<Timed>(json).map(|t| t.at);
        assert_eq!(
            at(r#"{"at": " 2026-12-06T18:20:31Z "}"#).unwrap(),
            Some("2026-12-06T18:20:31Z".parse().unwrap())
        );
        // An escaped string is read as well as a plain one.
        assert_eq!(
            at(r#"{"at": "2026-12-06T18:20:31\u002B01:00"}"#).unwrap(),
            Some("2026-12-06T17:20:31Z".parse().unwrap())
        );
        for none in [
            r#"{"at": null}"#,
            r#"{"at": ""}"#,
            r#"{"at": "0001-01-01T00:00:00Z"}"#,
            "{}",
        ] {
            assert_eq!(at(none).unwrap(), None, "{none}");
        }
        let bad = at(r#"{"at": "yesterday"}"#).unwrap_err().to_string();
        assert!(
            bad.starts_with("'yesterday' is not an ISO 8601 time"),
            "{bad}"
        );
        let number = at(r#"{"at": 5}"#).unwrap_err().to_string();
        assert!(number.contains("expected a string"), "{number}");
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    const USER: &str = r#"{"id":"u1","userPrincipalName":"a@contoso.com","proxyAddresses":["SMTP:a@contoso.com"],
        "onPremisesImmutableId":null,"onPremisesSyncEnabled":null,"onPremisesProvisioningErrors":[],
        "onPremisesLastSyncDateTime":""}"#;

    #[test]
    fn reads_graph_envelope_and_jsonl_and_marks_missing() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "users.json", &format!("{{\"value\":[{USER}]}}"));
        write(
            dir.path(),
            "contacts.jsonl",
            "{\"id\":\"c1\",\"proxyAddresses\":null,\"onPremisesSyncEnabled\":false,\"onPremisesProvisioningErrors\":[{\"category\":\"PropertyConflict\",\"propertyCausingError\":\"ProxyAddresses\",\"value\":\"SMTP:x@y.com\",\"occurredDateTime\":\"2022-06-27T10:29:29.0922053Z\"}]}\n",
        );
        let snap = load(dir.path()).unwrap();
        assert_eq!(snap.users.len(), 1);
        let user = snap.users.iter().next().expect("one user");
        assert_eq!(user.on_premises_last_sync_date_time(), None);
        let contact = snap.contacts.iter().next().expect("one contact");
        assert_eq!(contact.on_premises_sync_enabled(), Some(false));
        assert_eq!(contact.proxy_addresses().len(), 0);
        let err = &contact.on_premises_provisioning_errors()[0];
        assert_eq!(
            err.property_causing_error.as_deref(),
            Some("ProxyAddresses")
        );
        assert!(err.occurred_date_time.is_some());
        assert!(matches!(
            snap.state(Collection::Groups),
            CollectionState::Missing { .. }
        ));
        assert!(snap.state(Collection::Users).is_loaded());
    }

    #[test]
    fn users_without_sync_properties_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        // The default property set of GET /users (fixtures/graph-samples/users-list.response.json).
        write(
            dir.path(),
            "users.json",
            r#"{"value":[{"id":"u1","displayName":"A","userPrincipalName":"a@contoso.com","mail":null}]}"#,
        );
        let snap = load(dir.path()).unwrap();
        let CollectionState::Failed { reason } = snap.state(Collection::Users) else {
            panic!("expected failed, got {:?}", snap.state(Collection::Users));
        };
        assert!(reason.contains("onPremisesImmutableId"), "{reason}");
        assert!(reason.contains("$select"), "{reason}");
    }

    #[test]
    fn a_single_page_with_next_link_is_not_taken_for_the_whole_collection() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "users.json",
            &format!(
                "{{\"value\":[{USER}],\"@odata.nextLink\":\"https://graph.microsoft.com/v1.0/users?$skiptoken=X\"}}"
            ),
        );
        let snap = load(dir.path()).unwrap();
        assert!(
            matches!(snap.state(Collection::Users), CollectionState::Failed { reason } if reason.contains("one page only"))
        );
    }

    #[test]
    fn an_interrupted_collection_is_refused_not_read_as_a_mix() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "users.json", &format!("{{\"value\":[{USER}]}}"));
        write(dir.path(), COLLECTING_MARKER, "pid 1\n");
        let error = load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("did not finish"), "{error}");
        assert!(error.contains(&dir.path().display().to_string()), "{error}");
    }

    #[test]
    fn manifest_failure_and_count_mismatch_make_the_collection_unusable() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "users.json", &format!("{{\"value\":[{USER}]}}"));
        write(dir.path(), "groups.json", r#"{"value":[]}"#);
        write(
            dir.path(),
            "manifest.json",
            r#"{"tenant_id":"t1","collected_at":"2026-11-01T00:00:00Z","collections":{
                "users":{"status":"complete","objects":2},
                "groups":{"status":"forbidden","error":"403 Authorization_RequestDenied"}}}"#,
        );
        let snap = load(dir.path()).unwrap();
        assert!(
            matches!(snap.state(Collection::Users), CollectionState::Failed { reason } if reason.contains("says 2 objects"))
        );
        assert!(
            matches!(snap.state(Collection::Groups), CollectionState::Failed { reason } if reason.contains("403"))
        );
        assert_eq!(snap.tenant_id().as_deref(), Some("t1"));
    }

    #[test]
    fn a_scoped_collection_loads_and_says_its_scope() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "users.json", &format!("{{\"value\":[{USER}]}}"));
        write(dir.path(), "groups.json", r#"{"value":[]}"#);
        write(
            dir.path(),
            "manifest.json",
            r#"{"collections":{
                "users":{"status":"complete","objects":1,"scope":"provisioning-errors"},
                "groups":{"status":"complete","objects":0,"scope":"future-scope"}}}"#,
        );
        let snap = load(dir.path()).unwrap();
        assert!(snap.state(Collection::Users).is_loaded());
        assert_eq!(
            snap.scope(Collection::Users),
            Some(PROVISIONING_ERRORS_SCOPE)
        );
        assert!(
            matches!(snap.state(Collection::Groups), CollectionState::Failed { reason } if reason.contains("future-scope"))
        );
        assert_eq!(snap.scope(Collection::Groups), None);
        assert_eq!(snap.scope(Collection::Contacts), None);
    }

    #[test]
    fn an_id_listed_twice_with_different_data_is_rejected_not_kept_silently() {
        let dir = tempfile::tempdir().unwrap();
        let other = format!("{{\"extra\":1,{}", &USER.trim_start()[1..]);
        write(
            dir.path(),
            "users.json",
            &format!("{{\"value\":[\n{USER},\n{USER},\n{other}\n]}}"),
        );
        let snap = load(dir.path()).unwrap();
        assert_eq!(
            snap.users.len(),
            1,
            "an identical repeat is the same object"
        );
        assert_eq!(snap.rejected.len(), 1, "{:?}", snap.rejected);
        assert!(
            snap.rejected[0]
                .reason
                .contains("listed again with different data (first on line 2"),
            "{:?}",
            snap.rejected[0]
        );
    }

    /// Users packed as they are read are the users packed after reading them all: the same
    /// objects in the same chunks, and an id repeated after its first was packed is still
    /// told apart (an identical repeat dropped, a different one rejected with both lines).
    #[test]
    fn users_packed_as_read_are_those_packed_after_reading_all() {
        use crate::inputs::chunks::CHUNK;
        let dir = tempfile::tempdir().unwrap();
        // More than a wave of chunks (packed mid-file) and a partial chunk after it.
        let count = crate::inputs::chunks::wave() + CHUNK + 10;
        let line = |i: usize, upn: &str| {
            format!(r#"{{"id":"u{i}","onPremisesSyncEnabled":true,"userPrincipalName":"{upn}"}}"#)
        };
        let mut text: String = (0..count)
            .map(|i| line(i, &format!("user{i}@contoso.com")) + "\n")
            .collect();
        text.push_str(&(line(0, "user0@contoso.com") + "\n"));
        text.push_str(&(line(1, "someone.else@contoso.com") + "\n"));
        write(dir.path(), "users.jsonl", &text);
        let path = dir.path().join("users.jsonl");
        // Blocks of 64 KiB: the file's first chunks are packed before its last lines are read.
        let (as_read, _) = jsonl::read::<PackedAsRead>(&path, &[], 1 << 16).unwrap();
        let (all, _) = read_collection::<Vec<DirectoryObject>>(&path, &[]).unwrap();
        assert_eq!(as_read.objects.len(), count);
        assert_eq!(all.objects.len(), count);
        let rejected = |parsed: &[RejectedRecord]| -> Vec<(usize, String)> {
            parsed.iter().map(|r| (r.line, r.reason.clone())).collect()
        };
        assert_eq!(rejected(&as_read.rejected), rejected(&all.rejected));
        assert_eq!(as_read.rejected.len(), 1, "{:?}", as_read.rejected);
        assert_eq!(as_read.rejected[0].line, count + 2);
        assert!(
            as_read.rejected[0].reason.contains("first on line 2"),
            "{:?}",
            as_read.rejected[0]
        );
        let as_read = as_read.objects.finish().unwrap();
        let all = DirectoryObjects::pack(&all.objects).unwrap();
        assert_eq!(as_read.get(1).map(ObjectRef::id), Some("u1"));
        assert_eq!(
            as_read.get(count - 1).map(ObjectRef::id),
            Some(format!("u{}", count - 1).as_str())
        );
        assert!(as_read.get(count).is_none());
        let objects = |d: &DirectoryObjects| -> Vec<(String, Option<String>)> {
            d.iter()
                .map(|o| {
                    (
                        o.id().to_owned(),
                        o.user_principal_name().map(str::to_owned),
                    )
                })
                .collect()
        };
        assert_eq!(objects(&as_read), objects(&all));
        let chunk_lens = |d: DirectoryObjects| -> Vec<usize> {
            d.into_chunks()
                .iter()
                .map(directory::DirectoryChunk::len)
                .collect()
        };
        assert_eq!(chunk_lens(as_read), chunk_lens(all));
    }

    /// onPremisesSyncBehavior is read for users and groups: a record of another type is
    /// rejected by its id and line, the others kept with their type.
    #[test]
    fn a_sync_behavior_of_another_object_type_is_rejected_by_id() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "onPremisesSyncBehavior.jsonl",
            "{\"id\":\"u1\",\"objectType\":\"user\",\"isCloudManaged\":true}\n\
             {\"id\":\"d1\",\"objectType\":\"device\",\"isCloudManaged\":false}\n\
             {\"id\":\"g1\",\"objectType\":\"group\",\"isCloudManaged\":null,\"notRead\":\"over the cap\"}\n",
        );
        let snap = load(dir.path()).unwrap();
        let kept: Vec<(&str, Option<SyncBehaviorObject>)> = snap
            .sync_behaviors
            .iter()
            .map(|b| (b.id.as_str(), b.object_type))
            .collect();
        assert_eq!(
            kept,
            [
                ("u1", Some(SyncBehaviorObject::User)),
                ("g1", Some(SyncBehaviorObject::Group))
            ]
        );
        assert_eq!(snap.rejected.len(), 1, "{:?}", snap.rejected);
        assert_eq!(
            (snap.rejected[0].record.as_str(), snap.rejected[0].line),
            ("d1", 2)
        );
        assert!(
            snap.rejected[0].reason.contains("device"),
            "{:?}",
            snap.rejected[0]
        );
    }

    #[test]
    fn bad_records_are_rejected_with_line_and_id_not_dropped() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "users.json",
            &format!(
                "{{\"value\":[\n{USER},\n{{\"id\":\"u2\",\"proxyAddresses\":\"not-a-list\"}},\n\n{{\"id\":\"u3\",\"proxyAddresses\":7}}\n]}}"
            ),
        );
        let snap = load(dir.path()).unwrap();
        assert_eq!(snap.users.len(), 1);
        assert_eq!(snap.rejected.len(), 2);
        assert_eq!(snap.rejected[0].record, "u2");
        // USER spans lines 2-4, so the second record starts on line 5, the third (after a
        // blank line) on line 7: lines are counted once, from record to record.
        assert_eq!(snap.rejected[0].line, 5);
        assert_eq!(
            (snap.rejected[1].record.as_str(), snap.rejected[1].line),
            ("u3", 7)
        );
        assert!(matches!(
            snap.state(Collection::Users),
            CollectionState::Loaded { rejected: 2, .. }
        ));
    }

    #[test]
    fn broken_json_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "domains.json", "{\"value\":[\n{\"id\": }\n]}");
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("domains.json") && err.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn quarantine_with_empty_strings_parses() {
        let job: SyncJob = serde_json::from_str(
            r#"{"id":"j","status":{"code":"Quarantine","quarantine":{"currentBegan":"","nextAttempt":"","reason":"","seriesBegan":"","seriesCount":0}}}"#,
        )
        .unwrap();
        let q = job.status.unwrap().quarantine.unwrap();
        assert_eq!(q.reason, None);
        assert_eq!(q.current_began, None);
    }

    #[test]
    fn reads_the_documented_cloud_sync_job_sample() {
        let text =
            include_str!("../../fixtures/graph-samples/cloudsync-AD2AADProvisioning-job.json");
        let job: SyncJob = serde_json::from_str(text).unwrap();
        assert_eq!(job.setting("DomainFQDN"), Some("contoso.com"));
        let status = job.status.unwrap();
        assert_eq!(status.code.as_deref(), Some("Active"));
        // "0001-01-01T00:00:00Z" means never.
        assert_eq!(status.last_successful_execution.unwrap().time_began, None);
    }

    /// Properties Graph's metadata declares nullable are read as optional: one null setting
    /// value or verified-domain name must not reject the whole job or organization.
    #[test]
    fn nullable_properties_do_not_reject_the_object() {
        let job: SyncJob = serde_json::from_str(
            r#"{"id":"j","synchronizationJobSettings":[{"name":"Other","value":null},{"name":"DomainFQDN","value":"contoso.com"}]}"#,
        )
        .unwrap();
        assert_eq!(job.setting("Other"), None);
        assert_eq!(job.setting("DomainFQDN"), Some("contoso.com"));
        let org: Organization = serde_json::from_str(
            r#"{"id":"t","verifiedDomains":[{"name":null,"isDefault":false},{"name":"contoso.com","isDefault":true}]}"#,
        )
        .unwrap();
        assert_eq!(org.verified_domains.len(), 2);
        assert_eq!(org.verified_domains[1].name.as_deref(), Some("contoso.com"));
    }
}
