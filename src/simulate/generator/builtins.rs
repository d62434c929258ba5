//! AD's built-in objects and the sync engine's own accounts, planted once per tenant, as a real
//! domain has them. Entra Connect's out-of-box scoping never synchronizes any of them
//! (<https://learn.microsoft.com/entra/identity/hybrid/connect/concept-azure-ad-connect-sync-default-configuration>),
//! so none may appear in a finding, and the ground truth records nothing for them. Each is built
//! so that an audit ignoring scope would report it, and an admin following that report would
//! act on the wrong object: the built-in Administrator carries the UPN of the tenant's Global
//! Administrator, the connector accounts a non-routable UPN suffix, a mail-only contact the
//! address of a B2B guest, a replication-conflict copy a real user's addresses, and a group
//! written back from the cloud the address of its cloud original.

use super::rng::Rng;
use super::vocab::{AD_DC, AD_DOMAIN, GROUP_TYPE_DISTRIBUTION, GROUP_TYPE_SECURITY, Role};
use super::{CloudObject, CloudUserStyle, Gen, Planted, USER_TYPE, UserSpec, guid_le, guid_text};
use crate::simulate::model::OnPremRecord;

/// `groupType` of a built-in domain-local security group (Administrators, Users).
const GROUP_TYPE_BUILTIN_LOCAL: i32 = -2_147_483_643;

pub(super) fn plant(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut onprem = Vec::new();
    let mut cloud = Vec::new();

    // The tenant's Global Administrator, and AD's Administrator with the same UPN: with scope
    // ignored, soft match would be refused (admin role) and a cleanup would delete the GA.
    let ga = g.cloud_user(rng, CloudUserStyle::Member);
    g.add_role(Role::GlobalAdministrator, &ga.id, USER_TYPE);
    onprem.push(account(
        g,
        rng,
        "Administrator",
        Some(ga.user_principal_name.clone()),
        512,
        true,
    ));
    cloud.push(CloudObject::User(Box::new(ga)));
    onprem.push(account(g, rng, "Guest", None, 514, true));
    onprem.push(account(g, rng, "krbtgt", None, 514, true));

    // The sync engine's AD DS connector accounts and Exchange's support account, with UPNs on
    // the non-routable AD domain.
    let suffix = format!("{:08x}", rng.next_u64() & 0xFFFF_FFFF);
    for sam in [
        format!("MSOL_{suffix}"),
        format!("AAD_{suffix}"),
        "SUPPORT_388945a0".to_owned(),
    ] {
        let upn = format!("{sam}@{AD_DOMAIN}");
        onprem.push(account(g, rng, &sam, Some(upn), 66048, false));
    }

    // Built-in groups (critical) and the domain controller (a computer: never a user object).
    for (name, container, group_type) in [
        ("Domain Admins", "CN=Users", GROUP_TYPE_SECURITY),
        ("Domain Users", "CN=Users", GROUP_TYPE_SECURITY),
        ("Administrators", "CN=Builtin", GROUP_TYPE_BUILTIN_LOCAL),
    ] {
        onprem.push(OnPremRecord {
            object_class: "group".to_owned(),
            object_guid: guid_le(rng.uuid4()),
            object_sid: Some(g.next_sid()),
            distinguished_name: format!("CN={name},{container},{AD_DC}"),
            sam_account_name: Some(name.to_owned()),
            display_name: Some(name.to_owned()),
            group_type: Some(group_type),
            critical_system_object: true,
            ..OnPremRecord::default()
        });
    }
    onprem.push(OnPremRecord {
        object_class: "computer".to_owned(),
        object_guid: guid_le(rng.uuid4()),
        object_sid: Some(g.next_sid()),
        distinguished_name: format!("CN=DC1,OU=Domain Controllers,{AD_DC}"),
        sam_account_name: Some("DC1$".to_owned()),
        user_account_control: Some(532_480),
        dns_host_name: Some(format!("dc1.{AD_DOMAIN}")),
        critical_system_object: true,
        ..OnPremRecord::default()
    });

    // A contact with mail but no proxyAddresses is not mail-enabled: Entra Connect never exports
    // it, so it cannot clash with the B2B guest holding its address.
    let guest = g.cloud_user(rng, CloudUserStyle::Guest);
    onprem.push(OnPremRecord {
        object_class: "contact".to_owned(),
        object_guid: guid_le(rng.uuid4()),
        distinguished_name: format!(
            "CN={},OU=Contacts,{AD_DC}",
            guest.display_name.clone().unwrap_or_default()
        ),
        mail: guest.mail.clone(),
        display_name: guest.display_name.clone(),
        ..OnPremRecord::default()
    });
    cloud.push(CloudObject::User(Box::new(guest)));

    replication_conflict(g, rng, &mut onprem, &mut cloud);
    written_back_group(g, rng, &mut onprem, &mut cloud);
    Planted { onprem, cloud }
}

