//! The tables that come from the cloud snapshot (objects, provisioning errors, domains,
//! organization, password sync, Cloud Sync jobs, role holders, the tenant's matching switches;
//! `cloud_addresses` is in `addresses`), each declared once with `table!`, and the rows each
//! is built from. A table whose collections are unusable is registered as unavailable.

use polars::prelude::*;
use rayon::prelude::*;

use super::addresses::{
    CLOUD_ADDRESSES, Derived, address_frame, address_rows, addresses, primary_smtp,
};
use super::computed::Computation;
use super::{
    ADDRESS_KINDS, ColumnSpec, ColumnType, ERRORS_ONLY_REASON, FrameBuilder, OBJECT_TYPES, Params,
    Partial, SharedText, TableSpec, Tables, count, lower, stack_in_order,
};
use crate::inputs::snapshot::{
    ChunkRows, CloudSnapshot, Collection, DirectoryChunk, DirectoryObjects,
    DirectorySynchronization, ObjectRef, Organization, PROVISIONING_ERRORS_SCOPE,
    ProvisioningError, Quarantine, SyncBehavior, SyncBehaviorObject, SyncJob, SyncStatus,
    TaskExecution,
};

/// One row of `cloud_objects`: the object (read from its chunk's text, which the table takes
/// over), its type and what was derived from it once.
struct CloudRow<'a> {
    /// The object's row number in `cloud_objects`, which `cloud_addresses` names it by.
    row: usize,
    object: ObjectRef<'a>,
    object_type: &'static str,
    derived: &'a Derived<'a>,
}

/// The words of `cloud_objects.sync_state`, from the tri-state `onPremisesSyncEnabled`.
const SYNC_STATES: &[&str] = &["cloud_only", "formerly_synced", "synced"];

table! {
    pub(crate) const CLOUD_OBJECTS = "cloud_objects", "Every Entra user, contact (orgContact) and group of the snapshot.";
    fn cloud_objects_frame(&[CloudRow<'_>], text: Option<&SharedText>) |r| shares text {
        "id": Str = "object id" => Some(r.derived.id),
        "object_row": Int = "the object's row number (from 0): what cloud_addresses names it by (join on it: see docs/rules.md)" => Some(count(r.row)),
        "object_type": Word(OBJECT_TYPES) = "user, contact or group" => Some(r.object_type),
        "display_name": Str = "displayName" => r.object.display_name(),
        "user_principal_name": Str = "userPrincipalName" => r.object.user_principal_name(),
        "upn_lower": Str = "userPrincipalName, lower case" => lower(r.object.user_principal_name()),
        "mail": Str = "mail" => r.object.mail(),
        "mail_nickname": Str = "mailNickname" => r.object.mail_nickname(),
        "primary_smtp": Str = "the SMTP: proxy address (else mail), lower case, no prefix" => primary_smtp(&r.derived.addresses),
        "mail_enabled": Bool = "groups: mailEnabled; users and contacts: has mail or an SMTP address" => Some(if r.object_type == "group" {
            r.object.mail_enabled().unwrap_or(false)
        } else {
            primary_smtp(&r.derived.addresses).is_some()
        }),
        "security_enabled": Bool = "groups: securityEnabled" => r.object.security_enabled(),
        "immutable_id": Str = "onPremisesImmutableId (users)" => r.object.on_premises_immutable_id().filter(|s| !s.is_empty()),
        "sync_enabled": Bool = "onPremisesSyncEnabled: true synced, false formerly synced, null never" => r.object.on_premises_sync_enabled(),
        "sync_state": Word(SYNC_STATES) = "synced, formerly_synced or cloud_only (from sync_enabled)" => Some(match r.object.on_premises_sync_enabled() {
            Some(true) => "synced",
            Some(false) => "formerly_synced",
            None => "cloud_only",
        }),
        "last_sync_time": Time = "onPremisesLastSyncDateTime" => r.object.on_premises_last_sync_date_time(),
        "onprem_distinguished_name": Str = "onPremisesDistinguishedName" => r.object.on_premises_distinguished_name(),
        "onprem_sam_account_name": Str = "onPremisesSamAccountName" => r.object.on_premises_sam_account_name(),
        "onprem_domain_name": Str = "onPremisesDomainName, lower case" => lower(r.object.on_premises_domain_name()),
        "onprem_security_identifier": Str = "onPremisesSecurityIdentifier" => r.object.on_premises_security_identifier(),
        "onprem_user_principal_name": Str = "onPremisesUserPrincipalName" => r.object.on_premises_user_principal_name(),
        "created_time": Time = "createdDateTime" => r.object.created_date_time(),
        "account_enabled": Bool = "accountEnabled (users)" => r.object.account_enabled(),
        "user_type": Str = "Member or Guest (users)" => r.object.user_type(),
    }
    computed when read {
        "upn_suffix": Str = "domain part of the UPN, lower case" => UpnSuffix("user_principal_name"),
    }
}

/// One row of `provisioning_errors`: an error and the object carrying it.
struct ErrorRow<'a> {
    /// The object's row number in `cloud_objects`.
    object_row: usize,
    object: ObjectRef<'a>,
    object_type: &'static str,
    error: &'a ProvisioningError,
}

