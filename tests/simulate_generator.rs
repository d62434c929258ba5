//! The simulator's generator against the real audit: a generated tenant, written as a cloud
//! snapshot and as the on-prem export in every format, audits to exactly its ground truth (every
//! planted problem, nothing else), with every rule planted; the written files are deterministic
//! and carry the Graph property names the snapshot reader requires.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use entra_audit::testing::audit::rules::Kind;
use entra_audit::testing::inputs::snapshot::{self, Collection, CollectionState};
use entra_audit::testing::simulate::export::{
    OnPremFormat, OnPremWriter, write_ground_truth, write_onprem, write_snapshot,
};
use entra_audit::testing::simulate::generator::{
    GeneratorOptions, TenantHealth, generate, generate_streaming,
};
use entra_audit::testing::simulate::model::SimTenant;

use crate::common;

/// Generates a tenant and writes everything `entra-audit simulate --write-onprem` would.
fn write_tenant(options: &GeneratorOptions, dir: &Path) -> SimTenant {
    let tenant = generate(options);
    write_snapshot(&tenant, &dir.join("cloud"), options.collected_at).unwrap();
    write_onprem(&tenant, &dir.join("onprem")).unwrap();
    write_ground_truth(&tenant, &dir.join("expected.json")).unwrap();
    tenant
}

/// Every planted problem says why it was planted.
fn assert_notes(dir: &Path) {
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    for r in &rows {
        assert!(
            r["note"].as_str().is_some_and(|n| !n.is_empty()),
            "every planted problem says why: {r}"
        );
    }
}

/// Audits the written tenant with each on-prem format and compares with the ground truth.
fn assert_audit_finds_exactly_the_ground_truth(dir: &Path, tenant: &SimTenant) {
    assert_notes(dir);
    let expected = common::ground_truth(&dir.join("expected.json"));
    let truth = common::multiset(tenant.ground_truth.iter().map(|p| {
        (
            p.rule.clone(),
            p.cloud_object_id.clone(),
            p.onprem_object_guid.clone(),
        )
    }));
    assert_eq!(
        expected, truth,
        "expected.json is not the tenant's ground truth"
    );
    assert!(
        expected.values().sum::<usize>() > 50,
        "the tenant lost its planted problems: {expected:?}"
    );

    let ids_by_format: Vec<Vec<String>> = OnPremFormat::ALL
        .iter()
        .map(|format| {
            let report = common::audit(
                &dir.join("cloud"),
                &dir.join("onprem").join(format.file_name()),
            );
            common::assert_exactly(format.file_name(), &report, &expected)
        })
        .collect();
    assert_eq!(ids_by_format[0], ids_by_format[1], "LDIF and CSV differ");
    assert_eq!(ids_by_format[0], ids_by_format[2], "LDIF and JSON differ");
}

/// Every rule of the catalogue has at least one planted finding, except the tenant-level rule
/// that the chosen health leaves quiet.
fn assert_every_rule_is_planted(tenant: &SimTenant, quiet: &str) {
    // Rules that only a sync setting other than the generated tenant's (its default model)
    // can make fire: their rule fixtures prove them.
    const NEED_SYNC_SETTINGS: [&str; 1] = ["source-anchor-missing"];
    let planted: BTreeSet<&str> = tenant
        .ground_truth
        .iter()
        .map(|p| p.rule.as_str())
        .collect();
    let catalogue: BTreeSet<String> = entra_audit::testing::audit::rules::embedded()
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == Kind::Rule)
        .map(|r| r.name)
        .collect();
    let missing: Vec<&String> = catalogue
        .iter()
        .filter(|r| {
            !planted.contains(r.as_str())
                && r.as_str() != quiet
                && !NEED_SYNC_SETTINGS.contains(&r.as_str())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "rules with nothing planted: {missing:?}"
    );
    assert!(!planted.contains(quiet), "{quiet} should be quiet");
    assert!(
        planted.iter().all(|r| catalogue.contains(*r)),
        "planted a rule the catalogue lacks: {planted:?}"
    );
}