/// A user and its replication-conflict copy (same addresses, `\0ACNF:` in its RDN): the copy
/// never syncs, so the addresses are not duplicates.
fn replication_conflict(
    g: &mut Gen,
    rng: &mut Rng,
    onprem: &mut Vec<OnPremRecord>,
    cloud: &mut Vec<CloudObject>,
) {
    // A user and its replication-conflict copy (same addresses, `\0ACNF:` in its RDN): the copy
    // never syncs, so the addresses are not duplicates.
    let (user, _) = g.onprem_user(
        rng,
        &UserSpec {
            mailbox: true,
            ..UserSpec::default()
        },
    );
    let twin = g.twin_user(rng, &user);
    let conflict_guid = rng.uuid4();
    let (rdn, parent) = user
        .distinguished_name
        .split_once(",OU=")
        .expect("generated users sit in an OU");
    let conflict = OnPremRecord {
        object_guid: guid_le(conflict_guid),
        object_sid: Some(g.next_sid()),
        distinguished_name: format!("{rdn}\\0ACNF:{},OU={parent}", guid_text(conflict_guid)),
        consistency_guid: None,
        ..user.clone()
    };
    onprem.push(user);
    onprem.push(conflict);
    cloud.push(CloudObject::User(Box::new(twin)));
}

/// A Microsoft 365 group written back to AD by group writeback, with its cloud original.
fn written_back_group(
    g: &mut Gen,
    rng: &mut Rng,
    onprem: &mut Vec<OnPremRecord>,
    cloud: &mut Vec<CloudObject>,
) {
    // A Microsoft 365 group written back to AD by group writeback (adminDescription Group_<id>)
    // with its cloud original's address: filtered on the way in, it never soft-matches.
    let original = g.cloud_group(rng);
    let nickname = original.mail_nickname.clone().unwrap_or_default();
    onprem.push(OnPremRecord {
        object_class: "group".to_owned(),
        object_guid: guid_le(rng.uuid4()),
        object_sid: Some(g.next_sid()),
        distinguished_name: format!("CN=Group_{},OU=Groups,{AD_DC}", original.id),
        sam_account_name: Some(format!("Group_{}", &original.id[..8])),
        mail: original.mail.clone(),
        mail_nickname: Some(nickname),
        proxy_addresses: original.mail.iter().map(|m| format!("SMTP:{m}")).collect(),
        display_name: original.display_name.clone(),
        group_type: Some(GROUP_TYPE_DISTRIBUTION),
        admin_description: Some(format!("Group_{}", original.id)),
        ..OnPremRecord::default()
    });
    cloud.push(CloudObject::Group(Box::new(original)));
}

/// A built-in or service account in `CN=Users`.
fn account(
    g: &mut Gen,
    rng: &mut Rng,
    sam: &str,
    upn: Option<String>,
    user_account_control: u32,
    critical: bool,
) -> OnPremRecord {
    OnPremRecord {
        object_class: "user".to_owned(),
        object_guid: guid_le(rng.uuid4()),
        object_sid: Some(g.next_sid()),
        distinguished_name: format!("CN={sam},CN=Users,{AD_DC}"),
        user_principal_name: upn,
        sam_account_name: Some(sam.to_owned()),
        display_name: Some(sam.to_owned()),
        user_account_control: Some(user_account_control),
        critical_system_object: critical,
        ..OnPremRecord::default()
    }
}
