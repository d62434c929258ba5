//! The simulated tenant's generator: from a seed and a few sizes it builds a whole hybrid
//! [`SimTenant`] (cloud objects, the matching on-prem AD export, Cloud Sync service principals and
//! jobs, roles, organization, domains) with problems of every rule planted at configurable rates,
//! and the ground truth of what the audit must find.
//!
//! It is the project's only tenant generator: `entra-audit simulate` serves what it makes, and
//! `simulate --out` writes the fixture tenant (`fixtures/tenant/`) and the benchmark data
//! (`tests/bench/run.sh`). Each planting case and its interactions between rules are written
//! once, in `cases.rs`. Ground truth
//! comes from the planting logic alone; it must never be derived by running the tool, and this
//! module must not use the tool's own parsing or matching code (a bug shared by both sides would
//! pass every test). It writes no files (`super::export` does) and holds no HTTP logic.
//!
//! Everything that is not planted is healthy: synced users hard-match by source anchor and carry
//! the same addresses on both sides, synced groups carry the on-prem objectSid, synced contacts
//! the same primary SMTP address, every bulk UPN suffix is verified, and every address embeds a
//! serial number, so no two objects share one by accident.

mod builtins;
mod cases;
mod objects;
mod rng;
mod tenant_level;
mod vocab;

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Datelike as _, TimeDelta, Timelike as _, Utc};

use self::rng::Rng;
use self::vocab::{
    AD_DC, DEPARTMENTS, FIRST, GROUP_TYPE_DISTRIBUTION, GROUP_TYPE_MAIL_SECURITY, INITIAL_DOMAIN,
    LAST, ROLES, Role, SITES, TITLES,
};
use super::model::{
    Group, OnPremRecord, OrgContact, PlantedCase, PlantedProblem, ProvisioningError, SimTenant,
    User,
};

/// The tenant-level sync state, which decides the tenant-level rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantHealth {
    /// Directory and password hash sync are both fresh: neither tenant-level rule fires.
    Healthy,
    /// Directory sync last ran two days before `collected_at` (`directory-sync-stale`).
    DirectorySyncStale,
    /// Directory sync is fresh but the last password hash sync is four days old
    /// (`password-hash-sync-stale`).
    PasswordHashSyncStale,
}

/// What to generate. The sizes count the healthy bulk; planted problems, cloud-only objects and
/// the other forest's users come on top.
#[derive(Debug, Clone)]
pub struct GeneratorOptions {
    pub seed: u64,
    /// Healthy synced on-prem users, each with its cloud twin.
    pub users: usize,
    /// Healthy synced on-prem mail contacts.
    pub contacts: usize,
    /// Healthy synced on-prem groups (security, distribution and mail-enabled security).
    pub groups: usize,
    /// Cloud-only users that match nothing (the first two are Global Administrators).
    pub cloud_only: usize,
    /// Planted cases as a fraction of the bulk on-prem objects, spread evenly over the case kinds.
    pub problem_rate: f64,
    /// At least this many of each case kind (so every rule has findings in a small tenant).
    pub min_per_case: usize,
    /// `None`: password hash sync stale up to 10,000 users, healthy above.
    pub tenant_health: Option<TenantHealth>,
    /// Cloud Sync configurations whose job is in quarantine.
    pub quarantined_jobs: usize,
    /// Cloud Sync configurations whose job is active but failing (three ways, in turn).
    pub failing_jobs: usize,
    /// The snapshot time every generated time is relative to (the audit's as-of). A served
    /// tenant should use the time it starts serving, so that clients judge it as of now.
    pub collected_at: DateTime<Utc>,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        GeneratorOptions {
            seed: 1,
            users: 40,
            contacts: 10,
            groups: 10,
            cloud_only: 5,
            problem_rate: 0.01,
            min_per_case: 1,
            tenant_health: None,
            quarantined_jobs: 1,
            failing_jobs: 1,
            collected_at: DateTime::parse_from_rfc3339("2026-11-02T08:00:00Z")
                .expect("a valid constant time")
                .with_timezone(&Utc),
        }
    }
}

impl GeneratorOptions {
    /// The tenant health in effect (resolving `None`).
    pub fn effective_tenant_health(&self) -> TenantHealth {
        self.tenant_health.unwrap_or(if self.users <= 10_000 {
            TenantHealth::PasswordHashSyncStale
        } else {
            TenantHealth::Healthy
        })
    }

