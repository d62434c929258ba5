//! The planted problems: one function per case kind, each proven against the tool by
//! `tests/tenant.rs` and `tests/simulate_generator.rs` (every planted finding is found, nothing
//! else is). This is the only place a case is written. A case makes a few
//! related objects and records every finding they imply, including the ones a second rule
//! legitimately adds (a formerly synced user that refuses a soft match is also a stale-cloud-only
//! leftover; a synced user whose quarantined address a cloud-only user holds is also a
//! duplicate-attribute pair).
//!
//! The expected findings follow from the rules' documented semantics (queries/**/*.sql), never
//! from running the tool. "New" on-prem users have no cloud twin yet (sync will try to create
//! them: no hard match, so soft match runs); "synced" ones have a healthy twin. An object a case
//! makes but does not return is deliberately missing from the export (its source was deleted).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::rng::Rng;
use super::vocab::{
    AD_DOMAIN, INITIAL_DOMAIN, OTHER_FOREST, OTHER_NETBIOS, OTHER_UPN_DOMAIN, PARTNERS, Role,
    UNADDED_SUBDOMAIN, UNVERIFIED_DOMAIN,
};
use super::{
    CloudObject, CloudUserStyle, ConsistencyGuid, Gen, GroupKind, Planted, USER_TYPE, UpnStyle,
    UserSpec, guid_from_le, guid_le, iso, primary,
};
use crate::simulate::model::{Group, OnPremRecord, OrgContact, User};

type Case = fn(&mut Gen, &mut Rng) -> Planted;

/// Every case kind, in the order they are planted.
pub(crate) const CASES: [(&str, Case); 56] = [
    ("pe_no_holder_user", pe_no_holder_user),
    ("pe_no_holder_group", pe_no_holder_group),
    ("pe_no_holder_contact", pe_no_holder_contact),
    ("pe_cloud_holder", pe_cloud_holder),
    ("pe_upn_conflict", pe_upn_conflict),
    ("pe_onprem_holder", pe_onprem_holder),
    ("pe_two_errors", pe_two_errors),
    ("ism_immutable_cloud_only", ism_immutable_cloud_only),
    ("ism_recreated_onprem", ism_recreated_onprem),
    ("ism_other_forest", ism_other_forest),
    ("smt_formerly_synced_cleared", smt_formerly_synced_cleared),
    ("ism_admin_upn", ism_admin_upn),
    ("ism_admin_smtp", ism_admin_smtp),
    ("ism_formerly_synced_contact", ism_formerly_synced_contact),
    ("ism_group_synced_elsewhere", ism_group_synced_elsewhere),
    ("otm_contact_primary", otm_contact_primary),
    ("otm_group_secondary", otm_group_secondary),
    ("otm_other_forest_group", otm_other_forest_group),
    ("otm_contact_vs_guest", otm_contact_vs_guest),
    ("smt_upn", smt_upn),
    ("smt_contact", smt_contact),
    ("smt_group", smt_group),
    ("smt_unverified_suffix", smt_unverified_suffix),
    ("da_secondary_primary", da_secondary_primary),
    ("da_upn_case", da_upn_case),
    ("da_group_user", da_group_user),
    ("da_cloud_user", da_cloud_user),
    ("da_cloud_group", da_cloud_group),
    ("da_cloud_contact", da_cloud_contact),
    ("dsa_writeback_copy", dsa_writeback_copy),
    ("dsa_migration", dsa_migration),
    ("orphan_user", orphan_user),
    ("orphan_group", orphan_group),
    ("stale_immutable", stale_immutable),
    ("stale_formerly_user", stale_formerly_user),
    ("stale_formerly_group", stale_formerly_group),
    ("stale_source_exists", stale_source_exists),
    ("stale_last_sync_only", stale_last_sync_only),
    ("stale_group_source_exists", stale_group_source_exists),
    ("ok_pending_hard_match", ok_pending_hard_match),
    ("ihm_pending_admin", ihm_pending_admin),
    ("ihm_pending_eligible_admin", ihm_pending_eligible_admin),
    ("upn_corp_local", upn_corp_local),
    ("upn_unverified_domain", upn_unverified_domain),
    ("upn_subdomain", upn_subdomain),
    ("val_upn_period_before_at", val_upn_period_before_at),
    ("val_proxy_space", val_proxy_space),
    ("val_x500_shared", val_x500_shared),
    ("val_mail_space", val_mail_space),
    ("val_alias_leading_period", val_alias_leading_period),
    ("val_given_name_long", val_given_name_long),
    ("val_sam_long", val_sam_long),
    ("val_target_address_space", val_target_address_space),
    ("lo_certificates", lo_certificates),
    ("soa_user_source_gone", soa_user_source_gone),
    ("soa_group_formerly_synced", soa_group_formerly_synced),
];

const PE: &str = "provisioning-error";
const DA: &str = "duplicate-attribute";
const ISM: &str = "invalid-soft-match";
const STALE: &str = "stale-cloud-only";
const ORPHAN: &str = "orphaned-synced-object";
const OTM: &str = "object-type-mismatch";
const SMT: &str = "soft-match-takeover";
const DSA: &str = "duplicate-source-anchor";
const UPN: &str = "upn-suffix-unverified";
const UPN_INVALID: &str = "upn-invalid";
const IHM: &str = "invalid-hard-match";
const PROXY_INVALID: &str = "proxy-address-invalid";
const PROXY_NOT_UNIQUE: &str = "proxy-address-not-unique";
const MAIL_INVALID: &str = "mail-invalid";
const ALIAS_INVALID: &str = "mail-nickname-invalid";
const NAME_TOO_LONG: &str = "name-too-long";
const SAM_INVALID: &str = "sam-account-name-invalid";
const TARGET_INVALID: &str = "target-address-invalid";
const LARGE_OBJECT: &str = "large-object";

