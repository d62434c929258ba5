//! The snapshot's users, contacts and groups held packed ([`DirectoryObjects`]): per chunk of
//! objects, one text holding every value of every object in the chunk, and a fixed-size row per
//! object saying where its values lie in that text. Read through [`ObjectRef`], whose methods
//! are named as [`DirectoryObject`]'s fields.
//!
//! Why: parsed one struct per object (a `CompactString` per value, a `Vec` per object's
//! addresses), a million users and their tables were both in memory while the tables were built
//! from them, the tables copying their text once more. Packed, the objects are their text (0.37
//! GiB at a million) and 140 bytes a row, and the tables take each chunk's text over as it is
//! (their string columns point into it, no copy): the 1M x 1M audit's peak fell by 60-80 MiB
//! and moved from the tables to the rules (docs/performance.md).
//!
//! This module owns the packed layout only: what the values mean is the snapshot's and the
//! audit's. It never drops or changes a value: reading an object back gives what was parsed
//! (a test holds every property to that).

use chrono::{DateTime, Utc};

use super::{DirectoryObject, ProvisioningError};
use crate::inputs::chunks::CHUNK;

/// Where one value lies in its chunk's text, or where an object's proxy addresses or provisioning
/// errors lie in the chunk's lists; [`Span::ABSENT`] for a property that was null or missing (an
/// empty value is present, with length 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    const ABSENT: Span = Span {
        start: u32::MAX,
        len: 0,
    };

    /// `start..end`, within u32: [`pack_chunk`] keeps a chunk's text under its limit, and a
    /// chunk holds at most CHUNK objects, each with a few addresses or errors.
    fn of(start: usize, end: usize) -> Self {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(end - start).unwrap_or(0),
        }
    }

    fn read(self, text: &str) -> Option<&str> {
        if self == Span::ABSENT {
            return None;
        }
        text.get(self.range())
    }

    /// The items of a chunk's list this span covers.
    fn slice<T>(self, items: &[T]) -> &[T] {
        items.get(self.range()).unwrap_or(&[])
    }

    fn range(self) -> std::ops::Range<usize> {
        let start = self.start as usize;
        start..start + self.len as usize
    }
}

/// The text properties of a packed object, in one place: the row's fields, the packing and the
/// accessors all come from this list, so none can be left out of one of them.
macro_rules! packed_object {
    ($($field:ident),* $(,)?) => {
        /// One object of a chunk: where each of its values lies in the chunk's text, its proxy
        /// addresses and provisioning errors in the chunk's lists, and the rest as it is.
        #[derive(Debug, Clone)]
        struct Packed {
            id: Span,
            $($field: Span,)*
            proxy_addresses: Span,
            provisioning_errors: Span,
            on_premises_sync_enabled: Option<bool>,
            account_enabled: Option<bool>,
            mail_enabled: Option<bool>,
            security_enabled: Option<bool>,
            on_premises_last_sync_date_time: Option<DateTime<Utc>>,
            created_date_time: Option<DateTime<Utc>>,
        }

        impl<'a> ObjectRef<'a> {
            $(
                #[doc = concat!("`", stringify!($field), "` (see [`DirectoryObject`]).")]
                #[must_use]
                pub fn $field(self) -> Option<&'a str> {
                    self.row.$field.read(self.chunk.text)
                }
            )*

            /// The object as a [`DirectoryObject`] again (a copy of each value).
            #[must_use]
            pub fn to_object(self) -> DirectoryObject {
                DirectoryObject {
                    id: self.id().to_owned(),
                    $($field: self.$field().map(Into::into),)*
                    proxy_addresses: self.proxy_addresses().map(Into::into).collect(),
                    on_premises_provisioning_errors: self.on_premises_provisioning_errors().to_vec(),
                    on_premises_sync_enabled: self.on_premises_sync_enabled(),
                    account_enabled: self.account_enabled(),
                    mail_enabled: self.mail_enabled(),
                    security_enabled: self.security_enabled(),
                    on_premises_last_sync_date_time: self.on_premises_last_sync_date_time(),
                    created_date_time: self.created_date_time(),
                }
            }
        }

        impl Packer {
            /// Packs `object`'s values after the UPN (see [`Packer::push_object`]).
            fn push_values(&mut self, object: &DirectoryObject, upn: Span) -> Packed {
                Packed {
                    id: self.push(Some(&object.id), Span::ABSENT),
                    $($field: self.push(object.$field.as_deref(), upn),)*
                    proxy_addresses: Span::of(0, 0),
                    provisioning_errors: Span::of(0, 0),
                    on_premises_sync_enabled: object.on_premises_sync_enabled,
                    account_enabled: object.account_enabled,
                    mail_enabled: object.mail_enabled,
                    security_enabled: object.security_enabled,
                    on_premises_last_sync_date_time: object.on_premises_last_sync_date_time,
                    created_date_time: object.created_date_time,
                }
            }

            /// Every text byte `object` can add to a chunk (an upper bound: values found in
            /// its UPN add none).
            fn text_len(object: &DirectoryObject) -> usize {
                object.id.len()
                    $(+ object.$field.as_deref().map_or(0, str::len))*
                    + object.proxy_addresses.iter().map(|p| p.len()).sum::<usize>()
            }
        }
    };
}

