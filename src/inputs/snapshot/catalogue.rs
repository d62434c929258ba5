//! One description per Graph collection of a cloud snapshot: where Graph serves it (API version,
//! path, `$select`), how `collect` reads it (partitioned, paged, or assembled from several
//! requests), the least-privilege permissions, and the tables it feeds. `collect` builds its
//! requests from it, `doctor` its permission advice, the snapshot reader its file names and
//! required properties, and `collect --help` its list; a test holds every property the reader
//! reads to the collection's `$select`. It describes; it sends nothing and reads no file.

use super::Collection;

/// A Graph API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    Beta,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
}

/// How `collect` reads a collection.
#[derive(Debug, Clone, Copy)]
pub enum Reading {
    /// Paged with `$top=999`; above a threshold, in disjoint `startswith` partitions of
    /// `property` read side by side (see `graph::collect::partition`).
    Partitioned(Partitioning),
    /// Every page held, then written whole (a small collection).
    Whole,
    /// Put together from several requests, as described.
    Assembled(&'static str),
}

/// The `startswith` partitioning of a large collection.
#[derive(Debug, Clone, Copy)]
pub struct Partitioning {
    pub property: &'static str,
    /// One partition per character at the top level.
    pub alphabet: &'static str,
    /// What extends a prefix whose partition is too large; `None`: never split.
    pub split: Option<&'static str>,
    /// Whether values starting outside the alphabet are read through `not(startswith(...))`.
    pub remainder: bool,
}

/// A collection as Graph serves it and the audit uses it.
#[derive(Debug, Clone, Copy)]
pub struct CollectionSpec {
    pub collection: Collection,
    pub version: ApiVersion,
    /// The path under the version, e.g. `/users`.
    pub path: &'static str,
    /// `$select`, comma-separated; empty: Graph's default properties (or not applicable).
    pub select: &'static str,
    /// When Graph refuses `select` on `version` (a national cloud's beta without a property):
    /// the version and `$select` read instead.
    pub fallback: Option<(ApiVersion, &'static str)>,
    pub reading: Reading,
    /// Least-privilege application permissions (all needed); empty when application tokens
    /// cannot read it.
    pub application: &'static [&'static str],
    /// Least-privilege delegated permissions (all needed).
    pub delegated: &'static [&'static str],
    /// Roles, token type, alternatives.
    pub note: &'static str,
    /// The tables built from it (`entra-audit tables`).
    pub tables: &'static [&'static str],
    /// Properties a usable file must carry (when it has objects): Graph leaves them out unless
    /// `$select`ed, and a snapshot without them would audit wrong.
    pub required: &'static [&'static str],
}

impl CollectionSpec {
    /// The first request's URL path and query, e.g. `/v1.0/users?$select=...`.
    pub fn url(&self) -> String {
        url(self.version, self.path, self.select)
    }

    /// The URL read when Graph refuses [`CollectionSpec::url`]'s `$select` with 400.
    pub fn fallback_url(&self) -> Option<String> {
        self.fallback
            .map(|(version, select)| url(version, self.path, select))
    }
}

fn url(version: ApiVersion, path: &str, select: &str) -> String {
    let path = format!("/{}{path}", version.as_str());
    if select.is_empty() {
        path
    } else {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}$select={select}")
    }
}

