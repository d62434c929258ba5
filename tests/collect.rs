//! `collect` against the simulated tenant in-process (127.0.0.1:0, no latency, small tenants):
//! the snapshot it writes reads back complete and audits to exactly the planted problems; a
//! forbidden collection is marked and leaves the others complete; throttling is waited out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use chrono::Utc;
use entra_audit::testing::audit::CheckOptions;
use entra_audit::testing::graph::GraphClientOptions;
use entra_audit::testing::graph::collect::*;
use entra_audit::testing::graph::{CallStats, GraphClient, test_support as test_client};
use entra_audit::testing::inputs::snapshot::Collection;
use entra_audit::testing::inputs::snapshot::catalogue::{
    DISPLAY_NAME_FIRST_CHARACTERS, UPN_FIRST_CHARACTERS,
};
use entra_audit::testing::inputs::snapshot::{self, CollectionState};
use entra_audit::testing::simulate::generator::{GeneratorOptions, generate};
use entra_audit::testing::simulate::model::SimTenant;
use entra_audit::testing::simulate::{ServerOptions, SimServer, ThrottleOptions};

const CLIENT: &str = "9a3d526c-2222-4b5c-8d9e-0f1a2b3c4d5e";
const SECRET: &str = "sim-secret~value";

struct Setup {
    server: SimServer,
    tenant: SimTenant,
    client: GraphClient,
}

async fn setup(delegated: bool, configure: impl FnOnce(&mut ServerOptions)) -> Setup {
    setup_paced(delegated, 1_000, 100, configure).await
}

/// `rps` and `burst`: the client's own pace (all collections together).
async fn setup_paced(
    delegated: bool,
    rps: u32,
    burst: u32,
    configure: impl FnOnce(&mut ServerOptions),
) -> Setup {
    // Served as of now: the audit judges the collected snapshot as of its collection time.
    let tenant = generate(&GeneratorOptions {
        collected_at: Utc::now(),
        ..GeneratorOptions::default()
    });
    let mut options = ServerOptions::for_tests(CLIENT, SECRET);
    configure(&mut options);
    let server = SimServer::start(tenant.clone(), options).await.unwrap();
    let token = test_client::token(&server, &tenant.tenant_id, (CLIENT, SECRET), delegated).await;
    let client = test_client::client(&server, token, rps, burst);
    Setup {
        server,
        tenant,
        client,
    }
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn status_of(manifest: &Value, collection: Collection) -> &str {
    manifest["collections"][collection.file_stem()]["status"]
        .as_str()
        .unwrap()
}

fn check_options(cloud: &Path, onprem: &Path) -> CheckOptions {
    CheckOptions {
        cloud: Some(cloud.to_owned()),
        onprem: vec![onprem.join("ad.ldif")],
        rules_dir: None,
        as_of: None,
        directory_sync_max_age: chrono::Duration::hours(3),
        password_sync_max_age: chrono::Duration::hours(24),
        cloud_sync_max_age: chrono::Duration::hours(24),
        only: None,
        sync: entra_audit::testing::audit::sync_model::SyncConfig::default(),
    }
}

/// Each provisioning job carries the OUs its schema includes (read from /beta): the
/// fabrikam.local job two, the others none (their whole domain); no schema was unreadable; and
/// the sync model takes them up.
fn assert_cloud_sync_scopes(snapshot: &snapshot::CloudSnapshot) {
    for job in &snapshot.sync_jobs {
        let provisioning = job.template_id.as_deref() == Some("AD2AADProvisioning");
        assert_eq!(job.included_containers.is_some(), provisioning, "{job:?}");
        assert_eq!(job.scope_unavailable, None, "{job:?}");
    }
    let scoped: Vec<&Vec<String>> = snapshot
        .sync_jobs
        .iter()
        .filter_map(|j| j.included_containers.as_ref())
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        scoped,
        [&vec![
            "OU=Sales,DC=fabrikam,DC=local".to_owned(),
            "OU=Staff,DC=fabrikam,DC=local".to_owned()
        ]]
    );
    let model = entra_audit::testing::audit::sync_model::build(
        &entra_audit::testing::audit::sync_model::SyncConfig::default(),
        &[],
        Some(snapshot),
    );
    assert_eq!(
        model.cloud_sync_scope.get("fabrikam.local").map(Vec::len),
        Some(2),
        "{model:?}"
    );
    // The same job filters its users by an attribute: said as not evaluated, on that job only.
    let filtered: Vec<&Vec<String>> = snapshot
        .sync_jobs
        .iter()
        .filter_map(|j| j.scope_not_evaluated.as_ref())
        .collect();
    assert_eq!(
        filtered,
        [&vec![
            "an attribute scoping filter on user objects (1 clause)".to_owned()
        ]]
    );
    assert_eq!(
        model
            .cloud_sync_scope_not_evaluated
            .keys()
            .collect::<Vec<_>>(),
        ["fabrikam.local"],
        "{model:?}"
    );
    assert!(
        model
            .summary_lines()
            .iter()
            .any(|l| l.contains("fabrikam.local: also narrowed by an attribute scoping filter")),
        "{:?}",
        model.summary_lines()
    );
}

type Key = (String, Option<String>, Option<String>);

