//! JSON reader for what PowerShell `ConvertTo-Json` writes, including the script from
//! `entra-audit onprem-script`: an array of objects, or a single object when there was one.
//! Property names are matched case-insensitively (PowerShell's are). Values come in the shapes
//! PowerShell produces: multi-valued attributes as arrays (or one string); byte arrays as arrays
//! of numbers; objectGUID as a GUID string or `{"Guid": "..."}`; a SID as a string or a
//! `SecurityIdentifier` object with a `Value` property; `Enabled` as a boolean; and Windows
//! PowerShell 5.1's wrapped arrays `{"value": [...], "Count": n}`.
//!
//! It owns JSON syntax and those shapes, and must not lose a record's position: every record
//! reports the line where its object starts, found by a cheap structural scan alongside serde.
//! Invalid JSON stops the import with serde's line and column. Properties the importer does not
//! read are skipped without being built in memory.

use std::fmt;
use std::path::Path;

use serde::de::DeserializeSeed as _;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{
    Draft, ExtraAttribute, ExtraValue, Field, ImportError, ImportOptions, ImportOutcome,
    SCRIPT_HINT, field_for, sid_to_string,
};
use crate::inputs::lines::count_newlines;

pub(super) fn read(
    text: &str,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportOutcome, ImportError> {
    let start = text.len() - text.trim_start().len();
    let first_line = count_newlines(&text.as_bytes()[..start]) + 1;
    let mut out = ImportOutcome::default();
    // Every object names the file with this one path.
    let file: std::sync::Arc<Path> = path.into();
    if text.as_bytes().get(start) == Some(&b'{') {
        {
            let mut de = serde_json::Deserializer::from_str(text);
            let element: Element = ElementSeed(options)
                .deserialize(&mut de)
                .and_then(|element| de.end().map(|()| element))
                .map_err(|err| json_error(&err, path))?;
            if let Element::Object {
                entries,
                has_value_property: true,
                ..
            } = &element
                && entries.is_empty()
            {
                return Err(ImportError::unusable(
                    path,
                    format!(
                        "line {first_line}: the file is one JSON object with a `value` property and none of ObjectGUID, \
                         DistinguishedName or ObjectClass: a Windows PowerShell 5.1-wrapped array (`{{\"value\": [...], \
                         \"Count\": n}}`) or a Graph response, not AD objects; pipe the objects into ConvertTo-Json \
                         (`$objects | ConvertTo-Json -Depth 4`) or {SCRIPT_HINT}"
                    ),
                ));
            }
            record(element, 0, first_line, &file, &mut out);
        }
    } else {
        {
            // Detection only sends `[` or `{` here; anything else is left for serde to describe.
            let mut de = serde_json::Deserializer::from_str(text);
            let elements: Vec<Element> = ElementsSeed(options)
                .deserialize(&mut de)
                .and_then(|elements| de.end().map(|()| elements))
                .map_err(|err| json_error(&err, path))?;
            let lines = element_lines(text);
            for (index, element) in elements.into_iter().enumerate() {
                let line = lines.get(index).copied().unwrap_or(first_line);
                record(element, index, line, &file, &mut out);
            }
        }
    }
    Ok(out)
}

fn record(
    element: Element,
    index: usize,
    line: usize,
    path: &std::sync::Arc<Path>,
    out: &mut ImportOutcome,
) {
    match element {
        Element::Object {
            entries, extras, ..
        } => {
            let mut draft = Draft::default();
            for (name, field, value) in entries {
                apply(&mut draft, field, name, value);
            }
            for (attribute, value) in extras {
                apply_extra(&mut draft, attribute, value);
            }
            draft.finish(path, line, out);
        }
        Element::Other(kind) => out.rejected.push(super::RejectedRecord {
            file: path.to_path_buf(),
            line,
            record: format!("element {}", index + 1),
            reason: format!(
                "element {} of the array is {kind}, not an object",
                index + 1
            ),
        }),
    }
}

/// A value of an extra attribute (the sync settings' custom anchor or UPN attribute): a string
/// (text, or base64 for a `;binary` attribute), an array of byte numbers (`ConvertTo-Json` of a
/// `byte[]`), an array of strings (a multi-valued attribute), or a number.
fn apply_extra(draft: &mut Draft, attribute: ExtraAttribute, value: Value) {
    let name = attribute.name;
    let result = match value {
        Value::Null => return,
        Value::String(text) => super::extra_from_text(attribute, &text).map(|v| vec![v]),
        Value::Number(number) => number
            .as_i64()
            .map(|n| vec![ExtraValue::Integer(n)])
            .ok_or_else(|| format!("{name} {number} is not an integer")),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_u64) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            bytes
                .ok_or_else(|| format!("{name} is an array of numbers that are not bytes"))
                .and_then(|bytes| super::extra_from_bytes(attribute, bytes))
                .map(|v| vec![v])
        }
        Value::Array(items) => items
            .into_iter()
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::String(text) => super::extra_from_text(attribute, &text),
                other => Err(format!("{name} holds `{other}`, expected text")),
            })
            .collect(),
        Value::Bool(_) | Value::Object(_) => Err(format!("{name} is `{value}`, expected text")),
    };
    match result {
        Ok(values) => {
            for value in values {
                draft.push_extra(name, value);
            }
        }
        Err(reason) => draft.extra_problem(reason),
    }
}

