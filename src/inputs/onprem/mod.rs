//! On-premises Active Directory import: reads an AD snapshot (ldifde LDIF, PowerShell `Export-Csv`
//! CSV or `ConvertTo-Json` JSON, detected from content) into [`OnPremObject`]s and normalises what
//! sync keys on: the source anchor, canonical GUID text, SIDs, UPNs and proxy addresses.
//!
//! It owns the knowledge of how Windows tools write these files. It must not guess silently:
//! a record it cannot use is counted and listed in [`ImportOutcome::rejected`] with file, line and
//! reason; a file it cannot read at all is an [`ImportError`] that says how to export it correctly.
//! It knows nothing of the cloud side, tables or rules.
//!
//! Layout: this file holds the public types, decoding, format detection, dispatch and the
//! normalisation shared by all formats (`Draft` collects one record's attributes whatever the
//! format called them, and decides whether it becomes an object, a rejection or a skipped class);
//! a large UTF-8 LDIF export is decoded and handed to `ldif::Reader` a block at a time.
//! `ldif.rs`, `csv.rs` and `json.rs` only know their syntax; `script.ps1` is the export script
//! that `entra-audit onprem-script` prints.

mod csv;
mod json;
mod ldif;

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::guid::hex_digit;
use crate::inputs::blocks::{read_block, start_next};
use crate::inputs::lines::count_newlines;
use crate::text::{lowercase_hash, same_lowercase};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use compact_str::CompactString;

/// The AD object classes sync cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectClass {
    User,
    Contact,
    Group,
}

impl ObjectClass {
    /// Every class, in declaration order.
    pub const ALL: [ObjectClass; 3] = [ObjectClass::User, ObjectClass::Contact, ObjectClass::Group];

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectClass::User => "user",
            ObjectClass::Contact => "contact",
            ObjectClass::Group => "group",
        }
    }

    /// The class named `name` (`user`, `contact`, `group`; as [`ObjectClass::as_str`] spells it).
    pub fn from_name(name: &str) -> Option<ObjectClass> {
        ObjectClass::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// Which attribute the source anchor was taken from. An object records only which one: the
/// custom attribute's name is the sync settings', one for the whole audit (held by every object,
/// it was 66 of an object's 608 bytes, 60 MiB at a million objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorAttribute {
    ConsistencyGuid,
    ObjectGuid,
    /// The attribute a custom Entra Connect install names (the sync settings'
    /// `--source-anchor`).
    Custom,
}

impl AnchorAttribute {
    /// The attribute's LDAP name; `custom` is the custom source anchor attribute the sync
    /// settings name (the sync model's `custom_anchor`).
    pub fn name(self, custom: Option<&AttributeName>) -> &str {
        match self {
            AnchorAttribute::ConsistencyGuid => "mS-DS-ConsistencyGuid",
            AnchorAttribute::ObjectGuid => "objectGUID",
            AnchorAttribute::Custom => {
                custom.map_or("the custom source anchor attribute", AttributeName::as_str)
            }
        }
    }
}

/// An LDAP attribute name the sync settings name (a custom source anchor or UPN attribute),
/// validated as an LDAP `descr` (RFC 4512 §1.4: a letter, then letters, digits and hyphens) and
/// held inline so the settings stay `Copy`. Compared ASCII case-insensitively, as LDAP names are.
#[derive(Clone, Copy)]
pub struct AttributeName {
    bytes: [u8; AttributeName::MAX],
    len: u8,
}

impl AttributeName {
    /// Longer than any attribute name AD's schema holds in practice.
    pub const MAX: usize = 64;

    /// The name, or why it is not one.
    pub fn parse(name: &str) -> Result<AttributeName, String> {
        let valid = name.len() <= Self::MAX
            && name.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(format!(
                "`{}` is not an LDAP attribute name (a letter, then letters, digits and hyphens, at most {} characters)",
                crate::preview::preview(name),
                Self::MAX
            ));
        }
        let mut bytes = [0u8; Self::MAX];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(AttributeName {
            bytes,
            #[allow(clippy::cast_possible_truncation)] // at most MAX (64), checked above
            len: name.len() as u8,
        })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII was ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    pub fn matches(&self, name: &str) -> bool {
        self.as_str().eq_ignore_ascii_case(name)
    }
}

impl PartialEq for AttributeName {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other.as_str())
    }
}

impl Eq for AttributeName {}

impl std::fmt::Debug for AttributeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for AttributeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for AttributeName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A value of an attribute the importer carries only because the sync settings name it, as the
/// export gave it: text, or bytes (an LDIF `::` value that is not UTF-8 text, a JSON array of
/// byte numbers as `ConvertTo-Json` writes a `byte[]`), or a JSON number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraValue {
    Text(String),
    Bytes(Vec<u8>),
    Integer(i64),
}

/// An attribute the importer carries because the sync settings name it, and how its values
/// are read: text (a string attribute), or bytes when the settings say `NAME;binary` (the LDAP
/// transfer option of RFC 4522): the importer cannot know an arbitrary attribute's syntax, and
/// deciding by whether the bytes happen to be UTF-8 would misread some values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraAttribute {
    pub name: AttributeName,
    pub binary: bool,
}

impl ExtraAttribute {
    /// `NAME` (a string attribute) or `NAME;binary`.
    pub fn parse(text: &str) -> Result<ExtraAttribute, String> {
        let (name, binary) = match text.rsplit_once(';') {
            Some((name, option)) if option.eq_ignore_ascii_case("binary") => (name, true),
            Some(_) => {
                return Err(format!(
                    "`{}`: the only option is `;binary` (for a binary attribute)",
                    crate::preview::preview(text)
                ));
            }
            None => (text, false),
        };
        AttributeName::parse(name).map(|name| ExtraAttribute { name, binary })
    }
}

/// What the importer carries beyond the attributes it always reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct ImportOptions {
    /// Attributes the sync settings name (a custom source anchor or UPN attribute): each
    /// object keeps their values in [`OnPremObject::extra`].
    pub(crate) extra_attributes: Vec<ExtraAttribute>,
}

impl ImportOptions {
    /// The wanted attribute `name` is, in its configured spelling.
    pub(crate) fn wanted(&self, name: &str) -> Option<ExtraAttribute> {
        // The short list of wanted names first (usually empty): this runs for every attribute
        // line the importer does not know. An attribute it reads anyway is not an extra (its
        // field has it).
        self.extra_attributes
            .iter()
            .copied()
            .find(|a| a.name.matches(name))
            .filter(|_| field_for(name).is_none())
    }
}

/// An extra attribute's value given as text (an LDIF value, a CSV cell, a JSON string): the text
/// itself, or for a binary attribute the bytes its base64 spells.
pub(crate) fn extra_from_text(attribute: ExtraAttribute, text: &str) -> Result<ExtraValue, String> {
    if attribute.binary {
        BASE64
            .decode(text.trim())
            .map(ExtraValue::Bytes)
            .map_err(|_| {
                format!(
                    "{} is configured as binary (`;binary`) but `{}` is not base64",
                    attribute.name,
                    crate::preview::preview(text)
                )
            })
    } else {
        Ok(ExtraValue::Text(text.to_owned()))
    }
}

/// An extra attribute's value given as bytes (an LDIF `::` value, a JSON byte array): the bytes
/// for a binary attribute, else the UTF-8 text they must be.
pub(crate) fn extra_from_bytes(
    attribute: ExtraAttribute,
    bytes: Vec<u8>,
) -> Result<ExtraValue, String> {
    if attribute.binary {
        Ok(ExtraValue::Bytes(bytes))
    } else {
        String::from_utf8(bytes).map(ExtraValue::Text).map_err(|_| {
            format!(
                "{} holds bytes that are not UTF-8 text; if it is a binary attribute, name it `{};binary` in the sync settings",
                attribute.name, attribute.name
            )
        })
    }
}

/// Where a record came from, for messages and evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOrigin {
    /// Shared by every record of the file: a path copied per record was a million allocations.
    pub file: Arc<Path>,
    /// 1-based line of the record's first line (LDIF `dn:` line, CSV row, JSON: line of the object's `{`).
    pub line: usize,
}

