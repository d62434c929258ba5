//! The hybrid fixture tenant (`fixtures/tenant/`, made by `tests/bench/generate_tenant.py`, see
//! `planted.json` for the command and why each problem is there): its findings are exactly the
//! planted problems of `expected.json`, and the on-prem export gives the same findings whether it
//! is read as LDIF, PowerShell CSV or JSON.

use std::path::{Path, PathBuf};

use crate::common;

fn tenant() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tenant")
}

#[test]
fn findings_are_exactly_the_planted_problems_in_every_format() {
    let expected = common::ground_truth(&tenant().join("expected.json"));
    assert!(
        expected.len() > 40,
        "the fixture tenant lost its planted problems"
    );
    let ids_by_format: Vec<Vec<String>> = ["ad.ldif", "ad.csv", "ad.json"]
        .iter()
        .map(|format| {
            let report = common::audit(
                &tenant().join("cloud"),
                &tenant().join("onprem").join(format),
            );
            common::assert_exactly(format, &report, &expected)
        })
        .collect();
    assert_eq!(
        ids_by_format[0], ids_by_format[1],
        "LDIF and CSV give different findings"
    );
    assert_eq!(
        ids_by_format[0], ids_by_format[2],
        "LDIF and JSON give different findings"
    );
}
