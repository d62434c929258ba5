//! The generator's object constructors: on-prem users, contacts, groups, computers and OUs as an
//! AD export shows them, their synced cloud twins, and cloud-only users, contacts and groups.
//! Every address embeds the object's serial, so
//! nothing collides unless a planting case makes it.
//!
//! Constructors only: they decide no planting and record no ground truth.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::TimeDelta;

use super::rng::Rng;
use super::vocab::{
    AD_DC, AD_DOMAIN, AD_NETBIOS, DEPARTMENTS, EXCHANGE_LEGACY_ORG, GROUP_TYPE_DISTRIBUTION,
    GROUP_TYPE_MAIL_SECURITY, GROUP_TYPE_SECURITY, GUEST_DOMAINS, INITIAL_DOMAIN, LEGACY_X500,
    OTHER_DC, OTHER_FOREST, OTHER_UPN_DOMAIN, PARTNERS, ROUTING_DOMAIN, SITES,
};
use super::{
    CloudUserStyle, ConsistencyGuid, Gen, GroupKind, Person, UpnStyle, UserSpec, anchor, guid_le,
    guid_text, iso, sam_account_name,
};
use crate::simulate::model::{Group, OnPremRecord, OrgContact, User};

impl Gen {
    // -- on-prem objects -------------------------------------------------------------------

    pub(crate) fn onprem_user(&mut self, rng: &mut Rng, spec: &UserSpec) -> (OnPremRecord, Person) {
        let p = self.person(rng);
        let (fa, la, n, r) = (p.fa(), p.la(), p.n, p.r);
        let (_, site_ou, domain) = p.site();
        let sam = sam_account_name(fa, la, n);
        let container = if spec.disabled {
            -1
        } else {
            i8::try_from(p.si).expect("5 sites")
        };
        let cn = self.common_name(&p, &sam, container);
        let dn = if spec.disabled {
            format!("CN={cn},OU=Disabled Users,{AD_DC}")
        } else {
            format!("CN={cn},OU=Users,OU={site_ou},{AD_DC}")
        };
        let primary = format!("{fa}.{la}{n}@{domain}");
        let style = spec.upn_style.unwrap_or(if spec.mailbox && r % 10 < 7 {
            UpnStyle::Mail
        } else {
            UpnStyle::Sam
        });
        let suffix = spec.upn_suffix.unwrap_or(domain);
        let upn = match style {
            UpnStyle::Mail => format!("{fa}.{la}{n}@{suffix}"),
            UpnStyle::Sam => format!("{sam}@{suffix}"),
        };
        let guid = rng.uuid4();
        let mut proxies = Vec::new();
        if spec.mailbox {
            proxies.push(format!("SMTP:{primary}"));
            proxies.push(format!("smtp:{sam}@{domain}"));
            proxies.push(format!("smtp:{sam}@{ROUTING_DOMAIN}"));
            if (r >> 4) % 10 < 3 {
                proxies.push(format!(
                    "X500:{EXCHANGE_LEGACY_ORG}{:032x}-{sam}",
                    rng.u128()
                ));
            }
            if (r >> 8) % 10 < 1 {
                proxies.push(format!("X500:{LEGACY_X500}{sam}"));
            }
        }
        // Entra Connect writes objectGUID into an empty mS-DS-ConsistencyGuid (same anchor); a few
        // users were migrated from another forest and keep that forest's GUID as their anchor.
        let consistency_guid = match spec.consistency_guid {
            ConsistencyGuid::Auto => match (r >> 12) % 100 {
                0..55 => Some(guid_le(guid)),
                55..57 => Some(guid_le(rng.uuid4())),
                _ => None,
            },
            ConsistencyGuid::Empty => None,
            ConsistencyGuid::Set(bytes) => Some(bytes),
        };
        let created = self.past(rng, 30.0, 3650.0);
        let uac = if spec.disabled {
            514
        } else if (r >> 16) % 5 == 0 {
            66048
        } else {
            512
        };
        let record = OnPremRecord {
            object_class: "user".to_owned(),
            object_guid: guid_le(guid),
            consistency_guid,
            object_sid: Some(self.next_sid()),
            distinguished_name: dn,
            user_principal_name: Some(upn),
            sam_account_name: Some(sam.clone()),
            mail: spec.mailbox.then_some(primary),
            mail_nickname: spec.mailbox.then_some(sam),
            proxy_addresses: proxies,
            display_name: Some(format!("{} {}", p.first(), p.last())),
            user_account_control: Some(uac),
            target_address: None,
            certificate_count: 0,
            given_name: Some(Cow::Borrowed(p.first())),
            surname: Some(Cow::Borrowed(p.last())),
            title: Some(Cow::Borrowed(p.title())),
            department: Some(Cow::Borrowed(p.department())),
            company: None,
            when_created: Some(created),
            group_type: None,
            dns_host_name: None,
            critical_system_object: false,
            admin_description: None,
        };
        (record, p)
    }

