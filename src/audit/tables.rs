//! The tables the rules query: the ONE place where table names, columns and polars schemas are
//! declared ([`TABLES`]), and the code that fills them from on-prem objects and a cloud snapshot.
//!
//! Schemas are explicit and never inferred from data: every builder is checked against its
//! [`TableSpec`], so a rule sees the same columns and types whether a table holds a million rows
//! or none. Normalisation that every rule would otherwise repeat happens here, once: addresses
//! and UPNs are lower-cased for comparison (Entra compares them case-insensitively), `SMTP:`
//! (upper case) marks the primary address, `mail` joins the SMTP namespace, and the tri-state
//! `onPremisesSyncEnabled` becomes a `sync_state`. What the data *means* for sync is not decided
//! here: that is the rules' job.
//!
//! A table whose source is missing or unusable is not registered at all; [`Tables::unavailable`]
//! says why, and the rule engine turns that into "not evaluated".

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use polars::prelude::*;
use rayon::prelude::*;

use crate::audit::sync_model::UpnSource;
use crate::inputs::onprem::{self, OnPremObject, dn_domain};
use crate::inputs::snapshot::{
    CloudSnapshot, Collection, DirectoryObject, PROVISIONING_ERRORS_SCOPE,
};

/// Column types used by the tables (a deliberately small set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Str,
    Bool,
    Int,
    /// UTC, microseconds.
    Time,
}

impl ColumnType {
    pub fn dtype(self) -> DataType {
        match self {
            ColumnType::Str => DataType::String,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Int => DataType::Int64,
            ColumnType::Time => DataType::Datetime(TimeUnit::Microseconds, None),
        }
    }

    pub fn sql_name(self) -> &'static str {
        match self {
            ColumnType::Str => "text",
            ColumnType::Bool => "boolean",
            ColumnType::Int => "integer",
            ColumnType::Time => "timestamp (UTC)",
        }
    }
}

#[derive(Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub ty: ColumnType,
    pub doc: &'static str,
}

#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub doc: &'static str,
    pub columns: &'static [ColumnSpec],
}

impl TableSpec {
    pub fn schema(&self) -> Schema {
        self.columns
            .iter()
            .map(|c| Field::new(c.name.into(), c.ty.dtype()))
            .collect()
    }

    pub fn empty(&self) -> DataFrame {
        DataFrame::empty_with_schema(&self.schema())
    }
}

macro_rules! columns {
    ($($name:literal : $ty:ident = $doc:literal),* $(,)?) => {
        &[$(ColumnSpec { name: $name, ty: ColumnType::$ty, doc: $doc }),*]
    };
}

pub const PARAMS: TableSpec = TableSpec {
    name: "params",
    doc: "One row: the time the audit judges against and the cut-offs derived from the thresholds. Rules CROSS JOIN it (SQL has no NOW() here, and a fixed as-of keeps runs reproducible).",
    columns: columns![
        "as_of": Time = "--as-of, else the snapshot's collection time, else now",
        "directory_sync_cutoff": Time = "as_of minus --directory-sync-max-age",
        "password_sync_cutoff": Time = "as_of minus --password-sync-max-age",
        "cloud_sync_cutoff": Time = "as_of minus --cloud-sync-max-age",
    ],
};

pub const ONPREM_OBJECTS: TableSpec = TableSpec {
    name: "onprem_objects",
    doc: "Every AD user, contact and group from the --onprem exports.",
    columns: columns![
        "object_guid": Str = "objectGUID, lower-case 8-4-4-4-12",
        "object_type": Str = "user, contact or group",
        "source_anchor": Str = "base64 of mS-DS-ConsistencyGuid when set, else of objectGUID: what onPremisesImmutableId holds after sync",
        "anchor_attribute": Str = "mS-DS-ConsistencyGuid or objectGUID",
        "object_sid": Str = "objectSid as S-1-5-...",
        "distinguished_name": Str = "distinguishedName",
        "domain": Str = "DNS domain from the DC= parts of the DN, lower case",
        "user_principal_name": Str = "userPrincipalName as exported",
        "cloud_upn": Str = "what sync writes to the cloud userPrincipalName: the sync model's UPN source attribute (userPrincipalName, or mail as an alternate login ID)",
        "upn_lower": Str = "cloud_upn, lower case (the soft-match UPN key)",
        "upn_suffix": Str = "the part after the last @ of cloud_upn, lower case",
        "sam_account_name": Str = "sAMAccountName",
        "mail": Str = "mail as exported",
        "mail_nickname": Str = "mailNickname",
        "display_name": Str = "displayName",
        "primary_smtp": Str = "the SMTP: proxy address (else mail), lower case, no prefix",
        "mail_enabled": Bool = "has mail or an SMTP proxy address",
        "enabled": Bool = "users: account enabled",
        "proxy_address_count": Int = "how many proxyAddresses values the object holds",
        "certificate_count": Int = "userCertificate values (null: none, or the export did not say)",
        "smime_certificate_count": Int = "userSMIMECertificate values (null: none, or the export did not say)",
        "thumbnail_photo_bytes": Int = "thumbnailPhoto size in bytes (null: not set or the export did not say)",
        "member_count": Int = "groups: direct member values (null: none, or the export did not say)",
        "source_file": Str = "export file the object came from",
        "source_line": Int = "line of the record in that file",
    ],
};

const ADDRESS_COLUMNS: &[ColumnSpec] = columns![
    "object_id": Str = "onprem: object_guid; cloud: id",
    "object_type": Str = "user, contact or group",
    "kind": Str = "upn or smtp (mail and SMTP proxy addresses share one namespace)",
    "address": Str = "the value, lower case, without the smtp: prefix",
    "is_primary": Bool = "upn: always; smtp: the SMTP: (upper case) proxy address, or mail when there is none",
    "origin": Str = "userPrincipalName, proxyAddresses or mail",
    "raw": Str = "the value as it stands in the source",
];

pub const ONPREM_ADDRESSES: TableSpec = TableSpec {
    name: "onprem_addresses",
    doc: "One row per distinct UPN or SMTP address an on-prem object holds.",
    columns: ADDRESS_COLUMNS,
};

pub const ONPREM_VALUES: TableSpec = TableSpec {
    name: "onprem_values",
    doc: "One row per value of the attributes Entra validates on export (userPrincipalName, proxyAddresses, mail, mailNickname, displayName, givenName, sn, sAMAccountName, targetAddress), with the facts the validation rules judge: lengths as Entra counts them (UTF-16 code units, UNVERIFIED), the parts around the `@`, and the value escaped so invisible characters show. No judgement is made here.",
    columns: columns![
        "object_guid": Str = "the on-prem object (onprem_objects.object_guid)",
        "object_type": Str = "user, contact or group",
        "attribute": Str = "the LDAP name: userPrincipalName, proxyAddresses, mail, mailNickname, displayName, givenName, sn, sAMAccountName or targetAddress",
        "value": Str = "the value exactly as exported",
        "shown": Str = "the value with control, format, non-ASCII whitespace and leading/trailing space characters written as \\u{XXXX}, so nothing invisible hides in a message",
        "length": Int = "the value's length in UTF-16 code units (what .NET and Entra's string lengths count; for ASCII the same as characters)",
        "value_count": Int = "how many values the object holds in this attribute (proxyAddresses: the address count)",
        "prefix": Str = "proxyAddresses and targetAddress: the address type before the first `:` as written (SMTP, smtp, X500, SIP, ...); null for other attributes or when there is no `:`",
        "becomes_cloud_upn": Bool = "this attribute is the one sync writes to the cloud userPrincipalName (userPrincipalName, or mail with alternate login ID)",
        "is_smtp": Bool = "the address is an SMTP address: an SMTP/smtp-prefixed proxyAddresses or targetAddress value, or mail and userPrincipalName (which have the SMTP form)",
        "address": Str = "the value without its prefix (the whole value for attributes that have none)",
        "at_count": Int = "how many `@` the address holds",
        "local_part": Str = "the address before its last `@` (null without `@`)",
        "domain": Str = "the address after its last `@`, lower case (null without `@`)",
        "local_length": Int = "length of local_part in UTF-16 code units",
        "domain_length": Int = "length of domain in UTF-16 code units",
        "symbols": Str = "the distinct characters of the address that are not ASCII letters or digits, in order of first appearance, escaped as in `shown` and separated by spaces (null when there are none): what a message names when a character is not allowed",
    ],
};