/// One AD user, contact or group, normalised. Its text is held as `CompactString`s: a value of
/// up to 24 bytes (most names and sAMAccountNames, the base64 source anchor) lies in the field
/// itself, not in an allocation of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnPremObject {
    pub class: ObjectClass,
    /// objectGUID bytes in .NET `Guid.ToByteArray()` order (the order AD stores them).
    pub object_guid: [u8; 16],
    /// mS-DS-ConsistencyGuid bytes when set (normally 16). Boxed, as `extra` and
    /// `anchor_problem` are: each is 8 bytes less than a vector or string in every object.
    pub consistency_guid: Option<Box<[u8]>>,
    /// base64 of mS-DS-ConsistencyGuid when set, else of objectGUID: what `onPremisesImmutableId` holds.
    pub source_anchor: CompactString,
    pub anchor_attribute: AnchorAttribute,
    /// objectSid as `S-1-5-21-...` text, when exported.
    pub object_sid: Option<CompactString>,
    pub distinguished_name: DistinguishedName,
    pub user_principal_name: Option<CompactString>,
    pub sam_account_name: Option<CompactString>,
    pub mail: Option<CompactString>,
    pub mail_nickname: Option<CompactString>,
    /// As exported, prefixes and case preserved (`SMTP:` upper case = primary).
    pub proxy_addresses: Vec<CompactString>,
    pub display_name: Option<CompactString>,
    /// givenName and sn (the AD module calls them `GivenName` and `Surname`).
    pub given_name: Option<CompactString>,
    pub surname: Option<CompactString>,
    /// targetAddress: the forwarding address of a mail user or contact (`SMTP:user@other.org`).
    pub target_address: Option<CompactString>,
    /// Users only: from `Enabled` or bit 0x2 (ACCOUNTDISABLE) of userAccountControl.
    pub enabled: Option<bool>,
    /// isCriticalSystemObject, when present (AD sets it TRUE on built-in accounts and groups;
    /// Entra Connect excludes an object on its mere presence).
    pub critical_system_object: Option<bool>,
    /// msExchRecipientTypeDetails, when the forest has Exchange attributes and it is set.
    pub recipient_type_details: Option<i64>,
    /// groupType (groups): bit 0x80000000 marks a security group, else a distribution group.
    pub group_type: Option<i64>,
    /// adminDescription (group writeback marks written-back groups with `Group_...`).
    pub admin_description: Option<CompactString>,
    /// How big the object's LargeObject-prone attributes are: value counts and sizes, never
    /// the values (LDIF carries the values and they are counted; JSON and CSV carry counts).
    pub sizes: Sizes,
    /// The values of the attributes [`ImportOptions::extra_attributes`] names, when the object
    /// carries them (several values when the attribute is multi-valued).
    pub extra: Box<[(AttributeName, Vec<ExtraValue>)]>,
    /// Why the source anchor could not be predicted (a custom anchor attribute the object does
    /// not carry, or carries in a form whose encoding is not documented); set by the sync model,
    /// `source_anchor` is then empty.
    pub anchor_problem: Option<Box<str>>,
    pub origin: RecordOrigin,
}

/// A distinguishedName as exported, and its DNS domain ([`dn_domain`]) found once: the sync
/// model, the scope and two tables read the domain of every object (a million objects, each
/// read several times, was half a CPU-second of building the same few strings). Built only by
/// [`DistinguishedName::new`] and [`DistinguishedName::sharing_domain`], so the two cannot
/// disagree; it reads as the DN's text (`Deref<Target = str>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistinguishedName {
    text: CompactString,
    domain: Option<Arc<str>>,
}

impl DistinguishedName {
    pub fn new(text: impl Into<CompactString>) -> Self {
        Self::sharing_domain(text, None)
    }

    /// Like [`DistinguishedName::new`], holding `previous`'s domain string when the domain is
    /// the same: an export lists the objects of one domain together, so a million objects share
    /// a handful of strings.
    pub fn sharing_domain(
        text: impl Into<CompactString>,
        previous: Option<&DistinguishedName>,
    ) -> Self {
        let text = text.into();
        let previous = previous.and_then(|p| p.domain.as_ref());
        let domain = match previous {
            // Compared where the DN lies, without building this one's domain: nearly always the
            // previous one, and otherwise a string was built for each of a million objects only
            // to be dropped.
            Some(shared) if is_domain_of(&text, shared) => Some(Arc::clone(shared)),
            // Another domain, or one not judged in place (a non-ASCII value): built, and still
            // shared when it is the same.
            _ => dn_domain(&text).map(|domain| match previous {
                Some(shared) if **shared == *domain => Arc::clone(shared),
                _ => Arc::from(domain),
            }),
        };
        DistinguishedName { text, domain }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The DNS domain of the `DC=` parts, lower case ([`dn_domain`]); `None` without any.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// Whether two DNs name one object: AD compares DNs without regard to case
    /// ([`same_lowercase`]).
    pub fn same_object(&self, other: &DistinguishedName) -> bool {
        same_lowercase(&self.text, &other.text)
    }

    /// A hash that agrees with [`DistinguishedName::same_object`] ([`lowercase_hash`]).
    pub fn hash_lowercase(&self, state: &impl BuildHasher) -> u64 {
        lowercase_hash(state, &[&self.text])
    }
}

impl std::ops::Deref for DistinguishedName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl From<String> for DistinguishedName {
    fn from(text: String) -> Self {
        DistinguishedName::new(text)
    }
}

impl From<&str> for DistinguishedName {
    fn from(text: &str) -> Self {
        DistinguishedName::new(text.to_owned())
    }
}

impl PartialEq<&str> for DistinguishedName {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl std::fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for DistinguishedName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl OnPremObject {
    /// The values of an extra attribute, empty when the object does not carry it.
    pub fn extra(&self, name: AttributeName) -> &[ExtraValue] {
        self.extra
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[], |(_, v)| v.as_slice())
    }
}

/// Value counts and sizes of the attributes Entra ID limits (the values themselves are not
/// kept). `None`: none, or the export did not say. 32 bits, saturated: the tables hold them in
/// 32 bits anyway, and 64-bit counts were 32 of an object's bytes (30 MiB at a million objects).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    /// userCertificate values.
    pub certificates: Option<u32>,
    /// userSMIMECertificate values.
    pub smime_certificates: Option<u32>,
    /// thumbnailPhoto size in bytes.
    pub thumbnail_photo_bytes: Option<u32>,
    /// member values (direct members of a group).
    pub members: Option<u32>,
}

/// Which size a field measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    Certificates,
    SmimeCertificates,
    ThumbnailPhotoBytes,
    Members,
}

impl Measure {
    const ALL: [Measure; 4] = [
        Measure::Certificates,
        Measure::SmimeCertificates,
        Measure::ThumbnailPhotoBytes,
        Measure::Members,
    ];

    fn slot(self, sizes: &mut Sizes) -> &mut Option<u32> {
        match self {
            Measure::Certificates => &mut sizes.certificates,
            Measure::SmimeCertificates => &mut sizes.smime_certificates,
            Measure::ThumbnailPhotoBytes => &mut sizes.thumbnail_photo_bytes,
            Measure::Members => &mut sizes.members,
        }
    }
}

/// A record that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RejectedRecord {
    pub file: PathBuf,
    pub line: usize,
    /// The DN or another identifier when one was readable, else empty.
    pub record: String,
    pub reason: String,
}

/// The detected file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Ldif,
    Csv,
    Json,
}

/// The result of importing one file.
#[derive(Debug, Clone, Default)]
pub struct ImportOutcome {
    pub objects: Vec<OnPremObject>,
    pub rejected: Vec<RejectedRecord>,
    /// Records of other classes (computers, OUs, ...) that were skipped on purpose, by class.
    pub skipped_classes: std::collections::BTreeMap<String, usize>,
    /// Doubts about the file as a whole that do not stop the import (e.g. an LDIF export that
    /// is probably truncated); every output shows them.
    pub warnings: Vec<String>,
}

/// A file that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Unusable { path: PathBuf, message: String },
}