    pub(crate) fn onprem_contact(&mut self, rng: &mut Rng) -> (OnPremRecord, Person) {
        let p = self.person(rng);
        let (fa, la, n, r) = (p.fa(), p.la(), p.n, p.r);
        let (partner, company) = PARTNERS[usize::try_from(r % PARTNERS.len() as u64).expect("< 6")];
        let mail = format!("{fa}.{la}{n}@{partner}");
        let cn = format!("{} {} ({company} {n})", p.first(), p.last());
        let display = if (r >> 9) % 7 == 0 {
            // Quotes and commas, which CSV and JSON must escape.
            let short: String = p.first().chars().take(2).collect();
            format!("{} \"{short}\" {}, {company}", p.first(), p.last())
        } else {
            format!("{} {} ({company})", p.first(), p.last())
        };
        let created = self.past(rng, 30.0, 3650.0);
        let mut proxies = vec![format!("SMTP:{mail}")];
        if (r >> 5) % 4 == 0 {
            proxies.push(format!(
                "X500:{EXCHANGE_LEGACY_ORG}{:032x}-{fa}{la}{n}",
                rng.u128()
            ));
        }
        let record = OnPremRecord {
            object_class: "contact".to_owned(),
            object_guid: guid_le(rng.uuid4()),
            distinguished_name: format!("CN={cn},OU=Contacts,{AD_DC}"),
            mail: Some(mail),
            mail_nickname: Some(format!("{fa}{la}{n}")),
            proxy_addresses: proxies,
            display_name: Some(display),
            given_name: Some(Cow::Borrowed(p.first())),
            surname: Some(Cow::Borrowed(p.last())),
            company: Some(Cow::Borrowed(company)),
            when_created: Some(created),
            ..OnPremRecord::default()
        };
        (record, p)
    }

    pub(crate) fn onprem_group(&mut self, rng: &mut Rng, kind: Option<GroupKind>) -> OnPremRecord {
        let n = self.next_serial();
        let r = rng.next_u64() & 0xFFFF_FFFF;
        let pick = |len: usize, shift: u32| {
            usize::try_from((r >> shift) % len as u64).expect("below a small bound")
        };
        let dept = DEPARTMENTS[pick(DEPARTMENTS.len(), 0)];
        let site_ou = SITES[pick(SITES.len(), 8)].1;
        let kind = kind.unwrap_or(
            [
                GroupKind::Security,
                GroupKind::Security,
                GroupKind::Security,
                GroupKind::Distribution,
                GroupKind::MailSecurity,
            ][pick(5, 16)],
        );
        let (name, group_type) = match kind {
            GroupKind::Security => (format!("SG-{dept}-{site_ou}-{n}"), GROUP_TYPE_SECURITY),
            GroupKind::Distribution => (format!("DL-{dept}-{n}"), GROUP_TYPE_DISTRIBUTION),
            GroupKind::MailSecurity => (
                format!("MSG-{dept}-{site_ou}-{n}"),
                GROUP_TYPE_MAIL_SECURITY,
            ),
        };
        let lower = name.to_lowercase();
        let mail = (kind != GroupKind::Security).then(|| format!("{lower}@contoso.com"));
        let created = self.past(rng, 30.0, 3650.0);
        let proxies = match &mail {
            Some(mail) => vec![
                format!("SMTP:{mail}"),
                format!("smtp:{lower}@{ROUTING_DOMAIN}"),
            ],
            None => Vec::new(),
        };
        OnPremRecord {
            object_class: "group".to_owned(),
            object_guid: guid_le(rng.uuid4()),
            object_sid: Some(self.next_sid()),
            distinguished_name: format!("CN={name},OU=Groups,{AD_DC}"),
            sam_account_name: Some(name.clone()),
            mail_nickname: mail.is_some().then_some(lower),
            mail,
            proxy_addresses: proxies,
            display_name: Some(name.replace('-', " ")),
            group_type: Some(group_type),
            when_created: Some(created),
            ..OnPremRecord::default()
        }
    }

