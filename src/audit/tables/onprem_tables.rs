//! The on-prem tables (`onprem_objects`, `onprem_values`, `onprem_names`; `onprem_addresses` is
//! in `addresses`), each declared once with `table!`, and the facts the validation rules judge
//! (escaped values, UTF-16 lengths, the parts around the `@`). It reads imported objects; it
//! must not judge them.

use polars::prelude::*;
use rayon::prelude::*;

use super::addresses::{
    Derived, ONPREM_ADDRESSES, address_frame, address_rows, addresses, primary_smtp,
};
use super::computed::Computation;
use super::{
    ColumnSpec, ColumnType, FrameBuilder, OBJECT_TYPES, SharedText, TableSpec, Tables,
    computed_when_read, count, count_u32, lower, push_text, stack_in_order,
};
use crate::audit::sync_model::scope::{ExcludedObject, ScopeReport};
use crate::audit::sync_model::{SyncChoices, UpnSource};
use crate::inputs::chunks::build_in_chunks;
use crate::inputs::onprem::{self, AttributeName, OnPremObject};

/// One row of `onprem_objects`: the object, what was derived from it once, its values where they
/// lie in the chunk's text, and its file as text.
struct OnPremRow<'a> {
    /// The object's row number in `onprem_objects`, which the other on-prem tables name it by.
    row: usize,
    object: &'a OnPremObject,
    derived: &'a Derived<'a>,
    values: InText<'a>,
    /// What sync writes to the cloud UPN ([`InText::cloud_upn`]), which three columns read.
    cloud_upn: Option<&'a str>,
    /// A handful of files for a million objects: each path is rendered once and shared.
    source_file: std::rc::Rc<str>,
}

