//! The simulated tenant's state: Graph resources as typed records that serialise to exactly the
//! JSON Graph returns (`camelCase` names, `null` for unset properties, `PascalCase` enum values), plus
//! the on-prem side and the ground truth the generator planted.
//!
//! This is the contract between the generator (which fills it) and the server (which serves and
//! mutates it). It must not contain HTTP or `OData` logic, and it shares no code with the Graph
//! client: the simulator is the independent twin the client is tested against.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A whole tenant: cloud side, on-prem side, and what was planted.
#[derive(Debug, Clone, Default)]
pub struct SimTenant {
    pub tenant_id: String,
    /// `contoso.onmicrosoft.com`-style initial domain.
    pub initial_domain: String,
    pub organization: Organization,
    pub domains: Vec<Domain>,
    pub users: Vec<User>,
    pub contacts: Vec<OrgContact>,
    pub groups: Vec<Group>,
    pub directory_roles: Vec<DirectoryRole>,
    pub service_principals: Vec<ServicePrincipal>,
    /// Synchronization jobs, each under its service principal (`service_principal_id`).
    pub sync_jobs: Vec<SyncJob>,
    pub directory_synchronization: DirectorySynchronization,
    /// Ids of the users and groups converted to cloud management: their onPremisesSyncBehavior
    /// says `isCloudManaged` true (every other user and group says false).
    pub cloud_managed: std::collections::BTreeSet<String>,
    /// The matching on-prem export (written as LDIF, CSV and JSON by the generator).
    pub onprem: Vec<OnPremRecord>,
    pub ground_truth: Vec<PlantedProblem>,
    /// Every planting case the generator ran, in order: what it made and what it implies (the
    /// ground truth's rows again, grouped by the case that planted them).
    pub planted_cases: Vec<PlantedCase>,
}

/// `GET /users` record. Properties Graph returns only with `$select` are here too; the server
/// decides what a request sees.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_field_names,
    reason = "the fields are Graph's property names"
)]
pub struct User {
    pub id: String,
    pub business_phones: Vec<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub job_title: Option<String>,
    pub mail: Option<String>,
    pub mobile_phone: Option<String>,
    pub office_location: Option<String>,
    pub preferred_language: Option<String>,
    pub user_principal_name: String,
    pub mail_nickname: Option<String>,
    pub proxy_addresses: Vec<String>,
    pub account_enabled: Option<bool>,
    pub user_type: Option<String>,
    pub created_date_time: Option<String>,
    pub on_premises_immutable_id: Option<String>,
    pub on_premises_sync_enabled: Option<bool>,
    pub on_premises_last_sync_date_time: Option<String>,
    pub on_premises_distinguished_name: Option<String>,
    pub on_premises_sam_account_name: Option<String>,
    pub on_premises_domain_name: Option<String>,
    pub on_premises_security_identifier: Option<String>,
    pub on_premises_user_principal_name: Option<String>,
    pub on_premises_provisioning_errors: Vec<ProvisioningError>,
}

impl User {
    /// What `GET /users` returns without `$select`
    /// (<https://learn.microsoft.com/graph/api/user-list>).
    pub const DEFAULT_PROPERTIES: [&'static str; 11] = [
        "businessPhones",
        "displayName",
        "givenName",
        "id",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
    ];
}

/// `GET /contacts` record (orgContact).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgContact {
    pub id: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub mail_nickname: Option<String>,
    pub proxy_addresses: Vec<String>,
    pub on_premises_sync_enabled: Option<bool>,
    pub on_premises_last_sync_date_time: Option<String>,
    pub on_premises_provisioning_errors: Vec<ProvisioningError>,
}

