//! `collect` against the simulated tenant in-process (127.0.0.1:0, no latency, small tenants):
//! the snapshot it writes reads back complete and audits to exactly the planted problems; a
//! forbidden collection is marked and leaves the others complete; throttling is waited out.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;
use crate::audit::{CheckOptions, check};
use crate::auth::{AccessToken, AuthError, TokenSource};
use crate::graph::{GraphClientOptions, RetryPolicy};
use crate::simulate::generator::{GeneratorOptions, generate};
use crate::simulate::model::SimTenant;
use crate::simulate::{ServerOptions, SimServer, ThrottleOptions};
use crate::snapshot::{self, CollectionState};

const CLIENT: &str = "9a3d526c-2222-4b5c-8d9e-0f1a2b3c4d5e";
const SECRET: &str = "sim-secret~value";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// One token fetched from the simulator up front (the tests run well within its hour).
struct FixedToken(AccessToken);

impl TokenSource for FixedToken {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + '_>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }

    fn invalidate(&self, _rejected: &AccessToken) {}
}

/// A client-credentials (app-only) token, or a device-code (delegated) one approved through the
/// simulator's handle.
async fn token(server: &SimServer, tenant_id: &str, delegated: bool) -> AccessToken {
    let http = reqwest::Client::new();
    let base = server.base_url();
    let scope = "https://graph.microsoft.com/.default";
    let form: Vec<(&str, String)> = if delegated {
        let code: Value = http
            .post(format!("{base}/{tenant_id}/oauth2/v2.0/devicecode"))
            .form(&[("client_id", CLIENT), ("scope", scope)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            server
                .handle()
                .approve_device_code(code["user_code"].as_str().unwrap()),
            "{code}"
        );
        vec![
            ("client_id", CLIENT.to_owned()),
            ("grant_type", DEVICE_CODE_GRANT.to_owned()),
            (
                "device_code",
                code["device_code"].as_str().unwrap().to_owned(),
            ),
        ]
    } else {
        vec![
            ("client_id", CLIENT.to_owned()),
            ("client_secret", SECRET.to_owned()),
            ("scope", scope.to_owned()),
            ("grant_type", "client_credentials".to_owned()),
        ]
    };
    let body: Value = http
        .post(format!("{base}/{tenant_id}/oauth2/v2.0/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    AccessToken {
        secret: body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned(),
        expires_at: Instant::now() + Duration::from_mins(50),
        delegated,
    }
}

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
    let token = token(&server, &tenant.tenant_id, delegated).await;
    let client_options = GraphClientOptions {
        requests_per_second: rps,
        burst,
        retry: RetryPolicy {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
            ..RetryPolicy::default()
        },
        timeout: Duration::from_secs(20),
        ..GraphClientOptions::default()
    };
    let client = GraphClient::new(
        server.base_url(),
        Arc::new(FixedToken(token)),
        &client_options,
    )
    .unwrap();
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
    }
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
    let report = collect(&s.client, &out, &CollectOptions::default())
        .await
        .unwrap();
    assert!(report.incomplete().is_empty(), "{report:#?}");
    assert_eq!(
        report.tenant_id.as_deref(),
        Some(s.tenant.tenant_id.as_str())
    );
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");
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
    crate::simulate::export::write_onprem(t, &onprem).unwrap();
    let audit = check(&check_options(&out, &onprem)).unwrap();
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
    assert_eq!(report.incomplete(), vec![Collection::Groups]);
    assert!(report.failed().is_empty(), "forbidden is not failed");
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
        if collection != Collection::Groups {
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
    crate::simulate::export::write_onprem(&s.tenant, &onprem).unwrap();
    let audit = check(&check_options(&out, &onprem)).unwrap();
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
    // Small pages: many requests, so the throttle bites.
    let options = CollectOptions {
        top: 5,
        ..CollectOptions::default()
    };
    let report = collect(&s.client, dir.path(), &options).await.unwrap();
    assert!(report.incomplete().is_empty(), "{report:#?}");
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
    let tenant = generate(&GeneratorOptions {
        users,
        collected_at: Utc::now(),
        ..GeneratorOptions::default()
    });
    let mut options = ServerOptions::for_tests(CLIENT, SECRET);
    configure(&mut options);
    let server = SimServer::start(tenant.clone(), options).await.unwrap();
    let token = token(&server, &tenant.tenant_id, true).await;
    let client_options = GraphClientOptions {
        requests_per_second: 1_000,
        burst: 100,
        timeout: Duration::from_secs(20),
        ..GraphClientOptions::default()
    };
    let client = GraphClient::new(
        server.base_url(),
        Arc::new(FixedToken(token)),
        &client_options,
    )
    .unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_tenant_is_paged_in_upn_partitions_and_every_user_is_collected() {
    let s = setup_users(300, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let report = collect(&s.client, dir.path(), &partitioned_options())
        .await
        .unwrap();
    assert!(report.incomplete().is_empty(), "{report:#?}");
    let parts = UPN_FIRST_CHARACTERS.chars().count();
    let m = manifest(dir.path());
    assert_eq!(
        strategy_of(&m, Collection::Users),
        format!("partitioned({parts})")
    );
    let expected: std::collections::BTreeSet<String> =
        s.tenant.users.iter().map(|u| u.id.clone()).collect();
    assert!(expected.len() > 300);
    assert_eq!(collected_ids(dir.path(), Collection::Users), expected);
    assert_eq!(
        report.collections[&Collection::Users].objects,
        expected.len()
    );
    // One /users/$count, then every partition's pages (each at least one request).
    let users = &report.collections[&Collection::Users];
    assert!(users.stats.requests > parts as u64, "{:?}", users.stats);
    assert_eq!(
        m["collections"]["users"]["requests"].as_u64(),
        Some(users.stats.requests)
    );
    // The other collections are not partitioned and say nothing about it.
    assert!(m["collections"]["contacts"].get("strategy").is_none());
    assert!(m["collections"]["users"].get("scope").is_none());
    let snapshot = snapshot::load(dir.path()).unwrap();
    assert!(snapshot.state(Collection::Users).is_loaded());
    assert_eq!(snapshot.users.len(), expected.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_that_disagree_or_are_refused_fall_back_to_one_sequential_pass() {
    let cases: [(&str, Configure); 2] = [
        ("add up to", |o| o.faults.count_offset = 1),
        (
            "/users/$count unavailable: HTTP 400 Request_BadRequest",
            |o| {
                o.faults.refuse_count = true;
            },
        ),
    ];
    for (reason, configure) in cases {
        let s = setup_users(120, configure).await;
        let dir = tempfile::tempdir().unwrap();
        let report = collect(&s.client, dir.path(), &partitioned_options())
            .await
            .unwrap();
        assert!(report.incomplete().is_empty(), "{reason}: {report:#?}");
        let strategy = strategy_of(&manifest(dir.path()), Collection::Users);
        assert!(
            strategy.starts_with("sequential (") && strategy.contains(reason),
            "{strategy}"
        );
        let expected: std::collections::BTreeSet<String> =
            s.tenant.users.iter().map(|u| u.id.clone()).collect();
        assert_eq!(
            collected_ids(dir.path(), Collection::Users),
            expected,
            "{reason}"
        );
        assert_eq!(
            report.collections[&Collection::Users].objects,
            expected.len()
        );
        assert!(
            snapshot::load(dir.path())
                .unwrap()
                .state(Collection::Users)
                .is_loaded()
        );
    }
    // Below the threshold: one pass, and the manifest says why.
    let s = setup_users(20, |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let options = CollectOptions {
        partition_threshold: 10_000,
        ..partitioned_options()
    };
    collect(&s.client, dir.path(), &options).await.unwrap();
    let strategy = strategy_of(&manifest(dir.path()), Collection::Users);
    assert_eq!(
        strategy,
        format!(
            "sequential ({} users, partitioned above 10000)",
            s.tenant.users.len()
        )
    );
}

#[test]
fn a_count_body_may_carry_a_byte_order_mark() {
    assert_eq!(parse_count(b"12345").unwrap(), 12_345);
    assert_eq!(parse_count(b"\xEF\xBB\xBF42\r\n").unwrap(), 42);
    assert!(parse_count(b"{\"error\":1}").is_err());
    assert_eq!(
        encode_query_value("startswith(userPrincipalName,'#')"),
        "startswith(userPrincipalName,'%23')"
    );
    assert_eq!(encode_query_value("a eq 'b^'"), "a%20eq%20'b%5E'");
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
        assert!(report.incomplete().is_empty(), "{path}: {report:#?}");
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
        crate::simulate::export::write_onprem(&s.tenant, &onprem).unwrap();
        assert_errors_only_audit(&s.tenant, &out, &onprem, path);
    }
}

/// `check` on an errors-only snapshot: exactly the planted provisioning errors, tenant-level and
/// on-prem rules evaluated, every rule that needs the whole directory not evaluated with the
/// reason.
fn assert_errors_only_audit(s: &SimTenant, out: &Path, onprem: &Path, path: &str) {
    let audit = check(&check_options(out, onprem)).unwrap();
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
            crate::findings::RuleOutcome::NotEvaluated { .. }
        ),
        "{:?}",
        outcome("provisioning-error")
    );
    assert!(
        outcome("provisioning-error")
            .caveats
            .iter()
            .any(|c| c.contains(crate::tables::ERRORS_ONLY_REASON)),
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
                crate::findings::RuleOutcome::NotEvaluated { .. }
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
    assert!(
        audit.findings.iter().all(|f| matches!(
            f.rule.as_str(),
            "provisioning-error"
                | "cloud-sync-quarantine"
                | "cloud-sync-job-failing"
                | "directory-sync-stale"
                | "password-hash-sync-stale"
                | "duplicate-source-anchor"
                | "upn-suffix-unverified"
        )),
        "{path}"
    );
}