table! {
    pub(crate) const ONPREM_OBJECTS = "onprem_objects", "Every AD user, contact and group from the --onprem exports.";
    fn onprem_objects_frame(&[OnPremRow<'_>], custom_anchor: Option<&AttributeName>, text: Option<&SharedText>) |r| shares text {
        "object_guid": Str = "objectGUID, lower-case 8-4-4-4-12" => Some(r.derived.id),
        "object_row": Int = OBJECT_ROW => Some(count(r.row)),
        "object_type": Word(OBJECT_TYPES) = "user, contact or group" => Some(r.object.class.as_str()),
        "source_anchor": Str = "what onPremisesImmutableId holds after sync, as the sync model predicts it (base64 of mS-DS-ConsistencyGuid or objectGUID, or a custom attribute's value); null when it cannot be predicted" => Some(&r.object.source_anchor).filter(|a| !a.is_empty()),
        "anchor_attribute": Str = "mS-DS-ConsistencyGuid, objectGUID or the custom source anchor attribute" => Some(r.object.anchor_attribute.name(custom_anchor)),
        "source_anchor_problem": Str = "why the source anchor cannot be predicted (a custom anchor attribute the object lacks, or holds in a form whose encoding is not documented), else null" => r.object.anchor_problem.as_ref(),
        "object_sid": Str = "objectSid as S-1-5-..." => r.object.object_sid.as_ref(),
        "distinguished_name": Str = "distinguishedName" => Some(r.object.distinguished_name.as_str()),
        "domain": Str = "DNS domain from the DC= parts of the DN, lower case" => r.object.distinguished_name.domain(),
        "user_principal_name": Str = "userPrincipalName as exported" => r.values.single(USER_PRINCIPAL_NAME),
        "cloud_upn": Str = "what sync writes to the cloud userPrincipalName: the sync model's UPN source attribute (userPrincipalName, or mail as an alternate login ID)" => r.cloud_upn,
        "upn_lower": Str = "cloud_upn, lower case (the soft-match UPN key)" => lower(r.cloud_upn),
        "sam_account_name": Str = "sAMAccountName" => r.values.single(SAM_ACCOUNT_NAME),
        "mail": Str = "mail as exported" => r.values.single(MAIL),
        "mail_nickname": Str = "mailNickname" => r.values.single(MAIL_NICKNAME),
        "display_name": Str = "displayName" => r.values.single(DISPLAY_NAME),
        "given_name": Str = "givenName" => r.values.single(GIVEN_NAME),
        "surname": Str = "sn" => r.values.single(SURNAME),
        "primary_smtp": Str = "the SMTP: proxy address (else mail), lower case, no prefix" => primary_smtp(&r.derived.addresses),
        "mail_enabled": Bool = "has mail or an SMTP proxy address" => Some(primary_smtp(&r.derived.addresses).is_some()),
        "enabled": Bool = "users: account enabled" => r.object.enabled,
        "proxy_address_count": Int = "how many proxyAddresses values the object holds" => Some(count(r.object.proxy_addresses.len())),
        "certificate_count": Int = "userCertificate values (null: none, or the export did not say)" => count_u32(r.object.sizes.certificates),
        "smime_certificate_count": Int = "userSMIMECertificate values (null: none, or the export did not say)" => count_u32(r.object.sizes.smime_certificates),
        "thumbnail_photo_bytes": Int = "thumbnailPhoto size in bytes (null: not set or the export did not say)" => count_u32(r.object.sizes.thumbnail_photo_bytes),
        "member_count": Int = "groups: direct member values (null: none, or the export did not say)" => count_u32(r.object.sizes.members),
        "source_file": Str = "export file the object came from" => Some(&*r.source_file),
        "source_line": Int = "line of the record in that file" => Some(count(r.object.origin.line)),
    }
    counted over the table {
        "anchor_holders": Int = "how many objects of the table have this source_anchor: 1 when no other has (null when source_anchor is)" => ["source_anchor"],
    }
    computed when read {
        "upn_suffix": Str = "the part after the last @ of cloud_upn, lower case" => UpnSuffix("cloud_upn"),
    }
}

/// What `onprem_objects.object_row` is.
const OBJECT_ROW: &str = "the object's row number (from 0): what onprem_values, onprem_names and onprem_addresses name it by (join on it: see docs/rules.md)";
/// What `object_row` is in the tables of an object's values.
const VALUE_OBJECT_ROW: &str = "the on-prem object (onprem_objects.object_row)";

/// What `shown` and `length` are, in `onprem_values` and `onprem_names` alike.
const SHOWN: &str = "the value with control, format, non-ASCII whitespace and leading/trailing space characters written as \\u{XXXX}, so nothing invisible hides in a message";
const LENGTH: &str = "the value's length in UTF-16 code units (what .NET and Entra's string lengths count; for ASCII the same as characters)";

table! {
    pub(crate) const ONPREM_VALUES = "onprem_values", "One row per value of the address attributes Entra validates on export (userPrincipalName, proxyAddresses, mail, targetAddress), with the facts the validation rules judge: lengths as Entra counts them (UTF-16 code units, UNVERIFIED), the parts around the `@`, and the value escaped so invisible characters show. The name attributes are in onprem_names. No judgement is made here.";
    fn onprem_values_frame(&[ValueFacts<'_>], objects: &[OnPremObject], first_row: usize, upn_source: UpnSource, text: Option<&SharedText>) |r| shares text {
        "object_row": Int = VALUE_OBJECT_ROW => Some(count(first_row + r.object)),
        "object_type": Word(OBJECT_TYPES) = "user, contact or group" => Some(objects[r.object].class.as_str()),
        "attribute": Word(ADDRESS_ATTRIBUTE_WORDS) = "the LDAP name: userPrincipalName, proxyAddresses, mail or targetAddress" => Some(r.attribute),
        "value": Str = "the value exactly as exported" => Some(r.value),
        "value_count": Int = "how many values the object holds in this attribute (proxyAddresses: the address count)" => Some(count(r.value_count)),
        "becomes_cloud_upn": Bool = "this attribute is the one sync writes to the cloud userPrincipalName (userPrincipalName, or mail with alternate login ID)" => Some(r.attribute == upn_source.attribute()),
        "is_smtp": Bool = "the address is an SMTP address: an SMTP/smtp-prefixed proxyAddresses or targetAddress value, or mail and userPrincipalName (which have the SMTP form)" => Some(r.is_smtp),
    }
    computed when read {
        "prefix": Str = "proxyAddresses and targetAddress: the address type before the first `:` as written (SMTP, smtp, X500, SIP, ...); null for other attributes or when there is no `:`" => Prefix("value"),
        "address": Str = "the value without its prefix (the whole value for attributes that have none)" => Unprefixed("value"),
        "shown": Str = SHOWN => Shown("value"),
        "length": Int = LENGTH => Length("value"),
        "at_count": Int = "how many `@` the address holds" => AtCount("address"),
        "local_part": Str = "the address before its last `@` (null without `@`)" => LocalPart("address"),
        "domain": Str = "the address after its last `@`, lower case (null without `@`)" => Domain("address"),
        "local_length": Int = "length of local_part in UTF-16 code units" => LocalLength("address"),
        "domain_length": Int = "length of domain in UTF-16 code units" => DomainLength("address"),
        "symbols": Str = "the distinct characters of the address that are not ASCII letters or digits, in order of first appearance, escaped as in `shown` and separated by spaces (null when there are none): what a message names when a character is not allowed" => Symbols("address"),
    }
}

// The names are apart from the addresses because they need none of the address facts: at a
// million objects they are 4.7 million of 9.3 million values (docs/performance.md). Every name
// attribute holds one value, which `onprem_objects` holds in a column of its own, so the table is
// made from those columns when a query reads it ([`onprem_names`]), not held beside them: it was
// 98 MiB of a million objects' tables.
pub(crate) const ONPREM_NAMES: TableSpec = TableSpec {
    name: "onprem_names",
    doc: "One row per value of the name attributes Entra validates on export (displayName, givenName, sn, mailNickname, sAMAccountName), with its length as Entra counts it (UTF-16 code units, UNVERIFIED) and the value escaped so invisible characters show; an attribute's rows come together, in object order. Made from onprem_objects' columns when read. The address attributes are in onprem_values. No judgement is made here.",
    columns: &[
        table!(@row "object_row", Int, VALUE_OBJECT_ROW),
        table!(@row "object_type", Word(OBJECT_TYPES), "user, contact or group"),
        table!(@row "attribute", Word(NAME_ATTRIBUTE_WORDS), "the LDAP name: displayName, givenName, sn, mailNickname or sAMAccountName"),
        table!(@row "value", Str, "the value exactly as exported"),
        computed_when_read("shown", ColumnType::Str, SHOWN, "value", Computation::Shown),
        computed_when_read(
            "length",
            ColumnType::Int,
            LENGTH,
            "value",
            Computation::Length,
        ),
        computed_when_read(
            "symbols",
            ColumnType::Str,
            "the distinct characters of the value that are not ASCII letters or digits, in order of first appearance, escaped as in `shown` and separated by spaces (null when there are none): what a message names when a character is not allowed",
            "value",
            Computation::Symbols,
        ),
    ],
};

/// Each name attribute (its place in [`VALUE_ATTRIBUTES`], as `onprem_objects`' columns read it)
/// and the `onprem_objects` column holding its value, in the order of `onprem_names`' rows.
const NAME_COLUMNS: [(usize, &str); 5] = [
    (MAIL_NICKNAME, "mail_nickname"),
    (DISPLAY_NAME, "display_name"),
    (GIVEN_NAME, "given_name"),
    (SURNAME, "surname"),
    (SAM_ACCOUNT_NAME, "sam_account_name"),
];

/// `onprem_names`' held columns made from `onprem_objects`' held frame: a row per name an
/// object holds, an attribute's rows together. A query's filter on `value` or `object_type` runs
/// on the object columns (polars pushes it into each attribute's part), so only the rows it
/// keeps are made; one on `attribute` runs after each part (polars does not fold the literal
/// word), so the rest of the filter is tested on every attribute's values (docs/performance.md).
pub(super) fn onprem_names(objects: &LazyFrame) -> PolarsResult<LazyFrame> {
    let attribute_type = ColumnType::Word(NAME_ATTRIBUTE_WORDS).dtype();
    let parts: Vec<LazyFrame> = NAME_COLUMNS
        .iter()
        .map(|&(attribute, column)| {
            objects
                .clone()
                .select([
                    col("object_row"),
                    col("object_type"),
                    lit(VALUE_ATTRIBUTES[attribute])
                        .cast(attribute_type.clone())
                        .alias("attribute"),
                    col(column).alias("value"),
                ])
                .filter(col("value").is_not_null())
        })
        .collect();
    concat(
        parts,
        UnionArgs {
            rechunk: false,
            ..UnionArgs::default()
        },
    )
}

/// How many rows `onprem_names` has: the names `onprem_objects` holds.
pub(super) fn name_count(objects: &DataFrame) -> usize {
    NAME_COLUMNS
        .iter()
        .filter_map(|(_, column)| objects.column(column).ok())
        .map(|column| column.len() - column.null_count())
        .sum()
}

table! {
    pub(crate) const ONPREM_OUT_OF_SCOPE = "onprem_out_of_scope", "Every exported object the sync model leaves out of scope (it never syncs: see inputs.scope in findings.json), with its reason and the keys a cloud object could be linked to it by. No rule reports these objects; a rule reads them only so that a cloud object whose source is one of them is not taken for an orphan.";
    fn out_of_scope_frame(&[ExcludedObject]) |o| {
        "object_guid": Str = "objectGUID, lower-case 8-4-4-4-12" => Some(&o.object_guid),
        "object_type": Word(OBJECT_TYPES) = "user, contact or group" => Some(o.object_type),
        "distinguished_name": Str = "distinguishedName" => Some(o.distinguished_name.as_str()),
        "domain": Str = "DNS domain from the DC= parts of the DN, lower case" => o.distinguished_name.domain(),
        "reason": Str = "why it never syncs (the reasons of inputs.scope)" => Some(o.reason.as_str()),
        "source_anchor": Str = "the source anchor its engine would use, as onprem_objects.source_anchor (null when it cannot be predicted)" => o.source_anchor.as_ref(),
        "object_sid": Str = "objectSid as S-1-5-..." => o.object_sid.as_ref(),
        "sam_account_name": Str = "sAMAccountName" => o.sam_account_name.as_ref(),
    }
}

impl Tables {
    /// Registers `onprem_out_of_scope` from the sync model's scope report; without an on-prem
    /// export (`None`) the table is unavailable.
    pub(crate) fn put_out_of_scope(&mut self, scope: Option<&ScopeReport>) -> PolarsResult<()> {
        let frame = match scope {
            Some(scope) => Ok(out_of_scope_frame(&scope.objects)?),
            None => Err("no on-prem export given (--onprem FILE)".to_owned()),
        };
        self.put(&ONPREM_OUT_OF_SCOPE, frame)?;
        Ok(())
    }
}

/// Builds the on-prem tables a chunk of objects at a time (see [`build_in_chunks`]).
pub(super) fn build_onprem(
    objects: Vec<OnPremObject>,
    choices: SyncChoices,
) -> PolarsResult<Tables> {
    // Empty frames first: no objects still gives every table its columns.
    let empty = onprem_frames(0, &[], &choices)?;
    // Chunks side by side: one chunk's frames are of unequal size (values take as long as the
    // others together), so within a chunk a core would wait.
    let chunks: Vec<PolarsResult<[DataFrame; 3]>> = build_in_chunks(objects, |first_row, chunk| {
        onprem_frames(first_row, chunk, &choices)
    });
    let mut tables = Tables::default();
    for (spec, frame) in ONPREM_BUILT.iter().zip(stack_in_order(empty, chunks)?) {
        tables.put(spec, Ok(frame))?;
    }
    Ok(tables)
}

/// The tables of the on-prem export: those built from it and `onprem_names`, made from
/// `onprem_objects` when read (see [`onprem_names`]).
pub(crate) const ONPREM_TABLES: [&TableSpec; 4] = [
    &ONPREM_OBJECTS,
    &ONPREM_ADDRESSES,
    &ONPREM_VALUES,
    &ONPREM_NAMES,
];

/// The tables built from the on-prem export, in the order [`onprem_frames`] returns them.
const ONPREM_BUILT: [&TableSpec; 3] = [&ONPREM_OBJECTS, &ONPREM_ADDRESSES, &ONPREM_VALUES];

/// The frames of [`ONPREM_BUILT`] for one chunk of objects, built on separate cores. Their
/// string columns point into one copy of the chunk's GUIDs and values (see [`SharedText`]): the
/// objects' own values are read there, not from the objects, so that an address, its raw form
/// and the object's columns do not each copy it. `first_row` is the row of the chunk's first
/// object.
fn onprem_frames(
    first_row: usize,
    objects: &[OnPremObject],
    choices: &SyncChoices,
) -> PolarsResult<[DataFrame; 3]> {
    let (upn_source, custom_anchor) = (choices.upn_source, choices.custom_anchor.as_ref());
    let (text, layout) = chunk_text(objects);
    let shared = SharedText::new(text);
    let text = shared.as_str();
    let in_text: Vec<(InText, Option<&str>)> = layout
        .runs
        .iter()
        .zip(objects)
        .map(|(run, object)| {
            let values = InText {
                text,
                values: &layout.values[run.clone()],
            };
            (values, values.cloud_upn(&upn_source, object))
        })
        .collect();
    let derived: Vec<Derived> = in_text
        .par_iter()
        .zip(layout.guids.par_iter())
        .map(|((values, cloud_upn), guid)| Derived {
            id: &text[guid.clone()],
            addresses: addresses(*cloud_upn, values.single(MAIL), values.proxy_addresses()),
        })
        .collect();
    let facts = value_facts(text, &layout);
    let (objects_frame, (addresses_frame, values_frame)) = rayon::join(
        || {
            let mut last: Option<(&std::path::Path, std::rc::Rc<str>)> = None;
            let rows: Vec<OnPremRow<'_>> = objects
                .iter()
                .zip(&derived)
                .zip(&in_text)
                .enumerate()
                .map(|(i, ((object, derived), &(values, cloud_upn)))| {
                    let file: &std::path::Path = &object.origin.file;
                    let source_file = match &last {
                        Some((path, text)) if *path == file => std::rc::Rc::clone(text),
                        _ => {
                            let text: std::rc::Rc<str> = file.display().to_string().into();
                            last = Some((file, std::rc::Rc::clone(&text)));
                            text
                        }
                    };
                    OnPremRow {
                        row: first_row + i,
                        object,
                        derived,
                        values,
                        cloud_upn,
                        source_file,
                    }
                })
                .collect();
            onprem_objects_frame(&rows, custom_anchor, Some(&shared))
        },
        || {
            rayon::join(
                || {
                    let types = objects.iter().map(|o| o.class.as_str());
                    address_frame(
                        &ONPREM_ADDRESSES,
                        &address_rows(first_row, &derived, types),
                        Some(&shared),
                    )
                },
                || onprem_values_frame(&facts, objects, first_row, upn_source, Some(&shared)),
            )
        },
    );
    Ok([objects_frame?, addresses_frame?, values_frame?])
}

/// One value of an address attribute and the facts the validation rules judge (see
/// [`ONPREM_VALUES`]).
struct ValueFacts<'a> {
    object: usize,
    attribute: &'static str,
    value: &'a str,
    value_count: usize,
    is_smtp: bool,
}

/// Whether values of `attribute` carry an address type prefix: proxyAddresses and targetAddress.
pub(super) fn is_prefixed(attribute: &str) -> bool {
    VALUE_ATTRIBUTES[FIRST_PREFIXED..].contains(&attribute)
}

/// Splits an address type prefix (`SMTP:`, `X500:`) from its address.
pub(super) fn split_prefix(value: &str) -> (Option<&str>, &str) {
    match value.split_once(':') {
        Some((prefix, address)) => (Some(prefix), address),
        None => (None, value),
    }
}

/// The attributes whose values get a row, in the order an object's rows are listed: the
/// [`NAME_ATTRIBUTES`] in `onprem_names`, the others in `onprem_values`.
const VALUE_ATTRIBUTES: [&str; 9] = [
    "userPrincipalName",
    "mail",
    "mailNickname",
    "displayName",
    "givenName",
    "sn",
    "sAMAccountName",
    "targetAddress",
    "proxyAddresses",
];

/// Where `name` lies in [`VALUE_ATTRIBUTES`] (a name not there stops the build).
const fn value_attribute(name: &str) -> usize {
    const fn same(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    let mut index = 0;
    while index < VALUE_ATTRIBUTES.len() {
        if same(VALUE_ATTRIBUTES[index].as_bytes(), name.as_bytes()) {
            return index;
        }
        index += 1;
    }
    panic!("not one of VALUE_ATTRIBUTES")
}

/// Where the attributes the on-prem tables read by name lie in [`VALUE_ATTRIBUTES`].
const USER_PRINCIPAL_NAME: usize = value_attribute("userPrincipalName");
const MAIL: usize = value_attribute("mail");
const MAIL_NICKNAME: usize = value_attribute("mailNickname");
const DISPLAY_NAME: usize = value_attribute("displayName");
const GIVEN_NAME: usize = value_attribute("givenName");
const SURNAME: usize = value_attribute("sn");
const SAM_ACCOUNT_NAME: usize = value_attribute("sAMAccountName");
const TARGET_ADDRESS: usize = value_attribute("targetAddress");
const PROXY_ADDRESSES: usize = value_attribute("proxyAddresses");

/// Where the names lie in [`VALUE_ATTRIBUTES`].
const NAME_ATTRIBUTES: std::ops::Range<usize> = MAIL_NICKNAME..SAM_ACCOUNT_NAME + 1;

/// The address attributes of [`VALUE_ATTRIBUTES`] in byte order: the words of
/// `onprem_values.attribute`.
pub(super) const ADDRESS_ATTRIBUTE_WORDS: &[&str] = &[
    "mail",
    "proxyAddresses",
    "targetAddress",
    "userPrincipalName",
];

/// The [`NAME_ATTRIBUTES`] in byte order: the words of `onprem_names.attribute`.
const NAME_ATTRIBUTE_WORDS: &[&str] = &[
    "displayName",
    "givenName",
    "mailNickname",
    "sAMAccountName",
    "sn",
];

/// `VALUE_ATTRIBUTES` from here on carry an address type prefix (`SMTP:`).
const FIRST_PREFIXED: usize = TARGET_ADDRESS;

// The prefixed attributes are addresses, not names.
const _: () = assert!(NAME_ATTRIBUTES.end <= FIRST_PREFIXED);

/// Where each piece of a chunk's shared text lies.
struct ChunkLayout {
    /// Each object's GUID, in object order.
    guids: Vec<std::ops::Range<usize>>,
    values: Vec<ValueAt>,
    /// Each object's values: where they lie in `values`, in object order.
    runs: Vec<std::ops::Range<usize>>,
}

/// One object's values where they lie in its chunk's text.
#[derive(Clone, Copy)]
struct InText<'a> {
    text: &'a str,
    values: &'a [ValueAt],
}

impl<'a> InText<'a> {
    /// The value of the single-valued attribute `VALUE_ATTRIBUTES[attribute]`.
    fn single(self, attribute: usize) -> Option<&'a str> {
        self.values
            .iter()
            .find(|v| v.attribute == attribute)
            .map(|v| &self.text[v.range.clone()])
    }

    fn proxy_addresses(self) -> impl Iterator<Item = &'a str> {
        self.values
            .iter()
            .filter(|v| v.attribute == PROXY_ADDRESSES)
            .map(move |v| &self.text[v.range.clone()])
    }

    /// What sync writes to the cloud UPN, as [`UpnSource::value`] reads it from the object; a
    /// custom attribute is not in the text, and is read from the object.
    fn cloud_upn(self, upn_source: &UpnSource, object: &'a OnPremObject) -> Option<&'a str> {
        match upn_source {
            UpnSource::UserPrincipalName => self.single(USER_PRINCIPAL_NAME),
            UpnSource::Mail => self.single(MAIL),
            UpnSource::Custom(_) => upn_source.value(object),
        }
    }
}