fn user(u: User) -> CloudObject {
    CloudObject::User(Box::new(u))
}

fn contact(k: OrgContact) -> CloudObject {
    CloudObject::Contact(Box::new(k))
}

fn group(g: Group) -> CloudObject {
    CloudObject::Group(Box::new(g))
}

fn planted(onprem: Vec<OnPremRecord>, cloud: Vec<CloudObject>) -> Planted {
    Planted { onprem, cloud }
}

/// Of two on-prem objects, the one with the smaller (larger) GUID text: pair rules report one.
fn smaller<'a>(a: &'a OnPremRecord, b: &'a OnPremRecord) -> &'a OnPremRecord {
    if guid_from_le(&a.object_guid) < guid_from_le(&b.object_guid) {
        a
    } else {
        b
    }
}

fn larger<'a>(a: &'a OnPremRecord, b: &'a OnPremRecord) -> &'a OnPremRecord {
    if guid_from_le(&a.object_guid) < guid_from_le(&b.object_guid) {
        b
    } else {
        a
    }
}

/// The value of a proxy address (`smtp:a@b` -> `a@b`).
fn value_of(proxy: &str) -> &str {
    &proxy[5..]
}

fn local_part(upn: &str) -> &str {
    upn.split('@').next().unwrap_or(upn)
}

/// An on-prem user with no cloud twin yet (sync will create it: hard match fails, soft match runs).
fn new_user(g: &mut Gen, rng: &mut Rng, upn_style: Option<UpnStyle>) -> OnPremRecord {
    new_user_with(
        g,
        rng,
        UserSpec {
            upn_style,
            ..UserSpec::default()
        },
    )
}

fn new_user_with(g: &mut Gen, rng: &mut Rng, spec: UserSpec) -> OnPremRecord {
    g.onprem_user(
        rng,
        &UserSpec {
            consistency_guid: ConsistencyGuid::Empty,
            ..spec
        },
    )
    .0
}

fn synced_user(g: &mut Gen, rng: &mut Rng) -> OnPremRecord {
    g.onprem_user(rng, &UserSpec::default()).0
}

/// Clears everything that says a cloud user was ever synced.
fn never_synced(c: &mut User) {
    c.on_premises_sync_enabled = None;
    c.on_premises_last_sync_date_time = None;
    c.on_premises_distinguished_name = None;
    c.on_premises_domain_name = None;
    c.on_premises_sam_account_name = None;
    c.on_premises_security_identifier = None;
    c.on_premises_user_principal_name = None;
}

fn random_anchor(rng: &mut Rng) -> String {
    BASE64.encode(guid_le(rng.uuid4()))
}

// -- provisioning errors ---------------------------------------------------------------------

fn pe_no_holder_user(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = synced_user(g, rng);
    // smtp:{sam}@domain is quarantined; its holder was deleted (not in the snapshot).
    let value = value_of(&u.proxy_addresses[1]).to_owned();
    let mut c = g.twin_user(rng, &u);
    c.proxy_addresses.retain(|p| value_of(p) != value);
    c.on_premises_provisioning_errors =
        vec![g.error(rng, "ProxyAddresses", format!("smtp:{value}"))];
    g.expect(
        PE,
        Some(&c.id),
        Some(&u),
        "synced user with an onPremisesProvisioningErrors entry; its source is linked by anchor, \
         no other holder is in the snapshot",
    );
    planted(vec![u], vec![user(c)])
}

fn pe_no_holder_group(g: &mut Gen, rng: &mut Rng) -> Planted {
    let on = g.onprem_group(rng, Some(GroupKind::Distribution));
    let value = value_of(&on.proxy_addresses[1]).to_owned();
    let mut c = g.twin_group(rng, &on);
    c.proxy_addresses = vec![on.proxy_addresses[0].clone()];
    c.on_premises_provisioning_errors = vec![g.error(rng, "ProxyAddress", format!("smtp:{value}"))];
    g.expect(
        PE,
        Some(&c.id),
        Some(&on),
        "synced group (linked by objectSid) with a provisioning error",
    );
    planted(vec![on], vec![group(c)])
}

fn pe_no_holder_contact(g: &mut Gen, rng: &mut Rng) -> Planted {
    let (mut k, p) = g.onprem_contact(rng);
    let extra = format!("{}.{}-old{}@{}", p.fa(), p.la(), p.n, PARTNERS[0].0);
    k.proxy_addresses.push(format!("smtp:{extra}"));
    let mut c = g.twin_contact(rng, &k);
    c.proxy_addresses = vec![k.proxy_addresses[0].clone()];
    c.on_premises_provisioning_errors =
        vec![g.error(rng, "ProxyAddresses", format!("smtp:{extra}"))];
    g.expect(
        PE,
        Some(&c.id),
        Some(&k),
        "synced contact (linked by primary SMTP) with a provisioning error",
    );
    planted(vec![k], vec![contact(c)])
}

fn pe_cloud_holder(g: &mut Gen, rng: &mut Rng) -> Planted {
    let (mut u, p) = g.onprem_user(rng, &UserSpec::default());
    let value = format!("{}.{}-sales{}@contoso.com", p.fa(), p.la(), p.n);
    u.proxy_addresses.push(format!("smtp:{value}"));
    let mut c = g.twin_user(rng, &u);
    c.proxy_addresses.pop();
    c.on_premises_provisioning_errors =
        vec![g.error(rng, "ProxyAddresses", format!("smtp:{value}"))];
    let mut holder = g.cloud_user(rng, CloudUserStyle::Member);
    holder.proxy_addresses.push(format!("smtp:{value}"));
    g.expect(
        PE,
        Some(&c.id),
        Some(&u),
        "the twin's quarantined secondary is held by a cloud-only user",
    );
    g.expect(
        DA,
        Some(&holder.id),
        Some(&u),
        "on-prem user (linked, so no soft match) holds a secondary that an unlinked cloud-only \
         user holds",
    );
    planted(vec![u], vec![user(c), user(holder)])
}

