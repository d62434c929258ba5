//! Scheduled audits through the binary: a second run against the first one's findings.json
//! (`--baseline`) shows a fixed problem as resolved, suppressions mute findings until they expire
//! (judged at the audit's as-of), `--fail-on-new` exits 1 only for new findings, and the one-line
//! summary on stderr says it all.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use crate::common::fixture_tenant as tenant;

/// The planted duplicate that one fix removes: Charles Lee's primary address, which Oliver
/// Walker also holds as a secondary (`da_secondary_primary` in planted.json).
const FIXED_LINE: &str = "proxyAddresses: smtp:charles.lee40@contoso.com";
const FIXED_GUID: &str = "5ff2ce44-599b-4f92-8cb5-f824efe8c7c7";

/// A copy of the fixture's LDIF with Oliver's copy of the address removed.
fn fixed_ldif(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(tenant().join("onprem/ad.ldif")).unwrap();
    assert_eq!(text.matches(FIXED_LINE).count(), 1, "the fixture changed");
    let fixed = text
        .lines()
        .filter(|l| *l != FIXED_LINE)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let path = dir.join("ad-fixed.ldif");
    std::fs::write(&path, fixed).unwrap();
    path
}

fn check(onprem: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("entra-audit")
        .unwrap()
        .arg("check")
        .arg("--cloud")
        .arg(tenant().join("cloud"))
        .arg("--onprem")
        .arg(onprem)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
}

fn findings_json(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("findings.json")).unwrap()).unwrap()
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

fn charles_finding(json: &Value) -> Option<&Value> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "duplicate-attribute" && f["onprem_object_guid"] == FIXED_GUID)
}

#[test]
fn a_second_run_with_one_problem_fixed_shows_it_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    check(&tenant().join("onprem/ad.ldif"), &first, &[]).code(1);
    let before = findings_json(&first);
    let fixed_id = charles_finding(&before).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let total = before["findings"].as_array().unwrap().len();

    let second = dir.path().join("second");
    let baseline = first.join("findings.json");
    let run = check(
        &fixed_ldif(dir.path()),
        &second,
        &["--baseline", baseline.to_str().unwrap()],
    )
    .code(1);
    let after = findings_json(&second);
    assert_eq!(after["schema_version"], 1);
    assert!(charles_finding(&after).is_none());
    let findings = after["findings"].as_array().unwrap();
    assert_eq!(findings.len(), total - 1);
    assert!(
        findings.iter().all(|f| f["status"] == "unchanged"),
        "{findings:?}"
    );
    let resolved = after["resolved"].as_array().unwrap();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["id"], fixed_id.as_str());
    assert_eq!(after["baseline"]["new"], 0);
    assert_eq!(after["baseline"]["resolved"], 1);

    let out = stdout(&run);
    assert!(
        out.contains(&format!("0 new, {} unchanged, 1 resolved", total - 1)),
        "{out}"
    );
    assert!(out.contains(&format!("resolved: {fixed_id}")), "{out}");
    let line = stderr(&run);
    assert!(
        line.contains(&format!(
            "entra-audit: tenant a63dcc94-feb0-4cee-b63b-c2ab00cf8918, {} findings (0 new, 1 resolved), worst critical, exit 1",
            total - 1
        )),
        "{line}"
    );

    // The other way round, the problem is new: --fail-on-new fails on it, and only on it.
    let third = dir.path().join("third");
    let fixed_baseline = second.join("findings.json");
    let run = check(
        &tenant().join("onprem/ad.ldif"),
        &third,
        &[
            "--baseline",
            fixed_baseline.to_str().unwrap(),
            "--fail-on-new",
        ],
    )
    .code(1);
    let json = findings_json(&third);
    assert_eq!(charles_finding(&json).unwrap()["status"], "new");
    assert!(stderr(&run).contains("(1 new, 0 resolved), worst critical, exit 1"));
    // The new finding is high: a critical threshold lets it pass, though critical ones exist.
    check(
        &tenant().join("onprem/ad.ldif"),
        &third,
        &[
            "--baseline",
            fixed_baseline.to_str().unwrap(),
            "--fail-on-new",
            "--fail-on",
            "critical",
        ],
    )
    .code(0);
    // Nothing new at all: exit 0 although high findings remain.
    let fourth = dir.path().join("fourth");
    let run = check(
        &tenant().join("onprem/ad.ldif"),
        &fourth,
        &["--baseline", baseline.to_str().unwrap(), "--fail-on-new"],
    )
    .code(0);
    assert!(stderr(&run).contains("(0 new, 0 resolved), worst critical, exit 0"));
}