    pub(super) fn onprem_computer(&mut self, rng: &mut Rng) -> OnPremRecord {
        let n = self.next_serial();
        let site_ou = SITES[usize::try_from(n % SITES.len() as u64).expect("< 5")].1;
        let name = format!("WS-{}-{n:05}", site_ou[..3].to_uppercase());
        let created = self.past(rng, 30.0, 2000.0);
        OnPremRecord {
            object_class: "computer".to_owned(),
            object_guid: guid_le(rng.uuid4()),
            object_sid: Some(self.next_sid()),
            distinguished_name: format!("CN={name},OU=Workstations,OU={site_ou},{AD_DC}"),
            sam_account_name: Some(format!("{name}$")),
            user_account_control: Some(4096),
            dns_host_name: Some(format!("{}.{AD_DOMAIN}", name.to_lowercase())),
            when_created: Some(created),
            ..OnPremRecord::default()
        }
    }

    pub(super) fn onprem_ou(&mut self, rng: &mut Rng, dn: String) -> OnPremRecord {
        let created = self.past(rng, 2000.0, 4000.0);
        OnPremRecord {
            object_class: "organizationalUnit".to_owned(),
            object_guid: guid_le(rng.uuid4()),
            distinguished_name: dn,
            when_created: Some(created),
            ..OnPremRecord::default()
        }
    }

    // -- cloud objects ---------------------------------------------------------------------

    fn cloud_id(rng: &mut Rng) -> String {
        guid_text(rng.uuid4())
    }

    /// The synced cloud user of on-prem user `u`: hard-matched by source anchor, same addresses.
    pub(crate) fn twin_user(&self, rng: &mut Rng, u: &OnPremRecord) -> User {
        let created = u.when_created.unwrap_or(self.collected_at) + TimeDelta::hours(1);
        User {
            id: Self::cloud_id(rng),
            display_name: u.display_name.clone(),
            given_name: u.given_name.as_deref().map(str::to_owned),
            surname: u.surname.as_deref().map(str::to_owned),
            job_title: u.title.as_deref().map(str::to_owned),
            user_principal_name: u.user_principal_name.clone().unwrap_or_default(),
            mail: u.mail.clone(),
            mail_nickname: u
                .mail_nickname
                .clone()
                .or_else(|| u.sam_account_name.clone()),
            proxy_addresses: u.proxy_addresses.clone(),
            account_enabled: Some(u.user_account_control.unwrap_or(0) & 2 == 0),
            user_type: Some("Member".to_owned()),
            created_date_time: Some(iso(created)),
            on_premises_immutable_id: Some(anchor(u)),
            on_premises_sync_enabled: Some(true),
            on_premises_last_sync_date_time: Some(iso(self.sync_time(rng))),
            on_premises_distinguished_name: Some(u.distinguished_name.clone()),
            on_premises_domain_name: Some(AD_DOMAIN.to_owned()),
            on_premises_sam_account_name: u.sam_account_name.clone(),
            on_premises_security_identifier: u.object_sid.clone(),
            on_premises_user_principal_name: u.user_principal_name.clone(),
            ..User::default()
        }
    }