fn pe_upn_conflict(g: &mut Gen, rng: &mut Rng) -> Planted {
    let (u, _) = g.onprem_user(
        rng,
        &UserSpec {
            upn_style: Some(UpnStyle::Mail),
            ..UserSpec::default()
        },
    );
    let upn = u.user_principal_name.clone().expect("users have a UPN");
    let mut c = g.twin_user(rng, &u);
    c.user_principal_name = format!(
        "{}{}@{INITIAL_DOMAIN}",
        local_part(&upn),
        rng.int_in(1000, 9999)
    );
    c.on_premises_provisioning_errors = vec![g.error(rng, "UserPrincipalName", upn.clone())];
    let mut holder = g.cloud_user(rng, CloudUserStyle::Admin);
    // The case differs: still the same UPN.
    holder.user_principal_name = upn[..1].to_uppercase() + &upn[1..];
    g.expect(
        PE,
        Some(&c.id),
        Some(&u),
        "UPN quarantined (placeholder UPN on the twin); a cloud-only user holds the UPN",
    );
    g.expect(
        DA,
        Some(&holder.id),
        Some(&u),
        "on-prem user (linked) and an unlinked cloud-only user hold the same UPN (case-insensitive)",
    );
    planted(vec![u], vec![user(c), user(holder)])
}

fn pe_onprem_holder(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u1 = synced_user(g, rng);
    let mut u2 = synced_user(g, rng);
    let value = primary(&u1);
    u2.proxy_addresses.push(format!("smtp:{value}"));
    let c1 = g.twin_user(rng, &u1);
    let mut c2 = g.twin_user(rng, &u2);
    c2.proxy_addresses.pop();
    c2.on_premises_provisioning_errors =
        vec![g.error(rng, "ProxyAddresses", format!("smtp:{value}"))];
    g.expect(
        PE,
        Some(&c2.id),
        Some(&u2),
        "the twin of u2 had u1's primary quarantined",
    );
    g.expect(
        DA,
        None,
        Some(smaller(&u1, &u2)),
        "two on-prem users hold one address (u2's secondary = u1's primary): one finding, the \
         smaller GUID",
    );
    planted(vec![u1, u2], vec![user(c1), user(c2)])
}

fn pe_two_errors(g: &mut Gen, rng: &mut Rng) -> Planted {
    let (u, _) = g.onprem_user(
        rng,
        &UserSpec {
            upn_style: Some(UpnStyle::Mail),
            ..UserSpec::default()
        },
    );
    let upn = u.user_principal_name.clone().expect("users have a UPN");
    let value = value_of(&u.proxy_addresses[1]).to_owned();
    let mut c = g.twin_user(rng, &u);
    c.user_principal_name = format!(
        "{}{}@{INITIAL_DOMAIN}",
        local_part(&upn),
        rng.int_in(1000, 9999)
    );
    c.proxy_addresses.retain(|p| value_of(p) != value);
    c.on_premises_provisioning_errors = vec![
        g.error(rng, "UserPrincipalName", upn.clone()),
        g.error(rng, "ProxyAddresses", format!("smtp:{value}")),
    ];
    for what in ["UserPrincipalName", "ProxyAddresses"] {
        g.expect(
            PE,
            Some(&c.id),
            Some(&u),
            &format!(
                "one finding per onPremisesProvisioningErrors entry ({what}); no other holder in \
                 the snapshot"
            ),
        );
    }
    planted(vec![u], vec![user(c)])
}

// -- invalid soft match ----------------------------------------------------------------------

fn ism_immutable_cloud_only(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, Some(UpnStyle::Mail));
    let mut c = g.twin_user(rng, &u);
    c.on_premises_immutable_id = Some(random_anchor(rng));
    never_synced(&mut c);
    g.expect(
        ISM,
        Some(&c.id),
        Some(&u),
        "same UPN; the cloud-only user carries another immutableId",
    );
    g.expect(
        STALE,
        Some(&c.id),
        Some(&u),
        "cloud-only with an immutableId that matches nothing, and it blocks the on-prem user",
    );
    planted(vec![u], vec![user(c)])
}

fn ism_recreated_onprem(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, Some(UpnStyle::Mail));
    let old_dn = u.distinguished_name.replacen("CN=", "CN=old ", 1);
    let mut c = g.twin_user(rng, &u);
    c.on_premises_immutable_id = Some(random_anchor(rng));
    c.on_premises_distinguished_name = Some(old_dn);
    g.expect(
        ISM,
        Some(&c.id),
        Some(&u),
        "user deleted and re-created on-prem: the synced cloud user (old anchor) has the same \
         UPN and SMTP",
    );
    g.expect(
        ORPHAN,
        Some(&c.id),
        None,
        "synced from corp.local (exported) but no exported object has its immutableId",
    );
    planted(vec![u], vec![user(c)])
}

fn ism_other_forest(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, Some(UpnStyle::Mail));
    let mut c = g.other_forest_user(rng);
    c.user_principal_name = u.user_principal_name.clone().expect("users have a UPN");
    c.on_premises_user_principal_name
        .clone_from(&u.user_principal_name);
    g.expect(
        ISM,
        Some(&c.id),
        Some(&u),
        "same UPN as a user Cloud Sync provisions from fabrikam.local (another immutableId); \
         fabrikam.local is not exported, so it is not orphaned",
    );
    planted(vec![u], vec![user(c)])
}