#[test]
fn audit_of_a_generated_tenant_finds_exactly_its_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let options = GeneratorOptions {
        seed: 11,
        users: 120,
        contacts: 15,
        groups: 20,
        tenant_health: Some(TenantHealth::PasswordHashSyncStale),
        quarantined_jobs: 2,
        // One job in each failing shape.
        failing_jobs: 3,
        ..GeneratorOptions::default()
    };
    let tenant = write_tenant(&options, dir.path());
    assert_every_rule_is_planted(&tenant, "directory-sync-stale");
    assert_audit_finds_exactly_the_ground_truth(dir.path(), &tenant);
}

#[test]
fn a_stale_directory_sync_is_found_and_the_rest_still_matches() {
    let dir = tempfile::tempdir().unwrap();
    let options = GeneratorOptions {
        seed: 12,
        tenant_health: Some(TenantHealth::DirectorySyncStale),
        ..GeneratorOptions::default()
    };
    let tenant = write_tenant(&options, dir.path());
    // With directory sync stale, password-hash-sync-stale does not judge (it needs fresh sync).
    assert_every_rule_is_planted(&tenant, "password-hash-sync-stale");
    assert_audit_finds_exactly_the_ground_truth(dir.path(), &tenant);
}

/// Every file under `dir`, relative path -> bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path.strip_prefix(dir).unwrap().to_owned(), bytes);
            }
        }
    }
    out
}

#[test]
fn the_same_seed_writes_the_same_files_and_another_seed_other_files() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let options = GeneratorOptions {
        seed: 5,
        ..GeneratorOptions::default()
    };
    write_tenant(&options, a.path());
    write_tenant(&options, b.path());
    write_tenant(
        &GeneratorOptions {
            seed: 6,
            ..options.clone()
        },
        c.path(),
    );
    // Streaming the export while generating writes the very same files.
    let d = tempfile::tempdir().unwrap();
    let mut writer = OnPremWriter::create(&d.path().join("onprem"), &OnPremFormat::ALL).unwrap();
    let streamed = generate_streaming(&options, &mut |record| writer.write(&record));
    writer.finish().unwrap();
    assert!(streamed.onprem.is_empty());
    write_snapshot(&streamed, &d.path().join("cloud"), options.collected_at).unwrap();
    write_ground_truth(&streamed, &d.path().join("expected.json")).unwrap();
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    assert_eq!(fa, files(d.path()), "streamed generation wrote other files");
    assert_eq!(fa.len(), 16, "{:?}", fa.keys().collect::<Vec<_>>());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (path, bytes) in &fa {
        assert!(
            fb[path] == *bytes,
            "{} differs for the same seed",
            path.display()
        );
        // The tenant's domains are fixed; everything else depends on the seed.
        if !path.ends_with("domains.json") {
            assert!(
                fc[path] != *bytes,
                "{} is the same for another seed",
                path.display()
            );
        }
    }
}

#[test]
fn the_snapshot_reader_accepts_every_collection() {
    let dir = tempfile::tempdir().unwrap();
    let options = GeneratorOptions::default();
    let tenant = write_tenant(&options, dir.path());
    let cloud = dir.path().join("cloud");

    // The reader accepts every collection, with the manifest's counts.
    let snap = snapshot::load(&cloud).unwrap();
    for collection in Collection::ALL {
        assert!(
            matches!(
                snap.state(collection),
                CollectionState::Loaded { rejected: 0, .. }
            ),
            "{collection}: {:?}",
            snap.state(collection)
        );
    }
    assert_eq!(snap.users.len(), tenant.users.len());
    assert_eq!(snap.contacts.len(), tenant.contacts.len());
    assert_eq!(snap.groups.len(), tenant.groups.len());
    assert_eq!(snap.sync_jobs.len(), tenant.sync_jobs.len());
    assert_eq!(snap.tenant_id().as_deref(), Some(tenant.tenant_id.as_str()));
    assert_eq!(
        snap.manifest.as_ref().and_then(|m| m.collected_at),
        Some(options.collected_at)
    );
    let org = &snap.organization[0];
    assert!(
        matches!(org.on_premises_last_password_sync_date_time, Some(Some(_))),
        "organization is the beta resource"
    );
    assert!(snap.sync_jobs.iter().all(|j| {
        j.service_principal_id.is_some()
            && j.service_principal_display_name.is_some()
            && j.setting("DomainFQDN") == j.service_principal_display_name.as_deref()
    }));
    assert!(
        snap.directory_roles
            .iter()
            .all(|r| !r.members.is_empty() && r.members.iter().all(|m| m.odata_type.is_some()))
    );
    assert_eq!(
        snap.directory_synchronization[0]
            .features
            .block_soft_match_enabled,
        Some(false)
    );
}