table! {
    pub(crate) const PROVISIONING_ERRORS = "provisioning_errors", "Every onPremisesProvisioningErrors entry of users, contacts and groups.";
    fn provisioning_errors_frame(&[ErrorRow<'_>], text: Option<&SharedText>) |r| shares text {
        "object_id": Str = "the cloud object carrying the error" => Some(r.object.id()),
        "object_row": Int = "the cloud object carrying the error: cloud_objects.object_row (join on it: see docs/rules.md)" => Some(count(r.object_row)),
        "object_type": Word(OBJECT_TYPES) = "user, contact or group" => Some(r.object_type),
        "category": Str = "PropertyConflict (the only documented category)" => r.error.category.as_ref(),
        "property": Str = "UserPrincipalName or ProxyAddress (Graph also writes ProxyAddresses)" => error_property(r.error.property_causing_error.as_deref()),
        "kind": Word(ADDRESS_KINDS) = "upn or smtp, to join with the address tables; null for other properties" => error_kind(r.error.property_causing_error.as_deref()),
        "value": Str = "the conflicting value as Graph gives it (may carry SMTP:)" => r.error.value.as_ref(),
        "address": Str = "the value lower-cased without its smtp: prefix" => error_address(r.error.value.as_deref()),
        "occurred_time": Time = "occurredDateTime" => r.error.occurred_date_time,
    }
}

/// One row of `domains`, from the domains collection or from organization.verifiedDomains.
struct DomainRow<'a> {
    name: Option<String>,
    is_verified: Option<bool>,
    is_default: Option<bool>,
    is_initial: Option<bool>,
    authentication_type: Option<&'a str>,
}

table! {
    pub(crate) const DOMAINS = "domains", "The tenant's domains (from domains, else from organization.verifiedDomains).";
    fn domains_frame(&[DomainRow<'_>]) |d| {
        "name": Str = "domain name, lower case" => d.name.as_ref(),
        "is_verified": Bool = "isVerified" => d.is_verified,
        "is_default": Bool = "isDefault" => d.is_default,
        "is_initial": Bool = "isInitial (the .onmicrosoft.com domain)" => d.is_initial,
        "authentication_type": Str = "Managed or Federated" => d.authentication_type,
    }
}

table! {
    pub(crate) const ORGANIZATION = "organization", "The tenant's directory sync state (one row).";
    fn organization_frame(&[Organization]) |o| {
        "tenant_id": Str = "organization id" => Some(&o.id),
        "display_name": Str = "displayName" => o.display_name.as_ref(),
        "sync_enabled": Bool = "onPremisesSyncEnabled" => o.on_premises_sync_enabled,
        "last_sync_time": Time = "onPremisesLastSyncDateTime" => o.on_premises_last_sync_date_time,
    }
}

table! {
    pub(crate) const PASSWORD_SYNC = "password_sync", "Password hash sync freshness from the beta organization resource; absent when the snapshot's organization lacks onPremisesLastPasswordSyncDateTime.";
    fn password_sync_frame(&[&Organization]) |o| {
        "tenant_id": Str = "organization id" => Some(&o.id),
        "last_password_sync_time": Time = "onPremisesLastPasswordSyncDateTime (null: never)" => o.on_premises_last_password_sync_date_time.flatten(),
    }
}

/// One row of `sync_jobs`: a job and the parts of its status the columns read.
struct JobRow<'a> {
    job: &'a SyncJob,
    status: Option<&'a SyncStatus>,
    quarantine: Option<&'a Quarantine>,
    last: Option<&'a TaskExecution>,
}