/// A formerly synced user whose immutableId was cleared is taken over again: the documented
/// condition for soft match is only that the cloud object has no immutableId
/// (<https://learn.microsoft.com/entra/identity/hybrid/connect/tshoot-connect-sync-errors>), and the
/// takeover overwrites it, so it is no leftover either.
fn smt_formerly_synced_cleared(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, Some(UpnStyle::Mail));
    let mut c = g.twin_user(rng, &u);
    c.on_premises_immutable_id = None;
    c.on_premises_sync_enabled = Some(false);
    c.on_premises_last_sync_date_time = Some(iso(g.past(rng, 200.0, 900.0)));
    g.expect(
        SMT,
        Some(&c.id),
        Some(&u),
        "same UPN and SMTP; the cloud user was synced before (onPremisesSyncEnabled false) and \
         its immutableId was cleared, so soft match takes it over",
    );
    planted(vec![u], vec![user(c)])
}

fn ism_admin_upn(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, Some(UpnStyle::Mail));
    let mut c = g.cloud_user(rng, CloudUserStyle::Member);
    c.user_principal_name = u.user_principal_name.clone().expect("users have a UPN");
    c.mail = None;
    c.proxy_addresses = Vec::new();
    c.display_name.clone_from(&u.display_name);
    c.given_name = u.given_name.as_deref().map(str::to_owned);
    c.surname = u.surname.as_deref().map(str::to_owned);
    g.add_role(Role::GlobalAdministrator, &c.id, USER_TYPE);
    g.expect(
        ISM,
        Some(&c.id),
        Some(&u),
        "same UPN; the cloud-only user holds Global Administrator",
    );
    g.expect(
        STALE,
        Some(&c.id),
        Some(&u),
        "cloud-only user that blocks the on-prem user (soft match refused)",
    );
    planted(vec![u], vec![user(c)])
}

fn ism_admin_smtp(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, Some(UpnStyle::Sam));
    let mut c = g.cloud_user(rng, CloudUserStyle::Admin);
    c.proxy_addresses = vec![
        format!("SMTP:{}", c.user_principal_name),
        format!("smtp:{}", primary(&u)),
    ];
    c.mail = Some(c.user_principal_name.clone());
    g.add_role(Role::ExchangeAdministrator, &c.id, USER_TYPE);
    g.expect(
        ISM,
        Some(&c.id),
        Some(&u),
        "the on-prem primary SMTP is a secondary address of a cloud-only Exchange Administrator",
    );
    g.expect(
        STALE,
        Some(&c.id),
        Some(&u),
        "cloud-only user that blocks the on-prem user (soft match refused)",
    );
    planted(vec![u], vec![user(c)])
}

fn ism_formerly_synced_contact(g: &mut Gen, rng: &mut Rng) -> Planted {
    let (k, _) = g.onprem_contact(rng);
    let mut c = g.twin_contact(rng, &k);
    c.on_premises_sync_enabled = Some(false);
    c.on_premises_last_sync_date_time = Some(iso(g.past(rng, 100.0, 600.0)));
    g.expect(
        ISM,
        Some(&c.id),
        Some(&k),
        "contacts link only to synced contacts; this one was synced before (false), so the \
         on-prem contact soft-matches it on its primary SMTP and is refused",
    );
    g.expect(
        STALE,
        Some(&c.id),
        Some(&k),
        "formerly synced contact that blocks the on-prem contact",
    );
    planted(vec![k], vec![contact(c)])
}

/// A distribution group Cloud Sync provisions from fabrikam.local (not exported).
fn other_forest_group(g: &mut Gen, rng: &mut Rng, mail: Option<String>, extra: &[String]) -> Group {
    let n = g.next_serial();
    let name = format!("DL-Fabrikam-{n}");
    let mail = mail.unwrap_or_else(|| format!("{}@{OTHER_UPN_DOMAIN}", name.to_lowercase()));
    let mut c = g.cloud_group(rng);
    c.display_name = Some(name.replace('-', " "));
    c.group_types = Vec::new();
    c.mail_nickname = Some(local_part(&mail).to_owned());
    c.proxy_addresses = std::iter::once(format!("SMTP:{mail}"))
        .chain(extra.iter().cloned())
        .collect();
    c.mail = Some(mail);
    c.on_premises_sync_enabled = Some(true);
    c.on_premises_last_sync_date_time = Some(iso(g.past(rng, 0.0, 0.1)));
    c.on_premises_sam_account_name = Some(name);
    c.on_premises_domain_name = Some(OTHER_FOREST.to_owned());
    c.on_premises_net_bios_name = Some(OTHER_NETBIOS.to_owned());
    c.on_premises_security_identifier = Some(g.next_other_sid());
    c
}

fn ism_group_synced_elsewhere(g: &mut Gen, rng: &mut Rng) -> Planted {
    // A new on-prem group, no cloud twin yet.
    let on = g.onprem_group(rng, Some(GroupKind::Distribution));
    let c = other_forest_group(g, rng, on.mail.clone(), &[]);
    g.expect(
        ISM,
        Some(&c.id),
        Some(&on),
        "new mail-enabled group whose primary SMTP a group synced from fabrikam.local already \
         has: refused (synced from another source); that forest is not exported, so not orphaned",
    );
    planted(vec![on], vec![group(c)])
}

// -- object type mismatch --------------------------------------------------------------------

fn otm_contact_primary(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, None);
    let value = primary(&u);
    let mut c = g.cloud_contact(rng);
    c.proxy_addresses = vec![format!("SMTP:{value}")];
    c.mail = Some(value);
    c.display_name = Some(format!(
        "{} (mail contact)",
        u.display_name.as_deref().unwrap_or_default()
    ));
    g.expect(
        OTM,
        Some(&c.id),
        Some(&u),
        "a cloud-only contact holds the on-prem user's primary SMTP",
    );
    g.expect(
        STALE,
        Some(&c.id),
        Some(&u),
        "cloud-only contact of another type that blocks the on-prem user",
    );
    planted(vec![u], vec![contact(c)])
}