pub const CLOUD_OBJECTS: TableSpec = TableSpec {
    name: "cloud_objects",
    doc: "Every Entra user, contact (orgContact) and group of the snapshot.",
    columns: columns![
        "id": Str = "object id",
        "object_type": Str = "user, contact or group",
        "display_name": Str = "displayName",
        "user_principal_name": Str = "userPrincipalName",
        "upn_lower": Str = "userPrincipalName, lower case",
        "upn_suffix": Str = "domain part of the UPN, lower case",
        "mail": Str = "mail",
        "mail_nickname": Str = "mailNickname",
        "primary_smtp": Str = "the SMTP: proxy address (else mail), lower case, no prefix",
        "mail_enabled": Bool = "groups: mailEnabled; users and contacts: has mail or an SMTP address",
        "security_enabled": Bool = "groups: securityEnabled",
        "immutable_id": Str = "onPremisesImmutableId (users)",
        "sync_enabled": Bool = "onPremisesSyncEnabled: true synced, false formerly synced, null never",
        "sync_state": Str = "synced, formerly_synced or cloud_only (from sync_enabled)",
        "last_sync_time": Time = "onPremisesLastSyncDateTime",
        "onprem_distinguished_name": Str = "onPremisesDistinguishedName",
        "onprem_sam_account_name": Str = "onPremisesSamAccountName",
        "onprem_domain_name": Str = "onPremisesDomainName, lower case",
        "onprem_security_identifier": Str = "onPremisesSecurityIdentifier",
        "onprem_user_principal_name": Str = "onPremisesUserPrincipalName",
        "created_time": Time = "createdDateTime",
        "account_enabled": Bool = "accountEnabled (users)",
        "user_type": Str = "Member or Guest (users)",
    ],
};

pub const CLOUD_ADDRESSES: TableSpec = TableSpec {
    name: "cloud_addresses",
    doc: "One row per distinct UPN or SMTP address a cloud object holds.",
    columns: ADDRESS_COLUMNS,
};

pub const PROVISIONING_ERRORS: TableSpec = TableSpec {
    name: "provisioning_errors",
    doc: "Every onPremisesProvisioningErrors entry of users, contacts and groups.",
    columns: columns![
        "object_id": Str = "the cloud object carrying the error",
        "object_type": Str = "user, contact or group",
        "category": Str = "PropertyConflict (the only documented category)",
        "property": Str = "UserPrincipalName or ProxyAddress (Graph also writes ProxyAddresses)",
        "kind": Str = "upn or smtp, to join with the address tables; null for other properties",
        "value": Str = "the conflicting value as Graph gives it (may carry SMTP:)",
        "address": Str = "the value lower-cased without its smtp: prefix",
        "occurred_time": Time = "occurredDateTime",
    ],
};

pub const DOMAINS: TableSpec = TableSpec {
    name: "domains",
    doc: "The tenant's domains (from domains, else from organization.verifiedDomains).",
    columns: columns![
        "name": Str = "domain name, lower case",
        "is_verified": Bool = "isVerified",
        "is_default": Bool = "isDefault",
        "is_initial": Bool = "isInitial (the .onmicrosoft.com domain)",
        "authentication_type": Str = "Managed or Federated",
    ],
};

pub const ORGANIZATION: TableSpec = TableSpec {
    name: "organization",
    doc: "The tenant's directory sync state (one row).",
    columns: columns![
        "tenant_id": Str = "organization id",
        "display_name": Str = "displayName",
        "sync_enabled": Bool = "onPremisesSyncEnabled",
        "last_sync_time": Time = "onPremisesLastSyncDateTime",
    ],
};

pub const PASSWORD_SYNC: TableSpec = TableSpec {
    name: "password_sync",
    doc: "Password hash sync freshness from the beta organization resource; absent when the snapshot's organization lacks onPremisesLastPasswordSyncDateTime.",
    columns: columns![
        "tenant_id": Str = "organization id",
        "last_password_sync_time": Time = "onPremisesLastPasswordSyncDateTime (null: never)",
    ],
};

pub const SYNC_JOBS: TableSpec = TableSpec {
    name: "sync_jobs",
    doc: "Cloud Sync synchronization jobs with their status.",
    columns: columns![
        "service_principal_id": Str = "the configuration's service principal",
        "configuration": Str = "the configuration's name (normally the AD domain)",
        "job_id": Str = "job id (AD2AADProvisioning.<guid>, ...)",
        "template_id": Str = "AD2AADProvisioning, AD2AADPasswordHash, ...",
        "domain": Str = "DomainFQDN job setting",
        "schedule_state": Str = "Active, Disabled or Paused",
        "status_code": Str = "NotConfigured, NotRun, Active, Paused or Quarantine",
        "quarantine_reason": Str = "quarantine.reason",
        "quarantine_since": Time = "quarantine.seriesBegan",
        "quarantine_current_began": Time = "quarantine.currentBegan",
        "quarantine_next_attempt": Time = "quarantine.nextAttempt",
        "quarantine_series_count": Int = "quarantine.seriesCount",
        "quarantine_error_code": Str = "quarantine.error.code",
        "quarantine_error_message": Str = "quarantine.error.message",
        "successive_failures": Int = "countSuccessiveCompleteFailures",
        "last_execution_state": Str = "lastExecution.state: Succeeded, Failed, EntryLevelErrors",
        "last_execution_began": Time = "lastExecution.timeBegan",
        "last_execution_ended": Time = "lastExecution.timeEnded",
        "last_execution_error_code": Str = "lastExecution.error.code",
        "last_execution_error_message": Str = "lastExecution.error.message",
        "last_success_time": Time = "lastSuccessfulExecution.timeEnded",
        "troubleshooting_url": Str = "troubleshootingUrl",
        "escrowed_count": Int = "lastExecution.countEscrowed: objects that failed in the last run and wait in escrow",
        "health": Str = "the job's health as of the audit time, judged once for the rules, `cloud-sync status` and the report: healthy, escrowed, paused, notRun, notConfigured, quarantined or failing",
    ],
};

pub const ROLE_MEMBERS: TableSpec = TableSpec {
    name: "role_members",
    doc: "Holders of Microsoft Entra roles: from roleAssignments (complete, paged; role-assignable groups expanded to their transitive members) and roleEligibilities (eligible PIM assignments) when collected, else from directoryRoles?$expand=members, which Graph caps at 20 members per role (then the table is unavailable as soon as a role shows 20).",
    columns: columns![
        "role_id": Str = "roleDefinitionId (directoryRole id for the directoryRoles source)",
        "role_name": Str = "displayName of the role",
        "role_template_id": Str = "roleTemplateId (the roleDefinition id of a built-in role)",
        "member_id": Str = "member object id (a group's transitive members each have a row)",
        "member_type": Str = "user, group or servicePrincipal",
        "assignment": Str = "active or eligible",
        "via_group_id": Str = "the role-assignable group that holds the role when the member holds it through that group, else null",
    ],
};

pub const SYNC_FEATURES: TableSpec = TableSpec {
    name: "sync_features",
    doc: "The tenant's matching switches (GET /directory/onPremisesSynchronization, delegated Global Administrator only).",
    columns: columns![
        "tenant_id": Str = "tenant id",
        "block_soft_match": Bool = "blockSoftMatchEnabled",
        "block_hard_match_takeover": Bool = "blockCloudObjectTakeoverThroughHardMatchEnabled",
        "allow_onprem_object_identifier_update": Bool = "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled (the 2026 hard-match hardening's bypass)",
        "soft_match_on_upn": Bool = "softMatchOnUpnEnabled",
        "password_sync_enabled": Bool = "passwordSyncEnabled",
    ],
};

/// Every table a rule can name in `requires`.
pub const TABLES: &[&TableSpec] = &[
    &PARAMS,
    &ONPREM_OBJECTS,
    &ONPREM_ADDRESSES,
    &ONPREM_VALUES,
    &CLOUD_OBJECTS,
    &CLOUD_ADDRESSES,
    &PROVISIONING_ERRORS,
    &DOMAINS,
    &ORGANIZATION,
    &PASSWORD_SYNC,
    &SYNC_JOBS,
    &ROLE_MEMBERS,
    &SYNC_FEATURES,
];