const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,mailNickname,proxyAddresses,\
onPremisesImmutableId,onPremisesSyncEnabled,onPremisesLastSyncDateTime,\
onPremisesDistinguishedName,onPremisesSamAccountName,onPremisesDomainName,\
onPremisesSecurityIdentifier,onPremisesUserPrincipalName,onPremisesProvisioningErrors,\
createdDateTime,accountEnabled,userType";
/// orgContact has no UPN, immutable id, on-prem names or `createdDateTime` in v1.0
/// (<https://learn.microsoft.com/graph/api/resources/orgcontact>).
const CONTACT_SELECT: &str = "id,displayName,mail,mailNickname,proxyAddresses,\
onPremisesSyncEnabled,onPremisesLastSyncDateTime,onPremisesProvisioningErrors";
/// group has no `onPremisesDistinguishedName` in v1.0
/// (<https://learn.microsoft.com/graph/api/resources/group>).
const GROUP_SELECT: &str = "id,displayName,mail,mailNickname,proxyAddresses,\
onPremisesSyncEnabled,onPremisesLastSyncDateTime,onPremisesSamAccountName,onPremisesDomainName,\
onPremisesSecurityIdentifier,onPremisesProvisioningErrors,createdDateTime,mailEnabled,\
securityEnabled";
/// Beta: `onPremisesLastPasswordSyncDateTime` is not in v1.0
/// (<https://learn.microsoft.com/graph/api/resources/organization?view=graph-rest-beta>).
const ORGANIZATION_SELECT: &str = "id,displayName,onPremisesSyncEnabled,\
onPremisesLastSyncDateTime,onPremisesLastPasswordSyncDateTime,verifiedDomains";
/// The v1.0 fallback: onPremisesLastPasswordSyncDateTime exists only in the global cloud's beta
/// schema (absent from the national clouds' beta metadata), and Graph answers a `$select` of an
/// unknown property with 400, so the organization is read without it there.
const ORGANIZATION_SELECT_V1: &str =
    "id,displayName,onPremisesSyncEnabled,onPremisesLastSyncDateTime,verifiedDomains";
const DOMAIN_SELECT: &str = "id,isVerified,isDefault,isInitial,authenticationType";

/// The characters a UPN may start with, one partition each. The user resource documents the
/// UPN's characters: "Only the following characters are allowed A - Z, a - z, 0 - 9,
/// ' . - _ ! # ^ ~" (<https://learn.microsoft.com/graph/api/resources/user>, userPrincipalName).
/// Graph's `startswith` is case-insensitive, so 'a' covers 'A' (and partitions stay disjoint);
/// a UPN outside this set would make the partitions' counts fall short of `/users/$count`,
/// which sends the collection to one sequential pass.
pub const UPN_FIRST_CHARACTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~";

/// What extends a UPN prefix when its partition is split: any UPN character, or the `@` that
/// ends the local part (`j@contoso.com` starts with `j@`).
const UPN_NEXT_CHARACTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~@";

/// The characters a contact's or group's `displayName` is partitioned by. A display name may
/// start with any character (`Łukasz`, `(Archive)`, `山田`), so these letters and digits cover
/// the usual names and one more partition, `not(startswith(displayName,'a') or ...)`, reads the
/// rest.
pub const DISPLAY_NAME_FIRST_CHARACTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";

/// What usually follows a display name's first character: letters, digits, a space and the
/// punctuation of names like `A. Smith`, `O'Brien`, `R&D`, `IT-Ops`. (A name going on with
/// anything else stays in the rest of its prefix's partition.)
const DISPLAY_NAME_NEXT_CHARACTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789 .-_'&,()";

const BY_UPN: Partitioning = Partitioning {
    property: "userPrincipalName",
    alphabet: UPN_FIRST_CHARACTERS,
    split: Some(UPN_NEXT_CHARACTERS),
    remainder: false,
};

const BY_DISPLAY_NAME: Partitioning = Partitioning {
    property: "displayName",
    alphabet: DISPLAY_NAME_FIRST_CHARACTERS,
    split: Some(DISPLAY_NAME_NEXT_CHARACTERS),
    remainder: true,
};

const DIRECTORY_TABLES: &[&str] = &["cloud_objects", "cloud_addresses", "provisioning_errors"];