    /// The number of planted cases of each kind.
    pub fn cases_per_kind(&self) -> usize {
        let bulk = self.users + self.contacts + self.groups;
        // Counts far below 2^52: the float round trip is exact.
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let total = (self.problem_rate.max(0.0) * bulk as f64).round_ties_even() as usize;
        self.min_per_case.max(total / cases::CASES.len())
    }
}

/// Builds the tenant `options` describe, with its on-prem export in [`SimTenant::onprem`].
/// Deterministic: the same options give the same tenant.
pub fn generate(options: &GeneratorOptions) -> SimTenant {
    let mut onprem = Vec::with_capacity(
        organizational_units().len()
            + options.users
            + options.contacts
            + options.groups
            + (options.users / 100).max(1)
            + 2 * options.cases_per_kind() * cases::CASES.len(),
    );
    let mut tenant = generate_streaming(options, &mut |record| onprem.push(record));
    onprem.shrink_to_fit();
    tenant.onprem = onprem;
    tenant
}

/// Like [`generate`], but hands each on-prem record to `onprem` as soon as it is final instead
/// of keeping it (`SimTenant::onprem` stays empty), in the order of the export. A large tenant
/// then holds only its cloud side: pass an [`OnPremWriter`](super::export::OnPremWriter)'s
/// `write` to stream the export to disk, or drop the records when no export is wanted.
pub fn generate_streaming(
    options: &GeneratorOptions,
    onprem: &mut dyn FnMut(OnPremRecord),
) -> SimTenant {
    let seed = options.seed;
    let mut meta = Rng::stream(seed, "meta");
    let mut tenant_rng = Rng::stream(seed, "tenant");
    let health = options.effective_tenant_health();
    let mut g = Gen::new(options, &mut meta, &mut tenant_rng, health);
    g.plant_tenant_health(health);

    let (planted_onprem, planted_cloud, mut planted_cases) = plant_cases(&mut g, options);

    let mut bulk = Rng::stream(seed, "bulk");
    g.reserve(options, &planted_cloud);
    for dn in organizational_units() {
        onprem(g.onprem_ou(&mut bulk, dn));
    }
    let bulk_objects = options.users + options.contacts + options.groups;
    let mut mix = Interleave::new(planted_onprem, planted_cloud, bulk_objects);
    let mut user_admin_done = false;
    for _ in 0..options.users {
        let disabled = bulk.chance(0.05);
        let mailbox = bulk.chance(0.9);
        let (u, _) = g.onprem_user(
            &mut bulk,
            &UserSpec {
                mailbox,
                disabled,
                ..UserSpec::default()
            },
        );
        let c = g.twin_user(&mut bulk, &u);
        if !user_admin_done && !disabled {
            // A synced user with a role: harmless once linked.
            g.add_role(Role::UserAdministrator, &c.id, USER_TYPE);
            user_admin_done = true;
        }
        onprem(u);
        g.users.push(c);
        mix.tick(&mut g, onprem);
    }
    for _ in 0..options.contacts {
        let (k, _) = g.onprem_contact(&mut bulk);
        let c = g.twin_contact(&mut bulk, &k);
        onprem(k);
        g.contacts.push(c);
        mix.tick(&mut g, onprem);
    }
    for _ in 0..options.groups {
        let group = g.onprem_group(&mut bulk, None);
        let c = g.twin_group(&mut bulk, &group);
        onprem(group);
        g.groups.push(c);
        mix.tick(&mut g, onprem);
    }
    mix.finish(&mut g, onprem);
    for _ in 0..(options.users / 100).max(1) {
        onprem(g.onprem_computer(&mut bulk));
    }
    g.cloud_only_bulk(options, &mut bulk);

    let before = g.ground_truth.len();
    let (service_principals, sync_jobs) = tenant_level::cloud_sync(&mut g, &mut tenant_rng);
    planted_cases.push(PlantedCase {
        case: "cloud-sync-jobs".to_owned(),
        onprem: Vec::new(),
        cloud: sync_jobs.iter().map(|j| j.id.clone()).collect(),
        expected: g.ground_truth[before..].to_vec(),
    });
    let directory_roles = tenant_level::directory_roles(&g, &mut tenant_rng);
    let mut tenant = SimTenant {
        tenant_id: g.tenant_id.clone(),
        initial_domain: INITIAL_DOMAIN.to_owned(),
        organization: tenant_level::organization(&g),
        domains: tenant_level::domains(),
        directory_roles,
        service_principals: g.service_principals.drain(..).collect(),
        sync_jobs,
        directory_synchronization: tenant_level::directory_synchronization(&g.tenant_id),
        ..SimTenant::default()
    };
    tenant.service_principals.extend(service_principals);
    g.users.shrink_to_fit();
    tenant.users = g.users;
    tenant.contacts = g.contacts;
    tenant.groups = g.groups;
    tenant.cloud_managed = g.cloud_managed.into_iter().collect();
    tenant.ground_truth = g.ground_truth;
    tenant.ground_truth.sort();
    tenant.planted_cases = planted_cases;
    tenant
}