fn otm_group_secondary(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, None);
    let mut c = g.cloud_group(rng);
    c.proxy_addresses.push(format!("smtp:{}", primary(&u)));
    g.expect(
        OTM,
        Some(&c.id),
        Some(&u),
        "a Microsoft 365 group holds the on-prem user's primary SMTP as a secondary smtp: address",
    );
    g.expect(
        STALE,
        Some(&c.id),
        Some(&u),
        "cloud-only group of another type that blocks the on-prem user",
    );
    planted(vec![u], vec![group(c)])
}

fn otm_other_forest_group(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, None);
    let c = other_forest_group(g, rng, None, &[format!("smtp:{}", primary(&u))]);
    g.expect(
        OTM,
        Some(&c.id),
        Some(&u),
        "a distribution group synced from fabrikam.local holds the on-prem user's primary SMTP; \
         synced (not stale) and its domain is not exported (not orphaned)",
    );
    planted(vec![u], vec![group(c)])
}

fn otm_contact_vs_guest(g: &mut Gen, rng: &mut Rng) -> Planted {
    let (k, _) = g.onprem_contact(rng);
    let mail = k.mail.clone().expect("contacts have mail");
    let mut c = g.cloud_user(rng, CloudUserStyle::Guest);
    let local = mail.replace('@', "_");
    c.user_principal_name = format!("{local}#EXT#@{INITIAL_DOMAIN}");
    c.mail_nickname = Some(format!("{local}#EXT#"));
    c.proxy_addresses = vec![format!("SMTP:{mail}")];
    c.mail = Some(mail);
    c.display_name.clone_from(&k.display_name);
    g.expect(
        OTM,
        Some(&c.id),
        Some(&k),
        "an on-prem mail contact (not yet synced) and a B2B guest user share the primary SMTP",
    );
    g.expect(
        STALE,
        Some(&c.id),
        Some(&k),
        "cloud-only guest of another type that blocks the on-prem contact",
    );
    planted(vec![k], vec![user(c)])
}

// -- soft match takeover ---------------------------------------------------------------------

fn smt_upn(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, Some(UpnStyle::Mail));
    let mut c = g.twin_user(rng, &u);
    c.on_premises_immutable_id = None;
    never_synced(&mut c);
    c.proxy_addresses = vec![format!("SMTP:{}", primary(&u))];
    g.expect(
        SMT,
        Some(&c.id),
        Some(&u),
        "cloud-only user (no immutableId, never synced, no role) with the same UPN and SMTP",
    );
    planted(vec![u], vec![user(c)])
}

fn smt_contact(g: &mut Gen, rng: &mut Rng) -> Planted {
    let (k, _) = g.onprem_contact(rng);
    let mut c = g.twin_contact(rng, &k);
    c.on_premises_sync_enabled = None;
    c.on_premises_last_sync_date_time = None;
    g.expect(
        SMT,
        Some(&c.id),
        Some(&k),
        "cloud-only contact with the same primary SMTP (contacts link only to synced contacts)",
    );
    planted(vec![k], vec![contact(c)])
}

fn smt_group(g: &mut Gen, rng: &mut Rng) -> Planted {
    // A new on-prem group, no cloud twin yet.
    let on = g.onprem_group(rng, Some(GroupKind::Distribution));
    let mail = on.mail.clone().expect("distribution groups have mail");
    let mut c = g.cloud_group(rng);
    c.display_name.clone_from(&on.display_name);
    c.group_types = Vec::new();
    c.mail_nickname.clone_from(&on.mail_nickname);
    c.proxy_addresses = vec![format!("SMTP:{mail}")];
    c.mail = Some(mail);
    g.expect(
        SMT,
        Some(&c.id),
        Some(&on),
        "distribution group created in Exchange Online with the primary SMTP of a new on-prem \
         distribution group: sync will take it over",
    );
    planted(vec![on], vec![group(c)])
}

fn smt_unverified_suffix(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user_with(
        g,
        rng,
        UserSpec {
            upn_style: Some(UpnStyle::Sam),
            upn_suffix: Some(AD_DOMAIN),
            ..UserSpec::default()
        },
    );
    let value = primary(&u);
    let mut c = g.cloud_user(rng, CloudUserStyle::Member);
    c.user_principal_name.clone_from(&value);
    c.proxy_addresses = vec![format!("SMTP:{value}")];
    c.mail = Some(value);
    c.display_name.clone_from(&u.display_name);
    c.given_name = u.given_name.as_deref().map(str::to_owned);
    c.surname = u.surname.as_deref().map(str::to_owned);
    g.expect(
        SMT,
        Some(&c.id),
        Some(&u),
        "UPN is @corp.local (cannot match), but the primary SMTP equals a cloud-only user's",
    );
    g.expect(
        UPN,
        None,
        Some(&u),
        "UPN suffix corp.local is not a verified domain",
    );
    planted(vec![u], vec![user(c)])
}

// -- duplicate attribute ---------------------------------------------------------------------

fn da_secondary_primary(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut u1 = synced_user(g, rng);
    let u2 = synced_user(g, rng);
    let c1 = g.twin_user(rng, &u1);
    let c2 = g.twin_user(rng, &u2);
    // Added on-prem, not synced yet.
    u1.proxy_addresses.push(format!("smtp:{}", primary(&u2)));
    g.expect(
        DA,
        None,
        Some(smaller(&u1, &u2)),
        "u1's new secondary smtp: is u2's primary",
    );
    planted(vec![u1, u2], vec![user(c1), user(c2)])
}

fn da_upn_case(g: &mut Gen, rng: &mut Rng) -> Planted {
    let (u1, _) = g.onprem_user(
        rng,
        &UserSpec {
            upn_style: Some(UpnStyle::Mail),
            ..UserSpec::default()
        },
    );
    let mut u2 = synced_user(g, rng);
    // c2 still has u2's old UPN.
    let c1 = g.twin_user(rng, &u1);
    let c2 = g.twin_user(rng, &u2);
    u2.user_principal_name = u1.user_principal_name.as_deref().map(str::to_uppercase);
    g.expect(
        DA,
        None,
        Some(smaller(&u1, &u2)),
        "two on-prem users with the same UPN, differing only in case",
    );
    planted(vec![u1, u2], vec![user(c1), user(c2)])
}

