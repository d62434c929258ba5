//! Which imported objects the sync engine will look at, and why the others never sync.
//!
//! It owns Entra Connect's documented out-of-box scoping (the "not synchronized" expressions of
//! <https://learn.microsoft.com/entra/identity/hybrid/connect/concept-azure-ad-connect-sync-default-configuration>)
//! plus the OU filtering an admin configures
//! (<https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-configure-filtering>).
//! It decides per object and records every exclusion with its reason; it must not drop an object
//! without saying so, and it judges nothing about matches (the rules do).

use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::Serialize;

use crate::inputs::onprem::{DistinguishedName, ObjectClass, OnPremObject, guid_to_string};

/// Why an exported object never reaches Entra ID. Each variant follows one documented rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutOfScope {
    /// `IsPresent([isCriticalSystemObject])`: Administrator, Guest, krbtgt, built-in groups.
    CriticalSystemObject,
    /// sAMAccountName `MSOL_…`/`AAD_…`: the sync engine's own AD DS connector account.
    ConnectorAccount,
    /// `SUPPORT_388945a0`, `SystemMailbox{…`, `CAS_…}`: Exchange accounts that would not work online.
    ExchangeSystemAccount,
    /// `msExchRecipientTypeDetails & 0x21C07000`: public folders, system and discovery mailboxes.
    ExchangeRecipientType,
    /// `msExchRecipientTypeDetails = 2`: a linked mailbox contributes no source anchor.
    LinkedMailbox,
    /// `\0ACNF:` in the first RDN: a replication-conflict victim.
    ReplicationConflict,
    /// A contact without mail, without proxyAddresses, or with neither holding an `@` address.
    ContactNotMailEnabled,
    /// A distribution group (groupType without 0x80000000) that is not mail-enabled.
    DistributionGroupNotMailEnabled,
    /// `msExchRecipientTypeDetails & 0x40000000`: an Exchange role group.
    RoleGroup,
    /// sAMAccountName `MSOL_AD_Sync_RichCoexistence`: `DirSync`'s legacy group.
    LegacyDirSyncGroup,
    /// adminDescription `Group_…`: a group written back from the cloud (see [`OutOfScope::doc`]).
    WrittenBackGroup,
    /// Not below any `--scope-ou`.
    OutsideScopeOus,
    /// In a Cloud Sync domain, not below any OU its provisioning job's schema includes.
    OutsideCloudSyncScope,
    /// Below an `--exclude-ou`.
    ExcludedOu,
}

impl OutOfScope {
    pub fn as_str(self) -> &'static str {
        match self {
            OutOfScope::CriticalSystemObject => "critical-system-object",
            OutOfScope::ConnectorAccount => "connector-account",
            OutOfScope::ExchangeSystemAccount => "exchange-system-account",
            OutOfScope::ExchangeRecipientType => "exchange-recipient-type",
            OutOfScope::LinkedMailbox => "linked-mailbox",
            OutOfScope::ReplicationConflict => "replication-conflict",
            OutOfScope::ContactNotMailEnabled => "contact-not-mail-enabled",
            OutOfScope::DistributionGroupNotMailEnabled => "distribution-group-not-mail-enabled",
            OutOfScope::RoleGroup => "role-group",
            OutOfScope::LegacyDirSyncGroup => "legacy-dirsync-group",
            OutOfScope::WrittenBackGroup => "written-back-group",
            OutOfScope::OutsideScopeOus => "outside-scope-ous",
            OutOfScope::OutsideCloudSyncScope => "outside-cloud-sync-scope",
            OutOfScope::ExcludedOu => "excluded-ou",
        }
    }

    /// One line for people: what the rule is and where it is written down.
    pub fn doc(self) -> &'static str {
        match self {
            OutOfScope::CriticalSystemObject => {
                "isCriticalSystemObject is present (built-in accounts and groups): never synchronized by the out-of-box rules"
            }
            OutOfScope::ConnectorAccount => {
                "sAMAccountName starts with MSOL_ or AAD_: the sync engine's own AD DS connector account, never synchronized"
            }
            OutOfScope::ExchangeSystemAccount => {
                "SUPPORT_388945a0, SystemMailbox{...} or CAS_...} account: Exchange accounts the out-of-box rules leave out"
            }
            OutOfScope::ExchangeRecipientType => {
                "msExchRecipientTypeDetails has a bit of 0x21C07000 (public folder, system, discovery or plan mailbox): not synchronized"
            }
            OutOfScope::LinkedMailbox => {
                "msExchRecipientTypeDetails is 2 (linked mailbox): it contributes no source anchor and waits for the account forest's user"
            }
            OutOfScope::ReplicationConflict => {
                "the first RDN holds \\0ACNF: (a replication-conflict object): not synchronized"
            }
            OutOfScope::ContactNotMailEnabled => {
                "a contact syncs only when mail is set, proxyAddresses is populated, and an SMTP: address or mail holds an @"
            }
            OutOfScope::DistributionGroupNotMailEnabled => {
                "a distribution group syncs only when mail-enabled (the contact rules)"
            }
            OutOfScope::RoleGroup => {
                "msExchRecipientTypeDetails has bit 0x40000000 (an Exchange role group): not synchronized"
            }
            OutOfScope::LegacyDirSyncGroup => {
                "MSOL_AD_Sync_RichCoexistence is DirSync's legacy group: not synchronized"
            }
            OutOfScope::WrittenBackGroup => {
                "adminDescription starts with Group_: a group written back from Entra ID, filtered on the way in (attested by exports of the out-of-box rules, not by a Microsoft page: UNVERIFIED)"
            }
            OutOfScope::OutsideScopeOus => {
                "not below any configured scope OU (--scope-ou or scope_ous)"
            }
            OutOfScope::OutsideCloudSyncScope => {
                "in a Cloud Sync domain but not below an OU its provisioning job includes (the job schema's containerFilter, read from Graph)"
            }
            OutOfScope::ExcludedOu => "below an excluded OU (--exclude-ou or exclude_ous)",
        }
    }
}