#[test]
fn rules_not_evaluated_now_resolve_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    check(&tenant().join("onprem/ad.ldif"), &first, &[]).code(1);
    let second = dir.path().join("second");
    let baseline = first.join("findings.json");
    let run = check(
        &fixed_ldif(dir.path()),
        &second,
        &[
            "--baseline",
            baseline.to_str().unwrap(),
            "--rule",
            "upn-suffix-unverified",
        ],
    )
    .code(0);
    let json = findings_json(&second);
    assert_eq!(json["resolved"].as_array().unwrap().len(), 0);
    assert_eq!(json["not_rechecked"]["duplicate-attribute"], 9);
    assert!(
        stdout(&run).contains("not re-checked: 69 baseline finding(s)"),
        "{}",
        stdout(&run)
    );
}

#[test]
fn a_suppressed_finding_is_muted_until_its_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let suppressions = dir.path().join("suppressions.toml");
    std::fs::write(
        &suppressions,
        format!(
            "# accepted: the UPN suffixes are being verified (ticket 123)\n\
             [[suppress]]\n\
             rule = \"upn-suffix-unverified\"\n\
             object = \"*\"\n\
             reason = \"domains being verified\"\n\
             expires = 2026-11-10\n\
             \n\
             [[suppress]]\n\
             rule = \"duplicate-attribute\"\n\
             object = \"{FIXED_GUID}\"\n\
             reason = \"mailbox migration in progress\"\n\
             expires = \"2027-01-01\"\n\
             \n\
             [[suppress]]\n\
             rule = \"stale-cloud-only\"\n\
             object = \"no-such-object\"\n\
             reason = \"typo\"\n\
             expires = 2027-01-01\n"
        ),
    )
    .unwrap();
    let run = |as_of: &str, out: &Path, fail_on: &str| {
        check(
            &tenant().join("onprem/ad.ldif"),
            out,
            &[
                "--suppressions",
                suppressions.to_str().unwrap(),
                "--as-of",
                as_of,
                "--rule",
                "upn-suffix-unverified",
                "--rule",
                "duplicate-attribute",
                "--rule",
                "stale-cloud-only",
                "--fail-on",
                fail_on,
            ],
        )
    };
    // Before expiry: the 4 UPN findings (medium) and Charles's duplicate (high) are muted.
    let before = dir.path().join("before");
    let muted_run = run("2026-11-09T23:00:00Z", &before, "high").code(1);
    let json = findings_json(&before);
    let findings = json["findings"].as_array().unwrap();
    let muted: Vec<&Value> = findings.iter().filter(|f| f["muted"] == true).collect();
    assert_eq!(muted.len(), 5, "{muted:?}");
    assert!(findings.iter().all(|f| f["muted"].is_boolean()));
    let upn = muted
        .iter()
        .find(|f| f["rule"] == "upn-suffix-unverified")
        .unwrap();
    assert_eq!(upn["suppression"]["reason"], "domains being verified");
    assert_eq!(upn["suppression"]["expires"], "2026-11-10");
    assert!(
        upn["suppression"]["source"]
            .as_str()
            .unwrap()
            .ends_with("suppressions.toml:2")
    );
    // Muted findings get no cleanup row.
    assert!(!before.join("cleanup/fix-upn-suffix.csv").exists());
    let out = stdout(&muted_run);
    assert!(out.contains("findings: 21 "), "{out}");
    assert!(out.contains("muted: 5 finding(s)"), "{out}");
    assert!(
        out.contains(
            "suppressions.toml:14 (rule stale-cloud-only, object no-such-object) matches no finding"
        ),
        "{out}"
    );
    assert!(stderr(&muted_run).contains("21 findings (5 muted), worst high, exit 1"));

    // On the expiry date the UPN findings count again, and the run says why.
    let after = dir.path().join("after");
    let expired_run = run("2026-11-10", &after, "high").code(1);
    let json = findings_json(&after);
    let muted = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["muted"] == true)
        .count();
    assert_eq!(muted, 1);
    let out = stdout(&expired_run);
    assert!(
        out.contains(
            "suppressions.toml:2 (rule upn-suffix-unverified, object *) expired on 2026-11-10"
        ),
        "{out}"
    );
    assert!(after.join("cleanup/fix-upn-suffix.csv").exists());
    assert!(stderr(&expired_run).contains("25 findings (1 muted)"));
}