fn da_group_user(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = synced_user(g, rng);
    let mut on = g.onprem_group(rng, Some(GroupKind::MailSecurity));
    let cu = g.twin_user(rng, &u);
    let cg = g.twin_group(rng, &on);
    on.proxy_addresses.push(format!("smtp:{}", primary(&u)));
    g.expect(
        DA,
        None,
        Some(smaller(&u, &on)),
        "a mail-enabled group's secondary is a user's primary",
    );
    planted(vec![u, on], vec![user(cu), group(cg)])
}

#[derive(Clone, Copy)]
enum Holder {
    User,
    Group,
    Contact,
}

fn da_cloud(g: &mut Gen, rng: &mut Rng, holder: Holder) -> Planted {
    let (mut source, person) = g.onprem_user(rng, &UserSpec::default());
    let kind = match holder {
        Holder::User => "user",
        Holder::Group => "group",
        Holder::Contact => "contact",
    };
    let value = format!(
        "{}-{}-{kind}-{}@contoso.com",
        person.fa(),
        person.la(),
        person.n
    );
    let twin = g.twin_user(rng, &source);
    // Added on-prem, not synced yet.
    source.proxy_addresses.push(format!("smtp:{value}"));
    let (other, other_id) = match holder {
        Holder::User => {
            let mut other = g.cloud_user(rng, CloudUserStyle::Member);
            other.proxy_addresses.push(format!("smtp:{value}"));
            let id = other.id.clone();
            (user(other), id)
        }
        Holder::Group => {
            let mut other = g.cloud_group(rng);
            other.proxy_addresses[0] = format!("SMTP:{value}");
            other.mail = Some(value);
            let id = other.id.clone();
            (group(other), id)
        }
        Holder::Contact => {
            let mut other = g.cloud_contact(rng);
            other.proxy_addresses = vec![format!("SMTP:{value}")];
            other.mail = Some(value);
            let id = other.id.clone();
            (contact(other), id)
        }
    };
    g.expect(
        DA,
        Some(&other_id),
        Some(&source),
        &format!(
            "the linked on-prem user's secondary smtp: is held by an unlinked cloud-only {kind} \
             (secondaries never soft-match)"
        ),
    );
    planted(vec![source], vec![user(twin), other])
}

fn da_cloud_user(g: &mut Gen, rng: &mut Rng) -> Planted {
    da_cloud(g, rng, Holder::User)
}

fn da_cloud_group(g: &mut Gen, rng: &mut Rng) -> Planted {
    da_cloud(g, rng, Holder::Group)
}

fn da_cloud_contact(g: &mut Gen, rng: &mut Rng) -> Planted {
    da_cloud(g, rng, Holder::Contact)
}

// -- duplicate source anchor -----------------------------------------------------------------

fn dsa_writeback_copy(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut u1 = new_user(g, rng, None);
    u1.consistency_guid = Some(u1.object_guid);
    let (u2, _) = g.onprem_user(
        rng,
        &UserSpec {
            consistency_guid: ConsistencyGuid::Set(u1.object_guid),
            ..UserSpec::default()
        },
    );
    let c = g.twin_user(rng, &u1);
    g.expect(
        DSA,
        None,
        Some(larger(&u1, &u2)),
        "u2's mS-DS-ConsistencyGuid was copied from u1 (which Entra Connect stamped with its \
         objectGUID): one finding, the larger GUID",
    );
    planted(vec![u1, u2], vec![user(c)])
}

fn dsa_migration(g: &mut Gen, rng: &mut Rng) -> Planted {
    let source = guid_le(rng.uuid4());
    let spec = UserSpec {
        consistency_guid: ConsistencyGuid::Set(source),
        ..UserSpec::default()
    };
    let (u1, _) = g.onprem_user(rng, &spec);
    let (u2, _) = g.onprem_user(rng, &spec);
    let c = g.twin_user(rng, &u1);
    g.expect(
        DSA,
        None,
        Some(larger(&u1, &u2)),
        "ADMT migrated one source account twice: both carry its GUID as mS-DS-ConsistencyGuid",
    );
    planted(vec![u1, u2], vec![user(c)])
}

// -- orphaned synced objects -----------------------------------------------------------------

fn orphan_user(g: &mut Gen, rng: &mut Rng) -> Planted {
    // Never exported: its source was deleted.
    let u = synced_user(g, rng);
    let c = g.twin_user(rng, &u);
    g.expect(
        ORPHAN,
        Some(&c.id),
        None,
        "synced user from corp.local whose source is gone",
    );
    planted(Vec::new(), vec![user(c)])
}

fn orphan_group(g: &mut Gen, rng: &mut Rng) -> Planted {
    // Never exported.
    let on = g.onprem_group(rng, None);
    let c = g.twin_group(rng, &on);
    g.expect(
        ORPHAN,
        Some(&c.id),
        None,
        "synced group from corp.local whose objectSid no exported group has",
    );
    planted(Vec::new(), vec![group(c)])
}

// -- stale cloud-only ------------------------------------------------------------------------

fn stale_immutable(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut c = g.cloud_user(rng, CloudUserStyle::Member);
    c.on_premises_immutable_id = Some(random_anchor(rng));
    g.expect(
        STALE,
        Some(&c.id),
        None,
        "cloud-only user carrying an immutableId that matches nothing",
    );
    planted(Vec::new(), vec![user(c)])
}