table! {
    pub(crate) const SYNC_JOBS = "sync_jobs", "Cloud Sync synchronization jobs with their status.";
    fn sync_jobs_frame(&[JobRow<'_>], params: &Params) |r| {
        "service_principal_id": Str = "the configuration's service principal" => r.job.service_principal_id.as_ref(),
        "configuration": Str = "the configuration's name (normally the AD domain)" => r.job.service_principal_display_name.as_ref(),
        "job_id": Str = "job id (AD2AADProvisioning.<guid>, ...)" => Some(&r.job.id),
        "template_id": Str = "AD2AADProvisioning, AD2AADPasswordHash, ..." => r.job.template_id.as_ref(),
        "domain": Str = "DomainFQDN job setting" => r.job.setting("DomainFQDN"),
        "schedule_state": Str = "Active, Disabled or Paused" => r.job.schedule.as_ref().and_then(|s| s.state.as_ref()),
        "status_code": Str = "NotConfigured, NotRun, Active, Paused or Quarantine" => r.status.and_then(|s| s.code.as_ref()),
        "quarantine_reason": Str = "quarantine.reason" => r.quarantine.and_then(|q| q.reason.as_ref()),
        "quarantine_since": Time = "quarantine.seriesBegan" => r.quarantine.and_then(|q| q.series_began),
        "quarantine_current_began": Time = "quarantine.currentBegan" => r.quarantine.and_then(|q| q.current_began),
        "quarantine_next_attempt": Time = "quarantine.nextAttempt" => r.quarantine.and_then(|q| q.next_attempt),
        "quarantine_series_count": Int = "quarantine.seriesCount" => r.quarantine.and_then(|q| q.series_count),
        "quarantine_error_code": Str = "quarantine.error.code" => r.quarantine.and_then(|q| q.error.as_ref()).and_then(|e| e.code.as_ref()),
        "quarantine_error_message": Str = "quarantine.error.message" => r.quarantine.and_then(|q| q.error.as_ref()).and_then(|e| e.message.as_ref()),
        "successive_failures": Int = "countSuccessiveCompleteFailures" => r.status.and_then(|s| s.count_successive_complete_failures),
        "last_execution_state": Str = "lastExecution.state: Succeeded, Failed, EntryLevelErrors" => r.last.and_then(|e| e.state.as_ref()),
        "last_execution_began": Time = "lastExecution.timeBegan" => r.last.and_then(|e| e.time_began),
        "last_execution_ended": Time = "lastExecution.timeEnded" => r.last.and_then(|e| e.time_ended),
        "last_execution_error_code": Str = "lastExecution.error.code" => r.last.and_then(|e| e.error.as_ref()).and_then(|e| e.code.as_ref()),
        "last_execution_error_message": Str = "lastExecution.error.message" => r.last.and_then(|e| e.error.as_ref()).and_then(|e| e.message.as_ref()),
        "last_success_time": Time = "lastSuccessfulExecution.timeEnded" => r.status.and_then(|s| s.last_successful_execution.as_ref()).and_then(|e| e.time_ended),
        "troubleshooting_url": Str = "troubleshootingUrl" => r.status.and_then(|s| s.troubleshooting_url.as_ref()).filter(|u| !u.is_empty()),
        "escrowed_count": Int = "lastExecution.countEscrowed: objects that failed in the last run and wait in escrow" => r.last.and_then(|e| e.count_escrowed),
        "health": Str = "the job's health as of the audit time, judged once for the rules, `cloud-sync status` and the report: healthy, escrowed, paused, notRun, notConfigured, quarantined or failing" => Some(r.job.health(params.as_of, params.cloud_sync_max_age).as_str()),
    }
}

/// One row of `role_members`, from roleAssignments/roleEligibilities or from directoryRoles.
struct RoleRow<'a> {
    role_id: &'a str,
    role_name: Option<&'a str>,
    role_template_id: Option<&'a str>,
    member_id: &'a str,
    member_type: Option<&'a str>,
    assignment: &'static str,
    via_group_id: Option<&'a str>,
}