/// One JSON value into `field`, in any of the shapes PowerShell writes for it.
fn apply(draft: &mut Draft, field: Field, name: &'static str, value: Value) {
    match value {
        Value::Null => {}
        Value::String(text) => draft.apply_text(field, name, &text),
        Value::Bool(enabled) if field == Field::Enabled => draft.set_enabled(name, enabled),
        Value::Bool(value) if field == Field::CriticalSystemObject => {
            draft.set_flag(field, name, value);
        }
        Value::Number(number)
            if matches!(
                field,
                Field::UserAccountControl | Field::RecipientTypeDetails | Field::GroupType
            ) =>
        {
            match number.as_i64() {
                Some(value) => draft.set_integer(field, name, value),
                None => draft.problem(field, format!("{name} {number} is not an integer")),
            }
        }
        Value::Number(number) if matches!(field.measure(), Some((_, false))) => {
            match number.as_u64() {
                Some(n) => draft.set_measured(field, name, n),
                None => draft.problem(field, format!("{name} {number} is not a count")),
            }
        }
        Value::Bool(_) | Value::Number(_) => {
            draft.problem(field, format!("{name} is `{value}`, expected text"));
        }
        Value::Array(items) => apply_array(draft, field, name, items),
        Value::Object(map) => {
            // SecurityIdentifier serialises as {"BinaryLength":..,"AccountDomainSid":{..},"Value":"S-1-.."},
            // a Guid in some PowerShell versions as {"Guid":".."}, and a 5.1-wrapped array as
            // {"value":[..],"Count":n}; the data is in `Value`/`Guid`.
            let inner = map.into_iter().find(|(key, inner)| {
                (key.eq_ignore_ascii_case("value") || key.eq_ignore_ascii_case("guid"))
                    && !inner.is_object()
            });
            match inner {
                Some((_, inner)) => apply(draft, field, name, inner),
                None => draft.problem(
                    field,
                    format!("{name} is a JSON object without a `Value` or `Guid` property"),
                ),
            }
        }
    }
}

fn apply_array(draft: &mut Draft, field: Field, name: &'static str, items: Vec<Value>) {
    if let Some((measure, true)) = field.measure() {
        // ConvertTo-Json writes a byte[] as an array of numbers: thumbnailPhoto is one such
        // array (its length is the size); certificates and members are arrays of values.
        let n = if measure == super::Measure::ThumbnailPhotoBytes
            && items.iter().all(Value::is_number)
        {
            items.len()
        } else {
            items.iter().filter(|v| !v.is_null()).count()
        };
        draft.add_measured(field, n as u64);
        return;
    }
    match field {
        Field::ObjectGuid | Field::ConsistencyGuid | Field::Sid => {
            // ConvertTo-Json writes a byte[] as an array of numbers.
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            let Some(bytes) = bytes else {
                draft.problem(
                    field,
                    format!("{name} is a list, but not of numbers 0-255 (a byte array)"),
                );
                return;
            };
            if bytes.is_empty() {
                return;
            }
            match field {
                Field::ObjectGuid => match <[u8; 16]>::try_from(bytes.as_slice()) {
                    Ok(guid) => draft.set_object_guid(name, guid),
                    Err(_) => draft.problem(
                        field,
                        format!(
                            "{name} is {} bytes long, but a GUID is 16 bytes",
                            bytes.len()
                        ),
                    ),
                },
                Field::Sid => match sid_to_string(&bytes) {
                    Some(sid) => draft.set_text(field, name, sid.into()),
                    None => draft.problem(
                        field,
                        format!("{name}: {} bytes are not a binary SID", bytes.len()),
                    ),
                },
                _ => draft.set_consistency_guid(name, bytes),
            }
        }
        Field::ObjectClass | Field::ProxyAddresses => {
            // Each array item is one value, kept exactly (no `;` splitting).
            let values: Option<Vec<compact_str::CompactString>> = items
                .into_iter()
                .map(|v| match v {
                    Value::String(text) if !text.is_empty() => Some(text.into()),
                    _ => None,
                })
                .collect();
            match values {
                Some(values) => draft.set_values(field, name, values),
                None => draft.problem(
                    field,
                    format!("{name} has a value that is empty or not text"),
                ),
            }
        }
        _ => {
            let mut items = items;
            match items.len() {
                0 => {}
                1 => apply(draft, field, name, items.remove(0)),
                n => draft.problem(field, format!("{name} has {n} values but is single-valued")),
            }
        }
    }
}