/// `(file, JSON pointer into its first object, Graph property names that must be there)`.
const GRAPH_PROPERTIES: &[(&str, &str, &[&str])] = &[
    (
        "users.jsonl",
        "",
        &[
            "id",
            "userPrincipalName",
            "proxyAddresses",
            "mail",
            "onPremisesImmutableId",
            "onPremisesSyncEnabled",
            "onPremisesLastSyncDateTime",
            "onPremisesProvisioningErrors",
            "onPremisesDomainName",
            "onPremisesSecurityIdentifier",
            "onPremisesDistinguishedName",
            "accountEnabled",
            "userType",
        ],
    ),
    (
        "contacts.jsonl",
        "",
        &[
            "id",
            "proxyAddresses",
            "mail",
            "onPremisesSyncEnabled",
            "onPremisesProvisioningErrors",
        ],
    ),
    (
        "groups.jsonl",
        "",
        &[
            "id",
            "proxyAddresses",
            "mailEnabled",
            "securityEnabled",
            "onPremisesSyncEnabled",
            "onPremisesProvisioningErrors",
            "onPremisesSecurityIdentifier",
        ],
    ),
    (
        "organization.json",
        "",
        &[
            "id",
            "onPremisesSyncEnabled",
            "onPremisesLastSyncDateTime",
            "onPremisesLastPasswordSyncDateTime",
            "verifiedDomains",
        ],
    ),
    (
        "domains.json",
        "",
        &["id", "isVerified", "isDefault", "isInitial"],
    ),
    (
        "synchronizationJobs.json",
        "",
        &[
            "id",
            "templateId",
            "schedule",
            "status",
            "synchronizationJobSettings",
            "servicePrincipalId",
            "servicePrincipalDisplayName",
        ],
    ),
    (
        "synchronizationJobs.json",
        "/status",
        &[
            "code",
            "countSuccessiveCompleteFailures",
            "lastExecution",
            "lastSuccessfulExecution",
            "quarantine",
            "steadyStateLastAchievedTime",
        ],
    ),
    (
        "directoryRoles.json",
        "",
        &["id", "displayName", "roleTemplateId", "members"],
    ),
    ("directoryRoles.json", "/members/0", &["@odata.type", "id"]),
    ("onPremisesSynchronization.json", "", &["id", "features"]),
];

#[test]
fn the_snapshot_spells_graphs_property_names() {
    let dir = tempfile::tempdir().unwrap();
    write_tenant(&GeneratorOptions::default(), dir.path());
    for (file, pointer, names) in GRAPH_PROPERTIES {
        let text = std::fs::read_to_string(dir.path().join("cloud").join(file)).unwrap();
        // The first object: the first line of a .jsonl, the first of "value" in a .json.
        let first: serde_json::Value = if Path::new(file).extension().is_some_and(|e| e == "jsonl")
        {
            serde_json::from_str(text.lines().next().unwrap()).unwrap()
        } else {
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["value"][0].clone()
        };
        let object = first.pointer(pointer).unwrap();
        for name in *names {
            assert!(
                object.get(*name).is_some(),
                "{file}{pointer} lacks {name}: {object}"
            );
        }
    }
}