table! {
    pub(crate) const ROLE_MEMBERS = "role_members", "Holders of Microsoft Entra roles: from roleAssignments (complete, paged; role-assignable groups expanded to their transitive members) and roleEligibilities (eligible PIM assignments) when collected, else from directoryRoles?$expand=members, which Graph caps at 20 members per role (then the table is unavailable as soon as a role shows 20).";
    fn role_members_frame(&[RoleRow<'_>]) |r| {
        "role_id": Str = "roleDefinitionId (directoryRole id for the directoryRoles source)" => Some(r.role_id),
        "role_name": Str = "displayName of the role" => r.role_name,
        "role_template_id": Str = "roleTemplateId (the roleDefinition id of a built-in role)" => r.role_template_id,
        "member_id": Str = "member object id (a group's transitive members each have a row)" => Some(r.member_id),
        "member_type": Str = "user, group or servicePrincipal" => r.member_type,
        "assignment": Str = "active or eligible" => Some(r.assignment),
        "via_group_id": Str = "the role-assignable group that holds the role when the member holds it through that group, else null" => r.via_group_id,
    }
}

table! {
    pub(crate) const SYNC_FEATURES = "sync_features", "The tenant's matching switches (GET /directory/onPremisesSynchronization, delegated Global Administrator only).";
    fn sync_features_frame(&[DirectorySynchronization]) |d| {
        "tenant_id": Str = "tenant id" => Some(&d.id),
        "block_soft_match": Bool = "blockSoftMatchEnabled" => d.features.block_soft_match_enabled,
        "block_hard_match_takeover": Bool = "blockCloudObjectTakeoverThroughHardMatchEnabled" => d.features.block_cloud_object_takeover_through_hard_match_enabled,
        "allow_onprem_object_identifier_update": Bool = "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled (the 2026 hard-match hardening's bypass)" => d.features.allow_on_prem_update_of_on_premises_object_identifier_enabled,
        "soft_match_on_upn": Bool = "softMatchOnUpnEnabled" => d.features.soft_match_on_upn_enabled,
        "password_sync_enabled": Bool = "passwordSyncEnabled" => d.features.password_sync_enabled,
    }
}

table! {
    pub(crate) const SYNC_BEHAVIOR = "sync_behavior", "onPremisesSyncBehavior of the users and groups carrying a sign of sync (read per object, beta): isCloudManaged true means the object was converted to cloud management and updates from on-premises AD are blocked. A candidate that was not read has a null is_cloud_managed and the reason in not_read.";
    fn sync_behavior_frame(&[SyncBehavior]) |b| {
        "object_id": Str = "the user or group" => Some(&b.id),
        "object_type": Word(OBJECT_TYPES) = "user or group" => b.object_type.map(SyncBehaviorObject::as_str),
        "is_cloud_managed": Bool = "isCloudManaged (null: not read)" => b.is_cloud_managed,
        "not_read": Str = "why it was not read (over the cap, Graph's answer), else null" => b.not_read.as_ref(),
    }
}

/// The tables that come from the cloud snapshot; each needs its collections to be usable.
pub(super) fn build_cloud(mut cloud: CloudSnapshot, params: &Params) -> PolarsResult<Tables> {
    let mut tables = build_directory(&mut cloud)?;
    tables.absorb(build_rest(&cloud, params)?);
    Ok(tables)
}

/// The tables of the snapshot's users, contacts and groups and of their sync behaviours
/// ([`DIRECTORY_TABLES`]), which take those out of `cloud` (the rest of it is small and stays).
pub(super) fn build_directory(cloud: &mut CloudSnapshot) -> PolarsResult<Tables> {
    // The users, contacts and groups are consumed a chunk at a time (see [`directory_frames`]).
    let directory_objects = take_directory(cloud);
    // The sync behaviours are a record per synced user and group (0.1 GiB at a million): made a
    // table and freed first, not held while the directory's tables are built (the audit's peak).
    let behavior = sync_behavior(cloud, usable(cloud, &[Collection::SyncBehavior]))?;
    cloud.sync_behaviors = Vec::new();
    let cloud = &*cloud;
    let mut tables = Tables::default();
    let directory = [Collection::Users, Collection::Contacts, Collection::Groups];
    match usable(cloud, &directory) {
        Ok(()) => {
            for (spec, frame) in directory_frames(directory_objects)? {
                tables.put(spec, Ok(frame))?;
            }
            // An errors-only snapshot holds every object with a provisioning error and no
            // other: the errors table is whole, the object and address tables are not.
            if directory
                .iter()
                .any(|c| cloud.scope(*c) == Some(PROVISIONING_ERRORS_SCOPE))
            {
                for spec in [&CLOUD_OBJECTS, &CLOUD_ADDRESSES] {
                    tables.partial.insert(
                        spec.name,
                        Partial {
                            reason: ERRORS_ONLY_REASON.to_owned(),
                            complete_for: PROVISIONING_ERRORS.name,
                        },
                    );
                }
            }
        }
        Err(reason) => {
            for spec in [&CLOUD_OBJECTS, &CLOUD_ADDRESSES, &PROVISIONING_ERRORS] {
                tables.put(spec, Err(reason.clone()))?;
            }
        }
    }
    tables.put(&SYNC_BEHAVIOR, behavior)?;
    Ok(tables)
}

/// The tables [`build_directory`] makes: the snapshot's large part.
pub(super) const DIRECTORY_TABLES: [&TableSpec; 4] = [
    &CLOUD_OBJECTS,
    &CLOUD_ADDRESSES,
    &PROVISIONING_ERRORS,
    &SYNC_BEHAVIOR,
];

/// The cloud tables but [`DIRECTORY_TABLES`]: the tenant's domains, organization, password
/// sync, Cloud Sync jobs, role holders and matching switches, each a handful of rows.
pub(super) fn build_rest(cloud: &CloudSnapshot, params: &Params) -> PolarsResult<Tables> {
    let mut tables = Tables::default();
    let needs = |collections: &[Collection]| usable(cloud, collections);

    let domains = match (
        needs(&[Collection::Domains]),
        needs(&[Collection::Organization]),
    ) {
        (Ok(()), _) => Ok(domains_frame(&domain_rows(cloud))?),
        (Err(_), Ok(()))
            if cloud
                .organization
                .iter()
                .any(|o| !o.verified_domains.is_empty()) =>
        {
            Ok(domains_frame(&verified_domain_rows(cloud))?)
        }
        (Err(reason), _) => Err(reason),
    };
    tables.put(&DOMAINS, domains)?;

    match needs(&[Collection::Organization]) {
        Ok(()) => {
            tables.put(&ORGANIZATION, Ok(organization_frame(&cloud.organization)?))?;
            let password_sync = if cloud
                .organization
                .iter()
                .any(|o| o.on_premises_last_password_sync_date_time.is_some())
            {
                let rows: Vec<&Organization> = cloud
                    .organization
                    .iter()
                    .filter(|o| o.on_premises_last_password_sync_date_time.is_some())
                    .collect();
                Ok(password_sync_frame(&rows)?)
            } else {
                Err("organization has no onPremisesLastPasswordSyncDateTime: it is a beta property of the global cloud (national clouds' beta schemas lack it, and collect then reads v1.0 without it), so password hash sync freshness is not evaluated".to_owned())
            };
            tables.put(&PASSWORD_SYNC, password_sync)?;
        }
        Err(reason) => {
            tables.put(&ORGANIZATION, Err(reason.clone()))?;
            tables.put(&PASSWORD_SYNC, Err(reason))?;
        }
    }

    let jobs = match needs(&[Collection::SynchronizationJobs]) {
        Ok(()) => Ok(sync_jobs_frame(&job_rows(cloud), params)?),
        Err(reason) => Err(reason),
    };
    tables.put(&SYNC_JOBS, jobs)?;

    let roles = role_members(
        cloud,
        needs(&[Collection::RoleAssignments]),
        needs(&[Collection::DirectoryRoles]),
    )?;
    tables.put(&ROLE_MEMBERS, roles)?;

    let features = sync_features(cloud, needs(&[Collection::OnPremisesSynchronization]))?;
    tables.put(&SYNC_FEATURES, features)?;
    Ok(tables)
}

/// `Ok` when every one of `collections` is usable in the snapshot, else why not.
fn usable(cloud: &CloudSnapshot, collections: &[Collection]) -> Result<(), String> {
    let reasons: Vec<String> = collections
        .iter()
        .filter_map(|c| cloud.state(*c).unavailable_reason(*c))
        .collect();
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons.join("; "))
    }
}

