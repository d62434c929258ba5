//! Property selection over the typed records of `model.rs`: serialises a record with only the
//! properties a request may see (`$select`, or a resource's default property set), reads one
//! property's JSON value for `$filter`, and lists a type's property names as Graph spells them.
//!
//! It works on whatever `#[derive(Serialize)]` produces, so a property added to the model is
//! served, selectable and filterable without touching this file, and `#[serde(skip)]` fields (a
//! job's parent id, a role's members) never leak. It must not know any resource or `OData` rule:
//! which names are allowed is the caller's decision.

use std::fmt::Display;

use serde::ser::{Impossible, SerializeMap, SerializeStruct, Serializer as SerdeSerializer};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A record seen through a property selection, optionally prefixed with an `@odata.type`
/// annotation (directory objects in a mixed collection, such as a role's members, carry one).
pub(crate) struct Selected<'a, T> {
    pub value: &'a T,
    /// Canonical (Graph-cased) names of the properties written; anything else is dropped.
    pub props: &'a [&'a str],
    pub odata_type: Option<&'a str>,
}

impl<'a, T> Selected<'a, T> {
    pub(super) fn new(value: &'a T, props: &'a [&'a str]) -> Self {
        Self {
            value,
            props,
            odata_type: None,
        }
    }
}

impl<T: Serialize> Serialize for Selected<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(StructFilter {
            inner: serializer,
            props: self.props,
            odata_type: self.odata_type,
        })
    }
}

/// The property names of `T` as its JSON spells them, in declaration order.
pub(crate) fn property_names<T: Serialize + Default>() -> Vec<String> {
    let mut names = Vec::new();
    // A record serialises every field (unset ones as `null` or `[]`), so the default value
    // has them all.
    let _ = T::default().serialize(NameCollector { names: &mut names });
    names
}

/// One property of a record as JSON (`Value::Null` when the record has no such property).
pub(crate) fn property_value<T: Serialize>(value: &T, canonical_name: &str) -> Value {
    let names = [canonical_name];
    match serde_json::to_value(Selected::new(value, &names)) {
        Ok(Value::Object(mut map)) => map.remove(canonical_name).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

/// Forwards a struct to the inner serializer as a map holding only the selected fields.
struct StructFilter<'a, S> {
    inner: S,
    props: &'a [&'a str],
    odata_type: Option<&'a str>,
}

struct FilteredFields<'a, M> {
    map: M,
    props: &'a [&'a str],
}

impl<M: SerializeMap> SerializeStruct for FilteredFields<'_, M> {
    type Ok = M::Ok;
    type Error = M::Error;

    fn serialize_field<V: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), Self::Error> {
        if self.props.contains(&key) {
            self.map.serialize_entry(key, value)
        } else {
            Ok(())
        }
    }

    fn end(self) -> Result<Self::Ok, Self::Error> {
        self.map.end()
    }
}

fn not_a_struct<E: serde::ser::Error>() -> E {
    E::custom("only a struct can be served through a property selection")
}

/// Every `Serializer` method other than `serialize_struct` refuses: only records (structs) are
/// selectable. The macro keeps the boilerplate out of the way.
macro_rules! refuse {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> { Err(not_a_struct()) })*
    };
}

impl<'a, S: Serializer> SerdeSerializer for StructFilter<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = FilteredFields<'a, S::SerializeMap>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<V: ?Sized + Serialize>(self, _: &V) -> Result<Self::Ok, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_newtype_struct<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &V,
    ) -> Result<Self::Ok, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_newtype_variant<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<Self::Ok, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        let mut map = self.inner.serialize_map(None)?;
        if let Some(odata_type) = self.odata_type {
            map.serialize_entry("@odata.type", odata_type)?;
        }
        Ok(FilteredFields {
            map,
            props: self.props,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(not_a_struct())
    }
}

/// Records the field names of a struct and serialises nothing.
struct NameCollector<'n> {
    names: &'n mut Vec<String>,
}

#[derive(Debug)]
struct Collected(String);

impl Display for Collected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Collected {}

impl serde::ser::Error for Collected {
    fn custom<M: Display>(msg: M) -> Self {
        Collected(msg.to_string())
    }
}

struct NameFields<'n> {
    names: &'n mut Vec<String>,
}

impl SerializeStruct for NameFields<'_> {
    type Ok = ();
    type Error = Collected;

    fn serialize_field<V: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        _: &V,
    ) -> Result<(), Self::Error> {
        self.names.push(key.to_owned());
        Ok(())
    }

    fn end(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl<'n> SerdeSerializer for NameCollector<'n> {
    type Ok = ();
    type Error = Collected;
    type SerializeSeq = Impossible<(), Collected>;
    type SerializeTuple = Impossible<(), Collected>;
    type SerializeTupleStruct = Impossible<(), Collected>;
    type SerializeTupleVariant = Impossible<(), Collected>;
    type SerializeMap = Impossible<(), Collected>;
    type SerializeStruct = NameFields<'n>;
    type SerializeStructVariant = Impossible<(), Collected>;

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<V: ?Sized + Serialize>(self, _: &V) -> Result<(), Collected> {
        Err(not_a_struct())
    }
    fn serialize_newtype_struct<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &V,
    ) -> Result<(), Collected> {
        Err(not_a_struct())
    }
    fn serialize_newtype_variant<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), Collected> {
        Err(not_a_struct())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Collected> {
        Err(not_a_struct())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Collected> {
        Err(not_a_struct())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Collected> {
        Err(not_a_struct())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Collected> {
        Err(not_a_struct())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Collected> {
        Err(not_a_struct())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Collected> {
        Ok(NameFields { names: self.names })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Collected> {
        Err(not_a_struct())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::model::{SyncJob, User};

    #[test]
    fn names_follow_serde_and_skip_hidden_fields() {
        let names = property_names::<User>();
        assert!(names.contains(&"onPremisesImmutableId".to_owned()));
        assert!(names.contains(&"userPrincipalName".to_owned()));
        for default in User::DEFAULT_PROPERTIES {
            assert!(names.iter().any(|n| n == default), "{default}");
        }
        let job = property_names::<SyncJob>();
        assert!(!job.iter().any(|n| n == "servicePrincipalId"));
        assert!(job.iter().any(|n| n == "synchronizationJobSettings"));
    }

    #[test]
    fn selection_writes_only_selected_properties() {
        let user = User {
            id: "u1".into(),
            user_principal_name: "a@b".into(),
            mail: Some("m@b".into()),
            ..User::default()
        };
        let names = ["id", "mail"];
        let mut selected = Selected::new(&user, &names);
        selected.odata_type = Some("#microsoft.graph.user");
        let json = serde_json::to_string(&selected).unwrap();
        assert_eq!(
            json,
            r##"{"@odata.type":"#microsoft.graph.user","id":"u1","mail":"m@b"}"##
        );
        assert_eq!(property_value(&user, "userPrincipalName"), "a@b");
        assert_eq!(property_value(&user, "givenName"), Value::Null);
    }
}