fn json_error(err: &serde_json::Error, path: &Path) -> ImportError {
    // serde_json's message ends in " at line L column C"; the position is moved to the front.
    let message = err.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(text, _)| text);
    ImportError::unusable(
        path,
        format!(
            "line {}, column {}: invalid JSON ({message}); the file is not complete ConvertTo-Json output; re-export it or {SCRIPT_HINT}",
            err.line(),
            err.column()
        ),
    )
}

/// The 1-based line where each element of the top-level array starts. A byte scan that only
/// tracks strings and nesting depth; it runs after serde accepted the document, so it can rely
/// on the JSON being valid.
fn element_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut line, mut depth) = (1usize, 0usize);
    let (mut in_string, mut escaped, mut expecting) = (false, false, false);
    for &byte in text.as_bytes() {
        if byte == b'\n' {
            line += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        if expecting && !byte.is_ascii_whitespace() {
            expecting = false;
            if byte != b']' {
                lines.push(line);
            }
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                expecting = depth == 1 && byte == b'[';
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    lines
}

/// One element of the top-level array: an object's properties that the importer reads, in
/// file order, or what else it was.
enum Element {
    Object {
        entries: Vec<(&'static str, Field, Value)>,
        /// The extra attributes the sync settings name, as given.
        extras: Vec<(ExtraAttribute, Value)>,
        has_value_property: bool,
    },
    Other(&'static str),
}

enum Key {
    Known(&'static str, Field),
    Extra(ExtraAttribute),
    Value,
    Other,
}

/// Reads a property name, knowing which extra attributes the import carries.
struct KeySeed<'o>(&'o ImportOptions);

impl<'de> de::DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor<'o>(&'o ImportOptions);
        impl Visitor<'_> for KeyVisitor<'_> {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(match field_for(name) {
                    Some((canonical, field)) => Key::Known(canonical, field),
                    None if name.eq_ignore_ascii_case("value") => Key::Value,
                    None => self.0.wanted(name).map_or(Key::Other, Key::Extra),
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor(self.0))
    }
}

/// The top-level array's elements.
struct ElementsSeed<'o>(&'o ImportOptions);

impl<'de> de::DeserializeSeed<'de> for ElementsSeed<'_> {
    type Value = Vec<Element>;
    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Vec<Element>, D::Error> {
        struct ElementsVisitor<'o>(&'o ImportOptions);
        impl<'de> Visitor<'de> for ElementsVisitor<'_> {
            type Value = Vec<Element>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Element>, A::Error> {
                let mut elements = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(element) = seq.next_element_seed(ElementSeed(self.0))? {
                    elements.push(element);
                }
                Ok(elements)
            }
        }
        deserializer.deserialize_seq(ElementsVisitor(self.0))
    }
}

/// One element, knowing which extra attributes the import carries.
struct ElementSeed<'o>(&'o ImportOptions);

impl<'de> de::DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = Element;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Element, D::Error> {
        deserializer.deserialize_any(ElementVisitor(self.0))
    }
}

struct ElementVisitor<'o>(&'o ImportOptions);