/// One value of `onprem_values` or `onprem_names`: its object, its attribute (index in
/// [`VALUE_ATTRIBUTES`]), where it lies in the text, and how many values its attribute holds.
struct ValueAt {
    object: usize,
    attribute: usize,
    range: std::ops::Range<usize>,
    value_count: usize,
}

/// Copies every object's GUID and every value `onprem_values` and `onprem_names` list into one
/// text, in the order the rows list them (the attribute names are words, not text).
fn chunk_text(objects: &[OnPremObject]) -> (String, ChunkLayout) {
    // Sized once: the text of a chunk is tens of megabytes, and growing it by doubling copied it
    // over and over.
    let (value_count, values_len) = objects
        .iter()
        .flat_map(object_values)
        .fold((0, 0), |(n, len), (_, value, _)| (n + 1, len + value.len()));
    let mut text = String::with_capacity(36 * objects.len() + values_len);
    let guids = objects
        .iter()
        .map(|o| push_text(&mut text, &onprem::guid_to_string(&o.object_guid)))
        .collect();
    let mut values = Vec::with_capacity(value_count);
    let mut runs = Vec::with_capacity(objects.len());
    for (object, o) in objects.iter().enumerate() {
        let start = values.len();
        for (attribute, value, value_count) in object_values(o) {
            values.push(ValueAt {
                object,
                attribute,
                range: push_text(&mut text, value),
                value_count,
            });
        }
        runs.push(start..values.len());
    }
    (
        text,
        ChunkLayout {
            guids,
            values,
            runs,
        },
    )
}