/// The planted cases (from their own stream, held until they are mixed into the bulk) and AD's
/// built-in objects, shuffled as a real export mixes them; with every case as it ran, the
/// tenant-level problems planted before it first.
fn plant_cases(
    g: &mut Gen,
    options: &GeneratorOptions,
) -> (Vec<OnPremRecord>, Vec<CloudObject>, Vec<PlantedCase>) {
    let seed = options.seed;
    // Planted cases first, from their own stream, held until they are mixed into the bulk.
    let mut plant = Rng::stream(seed, "plant");
    // The tenant-level problems planted so far form a case of their own.
    let mut planted_cases = vec![PlantedCase {
        case: "tenant-health".to_owned(),
        expected: g.ground_truth.clone(),
        ..PlantedCase::default()
    }];
    let mut planted_onprem: Vec<OnPremRecord> = Vec::new();
    let mut planted_cloud: Vec<CloudObject> = Vec::new();
    for _ in 0..options.cases_per_kind() {
        for (name, case) in cases::CASES {
            let before = g.ground_truth.len();
            let planted = case(g, &mut plant);
            planted_cases.push(PlantedCase {
                case: (*name).to_owned(),
                onprem: planted.onprem.iter().map(|o| o.object_guid).collect(),
                cloud: planted.cloud.iter().map(|c| c.id().to_owned()).collect(),
                expected: g.ground_truth[before..].to_vec(),
            });
            for problem in &mut g.ground_truth[before..] {
                problem.note = format!("{name}: {}", problem.note);
            }
            planted_onprem.extend(planted.onprem);
            planted_cloud.extend(planted.cloud);
        }
    }
    // AD's built-in objects and the connector accounts: once per tenant, from their own stream,
    // and in no finding (the engine never syncs them).
    let builtins = builtins::plant(g, &mut Rng::stream(seed, "builtins"));
    planted_cases.push(PlantedCase {
        case: "builtins".to_owned(),
        onprem: builtins.onprem.iter().map(|o| o.object_guid).collect(),
        cloud: builtins.cloud.iter().map(|c| c.id().to_owned()).collect(),
        expected: Vec::new(),
    });
    planted_onprem.extend(builtins.onprem);
    planted_cloud.extend(builtins.cloud);
    // A real export mixes everything; so does the generated one (deterministically).
    plant.shuffle(&mut planted_onprem);
    plant.shuffle(&mut planted_cloud);
    (planted_onprem, planted_cloud, planted_cases)
}

/// The OUs of the exported domain (the importer must skip them).
fn organizational_units() -> Vec<String> {
    let mut dns: Vec<String> = SITES
        .iter()
        .map(|s| format!("OU={},{AD_DC}", s.1))
        .collect();
    dns.extend(SITES.iter().map(|s| format!("OU=Users,OU={},{AD_DC}", s.1)));
    dns.extend(
        SITES
            .iter()
            .map(|s| format!("OU=Workstations,OU={},{AD_DC}", s.1)),
    );
    dns.extend(
        ["Groups", "Contacts", "Disabled Users"]
            .iter()
            .map(|ou| format!("OU={ou},{AD_DC}")),
    );
    dns
}

/// Spreads the planted objects evenly over the bulk stream, as a real export mixes them.
struct Interleave {
    onprem: std::vec::IntoIter<OnPremRecord>,
    cloud: std::vec::IntoIter<CloudObject>,
    onprem_every: usize,
    cloud_every: usize,
    step: usize,
}

impl Interleave {
    fn new(onprem: Vec<OnPremRecord>, cloud: Vec<CloudObject>, bulk_objects: usize) -> Self {
        let steps = bulk_objects.max(1);
        Interleave {
            onprem_every: (steps / (onprem.len() + 1)).max(1),
            cloud_every: (steps / (cloud.len() + 1)).max(1),
            onprem: onprem.into_iter(),
            cloud: cloud.into_iter(),
            step: 0,
        }
    }

