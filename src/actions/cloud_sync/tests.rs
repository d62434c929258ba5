//! Cloud Sync actions against the simulated tenant in-process (127.0.0.1:0, no latency): the
//! exact request of each action and scope, the status change after start and restart, the
//! action log, a 403's message, a 429 on POST waited out and a 503 on POST not retried, and how
//! `--job` is resolved.

use std::time::{Duration, Instant};

use serde_json::json;

use super::actions::{self, Consent, JobAction, ResetScope, Target, Waited};
use super::log::{self, ActionLog};
use super::{ResolveError, resolve};
use crate::graph::cloud_sync_discovery::{self as discovery, Principal};
use crate::graph::test_support as test_client;
use crate::graph::{CallStats, GraphClient, GraphClientOptions};
use crate::inputs::snapshot::SyncJob;
use crate::simulate::faults::{FaultKind, FaultOptions, FaultRule};
use crate::simulate::generator::{GeneratorOptions, generate};
use crate::simulate::{ServerOptions, SimServer, ThrottleOptions};

const CLIENT: &str = "5d1e6a47-3333-4b5c-8d9e-0f1a2b3c4d5e";
const SECRET: &str = "sim-secret~cloudsync";
const TENANT_LABEL: &str = "contoso.example";

struct Setup {
    server: SimServer,
    client: GraphClient,
    dir: tempfile::TempDir,
}

