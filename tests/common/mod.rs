//! What the integration tests share: auditing a tenant on disk with the default thresholds, and
//! checking a report against a ground truth (`expected.json`).
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use entra_audit::audit::{CheckOptions, check};
use entra_audit::findings::RuleOutcome;
use entra_audit::report::AuditReport;

/// (rule, cloud object id, on-prem object guid): what a finding is about.
pub type Key = (String, Option<String>, Option<String>);

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
    let options = options(cloud, vec![onprem.to_owned()]);
    let label = onprem.display().to_string();
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || check(&options).unwrap_or_else(|e| panic!("{label}: {e:#}")))
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