packed_object!(
    user_principal_name,
    display_name,
    mail,
    mail_nickname,
    on_premises_immutable_id,
    on_premises_distinguished_name,
    on_premises_sam_account_name,
    on_premises_domain_name,
    on_premises_security_identifier,
    on_premises_user_principal_name,
    user_type,
);

/// The users, contacts or groups of a snapshot, packed a chunk at a time (see the module).
#[derive(Debug, Clone, Default)]
pub struct DirectoryObjects {
    chunks: Vec<DirectoryChunk>,
    len: usize,
}

/// A chunk of packed objects: their text, and where each object's values lie in it.
#[derive(Debug, Clone)]
pub(crate) struct DirectoryChunk {
    text: String,
    rows: ChunkRows,
}

/// The objects of a chunk without their text (see [`DirectoryChunk::into_parts`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct ChunkRows {
    objects: Vec<Packed>,
    proxies: Vec<Span>,
    errors: Vec<ProvisioningError>,
}

/// One packed object, read in place: each method gives the property of the same name of
/// [`DirectoryObject`], borrowed from the chunk's text.
#[derive(Debug, Clone, Copy)]
pub struct ObjectRef<'a> {
    chunk: ChunkRef<'a>,
    row: &'a Packed,
}

/// A chunk's text and rows, together or after [`DirectoryChunk::into_parts`] separated them.
#[derive(Debug, Clone, Copy)]
struct ChunkRef<'a> {
    text: &'a str,
    rows: &'a ChunkRows,
}

impl<'a> ObjectRef<'a> {
    /// The object id (an object without one has the empty id, as parsed).
    #[must_use]
    pub fn id(self) -> &'a str {
        self.row.id.read(self.chunk.text).unwrap_or_default()
    }

    /// `proxyAddresses`, in their order.
    pub fn proxy_addresses(self) -> impl ExactSizeIterator<Item = &'a str> + Clone + 'a {
        let text = self.chunk.text;
        self.row
            .proxy_addresses
            .slice(&self.chunk.rows.proxies)
            .iter()
            .map(move |span| span.read(text).unwrap_or_default())
    }

    #[must_use]
    pub fn on_premises_provisioning_errors(self) -> &'a [ProvisioningError] {
        self.row.provisioning_errors.slice(&self.chunk.rows.errors)
    }

    #[must_use]
    pub fn on_premises_sync_enabled(self) -> Option<bool> {
        self.row.on_premises_sync_enabled
    }

    #[must_use]
    pub fn account_enabled(self) -> Option<bool> {
        self.row.account_enabled
    }

    #[must_use]
    pub fn mail_enabled(self) -> Option<bool> {
        self.row.mail_enabled
    }

    #[must_use]
    pub fn security_enabled(self) -> Option<bool> {
        self.row.security_enabled
    }

    #[must_use]
    pub fn on_premises_last_sync_date_time(self) -> Option<DateTime<Utc>> {
        self.row.on_premises_last_sync_date_time
    }

    #[must_use]
    pub fn created_date_time(self) -> Option<DateTime<Utc>> {
        self.row.created_date_time
    }
}

impl DirectoryChunk {
    /// The chunk's text, for the tables to own (their columns point into it), and its rows, to
    /// read the objects with from that text ([`ChunkRows::iter`]).
    #[must_use]
    pub(crate) fn into_parts(self) -> (String, ChunkRows) {
        (self.text, self.rows)
    }

    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.rows.objects.len()
    }
}