impl Setup {
    async fn new(configure: impl FnOnce(&mut ServerOptions)) -> Setup {
        let tenant = generate(&GeneratorOptions {
            collected_at: chrono::Utc::now(),
            ..GeneratorOptions::default()
        });
        let tenant_id = tenant.tenant_id.clone();
        let mut options = ServerOptions::for_tests(CLIENT, SECRET);
        configure(&mut options);
        let server = SimServer::start(tenant, options).await.unwrap();
        let token = test_client::token(&server, &tenant_id, (CLIENT, SECRET), false).await;
        let client = test_client::client(&server, token, 1_000, 100);
        Setup {
            server,
            client,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    async fn jobs(&self) -> Vec<SyncJob> {
        discovery::jobs(&self.client, &mut CallStats::default())
            .await
            .unwrap()
    }

    /// The job `wanted` names, as a target.
    async fn target(&self, wanted: &str) -> Target {
        let jobs = self.jobs().await;
        let job = resolve(&jobs, wanted, None).unwrap().clone();
        target_of(job)
    }

    fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("actions.jsonl")
    }

    fn log(&self) -> ActionLog {
        ActionLog::open(&self.log_path()).unwrap()
    }

    async fn send(
        &self,
        target: &Target,
        action: &JobAction,
    ) -> Result<actions::Sent, actions::ActionError> {
        actions::send(
            &self.client,
            &mut self.log(),
            TENANT_LABEL,
            target,
            action,
            false,
        )
        .await
    }
}

fn target_of(job: SyncJob) -> Target {
    Target {
        principal: Principal {
            id: job.service_principal_id.clone().unwrap(),
            display_name: job.service_principal_display_name.clone(),
        },
        job,
    }
}

fn restart(scope: &str) -> JobAction {
    JobAction::Restart(scope.parse::<ResetScope>().unwrap())
}

const QUARANTINED: &str = "tailspintoys.local";
const PAUSED: &str = "litwareinc.local";
const FAILING: &str = "wingtiptoys.local";

#[tokio::test]
async fn jobs_are_found_and_named_by_id_or_domain() {
    let s = Setup::new(|_| {}).await;
    let jobs = s.jobs().await;
    // fabrikam (provisioning and password hash), litware (paused), northwind traders
    // (escrowed objects), tailspin (quarantined), wingtip (failing).
    assert_eq!(jobs.len(), 6, "{jobs:#?}");
    assert!(jobs.iter().all(|j| j.service_principal_id.is_some()));

    let q = resolve(&jobs, QUARANTINED, None).unwrap();
    assert_eq!(actions::status_code(q), "Quarantine");
    // The id, in any case, names the same job.
    let by_id = resolve(&jobs, &q.id.to_ascii_uppercase(), None).unwrap();
    assert_eq!(by_id.id, q.id);
    // So does the service principal's display name (the configuration's name).
    let sp = q.service_principal_id.clone().unwrap();
    assert_eq!(resolve(&jobs, QUARANTINED, Some(&sp)).unwrap().id, q.id);

    // Two jobs share fabrikam.local: an error that lists both.
    let err = resolve(&jobs, "fabrikam.local", None).unwrap_err();
    let ResolveError::Ambiguous { candidates, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(candidates.len(), 2);
    let text = err.to_string();
    assert!(
        text.contains("AD2AADProvisioning.") && text.contains("AD2AADPasswordHash."),
        "{text}"
    );
    assert!(text.contains("Pass the job id as --job"), "{text}");

    let err = resolve(&jobs, "northwind.local", None).unwrap_err();
    assert!(matches!(err, ResolveError::NotFound { ref available, .. } if available.len() == 6));
    assert!(err.to_string().contains(QUARANTINED), "{err}");
    // A service principal that has no such job narrows the search to nothing.
    let err = resolve(&jobs, QUARANTINED, Some("not-a-principal")).unwrap_err();
    assert!(
        err.to_string()
            .contains("of service principal 'not-a-principal'"),
        "{err}"
    );
}

#[tokio::test]
async fn each_action_and_scope_sends_exactly_the_documented_request() {
    let s = Setup::new(|_| {}).await;
    let target = s.target(FAILING).await;
    let base = format!(
        "/v1.0/servicePrincipals/{}/synchronization/jobs/{}",
        target.principal.id, target.job.id
    );
    let cases: Vec<(JobAction, &str, &str)> = vec![
        (
            restart("Watermark,Escrows,QuarantineState"),
            "restart",
            r#"{"criteria":{"resetScope":"Watermark, Escrows, QuarantineState"}}"#,
        ),
        (
            restart("Watermark"),
            "restart",
            r#"{"criteria":{"resetScope":"Watermark"}}"#,
        ),
        (
            restart("Escrows"),
            "restart",
            r#"{"criteria":{"resetScope":"Escrows"}}"#,
        ),
        (
            restart("QuarantineState"),
            "restart",
            r#"{"criteria":{"resetScope":"QuarantineState"}}"#,
        ),
        (
            restart("Full"),
            "restart",
            r#"{"criteria":{"resetScope":"Full"}}"#,
        ),
        (
            restart("ForceDeletes"),
            "restart",
            r#"{"criteria":{"resetScope":"ForceDeletes"}}"#,
        ),
        (
            restart("ConnectorDataStore"),
            "restart",
            r#"{"criteria":{"resetScope":"ConnectorDataStore"}}"#,
        ),
        (JobAction::Pause, "pause", ""),
        (JobAction::Start, "start", ""),
    ];
    for (action, verb, body) in &cases {
        s.server.handle().reset_stats();
        // What a dry run prints is what is sent.
        let planned = action.request(&s.client, &target.principal.id, &target.job.id);
        assert_eq!(planned.url, format!("{}{base}/{verb}", s.server.base_url()));
        assert_eq!(planned.body_text().unwrap_or_default(), *body);
        let sent = s.send(&target, action).await.unwrap();
        assert_eq!(sent.status, 204);
        let writes = s.server.handle().writes();
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert_eq!(writes[0].method, "POST");
        assert_eq!(writes[0].path, format!("{base}/{verb}"));
        assert_eq!(writes[0].body, *body, "{verb}");
        assert_eq!(writes[0].status, 204);
    }
    // The dangerous ones were only sendable because this test skipped the consent check that
    // the command applies first:
    assert!(actions::check_scope(&"Full".parse().unwrap(), Consent::default()).is_err());
    assert!(actions::check_scope(&"ForceDeletes".parse().unwrap(), Consent::default()).is_err());
}

#[tokio::test]
async fn a_planned_action_sends_nothing() {
    let s = Setup::new(|_| {}).await;
    let target = s.target(QUARANTINED).await;
    s.server.handle().reset_stats();
    // Planning (what the dry run prints) builds the request and reads nothing, sends nothing.
    let request =
        restart(actions::DEFAULT_SCOPE).request(&s.client, &target.principal.id, &target.job.id);
    assert!(request.to_string().starts_with("POST http://"), "{request}");
    assert!(s.server.handle().writes().is_empty());
    assert_eq!(s.server.handle().stats().graph_requests, 0);
    assert!(!s.log_path().exists());
}

#[tokio::test]
async fn start_clears_a_quarantine_and_the_log_records_what_was_sent() {
    let s = Setup::new(|_| {}).await;
    let target = s.target(QUARANTINED).await;
    assert_eq!(
        actions::quarantine_reason(&target.job),
        Some("EncounteredQuarantineException")
    );
    let sent = s.send(&target, &JobAction::Start).await.unwrap();
    let waited = actions::wait_for(
        &s.client,
        &target,
        &JobAction::Start,
        Duration::from_secs(5),
        Duration::from_millis(20),
    )
    .await
    .unwrap();
    let Waited::Reached { job, .. } = waited else {
        panic!("{waited:?}")
    };
    assert_eq!(actions::status_code(&job), "Active");
    assert!(job.status.as_ref().unwrap().quarantine.is_none());

    let entries = log::read(&s.log_path()).unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(e.tenant, TENANT_LABEL);
    assert_eq!(
        (e.job.as_str(), e.service_principal_id.as_str()),
        (target.job.id.as_str(), target.principal.id.as_str())
    );
    assert_eq!((e.action.as_str(), e.method.as_str()), ("start", "POST"));
    assert_eq!(
        e.url,
        format!(
            "{}/v1.0/servicePrincipals/{}/synchronization/jobs/{}/start",
            s.server.base_url(),
            target.principal.id,
            target.job.id
        )
    );
    assert_eq!(e.body, None);
    assert_eq!(e.status, Some(204));
    assert_eq!(e.client_request_id, sent.client_request_id);
    // Graph's own request-id of the successful call is logged (what support asks for).
    assert!(
        e.request_id.as_deref().is_some_and(|id| id.len() == 36),
        "{:?}",
        e.request_id
    );
    assert_eq!((e.attempts, e.error.as_deref()), (1, None));
    assert!(
        chrono::DateTime::parse_from_rfc3339(&e.time).is_ok(),
        "{}",
        e.time
    );
}

#[tokio::test]
async fn restart_changes_the_status_and_is_logged_with_its_body() {
    let s = Setup::new(|_| {}).await;
    let target = s.target(QUARANTINED).await;
    let action = restart(actions::DEFAULT_SCOPE);
    s.send(&target, &action).await.unwrap();
    let waited = actions::wait_for(
        &s.client,
        &target,
        &action,
        Duration::from_secs(5),
        Duration::from_millis(20),
    )
    .await
    .unwrap();
    assert!(
        matches!(&waited, Waited::Reached { job, .. } if actions::status_code(job) == "Active"),
        "{waited:?}"
    );
    let entries = log::read(&s.log_path()).unwrap();
    assert_eq!(
        entries[0].body,
        Some(json!({"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}}))
    );

    // Pause and start a paused job: the status follows each action.
    let paused = s.target(PAUSED).await;
    s.send(&paused, &JobAction::Start).await.unwrap();
    let waited = actions::wait_for(
        &s.client,
        &paused,
        &JobAction::Start,
        Duration::from_secs(5),
        Duration::from_millis(20),
    )
    .await
    .unwrap();
    assert!(
        matches!(&waited, Waited::Reached { job, .. } if actions::status_code(job) == "Active")
    );
    s.send(&paused, &JobAction::Pause).await.unwrap();
    let waited = actions::wait_for(
        &s.client,
        &paused,
        &JobAction::Pause,
        Duration::from_secs(5),
        Duration::from_millis(20),
    )
    .await
    .unwrap();
    assert!(
        matches!(&waited, Waited::Reached { job, .. } if actions::status_code(job) == "Paused")
    );
    assert_eq!(log::read(&s.log_path()).unwrap().len(), 3);
}

#[tokio::test]
async fn a_scope_that_does_not_lift_the_quarantine_times_out() {
    let s = Setup::new(|_| {}).await;
    let target = s.target(QUARANTINED).await;
    let action = restart("Watermark");
    s.send(&target, &action).await.unwrap();
    let started = Instant::now();
    let waited = actions::wait_for(
        &s.client,
        &target,
        &action,
        Duration::from_millis(200),
        Duration::from_millis(40),
    )
    .await
    .unwrap();
    let Waited::TimedOut { job, after } = waited else {
        panic!("{waited:?}")
    };
    assert_eq!(actions::status_code(&job), "Quarantine");
    assert!(
        after >= Duration::from_millis(200) && started.elapsed() < Duration::from_secs(3),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_403_names_the_missing_permission_and_is_logged() {
    let s = Setup::new(|o| {
        o.faults = FaultOptions {
            forbidden: vec!["servicePrincipals".to_owned()],
            ..FaultOptions::default()
        };
    })
    .await;
    // Reading is refused too, so the target comes from the tenant itself.
    let job = s.server.handle().read_tenant(|t| {
        let j = t
            .sync_jobs
            .iter()
            .find(|j| j.status.code == "Quarantine")
            .unwrap();
        serde_json::from_value::<SyncJob>(json!({
            "id": j.id, "servicePrincipalId": j.service_principal_id,
            "status": {"code": "Quarantine"}
        }))
        .unwrap()
    });
    let target = target_of(job);
    let err = s.send(&target, &JobAction::Start).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("was refused"), "{text}");
    assert!(text.contains("Authorization_RequestDenied"), "{text}");
    assert!(
        text.contains("application permission Synchronization.ReadWrite.All"),
        "{text}"
    );
    assert!(text.contains("Hybrid Identity Administrator"), "{text}");
    assert!(text.contains("request-id"), "{text}");
    let entries = log::read(&s.log_path()).unwrap();
    assert_eq!(entries[0].status, Some(403));
    assert!(entries[0].request_id.is_some());
    assert!(
        entries[0]
            .error
            .as_deref()
            .unwrap()
            .contains("Authorization_RequestDenied")
    );
    // The read path says what reading needs.
    let read = discovery::jobs(&s.client, &mut CallStats::default())
        .await
        .unwrap_err();
    assert!(read.is_forbidden(), "{read}");
    assert!(actions::forbidden_hint(false, false).contains("Synchronization.Read.All"));
    assert!(
        actions::forbidden_hint(true, true)
            .starts_with("A signed-in user needs at least the Hybrid Identity Administrator")
    );
}

#[tokio::test]
async fn a_429_on_post_is_waited_out_as_told_and_sent_again() {
    let s = Setup::new(|o| {
        // One write per 400 ms: the second POST in a row is throttled with a Retry-After.
        o.throttle = ThrottleOptions {
            enabled: true,
            resource_units: Some(1_000_000),
            write_limit: 1,
            write_window: Duration::from_millis(400),
            ..ThrottleOptions::default()
        };
    })
    .await;
    let paused = s.target(PAUSED).await;
    let quarantined = s.target(QUARANTINED).await;
    s.send(&quarantined, &JobAction::Pause).await.unwrap();
    let sent = s.send(&paused, &JobAction::Start).await.unwrap();
    assert_eq!(sent.attempts, 2);
    let writes = s.server.handle().writes();
    let statuses: Vec<u16> = writes.iter().map(|w| w.status).collect();
    assert_eq!(statuses, [204, 429, 204]);
    assert_eq!(writes[1].path, writes[2].path);
    let stats = s.server.handle().stats();
    assert_eq!(stats.early_retries, 0, "retried before Retry-After");
    let entries = log::read(&s.log_path()).unwrap();
    assert_eq!((entries[1].status, entries[1].attempts), (Some(204), 2));
}

#[tokio::test]
async fn a_503_on_post_is_not_retried() {
    let s = Setup::new(|_| {}).await;
    let target = s.target(QUARANTINED).await;
    let path = format!(
        "/v1.0/servicePrincipals/{}/synchronization/jobs/{}/start",
        target.principal.id, target.job.id
    );
    // A second server on the same tenant, whose start answers 503 (with Retry-After).
    let tenant = s.server.handle().read_tenant(Clone::clone);
    let faulty = SimServer::start(
        tenant.clone(),
        ServerOptions {
            faults: FaultOptions {
                rules: vec![FaultRule::new(FaultKind::ServiceUnavailable, 1.0).on_path(&path)],
                retry_after_503: Duration::from_millis(50),
                ..FaultOptions::default()
            },
            ..ServerOptions::for_tests(CLIENT, SECRET)
        },
    )
    .await
    .unwrap();
    let token = test_client::token(&faulty, &tenant.tenant_id, (CLIENT, SECRET), false).await;
    let client = test_client::client_with(&faulty, token, &GraphClientOptions::default());
    let mut log = ActionLog::open(&s.log_path()).unwrap();
    let err = actions::send(
        &client,
        &mut log,
        TENANT_LABEL,
        &target,
        &JobAction::Start,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.source.status(), Some(503));
    assert!(
        err.to_string()
            .contains("is not retried after a server error"),
        "{err}"
    );
    let writes = faulty.handle().writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].status, 503);
    let entries = log::read(&s.log_path()).unwrap();
    assert_eq!((entries[0].status, entries[0].attempts), (Some(503), 1));
}