/// The configured OU filter: DNs compared case-insensitively, as AD compares them.
#[derive(Debug, Clone, Default)]
pub(crate) struct OuFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Cloud Sync domains (lower case) whose provisioning job includes only these OUs.
    pub cloud_sync: BTreeMap<String, Vec<String>>,
}

/// Decides whether `object` is synchronized; `None` means in scope.
pub(crate) fn out_of_scope(object: &OnPremObject, ous: &OuFilter) -> Option<OutOfScope> {
    if let Some(reason) = out_of_box(object) {
        return Some(reason);
    }
    if ous.exclude.is_empty() && ous.include.is_empty() && ous.cloud_sync.is_empty() {
        return None;
    }
    let dn = object.distinguished_name.to_lowercase();
    if ous.exclude.iter().any(|ou| is_below(&dn, ou)) {
        return Some(OutOfScope::ExcludedOu);
    }
    if !ous.include.is_empty() && !ous.include.iter().any(|ou| is_below(&dn, ou)) {
        return Some(OutOfScope::OutsideScopeOus);
    }
    if let Some(containers) = object
        .distinguished_name
        .domain()
        .and_then(|domain| ous.cloud_sync.get(domain))
        && !containers.iter().any(|ou| is_below(&dn, ou))
    {
        return Some(OutOfScope::OutsideCloudSyncScope);
    }
    None
}

/// `dn` (lower case) is `ou` or below it.
fn is_below(dn: &str, ou: &str) -> bool {
    let ou = ou.trim().to_lowercase();
    dn == ou || dn.strip_suffix(&ou).is_some_and(|rest| rest.ends_with(','))
}

