//! The live commands as a user runs them: the `entra-audit` binary signs in to the simulated
//! tenant (served in this test process on loopback) with a client secret from the environment,
//! and `collect`, `check` (live), `doctor` and `demo` are judged by their exit codes, their
//! output and the files they write. The client secret must never appear in any of them.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use chrono::Utc;
use entra_audit::testing::simulate::generator::{GeneratorOptions, generate};
use entra_audit::testing::simulate::model::SimTenant;
use entra_audit::testing::simulate::{
    FaultKind, FaultOptions, FaultRule, ServerOptions, SimServer,
};
use serde_json::Value;

const CLIENT: &str = "11111111-2222-4333-8444-555555555555";
/// The simulator's made-up secret, long and distinctive so that any leak is found.
const SECRET: &str = "sim-secret-Zq8vK3pLw9XcT2mN7bRj4hYd6fGs1aEu";

struct Sim {
    server: SimServer,
    tenant: SimTenant,
}

async fn start(configure: impl FnOnce(&mut ServerOptions)) -> Sim {
    let tenant = generate(&GeneratorOptions {
        collected_at: Utc::now(),
        ..GeneratorOptions::default()
    });
    let mut options = ServerOptions::for_tests(CLIENT, SECRET);
    configure(&mut options);
    let server = SimServer::start(tenant.clone(), options).await.unwrap();
    Sim { server, tenant }
}

/// The binary, pointed at the simulator, with the secret in the environment only.
fn cli(sim: &Sim) -> Command {
    let base = sim.server.base_url();
    let mut cmd = Command::cargo_bin("entra-audit").unwrap();
    cmd.env("AZURE_TENANT_ID", &sim.tenant.tenant_id)
        .env("AZURE_CLIENT_ID", CLIENT)
        .env("AZURE_CLIENT_SECRET", SECRET)
        .env("AZURE_AUTHORITY_HOST", base)
        .env("ENTRA_AUDIT_LOG", "trace")
        .env_remove("AZURE_CLIENT_CERTIFICATE_PATH")
        // No environment variable names the Graph endpoint: it is a flag of the subcommand,
        // which `run` appends.
        .env("TEST_GRAPH_ENDPOINT", base);
    cmd
}