/// `GET /groups` record.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_field_names,
    reason = "the fields are Graph's property names"
)]
pub struct Group {
    /// Members with their `@odata.type`, served as `/groups/{id}/transitiveMembers` (a
    /// role-assignable group cannot hold groups, so its members are its transitive members).
    #[serde(skip)]
    pub members: Vec<(String, String)>,
    pub id: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub mail: Option<String>,
    pub mail_enabled: bool,
    pub mail_nickname: Option<String>,
    pub security_enabled: bool,
    pub group_types: Vec<String>,
    pub proxy_addresses: Vec<String>,
    pub created_date_time: Option<String>,
    pub on_premises_sync_enabled: Option<bool>,
    pub on_premises_last_sync_date_time: Option<String>,
    pub on_premises_sam_account_name: Option<String>,
    pub on_premises_domain_name: Option<String>,
    pub on_premises_net_bios_name: Option<String>,
    pub on_premises_security_identifier: Option<String>,
    pub on_premises_provisioning_errors: Vec<ProvisioningError>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningError {
    pub category: String,
    pub occurred_date_time: String,
    /// `UserPrincipalName` or `ProxyAddress` (the docs), `ProxyAddresses` (seen in real responses).
    pub property_causing_error: String,
    pub value: String,
}

/// The beta organization resource (a superset of v1.0; the server drops beta-only properties on
/// `/v1.0`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub display_name: String,
    pub on_premises_sync_enabled: Option<bool>,
    pub on_premises_last_sync_date_time: Option<String>,
    /// Beta only.
    pub on_premises_last_password_sync_date_time: Option<String>,
    pub verified_domains: Vec<VerifiedDomain>,
}