#[test]
fn suppressions_decide_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let suppressions = dir.path().join("mute.toml");
    std::fs::write(
        &suppressions,
        "[[suppress]]\nrule = \"upn-suffix-unverified\"\nobject = \"*\"\nreason = \"r\"\nexpires = 2026-11-10\n",
    )
    .unwrap();
    let run = |as_of: &str| {
        check(
            &tenant().join("onprem/ad.ldif"),
            &dir.path().join("out"),
            &[
                "--suppressions",
                suppressions.to_str().unwrap(),
                "--rule",
                "upn-suffix-unverified",
                "--fail-on",
                "medium",
                "--as-of",
                as_of,
            ],
        )
    };
    run("2026-11-09").code(0);
    run("2026-11-10").code(1);
}

#[test]
fn bad_inputs_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let suppressions = dir.path().join("mute.toml");
    std::fs::write(
        &suppressions,
        "[[suppress]]\nrule = \"upn-suffix-unverified\"\nobject = \"*\"\nreason = \"r\"\n\n[[suppress]]\nrule = \"x\"\n",
    )
    .unwrap();
    let run = check(
        &tenant().join("onprem/ad.ldif"),
        &dir.path().join("out"),
        &["--suppressions", suppressions.to_str().unwrap()],
    )
    .code(2);
    let err = stderr(&run);
    assert!(
        err.contains("mute.toml:1: suppression without `expires`"),
        "{err}"
    );
    // Nothing was audited or written.
    assert!(!dir.path().join("out").exists());

    let baseline = dir.path().join("old.json");
    std::fs::write(&baseline, "{\"schema_version\": 1,\n \"findings\": [}").unwrap();
    let err = stderr(
        &check(
            &tenant().join("onprem/ad.ldif"),
            &dir.path().join("out"),
            &["--baseline", baseline.to_str().unwrap()],
        )
        .code(2),
    );
    assert!(
        err.contains("old.json:2: the baseline is not valid JSON"),
        "{err}"
    );

    std::fs::write(
        &baseline,
        "{\"schema_version\": 1, \"tenant_id\": \"other-tenant\", \"findings\": []}",
    )
    .unwrap();
    let err = stderr(
        &check(
            &tenant().join("onprem/ad.ldif"),
            &dir.path().join("out"),
            &["--baseline", baseline.to_str().unwrap()],
        )
        .code(2),
    );
    assert!(err.contains("is an audit of tenant other-tenant"), "{err}");

    // --fail-on-new compares with a baseline: without one it is a usage error.
    let err = stderr(
        &check(
            &tenant().join("onprem/ad.ldif"),
            &dir.path().join("out"),
            &["--fail-on-new"],
        )
        .code(2),
    );
    assert!(err.contains("--baseline"), "{err}");
}