/// The tables that come from the cloud snapshot.
const CLOUD_TABLES: [&TableSpec; 9] = [
    &CLOUD_OBJECTS,
    &CLOUD_ADDRESSES,
    &PROVISIONING_ERRORS,
    &DOMAINS,
    &ORGANIZATION,
    &PASSWORD_SYNC,
    &SYNC_JOBS,
    &ROLE_MEMBERS,
    &SYNC_FEATURES,
];

pub fn spec(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().copied().find(|t| t.name == name)
}

/// The time and thresholds rules judge against.
#[derive(Debug, Clone)]
pub struct Params {
    pub as_of: DateTime<Utc>,
    pub directory_sync_max_age: chrono::Duration,
    pub password_sync_max_age: chrono::Duration,
    pub cloud_sync_max_age: chrono::Duration,
}

/// The tables built for one audit, and the reason for every table that could not be built.
#[derive(Debug, Default)]
pub struct Tables {
    pub frames: BTreeMap<&'static str, DataFrame>,
    pub unavailable: BTreeMap<&'static str, String>,
    /// Tables built from part of what they declare (an errors-only snapshot): the rules engine
    /// runs a rule on them only when it reports on the rows of the table they are complete for.
    pub partial: BTreeMap<&'static str, Partial>,
    /// The on-prem object classes the exports hold at least one usable object of (before
    /// scoping); `None` when not known (no export, or tables made up for tests), so no rule is
    /// held back for it. Set by [`Tables::set_imported_onprem_classes`].
    pub onprem_classes: Option<std::collections::BTreeSet<onprem::ObjectClass>>,
}

/// Why a table holds only part of what it declares, and which table's objects it does hold
/// all of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    pub reason: String,
    /// Every object that has a row in this table is in the partial table.
    pub complete_for: &'static str,
}

/// Why the directory tables are partial in a `collect --errors-only` snapshot.
pub const ERRORS_ONLY_REASON: &str =
    "errors-only run: only objects with provisioning errors were collected";

impl Tables {
    fn put(&mut self, spec: &'static TableSpec, frame: Result<DataFrame, String>) {
        match frame {
            Ok(df) => {
                debug_assert_eq!(df.schema().as_ref(), &spec.schema(), "table {}", spec.name);
                self.frames.insert(spec.name, df);
            }
            Err(reason) => {
                self.unavailable.insert(spec.name, reason);
            }
        }
    }

    /// Records what the on-prem exports held before scoping. When they held no usable user,
    /// contact or group at all, the on-prem tables are unavailable: an export with nothing usable
    /// in it is no evidence that nothing is wrong, so the rules that need it are "not evaluated".
    pub fn set_imported_onprem_classes(
        &mut self,
        classes: std::collections::BTreeSet<onprem::ObjectClass>,
    ) {
        if classes.is_empty() {
            for spec in [&ONPREM_OBJECTS, &ONPREM_ADDRESSES] {
                self.frames.remove(spec.name);
                self.unavailable.insert(
                    spec.name,
                    "the on-prem exports hold no usable user, contact or group (see the rejected \
                     and skipped records of each file under inputs)"
                        .to_owned(),
                );
            }
        }
        self.onprem_classes = Some(classes);
    }

    /// Every declared table, empty: what the rule tests run against.
    pub fn empty() -> Tables {
        Tables {
            frames: TABLES.iter().map(|t| (t.name, t.empty())).collect(),
            unavailable: BTreeMap::new(),
            partial: BTreeMap::new(),
            onprem_classes: None,
        }
    }
}

/// Builds every table from what was imported. `onprem` is `None` when no on-prem export was given.
pub fn build(
    params: &Params,
    onprem: Option<&[OnPremObject]>,
    upn_source: UpnSource,
    cloud: Option<&CloudSnapshot>,
) -> PolarsResult<Tables> {
    let mut tables = Tables::default();
    tables.put(&PARAMS, Ok(params_frame(params)?));
    // The on-prem and cloud tables share nothing: build them on separate cores.
    let (onprem_tables, cloud_tables) = rayon::join(
        || match onprem {
            Some(objects) => build_onprem(objects, upn_source),
            None => Ok(unavailable(
                &[&ONPREM_OBJECTS, &ONPREM_ADDRESSES, &ONPREM_VALUES],
                "no on-prem export given (--onprem FILE)",
            )),
        },
        || match cloud {
            Some(cloud) => build_cloud(cloud, params),
            None => Ok(unavailable(
                &CLOUD_TABLES,
                "no cloud snapshot given (--cloud DIR)",
            )),
        },
    );
    for part in [onprem_tables?, cloud_tables?] {
        tables.frames.extend(part.frames);
        tables.unavailable.extend(part.unavailable);
        tables.partial.extend(part.partial);
    }
    Ok(tables)
}

fn unavailable(specs: &[&'static TableSpec], reason: &str) -> Tables {
    let mut tables = Tables::default();
    for spec in specs {
        tables.put(spec, Err(reason.to_owned()));
    }
    tables
}

fn build_onprem(objects: &[OnPremObject], upn_source: UpnSource) -> PolarsResult<Tables> {
    let started = std::time::Instant::now();
    let derived: Vec<Derived> = objects
        .par_iter()
        .map(|o| Derived {
            id: onprem::guid_to_string(&o.object_guid),
            addresses: addresses(upn_source.value(o), o.mail.as_deref(), &o.proxy_addresses),
        })
        .collect();
    tracing::debug!(elapsed = ?started.elapsed(), "on-prem addresses derived");
    let (objects_frame, (addresses_frame, values_frame)) = rayon::join(
        || onprem_objects_frame(objects, &derived, upn_source),
        || {
            rayon::join(
                || {
                    let types: Vec<&'static str> =
                        objects.iter().map(|o| o.class.as_str()).collect();
                    address_frame(&ONPREM_ADDRESSES, &derived, &types)
                },
                || onprem_values_frame(objects, &derived, upn_source),
            )
        },
    );
    let mut tables = Tables::default();
    tables.put(&ONPREM_OBJECTS, Ok(objects_frame?));
    tables.put(&ONPREM_ADDRESSES, Ok(addresses_frame?));
    tables.put(&ONPREM_VALUES, Ok(values_frame?));
    Ok(tables)
}

/// What every table of one object needs, computed once per object.
struct Derived<'a> {
    /// on-prem: `object_guid` text; cloud: `id`.
    id: String,
    addresses: Vec<Address<'a>>,
}

/// The tables that come from the cloud snapshot; each needs its collections to be usable.
fn build_cloud(cloud: &CloudSnapshot, params: &Params) -> PolarsResult<Tables> {
    let mut tables = Tables::default();
    let needs = |collections: &[Collection]| -> Result<(), String> {
        let reasons: Vec<String> = collections
            .iter()
            .filter_map(|c| cloud.state(*c).unavailable_reason(*c))
            .collect();
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons.join("; "))
        }
    };

    let directory = [Collection::Users, Collection::Contacts, Collection::Groups];
    match needs(&directory) {
        Ok(()) => {
            for (spec, frame) in directory_frames(cloud)? {
                tables.put(spec, Ok(frame));
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
                tables.put(spec, Err(reason.clone()));
            }
        }
    }

    let domains = match (
        needs(&[Collection::Domains]),
        needs(&[Collection::Organization]),
    ) {
        (Ok(()), _) => Ok(domains_frame(cloud)?),
        (Err(_), Ok(()))
            if cloud
                .organization
                .iter()
                .any(|o| !o.verified_domains.is_empty()) =>
        {
            Ok(verified_domains_frame(cloud)?)
        }
        (Err(reason), _) => Err(reason),
    };
    tables.put(&DOMAINS, domains);

    match needs(&[Collection::Organization]) {
        Ok(()) => {
            tables.put(&ORGANIZATION, Ok(organization_frame(cloud)?));
            let password_sync = if cloud
                .organization
                .iter()
                .any(|o| o.on_premises_last_password_sync_date_time.is_some())
            {
                Ok(password_sync_frame(cloud)?)
            } else {
                Err("organization has no onPremisesLastPasswordSyncDateTime: it is a beta property of the global cloud (national clouds' beta schemas lack it, and collect then reads v1.0 without it), so password hash sync freshness is not evaluated".to_owned())
            };
            tables.put(&PASSWORD_SYNC, password_sync);
        }
        Err(reason) => {
            tables.put(&ORGANIZATION, Err(reason.clone()));
            tables.put(&PASSWORD_SYNC, Err(reason));
        }
    }

    let jobs = match needs(&[Collection::SynchronizationJobs]) {
        Ok(()) => Ok(sync_jobs_frame(cloud, params)?),
        Err(reason) => Err(reason),
    };
    tables.put(&SYNC_JOBS, jobs);

    let roles = role_members(
        cloud,
        needs(&[Collection::RoleAssignments]),
        needs(&[Collection::DirectoryRoles]),
    )?;
    tables.put(&ROLE_MEMBERS, roles);

    let features = match needs(&[Collection::OnPremisesSynchronization]) {
        Ok(()) => Ok(sync_features_frame(cloud)?),
        Err(reason) => Err(format!(
            "{reason} (readable only with a delegated Global Administrator token)"
        )),
    };
    tables.put(&SYNC_FEATURES, features);
    Ok(tables)
}