fn multiset(keys: impl IntoIterator<Item = Key>) -> BTreeMap<Key, usize> {
    let mut counts = BTreeMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collected_tenant_reads_back_complete_and_audits_to_the_ground_truth() {
    let s = setup(true, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cloud");
    // Links planted where the temporary files go are replaced, never written through.
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    std::fs::create_dir_all(&out).unwrap();
    #[cfg(unix)]
    for name in [
        ".users.jsonl.partial",
        ".domains.json.partial",
        ".manifest.json.partial",
    ] {
        std::os::unix::fs::symlink(&victim, out.join(name)).unwrap();
    }
    let report = collect(&s.client, &out, &CollectOptions::default())
        .await
        .unwrap();
    assert!(report.incomplete().is_empty(), "{report:#?}");
    assert_eq!(
        report.tenant_id.as_deref(),
        Some(s.tenant.tenant_id.as_str())
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // No temporary file, and no "being written" marker, is left behind.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");
    assert!(
        !names.contains(&snapshot::COLLECTING_MARKER.to_owned()),
        "{names:?}"
    );
    assert!(names.contains(&"users.jsonl".to_owned()), "{names:?}");

    let snapshot = snapshot::load(&out).unwrap();
    for collection in Collection::ALL {
        assert!(
            snapshot.state(collection).is_loaded(),
            "{collection}: {:?}",
            snapshot.state(collection)
        );
    }
    assert!(snapshot.rejected.is_empty(), "{:?}", snapshot.rejected);
    let t = &s.tenant;
    assert_eq!(snapshot.users.len(), t.users.len());
    assert_eq!(snapshot.contacts.len(), t.contacts.len());
    assert_eq!(snapshot.groups.len(), t.groups.len());
    assert_eq!(snapshot.organization.len(), 1);
    assert_eq!(snapshot.domains.len(), t.domains.len());
    assert_eq!(snapshot.sync_jobs.len(), t.sync_jobs.len());
    assert!(!t.sync_jobs.is_empty());
    assert!(
        snapshot
            .sync_jobs
            .iter()
            .all(|j| j.service_principal_id.is_some()
                && j.service_principal_display_name.is_some())
    );
    assert_cloud_sync_scopes(&snapshot);
    assert_eq!(snapshot.directory_synchronization.len(), 1);
    assert!(
        snapshot
            .organization
            .first()
            .is_some_and(|o| o.on_premises_last_password_sync_date_time.is_some()),
        "beta organization read"
    );
    assert_eq!(snapshot.tenant_id().as_deref(), Some(t.tenant_id.as_str()));
    let m = manifest(&out);
    assert_eq!(
        m["collections"]["users"]["requests"].as_u64(),
        Some(report.collections[&Collection::Users].stats.requests)
    );

    let onprem = dir.path().join("onprem");
    entra_audit::testing::simulate::export::write_onprem(t, &onprem).unwrap();
    let audit = crate::common::check_on_main_stack(check_options(&out, &onprem)).unwrap();
    assert!(
        audit.inputs.rules_not_evaluated.is_empty(),
        "{:?}",
        audit.inputs.rules_not_evaluated
    );
    let found = multiset(audit.findings.iter().map(|f| {
        (
            f.rule.clone(),
            f.cloud_object_id.clone(),
            f.onprem_object_guid.clone(),
        )
    }));
    let expected = multiset(t.ground_truth.iter().map(|p| {
        (
            p.rule.clone(),
            p.cloud_object_id.clone(),
            p.onprem_object_guid.clone(),
        )
    }));
    assert!(!expected.is_empty());
    assert_eq!(found, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_collection_is_marked_and_the_others_complete() {
    let s = setup(true, |o| o.faults.forbidden = vec!["groups".into()]).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cloud");
    // A stale groups file from an earlier run must not survive.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("groups.jsonl"), "{\"id\":\"stale\"}\n").unwrap();
    let report = collect(&s.client, &out, &CollectOptions::default())
        .await
        .unwrap();
    // Which objects onPremisesSyncBehavior is read for comes from users and groups: without
    // groups it is skipped, with the reason.
    assert_eq!(
        report.incomplete(),
        vec![Collection::Groups, Collection::SyncBehavior]
    );
    assert!(report.failed().is_empty(), "forbidden is not failed");
    assert_eq!(
        status_of(&manifest(&out), Collection::SyncBehavior),
        "skipped"
    );
    let groups = &report.collections[&Collection::Groups];
    assert_eq!(groups.status, CollectionStatus::Forbidden);
    assert_eq!(groups.stats.retries, 0);
    let m = manifest(&out);
    assert_eq!(status_of(&m, Collection::Groups), "forbidden");
    assert_eq!(
        m["collections"]["groups"]["code"],
        "Authorization_RequestDenied"
    );
    for collection in Collection::ALL {
        if ![Collection::Groups, Collection::SyncBehavior].contains(&collection) {
            assert_eq!(status_of(&m, collection), "complete", "{collection}");
        }
    }
    assert!(!out.join("groups.jsonl").exists());

    let snapshot = snapshot::load(&out).unwrap();
    let state = snapshot.state(Collection::Groups);
    assert!(!state.is_loaded());
    assert!(
        matches!(state, CollectionState::Missing { reason } if reason.contains("forbidden")),
        "{state:?}"
    );
    let onprem = dir.path().join("onprem");
    entra_audit::testing::simulate::export::write_onprem(&s.tenant, &onprem).unwrap();
    let audit = crate::common::check_on_main_stack(check_options(&out, &onprem)).unwrap();
    let not_evaluated = &audit.inputs.rules_not_evaluated;
    assert!(!not_evaluated.is_empty());
    assert!(
        not_evaluated.iter().all(|n| n.reason.contains("groups")),
        "{not_evaluated:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_synchronization_is_forbidden_to_an_app_only_token() {
    let s = setup(false, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let report = collect(&s.client, dir.path(), &CollectOptions::default())
        .await
        .unwrap();
    assert_eq!(
        report.incomplete(),
        vec![Collection::OnPremisesSynchronization]
    );
    let outcome = &report.collections[&Collection::OnPremisesSynchronization];
    assert_eq!(outcome.status, CollectionStatus::Forbidden);
    assert!(outcome.code.is_some(), "{outcome:?}");
    let m = manifest(dir.path());
    assert_eq!(
        status_of(&m, Collection::OnPremisesSynchronization),
        "forbidden"
    );
    let snapshot = snapshot::load(dir.path()).unwrap();
    assert!(
        !snapshot
            .state(Collection::OnPremisesSynchronization)
            .is_loaded()
    );
    assert!(snapshot.state(Collection::Users).is_loaded());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_waited_out_and_every_collection_completes() {
    // A client pace above the throttle's (10 units/s), one request at a time: with no latency
    // every request is answered before the next goes, so a retry before `Retry-After` would be
    // the client's fault, not a race of requests already in flight.
    let s = setup_paced(true, 25, 1, |o| {
        o.throttle = ThrottleOptions {
            resource_units: Some(3),
            window: Duration::from_millis(300),
            ..ThrottleOptions::default()
        };
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // Small pages: many requests, so the throttle bites. onPremisesSyncBehavior is read in JSON
    // batches, whose 20 items Graph throttles one by one: no client can wait between the items
    // of one batch, so it is left out of this count of early retries (its own test resends
    // throttled items).
    let options = CollectOptions {
        top: 5,
        skip: [Collection::SyncBehavior].into_iter().collect(),
        ..CollectOptions::default()
    };
    let report = collect(&s.client, dir.path(), &options).await.unwrap();
    assert_eq!(
        report.incomplete(),
        vec![Collection::SyncBehavior],
        "{report:#?}"
    );
    let server = s.server.handle().stats();
    assert!(server.throttled > 0, "the throttle must bite: {server:?}");
    assert_eq!(server.early_retries, 0, "waited as told: {server:?}");
    assert_eq!(report.total_stats().throttled, server.throttled);
    let snapshot = snapshot::load(dir.path()).unwrap();
    assert_eq!(snapshot.users.len(), s.tenant.users.len());
    assert_eq!(snapshot.groups.len(), s.tenant.groups.len());
    assert!(
        Collection::ALL
            .iter()
            .filter(|c| **c != Collection::SyncBehavior)
            .all(|c| snapshot.state(*c).is_loaded())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_collection_is_not_requested_and_reads_back_missing() {
    let s = setup(true, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let options = CollectOptions {
        skip: [Collection::Contacts].into_iter().collect(),
        ..CollectOptions::default()
    };
    let report = collect(&s.client, dir.path(), &options).await.unwrap();
    assert_eq!(report.incomplete(), vec![Collection::Contacts]);
    assert_eq!(
        report.collections[&Collection::Contacts].stats,
        CallStats::default()
    );
    assert!(
        !s.server
            .handle()
            .stats()
            .paths
            .contains_key("/v1.0/contacts")
    );
    assert_eq!(
        status_of(&manifest(dir.path()), Collection::Contacts),
        "skipped"
    );
    let snapshot = snapshot::load(dir.path()).unwrap();
    assert!(matches!(
        snapshot.state(Collection::Contacts),
        CollectionState::Missing { reason } if reason.contains("skipped")
    ));
}

/// A change to the simulator's options.
type Configure = fn(&mut ServerOptions);

/// A generated tenant with `users` healthy synced users (and the default planted cases).
async fn setup_users(users: usize, configure: impl FnOnce(&mut ServerOptions)) -> Setup {
    setup_tenant(users, |_| {}, configure).await
}

/// As [`setup_users`], with `users` (and as many contacts and groups) and the tenant edited
/// before it is served.
async fn setup_tenant(
    users: usize,
    edit: impl FnOnce(&mut SimTenant),
    configure: impl FnOnce(&mut ServerOptions),
) -> Setup {
    let mut tenant = generate(&GeneratorOptions {
        users,
        contacts: users,
        groups: users,
        collected_at: Utc::now(),
        ..GeneratorOptions::default()
    });
    edit(&mut tenant);
    let mut options = ServerOptions::for_tests(CLIENT, SECRET);
    configure(&mut options);
    let server = SimServer::start(tenant.clone(), options).await.unwrap();
    let token = test_client::token(&server, &tenant.tenant_id, (CLIENT, SECRET), true).await;
    let client = test_client::client_with(
        &server,
        token,
        &GraphClientOptions {
            requests_per_second: 1_000,
            burst: 100,
            timeout: Duration::from_secs(20),
            ..GraphClientOptions::default()
        },
    );
    Setup {
        server,
        tenant,
        client,
    }
}

/// Partitioning on for the small test tenants, several pages per partition.
fn partitioned_options() -> CollectOptions {
    CollectOptions {
        top: 7,
        partition_threshold: 50,
        partition_concurrency: 4,
        // Each partition alone, so that a test can count them.
        partition_pack_to: 0,
        ..CollectOptions::default()
    }
}

/// The ids in `users.jsonl`, each once (a duplicate fails).
fn collected_ids(dir: &Path, collection: Collection) -> std::collections::BTreeSet<String> {
    let text =
        std::fs::read_to_string(dir.join(format!("{}.jsonl", collection.file_stem()))).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        assert!(ids.insert(id.clone()), "{id} collected twice");
    }
    ids
}

fn strategy_of(manifest: &Value, collection: Collection) -> String {
    manifest["collections"][collection.file_stem()]["strategy"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The ids of users, contacts and groups in the tenant.
fn tenant_ids(t: &SimTenant) -> BTreeMap<Collection, std::collections::BTreeSet<String>> {
    [
        (
            Collection::Users,
            t.users.iter().map(|o| o.id.clone()).collect(),
        ),
        (
            Collection::Contacts,
            t.contacts.iter().map(|o| o.id.clone()).collect(),
        ),
        (
            Collection::Groups,
            t.groups.iter().map(|o| o.id.clone()).collect(),
        ),
    ]
    .into_iter()
    .collect()
}

/// The partitions that hold objects: first characters of `values` in `alphabet`
/// (case-insensitively), and one more when some value starts elsewhere (or is missing) and
/// the plan reads the rest.
fn non_empty_partitions<'a>(
    values: impl Iterator<Item = Option<&'a str>>,
    alphabet: &str,
    remainder: bool,
) -> usize {
    let mut firsts = std::collections::BTreeSet::new();
    let mut elsewhere = false;
    for v in values {
        match v
            .and_then(|v| v.chars().next())
            .map(|c| c.to_ascii_lowercase())
        {
            Some(c) if alphabet.contains(c) => {
                firsts.insert(c);
            }
            _ => elsewhere = true,
        }
    }
    firsts.len() + usize::from(remainder && elsewhere)
}

/// Every user, contact and group is collected exactly once, each collection through its
/// partitions: UPN first characters for users, displayName letters and digits for contacts
/// and groups, plus the rest (a contact named `Łukasz`, a group named `(archive)`, a contact
/// without a name) through `not(startswith(...) or ...)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_tenant_is_paged_in_partitions_and_every_object_is_collected() {
    let s = setup_tenant(
        200,
        |t| {
            t.contacts[0].display_name = Some("Łukasz Nowak".to_owned());
            t.contacts[1].display_name = None;
            t.groups[0].display_name = Some("(archive) Sales".to_owned());
        },
        |_| {},
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let options = CollectOptions {
        partition_threshold: 10,
        ..partitioned_options()
    };
    let report = collect(&s.client, dir.path(), &options).await.unwrap();
    assert!(report.incomplete().is_empty(), "{report:#?}");
    let t = &s.tenant;
    let m = manifest(dir.path());
    let expected_parts = [
        (
            Collection::Users,
            non_empty_partitions(
                t.users.iter().map(|u| Some(u.user_principal_name.as_str())),
                UPN_FIRST_CHARACTERS,
                false,
            ),
        ),
        (
            Collection::Contacts,
            non_empty_partitions(
                t.contacts.iter().map(|c| c.display_name.as_deref()),
                DISPLAY_NAME_FIRST_CHARACTERS,
                true,
            ),
        ),
        (
            Collection::Groups,
            non_empty_partitions(
                t.groups.iter().map(|g| g.display_name.as_deref()),
                DISPLAY_NAME_FIRST_CHARACTERS,
                true,
            ),
        ),
    ];
    let expected = tenant_ids(t);
    for (collection, parts) in expected_parts {
        assert!(parts > 1, "{collection}");
        assert_eq!(
            strategy_of(&m, collection),
            format!("partitioned({parts})"),
            "{collection}"
        );
        let ids = &expected[&collection];
        assert!(ids.len() > 200, "{collection}");
        assert_eq!(&collected_ids(dir.path(), collection), ids, "{collection}");
        let outcome = &report.collections[&collection];
        assert_eq!(outcome.objects, ids.len(), "{collection}");
        // The total, one count per partition (the alphabet, plus the rest), then the pages.
        assert!(
            outcome.stats.requests > parts as u64 + 1,
            "{:?}",
            outcome.stats
        );
        assert_eq!(
            m["collections"][collection.file_stem()]["requests"].as_u64(),
            Some(outcome.stats.requests)
        );
        assert!(
            m["collections"][collection.file_stem()]
                .get("scope")
                .is_none()
        );
    }
    // The rest was asked for, with the advanced query parameters it needs.
    let paths = s.server.handle().stats().paths;
    assert!(paths["/v1.0/contacts"].requests > 0 && paths["/v1.0/groups"].requests > 0);
    let snapshot = snapshot::load(dir.path()).unwrap();
    assert_eq!(snapshot.users.len(), expected[&Collection::Users].len());
    assert_eq!(
        snapshot.contacts.len(),
        expected[&Collection::Contacts].len()
    );
    assert_eq!(snapshot.groups.len(), expected[&Collection::Groups].len());
}

/// A UPN partition above `partition_split_above` is split by its next characters (`jo`, then
/// `joh`..., and the rest of `j`), so no single partition is the long pole, and still every
/// user comes once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upn_partition_is_split_by_its_next_character() {
    let s = setup_users(300, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let options = CollectOptions {
        partition_split_above: 20,
        skip: [Collection::Contacts, Collection::Groups]
            .into_iter()
            .collect(),
        ..partitioned_options()
    };
    let report = collect(&s.client, dir.path(), &options).await.unwrap();
    // Without groups, onPremisesSyncBehavior has no candidates to read: skipped too.
    assert_eq!(
        report.incomplete(),
        vec![
            Collection::Contacts,
            Collection::Groups,
            Collection::SyncBehavior
        ]
    );
    let t = &s.tenant;
    let one_char = non_empty_partitions(
        t.users.iter().map(|u| Some(u.user_principal_name.as_str())),
        UPN_FIRST_CHARACTERS,
        false,
    );
    // The sample is the whole collection here, so the plan is exact: every first character
    // above 20 users is split (its largest children split off, again while still large), so
    // there are more partitions than first characters.
    let large_firsts = {
        let mut by_first: BTreeMap<char, usize> = BTreeMap::new();
        for u in &t.users {
            let first = u
                .user_principal_name
                .to_ascii_lowercase()
                .chars()
                .next()
                .unwrap();
            *by_first.entry(first).or_default() += 1;
        }
        by_first.values().filter(|n| **n > 20).count()
    };
    assert!(large_firsts > 0);
    let m = manifest(dir.path());
    let strategy = strategy_of(&m, Collection::Users);
    let parts: usize = strategy
        .strip_prefix("partitioned(")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{strategy}"))
        .parse()
        .unwrap();
    assert!(parts >= one_char + large_firsts, "{parts} vs {one_char}");
    assert_eq!(
        collected_ids(dir.path(), Collection::Users),
        tenant_ids(t)[&Collection::Users]
    );
}

/// Small partitions are paged together (`startswith(..,'q') or startswith(..,'x') ...`):
/// fewer request chains, still every object once, and the packed counts verified like any.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_partitions_are_paged_together() {
    let s = setup_users(200, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let options = CollectOptions {
        partition_threshold: 10,
        partition_pack_to: 60,
        ..partitioned_options()
    };
    let report = collect(&s.client, dir.path(), &options).await.unwrap();
    assert!(report.incomplete().is_empty(), "{report:#?}");
    let t = &s.tenant;
    let m = manifest(dir.path());
    let alone = [
        (
            Collection::Users,
            non_empty_partitions(
                t.users.iter().map(|u| Some(u.user_principal_name.as_str())),
                UPN_FIRST_CHARACTERS,
                false,
            ),
        ),
        (
            Collection::Contacts,
            non_empty_partitions(
                t.contacts.iter().map(|c| c.display_name.as_deref()),
                DISPLAY_NAME_FIRST_CHARACTERS,
                true,
            ),
        ),
    ];
    let expected = tenant_ids(t);
    for (collection, alone) in alone {
        let strategy = strategy_of(&m, collection);
        let packed: usize = strategy
            .strip_prefix("partitioned(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{collection}: {strategy}"))
            .parse()
            .unwrap();
        assert!(packed < alone, "{collection}: {packed} of {alone}");
        // No packed partition holds more than the target unless one prefix alone does.
        assert!(
            packed * 60 >= expected[&collection].len() / 2,
            "{collection}"
        );
        assert_eq!(
            collected_ids(dir.path(), collection),
            expected[&collection],
            "{collection}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_that_disagree_or_are_refused_fall_back_to_one_sequential_pass() {
    // (the collection whose counts are faulty, or every one; the reason its strategy gives,
    // `{entity}` standing for its entity set; the fault)
    let cases: [(Option<Collection>, &str, Configure); 4] = [
        (None, "the partitions add up to", |o| {
            o.faults.count_offset = 1;
        }),
        (
            Some(Collection::Contacts),
            "the partitions add up to",
            |o| {
                o.faults.count_offset = 1;
                o.faults.count_faults_on = vec!["contacts".into()];
            },
        ),
        (
            Some(Collection::Groups),
            "/{entity}/$count unavailable: HTTP 400 Request_BadRequest",
            |o| {
                o.faults.refuse_count = true;
                o.faults.count_faults_on = vec!["groups".into()];
            },
        ),
        (
            None,
            "/{entity}/$count unavailable: HTTP 400 Request_BadRequest",
            |o| {
                o.faults.refuse_count = true;
            },
        ),
    ];
    for (faulty, reason, configure) in cases {
        let s = setup_users(120, configure).await;
        let dir = tempfile::tempdir().unwrap();
        let report = collect(&s.client, dir.path(), &partitioned_options())
            .await
            .unwrap();
        assert!(report.incomplete().is_empty(), "{reason}: {report:#?}");
        let m = manifest(dir.path());
        let expected = tenant_ids(&s.tenant);
        for collection in [Collection::Users, Collection::Contacts, Collection::Groups] {
            let strategy = strategy_of(&m, collection);
            if faulty.is_none_or(|f| f == collection) {
                let reason = reason.replace("{entity}", collection.file_stem());
                assert!(
                    strategy.starts_with("sequential (") && strategy.contains(&reason),
                    "{collection}: {strategy}"
                );
            } else {
                // A fault on one collection's counts leaves the others partitioned.
                assert!(
                    strategy.starts_with("partitioned("),
                    "{collection}: {strategy}"
                );
            }
            assert_eq!(
                collected_ids(dir.path(), collection),
                expected[&collection],
                "{reason}: {collection}"
            );
            assert_eq!(
                report.collections[&collection].objects,
                expected[&collection].len()
            );
            assert!(
                snapshot::load(dir.path())
                    .unwrap()
                    .state(collection)
                    .is_loaded()
            );
        }
    }
    // Below the threshold: one pass, and the manifest says why.
    let s = setup_users(20, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let options = CollectOptions {
        partition_threshold: 10_000,
        ..partitioned_options()
    };
    collect(&s.client, dir.path(), &options).await.unwrap();
    let m = manifest(dir.path());
    assert_eq!(
        strategy_of(&m, Collection::Users),
        format!(
            "sequential ({} users, partitioned above 10000)",
            s.tenant.users.len()
        )
    );
    assert_eq!(
        strategy_of(&m, Collection::Contacts),
        format!(
            "sequential ({} contacts, partitioned above 10000)",
            s.tenant.contacts.len()
        )
    );
}

/// The ids of the tenant's users, contacts and groups that carry a provisioning error.
fn ids_with_errors(t: &SimTenant) -> BTreeMap<Collection, std::collections::BTreeSet<String>> {
    let users = t
        .users
        .iter()
        .filter(|o| !o.on_premises_provisioning_errors.is_empty())
        .map(|o| o.id.clone());
    let contacts = t
        .contacts
        .iter()
        .filter(|o| !o.on_premises_provisioning_errors.is_empty())
        .map(|o| o.id.clone());
    let groups = t
        .groups
        .iter()
        .filter(|o| !o.on_premises_provisioning_errors.is_empty())
        .map(|o| o.id.clone());
    [
        (Collection::Users, users.collect()),
        (Collection::Contacts, contacts.collect()),
        (Collection::Groups, groups.collect()),
    ]
    .into_iter()
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_only_collects_the_objects_with_errors_and_audits_only_what_they_allow() {
    let cases: [(&str, Configure); 2] = [
        ("filter onPremisesProvisioningErrors/any", |_| {}),
        ("scan onPremisesSyncEnabled eq true", |o| {
            o.faults.refuse_filters = vec!["onPremisesProvisioningErrors".into()];
        }),
    ];
    for (path, configure) in cases {
        let s = setup_users(60, configure).await;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("cloud");
        let options = CollectOptions {
            errors_only: true,
            ..partitioned_options()
        };
        let report = collect(&s.client, &out, &options).await.unwrap();
        // onPremisesSyncBehavior serves the leftover rules, which an errors-only run does not
        // evaluate: skipped, with the reason.
        assert_eq!(
            report.incomplete(),
            vec![Collection::SyncBehavior],
            "{path}: {report:#?}"
        );
        let m = manifest(&out);
        let expected = ids_with_errors(&s.tenant);
        assert!(
            expected.values().any(|ids| !ids.is_empty()),
            "errors planted"
        );
        for (collection, ids) in &expected {
            assert_eq!(
                &collected_ids(&out, *collection),
                ids,
                "{path}: {collection}"
            );
            let entry = &m["collections"][collection.file_stem()];
            assert_eq!(entry["scope"], "provisioning-errors", "{collection}");
            assert!(
                strategy_of(&m, *collection).starts_with(path),
                "{}",
                strategy_of(&m, *collection)
            );
        }
        assert!(m["collections"]["organization"].get("scope").is_none());

        let onprem = dir.path().join("onprem");
        entra_audit::testing::simulate::export::write_onprem(&s.tenant, &onprem).unwrap();
        assert_errors_only_audit(&s.tenant, &out, &onprem, path);
    }
}

/// `check` on an errors-only snapshot: exactly the planted provisioning errors, tenant-level and
/// on-prem rules evaluated, every rule that needs the whole directory not evaluated with the
/// reason.
fn assert_errors_only_audit(s: &SimTenant, out: &Path, onprem: &Path, path: &str) {
    let audit = crate::common::check_on_main_stack(check_options(out, onprem)).unwrap();
    // The provisioning-error findings are those of a full collection.
    let found = multiset(
        audit
            .findings
            .iter()
            .filter(|f| f.rule == "provisioning-error")
            .map(|f| {
                (
                    f.rule.clone(),
                    f.cloud_object_id.clone(),
                    f.onprem_object_guid.clone(),
                )
            }),
    );
    let planted = multiset(
        s.ground_truth
            .iter()
            .filter(|p| p.rule == "provisioning-error")
            .map(|p| {
                (
                    p.rule.clone(),
                    p.cloud_object_id.clone(),
                    p.onprem_object_guid.clone(),
                )
            }),
    );
    assert!(!planted.is_empty());
    assert_eq!(found, planted, "{path}");
    let outcome = |rule: &str| {
        audit
            .rules
            .iter()
            .find(|r| r.rule == rule)
            .unwrap_or_else(|| panic!("{rule} ran"))
    };
    assert!(
        !matches!(
            outcome("provisioning-error").outcome,
            entra_audit::testing::audit::findings::RuleOutcome::NotEvaluated { .. }
        ),
        "{:?}",
        outcome("provisioning-error")
    );
    assert!(
        outcome("provisioning-error")
            .caveats
            .iter()
            .any(|c| c.contains(entra_audit::testing::audit::tables::ERRORS_ONLY_REASON)),
        "{:?}",
        outcome("provisioning-error").caveats
    );
    // Tenant-level and on-prem-only rules still run; every rule that needs the whole
    // directory says why it did not.
    for rule in [
        "cloud-sync-quarantine",
        "directory-sync-stale",
        "duplicate-source-anchor",
    ] {
        assert!(
            !matches!(
                outcome(rule).outcome,
                entra_audit::testing::audit::findings::RuleOutcome::NotEvaluated { .. }
            ),
            "{rule}: {:?}",
            outcome(rule)
        );
    }
    let not_evaluated: BTreeMap<&str, &str> = audit
        .inputs
        .rules_not_evaluated
        .iter()
        .map(|n| (n.rule.as_str(), n.reason.as_str()))
        .collect();
    for rule in [
        "stale-cloud-only",
        "orphaned-synced-object",
        "object-type-mismatch",
        "soft-match-takeover",
        "invalid-soft-match",
        "duplicate-attribute",
    ] {
        let reason = not_evaluated
            .get(rule)
            .unwrap_or_else(|| panic!("{rule} must not be evaluated: {not_evaluated:?}"));
        assert!(
            reason
                .contains("errors-only run: only objects with provisioning errors were collected"),
            "{rule}: {reason}"
        );
    }
    assert_only_errors_only_rules(&audit, path);
}

/// An errors-only audit reports only what its rules can see (the validation rules read the
/// on-prem export alone, so an errors-only snapshot does not limit them).
fn assert_only_errors_only_rules(
    audit: &entra_audit::testing::audit::result::AuditReport,
    path: &str,
) {
    let validation: Vec<String> = entra_audit::testing::audit::rules::embedded()
        .unwrap()
        .into_iter()
        .filter(|r| r.category == "validation")
        .map(|r| r.name)
        .collect();
    assert!(
        audit.findings.iter().all(|f| validation.contains(&f.rule)
            || matches!(
                f.rule.as_str(),
                "provisioning-error"
                    | "cloud-sync-quarantine"
                    | "cloud-sync-job-failing"
                    | "cloud-sync-job-escrows"
                    | "cloud-sync-job-not-running"
                    | "directory-sync-stale"
                    | "password-hash-sync-stale"
                    | "duplicate-source-anchor"
                    | "upn-suffix-unverified"
            )),
        "{path}"
    );
}

fn cloud_tables(
    snapshot: &entra_audit::testing::inputs::snapshot::CloudSnapshot,
) -> entra_audit::testing::audit::tables::Tables {
    let params = entra_audit::testing::audit::tables::Params {
        as_of: Utc::now(),
        directory_sync_max_age: chrono::Duration::hours(3),
        password_sync_max_age: chrono::Duration::hours(24),
        cloud_sync_max_age: chrono::Duration::hours(24),
    };
    entra_audit::testing::audit::tables::build(
        &params,
        None,
        entra_audit::testing::audit::sync_model::SyncChoices::default(),
        Some(snapshot.clone()),
    )
    .unwrap()
}

/// `role_members` as (member, active|eligible, through group), or `None` when unavailable.
fn role_holders_in(
    snapshot: &entra_audit::testing::inputs::snapshot::CloudSnapshot,
) -> Option<Vec<(String, String, Option<String>)>> {
    let tables = cloud_tables(snapshot);
    let frame = tables.frames.get("role_members")?;
    let ids = frame.column("member_id").unwrap().str().unwrap().clone();
    let kinds = frame.column("assignment").unwrap().str().unwrap().clone();
    let via = frame.column("via_group_id").unwrap().str().unwrap().clone();
    Some(
        (0..frame.height())
            .map(|i| {
                (
                    ids.get(i).unwrap().to_owned(),
                    kinds.get(i).unwrap().to_owned(),
                    via.get(i).map(str::to_owned),
                )
            })
            .collect(),
    )
}

/// Graph expands at most 20 members of a directory role; the old collection
/// (`directoryRoles?$expand=members`) silently lost every admin beyond that, while the role
/// assignments (paged), the eligibility schedules and the transitive members of a
/// role-assignable group give every holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_holders_are_read_completely_where_expand_stops_at_twenty() {
    let mut tenant = generate(&GeneratorOptions {
        collected_at: Utc::now(),
        ..GeneratorOptions::default()
    });
    let user_type = "#microsoft.graph.user".to_owned();
    let users: Vec<String> = tenant.users.iter().map(|u| u.id.clone()).collect();
    assert!(users.len() > 40, "the generated tenant is too small");
    let group_id = tenant.groups[0].id.clone();
    tenant.groups[0].members = users[30..33]
        .iter()
        .map(|id| (id.clone(), user_type.clone()))
        .collect();
    let role = &mut tenant.directory_roles[0];
    let role_name = role.display_name.clone();
    role.members = users[..25]
        .iter()
        .map(|id| (id.clone(), user_type.clone()))
        .collect();
    role.members
        .push((group_id.clone(), "#microsoft.graph.group".to_owned()));
    role.eligible = users[35..37]
        .iter()
        .map(|id| (id.clone(), user_type.clone()))
        .collect();
    let server = SimServer::start(tenant.clone(), ServerOptions::for_tests(CLIENT, SECRET))
        .await
        .unwrap();
    let token = test_client::token(&server, &tenant.tenant_id, (CLIENT, SECRET), true).await;
    let client = test_client::client(&server, token, 1_000, 100);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cloud");
    // A small page size: the assignments come back over several pages.
    let options = CollectOptions {
        top: 7,
        ..CollectOptions::default()
    };
    let report = collect(&client, &out, &options).await.unwrap();
    assert!(report.incomplete().is_empty(), "{report:#?}");

    let snapshot = snapshot::load(&out).unwrap();
    let expanded = snapshot
        .directory_roles
        .iter()
        .find(|r| r.display_name.as_deref() == Some(role_name.as_str()))
        .unwrap();
    assert_eq!(expanded.members.len(), 20, "Graph's $expand cap");

    let complete = role_holders_in(&snapshot).expect("role_members from roleAssignments");
    for id in &users[..25] {
        assert!(
            complete.contains(&(id.clone(), "active".to_owned(), None)),
            "active admin {id} missing"
        );
    }
    for id in &users[30..33] {
        assert!(
            complete.contains(&(id.clone(), "active".to_owned(), Some(group_id.clone()))),
            "group member {id} missing"
        );
    }
    for id in &users[35..37] {
        assert!(
            complete.contains(&(id.clone(), "eligible".to_owned(), None)),
            "eligible admin {id} missing"
        );
    }
    // The old way alone: 20 of the role's 26 principals, so the table is refused, not trusted.
    let mut old = snapshot::load(&out).unwrap();
    old.states.insert(
        Collection::RoleAssignments,
        CollectionState::Missing {
            reason: "not collected".to_owned(),
        },
    );
    assert!(
        role_holders_in(&old).is_none(),
        "a capped directoryRoles must not stand in"
    );
    let tables = cloud_tables(&old);
    assert!(
        tables.unavailable["role_members"].contains("at most 20"),
        "{:?}",
        tables.unavailable["role_members"]
    );
}

/// In a national cloud the beta organization lacks onPremisesLastPasswordSyncDateTime and Graph
/// answers its `$select` with 400: collect falls back to v1.0 without it, the organization stays
/// complete, and password-sync freshness is not evaluated (said, not guessed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_national_cloud_keeps_the_organization_and_leaves_password_sync_unevaluated() {
    let s = setup(true, |o| o.national_cloud = true).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cloud");
    let report = collect(&s.client, &out, &CollectOptions::default())
        .await
        .unwrap();
    assert!(report.incomplete().is_empty(), "{report:#?}");
    let snapshot = snapshot::load(&out).unwrap();
    assert!(snapshot.state(Collection::Organization).is_loaded());
    assert_eq!(snapshot.organization.len(), 1);
    assert!(
        snapshot.organization[0]
            .on_premises_last_password_sync_date_time
            .is_none()
    );
    let tables = cloud_tables(&snapshot);
    assert!(tables.frames.contains_key("organization"));
    assert!(
        tables.unavailable["password_sync"].contains("not evaluated"),
        "{:?}",
        tables.unavailable["password_sync"]
    );
    // The global cloud still reads it from beta.
    let s = setup(true, |_| {}).await;
    let out = dir.path().join("global");
    collect(&s.client, &out, &CollectOptions::default())
        .await
        .unwrap();
    let snapshot = snapshot::load(&out).unwrap();
    assert!(
        snapshot.organization[0]
            .on_premises_last_password_sync_date_time
            .is_some()
    );
}

/// onPremisesSyncBehavior is read, in batches of 20, for exactly the users and groups carrying a
/// sign of sync; the converted ones say so, and the audit then reports none of them as an orphan
/// or a leftover (the planted problems are found exactly, above). A cap leaves the rest recorded
/// as not read, never as "not converted".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_behavior_is_read_for_the_candidates_in_batches_and_capped_honestly() {
    let s = setup(false, |_| {}).await;
    let candidates: Vec<&str> = s
        .tenant
        .users
        .iter()
        .filter(|u| {
            u.on_premises_sync_enabled.is_some()
                || u.on_premises_immutable_id.is_some()
                || u.on_premises_last_sync_date_time.is_some()
        })
        .map(|u| u.id.as_str())
        .chain(
            s.tenant
                .groups
                .iter()
                .filter(|g| {
                    g.on_premises_sync_enabled.is_some()
                        || g.on_premises_last_sync_date_time.is_some()
                })
                .map(|g| g.id.as_str()),
        )
        .collect();
    assert!(
        !s.tenant.cloud_managed.is_empty(),
        "the generator plants converted objects"
    );

    let dir = tempfile::tempdir().unwrap();
    let report = collect(&s.client, dir.path(), &CollectOptions::default())
        .await
        .unwrap();
    let outcome = &report.collections[&Collection::SyncBehavior];
    assert_eq!(outcome.status, CollectionStatus::Complete, "{outcome:?}");
    assert_eq!(outcome.objects, candidates.len());
    assert_eq!(
        outcome.stats.requests,
        candidates.len().div_ceil(20) as u64,
        "one $batch per 20 objects"
    );
    let snapshot = snapshot::load(dir.path()).unwrap();
    let managed: Vec<&str> = snapshot
        .sync_behaviors
        .iter()
        .filter(|b| b.is_cloud_managed == Some(true))
        .map(|b| b.id.as_str())
        .collect();
    let planted: Vec<&str> = s.tenant.cloud_managed.iter().map(String::as_str).collect();
    let mut managed_sorted = managed.clone();
    managed_sorted.sort_unstable();
    assert_eq!(managed_sorted, planted);
    assert!(
        snapshot
            .sync_behaviors
            .iter()
            .all(|b| b.is_cloud_managed.is_some() && b.not_read.is_none())
    );

    let capped = tempfile::tempdir().unwrap();
    let report = collect(
        &s.client,
        capped.path(),
        &CollectOptions {
            sync_behavior_cap: 3,
            ..CollectOptions::default()
        },
    )
    .await
    .unwrap();
    let outcome = &report.collections[&Collection::SyncBehavior];
    assert_eq!(outcome.status, CollectionStatus::Complete);
    assert_eq!(outcome.stats.requests, 1);
    let snapshot = snapshot::load(capped.path()).unwrap();
    assert_eq!(snapshot.sync_behaviors.len(), candidates.len());
    let not_read = snapshot
        .sync_behaviors
        .iter()
        .filter(|b| b.is_cloud_managed.is_none())
        .inspect(|b| {
            assert!(
                b.not_read
                    .as_deref()
                    .is_some_and(|w| w.contains("cap of 3")),
                "{b:?}"
            );
        })
        .count();
    assert_eq!(not_read, candidates.len() - 3);
    // Under the cap the formerly synced come first (stale-cloud-only's few), then the synced.
    let formerly_synced = formerly_synced_candidates(&s.tenant, &candidates);
    assert!(formerly_synced.len() >= 3, "the generator plants leftovers");
    for read in snapshot
        .sync_behaviors
        .iter()
        .filter(|b| b.not_read.is_none())
    {
        assert!(formerly_synced.contains(read.id.as_str()), "{read:?}");
    }
}

/// Read beside the paging of users and groups (the candidates already sure to be read go while
/// pages still arrive), the behaviours read are still exactly the cap's first candidates of the
/// complete files: the formerly synced (users, then groups) before the synced, each in file
/// order, one record per candidate in that order, in as many batches as the cap needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_behavior_read_beside_the_paging_selects_what_the_complete_files_select() {
    let s = setup_users(3_000, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let cap = 250;
    let report = collect(
        &s.client,
        dir.path(),
        &CollectOptions {
            top: 200,
            sync_behavior_cap: cap,
            ..CollectOptions::default()
        },
    )
    .await
    .unwrap();
    for collection in [Collection::Users, Collection::Groups] {
        assert!(
            strategy_of(&manifest(dir.path()), collection).starts_with("partitioned("),
            "{collection}: paged in partitions, pages arriving out of order"
        );
    }
    // The candidates as the complete files list them, in the cap's order.
    let mut candidates: Vec<(bool, String)> = Vec::new();
    for collection in [Collection::Users, Collection::Groups] {
        let text =
            std::fs::read_to_string(dir.path().join(format!("{}.jsonl", collection.file_stem())))
                .unwrap();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let set = |k: &str| v[k].as_str().is_some_and(|s| !s.is_empty());
            if !v["onPremisesSyncEnabled"].is_null()
                || set("onPremisesImmutableId")
                || set("onPremisesLastSyncDateTime")
            {
                let synced = v["onPremisesSyncEnabled"] == Value::Bool(true);
                candidates.push((synced, v["id"].as_str().unwrap().to_owned()));
            }
        }
    }
    candidates.sort_by_key(|(synced, _)| *synced);
    assert!(candidates.len() > cap, "the cap binds");
    assert!(candidates[..cap].iter().any(|(synced, _)| *synced));
    let outcome = &report.collections[&Collection::SyncBehavior];
    assert_eq!(outcome.status, CollectionStatus::Complete, "{outcome:?}");
    assert_eq!(outcome.stats.requests, cap.div_ceil(20) as u64);
    assert!(
        outcome.timings.early_requests > 0,
        "batches sent while users and groups were paged: {outcome:?}"
    );
    let snapshot = snapshot::load(dir.path()).unwrap();
    let recorded: Vec<&str> = snapshot
        .sync_behaviors
        .iter()
        .map(|b| b.id.as_str())
        .collect();
    let expected: Vec<&str> = candidates.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(
        recorded, expected,
        "one record per candidate, in the cap's order"
    );
    for (i, b) in snapshot.sync_behaviors.iter().enumerate() {
        if i < cap {
            assert!(
                b.is_cloud_managed.is_some() && b.not_read.is_none(),
                "{b:?}"
            );
        } else {
            assert!(
                b.is_cloud_managed.is_none()
                    && b.not_read
                        .as_deref()
                        .is_some_and(|w| w.contains("cap of 250")),
                "{b:?}"
            );
        }
    }
}

/// The candidates (ids) that are not synced now: sync not enabled, yet an anchor or a sync time.
fn formerly_synced_candidates<'t>(tenant: &'t SimTenant, candidates: &[&str]) -> BTreeSet<&'t str> {
    let users = tenant
        .users
        .iter()
        .filter(|u| u.on_premises_sync_enabled != Some(true))
        .map(|u| u.id.as_str());
    let groups = tenant
        .groups
        .iter()
        .filter(|g| g.on_premises_sync_enabled != Some(true))
        .map(|g| g.id.as_str());
    users
        .chain(groups)
        .filter(|id| candidates.contains(id))
        .collect()
}

/// Without the (`ReadWrite`) permission, onPremisesSyncBehavior is forbidden and everything else
/// complete; the leftover rules run and say what they ran without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_sync_behavior_leaves_the_leftover_rules_running_with_a_caveat() {
    let s = setup(false, |o| {
        o.faults.forbidden = vec!["onPremisesSyncBehavior".into()];
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cloud");
    let report = collect(&s.client, &out, &CollectOptions::default())
        .await
        .unwrap();
    let outcome = &report.collections[&Collection::SyncBehavior];
    assert_eq!(outcome.status, CollectionStatus::Forbidden, "{outcome:?}");
    assert_eq!(
        status_of(&manifest(&out), Collection::SyncBehavior),
        "forbidden"
    );
    assert!(!out.join("onPremisesSyncBehavior.json").exists());
    let onprem = dir.path().join("onprem");
    entra_audit::testing::simulate::export::write_onprem(&s.tenant, &onprem).unwrap();
    let audit = crate::common::check_on_main_stack(check_options(&out, &onprem)).unwrap();
    for rule in ["orphaned-synced-object", "stale-cloud-only"] {
        let result = audit.rules.iter().find(|r| r.rule == rule).unwrap();
        assert!(
            result.caveats.iter().any(|c| c.contains("sync_behavior")
                && c.contains("User-OnPremisesSyncBehavior.ReadWrite.All")),
            "{rule}: {:?}",
            result.caveats
        );
    }
}