fn stale_formerly_user(g: &mut Gen, rng: &mut Rng) -> Planted {
    // Not exported: gone on-prem.
    let u = synced_user(g, rng);
    let mut c = g.twin_user(rng, &u);
    c.on_premises_sync_enabled = Some(false);
    c.on_premises_last_sync_date_time = Some(iso(g.past(rng, 100.0, 700.0)));
    g.expect(
        STALE,
        Some(&c.id),
        None,
        "formerly synced user (onPremisesSyncEnabled false) with no source",
    );
    planted(Vec::new(), vec![user(c)])
}

fn stale_formerly_group(g: &mut Gen, rng: &mut Rng) -> Planted {
    // Not exported.
    let on = g.onprem_group(rng, Some(GroupKind::Distribution));
    let mut c = g.twin_group(rng, &on);
    c.on_premises_sync_enabled = Some(false);
    c.on_premises_last_sync_date_time = Some(iso(g.past(rng, 100.0, 700.0)));
    g.expect(
        STALE,
        Some(&c.id),
        None,
        "formerly synced group with no source",
    );
    planted(Vec::new(), vec![group(c)])
}

fn stale_source_exists(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = synced_user(g, rng);
    let mut c = g.twin_user(rng, &u);
    c.on_premises_sync_enabled = Some(false);
    c.on_premises_last_sync_date_time = Some(iso(g.past(rng, 30.0, 300.0)));
    g.expect(
        STALE,
        Some(&c.id),
        Some(&u),
        "formerly synced user whose source (same anchor) still exists on-prem",
    );
    planted(vec![u], vec![user(c)])
}

fn stale_last_sync_only(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut c = g.cloud_user(rng, CloudUserStyle::Member);
    c.on_premises_last_sync_date_time = Some(iso(g.past(rng, 400.0, 1200.0)));
    g.expect(
        STALE,
        Some(&c.id),
        None,
        "onPremisesSyncEnabled null but a past onPremisesLastSyncDateTime: synced before",
    );
    planted(Vec::new(), vec![user(c)])
}

fn stale_group_source_exists(g: &mut Gen, rng: &mut Rng) -> Planted {
    let on = g.onprem_group(rng, Some(GroupKind::MailSecurity));
    let mut c = g.twin_group(rng, &on);
    c.on_premises_sync_enabled = Some(false);
    c.on_premises_last_sync_date_time = Some(iso(g.past(rng, 30.0, 300.0)));
    g.expect(
        STALE,
        Some(&c.id),
        Some(&on),
        "formerly synced group whose objectSid an exported group still has: the group analogue \
         of a formerly synced user joined by its anchor (the SID is the twin key whatever the \
         sync state), so it names its source and no soft match is tried",
    );
    planted(vec![on], vec![group(c)])
}

/// A cloud-only user with the on-prem anchor as immutableId: a pending hard match, no finding.
fn ok_pending_hard_match(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, Some(UpnStyle::Mail));
    let mut c = g.twin_user(rng, &u);
    never_synced(&mut c);
    planted(vec![u], vec![user(c)])
}

/// A pending hard match onto a cloud-only user who holds a Microsoft Entra role: refused since
/// the June 2026 protection (MC1262584), whatever the tenant's flags.
fn ihm_pending_admin(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, Some(UpnStyle::Mail));
    let mut c = g.twin_user(rng, &u);
    never_synced(&mut c);
    g.add_role(Role::UserAdministrator, &c.id, USER_TYPE);
    g.expect(
        IHM,
        Some(&c.id),
        Some(&u),
        "hard match onto a cloud-only User Administrator",
    );
    planted(vec![u], vec![user(c)])
}

/// The same, for a cloud-only user who is only *eligible* (PIM) for a role: counted as holding
/// it, the cautious reading of MC1262584 (UNVERIFIED; see invalid-hard-match's docs).
fn ihm_pending_eligible_admin(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = new_user(g, rng, Some(UpnStyle::Mail));
    let mut c = g.twin_user(rng, &u);
    never_synced(&mut c);
    g.add_eligible_role(Role::HybridIdentityAdministrator, &c.id, USER_TYPE);
    g.expect(
        IHM,
        Some(&c.id),
        Some(&u),
        "hard match onto a cloud-only user eligible for Hybrid Identity Administrator",
    );
    planted(vec![u], vec![user(c)])
}

// -- UPN suffix ------------------------------------------------------------------------------

fn upn_corp_local(g: &mut Gen, rng: &mut Rng) -> Planted {
    let (u, _) = g.onprem_user(
        rng,
        &UserSpec {
            upn_style: Some(UpnStyle::Sam),
            upn_suffix: Some(AD_DOMAIN),
            ..UserSpec::default()
        },
    );
    let mut c = g.twin_user(rng, &u);
    c.user_principal_name = format!(
        "{}@{INITIAL_DOMAIN}",
        u.sam_account_name.as_deref().unwrap_or_default()
    );
    g.expect(
        UPN,
        None,
        Some(&u),
        "on-prem UPN @corp.local; the twin got an onmicrosoft.com UPN",
    );
    planted(vec![u], vec![user(c)])
}

fn upn_elsewhere(g: &mut Gen, rng: &mut Rng, suffix: &'static str, note: &str) -> Planted {
    let (u, _) = g.onprem_user(
        rng,
        &UserSpec {
            upn_style: Some(UpnStyle::Mail),
            upn_suffix: Some(suffix),
            ..UserSpec::default()
        },
    );
    let mut c = g.twin_user(rng, &u);
    c.user_principal_name = format!(
        "{}@{INITIAL_DOMAIN}",
        local_part(u.user_principal_name.as_deref().unwrap_or_default())
    );
    g.expect(UPN, None, Some(&u), note);
    planted(vec![u], vec![user(c)])
}

fn upn_unverified_domain(g: &mut Gen, rng: &mut Rng) -> Planted {
    upn_elsewhere(
        g,
        rng,
        UNVERIFIED_DOMAIN,
        "UPN suffix contoso.de is added to the tenant but not verified",
    )
}

