//! The hybrid fixture tenant (`fixtures/tenant/`, made by `tests/bench/generate_tenant.py`, see
//! `planted.json` for the command and why each problem is there): its findings are exactly the
//! planted problems of `expected.json`, and the on-prem export gives the same findings whether it
//! is read as LDIF, PowerShell CSV or JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use entra_audit::audit::{CheckOptions, check};
use entra_audit::report::AuditReport;

type Key = (String, Option<String>, Option<String>);

fn tenant() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tenant")
}

fn audit(onprem: &str) -> AuditReport {
    check(&CheckOptions {
        cloud: Some(tenant().join("cloud")),
        onprem: vec![tenant().join("onprem").join(onprem)],
        rules_dir: None,
        as_of: None,
        directory_sync_max_age: chrono::Duration::hours(3),
        password_sync_max_age: chrono::Duration::hours(24),
        cloud_sync_max_age: chrono::Duration::hours(24),
        only: None,
    })
    .unwrap_or_else(|e| panic!("{onprem}: {e:#}"))
}

/// (rule, cloud id, on-prem guid) with how often each occurs: an object with two provisioning
/// errors is two findings with the same pair.
fn multiset(keys: impl IntoIterator<Item = Key>) -> BTreeMap<Key, usize> {
    let mut counts = BTreeMap::new();
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn expected() -> BTreeMap<Key, usize> {
    let text = std::fs::read_to_string(tenant().join("expected.json")).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    multiset(rows.iter().map(|r| {
        (
            text(&r["rule"]).unwrap(),
            text(&r["cloud_object_id"]),
            text(&r["onprem_object_guid"]),
        )
    }))
}

#[test]
fn findings_are_exactly_the_planted_problems_in_every_format() {
    let expected = expected();
    assert!(
        expected.len() > 40,
        "the fixture tenant lost its planted problems"
    );
    let mut ids_by_format = Vec::new();
    for format in ["ad.ldif", "ad.csv", "ad.json"] {
        let report = audit(format);
        assert_eq!(
            report.inputs.rejected_count, 0,
            "{format}: {:?}",
            report.inputs.rejected_records
        );
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
            "{format}: planted but not found (or count differs): {missing:#?}\nfound but not planted: {extra:#?}"
        );
        // Every rule ran: a rule that was not evaluated would pass this comparison vacuously.
        for rule in &report.rules {
            assert!(
                matches!(
                    rule.outcome,
                    entra_audit::findings::RuleOutcome::Passed
                        | entra_audit::findings::RuleOutcome::Failed { .. }
                ),
                "{format}: {} was {:?}",
                rule.rule,
                rule.outcome
            );
        }
        ids_by_format.push(
            report
                .findings
                .iter()
                .map(|f| f.id.clone())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        ids_by_format[0], ids_by_format[1],
        "LDIF and CSV give different findings"
    );
    assert_eq!(
        ids_by_format[0], ids_by_format[2],
        "LDIF and JSON give different findings"
    );
}