/// Runs a command off the async runtime (the simulator keeps serving meanwhile).
async fn run(mut cmd: Command, mut args: Vec<String>) -> Output {
    let endpoint = cmd
        .get_envs()
        .find(|(k, _)| *k == "TEST_GRAPH_ENDPOINT")
        .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()));
    if let Some(endpoint) = endpoint {
        args.extend(["--graph-endpoint".to_owned(), endpoint]);
    }
    tokio::task::spawn_blocking(move || {
        cmd.args(&args)
            .timeout(Duration::from_mins(2))
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Everything a command printed.
fn text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The end of what a command printed (trace logs are long), for assertion messages.
fn tail(output: &Output) -> String {
    let all = text(output);
    let start = all.len().saturating_sub(4_000);
    let start = (start..all.len())
        .find(|i| all.is_char_boundary(*i))
        .unwrap_or(0);
    format!("status {:?}\n...{}", output.status.code(), &all[start..])
}

/// Fails when the secret is in the output or in any file below `dir`.
fn assert_no_secret(output: &Output, dir: &Path) {
    assert!(
        !text(output).contains(SECRET),
        "secret in output:\n{}",
        text(output)
    );
    for file in walk(dir) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "secret in {}",
            file.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The findings of a findings.json as (rule, cloud id, on-prem guid) with counts.
fn findings(path: &Path) -> BTreeMap<common::Key, usize> {
    let report = read_json(path);
    let s = |v: &Value| v.as_str().map(str::to_owned);
    common::multiset(report["findings"].as_array().unwrap().iter().map(|f| {
        (
            s(&f["rule"]).unwrap(),
            s(&f["cloud_object_id"]),
            s(&f["onprem_object_guid"]),
        )
    }))
}

/// `check --onprem ONPREM --out OUT --fail-on never`, then `extra`: a live check.
fn check_args(onprem: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut all = args(&["check", "--onprem"]);
    all.push(onprem.to_str().unwrap().to_owned());
    all.push("--out".to_owned());
    all.push(out.to_str().unwrap().to_owned());
    all.extend(args(&["--fail-on", "never"]));
    all.extend(args(extra));
    all
}

fn write_onprem(sim: &Sim, dir: &Path) -> PathBuf {
    entra_audit::testing::simulate::export::write_onprem(&sim.tenant, dir).unwrap();
    entra_audit::testing::simulate::export::write_ground_truth(
        &sim.tenant,
        &dir.join("expected.json"),
    )
    .unwrap();
    dir.join("ad.ldif")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_check_finds_what_check_finds_on_the_snapshot_collect_wrote() {
    let sim = start(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let onprem = write_onprem(&sim, &dir.path().join("onprem"));
    let live_out = dir.path().join("live");
    let output = run(
        cli(&sim),
        check_args(&onprem, &live_out, &["--log-format", "json"]),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", tail(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(&format!(
            "next: open {} in a browser",
            live_out.join("report.html").display()
        )),
        "{}",
        tail(&output)
    );
    // JSON logs on stderr: every log line is one JSON object.
    let stderr = String::from_utf8_lossy(&output.stderr);
    let log_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with('{')).collect();
    assert!(!log_lines.is_empty(), "{}", tail(&output));
    for line in log_lines {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert_no_secret(&output, dir.path());

    // The live run kept its snapshot; a separate collect + offline check gives the same.
    let snapshot = dir.path().join("snapshot");
    let output = run(
        cli(&sim),
        args(&["collect", "--out", snapshot.to_str().unwrap()]),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", tail(&output));
    assert!(text(&output).contains("users"), "{}", tail(&output));
    // What a 403 means, not its URL; and what to do with the snapshot.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("readable only with a delegated Global Administrator sign-in (--device-code); the rules that use it run without it"),
        "{stdout}"
    );
    assert!(!stdout.contains("HTTP 403"), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("next: entra-audit check --cloud "),
        "{stdout}"
    );
    let manifest = read_json(&snapshot.join("manifest.json"));
    for (name, c) in manifest["collections"].as_object().unwrap() {
        let expected = if name == "onPremisesSynchronization" {
            // app-only token: delegated-only resource
            // (https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get)
            "forbidden"
        } else {
            "complete"
        };
        assert_eq!(c["status"], expected, "{name}: {c}");
    }
    assert_eq!(
        manifest["collections"]["users"]["objects"],
        sim.tenant.users.len()
    );
    let offline_out = dir.path().join("offline");
    let output = Command::cargo_bin("entra-audit")
        .unwrap()
        .args(["check", "--cloud"])
        .arg(&snapshot)
        .arg("--onprem")
        .arg(&onprem)
        .arg("--out")
        .arg(&offline_out)
        .args(["--fail-on", "never"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", tail(&output));
    let live = findings(&live_out.join("findings.json"));
    assert!(!live.is_empty());
    assert_eq!(live, findings(&offline_out.join("findings.json")));
    assert_eq!(
        live,
        common::ground_truth(&dir.path().join("onprem/expected.json"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_that_keeps_failing_stops_check_unless_partial_is_allowed() {
    let sim = start(|o| {
        o.faults = FaultOptions {
            rules: vec![FaultRule::new(FaultKind::MalformedJson, 1.0).on_path("/v1.0/groups")],
            ..FaultOptions::default()
        };
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let onprem = write_onprem(&sim, &dir.path().join("onprem"));
    let out = dir.path().join("out");
    let base = check_args(&onprem, &out, &[]);
    let output = run(cli(&sim), base.clone()).await;
    assert_eq!(output.status.code(), Some(2), "{}", tail(&output));
    let all = text(&output);
    assert!(
        all.contains("groups") && all.contains("--allow-partial"),
        "{all}"
    );
    assert!(!out.join("findings.json").exists());
    let manifest = read_json(&out.join("cloud/manifest.json"));
    assert_eq!(manifest["collections"]["groups"]["status"], "failed");
    assert_no_secret(&output, dir.path());

    let mut partial = base;
    partial.push("--allow-partial".into());
    let output = run(cli(&sim), partial).await;
    assert_eq!(output.status.code(), Some(0), "{}", tail(&output));
    let report = read_json(&out.join("findings.json"));
    let not_evaluated = report.to_string();
    assert!(not_evaluated.contains("not_evaluated") || not_evaluated.contains("not evaluated"));
    assert!(not_evaluated.contains("groups"), "{not_evaluated}");
    assert_no_secret(&output, dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_token_expiry_end_complete_and_the_secret_never_shows() {
    let sim = start(|o| {
        o.faults = "seed=3,503=0.05,reset=0.03,truncate=0.03,malformed=0.03,expire-token-after=15,retry-after=0.05"
            .parse()
            .unwrap();
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snapshot");
    let output = run(
        cli(&sim),
        args(&["collect", "--out", out.to_str().unwrap()]),
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", tail(&output));
    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(
        manifest["collections"]["users"]["objects"],
        sim.tenant.users.len()
    );
    assert!(
        manifest["collections"]
            .as_object()
            .unwrap()
            .values()
            .any(|c| c["retries"].as_u64() > Some(0)),
        "faults were injected: {manifest}"
    );
    assert!(
        sim.server.handle().stats().unauthorized > 0,
        "the token expired mid-run"
    );
    assert_no_secret(&output, dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_a_sign_in_error_that_does_not_echo_it() {
    let sim = start(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let wrong = "wrong-secret-Hq2Lp8Vn5Xc";
    let mut cmd = cli(&sim);
    cmd.env("AZURE_CLIENT_SECRET", wrong);
    let output = run(
        cmd,
        args(&["collect", "--out", dir.path().to_str().unwrap()]),
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", tail(&output));
    let all = text(&output);
    assert!(all.contains("AADSTS7000215"), "{all}");
    assert!(
        all.contains(&sim.tenant.tenant_id),
        "names the tenant: {all}"
    );
    assert!(!all.contains(wrong), "{all}");
    // A secret file works the same way, and its content never shows either.
    let secret_file = dir.path().join("secret.txt");
    std::fs::write(&secret_file, format!("{wrong}\n")).unwrap();
    let mut cmd = cli(&sim);
    cmd.env_remove("AZURE_CLIENT_SECRET");
    let output = run(
        cmd,
        args(&[
            "doctor",
            "--client-secret-file",
            secret_file.to_str().unwrap(),
        ]),
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "{}", tail(&output));
    assert!(!text(&output).contains(wrong));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_the_forbidden_collection_the_rules_it_disables_and_the_permission() {
    let sim = start(|o| o.faults = "forbid=servicePrincipals".parse().unwrap()).await;
    let output = run(cli(&sim), args(&["doctor"])).await;
    assert_eq!(output.status.code(), Some(1), "{}", tail(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.contains("token: application; roles: "), "{out}");
    assert!(out.contains("User.Read.All"), "{out}");
    let jobs = out
        .lines()
        .find(|l| l.trim_start().starts_with("synchronizationJobs"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        jobs.contains("FORBIDDEN") && jobs.contains("Synchronization.Read.All"),
        "{jobs}"
    );
    let users = out
        .lines()
        .find(|l| l.trim_start().starts_with("users "))
        .unwrap();
    assert!(users.contains(" ok "), "{users}");
    assert!(out.contains("cloud-sync-quarantine"), "{out}");
    assert!(out.contains("onPremisesSynchronization"), "{out}");
    assert!(!text(&output).contains(SECRET));

    let healthy = start(|_| {}).await;
    let output = run(cli(&healthy), args(&["doctor"])).await;
    // App-only tokens cannot read /directory/onPremisesSynchronization, by design: no
    // permission would change that, so it is said, and doctor passes.
    assert_eq!(output.status.code(), Some(0), "{}", tail(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(!out.contains("cloud-sync-quarantine"), "{out}");
    assert!(
        out.contains("onPremisesSynchronization is readable only with a delegated Global Administrator sign-in"),
        "{out}"
    );
}

#[test]
fn the_demo_runs_offline_and_finds_what_was_planted() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let output = Command::cargo_bin("entra-audit")
        .unwrap()
        .args(["demo", "--users", "300", "--latency", "0", "--out"])
        .arg(&out)
        .env_remove("AZURE_CLIENT_SECRET")
        .timeout(Duration::from_mins(2))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", tail(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("at least as many as planted for every rule"),
        "{stdout}"
    );
    let expected = common::ground_truth(&out.join("onprem/expected.json"));
    assert_eq!(findings(&out.join("report/findings.json")), expected);
    assert!(out.join("cloud/manifest.json").exists());

    // A quiet first screen: the 403 every application sign-in gets for onPremisesSynchronization
    // is no warning with a URL, but one plain line of the summary, naming the rules.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("WARN"), "{stderr}");
    assert!(!stderr.contains("collection incomplete"), "{stderr}");
    for noise in [
        "HTTP 403",
        "http://127.0.0.1",
        "request-id",
        "Authorization_RequestDenied",
    ] {
        assert!(
            !stdout.contains(noise) && !stderr.contains(noise),
            "{noise} shown:\n{stdout}"
        );
    }
    let plain = "onPremisesSynchronization, the tenant's soft/hard-match switches, is readable only with a delegated Global Administrator sign-in";
    assert_eq!(
        stdout
            .matches("readable only with a delegated Global Administrator")
            .count(),
        1,
        "{stdout}"
    );
    let line = stdout
        .lines()
        .find(|l| l.contains(plain))
        .unwrap_or_else(|| panic!("no summary line saying it plainly:\n{stdout}"));
    assert!(
        line.starts_with("* ") && line.contains("invalid-soft-match"),
        "{line}"
    );
    // The first lines say what happened: collected, planted against found.
    let head: Vec<&str> = stdout.lines().take(3).collect();
    assert!(
        head[0].starts_with("signed in and collected the simulated tenant"),
        "{head:?}"
    );
    assert!(head[1].starts_with("The simulated tenant has"), "{head:?}");
    // The manifest keeps the details the terminal leaves out.
    let manifest = std::fs::read_to_string(out.join("cloud/manifest.json")).unwrap();
    assert!(manifest.contains("403"), "{manifest}");
}

/// The refusal is no warning, but a scheduler reading JSON logs at info still gets it whole.
#[test]
fn json_logs_record_the_delegated_only_refusal_at_info() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("entra-audit")
        .unwrap()
        .args([
            "--log-format",
            "json",
            "demo",
            "--users",
            "300",
            "--latency",
            "0",
            "--out",
        ])
        .arg(dir.path().join("demo"))
        .env("ENTRA_AUDIT_LOG", "info")
        .env_remove("AZURE_CLIENT_SECRET")
        .timeout(Duration::from_mins(2))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", tail(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let event: serde_json::Value = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["collection"] == "onPremisesSynchronization")
        .unwrap_or_else(|| panic!("no JSON event for the collection:\n{stderr}"));
    assert_eq!(event["level"], "INFO", "{event}");
    assert_eq!(event["status"], "forbidden", "{event}");
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("readable only with a delegated Global Administrator sign-in"),
        "{event}"
    );
    assert!(event["error"].as_str().unwrap().contains("403"), "{event}");
    assert!(!stderr.contains("\"WARN\""), "{stderr}");
}

#[test]
fn live_flags_are_checked_before_anything_is_sent() {
    let output = Command::cargo_bin("entra-audit")
        .unwrap()
        .args([
            "collect",
            "--graph-endpoint",
            "http://graph.example.com",
            "--tenant",
            "t",
            "--client-id",
            "c",
        ])
        .env("AZURE_CLIENT_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", tail(&output));
    assert!(
        text(&output).contains("plain http is accepted only for loopback"),
        "{}",
        text(&output)
    );
    let output = Command::cargo_bin("entra-audit")
        .unwrap()
        .args(["collect", "--tenant", "t"])
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("--client-id"), "{}", tail(&output));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_tenants_run_in_one_go_each_with_its_own_folder_and_an_index() {
    let contoso = start(|_| {}).await;
    let fabrikam = start(|o| o.faults = "forbid=servicePrincipals".parse().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let contoso_ldif = write_onprem(&contoso, &dir.path().join("contoso-onprem"));
    write_onprem(&fabrikam, &dir.path().join("fabrikam-onprem"));
    let entry = |name: &str, sim: &Sim, secret_env: &str, onprem: &str| {
        format!(
            "[[tenant]]\nname = \"{name}\"\ntenant = \"{}\"\nclient_secret_env = \"{secret_env}\"\n\
             authority_host = \"{base}\"\ngraph_endpoint = \"{base}\"\nonprem = [\"{onprem}\"]\n\n",
            sim.tenant.tenant_id,
            base = sim.server.base_url()
        )
    };
    let config = format!(
        "[defaults]\nclient_id = \"{CLIENT}\"\nrequests_per_second = 200\n\n{}{}{}",
        entry(
            "contoso",
            &contoso,
            "CONTOSO_SECRET",
            "contoso-onprem/ad.ldif"
        ),
        entry(
            "fabrikam",
            &fabrikam,
            "FABRIKAM_SECRET",
            "fabrikam-onprem/ad.ldif"
        ),
        entry(
            "wrong-secret",
            &contoso,
            "WRONG_SECRET",
            "contoso-onprem/ad.ldif"
        ),
    );
    let config_path = dir.path().join("tenants.toml");
    std::fs::write(&config_path, config).unwrap();
    let out = dir.path().join("out");
    let mut cmd = Command::cargo_bin("entra-audit").unwrap();
    cmd.env("CONTOSO_SECRET", SECRET)
        .env("FABRIKAM_SECRET", SECRET)
        .env("WRONG_SECRET", "not-the-secret-Pw7")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_TENANT_ID");
    let output = run(
        cmd,
        args(&[
            "check",
            "--config",
            config_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--fail-on",
            "never",
        ]),
    )
    .await;
    // One tenant could not sign in: the run says so with exit 2, the others are complete.
    assert_eq!(output.status.code(), Some(2), "{}", tail(&output));
    assert_no_secret(&output, dir.path());
    let index = read_json(&out.join("index.json"));
    let by_name = |name: &str| {
        index
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {index}"))
            .clone()
    };
    assert_eq!(by_name("contoso")["exit_code"], 0);
    assert_eq!(by_name("fabrikam")["exit_code"], 0);
    assert_eq!(
        by_name("fabrikam")["incomplete_collections"][0],
        "synchronizationJobs (forbidden)"
    );
    let wrong = by_name("wrong-secret");
    assert_eq!(wrong["exit_code"], 2);
    assert!(
        wrong["summary"].as_str().unwrap().contains("AADSTS7000215"),
        "{wrong}"
    );
    assert_eq!(
        findings(&out.join("contoso/findings.json")),
        common::ground_truth(&contoso_ldif.with_file_name("expected.json"))
    );
    assert!(out.join("fabrikam/report.html").exists());
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("href=\"contoso/report.html\""), "{html}");
    // Error texts may quote an endpoint URL; nothing is loaded or linked from outside.
    assert!(!html.contains("src=") && !html.contains("href=\"http") && !html.contains("url("));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_errors_only_check_reports_the_provisioning_errors_and_says_what_it_skipped() {
    let sim = start(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let onprem = write_onprem(&sim, &dir.path().join("onprem"));
    let out = dir.path().join("out");
    let output = run(cli(&sim), check_args(&onprem, &out, &["--errors-only"])).await;
    assert_eq!(output.status.code(), Some(0), "{}", tail(&output));
    let manifest = read_json(&out.join("cloud/manifest.json"));
    let with_errors = sim
        .tenant
        .users
        .iter()
        .filter(|u| !u.on_premises_provisioning_errors.is_empty())
        .count();
    assert!(with_errors > 0);
    assert_eq!(manifest["collections"]["users"]["objects"], with_errors);
    assert_eq!(
        manifest["collections"]["users"]["scope"],
        "provisioning-errors"
    );
    let report = read_json(&out.join("findings.json"));
    let planted = common::ground_truth(&dir.path().join("onprem/expected.json"))
        .into_iter()
        .filter(|((rule, _, _), _)| rule == "provisioning-error")
        .collect::<BTreeMap<_, _>>();
    let found = findings(&out.join("findings.json"))
        .into_iter()
        .filter(|((rule, _, _), _)| rule == "provisioning-error")
        .collect::<BTreeMap<_, _>>();
    assert_eq!(found, planted);
    assert!(
        report.to_string().contains("errors-only run"),
        "the skipped rules say why"
    );
    assert_no_secret(&output, dir.path());
}