impl Organization {
    pub const BETA_ONLY_PROPERTIES: [&'static str; 1] = ["onPremisesLastPasswordSyncDateTime"];
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDomain {
    pub capabilities: String,
    pub is_default: bool,
    pub is_initial: bool,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// The flags mirror Graph's `domain` resource one for one, hence the bools.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_excessive_bools)]
pub struct Domain {
    pub id: String,
    pub authentication_type: String,
    pub is_admin_managed: bool,
    pub is_default: bool,
    pub is_initial: bool,
    pub is_root: bool,
    pub is_verified: bool,
    pub supported_services: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryRole {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub role_template_id: String,
    /// Member object ids with their `@odata.type` (`#microsoft.graph.user`, ...).
    #[serde(skip)]
    pub members: Vec<(String, String)>,
    /// Principals eligible for the role (PIM), served as roleEligibilitySchedules.
    #[serde(skip)]
    pub eligible: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_field_names,
    reason = "the fields are Graph's property names"
)]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub app_display_name: Option<String>,
    pub application_template_id: Option<String>,
    pub display_name: String,
    /// Beta only (Graph's v1.0 servicePrincipal has no publisherName).
    pub publisher_name: Option<String>,
    pub service_principal_names: Vec<String>,
    pub tags: Vec<String>,
}

impl ServicePrincipal {
    pub const BETA_ONLY_PROPERTIES: [&'static str; 1] = ["publisherName"];
}

/// A synchronization job and its mutable status (start / pause / restart change it).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncJob {
    pub id: String,
    pub template_id: String,
    pub schedule: SyncSchedule,
    pub status: SyncStatus,
    pub synchronization_job_settings: Vec<KeyValue>,
    /// The parent service principal (not part of the Graph resource).
    #[serde(skip)]
    pub service_principal_id: String,
    /// The OUs the job's schema scopes it to (`synchronizationRule.containerFilter`, served at
    /// `.../jobs/{id}/schema`, not part of the job resource); empty: the whole domain.
    #[serde(skip)]
    pub included_containers: Vec<String>,
    /// An attribute scoping filter on the job's user mapping (`objectMappings[].scope`, served
    /// in the schema): each (attribute, value) is one `EQUALS` clause of one filter group.
    #[serde(skip)]
    pub user_scoping_clauses: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncSchedule {
    pub expiration: Option<String>,
    /// ISO 8601 duration, e.g. `PT2M`.
    pub interval: String,
    /// `Active`, `Disabled` or `Paused`.
    pub state: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// `NotConfigured`, `NotRun`, `Active`, `Paused` or `Quarantine`.
    pub code: String,
    pub count_successive_complete_failures: i64,
    pub escrows_pruned: bool,
    pub last_execution: Option<TaskExecution>,
    pub last_successful_execution: Option<TaskExecution>,
    pub last_successful_execution_with_exports: Option<TaskExecution>,
    pub progress: Vec<serde_json::Value>,
    pub quarantine: Option<Quarantine>,
    pub steady_state_first_achieved_time: String,
    pub steady_state_last_achieved_time: String,
    pub synchronized_entry_count_by_type: Vec<KeyLongValue>,
    pub troubleshooting_url: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskExecution {
    pub activity_identifier: Option<String>,
    pub count_entitled: i64,
    pub count_entitled_for_provisioning: i64,
    pub count_escrowed: i64,
    pub count_escrowed_raw: i64,
    pub count_exported: i64,
    pub count_exports: i64,
    pub count_imported: i64,
    pub count_imported_deltas: i64,
    pub count_imported_reference_deltas: i64,
    pub error: Option<SyncError>,
    /// `Succeeded`, `Failed` or `EntryLevelErrors`.
    pub state: String,
    pub time_began: String,
    pub time_ended: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quarantine {
    pub current_began: String,
    pub next_attempt: String,
    /// A `quarantineReason` member, e.g. `TooManyDeletes`.
    pub reason: String,
    pub series_began: String,
    pub series_count: i64,
    pub error: Option<SyncError>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncError {
    pub code: String,
    pub message: String,
    pub tenant_actionable: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyLongValue {
    pub key: String,
    pub value: i64,
}

/// `onPremisesDirectorySynchronization` (served to delegated tokens only, as Graph does).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectorySynchronization {
    pub id: String,
    pub configuration: serde_json::Value,
    pub features: serde_json::Value,
}

/// One on-prem AD object as the generator writes it to LDIF, CSV and JSON.
#[derive(Debug, Clone, Default)]
pub struct OnPremRecord {
    /// `user`, `contact`, `group`, or another class (`computer`, ...) the importer must skip.
    pub object_class: String,
    /// objectGUID bytes in `Guid.ToByteArray()` order.
    pub object_guid: [u8; 16],
    pub consistency_guid: Option<[u8; 16]>,
    pub object_sid: Option<String>,
    pub distinguished_name: String,
    pub user_principal_name: Option<String>,
    pub sam_account_name: Option<String>,
    pub mail: Option<String>,
    pub mail_nickname: Option<String>,
    pub proxy_addresses: Vec<String>,
    pub display_name: Option<String>,
    pub user_account_control: Option<u32>,
    /// targetAddress (mail users and contacts that forward elsewhere).
    pub target_address: Option<String>,
    /// How many userCertificate values the object holds (LDIF writes that many values, CSV
    /// and JSON the count, as the export script does).
    pub certificate_count: u32,
    // The rest is what an export shows besides the sync attributes (LDIF writes them all, CSV
    // some). The vocabulary fields are `Cow` so that half a million records share the generator's
    // static names instead of holding a copy each.
    pub given_name: Option<Cow<'static, str>>,
    pub surname: Option<Cow<'static, str>>,
    pub title: Option<Cow<'static, str>>,
    pub department: Option<Cow<'static, str>>,
    pub company: Option<Cow<'static, str>>,
    /// whenCreated.
    pub when_created: Option<DateTime<Utc>>,
    /// groupType (groups): `-2147483646` security, `8` distribution, `-2147483640` mail-enabled
    /// security.
    pub group_type: Option<i32>,
    /// dNSHostName (computers).
    pub dns_host_name: Option<String>,
    /// isCriticalSystemObject TRUE (AD's built-in accounts and groups).
    pub critical_system_object: bool,
    /// adminDescription (`Group_...` on groups written back from the cloud).
    pub admin_description: Option<String>,
}

/// One planting case as it ran: its kind, the objects it made on each side and the findings
/// they imply (for people reading `planted.json`; the audit is checked against the ground truth).
#[derive(Debug, Clone, Default)]
pub struct PlantedCase {
    /// The case kind (`pe_no_holder_user`, `dirsync-stale`, ...).
    pub case: String,
    /// objectGUIDs of the on-prem objects it made, in `Guid.ToByteArray()` order.
    pub onprem: Vec<[u8; 16]>,
    /// Ids of the cloud objects it made.
    pub cloud: Vec<String>,
    /// The findings it implies (notes without the case prefix).
    pub expected: Vec<PlantedProblem>,
}

/// A problem the generator planted: what `check` must find, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlantedProblem {
    pub rule: String,
    pub cloud_object_id: Option<String>,
    /// Lower-case 8-4-4-4-12.
    pub onprem_object_guid: Option<String>,
    /// Why it was planted (for people reading the ground truth).
    pub note: String,
}
