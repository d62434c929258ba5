//! What the integration tests share: auditing a tenant on disk with the default thresholds, and
//! checking a report against a ground truth (`expected.json`).
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use entra_audit::testing::audit::findings::RuleOutcome;
use entra_audit::testing::audit::result::AuditReport;
use entra_audit::testing::audit::{CheckOptions, check};

/// (rule, cloud object id, on-prem object guid): what a finding is about.
pub type Key = (String, Option<String>, Option<String>);

/// The hybrid fixture tenant (`fixtures/tenant/`: `cloud/`, `onprem/ad.ldif`, `expected.json`).
pub fn fixture_tenant() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tenant")
}

/// The binary's `check` of the fixture tenant's snapshot against its LDIF export; the caller adds
/// the output and other flags.
pub fn check_fixture_tenant() -> assert_cmd::Command {
    let tenant = fixture_tenant();
    let mut command = assert_cmd::Command::cargo_bin("entra-audit").unwrap();
    command
        .arg("check")
        .arg("--cloud")
        .arg(tenant.join("cloud"))
        .arg("--onprem")
        .arg(tenant.join("onprem/ad.ldif"));
    command
}

/// `check` options for a snapshot and on-prem exports, with the CLI's default thresholds; the
/// as-of is the snapshot's collection time.
pub fn options(cloud: &Path, onprem: Vec<PathBuf>) -> CheckOptions {
    CheckOptions {
        cloud: Some(cloud.to_owned()),
        onprem,
        ..CheckOptions::default()
    }
}

/// Audits `cloud` against one on-prem export, on a thread with the binary's main-thread stack
/// (8 MiB): an audit of a generated tenant overflowed a test thread's 2 MiB stack (it passes with
/// more; where the recursion is deepest was not pinned down), and the binary runs it on 8 MiB.
pub fn audit(cloud: &Path, onprem: &Path) -> AuditReport {
    let label = onprem.display().to_string();
    check_on_main_stack(options(cloud, vec![onprem.to_owned()]))
        .unwrap_or_else(|e| panic!("{label}: {e:#}"))
}

/// `check`, on a thread with the binary's main-thread stack (8 MiB), for the reason above: the
/// rule fixtures' audits came within a few KiB of a test thread's 2 MiB too (polars' planning of
/// a UNION of joins in a debug build), and tipped over when unrelated code grew.
pub fn check_on_main_stack(options: CheckOptions) -> anyhow::Result<AuditReport> {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || check(&options))
        .expect("a thread for the audit")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Keys with how often each occurs: an object with two provisioning errors is two findings with
/// the same pair.
pub fn multiset(keys: impl IntoIterator<Item = Key>) -> BTreeMap<Key, usize> {
    let mut counts = BTreeMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// A ground-truth file (`[{"rule", "cloud_object_id", "onprem_object_guid", ...}]`).
pub fn ground_truth(path: &Path) -> BTreeMap<Key, usize> {
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    multiset(rows.iter().map(|r| {
        (
            text(&r["rule"]).expect("every row names its rule"),
            text(&r["cloud_object_id"]),
            text(&r["onprem_object_guid"]),
        )
    }))
}

/// Asserts the report read every record, evaluated every rule (a rule not evaluated would pass
/// the comparison vacuously) and found exactly `expected`. Returns the finding ids, in order.
pub fn assert_exactly(
    label: &str,
    report: &AuditReport,
    expected: &BTreeMap<Key, usize>,
) -> Vec<String> {
    assert_eq!(
        report.inputs.rejected_count, 0,
        "{label}: {:?}",
        report.inputs.rejected_records
    );
    for rule in &report.rules {
        assert!(
            matches!(
                rule.outcome,
                RuleOutcome::Passed | RuleOutcome::Failed { .. }
            ),
            "{label}: {} was {:?}",
            rule.rule,
            rule.outcome
        );
    }
    let found = multiset(report.findings.iter().map(|f| {
        (
            f.rule.clone(),
            f.cloud_object_id.clone(),
            f.onprem_object_guid.clone(),
        )
    }));
    let missing: Vec<_> = expected
        .iter()
        .filter(|(k, n)| found.get(*k) != Some(n))
        .collect();
    let extra: Vec<_> = found
        .iter()
        .filter(|(k, n)| expected.get(*k) != Some(n))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{label}: planted but not found (or count differs): {missing:#?}\nfound but not planted: {extra:#?}"
    );
    report.findings.iter().map(|f| f.id.clone()).collect()
}

/// A tiny tenant: one on-prem user whose primary address a cloud contact holds (high, and the
/// contact is a leftover: medium), one whose UPN suffix is not verified (medium).
pub fn tiny_tenant(dir: &Path) -> (PathBuf, PathBuf) {
    let cloud = dir.join("cloud");
    std::fs::create_dir_all(&cloud).unwrap();
    let write = |name: &str, text: &str| std::fs::write(cloud.join(name), text).unwrap();
    write("users.json", r#"{"value":[]}"#);
    write(
        "contacts.json",
        r#"{"value":[{"id":"c-1","displayName":"Ann (old contact)","mail":"ann@contoso.com","proxyAddresses":["SMTP:ann@contoso.com"],"onPremisesSyncEnabled":null,"onPremisesProvisioningErrors":[]}]}"#,
    );
    write("groups.json", r#"{"value":[]}"#);
    write(
        "organization.json",
        r#"{"value":[{"id":"tenant-1","onPremisesSyncEnabled":true,"onPremisesLastSyncDateTime":"2026-11-01T11:30:00Z","verifiedDomains":[]}]}"#,
    );
    write(
        "domains.json",
        r#"{"value":[{"id":"contoso.com","isVerified":true}]}"#,
    );
    write(
        "manifest.json",
        r#"{"schema_version":1,"tenant_id":"tenant-1","collected_at":"2026-11-01T12:00:00Z","collections":{}}"#,
    );
    let onprem = dir.join("ad.json");
    std::fs::write(
        &onprem,
        r#"[
  {"ObjectGUID":"52af62f4-db3d-46d0-907b-593424a726d3","DistinguishedName":"CN=Ann,OU=Staff,DC=contoso,DC=local","ObjectClass":"user",
   "UserPrincipalName":"ann@contoso.com","proxyAddresses":["SMTP:ann@contoso.com"],"Enabled":true,"DisplayName":"Ann"},
  {"ObjectGUID":"7d3c1f0e-0d57-4a59-9c41-3a2a3f7b8e11","DistinguishedName":"CN=Bob,OU=Staff,DC=contoso,DC=local","ObjectClass":"user",
   "UserPrincipalName":"bob@contoso.local","proxyAddresses":["SMTP:bob@contoso.com"],"Enabled":true,"DisplayName":"Bob"}
]"#,
    )
    .unwrap();
    (cloud, onprem)
}