impl ChunkRows {
    /// The chunk's objects, read from `text`: the chunk's text as [`DirectoryChunk::into_parts`]
    /// gave it (any other text gives other values, never a panic).
    pub(crate) fn iter<'a>(
        &'a self,
        text: &'a str,
    ) -> impl ExactSizeIterator<Item = ObjectRef<'a>> + Clone {
        let chunk = ChunkRef { text, rows: self };
        self.objects.iter().map(move |row| ObjectRef { chunk, row })
    }
}

/// An object whose text alone is more than a chunk's text can index (4 GiB): no Graph object
/// is near that, so the file is not a snapshot.
#[derive(Debug, thiserror::Error)]
#[error("object {id}: its values are more than 4 GiB of text")]
pub(crate) struct TooLarge {
    pub(crate) id: String,
}

impl DirectoryObjects {
    /// `objects` packed, in their order, a chunk of [`CHUNK`] objects at a time on every core,
    /// from the first; they are left where they are (the snapshot packs a wave of chunks at a
    /// time as it reads them, and frees each wave once packed).
    pub(crate) fn pack(objects: &[DirectoryObject]) -> Result<Self, TooLarge> {
        Self::pack_within(objects, u32::MAX as usize)
    }

    /// `more`'s objects after these (its chunks after these chunks).
    pub(crate) fn append(&mut self, more: DirectoryObjects) {
        self.chunks.extend(more.chunks);
        self.len += more.len;
    }

    /// The object `at` (counted from 0 in the order they were packed), if there is one. Goes
    /// through the chunks one by one: for the rare lookup, not for reading every object.
    #[must_use]
    pub fn get(&self, at: usize) -> Option<ObjectRef<'_>> {
        let mut first = 0;
        for chunk in &self.chunks {
            if at < first + chunk.len() {
                return chunk.rows.iter(&chunk.text).nth(at - first);
            }
            first += chunk.len();
        }
        None
    }

    /// As [`DirectoryObjects::pack`], a chunk's text kept within `text_limit` bytes (the tests
    /// give a small one).
    fn pack_within(objects: &[DirectoryObject], text_limit: usize) -> Result<Self, TooLarge> {
        use rayon::prelude::*;
        let packed: Vec<_> = objects
            .par_chunks(CHUNK)
            .map(|chunk| pack_chunk(chunk, text_limit))
            .collect();
        let mut chunks = Vec::with_capacity(packed.len());
        for chunk in packed {
            chunks.extend(chunk?);
        }
        Ok(DirectoryObjects {
            chunks,
            len: objects.len(),
        })
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every object, in the order it was parsed.
    pub fn iter(&self) -> impl Iterator<Item = ObjectRef<'_>> + Clone {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.rows.iter(&chunk.text))
    }

    /// The chunks, in order, for the audit's tables to take their text over.
    #[must_use]
    pub(crate) fn into_chunks(self) -> Vec<DirectoryChunk> {
        self.chunks
    }
}

/// `objects` as one chunk, or more when their text would pass `text_limit`.
fn pack_chunk(
    objects: &[DirectoryObject],
    text_limit: usize,
) -> Result<Vec<DirectoryChunk>, TooLarge> {
    let mut chunks = Vec::with_capacity(1);
    let mut rest = objects;
    while !rest.is_empty() {
        // As many objects as fit, and at least one (which must fit alone).
        let mut text_len = 0;
        let mut take = 0;
        for object in rest {
            let len = Packer::text_len(object);
            if text_len + len > text_limit {
                break;
            }
            text_len += len;
            take += 1;
        }
        if take == 0 {
            return Err(TooLarge {
                id: rest[0].id.clone(),
            });
        }
        let (these, after) = rest.split_at(take);
        let mut packer = Packer::with_capacity(text_len, these);
        for object in these {
            packer.push_object(object);
        }
        chunks.push(packer.finish());
        rest = after;
    }
    Ok(chunks)
}

/// Builds one chunk: its text (sized once) and rows.
struct Packer {
    text: String,
    rows: ChunkRows,
}

impl Packer {
    fn with_capacity(text_len: usize, objects: &[DirectoryObject]) -> Self {
        Packer {
            text: String::with_capacity(text_len),
            rows: ChunkRows {
                objects: Vec::with_capacity(objects.len()),
                proxies: Vec::with_capacity(objects.iter().map(|o| o.proxy_addresses.len()).sum()),
                errors: Vec::with_capacity(
                    objects
                        .iter()
                        .map(|o| o.on_premises_provisioning_errors.len())
                        .sum(),
                ),
            },
        }
    }