impl<'de> Visitor<'de> for ElementVisitor<'_> {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
        let mut entries = Vec::with_capacity(16);
        let mut extras = Vec::new();
        let mut has_value_property = false;
        while let Some(key) = map.next_key_seed(KeySeed(self.0))? {
            match key {
                Key::Known(name, field) => entries.push((name, field, map.next_value::<Value>()?)),
                Key::Extra(attribute) => extras.push((attribute, map.next_value::<Value>()?)),
                Key::Value => {
                    has_value_property = true;
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Element::Object {
            entries,
            extras,
            has_value_property,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Element::Other("an array"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Element, E> {
        Ok(Element::Other("a string"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Element, E> {
        Ok(Element::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Element, E> {
        Ok(Element::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Element, E> {
        Ok(Element::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Element, E> {
        Ok(Element::Other("a number"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Element, E> {
        Ok(Element::Other("null"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{AnchorAttribute, ImportOutcome, ObjectClass};
    use super::*;

    fn read_str(text: &str) -> ImportOutcome {
        read(text, Path::new("test.json"), &ImportOptions::default()).expect("valid JSON")
    }

    fn read_err(text: &str) -> String {
        read(text, Path::new("test.json"), &ImportOptions::default())
            .expect_err("invalid JSON")
            .to_string()
    }

    /// `Get-ADUser alice -Properties * | ConvertTo-Json` in Windows PowerShell 5.1 (abridged):
    /// a single object, 4-space indent, byte arrays as numbers, the SID as an object, the GUID as
    /// a string, properties the importer ignores.
    const SINGLE_51: &str = r#"{
    "DistinguishedName":  "CN=Alice Smith,OU=Staff,DC=contoso,DC=com",
    "Enabled":  true,
    "ObjectClass":  "user",
    "ObjectGUID":  "52af62f4-db3d-46d0-907b-593424a726d3",
    "SamAccountName":  "alice",
    "SID":  {
                "BinaryLength":  28,
                "AccountDomainSid":  {
                                         "BinaryLength":  24,
                                         "AccountDomainSid":  "S-1-5-21-1004336348-1177238915-682003330",
                                         "Value":  "S-1-5-21-1004336348-1177238915-682003330"
                                     },
                "Value":  "S-1-5-21-1004336348-1177238915-682003330-1105"
            },
    "UserPrincipalName":  "alice@contoso.com",
    "mS-DS-ConsistencyGuid":  [
                                  244, 98, 175, 82, 61, 219, 208, 70, 144, 123, 89, 52, 36, 167, 38, 211
                              ],
    "proxyAddresses":  [
                           "SMTP:alice@contoso.com",
                           "smtp:alice@contoso.onmicrosoft.com"
                       ],
    "memberOf":  [ "CN=Sales,DC=contoso,DC=com" ],
    "PropertyNames":  [ "DistinguishedName", "Enabled" ],
    "PropertyCount":  11
}"#;

    #[test]
    fn single_object_from_windows_powershell() {
        let out = read_str(SINGLE_51);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let [alice] = out.objects.as_slice() else {
            panic!("one object: {out:?}")
        };
        assert_eq!(alice.class, ObjectClass::User);
        assert_eq!(alice.origin.line, 1);
        assert_eq!(
            alice.object_sid.as_deref(),
            Some("S-1-5-21-1004336348-1177238915-682003330-1105")
        );
        assert_eq!(alice.anchor_attribute, AnchorAttribute::ConsistencyGuid);
        assert_eq!(
            alice.source_anchor, "9GKvUj3b0EaQe1k0JKcm0w==",
            "numeric byte array is the anchor"
        );
        assert_eq!(alice.enabled, Some(true));
        assert_eq!(
            alice.proxy_addresses,
            [
                "SMTP:alice@contoso.com",
                "smtp:alice@contoso.onmicrosoft.com"
            ]
        );
    }

    #[test]
    fn array_with_guid_objects_byte_arrays_wrapped_arrays_and_line_numbers() {
        let text = r#"
[
  {
    "objectguid": { "Guid": "52af62f4-db3d-46d0-907b-593424a726d3" },
    "distinguishedname": "CN=G,DC=x",
    "objectclass": "group",
    "proxyaddresses": "SMTP:g@x.com",
    "mail": "g@x.com"
  },
  {
    "ObjectGUID": [244, 98, 175, 82, 61, 219, 208, 70, 144, 123, 89, 52, 36, 167, 38, 211],
    "DistinguishedName": "CN=C \"quoted\" {braces} [x],DC=x",
    "ObjectClass": ["top", "person", "organizationalPerson", "contact"],
    "proxyAddresses": { "value": ["SMTP:c@x.com", "X500:/o=x"], "Count": 2 },
    "objectSid": [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]
  },
  {"ObjectGUID": "9GKvUj3b0EaQe1k0JKcm0w==", "DistinguishedName": "CN=U,DC=x", "ObjectClass": "inetOrgPerson",
   "userAccountControl": 514, "mS-DS-ConsistencyGuid": null}
]"#;
        let out = read_str(text);
        assert!(out.rejected.is_empty(), "{:?}", out.rejected);
        let [group, contact, user] = out.objects.as_slice() else {
            panic!("three objects: {out:?}")
        };
        assert_eq!(
            (group.origin.line, contact.origin.line, user.origin.line),
            (3, 10, 17)
        );
        assert_eq!(group.class, ObjectClass::Group);
        assert_eq!(group.proxy_addresses, ["SMTP:g@x.com"]);
        assert_eq!(contact.class, ObjectClass::Contact);
        assert_eq!(
            contact.distinguished_name,
            "CN=C \"quoted\" {braces} [x],DC=x"
        );
        assert_eq!(contact.proxy_addresses, ["SMTP:c@x.com", "X500:/o=x"]);
        assert_eq!(contact.object_sid.as_deref(), Some("S-1-5-18"));
        assert_eq!(user.class, ObjectClass::User, "inetOrgPerson is a user");
        assert_eq!(user.enabled, Some(false));
        for object in &out.objects {
            assert_eq!(object.source_anchor, "9GKvUj3b0EaQe1k0JKcm0w==");
            assert_eq!(object.anchor_attribute, AnchorAttribute::ObjectGuid);
        }
    }

    #[test]
    fn rejected_elements_name_their_line() {
        let text = "[\n\"just a string\",\n{\"ObjectGUID\": [1, 2, 3], \"DistinguishedName\": \"CN=A,DC=x\", \"ObjectClass\": \"user\"},\n\
{\"ObjectGUID\": \"52af62f4-db3d-46d0-907b-593424a726d3\", \"objectguid\": \"52af62f4-db3d-46d0-907b-593424a726d3\", \"DistinguishedName\": \"CN=B,DC=x\", \"ObjectClass\": \"user\"},\n\
{\"ObjectGUID\": \"52af62f4-db3d-46d0-907b-593424a726d3\", \"DistinguishedName\": \"CN=C,DC=x\", \"ObjectClass\": \"user\", \"Enabled\": \"yes\", \"mail\": 5},\n\
{\"ObjectGUID\": \"52af62f4-db3d-46d0-907b-593424a726d3\", \"DistinguishedName\": \"CN=D,DC=x\"},\n\
{\"ObjectClass\": \"organizationalUnit\", \"DistinguishedName\": \"OU=x,DC=x\"}\n]";
        let out = read_str(text);
        assert!(out.objects.is_empty());
        assert_eq!(out.skipped_classes.get("organizationalUnit"), Some(&1));
        let got: Vec<_> = out
            .rejected
            .iter()
            .map(|r| (r.line, r.record.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "element 1"),
                (3, "CN=A,DC=x"),
                (4, "CN=B,DC=x"),
                (5, "CN=C,DC=x"),
                (6, "CN=D,DC=x")
            ]
        );
        assert!(
            out.rejected[0]
                .reason
                .contains("is a string, not an object")
        );
        assert!(
            out.rejected[1].reason.contains("3 bytes long"),
            "{}",
            out.rejected[1].reason
        );
        assert!(
            out.rejected[2]
                .reason
                .contains("objectGUID appears more than once"),
            "{}",
            out.rejected[2].reason
        );
        assert!(
            out.rejected[3]
                .reason
                .contains("Enabled `yes` is not True or False"),
            "{}",
            out.rejected[3].reason
        );
        assert!(
            out.rejected[3]
                .reason
                .contains("mail is `5`, expected text"),
            "{}",
            out.rejected[3].reason
        );
        assert!(
            out.rejected[4].reason.contains("no objectClass"),
            "{}",
            out.rejected[4].reason
        );
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let err = read_err("[\n  {\"ObjectGUID\": \"x\",\n   \"DistinguishedName\" \"CN=A\"}\n]");
        assert!(
            err.starts_with("test.json: line 3, column 24: invalid JSON (expected `:`)"),
            "{err}"
        );
        let err = read_err("[\n {\"a\": 1},\n");
        assert!(err.contains("line 3") && err.contains("EOF"), "{err}");
    }

    #[test]
    fn wrapped_top_level_array_is_explained() {
        let err = read_err("{\n \"value\": [ {\"ObjectGUID\": \"x\"} ],\n \"Count\": 1\n}");
        assert!(
            err.contains("Windows PowerShell 5.1-wrapped array") && err.contains("ConvertTo-Json"),
            "{err}"
        );
    }

    #[test]
    fn element_lines_ignore_brackets_in_strings_and_nesting() {
        let text = "[{\"a\":\"],[{\\\"\"},\n {\"b\":[{},{}]},\n\n  3, \"x\"\n]";
        assert_eq!(element_lines(text), [1, 2, 4, 4]);
        assert!(element_lines("[ ]").is_empty());
    }
}