    pub(crate) fn twin_contact(&self, rng: &mut Rng, k: &OnPremRecord) -> OrgContact {
        OrgContact {
            id: Self::cloud_id(rng),
            display_name: k.display_name.clone(),
            given_name: k.given_name.as_deref().map(str::to_owned),
            surname: k.surname.as_deref().map(str::to_owned),
            mail: k.mail.clone(),
            mail_nickname: k.mail_nickname.clone(),
            proxy_addresses: k.proxy_addresses.clone(),
            on_premises_sync_enabled: Some(true),
            on_premises_last_sync_date_time: Some(iso(self.sync_time(rng))),
            on_premises_provisioning_errors: Vec::new(),
        }
    }

    pub(crate) fn twin_group(&self, rng: &mut Rng, g: &OnPremRecord) -> Group {
        let kind = GroupKind::of(g);
        let created = g.when_created.unwrap_or(self.collected_at) + TimeDelta::hours(1);
        Group {
            members: Vec::new(),
            id: Self::cloud_id(rng),
            display_name: g.display_name.clone(),
            description: None,
            mail: g.mail.clone(),
            mail_enabled: kind != GroupKind::Security,
            mail_nickname: g
                .mail_nickname
                .clone()
                .or_else(|| g.sam_account_name.clone()),
            security_enabled: kind != GroupKind::Distribution,
            group_types: Vec::new(),
            proxy_addresses: g.proxy_addresses.clone(),
            created_date_time: Some(iso(created)),
            on_premises_sync_enabled: Some(true),
            on_premises_last_sync_date_time: Some(iso(self.sync_time(rng))),
            on_premises_sam_account_name: g.sam_account_name.clone(),
            on_premises_domain_name: Some(AD_DOMAIN.to_owned()),
            on_premises_net_bios_name: Some(AD_NETBIOS.to_owned()),
            on_premises_security_identifier: g.object_sid.clone(),
            on_premises_provisioning_errors: Vec::new(),
        }
    }

    /// A cloud-only user (never synced) whose addresses match nothing on-prem.
    pub(crate) fn cloud_user(&mut self, rng: &mut Rng, style: CloudUserStyle) -> User {
        let p = self.person(rng);
        let (fa, la, n) = (p.fa(), p.la(), p.n);
        let created = self.past(rng, 10.0, 2500.0);
        let (upn, mail, proxies, user_type, nick) = match style {
            CloudUserStyle::Guest => {
                let ext = GUEST_DOMAINS[usize::try_from(p.r % 3).expect("< 3")];
                let mail = format!("{fa}.{la}.{n}@{ext}");
                (
                    format!("{fa}.{la}.{n}_{ext}#EXT#@{INITIAL_DOMAIN}"),
                    Some(mail.clone()),
                    vec![format!("SMTP:{mail}")],
                    "Guest",
                    format!("{fa}.{la}.{n}_{ext}#EXT#"),
                )
            }
            CloudUserStyle::Admin => (
                format!("adm-{fa}.{la}.{n}@{INITIAL_DOMAIN}"),
                None,
                Vec::new(),
                "Member",
                format!("adm-{fa}.{la}.{n}"),
            ),
            CloudUserStyle::Member => {
                let mail = format!("{fa}.{la}.{n}@{}", p.site().2);
                (
                    mail.clone(),
                    Some(mail.clone()),
                    vec![
                        format!("SMTP:{mail}"),
                        format!("smtp:{fa}.{la}.{n}@{INITIAL_DOMAIN}"),
                    ],
                    "Member",
                    format!("{fa}.{la}.{n}"),
                )
            }
        };
        User {
            id: Self::cloud_id(rng),
            display_name: Some(format!("{} {}", p.first(), p.last())),
            given_name: Some(p.first().to_owned()),
            surname: Some(p.last().to_owned()),
            user_principal_name: upn,
            mail,
            mail_nickname: Some(nick),
            proxy_addresses: proxies,
            account_enabled: Some(true),
            user_type: Some(user_type.to_owned()),
            created_date_time: Some(iso(created)),
            ..User::default()
        }
    }

