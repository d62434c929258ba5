//! `collect`'s pure parts: packing partitions, reading a `$count` body, the `$select` lists
//! against Graph's published metadata. Collecting from the simulated tenant end to end (and
//! auditing what was collected) is in `tests/collect.rs`.

use super::*;

#[test]
fn packing_keeps_partitions_disjoint_and_within_the_target() {
    let prefix = |p: &str, n: u64| (Part::Prefix(p.to_owned()), n);
    let mut parts: Vec<(Part, u64)> = "abcdefghijklmnopqrstuvwxyz"
        .chars()
        .map(|c| prefix(&c.to_string(), 3))
        .collect();
    parts.push(prefix("0", 500));
    parts.push((Part::Remainder, 2));
    let packed = pack(parts, 20);
    let total: u64 = packed.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 26 * 3 + 500 + 2);
    let mut seen = Vec::new();
    for (part, n) in &packed {
        match part {
            Part::Prefixes(p) => {
                assert!(
                    p.len() <= MAX_PREFIXES_PER_PARTITION && *n <= 20,
                    "{part}: {n}"
                );
                assert_eq!(*n, 3 * p.len() as u64);
                seen.extend(p.iter().cloned());
            }
            Part::Prefix(p) => seen.push(p.clone()),
            Part::Remainder => assert_eq!(*n, 2),
        }
    }
    seen.sort();
    let mut want: Vec<String> = "abcdefghijklmnopqrstuvwxyz0"
        .chars()
        .map(String::from)
        .collect();
    want.sort();
    assert_eq!(seen, want, "every prefix once");
    // 26 prefixes of 3 in bins of at most 20: 6 a bin, 5 bins; plus '0' and the rest alone.
    assert_eq!(packed.len(), 7);
    assert_eq!(
        Part::Prefixes(vec!["q".into(), "x".into()]).filter(CONTACT_PARTITIONS),
        "startswith(displayName,'q') or startswith(displayName,'x')"
    );
}

#[test]
fn a_count_body_may_carry_a_byte_order_mark() {
    assert_eq!(parse_count(b"12345").unwrap(), 12_345);
    assert_eq!(parse_count(b"\xEF\xBB\xBF42\r\n").unwrap(), 42);
    assert!(parse_count(b"{\"error\":1}").is_err());
    assert_eq!(
        encode_query_value("startswith(userPrincipalName,'#')"),
        "startswith(userPrincipalName,'%23')"
    );
    assert_eq!(encode_query_value("a eq 'b^'"), "a%20eq%20'b%5E'");
}

/// Every `$select` the product sends names properties Graph's published metadata declares for
/// that version: an unknown `$select` is a 400 on a real tenant.
#[test]
fn select_lists_are_declared_in_graphs_metadata() {
    use crate::graph_metadata::undeclared;
    let checks = [
        ("user", "v1.0", USER_SELECT),
        ("orgContact", "v1.0", CONTACT_SELECT),
        ("group", "v1.0", GROUP_SELECT),
        ("organization", "beta", ORGANIZATION_SELECT),
        ("organization", "v1.0", ORGANIZATION_SELECT_V1),
        ("domain", "v1.0", DOMAIN_SELECT),
        ("servicePrincipal", "v1.0", "id,displayName"),
    ];
    let failures: Vec<String> = checks
        .iter()
        .flat_map(|(t, v, select)| {
            undeclared(t, v, select)
                .into_iter()
                .map(move |p| format!("{v} {t}.{p}"))
        })
        .collect();
    assert!(failures.is_empty(), "not in Graph's metadata: {failures:?}");
    // The beta-only property is what makes the national-cloud fallback necessary.
    assert_eq!(
        undeclared("organization", "v1.0", ORGANIZATION_SELECT),
        ["onPremisesLastPasswordSyncDateTime"]
    );
}