fn upn_subdomain(g: &mut Gen, rng: &mut Rng) -> Planted {
    upn_elsewhere(
        g,
        rng,
        UNADDED_SUBDOMAIN,
        "eu.contoso.com is a subdomain of a verified domain but was never added to the tenant",
    )
}

// -- data validation (queries/validation) ------------------------------------------------------
// New users (no cloud twin) whose one value breaks a documented export rule; everything else
// about them is healthy, so the validation rule is the only finding.

fn val_upn_period_before_at(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut u = new_user(g, rng, Some(UpnStyle::Mail));
    let upn = u.user_principal_name.take().unwrap_or_default();
    let (local, domain) = upn.split_once('@').unwrap_or((&upn, AD_DOMAIN));
    u.user_principal_name = Some(format!("{local}.@{domain}"));
    g.expect(
        UPN_INVALID,
        None,
        Some(&u),
        "a period directly before the @ of the UPN",
    );
    planted(vec![u], vec![])
}

fn val_proxy_space(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut u = new_user(g, rng, None);
    let first = primary(&u);
    let (local, domain) = first.split_once('@').unwrap_or((&first, AD_DOMAIN));
    u.proxy_addresses
        .push(format!("smtp:{local} alias@{domain}"));
    g.expect(
        PROXY_INVALID,
        None,
        Some(&u),
        "a space in a secondary SMTP address",
    );
    planted(vec![u], vec![])
}

fn val_x500_shared(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut a = new_user(g, rng, None);
    let mut b = new_user(g, rng, None);
    // An X500 address left on a new mailbox after a migration, still held by the old one; the
    // spaces and parentheses are Exchange's own and not a finding.
    let shared = format!(
        "X500:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={:032x}-migrated",
        rng.u128()
    );
    a.proxy_addresses.push(shared.clone());
    b.proxy_addresses.push(shared);
    g.expect(
        PROXY_NOT_UNIQUE,
        None,
        Some(smaller(&a, &b)),
        "two users hold one X500 address",
    );
    planted(vec![a, b], vec![])
}

fn val_mail_space(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut u = new_user_with(
        g,
        rng,
        UserSpec {
            mailbox: false,
            upn_style: Some(UpnStyle::Sam),
            ..UserSpec::default()
        },
    );
    let sam = u.sam_account_name.clone().unwrap_or_default();
    u.mail = Some(format!("{sam} @{AD_DOMAIN}"));
    g.expect(MAIL_INVALID, None, Some(&u), "a space before the @ of mail");
    planted(vec![u], vec![])
}

fn val_alias_leading_period(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut u = new_user(g, rng, None);
    let alias = u.mail_nickname.take().unwrap_or_default();
    u.mail_nickname = Some(format!(".{alias}"));
    g.expect(
        ALIAS_INVALID,
        None,
        Some(&u),
        "mailNickname begins with a period",
    );
    planted(vec![u], vec![])
}

fn val_given_name_long(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut u = new_user(g, rng, None);
    let first = u.given_name.clone().unwrap_or_default();
    let long: String = first
        .chars()
        .chain(std::iter::repeat('a'))
        .take(65)
        .collect();
    u.given_name = Some(long.into());
    g.expect(NAME_TOO_LONG, None, Some(&u), "givenName of 65 characters");
    planted(vec![u], vec![])
}

fn val_sam_long(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut u = new_user(g, rng, Some(UpnStyle::Mail));
    let sam = u.sam_account_name.take().unwrap_or_default();
    let long: String = sam.chars().chain(std::iter::repeat('x')).take(21).collect();
    u.sam_account_name = Some(long);
    g.expect(
        SAM_INVALID,
        None,
        Some(&u),
        "sAMAccountName of 21 characters (the user is still created)",
    );
    planted(vec![u], vec![])
}

fn val_target_address_space(g: &mut Gen, rng: &mut Rng) -> Planted {
    let (mut k, _) = g.onprem_contact(rng);
    let mail = k.mail.clone().unwrap_or_default();
    let (local, domain) = mail.split_once('@').unwrap_or((&mail, AD_DOMAIN));
    k.target_address = Some(format!("SMTP:{local} fwd@{domain}"));
    g.expect(TARGET_INVALID, None, Some(&k), "a space in targetAddress");
    planted(vec![k], vec![])
}

/// A user with 16 certificates (one over the limit): modern Entra Connect drops them.
fn lo_certificates(g: &mut Gen, rng: &mut Rng) -> Planted {
    let mut u = new_user(g, rng, None);
    u.certificate_count = 16;
    g.expect(LARGE_OBJECT, None, Some(&u), "16 userCertificate values");
    planted(vec![u], vec![])
}

// -- converted to cloud management (source of authority) -------------------------------------

/// A synced user converted to cloud management (onPremisesSyncBehavior isCloudManaged true),
/// whose on-prem source was then deleted (not exported): no orphan, no finding
/// (<https://learn.microsoft.com/graph/api/resources/onpremisessyncbehavior?view=graph-rest-beta>).
fn soa_user_source_gone(g: &mut Gen, rng: &mut Rng) -> Planted {
    let u = synced_user(g, rng);
    let c = g.twin_user(rng, &u);
    g.cloud_managed.push(c.id.clone());
    planted(Vec::new(), vec![user(c)])
}

/// A formerly synced group converted to cloud management, its source gone: cloud-managed by
/// decision, not a stale leftover.
fn soa_group_formerly_synced(g: &mut Gen, rng: &mut Rng) -> Planted {
    let on = g.onprem_group(rng, None);
    let mut c = g.twin_group(rng, &on);
    c.on_premises_sync_enabled = Some(false);
    c.on_premises_last_sync_date_time = Some(iso(g.past(rng, 30.0, 200.0)));
    g.cloud_managed.push(c.id.clone());
    planted(Vec::new(), vec![group(c)])
}