/// AD's built-in objects and the sync engine's accounts are set aside by the out-of-box scoping,
/// each for its documented reason, in every export format, and no finding names any of them (nor
/// the Global Administrator whose UPN the built-in Administrator carries).
#[test]
fn built_in_objects_and_connector_accounts_are_out_of_scope_and_in_no_finding() {
    let dir = tempfile::tempdir().unwrap();
    let options = GeneratorOptions {
        seed: 5,
        users: 60,
        contacts: 8,
        groups: 10,
        ..GeneratorOptions::default()
    };
    let tenant = write_tenant(&options, dir.path());
    // The Global Administrator whose UPN the built-in Administrator carries.
    let administrator_upn = tenant
        .onprem
        .iter()
        .find(|o| {
            o.distinguished_name
                .starts_with("CN=Administrator,CN=Users,")
        })
        .and_then(|o| o.user_principal_name.clone())
        .expect("the built-in Administrator has a UPN");
    let global_admin = tenant
        .users
        .iter()
        .find(|u| u.user_principal_name == administrator_upn)
        .map(|u| u.id.clone())
        .expect("a cloud user has the Administrator's UPN");
    assert!(
        tenant
            .directory_roles
            .iter()
            .any(|r| r.display_name == "Global Administrator"
                && r.members.iter().any(|(id, _)| *id == global_admin)),
        "that cloud user is a Global Administrator"
    );
    for format in OnPremFormat::ALL {
        let report = common::audit(
            &dir.path().join("cloud"),
            &dir.path().join("onprem").join(format.file_name()),
        );
        let scope = report
            .inputs
            .scope
            .as_ref()
            .expect("an on-prem export gives a scope");
        let reason = |dn: &str| {
            scope
                .objects
                .iter()
                .find(|o| o.distinguished_name.starts_with(dn))
                .map(|o| o.reason.as_str())
        };
        let name = format.file_name();
        for (dn, expected) in [
            ("CN=Administrator,CN=Users,", "critical-system-object"),
            ("CN=Guest,CN=Users,", "critical-system-object"),
            ("CN=krbtgt,CN=Users,", "critical-system-object"),
            ("CN=Domain Admins,CN=Users,", "critical-system-object"),
            ("CN=Administrators,CN=Builtin,", "critical-system-object"),
            ("CN=MSOL_", "connector-account"),
            ("CN=AAD_", "connector-account"),
            ("CN=SUPPORT_388945a0,", "exchange-system-account"),
            ("CN=Group_", "written-back-group"),
        ] {
            assert_eq!(reason(dn), Some(expected), "{name}: {dn}");
        }
        let by_reason = |r: &str| {
            scope
                .objects
                .iter()
                .filter(|o| o.reason.as_str() == r)
                .count()
        };
        assert_eq!(by_reason("replication-conflict"), 1, "{name}");
        assert_eq!(by_reason("contact-not-mail-enabled"), 1, "{name}");
        let excluded: BTreeSet<&str> = scope
            .objects
            .iter()
            .map(|o| o.object_guid.as_str())
            .collect();
        for f in &report.findings {
            assert!(
                f.onprem_object_guid
                    .as_deref()
                    .is_none_or(|g| !excluded.contains(g)),
                "{name}: an out-of-scope object is in a finding: {f:?}"
            );
            assert_ne!(
                f.cloud_object_id.as_deref(),
                Some(global_admin.as_str()),
                "{name}: the Global Administrator is in a finding: {f:?}"
            );
        }
    }
    assert_out_of_scope_csv(dir.path());
}

/// The out-of-scope objects as a CSV an admin can filter, one row per object, written by the
/// binary (the report is rendered on the main thread's stack, as a user runs it).
fn assert_out_of_scope_csv(dir: &Path) {
    let out = dir.join("report");
    assert_cmd::Command::cargo_bin("entra-audit")
        .unwrap()
        .arg("check")
        .arg("--cloud")
        .arg(dir.join("cloud"))
        .arg("--onprem")
        .arg(dir.join("onprem").join(OnPremFormat::ALL[0].file_name()))
        .arg("--out")
        .arg(&out)
        .arg("--fail-on")
        .arg("never")
        .assert()
        .code(0);
    let csv = std::fs::read_to_string(out.join("out-of-scope.csv")).unwrap();
    let excluded = common::audit(
        &dir.join("cloud"),
        &dir.join("onprem").join(OnPremFormat::ALL[0].file_name()),
    )
    .inputs
    .scope
    .map_or(0, |s| s.objects.len());
    assert_eq!(csv.lines().count(), 1 + excluded);
    assert!(csv.contains(",connector-account,"), "{csv}");
}