/// The tables of users, contacts and groups: objects, addresses and provisioning errors, built
/// on separate cores from addresses computed once per object.
fn directory_frames(cloud: &CloudSnapshot) -> PolarsResult<[(&'static TableSpec, DataFrame); 3]> {
    let all: Vec<(&DirectoryObject, &'static str)> = cloud
        .users
        .iter()
        .map(|o| (o, "user"))
        .chain(cloud.contacts.iter().map(|o| (o, "contact")))
        .chain(cloud.groups.iter().map(|o| (o, "group")))
        .collect();
    let derived: Vec<Derived> = all
        .par_iter()
        .map(|(o, _)| Derived {
            id: o.id.clone(),
            addresses: cloud_addresses_of(o),
        })
        .collect();
    let types: Vec<&'static str> = all.iter().map(|(_, t)| *t).collect();
    let (objects_frame, (addresses_frame, errors_frame)) = rayon::join(
        || cloud_objects_frame(&all, &derived),
        || {
            rayon::join(
                || address_frame(&CLOUD_ADDRESSES, &derived, &types),
                || provisioning_errors_frame(&all),
            )
        },
    );
    Ok([
        (&CLOUD_OBJECTS, objects_frame?),
        (&CLOUD_ADDRESSES, addresses_frame?),
        (&PROVISIONING_ERRORS, errors_frame?),
    ])
}

/// Builds a frame column by column, checking each against the table's declared spec.
struct FrameBuilder {
    spec: &'static TableSpec,
    height: usize,
    columns: Vec<Column>,
    started: std::time::Instant,
}

impl FrameBuilder {
    fn new(spec: &'static TableSpec, height: usize) -> Self {
        FrameBuilder {
            spec,
            height,
            columns: Vec::with_capacity(spec.columns.len()),
            started: std::time::Instant::now(),
        }
    }

    fn next_spec(&self, name: &str, ty: ColumnType) -> &'static ColumnSpec {
        let spec = &self.spec.columns[self.columns.len()];
        assert!(
            spec.name == name && spec.ty == ty,
            "table {}: column {} is declared as {}:{:?}, built as {name}:{ty:?}",
            self.spec.name,
            self.columns.len(),
            spec.name,
            spec.ty
        );
        spec
    }

    fn str<S: AsRef<str>>(&mut self, name: &str, values: impl IntoIterator<Item = Option<S>>) {
        let spec = self.next_spec(name, ColumnType::Str);
        // Straight into polars' buffer: each value is copied once and any temporary freed at once.
        let mut builder = StringChunkedBuilder::new(spec.name.into(), self.height);
        for value in values {
            builder.append_option(value.as_ref().map(AsRef::as_ref));
        }
        let series = builder.finish();
        self.columns.push(
            series
                .with_name(spec.name.into())
                .into_series()
                .into_column(),
        );
    }

    fn bool(&mut self, name: &str, values: impl IntoIterator<Item = Option<bool>>) {
        let spec = self.next_spec(name, ColumnType::Bool);
        let series: BooleanChunked = values.into_iter().collect();
        self.columns.push(
            series
                .with_name(spec.name.into())
                .into_series()
                .into_column(),
        );
    }

    fn int(&mut self, name: &str, values: impl IntoIterator<Item = Option<i64>>) {
        let spec = self.next_spec(name, ColumnType::Int);
        let series: Int64Chunked = values.into_iter().collect();
        self.columns.push(
            series
                .with_name(spec.name.into())
                .into_series()
                .into_column(),
        );
    }

    fn time(&mut self, name: &str, values: impl IntoIterator<Item = Option<DateTime<Utc>>>) {
        let spec = self.next_spec(name, ColumnType::Time);
        let series: Int64Chunked = values
            .into_iter()
            .map(|t| t.map(|t| t.timestamp_micros()))
            .collect();
        self.columns.push(
            series
                .with_name(spec.name.into())
                .into_datetime(TimeUnit::Microseconds, None)
                .into_series()
                .into_column(),
        );
    }

    fn finish(self) -> PolarsResult<DataFrame> {
        tracing::debug!(table = self.spec.name, rows = self.height, elapsed = ?self.started.elapsed(), "table built");
        assert_eq!(
            self.columns.len(),
            self.spec.columns.len(),
            "table {}: not every declared column was built",
            self.spec.name
        );
        DataFrame::new(self.height, self.columns)
    }
}

fn params_frame(p: &Params) -> PolarsResult<DataFrame> {
    let mut f = FrameBuilder::new(&PARAMS, 1);
    f.time("as_of", [Some(p.as_of)]);
    f.time(
        "directory_sync_cutoff",
        [Some(p.as_of - p.directory_sync_max_age)],
    );
    f.time(
        "password_sync_cutoff",
        [Some(p.as_of - p.password_sync_max_age)],
    );
    f.time("cloud_sync_cutoff", [Some(p.as_of - p.cloud_sync_max_age)]);
    f.finish()
}

fn lower(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase)
}

fn upn_suffix(upn: Option<&str>) -> Option<String> {
    upn.and_then(|u| u.rsplit_once('@'))
        .map(|(_, domain)| domain.trim().to_lowercase())
        .filter(|d| !d.is_empty())
}

/// One UPN or SMTP address of an object, as the address tables hold it.
/// Borrowed from the object it belongs to (a million objects hold several million addresses:
/// copying each would double the memory of the table build); `value` is only allocated when
/// lower-casing changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Address<'a> {
    kind: &'static str,
    value: Cow<'a, str>,
    is_primary: bool,
    origin: &'static str,
    raw: &'a str,
}

/// `s` trimmed and lower-cased, borrowed when it already is.
fn lower_cow(s: &str) -> Cow<'_, str> {
    let s = s.trim();
    if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The distinct UPN and SMTP addresses of one object. Entra keeps mail and the SMTP proxy
/// addresses in one namespace; when there is no `SMTP:` proxy address, mail is the primary.
fn addresses<'a>(
    upn: Option<&'a str>,
    mail: Option<&'a str>,
    proxies: &'a [String],
) -> Vec<Address<'a>> {
    let mut out: Vec<Address<'a>> = Vec::new();
    if let Some(upn) = upn.filter(|u| !u.trim().is_empty()) {
        out.push(Address {
            kind: "upn",
            value: lower_cow(upn),
            is_primary: true,
            origin: "userPrincipalName",
            raw: upn,
        });
    }
    let mut has_primary = false;
    for proxy in proxies {
        let Some((prefix, value)) = proxy.split_once(':') else {
            continue;
        };
        if !prefix.eq_ignore_ascii_case("smtp") || value.trim().is_empty() {
            continue;
        }
        let is_primary = prefix == "SMTP";
        has_primary |= is_primary;
        let address = lower_cow(value);
        match out
            .iter_mut()
            .find(|a| a.kind == "smtp" && a.value == address)
        {
            Some(existing) => existing.is_primary |= is_primary,
            None => out.push(Address {
                kind: "smtp",
                value: address,
                is_primary,
                origin: "proxyAddresses",
                raw: proxy,
            }),
        }
    }
    if let Some(mail) = mail.filter(|m| !m.trim().is_empty()) {
        let address = lower_cow(mail);
        if !out.iter().any(|a| a.kind == "smtp" && a.value == address) {
            out.push(Address {
                kind: "smtp",
                value: address,
                is_primary: !has_primary,
                origin: "mail",
                raw: mail,
            });
        }
    }
    out
}

