//! The binary as a user runs it: commands, outputs, exit codes (0 clean, 1 findings at or above
//! --fail-on, 2 error) and error messages for bad input.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use crate::common;
use common::tiny_tenant;

fn entra_audit() -> Command {
    Command::cargo_bin("entra-audit").unwrap()
}

fn check(dir: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let (cloud, onprem) = tiny_tenant(dir);
    entra_audit()
        .arg("check")
        .arg("--cloud")
        .arg(cloud)
        .arg("--onprem")
        .arg(onprem)
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .assert()
}

#[test]
fn check_writes_outputs_and_exits_1_on_a_high_finding() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(dir.path(), &[]).code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        stdout.contains("object-type-mismatch") && stdout.contains("failed (1)"),
        "{stdout}"
    );
    // Missing collections are not evaluated, and say so; they are never "passed".
    assert!(
        stdout.contains("not evaluated: cloud-sync-quarantine: sync_jobs unavailable"),
        "{stdout}"
    );

    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/findings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["tenant_id"], "tenant-1");
    assert_eq!(json["as_of"], "2026-11-01T12:00:00Z");
    let findings = json["findings"].as_array().unwrap();
    let rules: Vec<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    // The contact that blocks Ann is also a leftover of the kind stale-cloud-only reports.
    assert_eq!(
        rules,
        [
            "object-type-mismatch",
            "stale-cloud-only",
            "upn-suffix-unverified"
        ]
    );
    let mismatch = &findings[0];
    assert_eq!(mismatch["cloud_object_id"], "c-1");
    assert_eq!(
        mismatch["onprem_object_guid"],
        "52af62f4-db3d-46d0-907b-593424a726d3"
    );
    assert!(
        mismatch["remediation"]
            .as_str()
            .unwrap()
            .contains("Remove ann@contoso.com")
    );
    let not_evaluated = json["inputs"]["rules_not_evaluated"].as_array().unwrap();
    assert!(not_evaluated.iter().any(|r| {
        r["rule"] == "cloud-sync-job-failing"
            && r["reason"]
                .as_str()
                .unwrap()
                .contains("synchronizationJobs")
    }));
    let outcome = json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "cloud-sync-quarantine")
        .unwrap();
    assert_eq!(outcome["outcome"], "not_evaluated");

    // Every finding states its predicted outcome (issue 11 §4), in findings.json, findings.csv
    // and report.html; the field is additive, so schema_version stays 1 (asserted above).
    assert_eq!(mismatch["predicted_outcome"], "ObjectTypeMismatch");
    for f in findings {
        let outcome = f["predicted_outcome"].as_str().unwrap_or("");
        assert!(
            outcome
                .parse::<entra_audit::testing::audit::findings::PredictedOutcome>()
                .is_ok(),
            "a finding without a predicted outcome of the vocabulary: {f}"
        );
    }
    let csv = std::fs::read_to_string(dir.path().join("out/findings.csv")).unwrap();
    assert!(csv.starts_with("id,rule,severity,cloud_object_id"));
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains(",remediation,predicted_outcome,"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("object-type-mismatch:") && l.contains(",ObjectTypeMismatch,")),
        "{csv}"
    );
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("Predicted: <code>ObjectTypeMismatch</code>"));
    assert_eq!(csv.lines().count(), 4);
    let per_rule =
        std::fs::read_to_string(dir.path().join("out/rules/upn-suffix-unverified.csv")).unwrap();
    assert!(
        per_rule.lines().next().unwrap().ends_with(",upn_suffix"),
        "{per_rule}"
    );
}

#[test]
fn fail_on_sets_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    check(dir.path(), &["--fail-on", "critical"]).code(0);
    let dir = tempfile::tempdir().unwrap();
    check(dir.path(), &["--fail-on", "never", "--no-files"]).code(0);
    assert!(!dir.path().join("out").exists(), "--no-files wrote files");
    let dir = tempfile::tempdir().unwrap();
    check(dir.path(), &["--fail-on", "urgent"])
        .code(2)
        .stderr(predicates::str::contains("unknown severity 'urgent'"));
}

