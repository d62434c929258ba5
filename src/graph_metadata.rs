//! The properties Microsoft's published Graph metadata declares per type and version, read from
//! `fixtures/graph-metadata/extract.json` (an extract of microsoftgraph/msgraph-metadata, see
//! its `source`). Tests hold the simulator's entity properties and the product's `$select` lists
//! to it; the simulator uses it to accept a `$select` of a real property it does not model (as
//! Graph does) while still refusing an unknown one. It must not decide anything about tenants.

use std::collections::BTreeSet;

use serde_json::Value;

/// The extract, parsed once. It is compiled in and checked by the tests, so a parse failure is
/// a build defect: it then reads as an empty extract (every `$select` not modelled is refused).
fn extract() -> &'static Value {
    static EXTRACT: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    EXTRACT.get_or_init(|| {
        serde_json::from_str(include_str!("../fixtures/graph-metadata/extract.json"))
            .unwrap_or(Value::Null)
    })
}

/// Every property (structural and navigation) of `type_name` in `version` (`v1.0` or `beta`),
/// including those inherited through `baseType` (`directoryObject`, `entity`).
pub(crate) fn declared(type_name: &str, version: &str) -> BTreeSet<String> {
    let types = &extract()["types"];
    let mut out = BTreeSet::new();
    let mut next = Some(type_name.to_owned());
    while let Some(name) = next.take() {
        let t = &types[name.as_str()];
        for part in ["properties", "navigation"] {
            if let Some(map) = t[version][part].as_object() {
                out.extend(map.keys().cloned());
            }
        }
        next = t["baseType"].as_str().map(str::to_owned);
    }
    // The conventions of the extract: entity declares id, directoryObject deletedDateTime.
    out.insert("id".to_owned());
    out
}

/// The names of a `$select` list that `type_name` does not declare in `version`.
#[cfg(test)]
pub(crate) fn undeclared(type_name: &str, version: &str, select: &str) -> Vec<String> {
    let declared = declared(type_name, version);
    select
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && !declared.contains(*p))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_extract_parses_and_inherits_base_types() {
        let user = super::declared("user", "v1.0");
        assert!(user.contains("userPrincipalName") && user.contains("deletedDateTime"));
        let org = super::declared("organization", "beta");
        assert!(org.contains("onPremisesLastPasswordSyncDateTime"));
        assert!(
            !super::declared("organization", "v1.0").contains("onPremisesLastPasswordSyncDateTime")
        );
    }
}