    /// Packs `object`. Its UPN goes in first, and a value its UPN is or starts with points at
    /// that part of the UPN instead of being copied: a synced user's
    /// onPremisesUserPrincipalName is nearly always its userPrincipalName, and its
    /// onPremisesSamAccountName and mailNickname the part before the `@` (41 MiB of a million
    /// users, docs/performance.md).
    fn push_object(&mut self, object: &DirectoryObject) {
        let upn = self.push(object.user_principal_name.as_deref(), Span::ABSENT);
        let mut row = self.push_values(object, upn);
        let first = self.rows.proxies.len();
        for address in &object.proxy_addresses {
            let span = self.push(Some(address), Span::ABSENT);
            self.rows.proxies.push(span);
        }
        row.proxy_addresses = Span::of(first, self.rows.proxies.len());
        let first = self.rows.errors.len();
        self.rows
            .errors
            .extend_from_slice(&object.on_premises_provisioning_errors);
        row.provisioning_errors = Span::of(first, self.rows.errors.len());
        self.rows.objects.push(row);
    }

    /// Where `value` lies in the text: in `upn` (already packed) when that starts with it,
    /// else appended. The UPN itself, given again, is not copied twice.
    fn push(&mut self, value: Option<&str>, upn: Span) -> Span {
        let Some(value) = value else {
            return Span::ABSENT;
        };
        if let Some(packed_upn) = upn.read(&self.text)
            && packed_upn.starts_with(value)
        {
            let start = upn.start as usize;
            return Span::of(start, start + value.len());
        }
        let start = self.text.len();
        self.text.push_str(value);
        Span::of(start, self.text.len())
    }