/// The `sync_behavior` table, or why it is unavailable: forbidden is what an audit app without
/// the `ReadWrite` permissions gets, said with the permissions to grant.
fn sync_behavior(
    cloud: &CloudSnapshot,
    readable: Result<(), String>,
) -> PolarsResult<Result<DataFrame, String>> {
    Ok(match readable {
        Ok(()) => Ok(sync_behavior_frame(&cloud.sync_behaviors)?),
        Err(_) if cloud.forbidden(Collection::SyncBehavior) => Err(format!(
            "{} is forbidden: it needs {} (no read-only permission exists), so objects converted to cloud management cannot be told apart",
            Collection::SyncBehavior,
            Collection::SyncBehavior.spec().application.join(" + ")
        )),
        Err(reason) => Err(reason),
    })
}

/// The `sync_features` table, or why it is unavailable. Forbidden is what every application
/// sign-in gets here: said plainly, without the 403's URL and request id (manifest.json keeps
/// them).
fn sync_features(
    cloud: &CloudSnapshot,
    readable: Result<(), String>,
) -> PolarsResult<Result<DataFrame, String>> {
    Ok(match readable {
        Ok(()) => Ok(sync_features_frame(&cloud.directory_synchronization)?),
        Err(_) if cloud.forbidden(Collection::OnPremisesSynchronization) => Err(format!(
            "{}, the tenant's soft/hard-match switches, is {}",
            Collection::OnPremisesSynchronization,
            Collection::DELEGATED_ONLY_NOTE
        )),
        Err(reason) => Err(format!("{reason}; {}", Collection::DELEGATED_ONLY_NOTE)),
    })
}