/// The out-of-box "not synchronized" expressions for users, contacts and groups.
fn out_of_box(o: &OnPremObject) -> Option<OutOfScope> {
    // IsPresent, not "is TRUE": the rule looks for the attribute only.
    if o.critical_system_object.is_some() {
        return Some(OutOfScope::CriticalSystemObject);
    }
    if is_replication_conflict(&o.distinguished_name) {
        return Some(OutOfScope::ReplicationConflict);
    }
    let sam = o.sam_account_name.as_deref().unwrap_or("");
    let nickname = o.mail_nickname.as_deref().unwrap_or("");
    let recipient = o.recipient_type_details.unwrap_or(0);
    let cas = |s: &str| starts_with_ignore_case(s, "CAS_") && s.contains('}');
    match o.class {
        ObjectClass::User => {
            // `IsPresent([sAMAccountName]) = False` is not applied: AD gives every user one, so
            // a user without it is an export that left the attribute out, and excluding them
            // would hide every finding of that export.
            if starts_with_ignore_case(sam, "MSOL_") || starts_with_ignore_case(sam, "AAD_") {
                Some(OutOfScope::ConnectorAccount)
            } else if sam.eq_ignore_ascii_case("SUPPORT_388945a0")
                || starts_with_ignore_case(nickname, "SystemMailbox{")
                || cas(nickname)
                || cas(sam)
            {
                Some(OutOfScope::ExchangeSystemAccount)
            } else if recipient & 0x21C0_7000 != 0 {
                Some(OutOfScope::ExchangeRecipientType)
            } else if recipient == 2 {
                Some(OutOfScope::LinkedMailbox)
            } else {
                None
            }
        }
        ObjectClass::Contact => {
            // `(InStr([displayName],"(MSOL)") > 0) && CBool([msExchHideFromAddressLists])` needs
            // an attribute the import does not carry; such contacts are judged as in scope.
            if cas(nickname) {
                Some(OutOfScope::ExchangeSystemAccount)
            } else if !mail_enabled(o) {
                Some(OutOfScope::ContactNotMailEnabled)
            } else {
                None
            }
        }
        ObjectClass::Group => {
            // The 250,000-member limit needs the member count, which the import does not carry.
            if sam.eq_ignore_ascii_case("MSOL_AD_Sync_RichCoexistence") {
                Some(OutOfScope::LegacyDirSyncGroup)
            } else if recipient & 0x4000_0000 != 0 {
                Some(OutOfScope::RoleGroup)
            } else if o
                .admin_description
                .as_deref()
                .is_some_and(|d| starts_with_ignore_case(d, "Group_"))
            {
                Some(OutOfScope::WrittenBackGroup)
            } else if is_distribution_group(o) && !mail_enabled(o) {
                Some(OutOfScope::DistributionGroupNotMailEnabled)
            } else {
                None
            }
        }
    }
}

/// The contact rule of the default configuration: mail set, proxyAddresses populated, and an
/// `SMTP:` entry or mail holding an `@`.
fn mail_enabled(o: &OnPremObject) -> bool {
    let mail = o.mail.as_deref().filter(|m| !m.is_empty());
    let primary_has_at = o
        .proxy_addresses
        .iter()
        .any(|p| p.starts_with("SMTP:") && p.contains('@'));
    mail.is_some()
        && !o.proxy_addresses.is_empty()
        && (primary_has_at || mail.is_some_and(|m| m.contains('@')))
}

/// groupType without the security bit (0x80000000). An export without groupType cannot tell, and
/// the group is then judged as a security group (which syncs without mail).
fn is_distribution_group(o: &OnPremObject) -> bool {
    o.group_type.is_some_and(|t| t & 0x8000_0000 == 0)
}

/// AD renames a replication-conflict victim's RDN to `<name>\0ACNF:<guid>` (a line feed, written
/// `\0A` in a DN string); some tools print the raw line feed.
fn is_replication_conflict(dn: &str) -> bool {
    let first_rdn = first_rdn(dn);
    let upper = first_rdn.to_ascii_uppercase();
    upper.contains("\\0ACNF:") || upper.contains("\nCNF:")
}

/// The first RDN of a DN: up to the first comma that is not escaped.
fn first_rdn(dn: &str) -> &str {
    crate::inputs::onprem::dn_rdns(dn).next().unwrap_or(dn)
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// An object the scope left out, for findings.json.
#[derive(Debug, Clone, Serialize)]
pub struct ExcludedObject {
    pub object_guid: String,
    pub object_type: &'static str,
    pub distinguished_name: DistinguishedName,
    pub reason: OutOfScope,
    /// The keys a cloud object could be linked to it by (the anchor its engine would use, its
    /// objectSid and sAMAccountName): read by the `onprem_out_of_scope` table, so that a cloud
    /// object whose source is here is not taken for an orphan. Not in findings.json.
    #[serde(skip)]
    pub source_anchor: Option<CompactString>,
    #[serde(skip)]
    pub object_sid: Option<CompactString>,
    #[serde(skip)]
    pub sam_account_name: Option<CompactString>,
}

/// What the scope left out: counted by reason, and every object listed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScopeReport {
    pub in_scope: usize,
    pub out_of_scope: usize,
    pub by_reason: BTreeMap<OutOfScope, usize>,
    /// What each reason means and where it is documented.
    pub reasons: BTreeMap<OutOfScope, &'static str>,
    pub objects: Vec<ExcludedObject>,
}

