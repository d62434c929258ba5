//! `entra-audit simulate` as a user runs it: it prints how to connect only once it answers, serves
//! Graph over loopback, writes the on-prem export, the ground truth and the snapshot, and `check`
//! on what it wrote finds exactly the planted problems.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

struct Simulator {
    child: Child,
    base_url: String,
    printed: Vec<String>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, extra: &[&str]) -> Simulator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_entra-audit"))
        .args([
            "simulate",
            "--users",
            "60",
            "--contacts",
            "8",
            "--groups",
            "8",
            "--seed",
            "5",
            "--latency",
            "0",
            "--throttle",
            "off",
            "--tenant-health",
            "dirsync-stale",
            "--client-id",
            "6f1b3c5d-3333-4e8f-9a0b-1c2d3e4f5a6b",
            "--client-secret",
            "simulator-only-secret",
            "--write-onprem",
        ])
        .arg(dir.join("onprem"))
        .arg("--write-snapshot")
        .arg(dir.join("cloud"))
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut printed = Vec::new();
    let mut base_url = None;
    // Bounded: the simulator prints about a dozen lines, then waits for Ctrl-C.
    for _ in 0..40 {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(url) = line.strip_prefix("listening on ") {
            base_url = Some(url.trim().to_owned());
        }
        let done = line.starts_with("Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    let base_url = base_url.unwrap_or_else(|| panic!("no 'listening on' line in {printed:#?}"));
    Simulator {
        child,
        base_url,
        printed,
    }
}

fn tenant_id(sim: &Simulator) -> String {
    sim.printed
        .iter()
        .find_map(|l| l.trim().strip_prefix("tenant id:"))
        .expect("the tenant id is printed")
        .trim()
        .to_owned()
}

#[test]
fn serves_graph_and_its_own_snapshot_audits_to_the_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let sim = start(dir.path(), &[]);
    for expected in [
        "authority host:",
        "graph endpoint:",
        "client id:",
        "client secret:",
        "ground truth:",
    ] {
        assert!(
            sim.printed.iter().any(|l| l.contains(expected)),
            "{expected} not printed: {:#?}",
            sim.printed
        );
    }
    let tenant = tenant_id(&sim);

    // It answers as soon as it has said so: a token, then every user page by page.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let users = runtime.block_on(async {
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!("{}/{tenant}/oauth2/v2.0/token", sim.base_url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "6f1b3c5d-3333-4e8f-9a0b-1c2d3e4f5a6b"),
                ("client_secret", "simulator-only-secret"),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
        let mut next = Some(format!(
            "{}/v1.0/users?$select=id,onPremisesImmutableId&$top=25",
            sim.base_url
        ));
        let mut users = 0;
        for _ in 0..100 {
            let Some(url) = next.take() else { break };
            let page: Value = http
                .get(&url)
                .header("Authorization", &bearer)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            users += page["value"].as_array().unwrap().len();
            next = page["@odata.nextLink"].as_str().map(str::to_owned);
        }
        assert!(next.is_none(), "paging did not finish");
        users
    });
    let snapshot_users = std::fs::read_to_string(dir.path().join("cloud/users.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(users, snapshot_users, "served and written users differ");

    // The snapshot it wrote audits to exactly its ground truth.
    let out = dir.path().join("report");
    let status = Command::new(env!("CARGO_BIN_EXE_entra-audit"))
        .args(["check", "--fail-on", "never", "--cloud"])
        .arg(dir.path().join("cloud"))
        .arg("--onprem")
        .arg(dir.path().join("onprem/ad.ldif"))
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let key = |v: &Value| {
        (
            v["rule"].as_str().unwrap().to_owned(),
            v["cloud_object_id"].as_str().map(str::to_owned),
            v["onprem_object_guid"].as_str().map(str::to_owned),
        )
    };
    let count = |rows: &[Value]| {
        let mut m: BTreeMap<_, usize> = BTreeMap::new();
        for r in rows {
            *m.entry(key(r)).or_default() += 1;
        }
        m
    };
    let findings: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("findings.json")).unwrap()).unwrap();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("onprem/expected.json")).unwrap(),
    )
    .unwrap();
    let found = count(findings["findings"].as_array().unwrap());
    let planted = count(expected.as_array().unwrap());
    assert!(planted.len() > 20, "too few planted problems: {planted:?}");
    assert_eq!(
        found, planted,
        "check found something else than was planted"
    );
}

#[test]
fn refuses_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_entra-audit"))
        .args(["simulate", "--listen", "0.0.0.0:0", "--write-onprem"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}

/// `--out` writes the files and exits: only the asked formats, the snapshot as JSONL by default,
/// the ground truth and planted.json, each planted problem in a case.
#[test]
fn out_writes_the_tenant_as_files_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tenant");
    let output = Command::new(env!("CARGO_BIN_EXE_entra-audit"))
        .args([
            "simulate",
            "--users",
            "30",
            "--seed",
            "3",
            "--formats",
            "ldif,json",
            "--quarantined-jobs",
            "2",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("planted problems (seed 3)"));
    let onprem: Vec<String> = std::fs::read_dir(out.join("onprem"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut onprem = onprem;
    onprem.sort();
    assert_eq!(onprem, ["ad.json", "ad.ldif"]);
    assert!(out.join("cloud/users.jsonl").is_file());
    assert!(!out.join("cloud/users.json").exists());

    let expected: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("expected.json")).unwrap()).unwrap();
    let planted: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("planted.json")).unwrap()).unwrap();
    assert!(
        planted["command"]
            .as_str()
            .unwrap()
            .contains("--seed 3 --users 30 ")
    );
    let in_cases: usize = planted["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["expected"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        in_cases,
        expected.len(),
        "every planted problem is in a case"
    );
    let quarantined = expected
        .iter()
        .filter(|p| p["rule"] == "cloud-sync-quarantine")
        .count();
    assert_eq!(quarantined, 2);
}

#[test]
fn a_bad_collected_at_is_an_error_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_entra-audit"))
        .args(["simulate", "--collected-at", "yesterday", "--out"])
        .arg(dir.path().join("t"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--collected-at yesterday"), "{stderr}");
    assert!(!dir.path().join("t").exists(), "nothing is written");
}
