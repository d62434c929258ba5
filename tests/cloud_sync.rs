//! `entra-audit cloud-sync` as a user runs it: the binary signs in to the simulated tenant
//! (served in this test process on loopback) and is judged by its exit code, its output, the
//! writes the simulator recorded and the action log. stdin is never a terminal here, so without
//! `--yes` every action must be a dry run that sends nothing.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use chrono::Utc;
use entra_audit::testing::simulate::generator::{GeneratorOptions, generate};
use entra_audit::testing::simulate::{FaultOptions, ServerOptions, SimServer};
use serde_json::{Value, json};

const CLIENT: &str = "22222222-3333-4444-8555-666666666666";
const SECRET: &str = "sim-secret-cloudsync-Hw7pQ2zK9mVb4Tx";
const QUARANTINED: &str = "tailspintoys.local";

struct Sim {
    server: SimServer,
    tenant_id: String,
    dir: tempfile::TempDir,
}

async fn start(configure: impl FnOnce(&mut ServerOptions)) -> Sim {
    let tenant = generate(&GeneratorOptions {
        collected_at: Utc::now(),
        ..GeneratorOptions::default()
    });
    let tenant_id = tenant.tenant_id.clone();
    let mut options = ServerOptions::for_tests(CLIENT, SECRET);
    configure(&mut options);
    Sim {
        server: SimServer::start(tenant, options).await.unwrap(),
        tenant_id,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Sim {
    fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("actions.jsonl")
    }

    /// Runs `entra-audit cloud-sync ARGS` against the simulator (off the async runtime, which
    /// keeps serving), with the secret in the environment only and stdin not a terminal.
    async fn run(&self, args: &[&str]) -> Output {
        let base = self.server.base_url().to_owned();
        let mut cmd = Command::cargo_bin("entra-audit").unwrap();
        cmd.current_dir(self.dir.path())
            .env("AZURE_CLIENT_SECRET", SECRET)
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_AUTHORITY_HOST")
            .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
            .arg("cloud-sync")
            .args(args)
            .args(["--tenant", &self.tenant_id, "--client-id", CLIENT])
            .args(["--authority-host", &base, "--graph-endpoint", &base])
            .write_stdin("yes\n")
            .timeout(Duration::from_mins(1));
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_no_secret(o: &Output) {
    assert!(
        !out(o).contains(SECRET) && !err(o).contains(SECRET),
        "the secret leaked"
    );
}

fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_lists_every_job_and_exits_1_on_a_quarantine() {
    let sim = start(|_| {}).await;
    let o = sim.run(&["status"]).await;
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    let text = out(&o);
    for domain in [
        "fabrikam.local",
        "litwareinc.local",
        QUARANTINED,
        "wingtiptoys.local",
    ] {
        assert!(text.contains(domain), "{domain}: {text}");
    }
    assert!(
        text.contains("QUARANTINED") && text.contains("FAILING"),
        "{text}"
    );
    assert!(
        text.contains("reason EncounteredQuarantineException"),
        "{text}"
    );
    assert!(
        text.contains("`entra-audit cloud-sync start --job AD2AADProvisioning."),
        "{text}"
    );
    assert!(
        text.contains("6 job(s): 1 quarantined, 1 failing, 1 paused"),
        "{text}"
    );

    let o = sim.run(&["status", "--json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (json["jobs"].as_u64(), json["quarantined"].as_u64()),
        (Some(6), Some(1))
    );
    let jobs: Vec<&Value> = json["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["jobs"].as_array().unwrap())
        .collect();
    let q = jobs.iter().find(|j| j["health"] == "quarantined").unwrap();
    assert_eq!(q["domain"], QUARANTINED);
    assert_eq!(
        q["quarantine"]["errorCode"],
        "HybridIdentityServiceNoActiveAgents"
    );
    assert!(
        q["advice"]["command"]
            .as_str()
            .unwrap()
            .starts_with("entra-audit cloud-sync start --job ")
    );
    assert!(sim.server.handle().writes().is_empty());
    assert_no_secret(&o);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_yes_and_without_a_terminal_nothing_is_sent() {
    let sim = start(|_| {}).await;
    // stdin says "yes", but it is not a terminal: no prompt, no send.
    let o = sim.run(&["restart", "--job", QUARANTINED]).await;
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    let text = out(&o);
    assert!(
        text.contains("status: Quarantine (quarantine reason EncounteredQuarantineException)"),
        "{text}"
    );
    let post = format!("POST {}/v1.0/servicePrincipals/", sim.server.base_url());
    assert!(
        text.contains(&post) && text.contains("/restart\n"),
        "{text}"
    );
    assert!(
        text.contains(r#"{"criteria":{"resetScope":"Watermark, Escrows, QuarantineState"}}"#),
        "{text}"
    );
    assert!(
        text.contains("dry run: nothing was sent. Add --yes to send this request."),
        "{text}"
    );
    assert!(
        sim.server.handle().writes().is_empty(),
        "{:?}",
        sim.server.handle().writes()
    );
    assert!(!sim.log_path().exists() && !sim.dir.path().join("entra-audit-actions.jsonl").exists());
    assert_no_secret(&o);
}

#[tokio::test(flavor = "multi_thread")]
async fn start_with_yes_clears_the_quarantine_and_logs_the_request() {
    let sim = start(|_| {}).await;
    let log = sim.log_path();
    let o = sim
        .run(&[
            "start",
            "--job",
            QUARANTINED,
            "--yes",
            "--poll-interval",
            "50ms",
            "--action-log",
            log.to_str().unwrap(),
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(
        out(&o).contains("went from Quarantine to Active"),
        "{}",
        out(&o)
    );
    let writes = sim.server.handle().writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].path.ends_with("/start") && writes[0].body.is_empty());
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["method"], "POST");
    assert_eq!(lines[0]["status"], 204);
    assert_eq!(lines[0]["tenant"], sim.tenant_id.as_str());
    assert!(lines[0]["url"].as_str().unwrap().ends_with(&writes[0].path));
    assert!(!std::fs::read_to_string(&log).unwrap().contains(SECRET));

    // Starting it again would be starting a running job: refused, nothing sent.
    let o = sim.run(&["start", "--job", QUARANTINED, "--yes"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        out(&o).contains("start is only for a paused or quarantined job"),
        "{}",
        out(&o)
    );
    assert_eq!(sim.server.handle().writes().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_that_does_not_reach_the_state_exits_1() {
    let sim = start(|_| {}).await;
    let o = sim
        .run(&[
            "restart",
            "--job",
            QUARANTINED,
            "--scope",
            "Watermark",
            "--yes",
            "--timeout",
            "300ms",
            "--poll-interval",
            "50ms",
        ])
        .await;
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    assert!(
        err(&o).contains("does not lift the quarantine"),
        "{}",
        err(&o)
    );
    assert!(out(&o).contains("is still Quarantine"), "{}", out(&o));
    // The default action log, in the current directory.
    let lines = log_lines(&sim.dir.path().join("entra-audit-actions.jsonl"));
    assert_eq!(lines[0]["body"]["criteria"]["resetScope"], "Watermark");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_send_nothing() {
    let sim = start(|_| {}).await;
    // Two jobs share fabrikam.local.
    let o = sim
        .run(&["pause", "--job", "fabrikam.local", "--yes"])
        .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("matches 2 Cloud Sync jobs"), "{}", err(&o));
    assert!(err(&o).contains("AD2AADPasswordHash."), "{}", err(&o));
    // Full without its flag: refused before signing in.
    let o = sim
        .run(&["restart", "--job", QUARANTINED, "--scope", "Full", "--yes"])
        .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("--i-understand-full-resync"),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("ConnectorDataStore"), "{}", err(&o));
    let o = sim
        .run(&[
            "restart",
            "--job",
            QUARANTINED,
            "--scope",
            "ForceDeletes",
            "--yes",
        ])
        .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--allow-force-deletes"), "{}", err(&o));
    let o = sim
        .run(&["restart", "--job", QUARANTINED, "--scope", "ForceDeletion"])
        .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("'ForceDeletion' is not a reset scope"),
        "{}",
        err(&o)
    );
    assert!(sim.server.handle().writes().is_empty());

    // With the flag, the consequence is printed (a dry run here: no --yes).
    let o = sim
        .run(&[
            "restart",
            "--job",
            QUARANTINED,
            "--scope",
            "Full",
            "--i-understand-full-resync",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        err(&o).contains("warning: Full clears ConnectorDataStore"),
        "{}",
        err(&o)
    );
    assert!(
        out(&o).contains(r#"{"criteria":{"resetScope":"Full"}}"#),
        "{}",
        out(&o)
    );
    assert!(sim.server.handle().writes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_403_says_which_permission_is_missing() {
    let sim = start(|o| {
        o.faults = FaultOptions {
            forbidden: vec!["servicePrincipals".to_owned()],
            ..FaultOptions::default()
        };
    })
    .await;
    let o = sim.run(&["status"]).await;
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(e.contains("reading the Cloud Sync jobs was refused"), "{e}");
    assert!(e.contains("Synchronization.Read.All"), "{e}");
    assert!(e.contains("Hybrid Identity Administrator"), "{e}");
    assert!(e.contains("request-id"), "{e}");
    assert_no_secret(&o);
}

/// The audit's two Cloud Sync rules name the command that clears what they report, with the
/// job and its service principal, as the playbook does.
#[test]
fn the_rules_remediation_names_the_cloud_sync_command() {
    let dir = tempfile::tempdir().unwrap();
    let job = |id: &str, sp: &str, status: Value| {
        json!({"id": id, "templateId": "AD2AADProvisioning", "servicePrincipalId": sp,
               "servicePrincipalDisplayName": format!("{sp}.example"), "status": status})
    };
    let jobs = json!({"value": [
        job("AD2AADProvisioning.deletes", "sp-deletes", json!({"code": "Quarantine",
            "quarantine": {"reason": "TooManyDeletes", "seriesBegan": "2026-11-01T10:00:00Z"}})),
        job("AD2AADProvisioning.agent", "sp-agent", json!({"code": "Quarantine",
            "quarantine": {"reason": "EncounteredQuarantineException",
                           "error": {"code": "HybridIdentityServiceNoActiveAgents"}}})),
        job("AD2AADProvisioning.escrow", "sp-escrow", json!({"code": "Quarantine",
            "quarantine": {"reason": "EncounteredEscrowProportionThreshold"}})),
        job("AD2AADProvisioning.failing", "sp-failing", json!({"code": "Active",
            "countSuccessiveCompleteFailures": 4,
            "lastExecution": {"state": "Failed", "timeEnded": "2026-11-01T11:50:00Z",
                              "error": {"code": "TimeOut"}},
            "lastSuccessfulExecution": {"timeEnded": "2026-10-31T11:50:00Z"}})),
    ]});
    std::fs::write(
        dir.path().join("synchronizationJobs.json"),
        jobs.to_string(),
    )
    .unwrap();
    // On the binary's stack, as every audit in these tests (see common::check_on_main_stack).
    let report = crate::common::check_on_main_stack(entra_audit::testing::audit::CheckOptions {
        cloud: Some(dir.path().to_owned()),
        as_of: Some(
            chrono::DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
        ),
        only: Some(
            ["cloud-sync-quarantine", "cloud-sync-job-failing"]
                .map(str::to_owned)
                .into(),
        ),
        ..entra_audit::testing::audit::CheckOptions::default()
    })
    .unwrap();
    let remediation = |job: &str| {
        report
            .findings
            .iter()
            .find(|f| f.value.as_deref() == Some(job))
            .unwrap_or_else(|| panic!("no finding for {job}: {:#?}", report.findings))
            .remediation
            .clone()
    };
    let deletes = remediation("AD2AADProvisioning.deletes");
    assert!(
        deletes.starts_with("A run would exceed the accidental-deletion threshold: review"),
        "{deletes}"
    );
    assert!(deletes.contains("`entra-audit cloud-sync restart --job AD2AADProvisioning.deletes --service-principal sp-deletes --scope ForceDeletes --allow-force-deletes`"), "{deletes}");
    let agent = remediation("AD2AADProvisioning.agent");
    assert!(
        agent.contains("(HybridIdentityServiceNoActiveAgents)"),
        "{agent}"
    );
    assert!(agent.contains("`entra-audit cloud-sync start --job AD2AADProvisioning.agent --service-principal sp-agent`"), "{agent}");
    let escrow = remediation("AD2AADProvisioning.escrow");
    assert!(escrow.contains("`entra-audit cloud-sync restart --job AD2AADProvisioning.escrow --service-principal sp-escrow --scope Watermark,Escrows,QuarantineState`"), "{escrow}");
    let failing = remediation("AD2AADProvisioning.failing");
    assert!(
        failing.contains("`entra-audit cloud-sync status`"),
        "{failing}"
    );
    assert!(failing.contains("`entra-audit cloud-sync restart --job AD2AADProvisioning.failing --service-principal sp-failing --scope Watermark,Escrows`"), "{failing}");
    // The playbook recommends the same commands.
    let playbook = entra_audit::testing::actions::cloud_sync::playbook::command(
        entra_audit::testing::actions::cloud_sync::playbook::for_quarantine(Some("TooManyDeletes"))
            .step,
        "AD2AADProvisioning.deletes",
        "sp-deletes",
    )
    .unwrap();
    assert!(deletes.contains(&playbook), "{playbook}");
}