impl ImportError {
    fn unusable(path: &Path, message: impl Into<String>) -> Self {
        ImportError::Unusable {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Where every "this file is not usable" message points: a script that writes what we read.
pub(crate) const SCRIPT_HINT: &str = "run `entra-audit onprem-script > Export-EntraAudit.ps1` for a PowerShell script that writes a file this tool reads";

/// The PowerShell export script (`entra-audit onprem-script` prints it). It writes the JSON shape
/// that [`import`] reads; a test keeps the two in step.
pub(crate) fn export_script() -> &'static str {
    include_str!("script.ps1")
}

/// AD cannot store a NUL in a string attribute, and what follows it would vanish in many tools:
/// such a value is a corrupted or crafted export.
fn nul_problem(name: &str, value: &str) -> String {
    format!(
        "{name} `{}` holds a NUL character (U+0000), which no AD string value can hold",
        crate::preview::preview(value)
    )
}

/// The longest value accepted for any attribute read here. AD's own limits are far lower
/// (userPrincipalName and a proxyAddresses value are a little over 1,000 characters, a CN 64);
/// the bound leaves room for long DNs of deeply nested OUs and stops a corrupted or crafted value
/// of megabytes from flowing into every finding, message and report.
pub(crate) const MAX_VALUE_CHARS: usize = 16 * 1024;

fn too_long(name: &str, value: &str) -> Option<String> {
    (value.len() > MAX_VALUE_CHARS && value.chars().count() > MAX_VALUE_CHARS).then(|| {
        format!(
            "{name} `{}` is longer than any value AD holds (at most {MAX_VALUE_CHARS} characters \
             are read): a corrupted or crafted export",
            crate::preview::preview(value)
        )
    })
}

/// Reads an AD snapshot file; the format is detected from the content, never the extension.
pub fn import(path: &Path) -> Result<(Format, ImportOutcome), ImportError> {
    import_with(path, &ImportOptions::default())
}

/// [`import`], carrying the extra attributes `options` names.
pub(crate) fn import_with(
    path: &Path,
    options: &ImportOptions,
) -> Result<(Format, ImportOutcome), ImportError> {
    use std::io::Read as _;
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    // The readers work on borrowed slices of text in memory, which is what makes a
    // 1,000,000-object export take seconds (a line-by-line reader allocates per line). A large
    // UTF-8 LDIF export is read a block of whole records at a time: the objects own their
    // values, so the file need not be whole in memory too (a gigabyte at a million objects).
    let mut bytes = Vec::new();
    if size > STREAM_ABOVE {
        let at_end = read_block(&mut file, &mut bytes, BLOCK).map_err(io)?;
        match ldif_in_blocks(&mut file, size, bytes, at_end, BLOCK, path, options)? {
            Blocks::Read(outcome) => return Ok((Format::Ldif, outcome)),
            Blocks::NotUtf8Ldif(first) => bytes = first,
        }
    }
    file.read_to_end(&mut bytes).map_err(io)?;
    import_bytes_with(bytes, path, options)
}

/// Exports larger than this are read a block at a time when they are UTF-8 LDIF.
const STREAM_ABOVE: u64 = 256 << 20;
/// How much of the file a block reads (it grows when one record is larger). Small enough that
/// the block the kernel copies into, and the parse reads from, stays in the processor's cache:
/// read 256 MiB at a time, a 1 GiB export took 0.4 million more page faults and 0.75 CPU-seconds
/// more, the kernel's copy alone a sixth of the read phase (docs/performance.md).
const BLOCK: usize = 16 << 20;

enum Blocks {
    Read(ImportOutcome),
    /// Not UTF-8 LDIF: the bytes read so far, for the reader of the whole file.
    NotUtf8Ldif(Vec<u8>),
}

/// Reads an LDIF export whose first `block` bytes are in `buffer` (all of it when `at_end`), a
/// block of whole records at a time (cut at the last blank line in what was read), with the
/// outcome and errors of reading it whole ([`ldif::Reader`]). A UTF-16 export, or one that is
/// not LDIF, is left to the reader of the whole file.
fn ldif_in_blocks(
    file: &mut (impl std::io::Read + Send),
    size: u64,
    mut buffer: Vec<u8>,
    mut at_end: bool,
    block: usize,
    path: &Path,
    options: &ImportOptions,
) -> Result<Blocks, ImportError> {
    let bom = usize::from(buffer.starts_with(b"\xEF\xBB\xBF")) * 3;
    if bom == 0
        && (encoding_rs::Encoding::for_bom(&buffer).is_some()
            || sniff_bomless_utf16(&buffer).is_some())
    {
        return Ok(Blocks::NotUtf8Ldif(buffer));
    }
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Where the text not yet read starts in `buffer`, and in the file.
    let mut start = bom;
    let mut offset = bom;
    let mut reader: Option<ldif::Reader> = None;
    // Where the next block is read while `buffer`'s is parsed; the two then change places.
    let mut next: Vec<u8> = Vec::new();
    // An error met after a block was parsed ahead: that block's own error comes first.
    let error_after = |reader: &mut Option<ldif::Reader>, error| match reader {
        Some(reader) => reader.error_after(error),
        None => error,
    };
    loop {
        let rest = &buffer[start..];
        let cut = if at_end {
            Some(rest.len())
        } else {
            ldif::last_record_end(rest)
        };
        let Some(cut) = cut else {
            // One record larger than what was read: read on.
            at_end = read_block(file, &mut buffer, block)
                .map_err(|error| error_after(&mut reader, io(error)))?;
            continue;
        };
        // simdutf8's check, as polars runs on string buffers: std's took 3 % of the import.
        let text = match simdutf8::compat::from_utf8(&rest[..cut]) {
            Ok(text) => text,
            Err(err) => {
                let bad = err.valid_up_to();
                let lines_before = reader.as_ref().map_or(0, ldif::Reader::lines_read);
                let error = not_utf8(path, lines_before + line_of_offset(rest, bad), offset + bad);
                return Err(error_after(&mut reader, error));
            }
        };
        let mut current = if let Some(current) = reader.take() {
            current
        } else {
            if detect_format(text) != Some(Format::Ldif) {
                return Ok(Blocks::NotUtf8Ldif(buffer));
            }
            ldif::check_line_ends(text, path)?;
            ldif::Reader::new(path, options)
        };
        if at_end {
            current.block(text)?;
            return Ok(Blocks::Read(current.finish(text)));
        }
        // While this block is parsed, the next one is read, after the start of the record this
        // one cut off, and the block before it is added to the outcome (its objects moved into
        // place, fresh pages for most of them): read and added between parses, a core was idle
        // for a fifth of the import (docs/performance.md).
        start_next(&mut next, buffer.capacity(), &rest[cut..]);
        let (added, read) = current.parse_ahead(text, || read_block(file, &mut next, block));
        added?;
        if offset == bom {
            // The first block is added at once: the room for the whole file is estimated from
            // its objects.
            current.catch_up()?;
            current.expect(cut, size);
        }
        reader = Some(current);
        offset += cut;
        std::mem::swap(&mut buffer, &mut next);
        start = 0;
        at_end = read.map_err(|error| error_after(&mut reader, io(error)))?;
    }
}

/// Like [`import`], for bytes already in memory; `path` is only used in messages and origins.
pub fn import_bytes(bytes: Vec<u8>, path: &Path) -> Result<(Format, ImportOutcome), ImportError> {
    import_bytes_with(bytes, path, &ImportOptions::default())
}

/// [`import_bytes`], carrying the extra attributes `options` names.
pub(crate) fn import_bytes_with(
    bytes: Vec<u8>,
    path: &Path,
    options: &ImportOptions,
) -> Result<(Format, ImportOutcome), ImportError> {
    let text = decode(bytes, path)?;
    let format = detect_format(&text).ok_or_else(|| {
        ImportError::unusable(
            path,
            format!("the file is empty (only blank lines and `#` comments); {SCRIPT_HINT}"),
        )
    })?;
    let outcome = match format {
        Format::Ldif => ldif::read(&text, path, options)?,
        Format::Csv => csv::read(&text, path, options)?,
        Format::Json => json::read(&text, path, options)?,
    };
    Ok((format, outcome))
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// Turns the file's bytes into text. PowerShell writes UTF-16LE with BOM (`Out-File` and
/// `Export-Csv -Encoding Unicode` in Windows PowerShell 5.1), UTF-8 with BOM (`-Encoding UTF8`
/// in 5.1) or UTF-8 without BOM (PowerShell 7); `ldifde -u` writes UTF-16LE.
///
/// `encoding_rs` is used directly rather than through `encoding_rs_io`: the reader from
/// `encoding_rs_io` replaces malformed sequences with U+FFFD, which would silently change a UPN
/// or a proxy address. Here a malformed sequence is an error naming the line.
fn decode(mut bytes: Vec<u8>, path: &Path) -> Result<String, ImportError> {
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(&bytes) {
        if encoding == encoding_rs::UTF_8 {
            bytes.drain(..bom_len);
            return utf8(bytes, bom_len, path);
        }
        return decode_strict(encoding, &bytes[bom_len..], bom_len, path);
    }
    match sniff_bomless_utf16(&bytes) {
        Some(encoding) => decode_strict(encoding, &bytes, 0, path),
        None => utf8(bytes, 0, path),
    }
}

/// UTF-16 without a BOM (some tools and `[IO.File]::WriteAllText` with `UnicodeEncoding(false,
/// false)`) shows as NUL bytes in every other position, because the files are mostly ASCII.
/// UTF-8 text never contains NUL, so this cannot misfire on a UTF-8 file.
fn sniff_bomless_utf16(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    let pairs = sample.len() / 2;
    if pairs == 0 {
        return None;
    }
    let (mut even_nul, mut odd_nul) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        even_nul += usize::from(pair[0] == 0);
        odd_nul += usize::from(pair[1] == 0);
    }
    if odd_nul * 2 > pairs && even_nul * 4 < odd_nul {
        Some(encoding_rs::UTF_16LE)
    } else if even_nul * 2 > pairs && odd_nul * 4 < even_nul {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

fn utf8(bytes: Vec<u8>, offset: usize, path: &Path) -> Result<String, ImportError> {
    String::from_utf8(bytes).map_err(|err| {
        let bad = err.utf8_error().valid_up_to();
        not_utf8(path, line_of_offset(err.as_bytes(), bad), bad + offset)
    })
}

/// A BOM-less export whose byte `byte` (on line `line`) is not UTF-8.
fn not_utf8(path: &Path, line: usize, byte: usize) -> ImportError {
    ImportError::unusable(
        path,
        format!(
            "line {line}: byte {byte} is not valid UTF-8 and the file has no byte-order mark; re-export as UTF-8 \
             (Windows PowerShell 5.1: `-Encoding UTF8`; `-Encoding Default` writes the ANSI code page) or {SCRIPT_HINT}"
        ),
    )
}

/// Decodes without replacement characters; a malformed sequence is an error with its line.
fn decode_strict(
    encoding: &'static encoding_rs::Encoding,
    bytes: &[u8],
    offset: usize,
    path: &Path,
) -> Result<String, ImportError> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .ok_or_else(|| ImportError::unusable(path, "the file is too large to decode in memory"))?;
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut text, true);
    match result {
        encoding_rs::DecoderResult::InputEmpty => Ok(text),
        encoding_rs::DecoderResult::Malformed(..) | encoding_rs::DecoderResult::OutputFull => {
            // `read` is past the malformed sequence; point at its start.
            let bad = match result {
                encoding_rs::DecoderResult::Malformed(bad, extra) => {
                    usize::from(bad) + usize::from(extra)
                }
                _ => 0,
            };
            let read = read.saturating_sub(bad);
            let line = count_newlines(text.as_bytes()) + 1;
            Err(ImportError::unusable(
                path,
                format!(
                    "line {line}: the file is {} (from its byte-order mark or NUL bytes) but byte {} is not valid {}; \
                     the file may be truncated or mixed; re-export it or {SCRIPT_HINT}",
                    encoding.name(),
                    offset + read,
                    encoding.name()
                ),
            ))
        }
    }
}

fn line_of_offset(bytes: &[u8], offset: usize) -> usize {
    count_newlines(&bytes[..offset.min(bytes.len())]) + 1
}

// ---------------------------------------------------------------------------------------------
// Format detection
// ---------------------------------------------------------------------------------------------

/// Detects the format from the first significant line (not blank, not a `#` comment): `dn:`,
/// `dn::` or `version:` is LDIF, `[` or `{` is JSON, anything else is tried as CSV (whose reader
/// then insists on an `ObjectGUID` and a `DistinguishedName` column, and says what is accepted).
/// `None` when there is no significant line.
pub(crate) fn detect_format(text: &str) -> Option<Format> {
    let mut in_comment = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        // An LDIF comment may be folded: its continuation lines start with one space.
        if in_comment && line.starts_with(' ') {
            continue;
        }
        in_comment = line.starts_with('#');
        if trimmed.is_empty() || in_comment {
            continue;
        }
        if starts_with_ignore_case(line, "dn:") || starts_with_ignore_case(line, "version:") {
            return Some(Format::Ldif);
        }
        if trimmed.starts_with('[') || trimmed.starts_with('{') {
            return Some(Format::Json);
        }
        return Some(Format::Csv);
    }
    None
}

pub(crate) fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The message for a file that is none of the accepted formats.
pub(crate) fn unrecognised_format(path: &Path, detail: &str) -> ImportError {
    ImportError::unusable(
        path,
        format!(
            "not a recognised AD export ({detail}); accepted are LDIF from `ldifde -f FILE` (records start with `dn:`), \
             JSON from `ConvertTo-Json` (an array or an object) and CSV from `Export-Csv` with at least the columns \
             ObjectGUID and DistinguishedName; {SCRIPT_HINT}"
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Attribute names
// ---------------------------------------------------------------------------------------------

/// What the importer reads from a record, whatever the format calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Dn,
    ObjectGuid,
    ConsistencyGuid,
    Sid,
    ObjectClass,
    Upn,
    Sam,
    Mail,
    MailNickname,
    ProxyAddresses,
    DisplayName,
    GivenName,
    Surname,
    TargetAddress,
    Enabled,
    UserAccountControl,
    CriticalSystemObject,
    RecipientTypeDetails,
    GroupType,
    AdminDescription,
    /// The values themselves (LDIF): counted (thumbnailPhoto: its bytes), not kept.
    UserCertificate,
    SmimeCertificate,
    ThumbnailPhoto,
    Member,
    /// What the export script writes instead of the values (JSON, CSV).
    UserCertificateCount,
    SmimeCertificateCount,
    ThumbnailPhotoBytes,
    MemberCount,
}

impl Field {
    /// The size a field measures, and whether it carries values (else a number).
    pub(crate) fn measure(self) -> Option<(Measure, bool)> {
        match self {
            Field::UserCertificate => Some((Measure::Certificates, true)),
            Field::SmimeCertificate => Some((Measure::SmimeCertificates, true)),
            Field::ThumbnailPhoto => Some((Measure::ThumbnailPhotoBytes, true)),
            Field::Member => Some((Measure::Members, true)),
            Field::UserCertificateCount => Some((Measure::Certificates, false)),
            Field::SmimeCertificateCount => Some((Measure::SmimeCertificates, false)),
            Field::ThumbnailPhotoBytes => Some((Measure::ThumbnailPhotoBytes, false)),
            Field::MemberCount => Some((Measure::Members, false)),
            _ => None,
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// Attribute and property names, spelled as AD (LDAP display names) and the `ActiveDirectory`
/// module (`Get-ADUser`, `Get-ADObject`) spell them. Matched ASCII case-insensitively, because
/// LDAP attribute names and PowerShell property names are. Several names may feed one field
/// (`SID` is the AD module's name for `objectSid`, `EmailAddress` for `mail`); a record that
/// carries both with different values is rejected, never resolved by picking one.
const NAMES: &[(&str, Field)] = &[
    ("distinguishedName", Field::Dn),
    ("objectGUID", Field::ObjectGuid),
    ("mS-DS-ConsistencyGuid", Field::ConsistencyGuid),
    // Some tools and blog posts spell it the msDS- way; the LDAP display name is mS-DS-.
    ("msDS-ConsistencyGuid", Field::ConsistencyGuid),
    ("objectSid", Field::Sid),
    ("SID", Field::Sid),
    ("objectClass", Field::ObjectClass),
    ("userPrincipalName", Field::Upn),
    ("sAMAccountName", Field::Sam),
    ("mail", Field::Mail),
    ("EmailAddress", Field::Mail),
    ("mailNickname", Field::MailNickname),
    ("proxyAddresses", Field::ProxyAddresses),
    ("displayName", Field::DisplayName),
    ("givenName", Field::GivenName),
    ("sn", Field::Surname),
    ("Surname", Field::Surname),
    ("targetAddress", Field::TargetAddress),
    ("Enabled", Field::Enabled),
    ("userAccountControl", Field::UserAccountControl),
    // What Entra Connect's out-of-box scoping reads (concept-azure-ad-connect-sync-default-configuration).
    ("isCriticalSystemObject", Field::CriticalSystemObject),
    ("msExchRecipientTypeDetails", Field::RecipientTypeDetails),
    ("groupType", Field::GroupType),
    ("adminDescription", Field::AdminDescription),
    // LargeObject inputs (tshoot-connect-largeobjecterror-usercertificate; group limits in
    // concept-azure-ad-connect-sync-default-configuration): values in LDIF, counts elsewhere.
    ("userCertificate", Field::UserCertificate),
    ("userSMIMECertificate", Field::SmimeCertificate),
    ("thumbnailPhoto", Field::ThumbnailPhoto),
    ("member", Field::Member),
    ("userCertificateCount", Field::UserCertificateCount),
    ("userSMIMECertificateCount", Field::SmimeCertificateCount),
    ("thumbnailPhotoBytes", Field::ThumbnailPhotoBytes),
    ("memberCount", Field::MemberCount),
];

/// Every attribute and property name the importer reads (with aliases), in [`NAMES`] order:
/// what `collect-ad` asks the directory for, so an attribute added to the importer is collected
/// too. Names that are not LDAP attributes (`SID`, `Enabled`) are ignored by the server, as RFC
/// 4511 §4.5.1.8 requires.
pub(crate) fn attribute_names() -> impl Iterator<Item = &'static str> {
    NAMES.iter().map(|(name, _)| *name)
}

/// The importer's attribute names grouped by what they feed (an attribute and its aliases, such
/// as `objectSid` and `SID`), in [`NAMES`] order: a group is covered when any one name is there.
pub(crate) fn attribute_groups() -> Vec<Vec<&'static str>> {
    let mut groups: Vec<(Field, Vec<&'static str>)> = Vec::new();
    for &(name, field) in NAMES {
        match groups.iter_mut().find(|(f, _)| *f == field) {
            Some((_, names)) => names.push(name),
            None => groups.push((field, vec![name])),
        }
    }
    groups.into_iter().map(|(_, names)| names).collect()
}

/// The importer field an attribute feeds, for writers that must keep a value's shape (binary
/// attributes as the text the importer reads).
pub(crate) fn attribute_kind(name: &str) -> AttributeKind {
    match field_for(name) {
        Some((_, Field::ObjectGuid)) => AttributeKind::Guid,
        Some((_, Field::Sid)) => AttributeKind::Sid,
        Some((_, Field::ConsistencyGuid)) => AttributeKind::Bytes,
        _ => AttributeKind::Text,
    }
}

/// How a writer must render an attribute's value for the importer to read it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttributeKind {
    /// 16 bytes written as GUID text (8-4-4-4-12, from `Guid.ToByteArray()` order).
    Guid,
    /// A binary SID written as `S-1-...` text.
    Sid,
    /// Bytes written as base64.
    Bytes,
    /// Text as stored (binary values that are not UTF-8 are written as base64).
    Text,
}

/// The canonical spelling and field for an attribute or property name, if the importer reads it.
pub(crate) fn field_for(name: &str) -> Option<(&'static str, Field)> {
    // Looked up among the names of the same length: this runs for every attribute line of an
    // export (26 million at a million objects, most of them attributes the importer does not
    // read, which were compared with every name): 0.6 s against 0.3 s for the benchmark
    // export's attribute names in a standalone release build.
    static BY_LENGTH: std::sync::LazyLock<Vec<Vec<(&'static str, Field)>>> =
        std::sync::LazyLock::new(|| {
            let longest = NAMES.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
            let mut by_length = vec![Vec::new(); longest + 1];
            for &(name, field) in NAMES {
                by_length[name.len()].push((name, field));
            }
            by_length
        });
    BY_LENGTH
        .get(name.len())?
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .copied()
}

// ---------------------------------------------------------------------------------------------
// One record, format-independent
// ---------------------------------------------------------------------------------------------

/// A value and the name it was read from (for duplicate and conflict messages).
type Slot<T> = Option<(T, &'static str)>;

/// One record's attributes as the format readers find them. Readers call the setters; problems
/// with single values are collected (all of them, so the admin can fix a record in one go) and
/// `Draft::finish` turns the record into an object, a rejection or a skipped class.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    dn: Slot<CompactString>,
    object_guid: Slot<[u8; 16]>,
    consistency_guid: Slot<Vec<u8>>,
    sid: Slot<CompactString>,
    upn: Slot<CompactString>,
    sam: Slot<CompactString>,
    mail: Slot<CompactString>,
    mail_nickname: Slot<CompactString>,
    display_name: Slot<CompactString>,
    given_name: Slot<CompactString>,
    surname: Slot<CompactString>,
    target_address: Slot<CompactString>,
    enabled: Slot<bool>,
    user_account_control: Slot<u32>,
    critical_system_object: Slot<bool>,
    recipient_type_details: Slot<i64>,
    group_type: Slot<i64>,
    admin_description: Slot<CompactString>,
    classes: Slot<Vec<CompactString>>,
    proxy_addresses: Slot<Vec<CompactString>>,
    /// Sizes counted from values (LDIF lines, JSON arrays) and as declared (count columns).
    counted: Sizes,
    declared: Sizes,
    /// Fields that appeared, valid or not, so "missing" is not reported on top of "invalid".
    present: u32,
    problems: Vec<String>,
    /// Set when the whole record is unusable whatever its class (e.g. an LDIF change record).
    fatal: Option<String>,
    /// Values of the extra attributes the sync settings name.
    extra: Vec<(AttributeName, Vec<ExtraValue>)>,
}

/// `n`, or the largest 32-bit count when it is larger ([`Sizes`]).
fn saturate_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Draft {
    /// `n` more values (or bytes, for thumbnailPhoto) of a measured attribute.
    pub(crate) fn add_measured(&mut self, field: Field, n: u64) {
        self.present |= field.bit();
        if let Some((measure, _)) = field.measure() {
            let slot = measure.slot(&mut self.counted);
            *slot = Some(slot.unwrap_or(0).saturating_add(saturate_u32(n)));
        }
    }

    /// A declared count or size (`userCertificateCount`, `thumbnailPhotoBytes`, ...).
    pub(crate) fn set_measured(&mut self, field: Field, name: &'static str, n: u64) {
        self.present |= field.bit();
        let n = saturate_u32(n);
        let Some((measure, _)) = field.measure() else {
            self.problems
                .push(format!("internal error: {name} was read as a count"));
            return;
        };
        let slot = measure.slot(&mut self.declared);
        match slot {
            Some(earlier) if *earlier != n => self.problems.push(format!(
                "{name} appears more than once with different values ({earlier}, {n})"
            )),
            _ => *slot = Some(n),
        }
    }

    /// A count or size given as text (a CSV cell, a JSON string), or, for the value forms, the
    /// values as text: `;`-joined values are counted, a thumbnailPhoto's base64 is measured.
    fn apply_measured(&mut self, field: Field, name: &'static str, text: &str) {
        match field.measure() {
            Some((_, false)) => match text.trim().parse::<u64>() {
                Ok(n) => self.set_measured(field, name, n),
                Err(_) => self.problem(field, format!("{name} `{text}` is not a count")),
            },
            Some((Measure::ThumbnailPhotoBytes, true)) => match BASE64.decode(text.trim()) {
                Ok(bytes) => self.add_measured(field, bytes.len() as u64),
                Err(_) => self.problem(
                    field,
                    format!("{name} is not base64; export thumbnailPhotoBytes (its size) instead"),
                ),
            },
            Some((_, true)) => self.add_measured(field, text.split(';').count() as u64),
            None => self.problems.push(format!(
                "internal error: {name} is not a measured attribute"
            )),
        }
    }

    /// One value of an extra attribute (the sync settings' custom anchor or UPN attribute). An
    /// empty text means "not set", as for every other attribute.
    pub(crate) fn push_extra(&mut self, name: AttributeName, value: ExtraValue) {
        match &value {
            ExtraValue::Text(text) if text.is_empty() => return,
            ExtraValue::Bytes(bytes) if bytes.is_empty() => return,
            ExtraValue::Text(text) if text.contains('\0') => {
                self.problems.push(nul_problem(name.as_str(), text));
                return;
            }
            ExtraValue::Text(text) => {
                if let Some(problem) = too_long(name.as_str(), text) {
                    self.problems.push(problem);
                    return;
                }
            }
            ExtraValue::Bytes(_) | ExtraValue::Integer(_) => {}
        }
        match self.extra.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => self.extra.push((name, vec![value])),
        }
    }

    /// An extra attribute's value that could not be read (it has no field of its own).
    pub(crate) fn extra_problem(&mut self, reason: String) {
        self.problems.push(reason);
    }

    pub(crate) fn problem(&mut self, field: Field, reason: String) {
        self.present |= field.bit();
        self.problems.push(reason);
    }

    pub(crate) fn fatal(&mut self, reason: String) {
        self.fatal.get_or_insert(reason);
    }

    /// A single-valued text attribute (DN, UPN, sAMAccountName, mail, mailNickname, displayName,
    /// givenName, sn, targetAddress, SID text). An empty value means "not set": AD cannot store an empty string, and
    /// `Export-Csv` writes an unset attribute as an empty cell.
    pub(crate) fn set_text(&mut self, field: Field, name: &'static str, value: Cow<'_, str>) {
        if value.is_empty() {
            return;
        }
        if value.contains('\0') {
            self.problem(field, nul_problem(name, &value));
            return;
        }
        if let Some(problem) = too_long(name, &value) {
            self.problem(field, problem);
            return;
        }
        self.present |= field.bit();
        let slot = match field {
            Field::Dn => &mut self.dn,
            Field::Sid => &mut self.sid,
            Field::Upn => &mut self.upn,
            Field::Sam => &mut self.sam,
            Field::Mail => &mut self.mail,
            Field::MailNickname => &mut self.mail_nickname,
            Field::DisplayName => &mut self.display_name,
            Field::GivenName => &mut self.given_name,
            Field::Surname => &mut self.surname,
            Field::TargetAddress => &mut self.target_address,
            Field::AdminDescription => &mut self.admin_description,
            Field::ObjectGuid
            | Field::ConsistencyGuid
            | Field::ObjectClass
            | Field::ProxyAddresses
            | Field::Enabled
            | Field::UserAccountControl
            | Field::CriticalSystemObject
            | Field::RecipientTypeDetails
            | Field::GroupType
            | Field::UserCertificate
            | Field::SmimeCertificate
            | Field::ThumbnailPhoto
            | Field::Member
            | Field::UserCertificateCount
            | Field::SmimeCertificateCount
            | Field::ThumbnailPhotoBytes
            | Field::MemberCount => {
                // A reader bug, not bad data; still never a silent drop.
                self.problems
                    .push(format!("internal error: {name} was read as text"));
                return;
            }
        };
        put(
            slot,
            CompactString::from(value),
            name,
            &mut self.problems,
            CompactString::to_string,
        );
    }

    pub(crate) fn set_object_guid(&mut self, name: &'static str, guid: [u8; 16]) {
        self.present |= Field::ObjectGuid.bit();
        put(
            &mut self.object_guid,
            guid,
            name,
            &mut self.problems,
            guid_to_string,
        );
    }

    /// An empty value means "not set" (then objectGUID is the anchor, as Entra Connect does).
    pub(crate) fn set_consistency_guid(&mut self, name: &'static str, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        self.present |= Field::ConsistencyGuid.bit();
        put(
            &mut self.consistency_guid,
            bytes,
            name,
            &mut self.problems,
            |b| BASE64.encode(b),
        );
    }

    pub(crate) fn set_enabled(&mut self, name: &'static str, enabled: bool) {
        self.present |= Field::Enabled.bit();
        put(
            &mut self.enabled,
            enabled,
            name,
            &mut self.problems,
            bool::to_string,
        );
    }

    pub(crate) fn set_user_account_control(&mut self, name: &'static str, value: u32) {
        self.present |= Field::UserAccountControl.bit();
        put(
            &mut self.user_account_control,
            value,
            name,
            &mut self.problems,
            u32::to_string,
        );
    }

    /// A boolean attribute other than `Enabled` (isCriticalSystemObject: LDAP writes `TRUE`).
    pub(crate) fn set_flag(&mut self, field: Field, name: &'static str, value: bool) {
        self.present |= field.bit();
        let slot = match field {
            Field::Enabled => &mut self.enabled,
            Field::CriticalSystemObject => &mut self.critical_system_object,
            _ => {
                self.problems
                    .push(format!("internal error: {name} was read as a boolean"));
                return;
            }
        };
        put(slot, value, name, &mut self.problems, bool::to_string);
    }

    /// An integer attribute (msExchRecipientTypeDetails is a 64-bit Large Integer; groupType a
    /// signed 32-bit flag set that tools print signed or unsigned).
    pub(crate) fn set_integer(&mut self, field: Field, name: &'static str, value: i64) {
        self.present |= field.bit();
        let slot = match field {
            Field::RecipientTypeDetails => &mut self.recipient_type_details,
            Field::GroupType => &mut self.group_type,
            Field::UserAccountControl => {
                match uac_from_i64(value) {
                    Some(uac) => self.set_user_account_control(name, uac),
                    None => self
                        .problems
                        .push(format!("{name} {value} is not a 32-bit number")),
                }
                return;
            }
            _ => {
                self.problems
                    .push(format!("internal error: {name} was read as an integer"));
                return;
            }
        };
        put(slot, value, name, &mut self.problems, i64::to_string);
    }

    /// The slot of a multi-valued field; for any other field (a reader bug, not bad data) an
    /// internal-error problem is recorded so the record is rejected rather than quietly changed.
    fn multi_slot(&mut self, field: Field, name: &str) -> Option<&mut Slot<Vec<CompactString>>> {
        match field {
            Field::ObjectClass => Some(&mut self.classes),
            Field::ProxyAddresses => Some(&mut self.proxy_addresses),
            _ => {
                self.problems
                    .push(format!("internal error: {name} was read as multi-valued"));
                None
            }
        }
    }

    /// One more value of a multi-valued attribute (LDIF repeats the attribute line per value).
    pub(crate) fn push_value(&mut self, field: Field, name: &'static str, value: Cow<'_, str>) {
        self.present |= field.bit();
        if let Some(slot) = self.multi_slot(field, name) {
            slot.get_or_insert_with(|| (Vec::new(), name))
                .0
                .push(CompactString::from(value));
        }
    }

    /// All values of a multi-valued attribute at once (a CSV cell, a JSON property).
    pub(crate) fn set_values(
        &mut self,
        field: Field,
        name: &'static str,
        values: Vec<CompactString>,
    ) {
        if values.is_empty() {
            return;
        }
        if let Some(value) = values.iter().find(|v| v.contains('\0')) {
            let problem = nul_problem(name, value);
            self.problem(field, problem);
            return;
        }
        if let Some(problem) = values.iter().find_map(|v| too_long(name, v)) {
            self.problem(field, problem);
            return;
        }
        self.present |= field.bit();
        let Some(slot) = self.multi_slot(field, name) else {
            return;
        };
        match slot {
            None => *slot = Some((values, name)),
            Some((_, earlier)) => {
                let earlier = *earlier;
                self.problems
                    .push(format!("{name} appears more than once (also as {earlier})"));
            }
        }
    }

    /// Parses a value given as text (a CSV cell, a JSON string) into `field`. Multi-valued
    /// attributes are split on `;` (what `-join ';'` writes; `;` cannot occur in an object class
    /// or a valid proxy address). Binary attributes accept the text forms PowerShell produces.
    pub(crate) fn apply_text(&mut self, field: Field, name: &'static str, text: &str) {
        if text.is_empty() {
            return;
        }
        match field {
            Field::Dn
            | Field::Upn
            | Field::Sam
            | Field::Mail
            | Field::MailNickname
            | Field::DisplayName
            | Field::GivenName
            | Field::Surname
            | Field::TargetAddress
            | Field::AdminDescription => {
                self.set_text(field, name, Cow::Borrowed(text));
            }
            Field::CriticalSystemObject => match parse_bool(text) {
                Some(value) => self.set_flag(field, name, value),
                None => self.problem(field, format!("{name} `{text}` is not True or False")),
            },
            Field::RecipientTypeDetails | Field::GroupType => match text.trim().parse::<i64>() {
                Ok(value) => self.set_integer(field, name, value),
                Err(_) => self.problem(field, format!("{name} `{text}` is not a number")),
            },
            Field::UserCertificate
            | Field::SmimeCertificate
            | Field::ThumbnailPhoto
            | Field::Member
            | Field::UserCertificateCount
            | Field::SmimeCertificateCount
            | Field::ThumbnailPhotoBytes
            | Field::MemberCount => self.apply_measured(field, name, text),
            Field::Sid => match sid_from_text(text) {
                Some(sid) => self.set_text(field, name, Cow::Owned(sid)),
                None => self.problem(field, format!("{name} `{}` is not a SID (S-1-5-21-...) or base64 of one", crate::preview::preview(text))),
            },
            Field::ObjectGuid => match guid_from_str(text).or_else(|| base64_guid(text)) {
                Some(guid) => self.set_object_guid(name, guid),
                None => self.problem(
                    field,
                    format!("{name} `{}` is not a GUID (8-4-4-4-12 hex digits) or base64 of 16 bytes", crate::preview::preview(text)),
                ),
            },
            Field::ConsistencyGuid => match bytes_from_text(text) {
                Some(bytes) => self.set_consistency_guid(name, bytes),
                None => self.problem(
                    field,
                    format!("{name} `{}` is not a GUID, base64 (`[Convert]::ToBase64String`) or hex bytes", crate::preview::preview(text)),
                ),
            },
            Field::ObjectClass | Field::ProxyAddresses => {
                let values: Vec<CompactString> = text.split(';').map(CompactString::from).collect();
                if values.iter().any(CompactString::is_empty) {
                    self.problem(
                        field,
                        format!("{name} `{}` has an empty value between `;` separators; AD cannot hold an empty value", crate::preview::preview(text)),
                    );
                } else {
                    self.set_values(field, name, values);
                }
            }
            Field::Enabled => match parse_bool(text) {
                Some(enabled) => self.set_enabled(name, enabled),
                None => self.problem(field, format!("{name} `{}` is not True or False", crate::preview::preview(text))),
            },
            Field::UserAccountControl => match parse_user_account_control(text) {
                Some(value) => self.set_user_account_control(name, value),
                None => self.problem(field, format!("{name} `{}` is not a 32-bit number", crate::preview::preview(text))),
            },
        }
    }

    /// Turns the record into an object, a rejection or a skipped-class count.
    pub(crate) fn finish(mut self, file: &Arc<Path>, line: usize, out: &mut ImportOutcome) {
        if let Some(reason) = self.fatal.take() {
            out.rejected.push(RejectedRecord {
                file: file.to_path_buf(),
                line,
                record: self.label(),
                reason,
            });
            return;
        }
        // Class first: a computer or an OU is skipped even when its other attributes are odd,
        // because sync never looks at it.
        let classes = self
            .classes
            .take()
            .map(|(values, _)| values)
            .unwrap_or_default();
        let class = match classify(&classes) {
            Classified::Sync(class) => Some(class),
            Classified::Skip(name) => {
                // Counted by name, previewed: a class name is directory data of any length.
                *out.skipped_classes
                    .entry(crate::preview::preview(name))
                    .or_default() += 1;
                return;
            }
            Classified::Missing => {
                if self.present & Field::ObjectClass.bit() == 0 {
                    self.problems.push("no objectClass, so it is unknown whether this is a user, contact, group or computer".into());
                }
                None
            }
        };
        if self.present & Field::Dn.bit() == 0 {
            self.problems.push("no distinguishedName".into());
        }
        if self.present & Field::ObjectGuid.bit() == 0 {
            self.problems
                .push("no objectGUID, so there is no source anchor".into());
        }
        let (class, distinguished_name, object_guid) =
            match (class, self.dn.take(), self.object_guid.take()) {
                (Some(class), Some((dn, _)), Some((guid, _))) if self.problems.is_empty() => {
                    (class, dn, guid)
                }
                (_, dn, guid) => {
                    // Put back what was taken so the rejection can name the record by its DN.
                    (self.dn, self.object_guid) = (dn, guid);
                    let reason = self.problems.join("; ");
                    let record = self.label();
                    out.rejected.push(RejectedRecord {
                        file: file.to_path_buf(),
                        line,
                        record,
                        reason,
                    });
                    return;
                }
            };
        let sizes = self.sizes();
        let consistency_guid = self.consistency_guid.map(|(bytes, _)| bytes);
        let (source_anchor, anchor_attribute) = match &consistency_guid {
            Some(bytes) => (base64_text(bytes), AnchorAttribute::ConsistencyGuid),
            None => (base64_text(&object_guid), AnchorAttribute::ObjectGuid),
        };
        // `Enabled` (the AD module's reading of the bit) wins when both are exported; they agree
        // unless the export was edited.
        let enabled = match class {
            ObjectClass::User => self.enabled.map(|(enabled, _)| enabled).or_else(|| {
                self.user_account_control
                    .map(|(uac, _)| uac & ACCOUNTDISABLE == 0)
            }),
            ObjectClass::Contact | ObjectClass::Group => None,
        };
        out.objects.push(OnPremObject {
            class,
            object_guid,
            consistency_guid: consistency_guid.map(Vec::into_boxed_slice),
            source_anchor,
            anchor_attribute,
            object_sid: self.sid.map(|(sid, _)| sid),
            distinguished_name: DistinguishedName::sharing_domain(
                distinguished_name,
                out.objects.last().map(|o| &o.distinguished_name),
            ),
            user_principal_name: self.upn.map(|(v, _)| v),
            sam_account_name: self.sam.map(|(v, _)| v),
            mail: self.mail.map(|(v, _)| v),
            mail_nickname: self.mail_nickname.map(|(v, _)| v),
            proxy_addresses: self.proxy_addresses.map(|(v, _)| v).unwrap_or_default(),
            display_name: self.display_name.map(|(v, _)| v),
            given_name: self.given_name.map(|(v, _)| v),
            surname: self.surname.map(|(v, _)| v),
            target_address: self.target_address.map(|(v, _)| v),
            enabled,
            critical_system_object: self.critical_system_object.map(|(v, _)| v),
            recipient_type_details: self.recipient_type_details.map(|(v, _)| v),
            group_type: self.group_type.map(|(v, _)| v),
            admin_description: self.admin_description.map(|(v, _)| v),
            sizes,
            extra: std::mem::take(&mut self.extra).into_boxed_slice(),
            anchor_problem: None,
            origin: RecordOrigin {
                file: Arc::clone(file),
                line,
            },
        });
    }

    /// Value counts and sizes: a declared count (the export script's) wins over values counted
    /// in the same record; zero and absent read the same (LDIF has no line for an empty
    /// attribute).
    fn sizes(&mut self) -> Sizes {
        let mut sizes = Sizes::default();
        for measure in Measure::ALL {
            let declared = *measure.slot(&mut self.declared);
            *measure.slot(&mut sizes) = declared
                .or(*measure.slot(&mut self.counted))
                .filter(|&n| n > 0);
        }
        sizes
    }

    /// The best identifier for messages: DN, else objectGUID, else sAMAccountName or UPN.
    fn label(&self) -> String {
        if let Some((dn, _)) = &self.dn {
            return dn.to_string();
        }
        if let Some((guid, _)) = &self.object_guid {
            return format!("objectGUID {}", guid_to_string(guid));
        }
        self.sam
            .as_ref()
            .or(self.upn.as_ref())
            .map(|(v, _)| v.to_string())
            .unwrap_or_default()
    }
}

/// `bytes` in base64, as a source anchor is written. A GUID's (16 bytes) is 24 characters: it is
/// encoded in place and held inline, where `encode` made and freed a string per object.
pub(crate) fn base64_text(bytes: &[u8]) -> CompactString {
    let mut inline = [0u8; std::mem::size_of::<CompactString>()];
    match BASE64.encode_slice(bytes, &mut inline) {
        // base64 is ASCII, so the UTF-8 check passes; the fallback only spares an `expect`.
        Ok(written) => CompactString::from_utf8(&inline[..written])
            .unwrap_or_else(|_| BASE64.encode(bytes).into()),
        // Longer than a field holds (a consistency GUID of another size): allocated.
        Err(_) => BASE64.encode(bytes).into(),
    }
}

/// userAccountControl ACCOUNTDISABLE.
const ACCOUNTDISABLE: u32 = 0x2;

/// Stores a single value; a second value from the same name is a duplicate, one from another
/// name (an alias such as `SID` for `objectSid`) must agree.
fn put<T: PartialEq>(
    slot: &mut Slot<T>,
    value: T,
    name: &'static str,
    problems: &mut Vec<String>,
    show: impl Fn(&T) -> String,
) {
    match slot {
        None => *slot = Some((value, name)),
        Some((earlier, earlier_name)) => {
            if *earlier_name == name {
                problems.push(format!(
                    "{name} appears more than once but is single-valued (`{}`, `{}`)",
                    crate::preview::preview(&show(earlier)),
                    crate::preview::preview(&show(&value))
                ));
            } else if *earlier != value {
                problems.push(format!(
                    "{earlier_name} `{}` and {name} `{}` disagree",
                    crate::preview::preview(&show(earlier)),
                    crate::preview::preview(&show(&value))
                ));
            }
        }
    }
}

enum Classified<'a> {
    Sync(ObjectClass),
    /// The most specific class as exported (LDIF and `-join ';'` list it last).
    Skip(&'a str),
    Missing,
}

/// user = objectClass contains `user` (or `inetOrgPerson`, which `Get-ADObject` reports alone)
/// and not `computer` (computers, and managed service accounts, derive from user).
fn classify(classes: &[CompactString]) -> Classified<'_> {
    let Some(most_specific) = classes.last() else {
        return Classified::Missing;
    };
    let has = |name: &str| classes.iter().any(|c| c.eq_ignore_ascii_case(name));
    if has("computer") {
        Classified::Skip(most_specific)
    } else if has("user") || has("inetOrgPerson") {
        Classified::Sync(ObjectClass::User)
    } else if has("contact") {
        Classified::Sync(ObjectClass::Contact)
    } else if has("group") {
        Classified::Sync(ObjectClass::Group)
    } else {
        Classified::Skip(most_specific)
    }
}

// ---------------------------------------------------------------------------------------------
// Normalisation helpers
// ---------------------------------------------------------------------------------------------

/// The DNS domain of a DN: `CN=a,OU=b,DC=contoso,DC=local` → `contoso.local`: its `DC=` RDNs in
/// order, lower case, joined by dots. A comma escaped in a value does not end an RDN (RFC 4514):
/// `CN=x\,DC=y,DC=contoso,DC=local` is in `contoso.local`. An object's domain is found once, in
/// [`DistinguishedName`], and built (in one string, not parts joined) only when it is not the
/// previous object's ([`is_domain_of`]).
pub(crate) fn dn_domain(dn: &str) -> Option<String> {
    let mut domain: Option<String> = None;
    for value in dc_values(dn) {
        let domain = match &mut domain {
            Some(domain) => {
                domain.push('.');
                domain
            }
            None => domain.insert(String::with_capacity(dn.len())),
        };
        if value.is_ascii() {
            domain.extend(value.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            domain.push_str(&value.to_lowercase());
        }
    }
    domain
}

/// The values of a DN's `DC=` RDNs, in order, trimmed, as written (not lower-cased).
fn dc_values(dn: &str) -> impl Iterator<Item = &str> {
    dn_rdns(dn).filter_map(|rdn| {
        let (attr, value) = rdn.trim().split_once('=')?;
        attr.trim().eq_ignore_ascii_case("dc").then(|| value.trim())
    })
}

/// Whether `domain` (as [`dn_domain`] gives it: lower case) is `dn`'s, judged without building
/// `dn`'s: each ASCII `DC=` value against the next dot-separated part, ignoring ASCII case. A
/// non-ASCII value says no (its lower case is not judged here), and then the caller builds it.
fn is_domain_of(dn: &str, domain: &str) -> bool {
    let mut rest = domain.as_bytes();
    let mut values = 0;
    for value in dc_values(dn) {
        if values > 0 {
            match rest.split_first() {
                Some((b'.', after)) => rest = after,
                _ => return false,
            }
        }
        values += 1;
        let value = value.as_bytes();
        match rest.split_at_checked(value.len()) {
            Some((part, after)) if value.is_ascii() && part.eq_ignore_ascii_case(value) => {
                rest = after;
            }
            _ => return false,
        }
    }
    values > 0 && rest.is_empty()
}

/// The RDNs of a DN, as written: split at the commas that are not escaped with a backslash
/// (`CN=Smith\, John,OU=Staff` has two).
pub(crate) fn dn_rdns(dn: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(dn);
    std::iter::from_fn(move || {
        let text = rest?;
        if let Some(at) = first_unescaped_comma(text) {
            rest = Some(&text[at + 1..]);
            Some(&text[..at])
        } else {
            rest = None;
            Some(text)
        }
    })
}

/// Where a DN's first RDN ends: its first comma that is not escaped with a backslash.
/// A backslash escapes the one byte after it (a second backslash, a comma, or the first digit
/// of a `\2C` hex pair, whose second digit is then an ordinary byte). The next comma or
/// backslash is found with `memchr2` rather than byte by byte: this runs for every RDN of every
/// object's DN, several times (finding the domains was 2 % of the 1M audit's profile).
pub(crate) fn first_unescaped_comma(dn: &str) -> Option<usize> {
    let bytes = dn.as_bytes();
    let mut from = 0;
    while let Some(found) = memchr::memchr2(b',', b'\\', bytes.get(from..)?) {
        let at = from + found;
        if bytes[at] == b',' {
            return Some(at);
        }
        // The escaped byte is passed over, whatever it is.
        from = at + 2;
    }
    None
}

/// GUID text (lower-case 8-4-4-4-12) from bytes in `Guid.ToByteArray()` order: the first three
/// groups are little-endian in the bytes, so they are reversed for display.
pub(crate) fn guid_to_string(bytes: &[u8; 16]) -> String {
    crate::guid::format(&to_byte_array_order(bytes))
}

/// Swaps between `Guid.ToByteArray()` order and the order the text shows (the first three
/// groups reversed; the swap is its own inverse).
fn to_byte_array_order(bytes: &[u8; 16]) -> [u8; 16] {
    [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15].map(|index| bytes[index])
}

/// Bytes in `Guid.ToByteArray()` order from GUID text as `[guid]` prints it (8-4-4-4-12, any case,
/// optionally in braces). The inverse of [`guid_to_string`].
pub(crate) fn guid_from_str(text: &str) -> Option<[u8; 16]> {
    let text = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    crate::guid::parse(text).map(|shown| to_byte_array_order(&shown))
}

/// `S-1-5-21-...` from a binary SID (revision, sub-authority count, 48-bit big-endian identifier
/// authority, little-endian 32-bit sub-authorities). `None` when the bytes are not a SID.
pub(crate) fn sid_to_string(bytes: &[u8]) -> Option<String> {
    let (&revision, rest) = bytes.split_first()?;
    let (&count, rest) = rest.split_first()?;
    if revision != 1 || rest.len() != 6 + 4 * usize::from(count) {
        return None;
    }
    let (authority, sub_authorities) = rest.split_at(6);
    let authority = authority
        .iter()
        .fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    let mut text = String::with_capacity(8 + 11 * usize::from(count));
    // The numbers are written with itoa, not format!: core::fmt took most of this function's
    // time, called for every object of an export (a million SIDs, six or more numbers each).
    let mut number = itoa::Buffer::new();
    text.push_str("S-");
    text.push_str(number.format(revision));
    text.push('-');
    // MS-DTYP 2.4.2.1: authorities of 2^32 and above are written in hex.
    if authority >> 32 == 0 {
        text.push_str(number.format(authority));
    } else {
        use std::fmt::Write as _;
        let _ = write!(text, "0x{authority:012X}");
    }
    for chunk in sub_authorities.chunks_exact(4) {
        text.push('-');
        text.push_str(number.format(u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])));
    }
    Some(text)
}

/// SID text as exported (`S-1-...`, kept as written), or a base64 binary SID converted to text.
fn sid_from_text(text: &str) -> Option<String> {
    if is_sid_text(text) {
        return Some(text.to_owned());
    }
    BASE64
        .decode(text)
        .ok()
        .and_then(|bytes| sid_to_string(&bytes))
}

pub(crate) fn is_sid_text(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("S-") else {
        return false;
    };
    let mut parts = 0;
    for part in rest.split('-') {
        let digits = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X"));
        let valid = match digits {
            Some(hex) => !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            None => !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()),
        };
        if !valid {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

fn base64_guid(text: &str) -> Option<[u8; 16]> {
    BASE64
        .decode(text)
        .ok()
        .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok())
}

/// Byte values written as text, in the forms PowerShell exports produce:
/// - GUID text (`[guid]$bytes`), converted to `ToByteArray()` order;
/// - hex bytes in storage order, bare (`F462AF52...`) or separated by `-` (`[BitConverter]::ToString`)
///   or spaces, every separated token exactly two digits (so `$bytes -join ' '`, which writes
///   decimal, is refused rather than misread);
/// - standard base64 with padding (`[Convert]::ToBase64String`).
///
/// A 16-byte value's base64 always ends in `==`, so it can never be mistaken for hex.
pub(crate) fn bytes_from_text(text: &str) -> Option<Vec<u8>> {
    if let Some(guid) = guid_from_str(text) {
        return Some(guid.to_vec());
    }
    if let Some(bytes) = hex_bytes(text) {
        return Some(bytes);
    }
    BASE64.decode(text).ok()
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let separated = text.contains([' ', '-']);
    let mut bytes = Vec::with_capacity(text.len() / 2);
    if separated {
        for token in text.split([' ', '-']).filter(|t| !t.is_empty()) {
            let &[high, low] = token.as_bytes() else {
                return None;
            };
            bytes.push(hex_digit(high)? << 4 | hex_digit(low)?);
        }
    } else {
        if !text.len().is_multiple_of(2) {
            return None;
        }
        for pair in text.as_bytes().chunks_exact(2) {
            bytes.push(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?);
        }
    }
    (!bytes.is_empty()).then_some(bytes)
}

/// `True`/`False` as PowerShell writes booleans to CSV (any case).
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// userAccountControl is a signed 32-bit integer in AD, so tools may print it either way.
pub(crate) fn parse_user_account_control(text: &str) -> Option<u32> {
    let value: i64 = text.parse().ok()?;
    uac_from_i64(value)
}

pub(crate) fn uac_from_i64(value: i64) -> Option<u32> {
    match i32::try_from(value) {
        Ok(signed) => Some(signed.cast_unsigned()),
        Err(_) => u32::try_from(value).ok(),
    }
}

#[cfg(test)]
mod tests;