/// The users, contacts and groups a snapshot holds, each collection with its object type.
type Directory = [(DirectoryObjects, &'static str); 3];

/// Takes the users, contacts and groups out of the snapshot (the rest of it is small and stays).
fn take_directory(cloud: &mut CloudSnapshot) -> Directory {
    [
        (std::mem::take(&mut cloud.users), "user"),
        (std::mem::take(&mut cloud.contacts), "contact"),
        (std::mem::take(&mut cloud.groups), "group"),
    ]
}

/// The tables of users, contacts and groups: objects, addresses and provisioning errors, a
/// chunk of packed objects at a time, on every core. Each chunk's text becomes the text its
/// tables' columns point into, and its rows are freed once its tables are built: the objects
/// and the tables are never both whole in memory.
fn directory_frames(directory: Directory) -> PolarsResult<[(&'static TableSpec, DataFrame); 3]> {
    // Empty frames first: no objects still gives every table its columns.
    let empty = directory_chunk_frames(0, String::new(), &ChunkRows::default(), "user")?;
    // Every chunk of every collection in collection order (users, contacts, groups), as the
    // rows have always been ordered, each with the row of its first object.
    let mut rows_before = 0;
    let mut chunks: Vec<(usize, DirectoryChunk, &'static str)> = Vec::new();
    for (objects, object_type) in directory {
        for chunk in objects.into_chunks() {
            let first_row = rows_before;
            rows_before += chunk.len();
            chunks.push((first_row, chunk, object_type));
        }
    }
    let chunks: Vec<PolarsResult<[DataFrame; 3]>> = chunks
        .into_par_iter()
        .map(|(first_row, chunk, object_type)| {
            let (text, rows) = chunk.into_parts();
            directory_chunk_frames(first_row, text, &rows, object_type)
        })
        .collect();
    let [objects_frame, addresses_frame, errors_frame] = stack_in_order(empty, chunks)?;
    Ok([
        (&CLOUD_OBJECTS, objects_frame),
        (&CLOUD_ADDRESSES, addresses_frame),
        (&PROVISIONING_ERRORS, errors_frame),
    ])
}

/// The three directory frames of one chunk of `object_type` objects (its `text` and `rows`),
/// built on separate cores from addresses computed once per object; `first_row` is the row of
/// the chunk's first object. The frames' text columns point into `text`.
fn directory_chunk_frames(
    first_row: usize,
    text: String,
    rows: &ChunkRows,
    object_type: &'static str,
) -> PolarsResult<[DataFrame; 3]> {
    let shared = SharedText::new(text);
    let text = shared.as_str();
    let objects: Vec<ObjectRef<'_>> = rows.iter(text).collect();
    let derived: Vec<Derived> = objects
        .par_iter()
        .map(|o| Derived {
            id: o.id(),
            addresses: addresses(o.user_principal_name(), o.mail(), o.proxy_addresses()),
        })
        .collect();
    let (objects_frame, (addresses_frame, errors_frame)) = rayon::join(
        || {
            let rows: Vec<CloudRow<'_>> = objects
                .iter()
                .zip(&derived)
                .enumerate()
                .map(|(i, (object, derived))| CloudRow {
                    row: first_row + i,
                    object: *object,
                    object_type,
                    derived,
                })
                .collect();
            cloud_objects_frame(&rows, Some(&shared))
        },
        || {
            rayon::join(
                || {
                    let types = std::iter::repeat_n(object_type, objects.len());
                    address_frame(
                        &CLOUD_ADDRESSES,
                        &address_rows(first_row, &derived, types),
                        Some(&shared),
                    )
                },
                || {
                    let rows: Vec<ErrorRow<'_>> = objects
                        .iter()
                        .enumerate()
                        .flat_map(|(i, object)| {
                            object
                                .on_premises_provisioning_errors()
                                .iter()
                                .map(move |error| ErrorRow {
                                    object_row: first_row + i,
                                    object: *object,
                                    object_type,
                                    error,
                                })
                        })
                        .collect();
                    provisioning_errors_frame(&rows, Some(&shared))
                },
            )
        },
    );
    Ok([objects_frame?, addresses_frame?, errors_frame?])
}

/// `role_members` from roleAssignments when it was read, else from directoryRoles unless a role
/// reaches Graph's `$expand` cap (then the members may be cut short and the table is refused).
fn role_members(
    cloud: &CloudSnapshot,
    complete: Result<(), String>,
    old: Result<(), String>,
) -> PolarsResult<Result<DataFrame, String>> {
    Ok(match (complete, old) {
        (Ok(()), _) => Ok(role_members_frame(&role_holder_rows(cloud))?),
        (Err(complete), Ok(())) => match capped_role(cloud) {
            None => Ok(role_members_frame(&directory_role_rows(cloud))?),
            Some(role) => Err(format!(
                "{complete}; directoryRoles cannot stand in: $expand=members returns at most {EXPAND_CAP} members \
                 with no next link, and role '{role}' shows {EXPAND_CAP}, so admins may be missing \
                 (https://learn.microsoft.com/graph/known-issues); collect again to read /roleManagement/directory/roleAssignments"
            )),
        },
        (Err(complete), Err(old)) => Err(format!("{complete}; {old}")),
    })
}

/// How many members `$expand` returns on directory objects, with no next link (Graph known
/// issues: "$expand ... returns a maximum of 20 objects").
pub(crate) const EXPAND_CAP: usize = 20;

/// A directoryRole whose expanded members reach the cap: the list may be cut short.
fn capped_role(cloud: &CloudSnapshot) -> Option<String> {
    cloud
        .directory_roles
        .iter()
        .find(|r| r.members.len() >= EXPAND_CAP)
        .map(|r| r.display_name.clone().unwrap_or_else(|| r.id.clone()))
}

/// `role_members` from the complete sources: active assignments and, when collected, eligible ones.
fn role_holder_rows(cloud: &CloudSnapshot) -> Vec<RoleRow<'_>> {
    let eligible: &[crate::inputs::snapshot::RoleHolder] =
        if cloud.state(Collection::RoleEligibilities).is_loaded() {
            &cloud.role_eligibilities
        } else {
            &[]
        };
    cloud
        .role_assignments
        .iter()
        .map(|h| (h, "active"))
        .chain(eligible.iter().map(|h| (h, "eligible")))
        .map(|(h, assignment)| RoleRow {
            role_id: &h.role_definition_id,
            role_name: h.role_display_name.as_deref(),
            role_template_id: h
                .role_template_id
                .as_deref()
                .or(Some(&h.role_definition_id)),
            member_id: &h.member_id,
            member_type: h.member_type.as_deref(),
            assignment,
            via_group_id: (h.principal_id != h.member_id).then_some(h.principal_id.as_str()),
        })
        .collect()
}

/// `role_members` from directoryRoles?$expand=members (active holders, no groups expanded).
fn directory_role_rows(cloud: &CloudSnapshot) -> Vec<RoleRow<'_>> {
    cloud
        .directory_roles
        .iter()
        .flat_map(|r| r.members.iter().map(move |m| (r, m)))
        .map(|(r, m)| RoleRow {
            role_id: &r.id,
            role_name: r.display_name.as_deref(),
            role_template_id: r.role_template_id.as_deref(),
            member_id: &m.id,
            member_type: m
                .odata_type
                .as_deref()
                .map(|t| t.trim_start_matches("#microsoft.graph.")),
            assignment: "active",
            via_group_id: None,
        })
        .collect()
}

/// The domains collection as `domains` rows.
fn domain_rows(cloud: &CloudSnapshot) -> Vec<DomainRow<'_>> {
    cloud
        .domains
        .iter()
        .map(|d| DomainRow {
            name: Some(d.id.to_lowercase()),
            is_verified: d.is_verified,
            is_default: d.is_default,
            is_initial: d.is_initial,
            authentication_type: d.authentication_type.as_deref(),
        })
        .collect()
}

/// organization.verifiedDomains as `domains` rows (verified by definition; no authentication type).
fn verified_domain_rows(cloud: &CloudSnapshot) -> Vec<DomainRow<'_>> {
    cloud
        .organization
        .iter()
        .flat_map(|o| &o.verified_domains)
        .filter(|d| d.name.as_deref().is_some_and(|n| !n.is_empty()))
        .map(|d| DomainRow {
            name: d.name.as_deref().map(str::to_lowercase),
            is_verified: Some(true),
            is_default: d.is_default,
            is_initial: d.is_initial,
            authentication_type: None,
        })
        .collect()
}

