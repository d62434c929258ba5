//! The tables the rules query: the ONE place where table names, columns and polars schemas are
//! declared ([`TABLES`]), and the code that fills them from on-prem objects and a cloud snapshot.
//! Each table is declared once with [`table!`]: a column's name, type, doc and the expression
//! that computes it stand together, so a declaration and its builder cannot disagree.
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
    CloudSnapshot, Collection, DirectoryObject, DirectorySynchronization, Organization,
    PROVISIONING_ERRORS_SCOPE, ProvisioningError, Quarantine, SyncJob, SyncStatus, TaskExecution,
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

#[derive(Debug, PartialEq, Eq)]
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

/// Declares a table ONCE: its name and doc, and for every column its name, type, doc and the
/// expression that computes it from one row. It expands to the table's [`TableSpec`] constant
/// (what rules, docs and the empty schemas read) and to the function that builds the frame from
/// a slice of rows. A column's declared type picks the builder its values go through, and the
/// columns are built in the order they are declared, so a table cannot be built with a column
/// missing, misnamed, out of order or of another type: that does not compile.
///
/// ```text
/// table! {
///     pub const NAME = "sql_name", "doc";
///     fn builder(&[RowType<'_>], extra: Arg) |row| {
///         "column": Str = "doc" => expression giving Option<impl AsRef<str>>,
///         "flag": Bool = "doc" => Option<bool>,   // Int: Option<i64>, Time: Option<DateTime<Utc>>
///     }
/// }
/// ```
///
/// The `columns` form declares a column list shared by several tables (the address tables): its
/// builder takes the table's spec, which must use that list.
macro_rules! table {
    (
        $(#[$attr:meta])*
        $vis:vis const $spec:ident = $name:literal, $doc:literal;
        fn $build:ident(&[$rowty:ty] $(, $arg:ident: $argty:ty)* $(,)?) |$row:ident| {
            $($col:literal : $ty:ident = $cdoc:literal => $value:expr),* $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis const $spec: TableSpec = TableSpec {
            name: $name,
            doc: $doc,
            columns: &[$(ColumnSpec { name: $col, ty: ColumnType::$ty, doc: $cdoc }),*],
        };

        fn $build(rows: &[$rowty] $(, $arg: $argty)*) -> PolarsResult<DataFrame> {
            let mut frame = FrameBuilder::new(&$spec, rows.len());
            $( table!(@fill frame, $ty, rows.iter().map(|$row| $value)); )*
            frame.finish()
        }
    };
    (
        $(#[$attr:meta])*
        $vis:vis const $columns:ident: columns;
        fn $build:ident(&[$rowty:ty] $(, $arg:ident: $argty:ty)* $(,)?) |$row:ident| {
            $($col:literal : $ty:ident = $cdoc:literal => $value:expr),* $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis const $columns: &[ColumnSpec] =
            &[$(ColumnSpec { name: $col, ty: ColumnType::$ty, doc: $cdoc }),*];

        fn $build(
            spec: &'static TableSpec,
            rows: &[$rowty] $(, $arg: $argty)*
        ) -> PolarsResult<DataFrame> {
            assert!(
                spec.columns == $columns,
                "table {} is built with {}, which it does not declare",
                spec.name,
                stringify!($columns)
            );
            let mut frame = FrameBuilder::new(spec, rows.len());
            $( table!(@fill frame, $ty, rows.iter().map(|$row| $value)); )*
            frame.finish()
        }
    };
    (@fill $frame:ident, Str, $values:expr) => { $frame.str($values) };
    (@fill $frame:ident, Bool, $values:expr) => { $frame.bool($values) };
    (@fill $frame:ident, Int, $values:expr) => { $frame.int($values) };
    (@fill $frame:ident, Time, $values:expr) => { $frame.time($values) };
}

/// Builds a frame column by column, in the order its [`TableSpec`] declares them (only
/// [`table!`] drives it, so the order and types always agree).
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

    /// The next declared column; `ty` is what [`table!`] chose from the same declaration.
    fn next_spec(&self, ty: ColumnType) -> &'static ColumnSpec {
        let spec = &self.spec.columns[self.columns.len()];
        debug_assert_eq!(spec.ty, ty, "table {} column {}", self.spec.name, spec.name);
        spec
    }

    fn str<S: AsRef<str>>(&mut self, values: impl IntoIterator<Item = Option<S>>) {
        let spec = self.next_spec(ColumnType::Str);
        // Straight into polars' buffer: each value is copied once and any temporary freed at once.
        let mut builder = StringChunkedBuilder::new(spec.name.into(), self.height);
        for value in values {
            builder.append_option(value.as_ref().map(AsRef::as_ref));
        }
        self.columns.push(builder.finish().into_series().into_column());
    }

    fn bool(&mut self, values: impl IntoIterator<Item = Option<bool>>) {
        let spec = self.next_spec(ColumnType::Bool);
        let series: BooleanChunked = values.into_iter().collect();
        self.columns.push(
            series
                .with_name(spec.name.into())
                .into_series()
                .into_column(),
        );
    }

    fn int(&mut self, values: impl IntoIterator<Item = Option<i64>>) {
        let spec = self.next_spec(ColumnType::Int);
        let series: Int64Chunked = values.into_iter().collect();
        self.columns.push(
            series
                .with_name(spec.name.into())
                .into_series()
                .into_column(),
        );
    }

    fn time(&mut self, values: impl IntoIterator<Item = Option<DateTime<Utc>>>) {
        let spec = self.next_spec(ColumnType::Time);
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
        DataFrame::new(self.height, self.columns)
    }
}

/// A count as the tables hold it (saturating: no export holds 2^63 of anything).
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count_u64(n: Option<u64>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

table! {
    pub const PARAMS = "params", "One row: the time the audit judges against and the cut-offs derived from the thresholds. Rules CROSS JOIN it (SQL has no NOW() here, and a fixed as-of keeps runs reproducible).";
    fn params_frame(&[Params]) |p| {
        "as_of": Time = "--as-of, else the snapshot's collection time, else now" => Some(p.as_of),
        "directory_sync_cutoff": Time = "as_of minus --directory-sync-max-age" => Some(p.as_of - p.directory_sync_max_age),
        "password_sync_cutoff": Time = "as_of minus --password-sync-max-age" => Some(p.as_of - p.password_sync_max_age),
        "cloud_sync_cutoff": Time = "as_of minus --cloud-sync-max-age" => Some(p.as_of - p.cloud_sync_max_age),
    }
}

/// One row of `onprem_objects`: the object, what was derived from it once, and its file as text.
struct OnPremRow<'a> {
    object: &'a OnPremObject,
    derived: &'a Derived<'a>,
    /// A handful of files for a million objects: each path is rendered once and shared.
    source_file: std::rc::Rc<str>,
}

table! {
    pub const ONPREM_OBJECTS = "onprem_objects", "Every AD user, contact and group from the --onprem exports.";
    fn onprem_objects_frame(&[OnPremRow<'_>], upn_source: UpnSource) |r| {
        "object_guid": Str = "objectGUID, lower-case 8-4-4-4-12" => Some(&r.derived.id),
        "object_type": Str = "user, contact or group" => Some(r.object.class.as_str()),
        "source_anchor": Str = "base64 of mS-DS-ConsistencyGuid when set, else of objectGUID: what onPremisesImmutableId holds after sync" => Some(&r.object.source_anchor),
        "anchor_attribute": Str = "mS-DS-ConsistencyGuid or objectGUID" => Some(r.object.anchor_attribute.as_str()),
        "object_sid": Str = "objectSid as S-1-5-..." => r.object.object_sid.as_ref(),
        "distinguished_name": Str = "distinguishedName" => Some(&r.object.distinguished_name),
        "domain": Str = "DNS domain from the DC= parts of the DN, lower case" => dn_domain(&r.object.distinguished_name),
        "user_principal_name": Str = "userPrincipalName as exported" => r.object.user_principal_name.as_ref(),
        "cloud_upn": Str = "what sync writes to the cloud userPrincipalName: the sync model's UPN source attribute (userPrincipalName, or mail as an alternate login ID)" => upn_source.value(r.object),
        "upn_lower": Str = "cloud_upn, lower case (the soft-match UPN key)" => lower(upn_source.value(r.object)),
        "upn_suffix": Str = "the part after the last @ of cloud_upn, lower case" => upn_suffix(upn_source.value(r.object)),
        "sam_account_name": Str = "sAMAccountName" => r.object.sam_account_name.as_ref(),
        "mail": Str = "mail as exported" => r.object.mail.as_ref(),
        "mail_nickname": Str = "mailNickname" => r.object.mail_nickname.as_ref(),
        "display_name": Str = "displayName" => r.object.display_name.as_ref(),
        "primary_smtp": Str = "the SMTP: proxy address (else mail), lower case, no prefix" => primary_smtp(&r.derived.addresses),
        "mail_enabled": Bool = "has mail or an SMTP proxy address" => Some(primary_smtp(&r.derived.addresses).is_some()),
        "enabled": Bool = "users: account enabled" => r.object.enabled,
        "proxy_address_count": Int = "how many proxyAddresses values the object holds" => Some(count(r.object.proxy_addresses.len())),
        "certificate_count": Int = "userCertificate values (null: none, or the export did not say)" => count_u64(r.object.sizes.certificates),
        "smime_certificate_count": Int = "userSMIMECertificate values (null: none, or the export did not say)" => count_u64(r.object.sizes.smime_certificates),
        "thumbnail_photo_bytes": Int = "thumbnailPhoto size in bytes (null: not set or the export did not say)" => count_u64(r.object.sizes.thumbnail_photo_bytes),
        "member_count": Int = "groups: direct member values (null: none, or the export did not say)" => count_u64(r.object.sizes.members),
        "source_file": Str = "export file the object came from" => Some(&*r.source_file),
        "source_line": Int = "line of the record in that file" => Some(count(r.object.origin.line)),
    }
}

/// One row of an address table: an object's id and type and one of its addresses.
struct AddressRow<'a> {
    object_id: &'a str,
    object_type: &'static str,
    address: &'a Address<'a>,
}

table! {
    const ADDRESS_COLUMNS: columns;
    fn address_frame(&[AddressRow<'_>]) |r| {
        "object_id": Str = "onprem: object_guid; cloud: id" => Some(r.object_id),
        "object_type": Str = "user, contact or group" => Some(r.object_type),
        "kind": Str = "upn or smtp (mail and SMTP proxy addresses share one namespace)" => Some(r.address.kind),
        "address": Str = "the value, lower case, without the smtp: prefix" => Some(&*r.address.value),
        "is_primary": Bool = "upn: always; smtp: the SMTP: (upper case) proxy address, or mail when there is none" => Some(r.address.is_primary),
        "origin": Str = "userPrincipalName, proxyAddresses or mail" => Some(r.address.origin),
        "raw": Str = "the value as it stands in the source" => Some(r.address.raw),
    }
}

pub const ONPREM_ADDRESSES: TableSpec = TableSpec {
    name: "onprem_addresses",
    doc: "One row per distinct UPN or SMTP address an on-prem object holds.",
    columns: ADDRESS_COLUMNS,
};

table! {
    pub const ONPREM_VALUES = "onprem_values", "One row per value of the attributes Entra validates on export (userPrincipalName, proxyAddresses, mail, mailNickname, displayName, givenName, sn, sAMAccountName, targetAddress), with the facts the validation rules judge: lengths as Entra counts them (UTF-16 code units, UNVERIFIED), the parts around the `@`, and the value escaped so invisible characters show. No judgement is made here.";
    fn onprem_values_frame(&[ValueFacts<'_>], objects: &[OnPremObject], derived: &[Derived<'_>], upn_source: UpnSource) |r| {
        "object_guid": Str = "the on-prem object (onprem_objects.object_guid)" => Some(&derived[r.object].id),
        "object_type": Str = "user, contact or group" => Some(objects[r.object].class.as_str()),
        "attribute": Str = "the LDAP name: userPrincipalName, proxyAddresses, mail, mailNickname, displayName, givenName, sn, sAMAccountName or targetAddress" => Some(r.attribute),
        "value": Str = "the value exactly as exported" => Some(r.value),
        "shown": Str = "the value with control, format, non-ASCII whitespace and leading/trailing space characters written as \\u{XXXX}, so nothing invisible hides in a message" => Some(escape_value(r.value)),
        "length": Int = "the value's length in UTF-16 code units (what .NET and Entra's string lengths count; for ASCII the same as characters)" => Some(utf16_len(r.value)),
        "value_count": Int = "how many values the object holds in this attribute (proxyAddresses: the address count)" => Some(count(r.value_count)),
        "prefix": Str = "proxyAddresses and targetAddress: the address type before the first `:` as written (SMTP, smtp, X500, SIP, ...); null for other attributes or when there is no `:`" => r.prefix,
        "becomes_cloud_upn": Bool = "this attribute is the one sync writes to the cloud userPrincipalName (userPrincipalName, or mail with alternate login ID)" => Some(r.attribute == upn_source.attribute()),
        "is_smtp": Bool = "the address is an SMTP address: an SMTP/smtp-prefixed proxyAddresses or targetAddress value, or mail and userPrincipalName (which have the SMTP form)" => Some(r.is_smtp),
        "address": Str = "the value without its prefix (the whole value for attributes that have none)" => Some(r.address),
        "at_count": Int = "how many `@` the address holds" => Some(count(r.address.matches('@').count())),
        "local_part": Str = "the address before its last `@` (null without `@`)" => r.parts().map(|(local, _)| local),
        "domain": Str = "the address after its last `@`, lower case (null without `@`)" => r.parts().map(|(_, domain)| domain.to_lowercase()),
        "local_length": Int = "length of local_part in UTF-16 code units" => r.parts().map(|(local, _)| utf16_len(local)),
        "domain_length": Int = "length of domain in UTF-16 code units" => r.parts().map(|(_, domain)| utf16_len(domain)),
        "symbols": Str = "the distinct characters of the address that are not ASCII letters or digits, in order of first appearance, escaped as in `shown` and separated by spaces (null when there are none): what a message names when a character is not allowed" => symbols(r.address),
    }
}

/// One row of `cloud_objects`: the object, its type and what was derived from it once.
struct CloudRow<'a> {
    object: &'a DirectoryObject,
    object_type: &'static str,
    derived: &'a Derived<'a>,
}

table! {
    pub const CLOUD_OBJECTS = "cloud_objects", "Every Entra user, contact (orgContact) and group of the snapshot.";
    fn cloud_objects_frame(&[CloudRow<'_>]) |r| {
        "id": Str = "object id" => Some(&r.object.id),
        "object_type": Str = "user, contact or group" => Some(r.object_type),
        "display_name": Str = "displayName" => r.object.display_name.as_ref(),
        "user_principal_name": Str = "userPrincipalName" => r.object.user_principal_name.as_ref(),
        "upn_lower": Str = "userPrincipalName, lower case" => lower(r.object.user_principal_name.as_deref()),
        "upn_suffix": Str = "domain part of the UPN, lower case" => upn_suffix(r.object.user_principal_name.as_deref()),
        "mail": Str = "mail" => r.object.mail.as_ref(),
        "mail_nickname": Str = "mailNickname" => r.object.mail_nickname.as_ref(),
        "primary_smtp": Str = "the SMTP: proxy address (else mail), lower case, no prefix" => primary_smtp(&r.derived.addresses),
        "mail_enabled": Bool = "groups: mailEnabled; users and contacts: has mail or an SMTP address" => Some(if r.object_type == "group" {
            r.object.mail_enabled.unwrap_or(false)
        } else {
            primary_smtp(&r.derived.addresses).is_some()
        }),
        "security_enabled": Bool = "groups: securityEnabled" => r.object.security_enabled,
        "immutable_id": Str = "onPremisesImmutableId (users)" => r.object.on_premises_immutable_id.as_ref().filter(|s| !s.is_empty()),
        "sync_enabled": Bool = "onPremisesSyncEnabled: true synced, false formerly synced, null never" => r.object.on_premises_sync_enabled,
        "sync_state": Str = "synced, formerly_synced or cloud_only (from sync_enabled)" => Some(match r.object.on_premises_sync_enabled {
            Some(true) => "synced",
            Some(false) => "formerly_synced",
            None => "cloud_only",
        }),
        "last_sync_time": Time = "onPremisesLastSyncDateTime" => r.object.on_premises_last_sync_date_time,
        "onprem_distinguished_name": Str = "onPremisesDistinguishedName" => r.object.on_premises_distinguished_name.as_ref(),
        "onprem_sam_account_name": Str = "onPremisesSamAccountName" => r.object.on_premises_sam_account_name.as_ref(),
        "onprem_domain_name": Str = "onPremisesDomainName, lower case" => lower(r.object.on_premises_domain_name.as_deref()),
        "onprem_security_identifier": Str = "onPremisesSecurityIdentifier" => r.object.on_premises_security_identifier.as_ref(),
        "onprem_user_principal_name": Str = "onPremisesUserPrincipalName" => r.object.on_premises_user_principal_name.as_ref(),
        "created_time": Time = "createdDateTime" => r.object.created_date_time,
        "account_enabled": Bool = "accountEnabled (users)" => r.object.account_enabled,
        "user_type": Str = "Member or Guest (users)" => r.object.user_type.as_ref(),
    }
}

pub const CLOUD_ADDRESSES: TableSpec = TableSpec {
    name: "cloud_addresses",
    doc: "One row per distinct UPN or SMTP address a cloud object holds.",
    columns: ADDRESS_COLUMNS,
};

/// One row of `provisioning_errors`: an error and the object carrying it.
struct ErrorRow<'a> {
    object: &'a DirectoryObject,
    object_type: &'static str,
    error: &'a ProvisioningError,
}

table! {
    pub const PROVISIONING_ERRORS = "provisioning_errors", "Every onPremisesProvisioningErrors entry of users, contacts and groups.";
    fn provisioning_errors_frame(&[ErrorRow<'_>]) |r| {
        "object_id": Str = "the cloud object carrying the error" => Some(&r.object.id),
        "object_type": Str = "user, contact or group" => Some(r.object_type),
        "category": Str = "PropertyConflict (the only documented category)" => r.error.category.as_ref(),
        "property": Str = "UserPrincipalName or ProxyAddress (Graph also writes ProxyAddresses)" => error_property(r.error.property_causing_error.as_deref()),
        "kind": Str = "upn or smtp, to join with the address tables; null for other properties" => error_kind(r.error.property_causing_error.as_deref()),
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
    pub const DOMAINS = "domains", "The tenant's domains (from domains, else from organization.verifiedDomains).";
    fn domains_frame(&[DomainRow<'_>]) |d| {
        "name": Str = "domain name, lower case" => d.name.as_ref(),
        "is_verified": Bool = "isVerified" => d.is_verified,
        "is_default": Bool = "isDefault" => d.is_default,
        "is_initial": Bool = "isInitial (the .onmicrosoft.com domain)" => d.is_initial,
        "authentication_type": Str = "Managed or Federated" => d.authentication_type,
    }
}

table! {
    pub const ORGANIZATION = "organization", "The tenant's directory sync state (one row).";
    fn organization_frame(&[Organization]) |o| {
        "tenant_id": Str = "organization id" => Some(&o.id),
        "display_name": Str = "displayName" => o.display_name.as_ref(),
        "sync_enabled": Bool = "onPremisesSyncEnabled" => o.on_premises_sync_enabled,
        "last_sync_time": Time = "onPremisesLastSyncDateTime" => o.on_premises_last_sync_date_time,
    }
}

table! {
    pub const PASSWORD_SYNC = "password_sync", "Password hash sync freshness from the beta organization resource; absent when the snapshot's organization lacks onPremisesLastPasswordSyncDateTime.";
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
    pub const SYNC_JOBS = "sync_jobs", "Cloud Sync synchronization jobs with their status.";
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
    pub const ROLE_MEMBERS = "role_members", "Holders of Microsoft Entra roles: from roleAssignments (complete, paged; role-assignable groups expanded to their transitive members) and roleEligibilities (eligible PIM assignments) when collected, else from directoryRoles?$expand=members, which Graph caps at 20 members per role (then the table is unavailable as soon as a role shows 20).";
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
    pub const SYNC_FEATURES = "sync_features", "The tenant's matching switches (GET /directory/onPremisesSynchronization, delegated Global Administrator only).";
    fn sync_features_frame(&[DirectorySynchronization]) |d| {
        "tenant_id": Str = "tenant id" => Some(&d.id),
        "block_soft_match": Bool = "blockSoftMatchEnabled" => d.features.block_soft_match_enabled,
        "block_hard_match_takeover": Bool = "blockCloudObjectTakeoverThroughHardMatchEnabled" => d.features.block_cloud_object_takeover_through_hard_match_enabled,
        "allow_onprem_object_identifier_update": Bool = "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled (the 2026 hard-match hardening's bypass)" => d.features.allow_on_prem_update_of_on_premises_object_identifier_enabled,
        "soft_match_on_upn": Bool = "softMatchOnUpnEnabled" => d.features.soft_match_on_upn_enabled,
        "password_sync_enabled": Bool = "passwordSyncEnabled" => d.features.password_sync_enabled,
    }
}
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
    tables.put(&PARAMS, Ok(params_frame(std::slice::from_ref(params))?));
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
        || {
            let mut last: Option<(&std::path::Path, std::rc::Rc<str>)> = None;
            let rows: Vec<OnPremRow<'_>> = objects
                .iter()
                .zip(&derived)
                .map(|(object, derived)| {
                    let file = object.origin.file.as_path();
                    let source_file = match &last {
                        Some((path, text)) if *path == file => std::rc::Rc::clone(text),
                        _ => {
                            let text: std::rc::Rc<str> = file.display().to_string().into();
                            last = Some((file, std::rc::Rc::clone(&text)));
                            text
                        }
                    };
                    OnPremRow {
                        object,
                        derived,
                        source_file,
                    }
                })
                .collect();
            onprem_objects_frame(&rows, upn_source)
        },
        || {
            rayon::join(
                || {
                    let types = objects.iter().map(|o| o.class.as_str());
                    address_frame(&ONPREM_ADDRESSES, &address_rows(&derived, types))
                },
                || onprem_values_frame(&value_facts(objects), objects, &derived, upn_source),
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
    tables.put(&DOMAINS, domains);

    match needs(&[Collection::Organization]) {
        Ok(()) => {
            tables.put(&ORGANIZATION, Ok(organization_frame(&cloud.organization)?));
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
            tables.put(&PASSWORD_SYNC, password_sync);
        }
        Err(reason) => {
            tables.put(&ORGANIZATION, Err(reason.clone()));
            tables.put(&PASSWORD_SYNC, Err(reason));
        }
    }

    let jobs = match needs(&[Collection::SynchronizationJobs]) {
        Ok(()) => Ok(sync_jobs_frame(&job_rows(cloud), params)?),
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
        Ok(()) => Ok(sync_features_frame(&cloud.directory_synchronization)?),
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
    let (objects_frame, (addresses_frame, errors_frame)) = rayon::join(
        || {
            let rows: Vec<CloudRow<'_>> = all
                .iter()
                .zip(&derived)
                .map(|((object, object_type), derived)| CloudRow {
                    object,
                    object_type,
                    derived,
                })
                .collect();
            cloud_objects_frame(&rows)
        },
        || {
            rayon::join(
                || {
                    let types = all.iter().map(|(_, t)| *t);
                    address_frame(&CLOUD_ADDRESSES, &address_rows(&derived, types))
                },
                || {
                    let rows: Vec<ErrorRow<'_>> = all
                        .iter()
                        .flat_map(|(object, object_type)| {
                            object
                                .on_premises_provisioning_errors
                                .iter()
                                .map(move |error| ErrorRow {
                                    object,
                                    object_type,
                                    error,
                                })
                        })
                        .collect();
                    provisioning_errors_frame(&rows)
                },
            )
        },
    );
    Ok([
        (&CLOUD_OBJECTS, objects_frame?),
        (&CLOUD_ADDRESSES, addresses_frame?),
        (&PROVISIONING_ERRORS, errors_frame?),
    ])
}


/// The rows of an address table: every address of every object, with the object's id and type.
fn address_rows<'a>(
    derived: &'a [Derived<'a>],
    types: impl Iterator<Item = &'static str>,
) -> Vec<AddressRow<'a>> {
    derived
        .iter()
        .zip(types)
        .flat_map(|(d, object_type)| {
            d.addresses.iter().map(move |address| AddressRow {
                object_id: &d.id,
                object_type,
                address,
            })
        })
        .collect()
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

/// The primary SMTP address of an object: the `SMTP:` proxy address, else mail.
fn primary_smtp<'a>(addresses: &'a [Address<'_>]) -> Option<&'a str> {
    addresses
        .iter()
        .find(|a| a.kind == "smtp" && a.is_primary)
        .map(|a| &*a.value)
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

impl<'a> ValueFacts<'a> {
    /// The address before and after its last `@`.
    fn parts(&self) -> Option<(&'a str, &'a str)> {
        self.address.rsplit_once('@')
    }
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

fn cloud_addresses_of(o: &DirectoryObject) -> Vec<Address<'_>> {
    addresses(
        o.user_principal_name.as_deref(),
        o.mail.as_deref(),
        &o.proxy_addresses,
    )
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
/// responses also say `ProxyAddresses`.
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