/// Splits the objects into those that sync and a report of those that never do.
pub(crate) fn apply(
    mut objects: Vec<OnPremObject>,
    ous: &OuFilter,
) -> (Vec<OnPremObject>, ScopeReport) {
    use rayon::prelude::*;
    let mut report = ScopeReport::default();
    // Judged on every core; the objects in scope then stay where they are (moving each into a
    // new vector held both whole at once: half a gigabyte more at a million objects).
    let reasons: Vec<Option<OutOfScope>> = objects
        .par_iter()
        .map(|object| out_of_scope(object, ous))
        .collect();
    for (object, reason) in objects.iter().zip(&reasons) {
        if let Some(reason) = *reason {
            *report.by_reason.entry(reason).or_default() += 1;
            report.reasons.insert(reason, reason.doc());
            report.objects.push(ExcludedObject {
                object_guid: guid_to_string(&object.object_guid),
                object_type: object.class.as_str(),
                distinguished_name: object.distinguished_name.clone(),
                reason,
                source_anchor: Some(object.source_anchor.clone()).filter(|a| !a.is_empty()),
                object_sid: object.object_sid.clone(),
                sam_account_name: object.sam_account_name.clone(),
            });
        }
    }
    let mut in_scope = reasons.iter().map(Option::is_none);
    objects.retain(|_| in_scope.next().unwrap_or(false));
    report.in_scope = objects.len();
    report.out_of_scope = report.objects.len();
    (objects, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(class: ObjectClass, dn: &str) -> OnPremObject {
        crate::audit::sync_model::tests::sample(class, [7; 16], dn)
    }

    fn user(dn: &str) -> OnPremObject {
        object(ObjectClass::User, dn)
    }

    const NONE: OuFilter = OuFilter {
        include: Vec::new(),
        exclude: Vec::new(),
        cloud_sync: BTreeMap::new(),
    };

    #[test]
    fn built_in_and_connector_accounts_never_sync() {
        let mut admin = user("CN=Administrator,CN=Users,DC=corp,DC=example");
        admin.critical_system_object = Some(true);
        assert_eq!(
            out_of_scope(&admin, &NONE),
            Some(OutOfScope::CriticalSystemObject)
        );
        for sam in ["MSOL_0123abcd", "msol_x", "AAD_5e1c"] {
            let mut account = user("CN=x,CN=Users,DC=corp,DC=example");
            account.sam_account_name = Some(sam.into());
            assert_eq!(
                out_of_scope(&account, &NONE),
                Some(OutOfScope::ConnectorAccount),
                "{sam}"
            );
        }
        let mut support = user("CN=SUPPORT_388945a0,CN=Users,DC=corp,DC=example");
        support.sam_account_name = Some("SUPPORT_388945a0".into());
        assert_eq!(
            out_of_scope(&support, &NONE),
            Some(OutOfScope::ExchangeSystemAccount)
        );
        // A normal user in CN=Users syncs: the container does not decide.
        assert_eq!(
            out_of_scope(&user("CN=Ann,CN=Users,DC=corp,DC=example"), &NONE),
            None
        );
    }

    #[test]
    fn exchange_recipient_types_follow_the_bitmask() {
        for (value, expected) in [
            (0x0000_1000_i64, Some(OutOfScope::ExchangeRecipientType)), // public folder
            (0x2000_0000, Some(OutOfScope::ExchangeRecipientType)),     // discovery mailbox
            (2, Some(OutOfScope::LinkedMailbox)),
            (1, None),             // user mailbox
            (2_147_483_648, None), // remote user mailbox
        ] {
            let mut u = user("CN=m,OU=Staff,DC=corp,DC=example");
            u.recipient_type_details = Some(value);
            assert_eq!(out_of_scope(&u, &NONE), expected, "{value:#x}");
        }
    }

    #[test]
    fn replication_conflicts_are_recognised_in_the_first_rdn_only() {
        let victim =
            user("CN=Ann\\0ACNF:0b1e2f3a-1111-2222-3333-444455556666,OU=Staff,DC=corp,DC=example");
        assert_eq!(
            out_of_scope(&victim, &NONE),
            Some(OutOfScope::ReplicationConflict)
        );
        let below = user("CN=Ann,OU=X\\0ACNF:1,DC=corp,DC=example");
        assert_eq!(out_of_scope(&below, &NONE), None);
        assert_eq!(first_rdn("CN=Smith\\, Ann,OU=Staff"), "CN=Smith\\, Ann");
    }

    #[test]
    fn contacts_sync_only_when_mail_enabled() {
        let mut contact = object(ObjectClass::Contact, "CN=c,OU=Contacts,DC=corp,DC=example");
        contact.sam_account_name = None;
        contact.mail = Some("c@fabrikam.com".into());
        assert_eq!(
            out_of_scope(&contact, &NONE),
            Some(OutOfScope::ContactNotMailEnabled),
            "mail alone is not enough"
        );
        contact.proxy_addresses = vec!["SMTP:c@fabrikam.com".into()];
        assert_eq!(out_of_scope(&contact, &NONE), None);
        contact.mail = None;
        assert_eq!(
            out_of_scope(&contact, &NONE),
            Some(OutOfScope::ContactNotMailEnabled),
            "the doc asks for a mail value"
        );
    }

    #[test]
    fn groups_follow_their_rules() {
        let mut distribution = object(ObjectClass::Group, "CN=d,OU=Groups,DC=corp,DC=example");
        distribution.group_type = Some(2);
        assert_eq!(
            out_of_scope(&distribution, &NONE),
            Some(OutOfScope::DistributionGroupNotMailEnabled)
        );
        distribution.mail = Some("d@corp.example".into());
        distribution.proxy_addresses = vec!["SMTP:d@corp.example".into()];
        assert_eq!(out_of_scope(&distribution, &NONE), None);

        let mut security = object(ObjectClass::Group, "CN=s,OU=Groups,DC=corp,DC=example");
        security.group_type = Some(-2_147_483_646);
        assert_eq!(out_of_scope(&security, &NONE), None);
        security.recipient_type_details = Some(0x4000_0000);
        assert_eq!(out_of_scope(&security, &NONE), Some(OutOfScope::RoleGroup));

        let mut written_back = object(ObjectClass::Group, "CN=w,OU=Groups,DC=corp,DC=example");
        written_back.admin_description = Some("Group_6f1c".into());
        assert_eq!(
            out_of_scope(&written_back, &NONE),
            Some(OutOfScope::WrittenBackGroup)
        );
    }

    #[test]
    fn ou_filters_include_and_exclude_case_insensitively() {
        let ous = OuFilter {
            include: vec!["OU=Staff,DC=corp,DC=example".into()],
            exclude: vec!["ou=Leavers,OU=Staff,DC=corp,DC=example".into()],
            cloud_sync: BTreeMap::new(),
        };
        assert_eq!(
            out_of_scope(&user("CN=a,OU=Staff,DC=Corp,DC=example"), &ous),
            None
        );
        assert_eq!(
            out_of_scope(&user("CN=b,OU=Leavers,OU=Staff,DC=corp,DC=example"), &ous),
            Some(OutOfScope::ExcludedOu)
        );
        assert_eq!(
            out_of_scope(&user("CN=c,OU=OtherStaff,DC=corp,DC=example"), &ous),
            Some(OutOfScope::OutsideScopeOus),
            "a suffix match must end at an RDN boundary"
        );
    }

    #[test]
    fn a_cloud_sync_domain_syncs_only_the_ous_its_job_includes() {
        let ous = OuFilter {
            cloud_sync: [(
                "cloud.example".to_owned(),
                vec!["OU=Synced,DC=cloud,DC=example".to_owned()],
            )]
            .into(),
            ..OuFilter::default()
        };
        assert_eq!(
            out_of_scope(&user("CN=a,OU=Synced,DC=cloud,DC=example"), &ous),
            None
        );
        assert_eq!(
            out_of_scope(&user("CN=b,OU=Other,DC=cloud,DC=example"), &ous),
            Some(OutOfScope::OutsideCloudSyncScope)
        );
        assert_eq!(
            out_of_scope(&user("CN=c,OU=Other,DC=corp,DC=example"), &ous),
            None,
            "another domain is not the job's"
        );
    }

    #[test]
    fn apply_counts_and_lists_every_exclusion() {
        let mut admin = user("CN=Administrator,CN=Users,DC=corp,DC=example");
        admin.critical_system_object = Some(true);
        let (kept, report) = apply(
            vec![admin, user("CN=Ann,OU=Staff,DC=corp,DC=example")],
            &NONE,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!((report.in_scope, report.out_of_scope), (1, 1));
        assert_eq!(report.by_reason[&OutOfScope::CriticalSystemObject], 1);
        assert_eq!(
            report.objects[0].distinguished_name,
            "CN=Administrator,CN=Users,DC=corp,DC=example"
        );
    }
}