fn job_rows(cloud: &CloudSnapshot) -> Vec<JobRow<'_>> {
    cloud
        .sync_jobs
        .iter()
        .map(|job| {
            let status = job.status.as_ref();
            JobRow {
                job,
                status,
                quarantine: status.and_then(|s| s.quarantine.as_ref()),
                last: status.and_then(|s| s.last_execution.as_ref()),
            }
        })
        .collect()
}

/// The property of a provisioning error, spelled one way: Graph documents `ProxyAddress`; real
/// responses also say `ProxyAddresses`
/// (<https://learn.microsoft.com/graph/api/resources/onpremisesprovisioningerror>).
fn error_property(p: Option<&str>) -> Option<String> {
    p.map(|p| match p.to_ascii_lowercase().as_str() {
        "proxyaddress" | "proxyaddresses" => "ProxyAddress".to_owned(),
        "userprincipalname" => "UserPrincipalName".to_owned(),
        _ => p.to_owned(),
    })
}

/// The address kind a provisioning error's property collides in.
fn error_kind(p: Option<&str>) -> Option<&'static str> {
    match error_property(p).as_deref() {
        Some("ProxyAddress") => Some("smtp"),
        Some("UserPrincipalName") => Some("upn"),
        _ => None,
    }
}

/// A provisioning error's value as the address tables hold it.
fn error_address(v: Option<&str>) -> Option<String> {
    v.map(|v| {
        let v = v.trim();
        match v.split_once(':') {
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case("smtp") => rest.to_lowercase(),
            _ => v.to_lowercase(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::snapshot::DirectoryObject;

    /// The object table's text columns point into the chunk's text, which the table took over
    /// from the packed objects: no value is copied, and each row reads its own.
    #[test]
    fn the_object_columns_point_into_the_chunks_text() {
        let user = |upn: &str, onprem_upn: &str, sam: &str| DirectoryObject {
            id: format!("id of {sam}"),
            display_name: Some(format!("The display name of {sam}").into()),
            user_principal_name: Some(upn.into()),
            on_premises_user_principal_name: Some(onprem_upn.into()),
            on_premises_sam_account_name: Some(sam.into()),
            on_premises_distinguished_name: Some(format!("CN={sam},OU=Staff,DC=corp").into()),
            mail_nickname: Some(sam.into()),
            ..DirectoryObject::default()
        };
        let upn = "first.last.long.name@contoso.com";
        let objects = vec![
            user(upn, upn, "first.last.long"),
            user(
                "someone.else.entirely@contoso.com",
                "old.name.from.ad@corp.local",
                "a.different.account",
            ),
        ];
        let mut chunks = DirectoryObjects::pack(&objects)
            .expect("packs")
            .into_chunks();
        assert_eq!(chunks.len(), 1);
        let (text, rows) = chunks.remove(0).into_parts();
        let text_len = text.len();
        let [frame, _, _] = directory_chunk_frames(0, text, &rows, "user").expect("frames");
        for column in [
            "id",
            "display_name",
            "user_principal_name",
            "onprem_user_principal_name",
            "onprem_sam_account_name",
            "onprem_distinguished_name",
            "mail_nickname",
        ] {
            let values = frame.column(column).unwrap().str().unwrap().clone();
            let got: Vec<String> = values.iter().map(|v| v.unwrap().to_owned()).collect();
            let expected: Vec<String> = objects
                .iter()
                .map(|o| {
                    let value = match column {
                        "id" => Some(o.id.as_str()),
                        "display_name" => o.display_name.as_deref(),
                        "user_principal_name" => o.user_principal_name.as_deref(),
                        "onprem_user_principal_name" => {
                            o.on_premises_user_principal_name.as_deref()
                        }
                        "onprem_sam_account_name" => o.on_premises_sam_account_name.as_deref(),
                        "onprem_distinguished_name" => o.on_premises_distinguished_name.as_deref(),
                        _ => o.mail_nickname.as_deref(),
                    };
                    value.unwrap_or_default().to_owned()
                })
                .collect();
            assert_eq!(got, expected, "{column}");
            let array = values.downcast_iter().next().unwrap();
            let lengths: Vec<usize> = array
                .data_buffers()
                .iter()
                .map(polars_buffer::Buffer::len)
                .collect();
            assert_eq!(
                lengths,
                [text_len],
                "{column}: the chunk's text and no copy"
            );
        }
    }
}
