//! `collect`'s pure parts: reading a `$count` body, the catalogue's `$select` lists against
//! Graph's published metadata and against what the snapshot reader reads. (The partition
//! planner's own tests are in `partition`.) Collecting from the simulated tenant end to end (and
//! auditing what was collected) is in `tests/collect.rs`.

use super::directory::parse_count;
use super::*;
use crate::inputs::snapshot::catalogue::{CATALOGUE, Reading};

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

/// The Graph entity type of a collection with a `$select`.
fn entity_type(collection: Collection) -> &'static str {
    match collection {
        Collection::Users => "user",
        Collection::Contacts => "orgContact",
        Collection::Groups => "group",
        Collection::Organization => "organization",
        Collection::Domains => "domain",
        other => panic!("{other} has no $select"),
    }
}

/// Every `$select` the product sends names properties Graph's published metadata declares for
/// that version: an unknown `$select` is a 400 on a real tenant.
#[test]
fn select_lists_are_declared_in_graphs_metadata() {
    use crate::graph_metadata::undeclared;
    let mut checks: Vec<(&str, &str, &str)> = Vec::new();
    for spec in CATALOGUE.iter().filter(|s| !s.select.is_empty()) {
        let t = entity_type(spec.collection);
        checks.push((t, spec.version.as_str(), spec.select));
        if let Some((version, select)) = spec.fallback {
            checks.push((t, version.as_str(), select));
        }
    }
    checks.push(("servicePrincipal", "v1.0", "id,displayName"));
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
    let organization = Collection::Organization.spec();
    assert_eq!(
        undeclared("organization", "v1.0", organization.select),
        ["onPremisesLastPasswordSyncDateTime"]
    );
}

/// Every property the snapshot reader reads from a collection (the fields of the record it
/// parses, as serde names them) that Graph's metadata declares for that collection's type is in
/// the collection's `$select`: Graph leaves unselected properties out, so a property read but
/// not selected would silently read as absent on every object. (A field the type does not have,
/// such as a contact's `userPrincipalName`, is absent in Graph whatever is selected.)
#[test]
fn every_property_the_snapshot_reads_is_selected() {
    use crate::graph_metadata::undeclared;
    use crate::inputs::snapshot::{DirectoryObject, Domain, Organization};
    let read: [(Collection, &[&str]); 5] = [
        (Collection::Users, field_names::<DirectoryObject>()),
        (Collection::Contacts, field_names::<DirectoryObject>()),
        (Collection::Groups, field_names::<DirectoryObject>()),
        (Collection::Organization, field_names::<Organization>()),
        (Collection::Domains, field_names::<Domain>()),
    ];
    for (collection, fields) in read {
        assert!(fields.len() > 4, "{collection}: {fields:?}");
        let spec = collection.spec();
        let t = entity_type(collection);
        let version = spec.version.as_str();
        let absent_in_graph = undeclared(t, version, &fields.join(","));
        let selected: Vec<&str> = spec.select.split(',').collect();
        let missing: Vec<&&str> = fields
            .iter()
            .filter(|f| !absent_in_graph.iter().any(|a| a == *f) && !selected.contains(f))
            .collect();
        assert!(
            missing.is_empty(),
            "{collection} reads but does not $select {missing:?}"
        );
        // The properties a usable file must carry are read and selected.
        for p in spec.required {
            assert!(
                selected.contains(p) && fields.contains(p),
                "{collection}: {p}"
            );
        }
        assert!(matches!(
            spec.reading,
            Reading::Partitioned(_) | Reading::Whole
        ));
    }
    // The catalogue is in `Collection::ALL`'s order, which `Collection::spec` relies on.
    for (spec, collection) in CATALOGUE.iter().zip(Collection::ALL) {
        assert_eq!(spec.collection, collection);
        assert!(!spec.tables.is_empty(), "{collection}");
        assert!(
            !spec.application.is_empty() || !spec.delegated.is_empty(),
            "{collection}"
        );
    }
}

/// The property names a `Deserialize` struct reads (its fields as serde names them): a
/// deserializer that only asks for the struct's field list.
fn field_names<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("field names only"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(serde::de::Error::custom("field names only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