    fn tick(&mut self, g: &mut Gen, onprem: &mut dyn FnMut(OnPremRecord)) {
        self.step += 1;
        if self.step.is_multiple_of(self.onprem_every)
            && let Some(o) = self.onprem.next()
        {
            onprem(o);
        }
        if self.step.is_multiple_of(self.cloud_every)
            && let Some(c) = self.cloud.next()
        {
            g.push_cloud(c);
        }
    }

    fn finish(self, g: &mut Gen, onprem: &mut dyn FnMut(OnPremRecord)) {
        self.onprem.for_each(onprem);
        for c in self.cloud {
            g.push_cloud(c);
        }
    }
}

/// A cloud object a planting case made.
pub(crate) enum CloudObject {
    User(Box<User>),
    Contact(Box<OrgContact>),
    Group(Box<Group>),
}

impl CloudObject {
    fn id(&self) -> &str {
        match self {
            CloudObject::User(u) => &u.id,
            CloudObject::Contact(k) => &k.id,
            CloudObject::Group(group) => &group.id,
        }
    }
}

/// What one planting case made.
#[derive(Default)]
pub(crate) struct Planted {
    pub(crate) onprem: Vec<OnPremRecord>,
    pub(crate) cloud: Vec<CloudObject>,
}

/// The random parts of a person: names, site, department, title, and bits for later choices.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Person {
    /// The serial every address of this person embeds.
    pub(crate) n: u64,
    fi: usize,
    li: usize,
    si: usize,
    di: usize,
    ti: usize,
    /// Left-over random bits.
    r: u64,
}

impl Person {
    pub(crate) fn first(&self) -> &'static str {
        FIRST[self.fi].0
    }
    pub(crate) fn last(&self) -> &'static str {
        LAST[self.li].0
    }
    /// The first name in lower-case ASCII letters, for addresses.
    pub(crate) fn fa(&self) -> &'static str {
        FIRST[self.fi].1
    }
    pub(crate) fn la(&self) -> &'static str {
        LAST[self.li].1
    }
    fn site(&self) -> (&'static str, &'static str, &'static str) {
        SITES[self.si]
    }
    fn department(&self) -> &'static str {
        DEPARTMENTS[self.di]
    }
    fn title(&self) -> &'static str {
        TITLES[self.ti]
    }
}

/// How an on-prem user's UPN is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpnStyle {
    /// `first.last{n}@domain`, like the primary SMTP address.
    Mail,
    /// `sAMAccountName@domain`.
    Sam,
}

/// The user's mS-DS-ConsistencyGuid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsistencyGuid {
    /// As in a real forest: mostly the objectGUID (Entra Connect writes it back), a few from a
    /// migration, the rest empty.
    Auto,
    Empty,
    Set([u8; 16]),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct UserSpec {
    pub(crate) mailbox: bool,
    pub(crate) upn_suffix: Option<&'static str>,
    pub(crate) upn_style: Option<UpnStyle>,
    pub(crate) disabled: bool,
    pub(crate) consistency_guid: ConsistencyGuid,
}