fn primary_smtp(addresses: &[Address<'_>]) -> Option<String> {
    addresses
        .iter()
        .find(|a| a.kind == "smtp" && a.is_primary)
        .map(|a| a.value.to_string())
}

fn onprem_objects_frame(
    objects: &[OnPremObject],
    derived: &[Derived<'_>],
    upn_source: UpnSource,
) -> PolarsResult<DataFrame> {
    let primaries: Vec<Option<String>> =
        derived.iter().map(|d| primary_smtp(&d.addresses)).collect();
    let mut f = FrameBuilder::new(&ONPREM_OBJECTS, objects.len());
    f.str("object_guid", derived.iter().map(|d| Some(&d.id)));
    f.str(
        "object_type",
        objects.iter().map(|o| Some(o.class.as_str())),
    );
    f.str(
        "source_anchor",
        objects.iter().map(|o| Some(&o.source_anchor)),
    );
    f.str(
        "anchor_attribute",
        objects.iter().map(|o| Some(o.anchor_attribute.as_str())),
    );
    f.str("object_sid", objects.iter().map(|o| o.object_sid.as_ref()));
    f.str(
        "distinguished_name",
        objects.iter().map(|o| Some(&o.distinguished_name)),
    );
    f.str(
        "domain",
        objects.iter().map(|o| dn_domain(&o.distinguished_name)),
    );
    f.str(
        "user_principal_name",
        objects.iter().map(|o| o.user_principal_name.as_ref()),
    );
    f.str("cloud_upn", objects.iter().map(|o| upn_source.value(o)));
    f.str(
        "upn_lower",
        objects.iter().map(|o| lower(upn_source.value(o))),
    );
    f.str(
        "upn_suffix",
        objects.iter().map(|o| upn_suffix(upn_source.value(o))),
    );
    f.str(
        "sam_account_name",
        objects.iter().map(|o| o.sam_account_name.as_ref()),
    );
    f.str("mail", objects.iter().map(|o| o.mail.as_ref()));
    f.str(
        "mail_nickname",
        objects.iter().map(|o| o.mail_nickname.as_ref()),
    );
    f.str(
        "display_name",
        objects.iter().map(|o| o.display_name.as_ref()),
    );
    f.str("primary_smtp", primaries.iter().map(Option::as_ref));
    f.bool("mail_enabled", primaries.iter().map(|p| Some(p.is_some())));
    f.bool("enabled", objects.iter().map(|o| o.enabled));
    let int = |n: Option<u64>| n.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    f.int(
        "proxy_address_count",
        objects
            .iter()
            .map(|o| Some(i64::try_from(o.proxy_addresses.len()).unwrap_or(i64::MAX))),
    );
    f.int(
        "certificate_count",
        objects.iter().map(|o| int(o.sizes.certificates)),
    );
    f.int(
        "smime_certificate_count",
        objects.iter().map(|o| int(o.sizes.smime_certificates)),
    );
    f.int(
        "thumbnail_photo_bytes",
        objects.iter().map(|o| int(o.sizes.thumbnail_photo_bytes)),
    );
    f.int("member_count", objects.iter().map(|o| int(o.sizes.members)));
    f.str(
        "source_file",
        // A handful of files for a million objects: render each path once.
        {
            let mut last: Option<(&std::path::Path, std::rc::Rc<str>)> = None;
            let mut rendered = Vec::with_capacity(objects.len());
            for o in objects {
                if last
                    .as_ref()
                    .is_none_or(|(p, _)| *p != o.origin.file.as_path())
                {
                    let text: std::rc::Rc<str> = o.origin.file.display().to_string().into();
                    last = Some((o.origin.file.as_path(), text));
                }
                rendered.push(last.as_ref().map(|(_, s)| std::rc::Rc::clone(s)));
            }
            rendered
        },
    );
    f.int(
        "source_line",
        objects
            .iter()
            .map(|o| Some(i64::try_from(o.origin.line).unwrap_or(i64::MAX))),
    );
    f.finish()
}

/// One attribute value and the facts the validation rules judge (see [`ONPREM_VALUES`]).
struct ValueFacts<'a> {
    object: usize,
    attribute: &'static str,
    value: &'a str,
    value_count: usize,
    prefix: Option<&'a str>,
    is_smtp: bool,
    address: &'a str,
}

/// Length as Entra counts it. Microsoft documents limits in "characters" without saying how a
/// character is counted; .NET strings (Entra Connect, the Graph service) count UTF-16 code
/// units, so that is what is used (UNVERIFIED: it differs from code points only outside the BMP).
fn utf16_len(s: &str) -> i64 {
    i64::try_from(s.encode_utf16().count()).unwrap_or(i64::MAX)
}

/// Whether a character would be invisible or ambiguous in a message: controls, format
/// characters (zero-width space and joiners, soft hyphen, byte-order mark, bidi marks) and any
/// whitespace other than the plain space.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c, '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{feff}' | '\u{ffa0}' | '\u{fff9}'..='\u{fffb}')
}