#[test]
fn the_same_findings_get_the_same_ids_on_every_run() {
    let ids = |dir: &Path| -> Vec<String> {
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("out/findings.json")).unwrap())
                .unwrap();
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    check(a.path(), &[]).code(1);
    check(b.path(), &[]).code(1);
    assert_eq!(ids(a.path()), ids(b.path()));
}

#[test]
fn bad_input_is_an_error_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, onprem) = tiny_tenant(dir.path());
    std::fs::write(
        cloud.join("groups.json"),
        "{\"value\":[\n{\"id\": \"g\",}\n]}",
    )
    .unwrap();
    entra_audit()
        .args(["check", "--out"])
        .arg(dir.path().join("out"))
        .arg("--cloud")
        .arg(&cloud)
        .arg("--onprem")
        .arg(&onprem)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("groups.json").and(predicates::str::contains("line 2")));

    entra_audit()
        .args(["check", "--onprem", "does-not-exist.ldif"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("does-not-exist.ldif"));
}

#[test]
fn unjoined_multivalued_csv_export_is_refused_with_how_to_export() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ad.csv");
    std::fs::write(
        &csv,
        "#TYPE Selected.Microsoft.ActiveDirectory.Management.ADUser\r\n\
         \"DistinguishedName\",\"ObjectGUID\",\"ObjectClass\",\"UserPrincipalName\",\"proxyAddresses\"\r\n\
         \"CN=Ann,DC=contoso,DC=local\",\"52af62f4-db3d-46d0-907b-593424a726d3\",\"user\",\"ann@contoso.com\",\"Microsoft.ActiveDirectory.Management.ADPropertyValueCollection\"\r\n",
    )
    .unwrap();
    entra_audit()
        .args(["check", "--no-files", "--onprem"])
        .arg(&csv)
        .assert()
        .code(2)
        .stderr(
            predicates::str::contains("ad.csv")
                .and(predicates::str::contains("line 3"))
                .and(predicates::str::contains("-join")),
        );
}

#[test]
fn rules_lists_and_explains() {
    let out = entra_audit().arg("rules").assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for rule in [
        "provisioning-error",
        "invalid-soft-match",
        "object-type-mismatch",
        "duplicate-attribute",
        "soft-match-takeover",
        "duplicate-source-anchor",
        "orphaned-synced-object",
        "stale-cloud-only",
        "upn-suffix-unverified",
        "directory-sync-stale",
        "password-hash-sync-stale",
        "cloud-sync-quarantine",
        "cloud-sync-job-failing",
    ] {
        assert!(stdout.contains(rule), "`rules` does not list {rule}");
    }
    entra_audit()
        .args(["rules", "explain", "invalid-soft-match"])
        .assert()
        .success()
        .stdout(
            predicates::str::contains("## Why is this bad?")
                .and(predicates::str::contains("## Remediation"))
                .and(predicates::str::contains("tshoot-connect-sync-errors")),
        );
    entra_audit()
        .args(["rules", "explain", "no-such-rule"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("the rules are: "));
}

#[test]
fn custom_rules_run_beside_the_built_in_ones() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("my-rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("disabled-user.sql"),
        "/*\n+++\nname = \"disabled-onprem-user\"\ntitle = \"Disabled on-prem users\"\nseverity = \"low\"\ncategory = \"custom\"\nrequires = [\"onprem_objects\"]\n+++\n## What it does\nLists them.\n*/\n\
         SELECT NULL AS cloud_object_id, NULL AS cloud_object_type, object_guid AS onprem_object_guid, distinguished_name AS onprem_distinguished_name,\n\
         'enabled' AS attribute, 'false' AS value, 'disabled: ' || distinguished_name AS message, 'review' AS remediation FROM onprem_objects WHERE enabled = FALSE\n",
    )
    .unwrap();
    let out = check(
        dir.path(),
        &[
            "--rules-dir",
            rules.to_str().unwrap(),
            "--rule",
            "disabled-onprem-user",
        ],
    )
    .code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        stdout.contains("disabled-onprem-user") && stdout.contains("passed"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("object-type-mismatch"),
        "--rule did not limit the run: {stdout}"
    );
}