impl Default for UserSpec {
    fn default() -> Self {
        UserSpec {
            mailbox: true,
            upn_suffix: None,
            upn_style: None,
            disabled: false,
            consistency_guid: ConsistencyGuid::Auto,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupKind {
    Security,
    Distribution,
    MailSecurity,
}

impl GroupKind {
    fn of(record: &OnPremRecord) -> GroupKind {
        match record.group_type {
            Some(GROUP_TYPE_DISTRIBUTION) => GroupKind::Distribution,
            Some(GROUP_TYPE_MAIL_SECURITY) => GroupKind::MailSecurity,
            _ => GroupKind::Security,
        }
    }
}

/// Cloud-only user flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloudUserStyle {
    /// A member with a mailbox on a verified domain.
    Member,
    /// A B2B guest (`#EXT#` UPN).
    Guest,
    /// An admin account on the initial domain, no mailbox.
    Admin,
}

pub(crate) const USER_TYPE: &str = "#microsoft.graph.user";
pub(crate) const SERVICE_PRINCIPAL_TYPE: &str = "#microsoft.graph.servicePrincipal";

/// The generator's state while it builds one tenant.
pub(crate) struct Gen {
    collected_at: DateTime<Utc>,
    pub(crate) tenant_id: String,
    domain_sid: String,
    other_sid: String,
    /// Every named object gets a unique serial; every address embeds it.
    serial: u64,
    rid: u64,
    other_rid: u64,
    /// `(container, first name, last name)` already used as a CN.
    cn_used: HashSet<(i8, u8, u8)>,
    /// Members `(id, @odata.type)` by role, indexed like [`ROLES`].
    pub(crate) roles: [Vec<(String, String)>; ROLES.len()],
    /// Eligible (PIM) holders per role, served as roleEligibilitySchedules.
    pub(crate) eligible_roles: [Vec<(String, String)>; ROLES.len()],
    pub(crate) org_last_sync: DateTime<Utc>,
    pub(crate) org_last_password_sync: DateTime<Utc>,
    pub(crate) ground_truth: Vec<PlantedProblem>,
    pub(crate) users: Vec<User>,
    pub(crate) contacts: Vec<OrgContact>,
    pub(crate) groups: Vec<Group>,
    /// Ids of the objects converted to cloud management (onPremisesSyncBehavior isCloudManaged).
    pub(crate) cloud_managed: Vec<String>,
    pub(crate) service_principals: Vec<super::model::ServicePrincipal>,
    pub(crate) quarantined_jobs: usize,
    pub(crate) failing_jobs: usize,
}

impl Gen {
    fn new(
        options: &GeneratorOptions,
        meta: &mut Rng,
        tenant_rng: &mut Rng,
        health: TenantHealth,
    ) -> Self {
        let tenant_id = guid_text(meta.uuid4());
        let mut sid = || {
            let mut part = || (meta.next_u64() & 0x7FFF_FFFF) | (1 << 30);
            format!("S-1-5-21-{}-{}-{}", part(), part(), part())
        };
        let domain_sid = sid();
        let other_sid = sid();
        let now = options.collected_at;
        let org_last_sync = now
            - if health == TenantHealth::DirectorySyncStale {
                TimeDelta::days(2) + TimeDelta::hours(5) + TimeDelta::minutes(13)
            } else {
                TimeDelta::minutes(tenant_rng.int_in(4, 25))
            };
        let org_last_password_sync = now
            - if health == TenantHealth::PasswordHashSyncStale {
                TimeDelta::days(4) + TimeDelta::hours(2) + TimeDelta::minutes(41)
            } else {
                TimeDelta::minutes(tenant_rng.int_in(1, 3))
            };
        Gen {
            collected_at: now,
            tenant_id,
            domain_sid,
            other_sid,
            serial: 0,
            rid: 1104,
            other_rid: 1104,
            cn_used: HashSet::new(),
            roles: Default::default(),
            eligible_roles: Default::default(),
            org_last_sync,
            org_last_password_sync,
            ground_truth: Vec::new(),
            users: Vec::new(),
            contacts: Vec::new(),
            groups: Vec::new(),
            cloud_managed: Vec::new(),
            service_principals: Vec::new(),
            quarantined_jobs: options.quarantined_jobs,
            failing_jobs: options.failing_jobs,
        }
    }

    fn plant_tenant_health(&mut self, health: TenantHealth) {
        let (rule, note) = match health {
            TenantHealth::Healthy => return,
            TenantHealth::DirectorySyncStale => (
                "directory-sync-stale",
                "dirsync-stale: directory sync last ran 2 days before the snapshot",
            ),
            TenantHealth::PasswordHashSyncStale => (
                "password-hash-sync-stale",
                "phs-stale: directory sync is fresh, the last password hash sync was 4 days before the snapshot",
            ),
        };
        let tenant_id = self.tenant_id.clone();
        self.expect(rule, Some(&tenant_id), None, note);
    }

    /// Sizes the object vectors once, so that a large tenant is not copied while it grows.
    fn reserve(&mut self, options: &GeneratorOptions, planted: &[CloudObject]) {
        let (mut users, mut contacts, mut groups) = (0, 0, 0);
        for c in planted {
            match c {
                CloudObject::User(_) => users += 1,
                CloudObject::Contact(_) => contacts += 1,
                CloudObject::Group(_) => groups += 1,
            }
        }
        self.users.reserve_exact(
            options.users + users + options.cloud_only + 1 + (options.users / 100).max(2),
        );
        self.contacts.reserve_exact(options.contacts + contacts);
        self.groups
            .reserve_exact(options.groups + groups + (options.groups / 10).max(1));
    }

    fn push_cloud(&mut self, c: CloudObject) {
        match c {
            CloudObject::User(u) => self.users.push(*u),
            CloudObject::Contact(k) => self.contacts.push(*k),
            CloudObject::Group(group) => self.groups.push(*group),
        }
    }

    /// Cloud-only bulk: the sync account, members (the first ones are the tenant's admins),
    /// guests, Microsoft 365 groups, and users Cloud Sync provisions from a forest that is not
    /// exported. None of them matches anything.
    fn cloud_only_bulk(&mut self, options: &GeneratorOptions, bulk: &mut Rng) {
        let mut sync_account = self.cloud_user(bulk, CloudUserStyle::Admin);
        sync_account.user_principal_name = format!(
            "Sync_SRV-AADC01_{:012x}@{INITIAL_DOMAIN}",
            bulk.next_u64() & 0xFFFF_FFFF_FFFF
        );
        sync_account.display_name =
            Some("On-Premises Directory Synchronization Service Account".to_owned());
        sync_account.given_name = None;
        sync_account.surname = None;
        self.add_role(
            Role::DirectorySynchronizationAccounts,
            &sync_account.id,
            USER_TYPE,
        );
        self.users.push(sync_account);
        for i in 0..options.cloud_only {
            let style = if i < 2 {
                CloudUserStyle::Admin
            } else if i % 3 == 0 {
                CloudUserStyle::Guest
            } else {
                CloudUserStyle::Member
            };
            let c = self.cloud_user(bulk, style);
            if i < 2 {
                self.add_role(Role::GlobalAdministrator, &c.id, USER_TYPE);
                if i == 1 {
                    self.add_role(Role::HybridIdentityAdministrator, &c.id, USER_TYPE);
                }
            }
            self.users.push(c);
        }
        // An automation account holds a role too (a service principal member).
        let automation = super::model::ServicePrincipal {
            id: guid_text(bulk.uuid4()),
            app_id: guid_text(bulk.uuid4()),
            app_display_name: Some("Provisioning automation".to_owned()),
            display_name: "Provisioning automation".to_owned(),
            tags: vec!["WindowsAzureActiveDirectoryIntegratedApp".to_owned()],
            ..super::model::ServicePrincipal::default()
        };
        self.add_role(
            Role::HybridIdentityAdministrator,
            &automation.id,
            SERVICE_PRINCIPAL_TYPE,
        );
        self.service_principals.push(automation);
        for _ in 0..(options.users / 100).max(2) {
            let u = self.other_forest_user(bulk);
            self.users.push(u);
        }
        for _ in 0..(options.groups / 10).max(1) {
            let group = self.cloud_group(bulk);
            self.groups.push(group);
        }
    }

    // -- small helpers ---------------------------------------------------------------------

    fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    pub(crate) fn next_sid(&mut self) -> String {
        self.rid += 1;
        format!("{}-{}", self.domain_sid, self.rid)
    }

    pub(crate) fn next_other_sid(&mut self) -> String {
        self.other_rid += 1;
        format!("{}-{}", self.other_sid, self.other_rid)
    }

    /// A time between `min_days` and `max_days` before the snapshot, to the second.
    pub(crate) fn past(&self, rng: &mut Rng, min_days: f64, max_days: f64) -> DateTime<Utc> {
        // Day counts of a few thousand: the conversion is exact to the second.
        #[allow(clippy::cast_possible_truncation)]
        let (lo, hi) = ((min_days * 86_400.0) as i64, (max_days * 86_400.0) as i64);
        self.collected_at - TimeDelta::seconds(rng.int_in(lo, hi))
    }

    /// When a synced object last synced: within 45 days before the tenant's last sync.
    fn sync_time(&self, rng: &mut Rng) -> DateTime<Utc> {
        self.org_last_sync - TimeDelta::seconds(rng.int_in(0, 45 * 86_400))
    }

    pub(crate) fn collected_at(&self) -> DateTime<Utc> {
        self.collected_at
    }

    fn person(&mut self, rng: &mut Rng) -> Person {
        let mut r = rng.next_u64();
        let mut take = |n: usize| {
            let v = usize::try_from(r % n as u64).expect("below a small bound");
            r /= n as u64;
            v
        };
        let fi = take(FIRST.len());
        let li = take(LAST.len());
        let si = take(SITES.len());
        let di = take(DEPARTMENTS.len());
        let ti = take(TITLES.len());
        Person {
            n: self.next_serial(),
            fi,
            li,
            si,
            di,
            ti,
            r,
        }
    }

    /// `First Last`, or `Last\, First (sam)` (DN-escaped) when the container has that name.
    fn common_name(&mut self, p: &Person, sam: &str, container: i8) -> String {
        let key = (
            container,
            u8::try_from(p.fi).expect("60 first names"),
            u8::try_from(p.li).expect("56 last names"),
        );
        if self.cn_used.insert(key) {
            format!("{} {}", p.first(), p.last())
        } else {
            format!("{}\\, {} ({sam})", p.last(), p.first())
        }
    }

    pub(crate) fn add_role(&mut self, role: Role, id: &str, odata_type: &str) {
        self.roles[role as usize].push((id.to_owned(), odata_type.to_owned()));
    }

    pub(crate) fn add_eligible_role(&mut self, role: Role, id: &str, odata_type: &str) {
        self.eligible_roles[role as usize].push((id.to_owned(), odata_type.to_owned()));
    }

    pub(crate) fn error(&self, rng: &mut Rng, property: &str, value: String) -> ProvisioningError {
        ProvisioningError {
            category: "PropertyConflict".to_owned(),
            occurred_date_time: iso(self.past(rng, 0.5, 60.0)),
            property_causing_error: property.to_owned(),
            value,
        }
    }

    /// Records a finding the audit must report.
    pub(crate) fn expect(
        &mut self,
        rule: &str,
        cloud_object_id: Option<&str>,
        onprem: Option<&OnPremRecord>,
        note: &str,
    ) {
        self.ground_truth.push(PlantedProblem {
            rule: rule.to_owned(),
            cloud_object_id: cloud_object_id.map(str::to_owned),
            onprem_object_guid: onprem.map(|o| guid_text(guid_from_le(&o.object_guid))),
            note: note.to_owned(),
        });
    }
}

// -- identifiers and formats -------------------------------------------------------------------

/// `sAMAccountName` holds 20 characters; the serial stays whole, so it stays unique.
fn sam_account_name(fa: &str, la: &str, n: u64) -> String {
    let digits = n.to_string();
    let keep = 19usize.saturating_sub(digits.len()).min(la.len());
    format!("{}{}{digits}", &fa[..1], &la[..keep])
}

/// A GUID's canonical text (lower-case 8-4-4-4-12) from its 128-bit value in text order.
pub(crate) fn guid_text(n: u128) -> String {
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The GUID's bytes in .NET `Guid.ToByteArray()` order: the first three groups little-endian.
pub(crate) fn guid_le(n: u128) -> [u8; 16] {
    let b = n.to_be_bytes();
    [
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
        b[14], b[15],
    ]
}

/// The inverse of [`guid_le`].
pub(crate) fn guid_from_le(b: &[u8; 16]) -> u128 {
    u128::from_be_bytes([
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
        b[14], b[15],
    ])
}

/// The source anchor: base64 of mS-DS-ConsistencyGuid when set, else of objectGUID.
pub(crate) fn anchor(o: &OnPremRecord) -> String {
    BASE64.encode(o.consistency_guid.unwrap_or(o.object_guid))
}

/// The primary SMTP address: the `SMTP:` proxy address, else mail.
pub(crate) fn primary(o: &OnPremRecord) -> String {
    o.proxy_addresses
        .iter()
        .find_map(|p| p.strip_prefix("SMTP:"))
        .map(str::to_owned)
        .or_else(|| o.mail.clone())
        .expect("a mail-enabled object")
}

/// `2026-11-02T08:00:00Z`, as Graph writes times (to the second here).
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::vocab::CLOUD_SYNC_APP_ID;
    use super::*;

    fn small(seed: u64) -> SimTenant {
        generate(&GeneratorOptions {
            seed,
            ..GeneratorOptions::default()
        })
    }

    /// Everything a tenant holds, as text (the model types are not `PartialEq`).
    fn fingerprint(t: &SimTenant) -> String {
        format!(
            "{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            t.tenant_id,
            t.organization,
            t.domains,
            t.users,
            t.contacts,
            t.groups,
            t.directory_roles,
            t.service_principals,
            t.sync_jobs,
            t.directory_synchronization,
            t.onprem,
            t.ground_truth
        )
    }

    #[test]
    fn same_seed_same_tenant_other_seed_other_tenant() {
        let a = fingerprint(&small(3));
        assert_eq!(a, fingerprint(&small(3)));
        let b = small(4);
        assert_ne!(a, fingerprint(&b));
        assert_ne!(small(3).tenant_id, b.tenant_id);
    }

    #[test]
    fn guid_byte_order_is_dotnet_to_byte_array() {
        // Guid("00112233-4455-6677-8899-aabbccddeeff").ToByteArray()
        let n = 0x0011_2233_4455_6677_8899_aabb_ccdd_eeff_u128;
        assert_eq!(guid_text(n), "00112233-4455-6677-8899-aabbccddeeff");
        let le = guid_le(n);
        assert_eq!(
            le,
            [
                0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
                0xee, 0xff
            ]
        );
        assert_eq!(guid_from_le(&le), n);
    }

    #[test]
    fn sam_account_names_fit_twenty_characters() {
        assert_eq!(sam_account_name("john", "smith", 12), "jsmith12");
        let long = sam_account_name("o", "ostergaardostergaardostergaard", 1_234_567);
        assert_eq!(long.len(), 20);
        assert!(long.ends_with("1234567"));
    }

    #[test]
    fn every_case_kind_is_planted_the_requested_number_of_times() {
        let options = GeneratorOptions {
            min_per_case: 2,
            ..GeneratorOptions::default()
        };
        let t = generate(&options);
        for (name, _) in cases::CASES {
            if name == "ok_pending_hard_match" || name.starts_with("soa_") {
                continue; // plants no finding on purpose
            }
            let prefix = format!("{name}: ");
            let planted = t
                .ground_truth
                .iter()
                .filter(|p| p.note.starts_with(&prefix))
                .count();
            assert!(planted >= 2, "{name}: {planted}");
        }
        // The converted objects (soa_*) plant no finding: two kinds, twice each.
        assert!(t.cloud_managed.len() >= 4, "{:?}", t.cloud_managed);
        // Unique ids across the cloud objects.
        let mut ids: Vec<&str> = t
            .users
            .iter()
            .map(|u| u.id.as_str())
            .chain(t.contacts.iter().map(|c| c.id.as_str()))
            .chain(t.groups.iter().map(|g| g.id.as_str()))
            .collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn counts_follow_the_options() {
        let options = GeneratorOptions {
            users: 300,
            contacts: 20,
            groups: 30,
            cloud_only: 7,
            problem_rate: 0.0,
            min_per_case: 0,
            tenant_health: Some(TenantHealth::Healthy),
            quarantined_jobs: 2,
            failing_jobs: 3,
            ..GeneratorOptions::default()
        };
        let t = generate(&options);
        // bulk + sync account + cloud-only + other forest (users / 100, at least 2) + the
        // built-ins' cloud side (Global Administrator, guest, the conflict's healthy twin)
        assert_eq!(t.users.len(), 300 + 1 + 7 + 3 + 3);
        assert_eq!(t.contacts.len(), 20);
        // + the written-back group's cloud original
        assert_eq!(t.groups.len(), 30 + 3 + 1);
        let classes = |c: &str| t.onprem.iter().filter(|o| o.object_class == c).count();
        // + Administrator, Guest, krbtgt, MSOL_, AAD_, SUPPORT_, a user and its CNF copy
        assert_eq!(classes("user"), 300 + 8);
        // + the mail-only contact
        assert_eq!(classes("contact"), 20 + 1);
        // + three built-in groups and a written-back group
        assert_eq!(classes("group"), 30 + 4);
        // + the domain controller
        assert_eq!(classes("computer"), 3 + 1);
        let rules: Vec<&str> = t.ground_truth.iter().map(|p| p.rule.as_str()).collect();
        assert_eq!(
            rules,
            [
                "cloud-sync-job-escrows",
                "cloud-sync-job-failing",
                "cloud-sync-job-failing",
                "cloud-sync-job-failing",
                "cloud-sync-job-not-running",
                "cloud-sync-quarantine",
                "cloud-sync-quarantine",
            ]
        );
        let cloud_sync: Vec<_> = t
            .service_principals
            .iter()
            .filter(|sp| sp.app_id == CLOUD_SYNC_APP_ID)
            .collect();
        // fabrikam (two jobs), the paused one, the escrowing one, 2 quarantined, 3 failing
        assert_eq!(cloud_sync.len(), 8);
        assert_eq!(t.sync_jobs.len(), 9);
        for sp in cloud_sync {
            assert!(
                sp.service_principal_names
                    .iter()
                    .any(|n| n == CLOUD_SYNC_APP_ID)
            );
            assert_eq!(
                sp.display_name.rsplit('.').next(),
                Some("local"),
                "{}",
                sp.display_name
            );
        }
    }
}