/// The value with hidden characters (and leading or trailing spaces) written as `\u{XXXX}`.
pub fn escape_value(value: &str) -> String {
    let leading = value.len() - value.trim_start_matches(' ').len();
    let trailing_start = value.trim_end_matches(' ').len().max(leading);
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.char_indices() {
        if is_hidden(c) || (c == ' ' && (i < leading || i >= trailing_start)) {
            let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// The distinct characters of `address` that are not ASCII letters or digits, escaped.
fn symbols(address: &str) -> Option<String> {
    let mut seen: Vec<char> = Vec::new();
    for c in address.chars() {
        if !c.is_ascii_alphanumeric() && !seen.contains(&c) {
            seen.push(c);
        }
    }
    (!seen.is_empty()).then(|| {
        seen.iter()
            .map(|&c| {
                if c == ' ' || is_hidden(c) {
                    format!("\\u{{{:04x}}}", u32::from(c))
                } else {
                    c.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    })
}

/// Splits an address type prefix (`SMTP:`, `X500:`) from its address.
fn split_prefix(value: &str) -> (Option<&str>, &str) {
    match value.split_once(':') {
        Some((prefix, address)) => (Some(prefix), address),
        None => (None, value),
    }
}

fn value_facts(objects: &[OnPremObject]) -> Vec<ValueFacts<'_>> {
    let mut rows = Vec::new();
    for (index, o) in objects.iter().enumerate() {
        let singles = [
            ("userPrincipalName", o.user_principal_name.as_ref(), true),
            ("mail", o.mail.as_ref(), true),
            ("mailNickname", o.mail_nickname.as_ref(), false),
            ("displayName", o.display_name.as_ref(), false),
            ("givenName", o.given_name.as_ref(), false),
            ("sn", o.surname.as_ref(), false),
            ("sAMAccountName", o.sam_account_name.as_ref(), false),
        ];
        for (attribute, value, is_smtp) in singles {
            if let Some(value) = value {
                rows.push(ValueFacts {
                    object: index,
                    attribute,
                    value,
                    value_count: 1,
                    prefix: None,
                    is_smtp,
                    address: value,
                });
            }
        }
        let prefixed = o
            .target_address
            .iter()
            .map(|v| ("targetAddress", v, 1))
            .chain(
                o.proxy_addresses
                    .iter()
                    .map(|v| ("proxyAddresses", v, o.proxy_addresses.len())),
            );
        for (attribute, value, value_count) in prefixed {
            let (prefix, address) = split_prefix(value);
            rows.push(ValueFacts {
                object: index,
                attribute,
                value,
                value_count,
                prefix,
                is_smtp: prefix.is_some_and(|p| p.eq_ignore_ascii_case("smtp")),
                address,
            });
        }
    }
    rows
}

fn onprem_values_frame(
    objects: &[OnPremObject],
    derived: &[Derived<'_>],
    upn_source: UpnSource,
) -> PolarsResult<DataFrame> {
    let rows = value_facts(objects);
    let parts: Vec<Option<(&str, &str)>> =
        rows.iter().map(|r| r.address.rsplit_once('@')).collect();
    let mut f = FrameBuilder::new(&ONPREM_VALUES, rows.len());
    f.str(
        "object_guid",
        rows.iter().map(|r| Some(&derived[r.object].id)),
    );
    f.str(
        "object_type",
        rows.iter().map(|r| Some(objects[r.object].class.as_str())),
    );
    f.str("attribute", rows.iter().map(|r| Some(r.attribute)));
    f.str("value", rows.iter().map(|r| Some(r.value)));
    f.str("shown", rows.iter().map(|r| Some(escape_value(r.value))));
    f.int("length", rows.iter().map(|r| Some(utf16_len(r.value))));
    f.int(
        "value_count",
        rows.iter()
            .map(|r| Some(i64::try_from(r.value_count).unwrap_or(i64::MAX))),
    );
    f.str("prefix", rows.iter().map(|r| r.prefix));
    f.bool(
        "becomes_cloud_upn",
        rows.iter()
            .map(|r| Some(r.attribute == upn_source.attribute())),
    );
    f.bool("is_smtp", rows.iter().map(|r| Some(r.is_smtp)));
    f.str("address", rows.iter().map(|r| Some(r.address)));
    f.int(
        "at_count",
        rows.iter()
            .map(|r| Some(i64::try_from(r.address.matches('@').count()).unwrap_or(i64::MAX))),
    );
    f.str(
        "local_part",
        parts.iter().map(|p| p.map(|(local, _)| local)),
    );
    f.str(
        "domain",
        parts
            .iter()
            .map(|p| p.map(|(_, domain)| domain.to_lowercase())),
    );
    f.int(
        "local_length",
        parts.iter().map(|p| p.map(|(local, _)| utf16_len(local))),
    );
    f.int(
        "domain_length",
        parts.iter().map(|p| p.map(|(_, domain)| utf16_len(domain))),
    );
    f.str("symbols", rows.iter().map(|r| symbols(r.address)));
    f.finish()
}

fn address_frame(
    spec: &'static TableSpec,
    derived: &[Derived<'_>],
    types: &[&'static str],
) -> PolarsResult<DataFrame> {
    let rows: Vec<(&str, &'static str, &Address<'_>)> = derived
        .iter()
        .zip(types)
        .flat_map(|(d, t)| d.addresses.iter().map(move |a| (d.id.as_str(), *t, a)))
        .collect();
    let mut f = FrameBuilder::new(spec, rows.len());
    f.str("object_id", rows.iter().map(|(id, _, _)| Some(*id)));
    f.str("object_type", rows.iter().map(|(_, t, _)| Some(*t)));
    f.str("kind", rows.iter().map(|(_, _, a)| Some(a.kind)));
    f.str("address", rows.iter().map(|(_, _, a)| Some(&*a.value)));
    f.bool(
        "is_primary",
        rows.iter().map(|(_, _, a)| Some(a.is_primary)),
    );
    f.str("origin", rows.iter().map(|(_, _, a)| Some(a.origin)));
    f.str("raw", rows.iter().map(|(_, _, a)| Some(a.raw)));
    f.finish()
}

fn cloud_addresses_of(o: &DirectoryObject) -> Vec<Address<'_>> {
    addresses(
        o.user_principal_name.as_deref(),
        o.mail.as_deref(),
        &o.proxy_addresses,
    )
}

// One statement per declared column: splitting it would scatter the table across functions.
#[allow(clippy::too_many_lines)]
fn cloud_objects_frame(
    all: &[(&DirectoryObject, &'static str)],
    derived: &[Derived<'_>],
) -> PolarsResult<DataFrame> {
    let primaries: Vec<Option<String>> =
        derived.iter().map(|d| primary_smtp(&d.addresses)).collect();
    let mut f = FrameBuilder::new(&CLOUD_OBJECTS, all.len());
    f.str("id", all.iter().map(|(o, _)| Some(&o.id)));
    f.str("object_type", all.iter().map(|(_, t)| Some(*t)));
    f.str(
        "display_name",
        all.iter().map(|(o, _)| o.display_name.as_ref()),
    );
    f.str(
        "user_principal_name",
        all.iter().map(|(o, _)| o.user_principal_name.as_ref()),
    );
    f.str(
        "upn_lower",
        all.iter()
            .map(|(o, _)| lower(o.user_principal_name.as_deref())),
    );
    f.str(
        "upn_suffix",
        all.iter()
            .map(|(o, _)| upn_suffix(o.user_principal_name.as_deref())),
    );
    f.str("mail", all.iter().map(|(o, _)| o.mail.as_ref()));
    f.str(
        "mail_nickname",
        all.iter().map(|(o, _)| o.mail_nickname.as_ref()),
    );
    f.str("primary_smtp", primaries.iter().map(Option::as_ref));
    f.bool(
        "mail_enabled",
        all.iter().zip(&primaries).map(|((o, t), p)| {
            Some(if *t == "group" {
                o.mail_enabled.unwrap_or(false)
            } else {
                p.is_some()
            })
        }),
    );
    f.bool(
        "security_enabled",
        all.iter().map(|(o, _)| o.security_enabled),
    );
    f.str(
        "immutable_id",
        all.iter().map(|(o, _)| {
            o.on_premises_immutable_id
                .as_ref()
                .filter(|s| !s.is_empty())
        }),
    );
    f.bool(
        "sync_enabled",
        all.iter().map(|(o, _)| o.on_premises_sync_enabled),
    );
    f.str(
        "sync_state",
        all.iter().map(|(o, _)| {
            Some(match o.on_premises_sync_enabled {
                Some(true) => "synced",
                Some(false) => "formerly_synced",
                None => "cloud_only",
            })
        }),
    );
    f.time(
        "last_sync_time",
        all.iter().map(|(o, _)| o.on_premises_last_sync_date_time),
    );
    f.str(
        "onprem_distinguished_name",
        all.iter()
            .map(|(o, _)| o.on_premises_distinguished_name.as_ref()),
    );
    f.str(
        "onprem_sam_account_name",
        all.iter()
            .map(|(o, _)| o.on_premises_sam_account_name.as_ref()),
    );
    f.str(
        "onprem_domain_name",
        all.iter()
            .map(|(o, _)| lower(o.on_premises_domain_name.as_deref())),
    );
    f.str(
        "onprem_security_identifier",
        all.iter()
            .map(|(o, _)| o.on_premises_security_identifier.as_ref()),
    );
    f.str(
        "onprem_user_principal_name",
        all.iter()
            .map(|(o, _)| o.on_premises_user_principal_name.as_ref()),
    );
    f.time("created_time", all.iter().map(|(o, _)| o.created_date_time));
    f.bool(
        "account_enabled",
        all.iter().map(|(o, _)| o.account_enabled),
    );
    f.str("user_type", all.iter().map(|(o, _)| o.user_type.as_ref()));
    f.finish()
}

fn provisioning_errors_frame(all: &[(&DirectoryObject, &'static str)]) -> PolarsResult<DataFrame> {
    let rows: Vec<_> = all
        .iter()
        .flat_map(|(o, t)| {
            o.on_premises_provisioning_errors
                .iter()
                .map(move |e| (*o, *t, e))
        })
        .collect();
    // Graph documents `ProxyAddress`; real responses also say `ProxyAddresses`
    // (https://learn.microsoft.com/graph/api/resources/onpremisesprovisioningerror).
    let property = |p: Option<&str>| -> Option<String> {
        p.map(|p| match p.to_ascii_lowercase().as_str() {
            "proxyaddress" | "proxyaddresses" => "ProxyAddress".to_owned(),
            "userprincipalname" => "UserPrincipalName".to_owned(),
            _ => p.to_owned(),
        })
    };
    let kind = |p: Option<&str>| match property(p).as_deref() {
        Some("ProxyAddress") => Some("smtp"),
        Some("UserPrincipalName") => Some("upn"),
        _ => None,
    };
    let address = |v: Option<&str>| {
        v.map(|v| {
            let v = v.trim();
            match v.split_once(':') {
                Some((prefix, rest)) if prefix.eq_ignore_ascii_case("smtp") => rest.to_lowercase(),
                _ => v.to_lowercase(),
            }
        })
    };
    let mut f = FrameBuilder::new(&PROVISIONING_ERRORS, rows.len());
    f.str("object_id", rows.iter().map(|(o, _, _)| Some(&o.id)));
    f.str("object_type", rows.iter().map(|(_, t, _)| Some(*t)));
    f.str("category", rows.iter().map(|(_, _, e)| e.category.as_ref()));
    f.str(
        "property",
        rows.iter()
            .map(|(_, _, e)| property(e.property_causing_error.as_deref())),
    );
    f.str(
        "kind",
        rows.iter()
            .map(|(_, _, e)| kind(e.property_causing_error.as_deref())),
    );
    f.str("value", rows.iter().map(|(_, _, e)| e.value.as_ref()));
    f.str(
        "address",
        rows.iter().map(|(_, _, e)| address(e.value.as_deref())),
    );
    f.time(
        "occurred_time",
        rows.iter().map(|(_, _, e)| e.occurred_date_time),
    );
    f.finish()
}

fn domains_frame(cloud: &CloudSnapshot) -> PolarsResult<DataFrame> {
    let d = &cloud.domains;
    let mut f = FrameBuilder::new(&DOMAINS, d.len());
    f.str("name", d.iter().map(|d| Some(d.id.to_lowercase())));
    f.bool("is_verified", d.iter().map(|d| d.is_verified));
    f.bool("is_default", d.iter().map(|d| d.is_default));
    f.bool("is_initial", d.iter().map(|d| d.is_initial));
    f.str(
        "authentication_type",
        d.iter().map(|d| d.authentication_type.as_ref()),
    );
    f.finish()
}

fn verified_domains_frame(cloud: &CloudSnapshot) -> PolarsResult<DataFrame> {
    let d: Vec<_> = cloud
        .organization
        .iter()
        .flat_map(|o| &o.verified_domains)
        .filter(|d| d.name.as_deref().is_some_and(|n| !n.is_empty()))
        .collect();
    let mut f = FrameBuilder::new(&DOMAINS, d.len());
    f.str(
        "name",
        d.iter().map(|d| d.name.as_deref().map(str::to_lowercase)),
    );
    f.bool("is_verified", d.iter().map(|_| Some(true)));
    f.bool("is_default", d.iter().map(|d| d.is_default));
    f.bool("is_initial", d.iter().map(|d| d.is_initial));
    f.str("authentication_type", d.iter().map(|_| None::<&str>));
    f.finish()
}

fn organization_frame(cloud: &CloudSnapshot) -> PolarsResult<DataFrame> {
    let o = &cloud.organization;
    let mut f = FrameBuilder::new(&ORGANIZATION, o.len());
    f.str("tenant_id", o.iter().map(|o| Some(&o.id)));
    f.str("display_name", o.iter().map(|o| o.display_name.as_ref()));
    f.bool("sync_enabled", o.iter().map(|o| o.on_premises_sync_enabled));
    f.time(
        "last_sync_time",
        o.iter().map(|o| o.on_premises_last_sync_date_time),
    );
    f.finish()
}

fn password_sync_frame(cloud: &CloudSnapshot) -> PolarsResult<DataFrame> {
    let o: Vec<_> = cloud
        .organization
        .iter()
        .filter(|o| o.on_premises_last_password_sync_date_time.is_some())
        .collect();
    let mut f = FrameBuilder::new(&PASSWORD_SYNC, o.len());
    f.str("tenant_id", o.iter().map(|o| Some(&o.id)));
    f.time(
        "last_password_sync_time",
        o.iter()
            .map(|o| o.on_premises_last_password_sync_date_time.flatten()),
    );
    f.finish()
}

// One statement per declared column: splitting it would scatter the table across functions.
#[allow(clippy::too_many_lines)]
fn sync_jobs_frame(cloud: &CloudSnapshot, params: &Params) -> PolarsResult<DataFrame> {
    let jobs = &cloud.sync_jobs;
    let status = |j: &crate::inputs::snapshot::SyncJob| j.status.clone().unwrap_or_default();
    let statuses: Vec<_> = jobs.iter().map(status).collect();
    let quarantine: Vec<_> = statuses.iter().map(|s| s.quarantine.clone()).collect();
    let last: Vec<_> = statuses
        .iter()
        .map(|s| s.last_execution.clone().unwrap_or_default())
        .collect();
    let mut f = FrameBuilder::new(&SYNC_JOBS, jobs.len());
    f.str(
        "service_principal_id",
        jobs.iter().map(|j| j.service_principal_id.as_ref()),
    );
    f.str(
        "configuration",
        jobs.iter()
            .map(|j| j.service_principal_display_name.as_ref()),
    );
    f.str("job_id", jobs.iter().map(|j| Some(&j.id)));
    f.str("template_id", jobs.iter().map(|j| j.template_id.as_ref()));
    f.str("domain", jobs.iter().map(|j| j.setting("DomainFQDN")));
    f.str(
        "schedule_state",
        jobs.iter()
            .map(|j| j.schedule.as_ref().and_then(|s| s.state.as_ref())),
    );
    f.str("status_code", statuses.iter().map(|s| s.code.as_ref()));
    f.str(
        "quarantine_reason",
        quarantine
            .iter()
            .map(|q| q.as_ref().and_then(|q| q.reason.as_ref())),
    );
    f.time(
        "quarantine_since",
        quarantine
            .iter()
            .map(|q| q.as_ref().and_then(|q| q.series_began)),
    );
    f.time(
        "quarantine_current_began",
        quarantine
            .iter()
            .map(|q| q.as_ref().and_then(|q| q.current_began)),
    );
    f.time(
        "quarantine_next_attempt",
        quarantine
            .iter()
            .map(|q| q.as_ref().and_then(|q| q.next_attempt)),
    );
    f.int(
        "quarantine_series_count",
        quarantine
            .iter()
            .map(|q| q.as_ref().and_then(|q| q.series_count)),
    );
    f.str(
        "quarantine_error_code",
        quarantine.iter().map(|q| {
            q.as_ref()
                .and_then(|q| q.error.as_ref())
                .and_then(|e| e.code.as_ref())
        }),
    );
    f.str(
        "quarantine_error_message",
        quarantine.iter().map(|q| {
            q.as_ref()
                .and_then(|q| q.error.as_ref())
                .and_then(|e| e.message.as_ref())
        }),
    );
    f.int(
        "successive_failures",
        statuses
            .iter()
            .map(|s| s.count_successive_complete_failures),
    );
    f.str(
        "last_execution_state",
        last.iter().map(|e| e.state.as_ref()),
    );
    f.time("last_execution_began", last.iter().map(|e| e.time_began));
    f.time("last_execution_ended", last.iter().map(|e| e.time_ended));
    f.str(
        "last_execution_error_code",
        last.iter()
            .map(|e| e.error.as_ref().and_then(|e| e.code.as_ref())),
    );
    f.str(
        "last_execution_error_message",
        last.iter()
            .map(|e| e.error.as_ref().and_then(|e| e.message.as_ref())),
    );
    f.time(
        "last_success_time",
        statuses.iter().map(|s| {
            s.last_successful_execution
                .as_ref()
                .and_then(|e| e.time_ended)
        }),
    );
    f.str(
        "troubleshooting_url",
        statuses
            .iter()
            .map(|s| s.troubleshooting_url.as_ref().filter(|u| !u.is_empty())),
    );
    f.int("escrowed_count", last.iter().map(|e| e.count_escrowed));
    f.str(
        "health",
        jobs.iter()
            .map(|j| Some(j.health(params.as_of, params.cloud_sync_max_age).as_str())),
    );
    f.finish()
}

/// `role_members` from roleAssignments when it was read, else from directoryRoles unless a role
/// reaches Graph's `$expand` cap (then the members may be cut short and the table is refused).
fn role_members(
    cloud: &CloudSnapshot,
    complete: Result<(), String>,
    old: Result<(), String>,
) -> PolarsResult<Result<DataFrame, String>> {
    Ok(match (complete, old) {
        (Ok(()), _) => Ok(role_holders_frame(cloud)?),
        (Err(complete), Ok(())) => match capped_role(cloud) {
            None => Ok(role_members_frame(cloud)?),
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
pub const EXPAND_CAP: usize = 20;

/// A directoryRole whose expanded members reach the cap: the list may be cut short.
fn capped_role(cloud: &CloudSnapshot) -> Option<String> {
    cloud
        .directory_roles
        .iter()
        .find(|r| r.members.len() >= EXPAND_CAP)
        .map(|r| r.display_name.clone().unwrap_or_else(|| r.id.clone()))
}

/// `role_members` from the complete sources: active assignments and, when collected, eligible ones.
fn role_holders_frame(cloud: &CloudSnapshot) -> PolarsResult<DataFrame> {
    let eligible: &[crate::inputs::snapshot::RoleHolder] =
        if cloud.state(Collection::RoleEligibilities).is_loaded() {
            &cloud.role_eligibilities
        } else {
            &[]
        };
    let rows: Vec<(&crate::inputs::snapshot::RoleHolder, &'static str)> = cloud
        .role_assignments
        .iter()
        .map(|h| (h, "active"))
        .chain(eligible.iter().map(|h| (h, "eligible")))
        .collect();
    let mut f = FrameBuilder::new(&ROLE_MEMBERS, rows.len());
    f.str(
        "role_id",
        rows.iter().map(|(h, _)| Some(&h.role_definition_id)),
    );
    f.str(
        "role_name",
        rows.iter().map(|(h, _)| h.role_display_name.as_ref()),
    );
    f.str(
        "role_template_id",
        rows.iter()
            .map(|(h, _)| h.role_template_id.as_ref().or(Some(&h.role_definition_id))),
    );
    f.str("member_id", rows.iter().map(|(h, _)| Some(&h.member_id)));
    f.str(
        "member_type",
        rows.iter().map(|(h, _)| h.member_type.as_ref()),
    );
    f.str("assignment", rows.iter().map(|(_, a)| Some(*a)));
    f.str(
        "via_group_id",
        rows.iter()
            .map(|(h, _)| (h.principal_id != h.member_id).then_some(h.principal_id.as_str())),
    );
    f.finish()
}

fn role_members_frame(cloud: &CloudSnapshot) -> PolarsResult<DataFrame> {
    let rows: Vec<_> = cloud
        .directory_roles
        .iter()
        .flat_map(|r| r.members.iter().map(move |m| (r, m)))
        .collect();
    let mut f = FrameBuilder::new(&ROLE_MEMBERS, rows.len());
    f.str("role_id", rows.iter().map(|(r, _)| Some(&r.id)));
    f.str(
        "role_name",
        rows.iter().map(|(r, _)| r.display_name.as_ref()),
    );
    f.str(
        "role_template_id",
        rows.iter().map(|(r, _)| r.role_template_id.as_ref()),
    );
    f.str("member_id", rows.iter().map(|(_, m)| Some(&m.id)));
    f.str(
        "member_type",
        rows.iter().map(|(_, m)| {
            m.odata_type
                .as_deref()
                .map(|t| t.trim_start_matches("#microsoft.graph.").to_owned())
        }),
    );
    f.str("assignment", rows.iter().map(|_| Some("active")));
    f.str("via_group_id", rows.iter().map(|_| None::<&str>));
    f.finish()
}

fn sync_features_frame(cloud: &CloudSnapshot) -> PolarsResult<DataFrame> {
    let d = &cloud.directory_synchronization;
    let mut f = FrameBuilder::new(&SYNC_FEATURES, d.len());
    f.str("tenant_id", d.iter().map(|d| Some(&d.id)));
    f.bool(
        "block_soft_match",
        d.iter().map(|d| d.features.block_soft_match_enabled),
    );
    f.bool(
        "block_hard_match_takeover",
        d.iter().map(|d| {
            d.features
                .block_cloud_object_takeover_through_hard_match_enabled
        }),
    );
    f.bool(
        "allow_onprem_object_identifier_update",
        d.iter().map(|d| {
            d.features
                .allow_on_prem_update_of_on_premises_object_identifier_enabled
        }),
    );
    f.bool(
        "soft_match_on_upn",
        d.iter().map(|d| d.features.soft_match_on_upn_enabled),
    );
    f.bool(
        "password_sync_enabled",
        d.iter().map(|d| d.features.password_sync_enabled),
    );
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_and_columns_are_unique() {
        let mut names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLES.len());
        for t in TABLES {
            let mut cols: Vec<_> = t.columns.iter().map(|c| c.name).collect();
            cols.sort_unstable();
            cols.dedup();
            assert_eq!(cols.len(), t.columns.len(), "{}", t.name);
        }
    }

    #[test]
    fn an_export_with_no_usable_object_makes_the_onprem_tables_unavailable() {
        let params = Params {
            as_of: chrono::Utc::now(),
            directory_sync_max_age: chrono::Duration::hours(3),
            password_sync_max_age: chrono::Duration::hours(24),
            cloud_sync_max_age: chrono::Duration::hours(24),
        };
        let mut tables = build(&params, Some(&[]), UpnSource::UserPrincipalName, None).unwrap();
        tables.set_imported_onprem_classes(std::collections::BTreeSet::new());
        for name in ["onprem_objects", "onprem_addresses"] {
            assert!(!tables.frames.contains_key(name), "{name}");
            assert!(
                tables.unavailable[name].contains("no usable user, contact or group"),
                "{name}: {}",
                tables.unavailable[name]
            );
        }
        assert_eq!(
            tables.onprem_classes,
            Some(std::collections::BTreeSet::new())
        );
    }

    #[test]
    fn addresses_mark_primary_and_merge_mail() {
        let proxies: Vec<String> = vec![
            "SMTP:Ann@Contoso.com".into(),
            "smtp:ann.alias@contoso.com".into(),
            "X500:/o=x".into(),
            "smtp:ANN.ALIAS@contoso.com".into(),
        ];
        let a = addresses(Some("Ann@Contoso.com"), Some("ann@contoso.com"), &proxies);
        let smtp: Vec<_> = a.iter().filter(|a| a.kind == "smtp").collect();
        assert_eq!(smtp.len(), 2, "{a:?}");
        assert!(smtp[0].is_primary && smtp[0].value == "ann@contoso.com");
        assert!(!smtp[1].is_primary);
        assert_eq!(a[0].kind, "upn");
        assert_eq!(a[0].value, "ann@contoso.com");
    }

    #[test]
    fn mail_is_primary_only_without_an_smtp_proxy() {
        let a = addresses(None, Some("Bob@x.com"), &[]);
        assert!(a[0].is_primary && a[0].origin == "mail");
        let proxies: Vec<String> = vec!["SMTP:bob@x.com".into()];
        let b = addresses(None, Some("bob2@x.com"), &proxies);
        assert!(b.iter().any(|a| a.value == "bob2@x.com" && !a.is_primary));
    }

    #[test]
    fn values_are_escaped_so_invisible_characters_show() {
        assert_eq!(escape_value("ann@contoso.com"), "ann@contoso.com");
        assert_eq!(escape_value("o'brien @x"), "o'brien @x");
        assert_eq!(escape_value(" ann@x.com "), "\\u{0020}ann@x.com\\u{0020}");
        assert_eq!(escape_value("eve\u{200b}@x"), "eve\\u{200b}@x");
        assert_eq!(escape_value("a\tb\u{a0}c"), "a\\u{0009}b\\u{00a0}c");
        assert_eq!(escape_value("   "), "\\u{0020}\\u{0020}\\u{0020}");
        assert_eq!(escape_value("jürgen"), "jürgen");
        assert_eq!(symbols("a.b@c.d"), Some(". @".to_owned()));
        assert_eq!(symbols("ab"), None);
        assert_eq!(utf16_len("a\u{1f600}"), 3);
    }

    #[test]
    fn dn_domain_reads_dc_parts() {
        assert_eq!(
            dn_domain("CN=Smith\\, John,OU=Staff,DC=Contoso,DC=local").as_deref(),
            Some("contoso.local")
        );
        assert_eq!(dn_domain("CN=x,OU=y"), None);
    }

    #[test]
    fn every_table_has_exactly_one_source() {
        for spec in TABLES {
            let sources = usize::from(spec.name == PARAMS.name)
                + usize::from(
                    [
                        ONPREM_OBJECTS.name,
                        ONPREM_ADDRESSES.name,
                        ONPREM_VALUES.name,
                    ]
                    .contains(&spec.name),
                )
                + usize::from(CLOUD_TABLES.iter().any(|c| c.name == spec.name));
            assert_eq!(sources, 1, "{}", spec.name);
        }
    }

    #[test]
    fn empty_tables_have_declared_schemas() {
        let t = Tables::empty();
        for spec in TABLES {
            assert_eq!(t.frames[spec.name].schema().as_ref(), &spec.schema());
        }
    }
}