/// Every collection, in [`Collection::ALL`]'s order. Permissions: the documented
/// least-privileged permissions of each API (synchronization: "Application
/// `Synchronization.Read.All`", and the Hybrid Identity Administrator role for delegated use;
/// onPremisesSynchronization: delegated only, Global Administrator), e.g.
/// <https://learn.microsoft.com/graph/api/user-list>,
/// <https://learn.microsoft.com/graph/api/orgcontact-list>,
/// <https://learn.microsoft.com/graph/api/group-list>,
/// <https://learn.microsoft.com/graph/api/organization-list>,
/// <https://learn.microsoft.com/graph/api/domain-list>,
/// <https://learn.microsoft.com/graph/api/synchronization-synchronization-list-jobs>,
/// <https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignments>,
/// <https://learn.microsoft.com/graph/api/rbacapplication-list-roleeligibilityschedules>,
/// <https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get>.
/// `startswith` on `userPrincipalName` and `displayName`, and `$count` with `ConsistencyLevel:
/// eventual`, work on all three directory resources (the "User", "Group" and "Organizational
/// contact properties" tables of <https://learn.microsoft.com/graph/aad-advanced-queries>;
/// examples 2 and 3 of <https://learn.microsoft.com/graph/api/orgcontact-list>, 3 and 4 of
/// <https://learn.microsoft.com/graph/api/group-list>).
pub(crate) const CATALOGUE: [CollectionSpec; 11] = [
    CollectionSpec {
        collection: Collection::Users,
        version: ApiVersion::V1,
        path: "/users",
        select: USER_SELECT,
        fallback: None,
        reading: Reading::Partitioned(BY_UPN),
        application: &["User.Read.All"],
        delegated: &["User.Read.All"],
        note: "",
        tables: DIRECTORY_TABLES,
        required: &[
            "userPrincipalName",
            "proxyAddresses",
            "onPremisesImmutableId",
            "onPremisesSyncEnabled",
            "onPremisesProvisioningErrors",
        ],
    },
    CollectionSpec {
        collection: Collection::Contacts,
        version: ApiVersion::V1,
        path: "/contacts",
        select: CONTACT_SELECT,
        fallback: None,
        reading: Reading::Partitioned(BY_DISPLAY_NAME),
        application: &["OrgContact.Read.All"],
        delegated: &["OrgContact.Read.All"],
        note: "",
        tables: DIRECTORY_TABLES,
        required: &[
            "proxyAddresses",
            "onPremisesSyncEnabled",
            "onPremisesProvisioningErrors",
        ],
    },
    CollectionSpec {
        collection: Collection::Groups,
        version: ApiVersion::V1,
        path: "/groups",
        select: GROUP_SELECT,
        fallback: None,
        reading: Reading::Partitioned(BY_DISPLAY_NAME),
        application: &["GroupMember.Read.All"],
        delegated: &["GroupMember.Read.All"],
        note: "Group.Read.All also works",
        tables: DIRECTORY_TABLES,
        required: &[
            "proxyAddresses",
            "mailEnabled",
            "onPremisesSyncEnabled",
            "onPremisesProvisioningErrors",
        ],
    },
    CollectionSpec {
        collection: Collection::Organization,
        version: ApiVersion::Beta,
        path: "/organization",
        select: ORGANIZATION_SELECT,
        fallback: Some((ApiVersion::V1, ORGANIZATION_SELECT_V1)),
        reading: Reading::Whole,
        application: &["Organization.Read.All"],
        delegated: &["Organization.Read.All"],
        note: "read from /beta for onPremisesLastPasswordSyncDateTime",
        tables: &["organization", "password_sync", "domains"],
        required: &["onPremisesSyncEnabled", "onPremisesLastSyncDateTime"],
    },
    CollectionSpec {
        collection: Collection::Domains,
        version: ApiVersion::V1,
        path: "/domains",
        select: DOMAIN_SELECT,
        fallback: None,
        reading: Reading::Whole,
        application: &["Domain.Read.All"],
        delegated: &["Domain.Read.All"],
        note: "",
        tables: &["domains"],
        required: &["isVerified"],
    },
    CollectionSpec {
        collection: Collection::SynchronizationJobs,
        version: ApiVersion::V1,
        path: "/servicePrincipals/{id}/synchronization/jobs",
        select: "",
        fallback: None,
        reading: Reading::Assembled(
            "the Cloud Sync service principals (by app id, application template and service \
             principal name), each one's jobs, and each provisioning job's schema (beta) for its \
             scope",
        ),
        application: &["Application.Read.All", "Synchronization.Read.All"],
        delegated: &["Application.Read.All", "Synchronization.Read.All"],
        note: "delegated use also needs the Hybrid Identity Administrator role",
        tables: &["sync_jobs"],
        required: &["status", "servicePrincipalId"],
    },
    CollectionSpec {
        collection: Collection::DirectoryRoles,
        version: ApiVersion::V1,
        path: "/directoryRoles?$expand=members",
        select: "",
        fallback: None,
        reading: Reading::Whole,
        application: &["RoleManagement.Read.Directory"],
        delegated: &["RoleManagement.Read.Directory"],
        note: "the old source: Graph expands at most 20 members per role, so role_members uses roleAssignments when it was read",
        tables: &["role_members"],
        required: &["members"],
    },
    CollectionSpec {
        collection: Collection::OnPremisesSynchronization,
        version: ApiVersion::V1,
        path: "/directory/onPremisesSynchronization",
        select: "",
        fallback: None,
        reading: Reading::Whole,
        application: &[],
        delegated: &["OnPremDirectorySynchronization.Read.All"],
        note: "delegated only (--device-code), and only for a Global Administrator",
        tables: &["sync_features"],
        required: &["features"],
    },
    CollectionSpec {
        collection: Collection::RoleAssignments,
        version: ApiVersion::V1,
        path: "/roleManagement/directory/roleAssignments?$expand=principal($select=id)",
        select: "",
        fallback: None,
        reading: Reading::Assembled(
            "the paged role assignments with each principal's type, the role names from the role \
             definitions, and the transitive members of role-assignable groups",
        ),
        application: &["RoleManagement.Read.Directory", "GroupMember.Read.All"],
        delegated: &["RoleManagement.Read.Directory", "GroupMember.Read.All"],
        note: "GroupMember.Read.All reads the transitive members of role-assignable groups; delegated use also needs Directory Readers, Global Reader or Privileged Role Administrator",
        tables: &["role_members"],
        required: &["roleDefinitionId", "memberId"],
    },
    CollectionSpec {
        collection: Collection::RoleEligibilities,
        version: ApiVersion::V1,
        path: "/roleManagement/directory/roleEligibilitySchedules?$expand=principal($select=id)",
        select: "",
        fallback: None,
        reading: Reading::Assembled(
            "the paged eligibility schedules, read as the role assignments are",
        ),
        application: &["RoleEligibilitySchedule.Read.Directory"],
        delegated: &["RoleEligibilitySchedule.Read.Directory"],
        note: "eligible (PIM) assignments, for the 2026 hard-match protection; RoleManagement.Read.Directory also grants it; tenants without Entra ID P2 have none",
        tables: &["role_members"],
        required: &["roleDefinitionId", "memberId"],
    },
    // Beta only: the resource and its GET exist under /beta
    // (<https://learn.microsoft.com/graph/api/resources/onpremisessyncbehavior?view=graph-rest-beta>).
    // The GET documents no OData query parameter and it is a navigation property of its own, so
    // it cannot be `$select`ed on the lists: it is read per object, in JSON batches of 20
    // (<https://learn.microsoft.com/graph/json-batching>), and only for the candidates of the
    // leftover rules. Its least-privileged permissions are ReadWrite ones: the get page lists no
    // Read.All (<https://learn.microsoft.com/graph/api/onpremisessyncbehavior-get?view=graph-rest-beta>).
    CollectionSpec {
        collection: Collection::SyncBehavior,
        version: ApiVersion::Beta,
        path: "/users/{id}/onPremisesSyncBehavior",
        select: "",
        fallback: None,
        reading: Reading::Assembled(
            "per object (also /groups/{id}/onPremisesSyncBehavior), only for the users and groups \
             carrying a sign of sync (onPremisesSyncEnabled set, an onPremisesImmutableId or a \
             last sync time): the candidates of the leftover rules; in JSON batches of 20, at most \
             5,000 objects (the rest recorded as not read)",
        ),
        application: &[
            "User-OnPremisesSyncBehavior.ReadWrite.All",
            "Group-OnPremisesSyncBehavior.ReadWrite.All",
        ],
        delegated: &[
            "User-OnPremisesSyncBehavior.ReadWrite.All",
            "Group-OnPremisesSyncBehavior.ReadWrite.All",
        ],
        note: "optional: no read-only permission exists; without it the leftover rules run without knowing which objects were converted to cloud management, and say so; delegated use also needs the Hybrid Administrator role",
        tables: &["sync_behavior"],
        required: &["isCloudManaged"],
    },
];