/// The values of an object that get a row in `onprem_values` or `onprem_names`: the index of
/// the attribute in [`VALUE_ATTRIBUTES`], the value, and how many values the object holds in
/// that attribute.
fn object_values(o: &OnPremObject) -> impl Iterator<Item = (usize, &str, usize)> {
    let singles = [
        o.user_principal_name.as_deref(),
        o.mail.as_deref(),
        o.mail_nickname.as_deref(),
        o.display_name.as_deref(),
        o.given_name.as_deref(),
        o.surname.as_deref(),
        o.sam_account_name.as_deref(),
    ];
    let prefixed = o
        .target_address
        .iter()
        .map(|v| (TARGET_ADDRESS, v.as_str(), 1))
        .chain(
            o.proxy_addresses
                .iter()
                .map(|v| (PROXY_ADDRESSES, v.as_str(), o.proxy_addresses.len())),
        );
    singles
        .into_iter()
        .enumerate()
        .filter_map(|(attribute, value)| value.map(|v| (attribute, v, 1)))
        .chain(prefixed)
}

/// The rows of `onprem_values`, borrowing every value from the chunk's text.
fn value_facts<'a>(text: &'a str, layout: &ChunkLayout) -> Vec<ValueFacts<'a>> {
    // The names' rows are made from `onprem_objects` ([`onprem_names`]).
    let is_name = |v: &&ValueAt| NAME_ATTRIBUTES.contains(&v.attribute);
    let mut addresses = Vec::with_capacity(layout.values.iter().filter(|v| !is_name(v)).count());
    for v in &layout.values {
        if is_name(&v) {
            continue;
        }
        let value = &text[v.range.clone()];
        let is_smtp = if v.attribute >= FIRST_PREFIXED {
            split_prefix(value)
                .0
                .is_some_and(|p| p.eq_ignore_ascii_case("smtp"))
        } else {
            // userPrincipalName and mail have the SMTP form.
            true
        };
        addresses.push(ValueFacts {
            object: v.object,
            attribute: VALUE_ATTRIBUTES[v.attribute],
            value,
            value_count: v.value_count,
            is_smtp,
        });
    }
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attribute_indices_name_their_attributes() {
        for (index, name) in [
            (USER_PRINCIPAL_NAME, "userPrincipalName"),
            (MAIL, "mail"),
            (MAIL_NICKNAME, "mailNickname"),
            (DISPLAY_NAME, "displayName"),
            (SAM_ACCOUNT_NAME, "sAMAccountName"),
            (PROXY_ADDRESSES, "proxyAddresses"),
        ] {
            assert_eq!(VALUE_ATTRIBUTES[index], name);
        }
    }

    /// `onprem_names` makes a row of each name attribute, from the `onprem_objects` column that
    /// holds it (declared with the attribute's name as its description).
    #[test]
    fn the_names_table_reads_each_name_attribute_from_its_object_column() {
        let attributes: Vec<usize> = NAME_COLUMNS.iter().map(|(a, _)| *a).collect();
        assert_eq!(attributes, NAME_ATTRIBUTES.collect::<Vec<_>>());
        for (attribute, column) in NAME_COLUMNS {
            let declared = ONPREM_OBJECTS.columns.iter().find(|c| c.name == column);
            assert_eq!(
                declared.map(|c| c.doc),
                Some(VALUE_ATTRIBUTES[attribute]),
                "{column}"
            );
        }
    }

    #[test]
    fn the_attribute_words_are_the_value_attributes_split_into_names_and_addresses() {
        let sorted = |names: bool| {
            let mut words: Vec<&str> = (0..VALUE_ATTRIBUTES.len())
                .filter(|i| NAME_ATTRIBUTES.contains(i) == names)
                .map(|i| VALUE_ATTRIBUTES[i])
                .collect();
            words.sort_unstable();
            words
        };
        assert_eq!(sorted(true), NAME_ATTRIBUTE_WORDS);
        assert_eq!(sorted(false), ADDRESS_ATTRIBUTE_WORDS);
    }
}