    /// A user Cloud Sync provisions from fabrikam.local, which is not in the export.
    pub(crate) fn other_forest_user(&mut self, rng: &mut Rng) -> User {
        let p = self.person(rng);
        let (fa, la, n) = (p.fa(), p.la(), p.n);
        let sam = sam_account_name(fa, la, n);
        let upn = format!("{fa}.{la}{n}@{OTHER_UPN_DOMAIN}");
        let created = self.past(rng, 10.0, 900.0);
        let immutable_id = BASE64.encode(guid_le(rng.uuid4()));
        let last_sync = self.past(rng, 0.0, 0.1);
        User {
            id: Self::cloud_id(rng),
            display_name: Some(format!("{} {}", p.first(), p.last())),
            given_name: Some(p.first().to_owned()),
            surname: Some(p.last().to_owned()),
            job_title: Some(p.title().to_owned()),
            user_principal_name: upn.clone(),
            mail: Some(upn.clone()),
            mail_nickname: Some(sam.clone()),
            proxy_addresses: vec![
                format!("SMTP:{upn}"),
                format!("smtp:{sam}@{ROUTING_DOMAIN}"),
            ],
            account_enabled: Some(true),
            user_type: Some("Member".to_owned()),
            created_date_time: Some(iso(created)),
            on_premises_immutable_id: Some(immutable_id),
            on_premises_sync_enabled: Some(true),
            on_premises_last_sync_date_time: Some(iso(last_sync)),
            on_premises_distinguished_name: Some(format!(
                "CN={} {} {n},OU=Users,{OTHER_DC}",
                p.first(),
                p.last()
            )),
            on_premises_domain_name: Some(OTHER_FOREST.to_owned()),
            on_premises_sam_account_name: Some(sam),
            on_premises_security_identifier: Some(self.next_other_sid()),
            on_premises_user_principal_name: Some(upn),
            ..User::default()
        }
    }

    pub(crate) fn cloud_contact(&mut self, rng: &mut Rng) -> OrgContact {
        let p = self.person(rng);
        let (fa, la, n) = (p.fa(), p.la(), p.n);
        let ext = PARTNERS[usize::try_from(p.r % PARTNERS.len() as u64).expect("< 6")].0;
        let mail = format!("{fa}.{la}.c{n}@{ext}");
        OrgContact {
            id: Self::cloud_id(rng),
            display_name: Some(format!("{} {} (external)", p.first(), p.last())),
            given_name: Some(p.first().to_owned()),
            surname: Some(p.last().to_owned()),
            proxy_addresses: vec![format!("SMTP:{mail}")],
            mail: Some(mail),
            mail_nickname: Some(format!("{fa}{la}c{n}")),
            ..OrgContact::default()
        }
    }

    /// A Microsoft 365 group created in the cloud.
    pub(crate) fn cloud_group(&mut self, rng: &mut Rng) -> Group {
        let n = self.next_serial();
        let dept = DEPARTMENTS[rng.index(DEPARTMENTS.len())];
        let nick = format!("team-{}-{n}", dept.to_lowercase());
        let created = self.past(rng, 10.0, 1500.0);
        Group {
            id: Self::cloud_id(rng),
            display_name: Some(format!("Team {dept} {n}")),
            description: Some(format!("{dept} team site")),
            mail: Some(format!("{nick}@contoso.com")),
            mail_enabled: true,
            security_enabled: false,
            group_types: vec!["Unified".to_owned()],
            proxy_addresses: vec![
                format!("SMTP:{nick}@contoso.com"),
                format!("smtp:{nick}@{INITIAL_DOMAIN}"),
            ],
            mail_nickname: Some(nick),
            created_date_time: Some(iso(created)),
            ..Group::default()
        }
    }
}