#[test]
fn onprem_script_and_tables_describe_the_inputs() {
    entra_audit()
        .arg("onprem-script")
        .assert()
        .success()
        .stdout(
            predicates::str::contains("proxyAddresses")
                .and(predicates::str::contains("ConvertTo-Json")),
        );
    entra_audit().arg("tables").assert().success().stdout(
        predicates::str::contains("onprem_objects").and(predicates::str::contains("source_anchor")),
    );
}

/// `check` on the fixture tenant (the simulator's) with `extra` flags, writing into `dir/out`:
/// findings.json, the terminal summary and report.html.
fn check_fixture_tenant(dir: &Path, out: &str, extra: &[&str]) -> (Value, String, String) {
    let out = dir.join(out);
    let assert = common::check_fixture_tenant()
        .arg("--out")
        .arg(&out)
        .args(extra)
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let json =
        serde_json::from_str(&std::fs::read_to_string(out.join("findings.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    (json, stdout, html)
}

/// The terminal summary and the report show the sync model with its sources and evidence, and
/// the out-of-scope objects counted by reason; `--scope-ou`/`--exclude-ou` apply as flags, and
/// no excluded object is in a finding.
#[test]
fn the_sync_model_and_scope_show_in_every_output_and_ou_flags_apply() {
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str, extra: &[&str]| check_fixture_tenant(dir.path(), out, extra).0;
    let (inferred, stdout, html) = check_fixture_tenant(dir.path(), "inferred", &[]);
    // The terminal summary and the report show the model with its sources and evidence, and
    // the out-of-scope objects counted by reason.
    let anchor_line =
        "source anchor: mS-DS-ConsistencyGuid (users), objectGUID (others) (inferred: ";
    assert!(
        stdout.contains(&format!("sync model: {anchor_line}")),
        "{stdout}"
    );
    assert!(html.contains("<h3>Sync model</h3>") && html.contains(anchor_line));
    let scope = &inferred["inputs"]["scope"];
    let excluded = scope["out_of_scope"].as_u64().unwrap();
    assert!(
        excluded > 0,
        "the simulator's tenant has built-in objects: {scope}"
    );
    assert!(
        stdout.contains(&format!(
            "never synced (out of the engine's scope, in no finding): {excluded} ("
        )),
        "{stdout}"
    );
    assert!(
        html.contains(&format!(
            "Exported objects the engine never syncs: {excluded}</h3>"
        )) && html.contains("<code>critical-system-object</code>"),
        "the report counts the out-of-scope objects by reason"
    );
    // The OU filter from flags: the Sydney OU excluded, each of its objects out of scope with
    // that reason, and none of them in a finding.
    let filtered = run(
        "filtered",
        &[
            "--scope-ou",
            "DC=corp,DC=local",
            "--exclude-ou",
            "ou=sydney,DC=corp,DC=local",
        ],
    );
    let model = &filtered["inputs"]["sync_model"];
    assert_eq!(model["exclude_ous"]["source"], "flag", "{model}");
    assert_eq!(model["scope_ous"]["source"], "flag", "{model}");
    let scope = &filtered["inputs"]["scope"];
    let excluded: Vec<&Value> = scope["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["reason"] == "excluded-ou")
        .collect();
    // At least the 18 plain `dn: CN=...,OU=Users,OU=Sydney,...` records of the export (others
    // are base64 `dn::` lines), and nothing else.
    assert!(excluded.len() >= 18, "{scope}");
    assert!(
        excluded.iter().all(|o| o["distinguished_name"]
            .as_str()
            .unwrap()
            .ends_with(",OU=Sydney,DC=corp,DC=local")),
        "{scope}"
    );
    assert_eq!(
        scope["by_reason"]["excluded-ou"].as_u64(),
        Some(excluded.len() as u64)
    );
    let sydney: Vec<&str> = excluded
        .iter()
        .map(|o| o["object_guid"].as_str().unwrap())
        .collect();
    assert!(
        filtered["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["onprem_object_guid"]
                .as_str()
                .is_none_or(|g| !sydney.contains(&g))),
        "an excluded object is in a finding"
    );
}

/// On the fixture tenant the sync model's anchor and UPN source are inferred from the tenant's
/// own data, with the evidence; a flag overrides the anchor, and a sync config file the UPN
/// source, each saying so; a typo in the file is an error naming it.
#[test]
fn the_sync_model_is_inferred_with_evidence_and_flags_and_files_override_it() {
    let tenant = common::fixture_tenant();
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str, extra: &[&str]| check_fixture_tenant(dir.path(), out, extra).0;
    let inferred = run("inferred", &[]);
    let model = &inferred["inputs"]["sync_model"];
    assert_eq!(model["source_anchor"]["value"], "mS-DS-ConsistencyGuid");
    assert_eq!(model["source_anchor"]["source"], "inferred", "{model}");
    assert!(
        model["source_anchor"]["evidence"]
            .as_str()
            .unwrap()
            .contains("linked to synced cloud users"),
        "{model}"
    );
    assert_eq!(model["upn_source"]["value"], "userPrincipalName");
    assert_eq!(model["upn_source"]["source"], "inferred", "{model}");
    // Where synced users sit is evidence for --scope-ou, never applied on its own.
    assert_eq!(model["scope_ous"]["source"], "default", "{model}");
    assert!(
        model["scope_ous"]["evidence"]
            .as_str()
            .unwrap()
            .contains("synced users sit in"),
        "{model}"
    );
    assert_eq!(model["engine"]["source"], "inferred", "{model}");
    assert!(
        model["cloud_sync_domains"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "fabrikam.local"),
        "{model}"
    );

    let config = dir.path().join("sync.toml");
    std::fs::write(&config, "upn-source = \"mail\"\n").unwrap();
    let overridden = run(
        "overridden",
        &[
            "--source-anchor",
            "OBJECTGUID",
            "--sync-config",
            config.to_str().unwrap(),
        ],
    );
    let model = &overridden["inputs"]["sync_model"];
    assert_eq!(model["source_anchor"]["value"], "objectGUID");
    assert_eq!(model["source_anchor"]["source"], "flag");
    assert!(model["source_anchor"].get("evidence").is_none(), "{model}");
    assert_eq!(model["upn_source"]["value"], "mail");
    assert_eq!(model["upn_source"]["source"], "file");

    std::fs::write(&config, "upn-sorce = \"mail\"\n").unwrap();
    common::check_fixture_tenant()
        .arg("--no-files")
        .arg("--sync-config")
        .arg(&config)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("sync.toml").and(predicate::str::contains("upn-sorce")));
    // A custom anchor attribute is predicted (the export carries no employeeID, so every user
    // is reported by source-anchor-missing); a name that is no LDAP attribute is refused.
    entra_audit()
        .args([
            "check",
            "--no-files",
            "--source-anchor",
            "employeeID",
            "--onprem",
        ])
        .arg(tenant.join("onprem/ad.ldif"))
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("source anchor: employeeID (users, string")
                .and(predicate::str::contains("source-anchor-missing")),
        );
    entra_audit()
        .args([
            "check",
            "--no-files",
            "--source-anchor",
            "employee id",
            "--onprem",
        ])
        .arg(tenant.join("onprem/ad.ldif"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not an LDAP attribute name"));
}