    fn finish(mut self) -> DirectoryChunk {
        self.text.shrink_to_fit();
        DirectoryChunk {
            text: self.text,
            rows: self.rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: usize) -> DirectoryObject {
        let upn = format!("first.last{n}@contoso.com");
        DirectoryObject {
            id: format!("00000000-0000-0000-0000-{n:012}"),
            display_name: Some(format!("First Last {n}").into()),
            user_principal_name: Some(upn.clone().into()),
            mail: (!n.is_multiple_of(3)).then(|| upn.clone().into()),
            mail_nickname: Some(format!("first.last{n}").into()),
            proxy_addresses: (0..n % 4)
                .map(|i| format!("smtp:alias{i}.{n}@contoso.com").into())
                .collect(),
            on_premises_immutable_id: (n.is_multiple_of(2))
                .then(|| "AAAAAAAAAAAAAAAAAAAAAA==".into()),
            on_premises_sync_enabled: [None, Some(true), Some(false)][n % 3],
            on_premises_last_sync_date_time: DateTime::from_timestamp(
                1_700_000_000 + i64::try_from(n).unwrap(),
                7,
            ),
            on_premises_distinguished_name: Some(
                format!("CN=First Last {n},OU=Staff,DC=corp,DC=example").into(),
            ),
            on_premises_sam_account_name: Some(if n.is_multiple_of(5) {
                "an.other.name".into()
            } else {
                format!("first.last{n}").into()
            }),
            on_premises_domain_name: Some("corp.example".into()),
            on_premises_security_identifier: Some(format!("S-1-5-21-1-2-3-{n}").into()),
            on_premises_user_principal_name: Some(if n.is_multiple_of(7) {
                "old@corp.local".into()
            } else {
                upn.into()
            }),
            on_premises_provisioning_errors: (0..n % 2)
                .map(|_| ProvisioningError {
                    category: Some("PropertyConflict".to_owned()),
                    occurred_date_time: DateTime::from_timestamp(1_600_000_000, 0),
                    property_causing_error: Some("UserPrincipalName".to_owned()),
                    value: Some(format!("first.last{n}@contoso.com")),
                })
                .collect(),
            created_date_time: (n % 4 != 1)
                .then(|| DateTime::from_timestamp(1_500_000_000, 0))
                .flatten(),
            account_enabled: Some(n % 2 == 1),
            user_type: Some(
                if n.is_multiple_of(6) {
                    "Guest"
                } else {
                    "Member"
                }
                .into(),
            ),
            mail_enabled: None,
            security_enabled: n.is_multiple_of(2).then_some(true),
        }
    }

    /// Reading a packed object gives every property as parsed: present, absent or empty, in
    /// order, across chunks and across the chunks a text limit splits.
    #[test]
    fn every_property_reads_back_as_parsed() {
        let mut objects: Vec<DirectoryObject> = (0..CHUNK_AND_MORE).map(user).collect();
        objects.push(DirectoryObject::default());
        objects.push(DirectoryObject {
            id: "empty values".into(),
            display_name: Some("".into()),
            user_principal_name: Some("".into()),
            mail: Some("".into()),
            proxy_addresses: vec!["".into()],
            ..DirectoryObject::default()
        });
        for limit in [u32::MAX as usize, 4_096] {
            let packed = DirectoryObjects::pack_within(&objects, limit).expect("packs");
            assert_eq!(packed.len(), objects.len());
            let back: Vec<DirectoryObject> = packed.iter().map(ObjectRef::to_object).collect();
            assert!(back == objects, "limit {limit}");
            if limit < CHUNK_AND_MORE {
                assert!(packed.chunks.iter().all(|c| c.text.len() <= limit));
            }
            // The chunks' parts read as the chunks do.
            let parts: Vec<DirectoryObject> = packed
                .into_chunks()
                .into_iter()
                .flat_map(|chunk| {
                    let (text, rows) = chunk.into_parts();
                    rows.iter(&text)
                        .map(ObjectRef::to_object)
                        .collect::<Vec<_>>()
                })
                .collect();
            assert!(parts == objects, "limit {limit}");
        }
    }

    const CHUNK_AND_MORE: usize = crate::inputs::chunks::CHUNK + 5;

    /// The UPN is held once: an onPremisesUserPrincipalName equal to it, and a
    /// sAMAccountName, mailNickname or mail it starts with, point into it.
    #[test]
    fn values_the_upn_is_or_starts_with_are_not_copied() {
        let same = user(1);
        let other = DirectoryObject {
            id: "x".into(),
            user_principal_name: Some("someone@contoso.com".into()),
            on_premises_user_principal_name: Some("old.name@corp.local".into()),
            mail_nickname: Some("a.different.account".into()),
            ..DirectoryObject::default()
        };
        let packed = DirectoryObjects::pack(&[same.clone(), other.clone()]).expect("packs");
        let text = &packed.chunks[0].text;
        let copied = |o: &DirectoryObject| {
            let upn = o.user_principal_name.as_deref().unwrap_or_default();
            let prefix = |v: &Option<compact_str::CompactString>| {
                v.as_deref()
                    .filter(|v| !upn.starts_with(*v))
                    .map_or(0, str::len)
            };
            o.id.len()
                + upn.len()
                + prefix(&o.display_name)
                + prefix(&o.mail)
                + prefix(&o.mail_nickname)
                + prefix(&o.on_premises_immutable_id)
                + prefix(&o.on_premises_distinguished_name)
                + prefix(&o.on_premises_sam_account_name)
                + prefix(&o.on_premises_domain_name)
                + prefix(&o.on_premises_security_identifier)
                + prefix(&o.on_premises_user_principal_name)
                + prefix(&o.user_type)
                + o.proxy_addresses
                    .iter()
                    .map(compact_str::CompactString::len)
                    .sum::<usize>()
        };
        assert_eq!(text.len(), copied(&same) + copied(&other));
        // user(1)'s mail, nickname, sAMAccountName and on-prem UPN are its UPN or start it.
        assert!(copied(&same) < Packer::text_len(&same) - 3 * "first.last1".len());
        let read: Vec<ObjectRef> = packed.iter().collect();
        assert_eq!(read[0].mail(), same.mail.as_deref());
        assert_eq!(
            read[1].on_premises_user_principal_name(),
            Some("old.name@corp.local")
        );
    }

    /// An object whose text alone passes the limit is refused by its id, never cut or lost.
    #[test]
    fn an_object_over_the_limit_is_refused_by_id() {
        let mut big = user(2);
        big.id = "the big one".into();
        big.display_name = Some("x".repeat(2_000).into());
        let Err(error) = DirectoryObjects::pack_within(&[user(1), big], 1_000) else {
            panic!("an object over the limit was packed");
        };
        assert_eq!(error.id, "the big one");
        assert!(error.to_string().contains("the big one"), "{error}");
    }
}
